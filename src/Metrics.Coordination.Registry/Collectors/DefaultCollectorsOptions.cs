using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Registry;

/// <summary>Options of <see cref="CollectorExtensions.AddDefaultCollectors"/>.</summary>
public sealed class DefaultCollectorsOptions
{
    /// <summary>Whether the <c>process_*</c> metrics are collected. Default: true.</summary>
    public bool Process { get; set; } = true;

    /// <summary>Which groups of runtime metrics are published. Default: <see cref="RuntimeMetricGroups.All"/>.</summary>
    public RuntimeMetricGroups Runtime { get; set; } = RuntimeMetricGroups.All;

    /// <summary>Where collection problems are logged. Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;
}
