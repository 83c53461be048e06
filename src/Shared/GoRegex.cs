using System.Text;
using System.Text.RegularExpressions;

namespace Metrics.Coordination.Shared;

/// <summary>
/// A Go (RE2) regular expression on .NET's engine, the one translation every Prometheus-facing surface uses (label
/// matchers, relabeling, <c>label_replace</c>, the template functions <c>match</c> and <c>reReplaceAll</c>; source-linked
/// into the packages that need it). The pattern is rewritten where the dialects differ: <c>(?P&lt;name&gt;</c> groups,
/// ASCII-only <c>\d \w \s</c>, <c>\pL</c>, POSIX classes, <c>\Q...\E</c>, a literal <c>[</c> inside a class, and
/// <c>$</c> meaning the end of the text (or of a line under <c>(?m)</c>). Constructs RE2 rejects (back-references,
/// look-around, <c>\Z</c>) are rejected with Go's message. Named groups become numbered groups so the numbers are Go's
/// (.NET would number named groups after the unnamed ones); names resolve through our own table, and replacement
/// templates expand as Go's <c>Regexp.Expand</c> does.
/// </summary>
internal sealed class GoRegex
{
    private readonly Dictionary<string, int> _groupNames;

    /// <summary>
    /// Compiles <paramref name="pattern"/>. <paramref name="anchored"/> matches the whole text (<c>^(?:re)$</c>, as
    /// Prometheus anchors matchers and relabel rules); <paramref name="dotAll"/> lets <c>.</c> match a newline (the
    /// <c>s</c> flag Prometheus sets for label matchers and <c>label_replace</c>). A match running longer than
    /// <paramref name="matchTimeout"/> throws <see cref="RegexMatchTimeoutException"/>: RE2 is linear, .NET's engine
    /// backtracks, and a pathological pattern must not hang a scrape loop or a rule evaluation.
    /// </summary>
    /// <exception cref="GoRegexSyntaxException">The pattern is not valid RE2 syntax (the message is Go's).</exception>
    public GoRegex(string pattern, bool anchored, bool dotAll, TimeSpan matchTimeout)
    {
        Pattern = pattern;
        _groupNames = new Dictionary<string, int>(StringComparer.Ordinal);
        var translated = Translate(pattern, _groupNames);
        var options = RegexOptions.CultureInvariant | (dotAll ? RegexOptions.Singleline : RegexOptions.None);
        try
        {
            Regex = new Regex(anchored ? @"\A(?:" + translated + @")\z" : translated, options, matchTimeout);
        }
        catch (RegexParseException e)
        {
            throw new GoRegexSyntaxException(Describe(e, pattern), e);
        }
        catch (ArgumentException e)
        {
            throw new GoRegexSyntaxException(e.Message, e);
        }
    }

    /// <summary>The Go source pattern (unanchored, as written).</summary>
    public string Pattern { get; }

    /// <summary>The compiled .NET expression.</summary>
    public Regex Regex { get; }

    /// <summary>Whether the text matches.</summary>
    public bool IsMatch(string input) => Regex.IsMatch(input);

    /// <summary>The first match in the text.</summary>
    public Match Match(string input) => Regex.Match(input);

    /// <summary>Go's <c>Regexp.ReplaceAllString</c>: every match replaced by <paramref name="template"/> expanded against it.</summary>
    public string ReplaceAll(string input, string template) => Regex.Replace(input, m => Expand(template, m));

    /// <summary>
    /// Go's <c>Regexp.ExpandString</c>: <c>$1</c>, <c>${1}</c>, <c>$name</c>, <c>${name}</c>, <c>$$</c>; a name is the
    /// longest run of letters, digits and underscores (so <c>$1x</c> names group "1x"); a group that does not exist or
    /// did not participate expands to nothing; a malformed <c>$</c> stays literal.
    /// </summary>
    public string Expand(string template, Match match)
    {
        if (template.IndexOf('$', StringComparison.Ordinal) < 0)
        {
            return template;
        }

        var sb = new StringBuilder(template.Length + 16);
        var i = 0;
        while (i < template.Length)
        {
            var dollar = template.IndexOf('$', i);
            if (dollar < 0)
            {
                break;
            }

            sb.Append(template, i, dollar - i);
            i = dollar + 1;
            if (i < template.Length && template[i] == '$')
            {
                sb.Append('$');
                i++;
                continue;
            }

            if (!TryExtract(template, i, out var name, out var num, out var next))
            {
                sb.Append('$');
                continue;
            }

            i = next;
            var index = num >= 0 ? num : _groupNames.GetValueOrDefault(name, -1);
            if (index >= 0 && index < match.Groups.Count && match.Groups[index].Success)
            {
                sb.Append(match.Groups[index].ValueSpan);
            }
        }

        if (i < template.Length)
        {
            sb.Append(template, i, template.Length - i);
        }

        return sb.ToString();
    }

