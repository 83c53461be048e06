using System.Text;
using System.Text.RegularExpressions;

namespace Metrics.Coordination.Rules.Templating;

/// <summary>
/// Go regular expressions (RE2 syntax, as <c>regexp.MatchString</c> and <c>Regexp.ReplaceAllString</c> use them) on
/// .NET's engine: the pattern is translated where the dialects differ (<c>(?P&lt;name&gt;)</c>, ASCII-only <c>\d \w \s</c>,
/// POSIX classes, <c>$</c> = end of text), constructs RE2 rejects are rejected with Go's message, and replacement
/// templates expand as Go's <c>Expand</c> does (<c>$1x</c> names group "1x"). Compiled patterns come from .NET's own
/// bounded regex cache; a match timeout bounds backtracking where RE2 would be linear.
/// </summary>
internal static class GoRegex
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(2);

    /// <summary>regexp.Compile: the error text is Go's (<c>error parsing regexp: ...</c>).</summary>
    public static Regex Compile(string pattern)
    {
        var translated = Translate(pattern);
        try
        {
            return new Regex(translated, RegexOptions.CultureInvariant, MatchTimeout);
        }
        catch (ArgumentException e)
        {
            throw new GoCallError("error parsing regexp: " + Describe(e, pattern));
        }
    }

    /// <summary>regexp.MustCompile: a failure panics, and the template package reports the panic's text.</summary>
    public static Regex MustCompile(string pattern)
    {
        try
        {
            return Compile(pattern);
        }
        catch (GoCallError e)
        {
            throw new GoCallError("regexp: Compile(" + QuoteForCompile(pattern) + "): " + e.Message);
        }
    }

    private static string QuoteForCompile(string s)
    {
        foreach (var c in s)
        {
            if (c == '`' || c == '\uFEFF' || (c < ' ' && c != '\t') || c == 0x7f)
            {
                return GoFmt.Quote(s);
            }
        }

        return "`" + s + "`";
    }

    private static string Describe(ArgumentException e, string pattern)
    {
        if (e is RegexParseException rpe)
        {
            return rpe.Error switch
            {
                RegexParseError.InsufficientClosingParentheses => "missing closing ): `" + pattern + "`",
                RegexParseError.InsufficientOpeningParentheses => "unexpected ): `" + pattern + "`",
                RegexParseError.UnterminatedBracket => "missing closing ]: `" + pattern[Math.Max(0, pattern.LastIndexOf('['))..] + "`",
                RegexParseError.QuantifierAfterNothing => "missing argument to repetition operator: `" + pattern[Math.Clamp(rpe.Offset - 1, 0, Math.Max(0, pattern.Length - 1))..Math.Min(pattern.Length, rpe.Offset)] + "`",
                RegexParseError.NestedQuantifiersNotParenthesized => "invalid nested repetition operator: `" + pattern + "`",
                RegexParseError.ReversedCharacterRange => "invalid character class range: `" + pattern + "`",
                RegexParseError.UnrecognizedEscape or RegexParseError.UnescapedEndingBackslash => "invalid escape sequence: `" + pattern + "`",
                _ => e.Message,
            };
        }

        return e.Message;
    }

    /// <summary>Regexp.ReplaceAllString(src, repl): <paramref name="template"/> expanded per match as Go's Expand.</summary>
    public static string ReplaceAll(Regex re, string src, string template)
    {
        try
        {
            return re.Replace(src, m => Expand(re, m, template));
        }
        catch (RegexMatchTimeoutException)
        {
            throw new GoCallError("regexp: match timed out after " + MatchTimeout.TotalSeconds + "s");
        }
    }

    private static string Expand(Regex re, Match m, string template)
    {
        if (template.IndexOf('$', StringComparison.Ordinal) < 0)
        {
            return template;
        }

        var sb = new StringBuilder(template.Length + 16);
        var i = 0;
        while (i < template.Length)
        {
            var d = template.IndexOf('$', i);
            if (d < 0)
            {
                sb.Append(template, i, template.Length - i);
                break;
            }

            sb.Append(template, i, d - i);
            i = d + 1;
            if (i < template.Length && template[i] == '$')
            {
                sb.Append('$');
                i++;
                continue;
            }

            string name;
            var brace = i < template.Length && template[i] == '{';
            var start = brace ? i + 1 : i;
            var end = start;
            while (end < template.Length && (char.IsLetterOrDigit(template[end]) || template[end] == '_'))
            {
                end++;
            }

            if (end == start || (brace && (end >= template.Length || template[end] != '}')))
            {
                // Malformed: the '$' stays as text.
                sb.Append('$');
                continue;
            }

            name = template[start..end];
            i = brace ? end + 1 : end;
            var num = -1;
            if (name.All(char.IsAsciiDigit) && name.Length <= 8 && !(name.Length > 1 && name[0] == '0'))
            {
                num = int.Parse(name, System.Globalization.CultureInfo.InvariantCulture);
            }

            Group? g = null;
            if (num >= 0)
            {
                if (num < re.GetGroupNumbers().Length)
                {
                    g = m.Groups[num];
                }
            }
            else if (re.GroupNumberFromName(name) >= 0 && !name.All(char.IsAsciiDigit))
            {
                g = m.Groups[name];
            }

            if (g is { Success: true })
            {
                sb.Append(g.Value);
            }
        }

        return sb.ToString();
    }

    /// <summary>Translates RE2 syntax to .NET syntax (outside and inside character classes).</summary>
    internal static string Translate(string p)
    {
        var multiline = p.Contains("(?m", StringComparison.Ordinal) || (p.Contains("(?", StringComparison.Ordinal) && HasFlag(p, 'm'));
        var sb = new StringBuilder(p.Length + 16);
        var inClass = false;
        for (var i = 0; i < p.Length; i++)
        {
            var c = p[i];
            if (c == '\\' && i + 1 < p.Length)
            {
                var e = p[i + 1];
                i++;
                switch (e)
                {
                    case 'd': sb.Append(inClass ? "0-9" : "[0-9]"); continue;
                    case 'D': sb.Append(inClass ? "\\D" : "[^0-9]"); continue;
                    case 'w': sb.Append(inClass ? "0-9A-Za-z_" : "[0-9A-Za-z_]"); continue;
                    case 'W': sb.Append(inClass ? "\\W" : "[^0-9A-Za-z_]"); continue;
                    case 's': sb.Append(inClass ? "\\t\\n\\f\\r " : "[\\t\\n\\f\\r ]"); continue;
                    case 'S': sb.Append(inClass ? "\\S" : "[^\\t\\n\\f\\r ]"); continue;
                    case 'z': sb.Append("\\z"); continue;
                    case 'Z': throw new GoCallError("error parsing regexp: invalid escape sequence: `\\Z`");
                    case 'p' or 'P' when i + 1 < p.Length && p[i + 1] != '{':
                        sb.Append('\\').Append(e).Append('{').Append(p[i + 1]).Append('}');
                        i++;
                        continue;
                    case >= '1' and <= '9':
                        throw new GoCallError("error parsing regexp: invalid escape sequence: `\\" + e + "`");
                    default:
                        sb.Append('\\').Append(e);
                        continue;
                }
            }

            if (inClass)
            {
                if (c == '[' && i + 1 < p.Length && p[i + 1] == ':')
                {
                    var close = p.IndexOf(":]", i + 2, StringComparison.Ordinal);
                    if (close > 0)
                    {
                        var name = p[(i + 2)..close];
                        var negate = name.StartsWith('^');
                        var set = PosixClass(negate ? name[1..] : name);
                        if (set is not null && !negate)
                        {
                            sb.Append(set);
                            i = close + 1;
                            continue;
                        }
                    }
                }

                if (c == '[')
                {
                    sb.Append("\\[");
                    continue;
                }

                if (c == ']')
                {
                    inClass = false;
                }

                sb.Append(c);
                continue;
            }

            switch (c)
            {
                case '[':
                    inClass = true;
                    sb.Append(c);
                    if (i + 1 < p.Length && p[i + 1] == '^')
                    {
                        sb.Append('^');
                        i++;
                    }

                    if (i + 1 < p.Length && p[i + 1] == ']')
                    {
                        sb.Append("\\]");
                        i++;
                    }

                    continue;
                case '$':
                    sb.Append(multiline ? "(?=\\n|\\z)" : "\\z");
                    continue;
                case '(' when i + 2 < p.Length && p[i + 1] == '?':
                    if (p[i + 2] == 'P' && i + 3 < p.Length && p[i + 3] == '<')
                    {
                        sb.Append("(?<");
                        i += 3;
                        continue;
                    }

                    if (p[i + 2] is '=' or '!' || (p[i + 2] == '<' && i + 3 < p.Length && p[i + 3] is '=' or '!'))
                    {
                        throw new GoCallError("error parsing regexp: invalid or unsupported Perl syntax: `" + p.Substring(i, Math.Min(3, p.Length - i)) + "`");
                    }

                    sb.Append(c);
                    continue;
                default:
                    sb.Append(c);
                    continue;
            }
        }

        return sb.ToString();
    }

    private static bool HasFlag(string p, char flag)
    {
        var i = 0;
        while ((i = p.IndexOf("(?", i, StringComparison.Ordinal)) >= 0)
        {
            var j = i + 2;
            while (j < p.Length && char.IsAsciiLetter(p[j]))
            {
                if (p[j] == flag)
                {
                    return true;
                }

                j++;
            }

            i = j;
        }

        return false;
    }

    private static string? PosixClass(string name) => name switch
    {
        "alnum" => "0-9A-Za-z",
        "alpha" => "A-Za-z",
        "ascii" => "\\x00-\\x7F",
        "blank" => "\\t ",
        "cntrl" => "\\x00-\\x1F\\x7F",
        "digit" => "0-9",
        "graph" => "!-~",
        "lower" => "a-z",
        "print" => " -~",
        "punct" => "!-/:-@\\[-`{-~",
        "space" => "\\t\\n\\v\\f\\r ",
        "upper" => "A-Z",
        "word" => "0-9A-Za-z_",
        "xdigit" => "0-9A-Fa-f",
        _ => null,
    };
}
