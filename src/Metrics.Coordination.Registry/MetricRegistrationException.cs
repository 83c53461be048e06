using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Registry;

/// <summary>
/// A metric was registered with a name that an existing metric uses with a different definition (type, help,
/// label names, unit, buckets or objectives), or whose sample names collide with another family's.
/// </summary>
public sealed class MetricRegistrationException : MetricsCoordinationException
{
    /// <summary>Creates the exception.</summary>
    public MetricRegistrationException(string message, string existingDefinition, string newDefinition)
        : base(message)
    {
        ExistingDefinition = existingDefinition;
        NewDefinition = newDefinition;
    }

    /// <summary>The definition already registered.</summary>
    public string ExistingDefinition { get; }

    /// <summary>The definition that was refused.</summary>
    public string NewDefinition { get; }
}
