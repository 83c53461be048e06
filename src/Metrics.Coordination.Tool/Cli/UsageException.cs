namespace Metrics.Coordination.Tool.Cli;

/// <summary>A mistake on the command line: the message is printed with the command's usage and the tool exits with 2.</summary>
internal sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException()
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
