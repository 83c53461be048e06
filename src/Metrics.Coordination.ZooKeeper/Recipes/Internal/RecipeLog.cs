using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper.Recipes.Internal;

/// <summary>Log messages of the shared recipe building blocks; event IDs 4500–4519 (the leader recipes use 4520–4599).</summary>
internal static partial class RecipeLog
{
    [LoggerMessage(EventId = 4500, Level = LogLevel.Information, Message = "Connection lost while creating {Path}; found and adopted our own node {Adopted} by its protection id")]
    public static partial void AdoptedProtectedNode(ILogger logger, string path, string adopted);

    [LoggerMessage(EventId = 4501, Level = LogLevel.Warning, Message = "Protected node {Path} belongs to session 0x{Owner:x}, not ours (0x{SessionId:x}); deleting it instead of adopting it")]
    public static partial void ForeignSessionNode(ILogger logger, string path, long owner, long sessionId);

    [LoggerMessage(EventId = 4502, Level = LogLevel.Information, Message = "Deleted abandoned protected node {Path} (create cancelled or failed)")]
    public static partial void DeletedAbandonedNode(ILogger logger, string path);

    [LoggerMessage(EventId = 4503, Level = LogLevel.Warning, Message = "Could not delete protected node(s) with id {Id} under {Parent}; they go when session 0x{SessionId:x} ends")]
    public static partial void AbandonedDeleteFailed(ILogger logger, Guid id, string parent, long sessionId, Exception exception);

    [LoggerMessage(EventId = 4504, Level = LogLevel.Information, Message = "Server does not support container nodes; created parent {Path} as persistent")]
    public static partial void ContainerFallback(ILogger logger, string path);

    [LoggerMessage(EventId = 4505, Level = LogLevel.Warning, Message = "ZooKeeper session 0x{SessionId:x} expired; opening a new session")]
    public static partial void SessionExpiredReplacing(ILogger logger, long sessionId);

    [LoggerMessage(EventId = 4506, Level = LogLevel.Information, Message = "New ZooKeeper session 0x{SessionId:x} replaces expired session 0x{OldSessionId:x} (attempt {Attempt})")]
    public static partial void SessionReplaced(ILogger logger, long sessionId, long oldSessionId, int attempt);

    [LoggerMessage(EventId = 4507, Level = LogLevel.Warning, Message = "Opening a replacement ZooKeeper session failed (attempt {Attempt}); retrying in {DelayMs} ms")]
    public static partial void SessionReplaceFailed(ILogger logger, int attempt, double delayMs, Exception exception);

    [LoggerMessage(EventId = 4508, Level = LogLevel.Error, Message = "A session-replaced handler failed; delivery goes on")]
    public static partial void SessionHandlerFailed(ILogger logger, Exception exception);
}
