using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Registry;

/// <summary>Which metric and label names a registry accepts.</summary>
public enum NameValidation
{
    /// <summary>Any non-empty valid UTF-8 name (Prometheus 3). Scrapers that ask for no escaping get names escaped with underscores.</summary>
    Utf8 = 0,

    /// <summary>Only the legacy character sets (<c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>, labels without <c>:</c>).</summary>
    Legacy,
}

/// <summary>Options of a <see cref="MetricRegistry"/>. Validated and copied when the registry is built.</summary>
public sealed class MetricRegistryOptions
{
    /// <summary>The clock for <c>_created</c> timestamps, summary windows and label-set expiry. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where collector failures are logged. Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Which names are accepted. Default: <see cref="Registry.NameValidation.Utf8"/>, as Prometheus 3 and client_golang.</summary>
    public NameValidation NameValidation { get; set; } = NameValidation.Utf8;

    /// <summary>
    /// Whether the registry exposes its own health metrics (<c>metrics_coordination_collector_errors_total</c>,
    /// <c>metrics_coordination_cardinality_overflow_total</c>). Default: true.
    /// </summary>
    public bool ExposeSelfMetrics { get; set; } = true;

    /// <summary>
    /// Whether counters and histograms attach the current <see cref="System.Diagnostics.Activity"/>'s trace and span ids
    /// as exemplars by themselves; a metric's own <c>ExemplarBehavior</c> overrides it. Exemplars are written in
    /// OpenMetrics only. Default: <see cref="Registry.ExemplarBehavior.TraceContext"/>.
    /// </summary>
    public ExemplarBehavior ExemplarBehavior { get; set; } = ExemplarBehavior.TraceContext;

    /// <summary>
    /// The shortest time between two automatic exemplars of one counter series or one histogram bucket, so recording
    /// inside sampled activities stays cheap (explicit exemplars are not limited). Scrapes expose only the latest
    /// exemplar, and scrape intervals are seconds, so this loses nothing a scraper would see. Zero: no limit.
    /// Default: 100 ms.
    /// </summary>
    public TimeSpan AutomaticExemplarInterval { get; set; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>Settings shared by every instrument.</summary>
public class MetricOptions
{
    /// <summary>Label names, in the order <c>WithLabels</c> takes values. Default: none.</summary>
    public IReadOnlyList<string> LabelNames { get; set; } = [];

    /// <summary>The OpenMetrics unit (such as <c>seconds</c>); when set, the metric name must end with <c>_unit</c>. Default: none.</summary>
    public string? Unit { get; set; }

    /// <summary>
    /// Removes a label set whose value has not changed, and that was not looked up with <c>WithLabels</c>, for this long.
    /// Checked at scrape time. A handle to a removed series records nowhere. Default: null (never).
    /// </summary>
    public TimeSpan? LabelSetExpiry { get; set; }

    /// <summary>
    /// The most label sets this metric holds. Further label sets go to one overflow series labelled
    /// <c>otel_metric_overflow="true"</c> (OpenTelemetry's convention), and each such lookup is counted in
    /// <c>metrics_coordination_cardinality_overflow_total{metric="..."}</c>. Default: null (no limit).
    /// </summary>
    public int? CardinalityLimit { get; set; }
}

/// <summary>Counter settings.</summary>
public sealed class CounterOptions : MetricOptions
{
    /// <summary>Which exemplars the counter attaches by itself. Default: null (the registry's <see cref="MetricRegistryOptions.ExemplarBehavior"/>).</summary>
    public ExemplarBehavior? ExemplarBehavior { get; set; }
}

/// <summary>Gauge settings.</summary>
public sealed class GaugeOptions : MetricOptions
{
}

/// <summary>Histogram settings.</summary>
public sealed class HistogramOptions : MetricOptions
{
    /// <summary>Bucket upper bounds, strictly increasing; <c>+Inf</c> is always added. Default: <see cref="Buckets.Default"/>.</summary>
    public IReadOnlyList<double>? Buckets { get; set; }

    /// <summary>Which exemplars the histogram attaches by itself. Default: null (the registry's <see cref="MetricRegistryOptions.ExemplarBehavior"/>).</summary>
    public ExemplarBehavior? ExemplarBehavior { get; set; }
}

/// <summary>A summary quantile objective: the quantile and its allowed rank error.</summary>
/// <param name="Quantile">The quantile, in [0, 1].</param>
/// <param name="Epsilon">The allowed rank error, in (0, 1): 0.5 with 0.05 returns a value whose rank is within 45%..55%.</param>
public readonly record struct QuantileObjective(double Quantile, double Epsilon);

/// <summary>Summary settings.</summary>
public sealed class SummaryOptions : MetricOptions
{
    /// <summary>The quantiles to report. Default: none (only <c>_sum</c> and <c>_count</c>), as client_golang.</summary>
    public IReadOnlyList<QuantileObjective> Objectives { get; set; } = [];

    /// <summary>How far back quantiles look. Default: 10 minutes (client_golang's <c>DefMaxAge</c>).</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How many overlapping windows slide across <see cref="MaxAge"/>; memory grows with it. Default: 5.</summary>
    public int AgeBuckets { get; set; } = 5;

    /// <summary>Observations buffered before they are merged into the quantile streams. Default: 500.</summary>
    public int BufferCapacity { get; set; } = 500;
}

/// <summary>Bucket layouts for histograms.</summary>
public static class Buckets
{
    /// <summary>Prometheus's default buckets, for request latencies in seconds: .005 to 10.</summary>
    public static IReadOnlyList<double> Default { get; } = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary><paramref name="count"/> buckets starting at <paramref name="start"/>, each <paramref name="width"/> wider.</summary>
    public static double[] Linear(double start, double width, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (!(width > 0) || !double.IsFinite(start))
        {
            throw new ArgumentOutOfRangeException(nameof(width), width, "Width must be positive and start finite.");
        }

        var result = new double[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = start + (i * width);
        }

        return result;
    }

    /// <summary><paramref name="count"/> buckets starting at <paramref name="start"/>, each <paramref name="factor"/> times the previous.</summary>
    public static double[] Exponential(double start, double factor, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (!(start > 0) || !(factor > 1))
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, "Start must be positive and factor greater than 1.");
        }

        var result = new double[count];
        var v = start;
        for (var i = 0; i < count; i++)
        {
            result[i] = v;
            v *= factor;
        }

        return result;
    }
}
