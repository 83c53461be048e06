using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Hosting;

/// <summary>Hosting log messages; event IDs 5000–5999 belong to this package (5000s lifecycle, 5100s rules, 5200s leadership).</summary>
internal static partial class HostingLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Metrics.Coordination started in {ElapsedMs} ms: TSDB {Tsdb}, self-collection {SelfCollection}, {ScrapeJobs} scrape jobs, rules {Rules}, {Alertmanagers} Alertmanagers, leadership {Leadership}")]
    public static partial void Started(ILogger logger, long elapsedMs, string tsdb, string selfCollection, int scrapeJobs, string rules, int alertmanagers, string leadership);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Metrics.Coordination stopped in {ElapsedMs} ms")]
    public static partial void Stopped(ILogger logger, long elapsedMs);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "Metrics.Coordination failed to start ({Step}); the parts already started were stopped")]
    public static partial void StartFailed(ILogger logger, string step, Exception exception);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Error, Message = "Stopping {Part} failed; going on with the next part")]
    public static partial void StopStepFailed(ILogger logger, string part, Exception exception);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "ZooKeeper session 0x{SessionId:x} established with {Server}")]
    public static partial void ZooKeeperConnected(ILogger logger, long sessionId, string? server);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Information, Message = "Registered as {NodePath}")]
    public static partial void Registered(ILogger logger, string? nodePath);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Information, Message = "Sent {Count} firing alerts as resolved on stop (leader, fencing token {Token})")]
    public static partial void ResolvedOnStop(ILogger logger, int count, long token);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "Rule files loaded from disk: {Files} files, {Rules} rules")]
    public static partial void RuleFilesLoaded(ILogger logger, int files, int rules);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Error, Message = "Rule reload from {Source} refused; the last good rules keep running: {Error}")]
    public static partial void RuleReloadRefused(ILogger logger, string source, string error);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Warning, Message = "Rule file directory {Directory} does not exist; it is checked periodically, not watched")]
    public static partial void RuleDirectoryMissing(ILogger logger, string directory);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Warning, Message = "Rule file watcher error; checking every file")]
    public static partial void RuleWatcherError(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5105, Level = LogLevel.Information, Message = "Rule files loaded from ZooKeeper {Path}: {Nodes} nodes, {Rules} rules")]
    public static partial void RuleNodesLoaded(ILogger logger, string path, int nodes, int rules);

    [LoggerMessage(EventId = 5201, Level = LogLevel.Information, Message = "Leadership changed: leader {IsLeader}, fencing token 0x{Token:x}")]
    public static partial void LeadershipChanged(ILogger logger, bool isLeader, long token);

    [LoggerMessage(EventId = 5202, Level = LogLevel.Error, Message = "A leadership Changed handler threw")]
    public static partial void LeadershipHandlerFailed(ILogger logger, Exception exception);
}
