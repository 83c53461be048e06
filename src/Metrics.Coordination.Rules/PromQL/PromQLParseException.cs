using System.Globalization;
using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.PromQL;

/// <summary>
/// A query did not parse or did not type-check. The message reads like Prometheus's
/// (<c>1:6: parse error: unexpected end of input</c>); the position properties locate the offending text.
/// </summary>
public sealed class PromQLParseException : MetricsCoordinationException
{
    /// <summary>Creates the exception for the character range [<paramref name="startOffset"/>, <paramref name="endOffset"/>) of <paramref name="query"/>.</summary>
    public PromQLParseException(string query, int startOffset, int endOffset, string reason)
        : base(Format(query, startOffset, reason))
    {
        ArgumentNullException.ThrowIfNull(query);
        Query = query;
        Reason = reason;
        StartOffset = Math.Clamp(startOffset, 0, query.Length);
        EndOffset = Math.Clamp(Math.Max(endOffset, startOffset), 0, query.Length);
        (StartLine, StartColumn) = LineColumn(query, StartOffset);
        (EndLine, EndColumn) = LineColumn(query, EndOffset);
    }

    /// <summary>The query text.</summary>
    public string Query { get; }

    /// <summary>What is wrong, without the position prefix.</summary>
    public string Reason { get; }

    /// <summary>The first offending character (0-based offset into <see cref="Query"/>).</summary>
    public int StartOffset { get; }

    /// <summary>One past the last offending character.</summary>
    public int EndOffset { get; }

    /// <summary>1-based line of <see cref="StartOffset"/>.</summary>
    public int StartLine { get; }

    /// <summary>1-based column of <see cref="StartOffset"/>.</summary>
    public int StartColumn { get; }

    /// <summary>1-based line of <see cref="EndOffset"/>.</summary>
    public int EndLine { get; }

    /// <summary>1-based column of <see cref="EndOffset"/>.</summary>
    public int EndColumn { get; }

    private static string Format(string? query, int offset, string reason)
    {
        var (line, col) = LineColumn(query ?? string.Empty, Math.Clamp(offset, 0, query?.Length ?? 0));
        return string.Create(CultureInfo.InvariantCulture, $"{line}:{col}: parse error: {reason}");
    }

    internal static (int Line, int Column) LineColumn(string query, int offset)
    {
        var line = 1;
        var lastBreak = -1;
        for (var i = 0; i < offset && i < query.Length; i++)
        {
            if (query[i] == '\n')
            {
                line++;
                lastBreak = i;
            }
        }

        return (line, offset - lastBreak);
    }
}
