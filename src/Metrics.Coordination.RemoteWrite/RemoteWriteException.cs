namespace Metrics.Coordination.RemoteWrite;

/// <summary>The root of this package's exceptions.</summary>
public class RemoteWriteException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RemoteWriteException(string message, bool isTransient, Exception? innerException = null)
        : base(message, innerException)
    {
        IsTransient = isTransient;
    }

    /// <summary>Whether retrying the same operation later may succeed.</summary>
    public bool IsTransient { get; }
}
