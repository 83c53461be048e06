using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Registry;

/// <summary>
/// Options of a <see cref="MeterBridge"/>. Validated and copied when the bridge is created; later changes to this
/// object have no effect.
/// </summary>
public sealed class MeterBridgeOptions
{
    /// <summary>
    /// Names of the meters to publish. <c>*</c> matches any run of characters (<c>Microsoft.AspNetCore.*</c>); matching
    /// ignores case, as OpenTelemetry's <c>AddMeter</c> does. Default: <c>["*"]</c>, every meter.
    /// </summary>
    public IReadOnlyList<string> Meters { get; set; } = ["*"];

    /// <summary>Meter names (with <c>*</c> wildcards) left out even when <see cref="Meters"/> matches them. Default: none.</summary>
    public IReadOnlyList<string> ExcludedMeters { get; set; } = [];

    /// <summary>
    /// A further test run once per instrument of a matching meter, when it is published; false leaves the instrument
    /// out. An exception counts as false and is logged. Default: null (every instrument of a matching meter).
    /// </summary>
    public Func<Instrument, bool>? InstrumentFilter { get; set; }

    /// <summary>
    /// Histogram bucket upper bounds by instrument name (exact, case-sensitive), taking precedence over the
    /// instrument's advice (<c>InstrumentAdvice&lt;T&gt;.HistogramBucketBoundaries</c>). Default: none.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<double>> HistogramBuckets { get; set; } = new Dictionary<string, IReadOnlyList<double>>();

    /// <summary>
    /// Bucket upper bounds for histograms with neither an entry in <see cref="HistogramBuckets"/> nor advice. Default:
    /// null, meaning OpenTelemetry's defaults: <c>0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5,
    /// 7.5, 10</c> for instruments whose unit is <c>s</c> (OpenTelemetry .NET's short-seconds set: the general default
    /// below would put every sub-5-second duration into its first two buckets), and <c>0, 5, 10, 25, 50, 75, 100, 250,
    /// 500, 750, 1000, 2500, 5000, 7500, 10000</c> otherwise.
    /// </summary>
    public IReadOnlyList<double>? DefaultHistogramBuckets { get; set; }

    /// <summary>Tag keys (exact, before sanitization) that are dropped from every measurement, such as high-cardinality ones. Default: none.</summary>
    public IReadOnlyList<string> ExcludedTags { get; set; } = [];

    /// <summary>
    /// Whether every series gets <c>otel_scope_name</c> (the meter's name) and <c>otel_scope_version</c> (its version,
    /// when it has one) labels, as the compatibility specification asks of OpenTelemetry exporters by default. Default:
    /// false: Prometheus users rarely want the labels, and without them instruments of meters with different names but
    /// the same instrument name, type, unit and buckets share one family. Tags that sanitize to these names are renamed
    /// <c>key_otel_scope_name</c>/<c>key_otel_scope_version</c> when this is on.
    /// </summary>
    public bool AddScopeLabels { get; set; }

    /// <summary>Where conflicts and dropped tags are logged. Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;
}
