using System.Globalization;
using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.PromQL;

/// <summary>One sample of an instant vector: a series and its value at the evaluation time.</summary>
/// <param name="Metric">The series labels (<c>__name__</c> included when kept).</param>
/// <param name="TimestampMs">The evaluation time in ms.</param>
/// <param name="Value">The value.</param>
public readonly record struct PromQLSample(Labels Metric, long TimestampMs, double Value);

/// <summary>A point of a range-vector or range-query series.</summary>
/// <param name="TimestampMs">The time in ms.</param>
/// <param name="Value">The value.</param>
public readonly record struct PromQLPoint(long TimestampMs, double Value);

/// <summary>A series with points: one element of a range-query result or of a range vector.</summary>
public sealed class PromQLSeries
{
    /// <summary>Creates a series.</summary>
    public PromQLSeries(Labels metric, IReadOnlyList<PromQLPoint> points)
    {
        Metric = metric;
        Points = points;
    }

    /// <summary>The series labels.</summary>
    public Labels Metric { get; }

    /// <summary>The points in time order.</summary>
    public IReadOnlyList<PromQLPoint> Points { get; }
}

/// <summary>Whether an annotation is a warning (the result may be wrong) or information.</summary>
public enum PromQLAnnotationKind
{
    /// <summary>A warning: <c>PromQL warning: ...</c>.</summary>
    Warning,

    /// <summary>An informational note: <c>PromQL info: ...</c>.</summary>
    Info,
}

/// <summary>A warning or note attached to a result, in Prometheus's wording: <c>PromQL warning: ... (1:5)</c>.</summary>
/// <param name="Kind">Warning or info.</param>
/// <param name="Message">The full text, with the <c>PromQL warning:</c>/<c>PromQL info:</c> prefix and the position of the expression it is about.</param>
public sealed record PromQLAnnotation(PromQLAnnotationKind Kind, string Message)
{
    /// <inheritdoc />
    public override string ToString() => Message;
}

/// <summary>
/// The result of a query. <see cref="Type"/> says which member holds the value: <see cref="Scalar"/> (with
/// <see cref="TimestampMs"/>), <see cref="String"/>, <see cref="Vector"/> (instant queries) or <see cref="Matrix"/>
/// (range queries, and instant queries of a range-vector expression).
/// </summary>
public sealed class PromQLResult
{
    internal PromQLResult(PromQLValueType type, IReadOnlyList<PromQLAnnotation> annotations)
    {
        Type = type;
        Annotations = annotations;
    }

    /// <summary>What kind of value came back. A range query always returns <see cref="PromQLValueType.RangeVector"/>.</summary>
    public PromQLValueType Type { get; }

    /// <summary>The scalar value when <see cref="Type"/> is <see cref="PromQLValueType.Scalar"/>.</summary>
    public double Scalar { get; internal init; }

    /// <summary>The evaluation time of a scalar or string result, in ms.</summary>
    public long TimestampMs { get; internal init; }

    /// <summary>The string value when <see cref="Type"/> is <see cref="PromQLValueType.String"/>.</summary>
    public string? String { get; internal init; }

    /// <summary>The samples of an instant-vector result, in evaluation order (ordered where PromQL defines an order: <c>sort</c>, <c>topk</c>, ...).</summary>
    public IReadOnlyList<PromQLSample> Vector { get; internal init; } = [];

    /// <summary>The series of a range result, sorted by labels for range queries.</summary>
    public IReadOnlyList<PromQLSeries> Matrix { get; internal init; } = [];

    /// <summary>Warnings and notes, in the order they were raised, without duplicates.</summary>
    public IReadOnlyList<PromQLAnnotation> Annotations { get; }

    /// <summary>Renders the result as <c>promtool query</c> does: one series per line (<c>labels =&gt; value @[time]</c>).</summary>
    public override string ToString()
    {
        var sb = new System.Text.StringBuilder();
        switch (Type)
        {
            case PromQLValueType.Scalar:
                sb.Append("scalar: ").Append(FormatValue(Scalar)).Append(" @[").Append(FormatTime(TimestampMs)).Append(']');
                break;
            case PromQLValueType.String:
                sb.Append("string: ").Append(String).Append(" @[").Append(FormatTime(TimestampMs)).Append(']');
                break;
            case PromQLValueType.InstantVector:
                foreach (var s in Vector)
                {
                    sb.Append(s.Metric).Append(" => ").Append(FormatValue(s.Value)).Append(" @[").Append(FormatTime(s.TimestampMs)).Append("]\n");
                }

                break;
            default:
                foreach (var s in Matrix)
                {
                    sb.Append(s.Metric).Append(" =>\n");
                    foreach (var p in s.Points)
                    {
                        sb.Append(FormatValue(p.Value)).Append(" @[").Append(FormatTime(p.TimestampMs)).Append("]\n");
                    }
                }

                break;
        }

        return sb.ToString().TrimEnd('\n');
    }

    private static string FormatValue(double v) => Printer.FormatFloat(v) switch { "Inf" => "+Inf", var s => s };

    private static string FormatTime(long ms) => (ms / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
}

/// <summary>What went wrong when a query failed at evaluation time.</summary>
public enum PromQLErrorKind
{
    /// <summary>The query is invalid for the data (e.g. many-to-many matching, duplicate label sets, bad regex in label_replace).</summary>
    Execution,

    /// <summary>The query ran longer than <see cref="PromQLEngineOptions.Timeout"/>.</summary>
    Timeout,

    /// <summary>The query would have held more than <see cref="PromQLEngineOptions.MaxSamples"/> samples in memory.</summary>
    TooManySamples,

    /// <summary>The storage failed while the query read it.</summary>
    Storage,
}

/// <summary>A query failed at evaluation time. The message is Prometheus's wording (e.g. <c>many-to-many matching not allowed: ...</c>).</summary>
public sealed class PromQLQueryException : MetricsCoordinationException
{
    /// <summary>Creates the exception.</summary>
    public PromQLQueryException(PromQLErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
    }

    /// <summary>The category of failure.</summary>
    public PromQLErrorKind Kind { get; }

    /// <summary>A timeout may pass when the system is less loaded; the other kinds will fail again.</summary>
    public override bool IsTransient => Kind == PromQLErrorKind.Timeout;
}
