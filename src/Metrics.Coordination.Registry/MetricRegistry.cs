using System.Buffers;
using System.IO.Pipelines;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Registry;

/// <summary>
/// Holds metrics and writes them as Prometheus text or OpenMetrics. There is no static default registry: create one
/// (or take the one your DI container holds) and pass it where metrics are made.
/// </summary>
public sealed class MetricRegistry
{
    // A scrape hands control back to the async writer this often, so the response can be flushed while large
    // families are still being written instead of buffering the whole body.
    private const int SeriesPerChunk = 1024;

    // Flush once this much is buffered: big enough that small scrapes flush once, small enough that a 100k-series
    // scrape never holds more than a few segments.
    private const int FlushThresholdBytes = 64 * 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Metric> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Metric> _reservedNames = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private readonly NameValidation _validation;
    private Metric[] _sorted = [];
    private CollectorRegistration[] _collectors = [];
    private CallbackRegistration[] _callbacks = [];
    private long _collectorErrors;
    private readonly Counter? _collectorErrorsMetric;
    private readonly Counter? _overflowMetric;

    /// <summary>Creates a registry.</summary>
    public MetricRegistry(MetricRegistryOptions? options = null)
    {
        options ??= new MetricRegistryOptions();
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentNullException.ThrowIfNull(options.LoggerFactory);
        if (options.ExemplarBehavior is not (ExemplarBehavior.None or ExemplarBehavior.TraceContext))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ExemplarBehavior, "Unknown exemplar behavior.");
        }

        if (options.AutomaticExemplarInterval < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.AutomaticExemplarInterval, "The automatic exemplar interval must not be negative.");
        }

        Time = options.TimeProvider;
        _validation = options.NameValidation;
        ExemplarBehavior = options.ExemplarBehavior;
        AutomaticExemplarIntervalTicks = (long)(options.AutomaticExemplarInterval.TotalSeconds * Time.TimestampFrequency);
        _logger = options.LoggerFactory.CreateLogger("Metrics.Coordination.Registry");
        if (options.ExposeSelfMetrics)
        {
            _collectorErrorsMetric = CreateCounter(
                "metrics_coordination_collector_errors_total",
                "Collectors and before-collect callbacks that threw during a scrape.");
            _overflowMetric = CreateCounter(
                "metrics_coordination_cardinality_overflow_total",
                "Label-set lookups redirected to a metric's overflow series because it reached its cardinality limit.",
                new CounterOptions { LabelNames = ["metric"] });
        }
    }

    /// <summary>The registry's clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>How many collectors and callbacks have thrown during scrapes.</summary>
    public long CollectorErrors => Interlocked.Read(ref _collectorErrors);

    /// <summary>The registered metrics, sorted by name.</summary>
    public IReadOnlyList<Metric> Metrics => Volatile.Read(ref _sorted);

    internal long NowMs() => Time.GetUtcNow().ToUnixTimeMilliseconds();

    internal NameValidation NameValidation => _validation;

    /// <summary>The default for metrics whose options leave <c>ExemplarBehavior</c> null.</summary>
    internal ExemplarBehavior ExemplarBehavior { get; }

    /// <summary><see cref="MetricRegistryOptions.AutomaticExemplarInterval"/> in <see cref="Time"/> timestamp ticks.</summary>
    internal long AutomaticExemplarIntervalTicks { get; }

    /// <summary>Creates (or returns the identical existing) counter. <paramref name="name"/> may end in <c>_total</c>; it is the family name without it.</summary>
    public Counter CreateCounter(string name, string help, params string[] labelNames) =>
        CreateCounter(name, help, new CounterOptions { LabelNames = labelNames });

    /// <summary>Creates (or returns the identical existing) counter.</summary>
    public Counter CreateCounter(string name, string help, CounterOptions options)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        var family = name.EndsWith("_total", StringComparison.Ordinal) && name.Length > "_total".Length ? name[..^"_total".Length] : name;
        return Register(family, help, MetricType.Counter, options, string.Empty, () => new Counter(this, family, help, options));
    }

    /// <summary>Creates (or returns the identical existing) gauge.</summary>
    public Gauge CreateGauge(string name, string help, params string[] labelNames) =>
        CreateGauge(name, help, new GaugeOptions { LabelNames = labelNames });

    /// <summary>Creates (or returns the identical existing) gauge.</summary>
    public Gauge CreateGauge(string name, string help, GaugeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Register(name, help, MetricType.Gauge, options, string.Empty, () => new Gauge(this, name, help, options));
    }

    /// <summary>Creates (or returns the identical existing) untyped metric (<c>untyped</c>/<c>unknown</c>), recorded like a gauge.</summary>
    public Gauge CreateUntyped(string name, string help, params string[] labelNames)
    {
        var options = new GaugeOptions { LabelNames = labelNames };
        return Register(name, help, MetricType.Unknown, options, string.Empty, () => new Gauge(this, name, help, options, MetricType.Unknown));
    }

    /// <summary>Creates (or returns the identical existing) histogram.</summary>
    public Histogram CreateHistogram(string name, string help, HistogramOptions? options = null)
    {
        options ??= new HistogramOptions();
        var bounds = Histogram.ValidateBounds(name, options.Buckets);
        foreach (var l in options.LabelNames)
        {
            if (l == "le")
            {
                throw new ArgumentException($"Histogram '{name}' cannot have a label named 'le': it is reserved for bucket bounds.", nameof(options));
            }
        }

        var probe = new Histogram(this, name, help, options, bounds);
        return Register(name, help, MetricType.Histogram, options, probe.Shape, () => probe);
    }

    /// <summary>Creates (or returns the identical existing) histogram with the given label names and default buckets.</summary>
    public Histogram CreateHistogram(string name, string help, params string[] labelNames) =>
        CreateHistogram(name, help, new HistogramOptions { LabelNames = labelNames });

    /// <summary>Creates (or returns the identical existing) summary.</summary>
    public Summary CreateSummary(string name, string help, SummaryOptions? options = null)
    {
        options ??= new SummaryOptions();
        var objectives = Summary.Validate(name, options);
        foreach (var l in options.LabelNames)
        {
            if (l == "quantile")
            {
                throw new ArgumentException($"Summary '{name}' cannot have a label named 'quantile': it is reserved for quantile lines.", nameof(options));
            }
        }

        var probe = new Summary(this, name, help, options, objectives);
        return Register(name, help, MetricType.Summary, options, probe.Shape, () => probe);
    }

    /// <summary>Creates (or returns the identical existing) info metric. <paramref name="name"/> may end in <c>_info</c>.</summary>
    public Info CreateInfo(string name, string help, params string[] labelNames)
    {
        ArgumentNullException.ThrowIfNull(name);
        var family = name.EndsWith("_info", StringComparison.Ordinal) && name.Length > "_info".Length ? name[..^"_info".Length] : name;
        var options = new MetricOptions { LabelNames = labelNames };
        return Register(family, help, MetricType.Info, options, string.Empty, () => new Info(this, family, help, options));
    }

    /// <summary>Creates (or returns the identical existing) state set with the given states.</summary>
    public StateSet CreateStateSet(string name, string help, IReadOnlyList<string> states, params string[] labelNames)
    {
        ArgumentNullException.ThrowIfNull(states);
        if (states.Count == 0 || states.Distinct(StringComparer.Ordinal).Count() != states.Count || states.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException($"State set '{name}' needs one or more distinct, non-empty states.", nameof(states));
        }

        if (labelNames.Contains(name, StringComparer.Ordinal))
        {
            throw new ArgumentException($"State set '{name}' cannot have a label named '{name}': that label carries the state.", nameof(labelNames));
        }

        var options = new MetricOptions { LabelNames = labelNames };
        var probe = new StateSet(this, name, help, options, [.. states]);
        return Register(name, help, MetricType.StateSet, options, probe.Shape, () => probe);
    }

    /// <summary>Removes a metric by family name; returns whether it existed.</summary>
    public bool Unregister(string name)
    {
        lock (_lock)
        {
            if (!_byName.Remove(name, out var metric))
            {
                return false;
            }

            foreach (var reserved in metric.ReservedNames)
            {
                _reservedNames.Remove(reserved);
            }

            Volatile.Write(ref _sorted, _sorted.Where(m => !ReferenceEquals(m, metric)).ToArray());
            return true;
        }
    }

    /// <summary>
    /// Adds a collector called on every scrape; it returns whole families computed then (values read from elsewhere).
    /// A collector that throws is logged and counted and its families are left out; the rest of the scrape succeeds.
    /// Dispose the result to remove the collector.
    /// </summary>
    public IDisposable AddCollector(string name, Func<IEnumerable<MetricFamily>> collect)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(collect);
        var registration = new CollectorRegistration(this, name, collect);
        lock (_lock)
        {
            _collectors = [.. _collectors, registration];
        }

        return registration;
    }

    /// <summary>
    /// Adds a callback run at the start of every scrape, typically to set gauges from another source. Exceptions are
    /// logged and counted and the scrape goes on. Dispose the result to remove it.
    /// </summary>
    public IDisposable AddBeforeCollectCallback(string name, Action callback)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(callback);
        var registration = new CallbackRegistration(this, name, callback);
        lock (_lock)
        {
            _callbacks = [.. _callbacks, registration];
        }

        return registration;
    }

    /// <summary>Writes every metric into <paramref name="output"/> in one go.</summary>
    public void WriteTo(IBufferWriter<byte> output, ExpositionFormat format = ExpositionFormat.PrometheusText, NameEscaping escaping = NameEscaping.Underscores)
    {
        ArgumentNullException.ThrowIfNull(output);
        var writer = BeginScrape(output, format, escaping);
        foreach (var metric in Volatile.Read(ref _sorted))
        {
            WriteMetric(writer, metric, format, escaping, chunked: false);
        }

        EndScrape(writer);
    }

    /// <summary>
    /// Writes every metric into <paramref name="output"/>, flushing as the buffered output grows so large registries
    /// stream instead of being held whole in memory. Completes with a final flush.
    /// </summary>
    public async ValueTask WriteToAsync(PipeWriter output, ExpositionFormat format = ExpositionFormat.PrometheusText, NameEscaping escaping = NameEscaping.Underscores, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        var writer = BeginScrape(output, format, escaping);
        foreach (var metric in Volatile.Read(ref _sorted))
        {
            var cursor = WriteMetric(writer, metric, format, escaping, chunked: true);
            while (cursor >= 0)
            {
                await FlushIfLargeAsync(output, cancellationToken).ConfigureAwait(false);
                cursor = metric.WriteSeries(writer, metric.GetEncoding(format, escaping), cursor, SeriesPerChunk);
            }

            await FlushIfLargeAsync(output, cancellationToken).ConfigureAwait(false);
        }

        EndScrape(writer);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Returns the whole exposition as a string (for tests and diagnostics; scrapes should use the writer overloads).</summary>
    public string ToText(ExpositionFormat format = ExpositionFormat.PrometheusText, NameEscaping escaping = NameEscaping.Underscores)
    {
        var buffer = new ArrayBufferWriter<byte>();
        WriteTo(buffer, format, escaping);
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static async ValueTask FlushIfLargeAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        if (!output.CanGetUnflushedBytes || output.UnflushedBytes >= FlushThresholdBytes)
        {
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private ExpositionWriter BeginScrape(IBufferWriter<byte> output, ExpositionFormat format, NameEscaping escaping)
    {
        PrepareCollect();
        return new ExpositionWriter(output, format, escaping);
    }

    /// <summary>What every collection does first (a scrape, or the TSDB's in-process ingestion): before-collect callbacks, then the label-set expiry sweep.</summary>
    internal void PrepareCollect()
    {
        foreach (var cb in Volatile.Read(ref _callbacks))
        {
            try
            {
                cb.Callback();
            }
            catch (Exception ex)
            {
                Log.CallbackFailed(_logger, cb.Name, ex);
                CountCollectorError();
            }
        }

        var now = NowMs();
        foreach (var metric in Volatile.Read(ref _sorted))
        {
            if (metric.LabelSetExpiry is not null)
            {
                metric.Sweep(now);
            }
        }
    }

    private static int WriteMetric(ExpositionWriter writer, Metric metric, ExpositionFormat format, NameEscaping escaping, bool chunked)
    {
        if (!metric.HasSeries)
        {
            return -1;
        }

        var encoding = metric.GetEncoding(format, escaping);
        writer.WriteRaw(encoding.Metadata);
        return metric.WriteSeries(writer, encoding, 0, chunked ? SeriesPerChunk : int.MaxValue);
    }

    private void EndScrape(ExpositionWriter writer)
    {
        foreach (var family in CollectCollectorFamilies())
        {
            writer.WriteFamily(family);
        }

        writer.WriteEof();
    }

    /// <summary>The families of the registered collectors, as a scrape writes them (a throwing collector or a name collision is logged, counted and skipped).</summary>
    internal List<MetricFamily> CollectCollectorFamilies()
    {
        var result = new List<MetricFamily>();
        var collectors = Volatile.Read(ref _collectors);
        if (collectors.Length > 0)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var c in collectors)
            {
                List<MetricFamily> families;
                try
                {
                    // Materialise first: a collector that throws halfway must not leave half a family in the output.
                    families = c.Collect().ToList();
                }
                catch (Exception ex)
                {
                    Log.CollectorFailed(_logger, c.Name, ex);
                    CountCollectorError();
                    continue;
                }

                foreach (var family in families)
                {
                    bool taken;
                    lock (_lock)
                    {
                        taken = _reservedNames.ContainsKey(family.Name) || _byName.ContainsKey(family.Name);
                    }

                    if (taken || !seen.Add(family.Name))
                    {
                        Log.CollectorFamilyCollision(_logger, c.Name, family.Name);
                        CountCollectorError();
                        continue;
                    }

                    result.Add(family);
                }
            }
        }

        return result;
    }

    private void CountCollectorError()
    {
        Interlocked.Increment(ref _collectorErrors);
        _collectorErrorsMetric?.Inc();
    }

    internal void CountOverflow(Metric metric)
    {
        if (_overflowMetric is null || ReferenceEquals(metric, _overflowMetric))
        {
            return;
        }

        var series = _overflowMetric.WithLabels(metric.Name);
        if (series.Value == 0)
        {
            Log.CardinalityLimitReached(_logger, metric.Name, metric.CardinalityLimit ?? 0);
        }

        series.Inc();
    }

    internal TMetric Register<TMetric>(string name, string help, MetricType type, MetricOptions options, string shape, Func<TMetric> create)
        where TMetric : Metric
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(help);
        ArgumentNullException.ThrowIfNull(options.LabelNames);
        ValidateMetricName(name);
        ValidateLabelNames(name, options.LabelNames);
        if (options.Unit is { } unit)
        {
            if (unit.Length == 0 || !MetricNames.IsValidLegacyLabelName(unit))
            {
                throw new ArgumentException($"Unit '{unit}' of metric '{name}' is not a valid unit name ([a-zA-Z_][a-zA-Z0-9_]*).", nameof(options));
            }

            if (!name.EndsWith("_" + unit, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Metric '{name}' has unit '{unit}' but its name does not end with '_{unit}', as OpenMetrics requires.", nameof(options));
            }
        }

        if (options.CardinalityLimit is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.CardinalityLimit, $"Cardinality limit of metric '{name}' must be at least 1.");
        }

        if (options.LabelSetExpiry is { } expiry && expiry <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), expiry, $"Label set expiry of metric '{name}' must be positive.");
        }

        lock (_lock)
        {
            if (_byName.TryGetValue(name, out var existing))
            {
                if (existing is TMetric same && existing.SameDefinition(type, help, options, shape))
                {
                    return same;
                }

                var attempted = $"{type.ToString().ToLowerInvariant()} {name}{{{string.Join(",", options.LabelNames)}}}{(options.Unit is null ? string.Empty : " unit=" + options.Unit)}{(shape.Length > 0 ? " " + shape : string.Empty)} \"{help}\"";
                throw new MetricRegistrationException(
                    $"Metric '{name}' is already registered as [{existing.Definition}]; cannot register it again as [{attempted}].",
                    existing.Definition,
                    attempted);
            }

            var metric = create();
            foreach (var reserved in metric.ReservedNames)
            {
                if (_reservedNames.TryGetValue(reserved, out var other))
                {
                    throw new MetricRegistrationException(
                        $"Metric [{metric.Definition}] would write samples named '{reserved}', which metric [{other.Definition}] already writes.",
                        other.Definition,
                        metric.Definition);
                }
            }

            foreach (var reserved in metric.ReservedNames)
            {
                _reservedNames[reserved] = metric;
            }

            _byName[name] = metric;
            metric.Initialize();

            var sorted = new Metric[_sorted.Length + 1];
            _sorted.CopyTo(sorted, 0);
            sorted[^1] = metric;
            Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            Volatile.Write(ref _sorted, sorted);
            return (TMetric)(object)metric;
        }
    }

    private void ValidateMetricName(string name)
    {
        var valid = _validation == NameValidation.Legacy ? MetricNames.IsValidLegacyMetricName(name) : MetricNames.IsValidUtf8Name(name);
        if (!valid)
        {
            throw new ArgumentException(
                _validation == NameValidation.Legacy
                    ? $"Invalid metric name '{name}': legacy names match [a-zA-Z_:][a-zA-Z0-9_:]*."
                    : $"Invalid metric name '{name}': a name must be non-empty valid UTF-8.",
                nameof(name));
        }

        if (name.StartsWith("__", StringComparison.Ordinal))
        {
            throw new ArgumentException($"Invalid metric name '{name}': names starting with '__' are reserved for Prometheus.", nameof(name));
        }
    }

    private void ValidateLabelNames(string metric, IReadOnlyList<string> labelNames)
    {
        for (var i = 0; i < labelNames.Count; i++)
        {
            var label = labelNames[i];
            ArgumentNullException.ThrowIfNull(label, nameof(labelNames));
            var valid = _validation == NameValidation.Legacy ? MetricNames.IsValidLegacyLabelName(label) : MetricNames.IsValidUtf8Name(label);
            if (!valid)
            {
                throw new ArgumentException($"Invalid label name '{label}' on metric '{metric}'.", nameof(labelNames));
            }

            if (label.StartsWith("__", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Invalid label name '{label}' on metric '{metric}': names starting with '__' are reserved for Prometheus.", nameof(labelNames));
            }

            if (label == Metric.OverflowLabelName)
            {
                throw new ArgumentException($"Invalid label name '{label}' on metric '{metric}': it marks the cardinality overflow series.", nameof(labelNames));
            }

            for (var j = 0; j < i; j++)
            {
                if (labelNames[j] == label)
                {
                    throw new ArgumentException($"Label name '{label}' appears twice on metric '{metric}'.", nameof(labelNames));
                }
            }
        }
    }

    private sealed class CollectorRegistration(MetricRegistry owner, string name, Func<IEnumerable<MetricFamily>> collect) : IDisposable
    {
        public string Name => name;

        public IEnumerable<MetricFamily> Collect() => collect();

        public void Dispose()
        {
            lock (owner._lock)
            {
                owner._collectors = owner._collectors.Where(c => !ReferenceEquals(c, this)).ToArray();
            }
        }
    }

    private sealed class CallbackRegistration(MetricRegistry owner, string name, Action callback) : IDisposable
    {
        public string Name => name;

        public Action Callback => callback;

        public void Dispose()
        {
            lock (owner._lock)
            {
                owner._callbacks = owner._callbacks.Where(c => !ReferenceEquals(c, this)).ToArray();
            }
        }
    }
}
