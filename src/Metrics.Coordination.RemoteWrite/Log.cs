using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.RemoteWrite;

/// <summary>Remote-write log messages; event IDs 6000–6999 belong to this package (6000s sender, 6100s WAL watcher, 6200s sending).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Remote write {Name} to {Url} started at WAL segment {Segment} offset {Offset}")]
    public static partial void Started(ILogger logger, string name, string url, int segment, long offset);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Remote write {Name} stopped at WAL segment {Segment} offset {Offset}")]
    public static partial void Stopped(ILogger logger, string name, int segment, long offset);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Information, Message = "Remote write {Name}: resharding from {From} to {To} shards")]
    public static partial void Resharding(ILogger logger, string name, int from, int to);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning, Message = "Remote write {Name}: position file {Path} unreadable or for a different shard layout; resuming from {Segment}:{Offset} without per-shard marks")]
    public static partial void PositionIgnored(ILogger logger, string name, string path, int segment, long offset);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Error, Message = "Remote write {Name}: persisting the WAL position failed")]
    public static partial void PositionWriteFailed(ILogger logger, string name, Exception exception);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Error, Message = "Remote write {Name}: WAL watcher failed; restarting it in {DelayMs} ms")]
    public static partial void WatcherFailed(ILogger logger, string name, long delayMs, Exception exception);

    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning, Message = "Remote write {Name}: WAL segments {From} to {To} were deleted before they were sent; continuing at segment {Next}")]
    public static partial void SegmentsMissed(ILogger logger, string name, int from, int to, int next);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Remote write {Name}: WAL segment {Segment} corrupt at offset {Offset} ({Reason}); skipping to the next segment")]
    public static partial void SegmentCorrupt(ILogger logger, string name, int segment, long offset, string reason);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Remote write {Name}: WAL record at {Segment}:{Offset} does not decode ({Reason}); skipped")]
    public static partial void RecordUndecodable(ILogger logger, string name, int segment, long offset, string reason);

    [LoggerMessage(EventId = 6201, Level = LogLevel.Error, Message = "Remote write {Name}: receiver refused a batch of {Samples} samples with HTTP {Status}; dropped: {Body}")]
    public static partial void BatchDropped(ILogger logger, string name, int samples, int status, string body);

    [LoggerMessage(EventId = 6202, Level = LogLevel.Warning, Message = "Remote write {Name}: shard {Shard} send of {Samples} samples failed (attempt {Attempt}: {Failure}); retrying in {DelayMs} ms")]
    public static partial void SendRetry(ILogger logger, string name, int shard, int samples, int attempt, string failure, long delayMs);
}
