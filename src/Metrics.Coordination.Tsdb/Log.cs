using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Tsdb;

/// <summary>TSDB log messages; event IDs 2000–2999 belong to this package (2000s database, 2100s WAL, 2200s blocks; 2230–2299 compaction, retention and deletion).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "TSDB opened at {Directory}: {Series} series, {Samples} samples replayed from the WAL in {ElapsedMs} ms, {Blocks} blocks")]
    public static partial void Opened(ILogger logger, string directory, long series, long samples, long elapsedMs, int blocks);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "TSDB background fsync failed")]
    public static partial void FsyncFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Removed leftover directory {Path}")]
    public static partial void RemovedLeftover(ILogger logger, string path);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "TSDB background compaction failed; the head keeps its data and the next interval retries")]
    public static partial void CompactionFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "TSDB opened read-only at {Directory}: {Series} series, {Samples} samples replayed from the WAL in {ElapsedMs} ms, {Blocks} blocks, {Warnings} warnings")]
    public static partial void OpenedReadOnly(ILogger logger, string directory, long series, long samples, long elapsedMs, int blocks, int warnings);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Warning, Message = "Read-only open of {Directory}: {Warning}")]
    public static partial void ReadOnlyOpenWarning(ILogger logger, string directory, string warning);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "WAL corruption in segment {Segment} at offset {Offset}: {Reason}; truncated there, {DeletedSegments} later segments deleted")]
    public static partial void WalCorruption(ILogger logger, int segment, long offset, string reason, int deletedSegments);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "WAL record of unknown type {Type} in segment {Segment} skipped")]
    public static partial void WalUnknownRecord(ILogger logger, int type, int segment);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "WAL checkpoint {Checkpoint} written: {Series} series, {Samples} samples kept; segments up to {Last} removed")]
    public static partial void WalCheckpoint(ILogger logger, string checkpoint, int series, long samples, int last);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "WAL replay: {Count} samples for unknown series references skipped")]
    public static partial void WalUnknownSeries(ILogger logger, long count);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Block {Ulid} written: [{MinTime}, {MaxTime}), {Series} series, {Samples} samples, {Chunks} chunks")]
    public static partial void BlockWritten(ILogger logger, string ulid, long minTime, long maxTime, long series, long samples, long chunks);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Error, Message = "Block {Path} is corrupt and left out of queries")]
    public static partial void BlockCorrupt(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 2230, Level = LogLevel.Information, Message = "Compacted {Parents} blocks into {Ulid}: [{MinTime}, {MaxTime}), level {Level}, {Series} series, {Samples} samples")]
    public static partial void BlocksCompacted(ILogger logger, string ulid, long minTime, long maxTime, int level, int parents, long series, long samples);

    [LoggerMessage(EventId = 2231, Level = LogLevel.Information, Message = "Block {Ulid} was already merged into a newer block (or marked deletable) and is removed")]
    public static partial void MergedParentRemoved(ILogger logger, string ulid);

    [LoggerMessage(EventId = 2232, Level = LogLevel.Information, Message = "Retention ({Reason}) deleted block {Ulid} [{MinTime}, {MaxTime}), {Bytes} bytes")]
    public static partial void RetentionDeleted(ILogger logger, string ulid, long minTime, long maxTime, string reason, long bytes);

    [LoggerMessage(EventId = 2233, Level = LogLevel.Information, Message = "Deleted [{MinTime}, {MaxTime}]: tombstones for {BlockSeries} block series and {HeadSeries} head series")]
    public static partial void Deleted(ILogger logger, long minTime, long maxTime, int blockSeries, int headSeries);

    [LoggerMessage(EventId = 2234, Level = LogLevel.Error, Message = "Block compaction failed; the input blocks stay and the next compaction retries")]
    public static partial void BlockCompactionFailed(ILogger logger, Exception exception);
}
