using System.Text;
using System.Text.RegularExpressions;

namespace Metrics.Coordination.Abstractions.Relabeling;

/// <summary>
/// A Go (RE2) regular expression as Prometheus's relabeling uses it: fully anchored (<c>^(?:re)$</c>, where Go's
/// <c>$</c> is the end of the text), with Go's capture-group numbering and Go's <c>Regexp.Expand</c> template rules.
/// The pattern is translated to .NET syntax: <c>(?P&lt;name&gt;</c> groups, ASCII-only <c>\d \w \s</c>, <c>\pL</c>,
/// POSIX classes and <c>\Q...\E</c>. Named groups become numbered groups so the numbers are Go's (.NET would number
/// named groups after the unnamed ones); names are resolved through our own table.
/// </summary>
internal sealed class GoRegex
{
    // A pathological pattern must not hang a scrape loop: a match that takes a second is already a bug.
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    private readonly Regex _regex;
    private readonly Dictionary<string, int> _groupNames;

    public GoRegex(string pattern)
    {
        Pattern = pattern;
        _groupNames = new Dictionary<string, int>(StringComparer.Ordinal);
        var translated = Translate(pattern, _groupNames);
        _regex = new Regex(@"\A(?:" + translated + @")\z", RegexOptions.CultureInvariant, MatchTimeout);
    }

    /// <summary>The Go source pattern (unanchored, as configured).</summary>
    public string Pattern { get; }

    public bool IsMatch(string input) => _regex.IsMatch(input);

    public Match Match(string input) => _regex.Match(input);

    /// <summary>Go's <c>Regexp.ExpandString</c>: <c>$1</c>, <c>${1}</c>, <c>$name</c>, <c>${name}</c>, <c>$$</c>; a name is the longest run of letters, digits and underscores; unknown groups expand to nothing; a malformed <c>$</c> stays literal.</summary>
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
            if (num >= 0)
            {
                if (num < match.Groups.Count && match.Groups[num].Success)
                {
                    sb.Append(match.Groups[num].ValueSpan);
                }
            }
            else if (_groupNames.TryGetValue(name, out var index) && index < match.Groups.Count && match.Groups[index].Success)
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

        // Go parses the name as a group number only when it is all ASCII digits, below 1e8, without a leading zero.
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

    /// <summary>Rewrites RE2 syntax that .NET reads differently or not at all.</summary>
    internal static string Translate(string pattern, Dictionary<string, int> groupNames)
    {
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

                if (c == '[')
                {
                    // A literal '[' inside a class; .NET would read "[a-[b]]" as class subtraction.
                    sb.Append(@"\[");
                    classStart = false;
                    continue;
                }

                sb.Append(c == ']' ? @"\]" : c.ToString());
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
                    sb.Append(@"\z");
                    break;
                case '(':
                    if (i + 1 < pattern.Length && pattern[i + 1] == '?')
                    {
                        var nameStart = pattern.AsSpan(i + 2).StartsWith("P<") ? i + 4 : pattern.AsSpan(i + 2).StartsWith("<") && i + 3 < pattern.Length && pattern[i + 3] is not ('=' or '!') ? i + 3 : -1;
                        if (nameStart > 0)
                        {
                            var close = pattern.IndexOf('>', nameStart);
                            if (close < 0)
                            {
                                throw new ArgumentException($"invalid named capture: `{pattern[i..]}`");
                            }

                            groups++;
                            var name = pattern[nameStart..close];
                            if (!groupNames.TryAdd(name, groups))
                            {
                                throw new ArgumentException($"duplicate capture group name: `{name}`");
                            }

                            sb.Append('(');
                            i = close;
                            break;
                        }

                        sb.Append(c);
                        break;
                    }

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

    public override string ToString() => Pattern;
}
