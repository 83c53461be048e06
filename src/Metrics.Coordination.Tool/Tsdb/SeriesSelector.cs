using System.Text;
using Metrics.Coordination.Abstractions;
using MatchType = Metrics.Coordination.Abstractions.MatchType;
using Metrics.Coordination.Tool.Cli;

namespace Metrics.Coordination.Tool.Tsdb;

/// <summary>
/// Parses a PromQL series selector (<c>name{label="value", other=~"re"}</c>, <c>{__name__="x"}</c>) into label
/// matchers, for <c>--match</c>. Strings in double, single or back quotes; Go escapes in the first two.
/// </summary>
internal static class SeriesSelector
{
    public static LabelMatcher[] Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var matchers = new List<LabelMatcher>();
        var i = 0;
        SkipSpace(text, ref i);
        var name = ReadIdentifier(text, ref i, allowColon: true);
        if (name.Length > 0)
        {
            matchers.Add(new LabelMatcher(MatchType.Equal, "__name__", name));
        }

        SkipSpace(text, ref i);
        if (i < text.Length && text[i] == '{')
        {
            i++;
            while (true)
            {
                SkipSpace(text, ref i);
                if (i < text.Length && text[i] == '}')
                {
                    i++;
                    break;
                }

                var label = ReadIdentifier(text, ref i, allowColon: false);
                if (label.Length == 0)
                {
                    throw Error(text, i, "expected a label name");
                }

                SkipSpace(text, ref i);
                MatchType type;
                if (At(text, i, "=~")) { type = MatchType.Regex; i += 2; }
                else if (At(text, i, "!~")) { type = MatchType.NotRegex; i += 2; }
                else if (At(text, i, "!=")) { type = MatchType.NotEqual; i += 2; }
                else if (At(text, i, "=")) { type = MatchType.Equal; i += 1; }
                else { throw Error(text, i, "expected a label matching operator"); }

                SkipSpace(text, ref i);
                var value = ReadString(text, ref i);
                matchers.Add(new LabelMatcher(type, label, value));
                SkipSpace(text, ref i);
                if (i < text.Length && text[i] == ',')
                {
                    i++;
                    continue;
                }

                if (i < text.Length && text[i] == '}')
                {
                    i++;
                    break;
                }

                throw Error(text, i, "expected ',' or '}'");
            }
        }

        SkipSpace(text, ref i);
        if (i != text.Length)
        {
            throw Error(text, i, "unexpected text after the selector");
        }

        if (matchers.Count == 0)
        {
            throw new UsageException($"invalid selector '{text}': a selector needs a metric name or a label matcher");
        }

        return [.. matchers];
    }

    private static bool At(string text, int i, string token) => string.CompareOrdinal(text, i, token, 0, token.Length) == 0;

    private static void SkipSpace(string text, ref int i)
    {
        while (i < text.Length && char.IsWhiteSpace(text[i]))
        {
            i++;
        }
    }

    private static string ReadIdentifier(string text, ref int i, bool allowColon)
    {
        var start = i;
        while (i < text.Length && (char.IsAsciiLetter(text[i]) || text[i] == '_' || (allowColon && text[i] == ':') || (i > start && char.IsAsciiDigit(text[i]))))
        {
            i++;
        }

        return text[start..i];
    }

    private static string ReadString(string text, ref int i)
    {
        if (i >= text.Length || text[i] is not ('"' or '\'' or '`'))
        {
            throw Error(text, i, "expected a quoted string");
        }

        var quote = text[i++];
        var sb = new StringBuilder();
        while (i < text.Length && text[i] != quote)
        {
            var c = text[i++];
            if (c != '\\' || quote == '`')
            {
                sb.Append(c);
                continue;
            }

            if (i >= text.Length)
            {
                break;
            }

            var e = text[i++];
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'v': sb.Append('\v'); break;
                case 'x' when i + 2 <= text.Length:
                    sb.Append((char)Convert.ToInt32(text.Substring(i, 2), 16));
                    i += 2;
                    break;
                case 'u' when i + 4 <= text.Length:
                    sb.Append((char)Convert.ToInt32(text.Substring(i, 4), 16));
                    i += 4;
                    break;
                case 'U' when i + 8 <= text.Length:
                    sb.Append(char.ConvertFromUtf32(Convert.ToInt32(text.Substring(i, 8), 16)));
                    i += 8;
                    break;
                default: sb.Append(e); break;
            }
        }

        if (i >= text.Length)
        {
            throw Error(text, i, "unterminated string");
        }

        i++;
        return sb.ToString();
    }

    private static UsageException Error(string text, int position, string message) =>
        new($"invalid selector '{text}' at position {position + 1}: {message}");
}
