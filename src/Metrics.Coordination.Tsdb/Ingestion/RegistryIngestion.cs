using System.Buffers;
using System.Globalization;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Tsdb.Scrape;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Tsdb.Ingestion;

/// <summary>Settings of a <see cref="RegistryIngestion"/>.</summary>
public sealed class RegistryIngestionOptions
{
    /// <summary>How often the registry is collected. Ticks fall on multiples of the interval since the Unix epoch. Default: 15 s.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The <c>job</c> label of every sample. Default: <c>self</c>.</summary>
    public string Job { get; init; } = "self";

    /// <summary>The <c>instance</c> label of every sample. Default: <c>localhost</c>.</summary>
    public string Instance { get; init; } = "localhost";

    /// <summary>More target labels added to every sample (as static_config labels are). Default: none.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>Clock for the schedule. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logging. Default: none.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}

/// <summary>
/// Collects a <see cref="MetricRegistry"/> into storage at a fixed interval, in process: it walks the registry's
/// series directly (no exposition text, no HTTP) and appends what a Prometheus scrape of the registry's OpenMetrics
/// endpoint would store: the same series names (<c>_total</c>, <c>_created</c>, <c>_bucket</c> with OpenMetrics
/// <c>le</c> spelling, <c>_sum</c>, <c>_count</c>, quantiles, <c>_info</c>, state sets), the <c>job</c> and
/// <c>instance</c> labels (clashing registry labels become <c>exported_*</c>), the synthetic series (<c>up</c>,
/// <c>scrape_duration_seconds</c>, <c>scrape_samples_scraped</c>, <c>scrape_samples_post_metric_relabeling</c>,
/// <c>scrape_series_added</c>), and staleness markers for series that disappear. Timestamps are the scheduled tick
/// times (jitter-free), so timestamp deltas compress to one bit. A steady tick allocates nothing per series.
/// </summary>
public sealed class RegistryIngestion : IAsyncDisposable
{
    private static readonly string[] ReportNames = ["up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"];

    private readonly MetricRegistry _registry;
    private readonly IAppendable _storage;
    private readonly RegistryIngestionOptions _options;
    private readonly ILogger _logger;
    private readonly Labels _targetLabels;
    private readonly Dictionary<MetricSeries, SeriesState> _series = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Metric, MetricState> _metrics = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Labels, Entry> _collected = [];
    private readonly Entry[] _report;
    private readonly object _tickLock = new();
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private long _tick;
    private long _lastTimestamp = long.MinValue;
    private long[] _counts = new long[16];
    private readonly List<MetricSeries> _seriesBuffer = [];

    /// <summary>Creates the ingestion; call <see cref="StartAsync"/> to run it on its schedule, or <see cref="CollectOnce"/> to drive it.</summary>
    public RegistryIngestion(MetricRegistry registry, IAppendable storage, RegistryIngestionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(storage);
        options ??= new RegistryIngestionOptions();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.Interval, TimeSpan.Zero, nameof(options));
        ArgumentException.ThrowIfNullOrEmpty(options.Job, nameof(options));
        ArgumentException.ThrowIfNullOrEmpty(options.Instance, nameof(options));
        _registry = registry;
        _storage = storage;
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<RegistryIngestion>();
        var target = new Dictionary<string, string>(options.Labels, StringComparer.Ordinal) { ["job"] = options.Job, ["instance"] = options.Instance };
        _targetLabels = Abstractions.Labels.From([.. target.Where(kv => kv.Value.Length > 0).Select(kv => new Label(kv.Key, kv.Value))]);
        _report = [.. ReportNames.Select(n => new Entry { Labels = ScrapeLoop.MutateSampleLabels(Abstractions.Labels.FromStrings(Abstractions.Labels.MetricName, n), _targetLabels, honorLabels: false) })];
    }

    /// <summary>Ticks so far.</summary>
    public long Ticks => Interlocked.Read(ref _tick);

