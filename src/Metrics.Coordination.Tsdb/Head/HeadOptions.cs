namespace Metrics.Coordination.Tsdb.Head;

/// <summary>The head's fixed settings, copied from <see cref="TsdbOptions"/> when the database opens.</summary>
/// <param name="ChunkRange">Chunks never cross a multiple of this (ms): the block range (2 h by default).</param>
/// <param name="SamplesPerChunk">The target samples per chunk: 120, fixed in Prometheus 2.42.</param>
/// <param name="OutOfOrderWindow">How far (ms) behind the head's newest sample an older-than-newest sample is still accepted; 0 refuses them all.</param>
internal sealed record HeadOptions(long ChunkRange, int SamplesPerChunk = 120, long OutOfOrderWindow = 0)
{
    /// <summary>Prometheus's default block range, 2 h in ms.</summary>
    public const long DefaultBlockRange = 2 * 60 * 60 * 1000;
}

/// <summary>A sample waiting in an appender for commit.</summary>
/// <param name="Series">The series.</param>
/// <param name="T">Timestamp, ms.</param>
/// <param name="V">Value bits.</param>
internal readonly record struct PendingSample(MemSeries Series, long T, ulong V);

/// <summary>What the head needs from its write-ahead log.</summary>
internal interface IHeadLog
{
    /// <summary>
    /// Writes the series records for <paramref name="newSeries"/> and one samples record for
    /// <paramref name="samples"/>, in that order, through to the operating system (so they survive the process
    /// being killed). Called in commit order under the head's commit lock. Returns a token for <see cref="Sync"/>.
    /// </summary>
    long Log(IReadOnlyList<MemSeries> newSeries, IReadOnlyList<PendingSample> samples);

    /// <summary>Writes one Tombstones record for <paramref name="stones"/> (under the head's commit lock); returns a token for <see cref="Sync"/>.</summary>
    long LogTombstones(IReadOnlyList<Records.RefTombstone> stones);

    /// <summary>Makes everything up to <paramref name="token"/> durable if the fsync policy says so (per commit).</summary>
    void Sync(long token);
}

/// <summary>Counters the head keeps (Prometheus's head metrics), read through <see cref="TsdbStatistics"/>.</summary>
internal sealed class HeadCounters
{
    public long SamplesAppended;
    public long SeriesCreated;
    public long SeriesRemoved;
    public long OutOfOrderSamples;
    public long OutOfOrderSamplesAppended;
    public long DuplicateSamples;
    public long OutOfBoundsSamples;
    public long InvalidSamples;
    public long ChunksCreated;
    public long ChunksRemoved;
}
