using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>Log messages of the config, discovery and lock recipes: event IDs 4600–4799 of the package's 4000s.</summary>
internal static partial class CoordinationRecipeLog
{
    [LoggerMessage(EventId = 4600, Level = LogLevel.Error, Message = "A {Recipe} {Event} handler failed; the recipe goes on")]
    public static partial void HandlerFailed(ILogger logger, string recipe, string @event, Exception exception);

    [LoggerMessage(EventId = 4601, Level = LogLevel.Debug, Message = "Config watcher on {Path} ({Mode}) started with session 0x{SessionId:x}")]
    public static partial void ConfigSessionStarted(ILogger logger, string path, ConfigWatchMode mode, long sessionId);

    [LoggerMessage(EventId = 4602, Level = LogLevel.Information, Message = "Config node {Path} {Kind} (version {Version}, mzxid 0x{Mzxid:x})")]
    public static partial void ConfigChanged(ILogger logger, string path, ConfigChangeKind kind, int version, long mzxid);

    [LoggerMessage(EventId = 4603, Level = LogLevel.Error, Message = "Config node {Path} version {Version} ({Length} bytes) does not parse; keeping the last good value (version {KeptVersion})")]
    public static partial void ConfigParseFailed(ILogger logger, string path, int version, int length, int? keptVersion, Exception exception);

    [LoggerMessage(EventId = 4604, Level = LogLevel.Debug, Message = "Config watcher on {Path} re-synchronized ({Reason}): {Nodes} nodes")]
    public static partial void ConfigResynced(ILogger logger, string path, string reason, int nodes);

    [LoggerMessage(EventId = 4605, Level = LogLevel.Warning, Message = "Config watcher on {Path} lost its connection or session; re-reading when back")]
    public static partial void ConfigConnectionProblem(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 4606, Level = LogLevel.Error, Message = "Config watcher on {Path} failed; retrying in {DelayMs} ms")]
    public static partial void ConfigLoopFailed(ILogger logger, string path, double delayMs, Exception exception);

    [LoggerMessage(EventId = 4607, Level = LogLevel.Error, Message = "Config watcher on {Path} stopped: its ZooKeeper client source can give no more sessions")]
    public static partial void ConfigStopped(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 4630, Level = LogLevel.Information, Message = "Service member registered at {Path} (session 0x{SessionId:x}, registration #{Count})")]
    public static partial void Registered(ILogger logger, string path, long sessionId, int count);

    [LoggerMessage(EventId = 4631, Level = LogLevel.Warning, Message = "Service member {Path} lost: {Reason}; registering again")]
    public static partial void RegistrationLost(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 4632, Level = LogLevel.Information, Message = "Service member {Path} deregistered")]
    public static partial void Deregistered(ILogger logger, string path);

    [LoggerMessage(EventId = 4633, Level = LogLevel.Warning, Message = "Deleting service member {Path} failed; retrying")]
    public static partial void DeregisterRetry(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 4634, Level = LogLevel.Debug, Message = "Service registration under {Path} interrupted; retrying")]
    public static partial void RegistrationRetry(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 4635, Level = LogLevel.Error, Message = "Service registration under {Path} stopped: its ZooKeeper client source can give no more sessions")]
    public static partial void RegistrationStopped(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 4636, Level = LogLevel.Information, Message = "Adopted service member {Path}, created by a request whose reply was lost to a connection drop")]
    public static partial void Adopted(ILogger logger, string path);

    [LoggerMessage(EventId = 4670, Level = LogLevel.Debug, Message = "Lock {Path} acquired (fencing token 0x{FencingToken:x})")]
    public static partial void LockAcquired(ILogger logger, string path, long fencingToken);

    [LoggerMessage(EventId = 4671, Level = LogLevel.Debug, Message = "Lock {Path} released")]
    public static partial void LockReleased(ILogger logger, string path);

    [LoggerMessage(EventId = 4672, Level = LogLevel.Debug, Message = "Lock node {Path} not acquired within {TimeoutMs} ms; its node is deleted")]
    public static partial void LockTimedOut(ILogger logger, string path, double timeoutMs);

    [LoggerMessage(EventId = 4673, Level = LogLevel.Warning, Message = "Lock {Path} is no longer safe: {Reason}")]
    public static partial void LockLost(ILogger logger, string path, string reason);
}
