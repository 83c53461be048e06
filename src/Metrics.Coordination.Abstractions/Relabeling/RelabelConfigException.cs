namespace Metrics.Coordination.Abstractions.Relabeling;

/// <summary>A relabel configuration is invalid; the message says which rule and why, in Prometheus's words where it has them.</summary>
public sealed class RelabelConfigException : MetricsCoordinationException
{
    /// <summary>Creates the exception.</summary>
    public RelabelConfigException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a cause.</summary>
    public RelabelConfigException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
