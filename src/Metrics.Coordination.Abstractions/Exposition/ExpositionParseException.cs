using System.Globalization;

namespace Metrics.Coordination.Abstractions.Exposition;

/// <summary>
/// Malformed exposition text: a syntax error, a rule of the format broken (a decreasing histogram bucket, an
/// interleaved family, a missing <c># EOF</c>), or a limit of <see cref="ExpositionParserOptions"/> exceeded.
/// The message reads <c>line L, column C: what was wrong</c>. Never transient: the same input fails the same way.
/// </summary>
public sealed class ExpositionParseException : MetricsCoordinationException
{
    /// <summary>Creates an exception for a position in the input.</summary>
    /// <param name="line">The 1-based line number.</param>
    /// <param name="column">The 1-based column, counted in UTF-8 bytes from the start of the line.</param>
    /// <param name="reason">What was wrong, without the position.</param>
    /// <param name="innerException">The cause, if any.</param>
    public ExpositionParseException(int line, int column, string reason, Exception? innerException = null)
        : base(string.Create(CultureInfo.InvariantCulture, $"line {line}, column {column}: {reason}"), innerException)
    {
        ArgumentNullException.ThrowIfNull(reason);
        Line = line;
        Column = column;
        Reason = reason;
    }

    /// <summary>The 1-based line number of the error.</summary>
    public int Line { get; }

    /// <summary>
    /// The 1-based column of the error, counted in UTF-8 bytes from the start of the line (so a column after a
    /// multi-byte character is larger than its character count).
    /// </summary>
    public int Column { get; }

    /// <summary>What was wrong, without the position prefix of <see cref="Exception.Message"/>.</summary>
    public string Reason { get; }
}
