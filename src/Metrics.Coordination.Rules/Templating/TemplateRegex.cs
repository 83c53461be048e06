using System.Text.RegularExpressions;
using Metrics.Coordination.Shared;

namespace Metrics.Coordination.Rules.Templating;

/// <summary>
/// The template functions' view of Go's <c>regexp</c> package (<c>regexp.MatchString</c>, <c>regexp.MustCompile</c>,
/// <c>Regexp.ReplaceAllString</c>): the shared RE2 translation, with failures reported as the template package reports
/// them (an error for <c>match</c>, a panic's text for <c>reReplaceAll</c>).
/// </summary>
internal static class TemplateRegex
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(2);

    /// <summary>regexp.Compile (unanchored): the error text is Go's (<c>error parsing regexp: ...</c>).</summary>
    public static GoRegex Compile(string pattern)
    {
        try
        {
            return new GoRegex(pattern, anchored: false, dotAll: false, MatchTimeout);
        }
        catch (GoRegexSyntaxException e)
        {
            throw new GoCallError("error parsing regexp: " + e.Message);
        }
    }

    /// <summary>regexp.MustCompile: a failure panics, and the template package reports the panic's text.</summary>
    public static GoRegex MustCompile(string pattern)
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

    /// <summary>Regexp.ReplaceAllString(src, repl): <paramref name="template"/> expanded per match as Go's Expand.</summary>
    public static string ReplaceAll(GoRegex regex, string src, string template)
    {
        try
        {
            return regex.ReplaceAll(src, template);
        }
        catch (RegexMatchTimeoutException)
        {
            throw new GoCallError("regexp: match timed out after " + MatchTimeout.TotalSeconds + "s");
        }
    }

    /// <summary>regexp.MatchString.</summary>
    public static bool IsMatch(GoRegex regex, string input)
    {
        try
        {
            return regex.IsMatch(input);
        }
        catch (RegexMatchTimeoutException)
        {
            throw new GoCallError("regexp: match timed out after " + MatchTimeout.TotalSeconds + "s");
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
}
