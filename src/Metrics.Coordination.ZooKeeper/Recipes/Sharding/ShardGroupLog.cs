using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>Shard group log messages; event IDs 4700–4719.</summary>
internal static partial class ShardGroupLog
{
    [LoggerMessage(EventId = 4700, Level = LogLevel.Information, Message = "Shard group {Path}: '{Id}' joined with node {Node} (session 0x{SessionId:x})")]
    public static partial void Joined(ILogger logger, string path, string id, string node, long sessionId);

    [LoggerMessage(EventId = 4701, Level = LogLevel.Information, Message = "Shard group {Path}: '{Id}' sees {Count} live member(s): {Members}")]
    public static partial void Membership(ILogger logger, string path, string id, int count, string members);

    [LoggerMessage(EventId = 4702, Level = LogLevel.Warning, Message = "Shard group {Path}: '{Id}' owns nothing until it knows the membership again ({Reason})")]
    public static partial void Inactive(ILogger logger, string path, string id, string reason);

    [LoggerMessage(EventId = 4703, Level = LogLevel.Warning, Message = "Shard group {Path}: our node {Node} is gone; joining again with a new node")]
    public static partial void NodeVanished(ILogger logger, string path, string node);

    [LoggerMessage(EventId = 4704, Level = LogLevel.Warning, Message = "Shard group {Path}: session 0x{OldSessionId:x} ended; joining again with session 0x{SessionId:x}")]
    public static partial void NewSession(ILogger logger, string path, long oldSessionId, long sessionId);

    [LoggerMessage(EventId = 4705, Level = LogLevel.Warning, Message = "Shard group {Path}: member id '{Id}' is also used by the older node {Other}; this member (node {Node}) owns nothing while that node lives")]
    public static partial void DuplicateId(ILogger logger, string path, string id, string other, string node);

    [LoggerMessage(EventId = 4706, Level = LogLevel.Warning, Message = "Shard group {Path}: membership step failed; retrying in {DelayMs} ms")]
    public static partial void StepFailed(ILogger logger, string path, double delayMs, Exception exception);

    [LoggerMessage(EventId = 4707, Level = LogLevel.Error, Message = "Shard group {Path}: a Changed handler failed; delivery goes on")]
    public static partial void HandlerFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 4708, Level = LogLevel.Information, Message = "Shard group {Path}: deleted our stale node {Node} of an earlier session")]
    public static partial void DeletedStaleNode(ILogger logger, string path, string node);

    [LoggerMessage(EventId = 4709, Level = LogLevel.Information, Message = "Shard group {Path}: '{Id}' left the group")]
    public static partial void Closed(ILogger logger, string path, string id);
}
