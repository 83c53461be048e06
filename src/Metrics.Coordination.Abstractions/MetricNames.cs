using System.Buffers;
using System.Text;

namespace Metrics.Coordination.Abstractions;

/// <summary>
/// Validation of metric and label names. Prometheus 3 accepts any non-empty valid UTF-8 name; the legacy
/// character sets (<c>[a-zA-Z_:][a-zA-Z0-9_:]*</c> for metrics, <c>[a-zA-Z_][a-zA-Z0-9_]*</c> for labels)
/// are what older scrapers and PromQL without quoting understand.
/// </summary>
public static class MetricNames
{
    private static readonly SearchValues<char> LegacyMetricChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:");

    private static readonly SearchValues<char> LegacyLabelChars =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

    /// <summary>Whether <paramref name="name"/> matches <c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>.</summary>
    public static bool IsValidLegacyMetricName(ReadOnlySpan<char> name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && !name.ContainsAnyExcept(LegacyMetricChars);

    /// <summary>Whether <paramref name="name"/> matches <c>[a-zA-Z_][a-zA-Z0-9_]*</c>.</summary>
    public static bool IsValidLegacyLabelName(ReadOnlySpan<char> name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && !name.ContainsAnyExcept(LegacyLabelChars);

    /// <summary>Whether <paramref name="name"/> is a valid UTF-8 name (non-empty, no unpaired surrogates): the Prometheus 3 rule.</summary>
    public static bool IsValidUtf8Name(ReadOnlySpan<char> name) => name.Length > 0 && IsWellFormedUtf16(name);

    /// <summary>Whether the string has no unpaired surrogates (so it encodes to valid UTF-8).</summary>
    public static bool IsWellFormedUtf16(ReadOnlySpan<char> s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Escapes a name that is not legacy-valid so old scrapers can read it, with one of Prometheus 3's schemes
    /// (<see cref="NameEscaping"/>). Legacy-valid names are returned unchanged by every scheme.
    /// </summary>
    /// <param name="name">The name to escape.</param>
    /// <param name="escaping">The scheme.</param>
    /// <param name="isMetricName">Metric names allow <c>:</c>; label names do not.</param>
    public static string Escape(string name, NameEscaping escaping, bool isMetricName = true)
    {
        var valid = isMetricName ? IsValidLegacyMetricName(name) : IsValidLegacyLabelName(name);
        if (valid || escaping == NameEscaping.AllowUtf8 || name.Length == 0)
        {
            return name;
        }

        var sb = new StringBuilder(name.Length + 8);
        switch (escaping)
        {
            case NameEscaping.Underscores:
                for (var i = 0; i < name.Length; i++)
                {
                    var c = name[i];
                    sb.Append(IsLegacyChar(c, i == 0, isMetricName) ? c : '_');
                    if (char.IsHighSurrogate(c) && i + 1 < name.Length)
                    {
                        i++; // one underscore per code point
                    }
                }

                break;
            case NameEscaping.Dots:
                for (var i = 0; i < name.Length; i++)
                {
                    var c = name[i];
                    if (c == '_')
                    {
                        sb.Append("__");
                    }
                    else if (c == '.')
                    {
                        sb.Append("_dot_");
                    }
                    else if (IsLegacyChar(c, i == 0, isMetricName))
                    {
                        sb.Append(c);
                    }
                    else
                    {
                        sb.Append("__");
                        if (char.IsHighSurrogate(c) && i + 1 < name.Length)
                        {
                            i++;
                        }
                    }
                }

                break;
            case NameEscaping.Values:
                sb.Append("U__");
                for (var i = 0; i < name.Length; i++)
                {
                    var c = name[i];
                    if (c == '_')
                    {
                        sb.Append("__");
                    }
                    else if (IsLegacyChar(c, i == 0, isMetricName))
                    {
                        sb.Append(c);
                    }
                    else
                    {
                        int cp = c;
                        if (char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
                        {
                            cp = char.ConvertToUtf32(c, name[i + 1]);
                            i++;
                        }

                        sb.Append('_').Append(cp.ToString("x", System.Globalization.CultureInfo.InvariantCulture)).Append('_');
                    }
                }

                break;
        }

        return sb.ToString();
    }

    private static bool IsLegacyChar(char c, bool first, bool isMetricName) =>
        char.IsAsciiLetter(c) || c == '_' || (isMetricName && c == ':') || (!first && char.IsAsciiDigit(c));
}

/// <summary>How names that are not legacy-valid are written for a scraper (Prometheus 3's <c>escaping</c> Accept parameter).</summary>
public enum NameEscaping
{
    /// <summary>Every character outside the legacy set becomes <c>_</c>. The default, understood by every scraper.</summary>
    Underscores = 0,

    /// <summary>Names are written as UTF-8, quoted where needed: <c>{"my.metric", "a.b"="v"}</c>.</summary>
    AllowUtf8,

    /// <summary><c>.</c> becomes <c>_dot_</c>, <c>_</c> becomes <c>__</c>, other characters <c>__</c>.</summary>
    Dots,

    /// <summary><c>U__</c> prefix, <c>_</c> doubled, other characters as <c>_hex_</c> code points (reversible).</summary>
    Values,
}
