using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper.Monitoring;

/// <summary>ZooKeeper monitoring log messages; event IDs 4800–4899 (of the ZooKeeper family's 4000s) belong to this package.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4800, Level = LogLevel.Warning, Message = "ZooKeeper server {Server} did not answer '{Word}'; it is reported down")]
    public static partial void PollFailed(ILogger logger, string server, string word, Exception exception);

    [LoggerMessage(EventId = 4801, Level = LogLevel.Warning, Message = "ZooKeeper server {Server} gave a malformed answer: {Problem}")]
    public static partial void MalformedLine(ILogger logger, string server, string problem);

    [LoggerMessage(EventId = 4802, Level = LogLevel.Information, Message = "ZooKeeper server {Server} is up again")]
    public static partial void ServerUp(ILogger logger, string server);

    [LoggerMessage(EventId = 4803, Level = LogLevel.Warning, Message = "ZooKeeper server {Server} is not serving requests (no quorum)")]
    public static partial void NotServing(ILogger logger, string server);

    [LoggerMessage(EventId = 4804, Level = LogLevel.Error, Message = "ZooKeeper ensemble poll failed unexpectedly; polling goes on")]
    public static partial void PollLoopFailed(ILogger logger, Exception exception);
}