    /// <inheritdoc />
    public override string ToString() => Pattern;

    private static bool TryExtract(string s, int start, out string name, out int num, out int next)
    {
        name = string.Empty;
        num = -1;
        next = start;
        if (start >= s.Length)
        {
            return false;
        }

        var brace = s[start] == '{';
        var i = brace ? start + 1 : start;
        var nameStart = i;
        while (i < s.Length)
        {
            if (Rune.DecodeFromUtf16(s.AsSpan(i), out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                break;
            }

            if (!Rune.IsLetter(rune) && !Rune.IsDigit(rune) && rune.Value != '_')
            {
                break;
            }

            i += consumed;
        }

        if (i == nameStart)
        {
            return false;
        }

        name = s[nameStart..i];
        if (brace)
        {
            if (i >= s.Length || s[i] != '}')
            {
                return false;
            }

            i++;
        }

        // Go reads the name as a group number only when it is all ASCII digits, below 1e8, without a leading zero.
        num = 0;
        foreach (var c in name)
        {
            if (c is < '0' or > '9' || num >= 100_000_000)
            {
                num = -1;
                break;
            }

            num = (num * 10) + (c - '0');
        }

        if (name.Length > 1 && name[0] == '0')
        {
            num = -1;
        }

        next = i;
        return true;
    }

    /// <summary>Rewrites RE2 syntax that .NET reads differently or not at all; named groups are recorded in <paramref name="groupNames"/>.</summary>
    /// <exception cref="GoRegexSyntaxException">A construct RE2 rejects.</exception>
    internal static string Translate(string pattern, Dictionary<string, int> groupNames)
    {
        var multiline = HasFlag(pattern, 'm');
        var sb = new StringBuilder(pattern.Length + 16);
        var inClass = false;
        var classStart = false;
        var groups = 0;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                var e = pattern[i + 1];
                i++;
                switch (e)
                {
                    case 'd': sb.Append(inClass ? "0-9" : "[0-9]"); break;
                    case 'D' when !inClass: sb.Append("[^0-9]"); break;
                    case 'w': sb.Append(inClass ? "0-9A-Za-z_" : "[0-9A-Za-z_]"); break;
                    case 'W' when !inClass: sb.Append("[^0-9A-Za-z_]"); break;
                    case 's': sb.Append(inClass ? @"\t\n\f\r " : @"[\t\n\f\r ]"); break;
                    case 'S' when !inClass: sb.Append(@"[^\t\n\f\r ]"); break;
                    case 'p' or 'P' when i + 1 < pattern.Length && pattern[i + 1] != '{':
                        // \pL is \p{L} in .NET.
                        sb.Append('\\').Append(e).Append('{').Append(pattern[i + 1]).Append('}');
                        i++;
                        break;
                    case 'Q':
                        var end = pattern.IndexOf(@"\E", i + 1, StringComparison.Ordinal);
                        var literal = end < 0 ? pattern[(i + 1)..] : pattern[(i + 1)..end];
                        sb.Append(inClass ? EscapeInClass(literal) : Regex.Escape(literal));
                        i = end < 0 ? pattern.Length : end + 1;
                        break;
                    case 'z' when !inClass: sb.Append(@"\z"); break;
                    case 'Z' or (>= '1' and <= '9') when !inClass:
                        throw new GoRegexSyntaxException("invalid escape sequence: `\\" + e + "`");
                    default: sb.Append('\\').Append(e); break;
                }

                classStart = false;
                continue;
            }

            if (inClass)
            {
                if (c == ']' && !classStart)
                {
                    inClass = false;
                    sb.Append(c);
                    continue;
                }

                if (c == '[' && i + 1 < pattern.Length && pattern[i + 1] == ':')
                {
                    var close = pattern.IndexOf(":]", i + 2, StringComparison.Ordinal);
                    if (close > 0 && PosixClass(pattern[(i + 2)..close]) is { } expansion)
                    {
                        sb.Append(expansion);
                        i = close + 1;
                        classStart = false;
                        continue;
                    }
                }

                // A literal '[' inside a class (.NET would read "[a-[b]]" as class subtraction), or ']' first in it.
                sb.Append(c switch { '[' => @"\[", ']' => @"\]", _ => c.ToString() });
                classStart = false;
                continue;
            }

            switch (c)
            {
                case '[':
                    inClass = true;
                    classStart = true;
                    sb.Append(c);
                    if (i + 1 < pattern.Length && pattern[i + 1] == '^')
                    {
                        sb.Append('^');
                        i++;
                    }

                    break;
                case '$':
                    sb.Append(multiline ? @"(?=\n|\z)" : @"\z");
                    break;
                case '(' when i + 1 < pattern.Length && pattern[i + 1] == '?':
                    var rest = pattern.AsSpan(i + 2);
                    if (rest.StartsWith("=") || rest.StartsWith("!") || rest.StartsWith("<=") || rest.StartsWith("<!"))
                    {
                        throw new GoRegexSyntaxException("invalid or unsupported Perl syntax: `" + pattern.Substring(i, Math.Min(3, pattern.Length - i)) + "`");
                    }

                    var nameStart = rest.StartsWith("P<") ? i + 4 : rest.StartsWith("<") ? i + 3 : -1;
                    if (nameStart < 0)
                    {
                        // A flag group such as (?i) or (?:...): not a capture.
                        sb.Append(c);
                        break;
                    }

                    var nameEnd = pattern.IndexOf('>', nameStart);
                    if (nameEnd < 0)
                    {
                        throw new GoRegexSyntaxException("invalid named capture: `" + pattern[i..] + "`");
                    }

                    groups++;
                    var name = pattern[nameStart..nameEnd];
                    if (!groupNames.TryAdd(name, groups))
                    {
                        throw new GoRegexSyntaxException("duplicate capture group name: `" + name + "`");
                    }

                    sb.Append('(');
                    i = nameEnd;
                    break;
                case '(':
                    groups++;
                    sb.Append(c);
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }

        return sb.ToString();
    }

