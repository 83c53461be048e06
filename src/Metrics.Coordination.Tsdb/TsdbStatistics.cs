namespace Metrics.Coordination.Tsdb;

/// <summary>A snapshot of the database's counters and sizes (Prometheus's <c>prometheus_tsdb_*</c> metrics).</summary>
public sealed class TsdbStatistics
{
    internal TsdbStatistics()
    {
    }

    /// <summary>Series in the head.</summary>
    public long HeadSeries { get; init; }

    /// <summary>Oldest sample in the head (ms), or <see cref="long.MaxValue"/> when empty.</summary>
    public long HeadMinTime { get; init; }

    /// <summary>Newest sample in the head (ms), or <see cref="long.MinValue"/> when empty.</summary>
    public long HeadMaxTime { get; init; }

    /// <summary>Samples committed to the head since open (replayed ones excluded).</summary>
    public long SamplesAppended { get; init; }

    /// <summary>Series created since open (replayed ones included).</summary>
    public long SeriesCreated { get; init; }

    /// <summary>Samples refused as out of order (at append, or at commit when another batch got ahead).</summary>
    public long OutOfOrderSamples { get; init; }

    /// <summary>Samples older than their series' newest accepted within <see cref="TsdbOptions.OutOfOrderTimeWindow"/> (WAL replay not included).</summary>
    public long OutOfOrderSamplesAppended { get; init; }

    /// <summary>Samples refused for a duplicate timestamp with a different value.</summary>
    public long DuplicateSamples { get; init; }

    /// <summary>Samples refused as out of bounds.</summary>
    public long OutOfBoundsSamples { get; init; }

    /// <summary>Samples refused for unusable labels.</summary>
    public long InvalidSamples { get; init; }

    /// <summary>WAL records replayed at open.</summary>
    public long WalRecordsReplayed { get; init; }

    /// <summary>Samples restored from the WAL at open.</summary>
    public long WalSamplesReplayed { get; init; }

    /// <summary>Corrupt or torn WAL tails found (and truncated) at open.</summary>
    public long WalCorruptions { get; init; }

    /// <summary>WAL fsyncs since open.</summary>
    public long WalFsyncs { get; init; }

    /// <summary>Persisted blocks currently open.</summary>
    public int Blocks { get; init; }

    /// <summary>Blocks written since open.</summary>
    public long BlocksWritten { get; init; }

    /// <summary>Blocks left out because they failed to open (corrupt).</summary>
    public long BlocksCorrupt { get; init; }

    /// <summary>Background compactions that failed (logged; retried on the next interval).</summary>
    public long CompactionFailures { get; init; }

    /// <summary>Block compactions (leveled, vertical or tombstone-driven) completed since open.</summary>
    public long Compactions { get; init; }

    /// <summary>Blocks deleted by time retention since open.</summary>
    public long TimeRetentionDeletions { get; init; }

    /// <summary>Blocks deleted by size retention since open.</summary>
    public long SizeRetentionDeletions { get; init; }

    /// <summary>Blocks rewritten or removed by <see cref="TimeSeriesDatabase.CleanTombstones"/> since open.</summary>
    public long TombstonesCleaned { get; init; }

    /// <summary>Bytes of the open blocks on disk (chunks, index, tombstones, meta.json).</summary>
    public long BlockBytes { get; init; }

    /// <summary>Series in the head with deleted ranges (tombstones) not yet compacted away.</summary>
    public long HeadTombstones { get; init; }
}
