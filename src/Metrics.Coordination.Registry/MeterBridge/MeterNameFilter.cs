namespace Metrics.Coordination.Registry;

/// <summary>Include and exclude patterns for meter names, where <c>*</c> matches any run of characters (case-insensitive).</summary>
internal sealed class MeterNameFilter(IReadOnlyList<string> include, IReadOnlyList<string> exclude)
{
    private readonly string[] _include = [.. include];
    private readonly string[] _exclude = [.. exclude];

    public bool Matches(string meterName) => _include.Any(p => GlobMatches(p, meterName)) && !_exclude.Any(p => GlobMatches(p, meterName));

    /// <summary>Whether <paramref name="text"/> matches <paramref name="pattern"/>; linear backtracking over the last <c>*</c>.</summary>
    internal static bool GlobMatches(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] != '*' && char.ToUpperInvariant(pattern[p]) == char.ToUpperInvariant(text[t]))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