    /// <summary>Starts collecting at every multiple of the interval.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("Already started.");
        }

        _stop = new CancellationTokenSource();
        _loop = RunAsync(_stop.Token);
        return Task.CompletedTask;
    }

    /// <summary>Stops the schedule and waits for a running tick.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_stop is null || _loop is null)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops (see <see cref="StopAsync"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop?.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var time = _options.TimeProvider;
        var intervalMs = (long)_options.Interval.TotalMilliseconds;
        while (!cancellationToken.IsCancellationRequested)
        {
            var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
            var next = ((nowMs / intervalMs) + 1) * intervalMs;
            await Task.Delay(TimeSpan.FromMilliseconds(next - nowMs), time, cancellationToken).ConfigureAwait(false);
            try
            {
                CollectOnce(next);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                ScrapeLog.IngestionFailed(_logger, ex.Message, ex);
            }
        }
    }

    /// <summary>One tick: collects the registry and appends every sample at <paramref name="timestampMs"/>, then commits.</summary>
    public void CollectOnce(long timestampMs)
    {
        lock (_tickLock)
        {
            if (timestampMs <= _lastTimestamp)
            {
                throw new ArgumentOutOfRangeException(nameof(timestampMs), timestampMs, "Ticks must move forward in time.");
            }

            var start = _options.TimeProvider.GetTimestamp();
            var tick = _tick + 1;
            var ctx = new TickContext(_storage.Appender(), timestampMs, tick);
            _registry.PrepareCollect();
            foreach (var metric in _registry.Metrics)
            {
                CollectMetric(ref ctx, metric);
            }

            foreach (var family in _registry.CollectCollectorFamilies())
            {
                foreach (var sample in family.Samples)
                {
                    var labels = sample.Labels.With(Abstractions.Labels.MetricName, sample.Name);
                    if (!_collected.TryGetValue(labels, out var entry))
                    {
                        entry = new Entry { Labels = Final(labels) };
                        _collected[labels] = entry;
                        ctx.SeriesAdded++;
                    }

                    Append(ref ctx, entry, sample.Value);
                }
            }

            // Staleness: series the previous tick appended and this one did not.
            MarkStale(ref ctx);

            var duration = _options.TimeProvider.GetElapsedTime(start).TotalSeconds;
            ReadOnlySpan<double> values = [1, duration, ctx.Samples, ctx.Samples, ctx.SeriesAdded];
            for (var i = 0; i < _report.Length; i++)
            {
                Append(ref ctx, _report[i], values[i]);
            }

            ctx.Appender.Commit();
            _tick = tick;
            _lastTimestamp = timestampMs;
            if (ctx.Refused > 0)
            {
                ScrapeLog.IngestionSamplesRefused(_logger, ctx.Refused, ctx.FirstRefusal ?? string.Empty);
            }
        }
    }

    private void CollectMetric(ref TickContext ctx, Metric metric)
    {
        if (!metric.HasSeries)
        {
            return;
        }

        if (!_metrics.TryGetValue(metric, out var ms))
        {
            ms = MetricState.For(metric);
            _metrics[metric] = ms;
        }

        switch (metric)
        {
            case Counter counter:
                foreach (var s in Series<CounterSeries>(counter))
                {
                    var st = State(ref ctx, ms, s, 2);
                    Append(ref ctx, st.Entries[0], s.Value);
                    Append(ref ctx, st.Entries[1], s.CreatedMs / 1000.0);
                }

                break;
            case Gauge gauge:
                foreach (var s in Series<GaugeSeries>(gauge))
                {
                    Append(ref ctx, State(ref ctx, ms, s, 1).Entries[0], s.Value);
                }

                break;
            case Histogram histogram:
                var bounds = ms.Bounds.Length;
                if (_counts.Length < bounds)
                {
                    _counts = new long[bounds];
                }

                foreach (var s in Series<HistogramSeries>(histogram))
                {
                    var st = State(ref ctx, ms, s, bounds + 3);
                    var total = s.CopyCumulativeCounts(_counts);
                    var sum = s.Sum;
                    for (var i = 0; i < bounds; i++)
                    {
                        Append(ref ctx, st.Entries[i], _counts[i]);
                    }

                    Append(ref ctx, st.Entries[bounds], sum);
                    Append(ref ctx, st.Entries[bounds + 1], total);
                    Append(ref ctx, st.Entries[bounds + 2], s.CreatedMs / 1000.0);
                }

                break;
            case Summary summary:
                var quantiles = ms.Bounds.Length;
                foreach (var s in Series<SummarySeries>(summary))
                {
                    var st = State(ref ctx, ms, s, quantiles + 3);
                    for (var i = 0; i < quantiles; i++)
                    {
                        Append(ref ctx, st.Entries[i], s.Quantile(summary.Objectives[i].Quantile));
                    }

                    Append(ref ctx, st.Entries[quantiles], s.Sum);
                    Append(ref ctx, st.Entries[quantiles + 1], s.Count);
                    Append(ref ctx, st.Entries[quantiles + 2], s.CreatedMs / 1000.0);
                }

                break;
            case Info info:
                foreach (var s in Series<InfoSeries>(info))
                {
                    Append(ref ctx, State(ref ctx, ms, s, 1).Entries[0], 1);
                }

                break;
            case StateSet stateSet:
                foreach (var s in Series<StateSetSeries>(stateSet))
                {
                    var st = State(ref ctx, ms, s, stateSet.States.Count);
                    for (var i = 0; i < stateSet.States.Count; i++)
                    {
                        Append(ref ctx, st.Entries[i], s.IsActive(stateSet.States[i]) ? 1 : 0);
                    }
                }

                break;
        }
    }

    /// <summary>The metric's live series, through a reused buffer (no allocation per tick once it has grown).</summary>
    private SeriesEnumerable<TSeries> Series<TSeries>(Metric<TSeries> metric)
        where TSeries : MetricSeries
    {
        _seriesBuffer.Clear();
        metric.CopySeriesTo(_seriesBuffer);
        return new SeriesEnumerable<TSeries>(_seriesBuffer);
    }

    private readonly struct SeriesEnumerable<TSeries>(List<MetricSeries> list)
        where TSeries : MetricSeries
    {
        public Enumerator GetEnumerator() => new(list);

        public struct Enumerator(List<MetricSeries> list)
        {
            private int _index = -1;

            public readonly TSeries Current => (TSeries)list[_index];

            public bool MoveNext() => ++_index < list.Count;
        }
    }

    private SeriesState State(ref TickContext ctx, MetricState ms, MetricSeries series, int samples)
    {
        if (_series.TryGetValue(series, out var state) && state.Entries.Length == samples)
        {
            return state;
        }

        // First sight: the sample label sets, as a scrape of the OpenMetrics exposition would store them.
        var baseLabels = new List<Label>(series.LabelValuesArray.Length + 2);
        var names = series.Metric.LabelNamesArray;
        for (var i = 0; i < names.Length; i++)
        {
            baseLabels.Add(new Label(names[i], series.LabelValuesArray[i]));
        }

        if (series.IsOverflow)
        {
            baseLabels.Clear();
            baseLabels.Add(new Label(Metric.OverflowLabelName, "true"));
        }

        var entries = new Entry[samples];
        for (var i = 0; i < samples; i++)
        {
            var (name, extraName, extraValue) = ms.Sample(i);
            var list = new List<Label>(baseLabels) { new(Abstractions.Labels.MetricName, name) };
            if (extraName is not null)
            {
                list.Add(new Label(extraName, extraValue!));
            }

            entries[i] = new Entry { Labels = Final(Abstractions.Labels.From(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list))) };
        }

        state = new SeriesState(entries);
        _series[series] = state;
        ctx.SeriesAdded += samples;
        return state;
    }

    private Labels Final(Labels exposed)
    {
        var labels = ScrapeLoop.MutateSampleLabels(exposed, _targetLabels, honorLabels: false);
        foreach (var l in labels.AsSpan())
        {
            if (l.Value.Length == 0)
            {
                return Abstractions.Labels.From([.. labels.Where(x => x.Value.Length > 0)]);
            }
        }

        return labels;
    }

    private static void Append(ref TickContext ctx, Entry entry, double value)
    {
        try
        {
            entry.Ref = ctx.Appender.Append(new AppendRequest { Ref = entry.Ref, Labels = entry.Labels, TimestampMs = ctx.TimestampMs, Value = value });
        }
        catch (StorageException ex)
        {
            ctx.Refused++;
            ctx.FirstRefusal ??= $"{ex.Message} (series {entry.Labels})";
        }

        entry.Seen = ctx.Tick;
        ctx.Samples++;
    }

    private void MarkStale(ref TickContext ctx)
    {
        var previous = ctx.Tick - 1;
        List<MetricSeries>? goneSeries = null;
        foreach (var (series, state) in _series)
        {
            if (state.Entries[0].Seen != ctx.Tick)
            {
                foreach (var e in state.Entries)
                {
                    if (e.Seen == previous)
                    {
                        AppendStale(ref ctx, e);
                    }
                }

                (goneSeries ??= []).Add(series);
            }
        }

        if (goneSeries is not null)
        {
            foreach (var s in goneSeries)
            {
                _series.Remove(s);
            }
        }

        List<Labels>? goneCollected = null;
        foreach (var (key, e) in _collected)
        {
            if (e.Seen != ctx.Tick)
            {
                if (e.Seen == previous)
                {
                    AppendStale(ref ctx, e);
                }

                (goneCollected ??= []).Add(key);
            }
        }

        if (goneCollected is not null)
        {
            foreach (var k in goneCollected)
            {
                _collected.Remove(k);
            }
        }

        List<Metric>? goneMetrics = null;
        foreach (var m in _metrics.Keys)
        {
            if (!m.HasSeries && !_registry.Metrics.Contains(m))
            {
                (goneMetrics ??= []).Add(m);
            }
        }

        goneMetrics?.ForEach(m => _metrics.Remove(m));
    }

    private static void AppendStale(ref TickContext ctx, Entry e)
    {
        try
        {
            ctx.Appender.Append(new AppendRequest { Ref = e.Ref, Labels = e.Labels, TimestampMs = ctx.TimestampMs, Value = StaleMarker.Value });
        }
        catch (StorageException)
        {
        }
    }

    private struct TickContext(IAppender appender, long timestampMs, long tick)
    {
        public readonly IAppender Appender = appender;
        public readonly long TimestampMs = timestampMs;
        public readonly long Tick = tick;
        public int Samples;
        public int SeriesAdded;
        public int Refused;
        public string? FirstRefusal;
    }

    private sealed class Entry
    {
        public required Labels Labels;
        public SeriesRef Ref;
        public long Seen;
    }

    private sealed class SeriesState(Entry[] entries)
    {
        public Entry[] Entries => entries;
    }

    /// <summary>Per-metric sample names and bound labels, as the OpenMetrics exposition spells them.</summary>
    private sealed class MetricState
    {
        public required string[] Names { get; init; }

        public string? BoundLabel { get; init; }

        public string[] Bounds { get; init; } = [];

        // With a bound label, samples are [bounded..., then Names[1..]]; without, one per name.
        public (string Name, string? ExtraName, string? ExtraValue) Sample(int i) =>
            BoundLabel is null ? (Names[i], null, null)
            : i < Bounds.Length ? (Names[0], BoundLabel, Bounds[i])
            : (Names[1 + i - Bounds.Length], null, null);

        public static MetricState For(Metric metric)
        {
            var name = metric.Name;
            switch (metric)
            {
                case Counter:
                    return new MetricState { Names = [name + "_total", name + "_created"] };
                case Histogram h:
                    return new MetricState
                    {
                        Names = [name + "_bucket", name + "_sum", name + "_count", name + "_created"],
                        BoundLabel = "le",
                        Bounds = [.. h.Buckets.Select(b => BoundText("le", b)), "+Inf"],
                    };
                case Summary s:
                    return new MetricState
                    {
                        Names = [name, name + "_sum", name + "_count", name + "_created"],
                        BoundLabel = "quantile",
                        Bounds = [.. s.Objectives.Select(o => BoundText("quantile", o.Quantile))],
                    };
                case Info:
                    return new MetricState { Names = [name + "_info"] };
                case StateSet ss:
                    return new MetricState { Names = [name], BoundLabel = name, Bounds = [.. ss.States] };
                default:
                    return new MetricState { Names = [name] };
            }
        }

        private static string BoundText(string label, double bound)
        {
            // The exact OpenMetrics spelling of the bound (1.0, 0.25, +Inf), taken from the writer that scrapes use.
            var pair = Encoding.UTF8.GetString(ExpositionWriter.EncodeBoundPair(label, bound, ExpositionFormat.OpenMetrics));
            var open = pair.IndexOf('"', StringComparison.Ordinal);
            return pair[(open + 1)..pair.LastIndexOf('"')];
        }
    }
}
