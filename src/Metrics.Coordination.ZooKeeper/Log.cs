using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper;

/// <summary>ZooKeeper client log messages; event IDs 4000–4999 belong to this package.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Debug, Message = "Connecting to ZooKeeper server {Server} (session 0x{SessionId:x}, last zxid 0x{LastZxid:x})")]
    public static partial void Connecting(ILogger logger, string server, long sessionId, long lastZxid);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Connected to ZooKeeper server {Server}: session 0x{SessionId:x}, negotiated timeout {TimeoutMs} ms, read-only {ReadOnly}")]
    public static partial void Connected(ILogger logger, string server, long sessionId, int timeoutMs, bool readOnly);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Connection to ZooKeeper server {Server} lost after {Seconds:0.###} s; {Pending} requests failed with ConnectionLoss")]
    public static partial void ConnectionLost(ILogger logger, string server, double seconds, int pending, Exception exception);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Debug, Message = "Connection attempt to ZooKeeper server {Server} failed")]
    public static partial void ConnectAttemptFailed(ILogger logger, string server, Exception exception);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "ZooKeeper session 0x{SessionId:x} expired: {Reason}")]
    public static partial void SessionExpired(ILogger logger, long sessionId, string reason);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Error, Message = "ZooKeeper authentication with scheme '{Scheme}' failed; the client is unusable")]
    public static partial void AuthFailed(ILogger logger, string scheme);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Error, Message = "A ZooKeeper watch handler failed on {Type} {Path}; dispatch goes on")]
    public static partial void WatcherFailed(ILogger logger, EventType type, string? path, Exception exception);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Error, Message = "A ZooKeeper state handler failed on {State}; dispatch goes on")]
    public static partial void StateHandlerFailed(ILogger logger, ZooKeeperState state, Exception exception);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Error, Message = "ZooKeeper server {Server} broke the protocol; dropping the connection")]
    public static partial void ProtocolViolation(ILogger logger, string server, Exception exception);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Information, Message = "ZooKeeper session 0x{SessionId:x} closed")]
    public static partial void Closed(ILogger logger, long sessionId);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Debug, Message = "Re-registering {Count} ZooKeeper watches in {Batches} SetWatches2 batches (relative zxid 0x{Zxid:x})")]
    public static partial void SettingWatches(ILogger logger, int count, int batches, long zxid);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Debug, Message = "ZooKeeper state {Previous} -> {Current}")]
    public static partial void StateChanged(ILogger logger, ZooKeeperState previous, ZooKeeperState current);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Warning, Message = "ZooKeeper SetWatches2 failed with {Code}; watches may not be re-armed on this connection")]
    public static partial void SetWatchesFailed(ILogger logger, ErrorCode code);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Warning, Message = "Closing ZooKeeper session 0x{SessionId:x} did not complete cleanly; the server expires it after the timeout")]
    public static partial void CloseFailed(ILogger logger, long sessionId, Exception exception);

    [LoggerMessage(EventId = 4015, Level = LogLevel.Information, Message = "ZooKeeper server {Server} answers read-write; leaving read-only server {ReadOnlyServer}")]
    public static partial void ReadWriteServerFound(ILogger logger, string server, string readOnlyServer);

    [LoggerMessage(EventId = 4016, Level = LogLevel.Debug, Message = "ZooKeeper server {Server} runs version {Version} (srvr)")]
    public static partial void ServerVersion(ILogger logger, string server, string version);

    [LoggerMessage(EventId = 4017, Level = LogLevel.Warning, Message = "ZooKeeper server {Server} is read-only and refuses to re-attach session 0x{SessionId:x}, which a read-write server created (servers since 3.6 serve only new read-only sessions); the session waits for a read-write server, Suspended")]
    public static partial void ReadOnlyServerRefusedSession(ILogger logger, string server, long sessionId);
}
