using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>Leader election log messages; event IDs 4520–4599.</summary>
internal static partial class LeaderLog
{
    [LoggerMessage(EventId = 4520, Level = LogLevel.Information, Message = "Leader latch {Path}: '{Id}' became leader with node {Node} (fencing token 0x{Token:x}, session 0x{SessionId:x})")]
    public static partial void BecameLeader(ILogger logger, string path, string id, string node, long token, long sessionId);

    [LoggerMessage(EventId = 4521, Level = LogLevel.Information, Message = "Leader latch {Path}: '{Id}' is no longer leader ({Reason}; fencing token 0x{Token:x})")]
    public static partial void LostLeadership(ILogger logger, string path, string id, LeadershipLossReason reason, long token);

    [LoggerMessage(EventId = 4522, Level = LogLevel.Debug, Message = "Leader latch {Path}: created node {Node} (czxid 0x{Czxid:x}, session 0x{SessionId:x})")]
    public static partial void NodeCreated(ILogger logger, string path, string node, long czxid, long sessionId);

    [LoggerMessage(EventId = 4523, Level = LogLevel.Debug, Message = "Leader latch {Path}: position {Index}, watching predecessor {Predecessor}")]
    public static partial void WatchingPredecessor(ILogger logger, string path, int index, string predecessor);

    [LoggerMessage(EventId = 4524, Level = LogLevel.Warning, Message = "Leader latch {Path}: our node {Node} is gone; queueing again with a new node")]
    public static partial void NodeVanished(ILogger logger, string path, string node);

    [LoggerMessage(EventId = 4525, Level = LogLevel.Warning, Message = "Leader latch {Path}: session 0x{OldSessionId:x} ended; contending again with session 0x{SessionId:x}")]
    public static partial void NewSession(ILogger logger, string path, long oldSessionId, long sessionId);

    [LoggerMessage(EventId = 4526, Level = LogLevel.Warning, Message = "Leader latch {Path}: election step failed; retrying in {DelayMs} ms")]
    public static partial void StepFailed(ILogger logger, string path, double delayMs, Exception exception);

    [LoggerMessage(EventId = 4527, Level = LogLevel.Error, Message = "Leader latch {Path}: a leadership listener failed in {Callback}; dispatch goes on")]
    public static partial void ListenerFailed(ILogger logger, string path, string callback, Exception exception);

    [LoggerMessage(EventId = 4528, Level = LogLevel.Information, Message = "Leader latch {Path}: connection suspended; keeping leadership for at most {RemainingMs} ms (session timeout since the last server contact)")]
    public static partial void KeepingWhileSuspended(ILogger logger, string path, double remainingMs);

    [LoggerMessage(EventId = 4529, Level = LogLevel.Information, Message = "Leader latch {Path}: deleted stale node {Node} of an earlier session")]
    public static partial void DeletedStaleNode(ILogger logger, string path, string node);

    [LoggerMessage(EventId = 4530, Level = LogLevel.Information, Message = "Leader latch {Path}: closed")]
    public static partial void Closed(ILogger logger, string path);

    [LoggerMessage(EventId = 4531, Level = LogLevel.Error, Message = "Leader selector {Path}: the leader work failed; leadership is given up")]
    public static partial void WorkFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 4532, Level = LogLevel.Debug, Message = "Leader latch {Path}: connection state {State}")]
    public static partial void ConnectionState(ILogger logger, string path, ZooKeeperState state);
}
