namespace Metrics.Coordination.Abstractions;

/// <summary>
/// The root of every exception Metrics.Coordination throws for a failure of its own (bad arguments use the BCL's
/// <see cref="ArgumentException"/> family). <see cref="IsTransient"/> says whether retrying the same call may succeed.
/// </summary>
public class MetricsCoordinationException : Exception
{
    /// <summary>Creates an exception.</summary>
    public MetricsCoordinationException()
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public MetricsCoordinationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public MetricsCoordinationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Whether retrying the operation may succeed (a lost connection, say); false for bad input.</summary>
    public virtual bool IsTransient => false;
}
