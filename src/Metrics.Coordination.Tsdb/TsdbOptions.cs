using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Tsdb;

/// <summary>When the write-ahead log is fsynced. Every policy hands each committed batch to the operating system before <c>Commit</c> returns, so a killed process loses nothing; the policy decides what a power loss can take.</summary>
public enum WalFsyncPolicy
{
    /// <summary>fsync before every <c>Commit</c> returns: nothing committed is lost even on power failure; slowest.</summary>
    PerCommit,

    /// <summary>fsync on a timer (<see cref="TsdbOptions.WalFsyncInterval"/>) and when a segment is completed: a power failure loses at most the last interval.</summary>
    Interval,

    /// <summary>Never fsync explicitly (segments are still fsynced when completed, as Prometheus does); the operating system writes back when it likes.</summary>
    None,
}

/// <summary>Settings of a <see cref="TimeSeriesDatabase"/>, validated and copied when it opens.</summary>
public sealed class TsdbOptions
{
    /// <summary>Prometheus's WAL segment size, 128 MiB.</summary>
    public const int DefaultWalSegmentSize = 128 * 1024 * 1024;

    /// <summary>The WAL page size (Prometheus's, fixed by the format).</summary>
    internal const int WalPageSize = 32 * 1024;

    /// <summary>
    /// The data directory (blocks, <c>wal/</c>), created if missing. Null (the default) keeps everything in memory:
    /// no WAL, no blocks.
    /// </summary>
    public string? Directory { get; set; }

    /// <summary>The block range: chunks never cross a multiple of it and blocks cover one range each. Default 2 h (Prometheus's); a whole number of milliseconds.</summary>
    public TimeSpan BlockDuration { get; set; } = TimeSpan.FromHours(2);

    /// <summary>When the WAL is fsynced. Default <see cref="WalFsyncPolicy.Interval"/>.</summary>
    public WalFsyncPolicy WalFsyncPolicy { get; set; } = WalFsyncPolicy.Interval;

    /// <summary>The fsync period for <see cref="WalFsyncPolicy.Interval"/>. Default 1 s.</summary>
    public TimeSpan WalFsyncInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>WAL segment size in bytes: a multiple of 32 KiB, at least 64 KiB. Default 128 MiB (Prometheus's).</summary>
    public int WalSegmentSize { get; set; } = DefaultWalSegmentSize;

    /// <summary>
    /// How often the head is checked for ranges to persist as blocks (see <see cref="TimeSeriesDatabase.Compact"/>),
    /// as Prometheus does every minute. Default 1 min; <see cref="TimeSpan.Zero"/> turns the background check off.
    /// </summary>
    public TimeSpan CompactionInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Time retention: after each compaction, blocks whose maxTime is this far or more behind the newest block's are
    /// deleted (Prometheus's <c>--storage.tsdb.retention.time</c>). Also sets the largest compacted block: 10 % of it,
    /// at most 31 d. Default 15 d; <see cref="TimeSpan.Zero"/> turns time retention off (blocks then grow to 31 d).
    /// </summary>
    public TimeSpan RetentionTime { get; set; } = TimeSpan.FromDays(15);

    /// <summary>
    /// Size retention in bytes: after each compaction, the oldest blocks are deleted while the WAL plus all blocks
    /// (chunks, index, tombstones, meta.json) exceed it (Prometheus's <c>--storage.tsdb.retention.size</c>). Default 0: off.
    /// </summary>
    public long RetentionSize { get; set; }

    /// <summary>
    /// Prometheus's <c>out_of_order_time_window</c>: a sample older than its series' newest is accepted when it is no
    /// more than this behind the head's newest sample (and not in a range already persisted as a block), stored apart
    /// from the in-order chunks, merged into query results and into the block at compaction, and restored by WAL
    /// replay. Refused out-of-order samples are counted (<see cref="TsdbStatistics.OutOfOrderSamples"/>), accepted ones
    /// too (<see cref="TsdbStatistics.OutOfOrderSamplesAppended"/>). Of two samples with the same timestamp the first
    /// stays. Default <see cref="TimeSpan.Zero"/>: off (every older sample is refused), as in Prometheus.
    /// </summary>
    public TimeSpan OutOfOrderTimeWindow { get; set; }

    /// <summary>Where logs go. Default: nowhere.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>The clock (block ULIDs, fsync timer). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal void Validate()
    {
        if (BlockDuration <= TimeSpan.Zero || BlockDuration.Ticks % TimeSpan.TicksPerMillisecond != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(BlockDuration), BlockDuration, "The block duration must be a positive whole number of milliseconds.");
        }

        if (WalSegmentSize < 2 * WalPageSize || WalSegmentSize % WalPageSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(WalSegmentSize), WalSegmentSize, "The WAL segment size must be a multiple of 32 KiB and at least 64 KiB.");
        }

        if (WalFsyncPolicy == WalFsyncPolicy.Interval && WalFsyncInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(WalFsyncInterval), WalFsyncInterval, "The fsync interval must be positive.");
        }

        if (CompactionInterval < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(CompactionInterval), CompactionInterval, "The compaction interval must not be negative.");
        }

        if (RetentionTime < TimeSpan.Zero || RetentionTime.Ticks % TimeSpan.TicksPerMillisecond != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(RetentionTime), RetentionTime, "The retention time must be zero (off) or a positive whole number of milliseconds.");
        }

        if (OutOfOrderTimeWindow < TimeSpan.Zero || OutOfOrderTimeWindow.Ticks % TimeSpan.TicksPerMillisecond != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(OutOfOrderTimeWindow), OutOfOrderTimeWindow, "The out-of-order window must be zero (off) or a positive whole number of milliseconds.");
        }

        if (RetentionSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(RetentionSize), RetentionSize, "The retention size must not be negative (0 turns it off).");
        }

        if (!Enum.IsDefined(WalFsyncPolicy))
        {
            throw new ArgumentOutOfRangeException(nameof(WalFsyncPolicy), WalFsyncPolicy, "Unknown fsync policy.");
        }

        ArgumentNullException.ThrowIfNull(LoggerFactory);
        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
