using Metrics.Coordination.Registry;

namespace Metrics.Coordination.RemoteWrite;

/// <summary>The sender's own metrics in a <see cref="MetricRegistry"/>, labelled <c>remote_name</c>.</summary>
internal sealed class SelfMetrics : IDisposable
{
    private readonly MetricRegistry _registry;
    private readonly CounterSeries _bytesSent;
    private readonly GaugeSeries _highestSent;
    private readonly GaugeSeries _highestRead;
    private readonly CounterSeries _samplesSent;
    private readonly CounterSeries _samplesQueued;
    private readonly CounterSeries _samplesDropped;

    private static readonly string[] Names =
    [
        "remote_write_samples_total", "remote_write_samples_failed_total", "remote_write_samples_dropped_total",
        "remote_write_samples_retried_total", "remote_write_samples_pending", "remote_write_shards",
        "remote_write_shards_desired", "remote_write_highest_sent_timestamp_seconds",
        "remote_write_highest_read_timestamp_seconds", "remote_write_bytes_total", "remote_write_samples_in_total",
    ];

    public SelfMetrics(MetricRegistry registry, string name)
    {
        _registry = registry;
        _samplesSent = registry.CreateCounter(Names[0], "Samples acknowledged by the remote-write receiver.", "remote_name").WithLabels(name);
        SamplesFailed = registry.CreateCounter(Names[1], "Samples in batches the receiver refused with a non-retryable status; dropped.", "remote_name").WithLabels(name);
        _samplesDropped = registry.CreateCounter(Names[2], "Samples not sent because their series is unknown.", "remote_name").WithLabels(name);
        SamplesRetried = registry.CreateCounter(Names[3], "Samples whose send failed recoverably and was retried, per attempt.", "remote_name").WithLabels(name);
        Pending = registry.CreateGauge(Names[4], "Samples queued and not yet acknowledged.", "remote_name").WithLabels(name);
        Shards = registry.CreateGauge(Names[5], "Shards running.", "remote_name").WithLabels(name);
        DesiredShards = registry.CreateGauge(Names[6], "Shards the last calculation asked for.", "remote_name").WithLabels(name);
        _highestSent = registry.CreateGauge(Names[7], "Timestamp of the newest sample acknowledged, in seconds.", "remote_name").WithLabels(name);
        _highestRead = registry.CreateGauge(Names[8], "Timestamp of the newest sample read from the WAL, in seconds.", "remote_name").WithLabels(name);
        _bytesSent = registry.CreateCounter(Names[9], "Compressed request bytes acknowledged.", "remote_name").WithLabels(name);
        _samplesQueued = registry.CreateCounter(Names[10], "Samples read from the WAL and queued.", "remote_name").WithLabels(name);
    }

    public CounterSeries SamplesFailed { get; }

    public CounterSeries SamplesRetried { get; }

    public GaugeSeries Pending { get; }

    public GaugeSeries Shards { get; }

    public GaugeSeries DesiredShards { get; }

    public void Sent(int count, int bytes, long highestMs)
    {
        _samplesSent.Inc(count);
        _bytesSent.Inc(bytes);
        _highestSent.Set(highestMs / 1000.0);
    }

    public void Read(long queued, long dropped, long highestMs)
    {
        _samplesQueued.Inc(queued);
        _samplesDropped.Inc(dropped);
        Pending.Inc(queued);
        if (highestMs != long.MinValue)
        {
            _highestRead.Set(Math.Max(_highestRead.Value, highestMs / 1000.0));
        }
    }

    public void Dispose()
    {
        foreach (var name in Names)
        {
            _registry.Unregister(name);
        }
    }
}