    // Go's regexp error text ("<code>: `<expr>`") for what .NET's parser reports in its own words.
    private static string Describe(RegexParseException e, string pattern) => e.Error switch
    {
        RegexParseError.InsufficientClosingParentheses => "missing closing ): `" + pattern + "`",
        RegexParseError.InsufficientOpeningParentheses => "unexpected ): `" + pattern + "`",
        RegexParseError.UnterminatedBracket => "missing closing ]: `" + pattern[Math.Max(0, pattern.LastIndexOf('['))..] + "`",
        RegexParseError.QuantifierAfterNothing => "missing argument to repetition operator: `" + pattern[Math.Clamp(e.Offset - 1, 0, Math.Max(0, pattern.Length - 1))..Math.Min(pattern.Length, e.Offset)] + "`",
        RegexParseError.NestedQuantifiersNotParenthesized => "invalid nested repetition operator: `" + pattern + "`",
        RegexParseError.ReversedCharacterRange => "invalid character class range: `" + pattern + "`",
        RegexParseError.UnrecognizedEscape or RegexParseError.UnescapedEndingBackslash => "invalid escape sequence: `" + pattern + "`",
        _ => e.Message,
    };

    private static bool HasFlag(string pattern, char flag)
    {
        var i = 0;
        while ((i = pattern.IndexOf("(?", i, StringComparison.Ordinal)) >= 0)
        {
            var j = i + 2;
            while (j < pattern.Length && char.IsAsciiLetter(pattern[j]))
            {
                if (pattern[j] == flag)
                {
                    return true;
                }

                j++;
            }

            i = j;
        }

        return false;
    }

    private static string EscapeInClass(string literal)
    {
        var sb = new StringBuilder(literal.Length * 2);
        foreach (var c in literal)
        {
            if (c is '\\' or ']' or '[' or '^' or '-')
            {
                sb.Append('\\');
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    private static string? PosixClass(string name) => name switch
    {
        "alnum" => "0-9A-Za-z",
        "alpha" => "A-Za-z",
        "ascii" => @"\x00-\x7F",
        "blank" => @"\t ",
        "cntrl" => @"\x00-\x1F\x7F",
        "digit" => "0-9",
        "graph" => @"!-~",
        "lower" => "a-z",
        "print" => @" -~",
        "punct" => @"!-/:-@\[-`{-~",
        "space" => @"\t\n\v\f\r ",
        "upper" => "A-Z",
        "word" => "0-9A-Za-z_",
        "xdigit" => "0-9A-Fa-f",
        _ => null,
    };
}

/// <summary>A pattern that is not valid RE2 syntax; the message is Go's (without its "error parsing regexp: " prefix).</summary>
internal sealed class GoRegexSyntaxException : ArgumentException
{
    public GoRegexSyntaxException(string message)
        : base(message)
    {
    }

    public GoRegexSyntaxException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
