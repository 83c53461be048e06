using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.RemoteWrite;

/// <summary>Remote-write log messages; event IDs 6000–6999 belong to this package (6000s sender, 6100s WAL watcher, 6200s sending).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Remote write {Name} to {Url} started at WAL segment {Segment} offset {Offset}")]
    public static partial void Started(ILogger logger, string name, string url, int segment, long offset);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Remote write {Name} stopped at WAL segment {Segment} offset {Offset}")]
    public static partial void Stopped(ILogger logger, string name, int segment, long offset);
}
