namespace Metrics.Coordination.RemoteWrite;

/// <summary>A snapshot of a <see cref="RemoteWriteSender"/>'s counters (also exported as metrics when a registry is set).</summary>
public sealed record RemoteWriteStatistics
{
    /// <summary>Samples read from the WAL and queued for sending.</summary>
    public long SamplesQueued { get; init; }

    /// <summary>Samples the receiver acknowledged (2xx).</summary>
    public long SamplesSent { get; init; }

    /// <summary>Samples in batches the receiver refused with a non-retryable status (4xx; 429 too unless retried), dropped and logged.</summary>
    public long SamplesFailed { get; init; }

    /// <summary>Samples not sent because write relabeling dropped their series or the series is unknown (its Series record is gone from the WAL).</summary>
    public long SamplesDropped { get; init; }

    /// <summary>Sample sends retried after a recoverable failure (5xx, 429, network), counted per attempt.</summary>
    public long SamplesRetried { get; init; }

    /// <summary>Samples read again after a restart and skipped because they had been acknowledged before.</summary>
    public long SamplesSkippedAsSent { get; init; }

    /// <summary>Samples queued and not yet acknowledged or dropped.</summary>
    public long SamplesPending { get; init; }

    /// <summary>Requests acknowledged.</summary>
    public long BatchesSent { get; init; }

    /// <summary>Requests dropped after a non-retryable status.</summary>
    public long BatchesFailed { get; init; }

    /// <summary>Compressed bytes acknowledged.</summary>
    public long BytesSent { get; init; }

    /// <summary>Shards running now.</summary>
    public int Shards { get; init; }

    /// <summary>Shards the last calculation asked for.</summary>
    public int DesiredShards { get; init; }

    /// <summary>The newest sample timestamp read from the WAL (ms), or <see cref="long.MinValue"/>.</summary>
    public long HighestReadTimestampMs { get; init; }

    /// <summary>The newest sample timestamp acknowledged (ms), or <see cref="long.MinValue"/>.</summary>
    public long HighestSentTimestampMs { get; init; }

    /// <summary>WAL segments that were deleted before the sender read them (their samples are lost to this receiver).</summary>
    public long SegmentsMissed { get; init; }

    /// <summary>WAL segments in which reading stopped at corruption before their end.</summary>
    public long SegmentCorruptions { get; init; }

    /// <summary>The persisted WAL segment: every sample before <see cref="CommittedOffset"/> in it is acknowledged.</summary>
    public int CommittedSegment { get; init; }

    /// <summary>The persisted offset in <see cref="CommittedSegment"/>.</summary>
    public long CommittedOffset { get; init; }
}
