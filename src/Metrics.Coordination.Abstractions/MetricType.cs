namespace Metrics.Coordination.Abstractions;

/// <summary>The metric family types of Prometheus text 0.0.4 and OpenMetrics 1.0.</summary>
public enum MetricType
{
    /// <summary><c>untyped</c> in Prometheus text, <c>unknown</c> in OpenMetrics.</summary>
    Unknown = 0,

    /// <summary>A monotonically increasing total (<c>_total</c>, optional <c>_created</c>).</summary>
    Counter,

    /// <summary>A value that can go up and down.</summary>
    Gauge,

    /// <summary>Cumulative buckets (<c>_bucket{le}</c>), <c>_sum</c>, <c>_count</c>.</summary>
    Histogram,

    /// <summary>Quantiles (<c>{quantile}</c>), <c>_sum</c>, <c>_count</c>.</summary>
    Summary,

    /// <summary>OpenMetrics info: a constant 1 with <c>_info</c> suffix carrying labels.</summary>
    Info,

    /// <summary>OpenMetrics stateset: one series per state, value 1 for the active state(s).</summary>
    StateSet,

    /// <summary>OpenMetrics gauge histogram (<c>_bucket</c>, <c>_gcount</c>, <c>_gsum</c>).</summary>
    GaugeHistogram,
}
