using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Registry;

/// <summary>Registry log messages; event IDs 1000–1999 belong to this package.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "Metric collector '{Collector}' failed; its families are left out of this scrape")]
    public static partial void CollectorFailed(ILogger logger, string collector, Exception exception);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Before-collect callback '{Callback}' failed; the scrape goes on")]
    public static partial void CallbackFailed(ILogger logger, string callback, Exception exception);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Collector '{Collector}' returned family '{Family}', whose name is already exposed; it is left out")]
    public static partial void CollectorFamilyCollision(ILogger logger, string collector, string family);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Metric '{Metric}' reached its cardinality limit of {Limit}; new label sets go to the overflow series")]
    public static partial void CardinalityLimitReached(ILogger logger, string metric, int limit);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Error, Message = "Metric server failed to serve a scrape from {Remote}")]
    public static partial void ServeFailed(ILogger logger, string remote, Exception exception);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Metric server listening on {Prefix}")]
    public static partial void ServerListening(ILogger logger, string prefix);

    // 1100–1199: the standalone MetricServer.
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Metric server on {Url} stopped")]
    public static partial void ServerStopped(ILogger logger, string url);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Debug, Message = "Metric server connection from {Remote} ended with a transport error")]
    public static partial void ConnectionFailed(ILogger logger, string remote, Exception exception);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Debug, Message = "Metric server answered {Status} to {Remote}: {Reason}")]
    public static partial void RequestRejected(ILogger logger, int status, string remote, string reason);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Metric server refused a connection from {Remote}: {Limit} connections are open")]
    public static partial void ConnectionLimitReached(ILogger logger, string remote, int limit);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Error, Message = "Metric server failed to accept a connection; retrying")]
    public static partial void AcceptFailed(ILogger logger, Exception exception);
}
