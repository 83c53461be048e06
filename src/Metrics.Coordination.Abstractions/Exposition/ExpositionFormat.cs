namespace Metrics.Coordination.Abstractions.Exposition;

/// <summary>The text exposition formats.</summary>
public enum ExpositionFormat
{
    /// <summary>Prometheus text format 0.0.4 (<c>text/plain; version=0.0.4</c>).</summary>
    PrometheusText = 0,

    /// <summary>OpenMetrics 1.0 text (<c>application/openmetrics-text; version=1.0.0</c>): <c># UNIT</c>, <c>_created</c>, exemplars, <c># EOF</c>.</summary>
    OpenMetrics,
}
