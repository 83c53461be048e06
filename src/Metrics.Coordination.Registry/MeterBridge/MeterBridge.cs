using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Metrics.Coordination.Abstractions;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Registry;

/// <summary>
/// Publishes the instruments of <see cref="System.Diagnostics.Metrics"/> meters (ASP.NET Core, <c>HttpClient</c>, the
/// runtime, your own <c>Meter</c>s) as Prometheus families of a <see cref="MetricRegistry"/>, through a
/// <see cref="MeterListener"/>. Create it with <see cref="MeterBridgeExtensions.AddMeterBridge"/>; dispose it to stop
/// listening and remove its families.
/// </summary>
/// <remarks>
/// <para><b>Types.</b> <c>Counter&lt;T&gt;</c> and <c>ObservableCounter&lt;T&gt;</c> become counters;
/// <c>UpDownCounter&lt;T&gt;</c>, <c>ObservableUpDownCounter&lt;T&gt;</c>, <c>Gauge&lt;T&gt;</c> and
/// <c>ObservableGauge&lt;T&gt;</c> gauges; <c>Histogram&lt;T&gt;</c> histograms. Observable instruments are read at
/// the start of every scrape (their callbacks run on the scraping thread), and their values are taken as they are:
/// an observable counter reports a total, which is mirrored exactly. Negative or NaN increments of a
/// <c>Counter&lt;T&gt;</c> are dropped.</para>
/// <para><b>Names</b> follow OpenTelemetry's Prometheus compatibility specification: characters outside
/// <c>[a-zA-Z0-9_:]</c> become <c>_</c> and runs of <c>_</c> collapse; the unit is appended unless the name already
/// ends with it (<c>s</c> → <c>_seconds</c>, <c>ms</c> → <c>_milliseconds</c>, <c>By</c> → <c>_bytes</c>,
/// <c>KiBy</c> → <c>_kibibytes</c>, <c>By/s</c> → <c>_bytes_per_second</c>, <c>1</c> → <c>_ratio</c> on gauges only,
/// <c>{request}</c> annotations → nothing); counters get <c>_total</c>. So <c>http.server.request.duration</c> (unit
/// <c>s</c>) is <c>http_server_request_duration_seconds</c> and <c>dotnet.gc.collections</c> (unit
/// <c>{collection}</c>) is <c>dotnet_gc_collections_total</c>. The unit word is also the OpenMetrics UNIT, and the
/// instrument's description the HELP.</para>
/// <para><b>Labels.</b> Tags become labels with the same character rule (<c>gc.heap.generation</c> →
/// <c>gc_heap_generation</c>); a name that would start with a digit gets a <c>key_</c> prefix, and collapsing runs of
/// <c>_</c> means none starts with the reserved <c>__</c>. Two tags that sanitize to the same label name share it: their
/// values are joined with <c>;</c> in the ordinal order of the original keys (as the specification says), so the result
/// does not depend on tag order. A tag named <c>le</c> on a histogram is renamed <c>key_le</c>. Non-string values are
/// formatted as OpenTelemetry formats attributes (<c>true</c>, <c>404</c>, <c>0.25</c>, JSON arrays). Tags with null
/// or empty values count as absent, and a label a measurement lacks is written with an empty value, which Prometheus
/// treats as absent. Tag keys are learnt as measurements bring them; a measurement with a key the family has not seen
/// adds a label set rather than rewriting existing series, so each distinct set of tags keeps exactly one series.</para>
/// <para><b>Histograms</b> use, in order: <see cref="MeterBridgeOptions.HistogramBuckets"/>, the instrument's advice
/// (<c>InstrumentAdvice&lt;T&gt;.HistogramBucketBoundaries</c>, which ASP.NET Core and <c>HttpClient</c> give their
/// duration histograms), <see cref="MeterBridgeOptions.DefaultHistogramBuckets"/>, OpenTelemetry's defaults.</para>
/// <para><b>Lifetime.</b> Instruments published after the bridge starts appear when they are published; when a meter
/// is disposed its families are unregistered. Instruments with the same Prometheus name, type, unit and buckets (the
/// same instrument created by several <c>Meter</c> instances of one name, as <c>IMeterFactory</c> does per host) share
/// one family and aggregate; a family lives until its last instrument goes. An instrument whose name is taken by a
/// different definition, by a metric registered directly, or by another bridge on the same registry is left out and
/// logged, never merged with it.</para>
/// <para><b>Cost.</b> Recording allocates nothing for up to three tags once the series exists. A measurement whose
/// tag keys and values are the same object instances, in the same order, as an earlier one (string literals, cached
/// route strings, cached boxed status codes: the normal case) finds its series in a small per-family cache with a few
/// reference comparisons. Otherwise its keys are mapped to label positions through a small per-family table, non-string
/// values are formatted (cached), and the series is found through the registry's <c>WithLabels</c> fast path. With
/// <see cref="MeterBridgeOptions.AddScopeLabels"/> every measurement takes the second way.</para>
/// </remarks>
public sealed class MeterBridge : IDisposable
{
    // OpenTelemetry's default explicit bucket bounds, and OpenTelemetry .NET's short-seconds set (see MeterBridgeOptions).
    private static readonly double[] DefaultBounds = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
    private static readonly double[] SecondsBounds = [0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    private readonly MetricRegistry _registry;
    private readonly MeterListener _listener;
    private readonly MeterNameFilter _meters;
    private readonly Func<Instrument, bool>? _instrumentFilter;
    private readonly Dictionary<string, double[]> _buckets;
    private readonly double[]? _defaultBuckets;
    private readonly HashSet<string> _excludedTags;
    private readonly bool _scopeLabels;
    private readonly ILogger _logger;
    private readonly TagValueFormatter _formatter = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<string, BridgeFamily> _families = new(StringComparer.Ordinal);
    private readonly IDisposable _observe;
    private int _disposed;

    internal MeterBridge(MetricRegistry registry, MeterBridgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Meters);
        ArgumentNullException.ThrowIfNull(options.ExcludedMeters);
        ArgumentNullException.ThrowIfNull(options.HistogramBuckets);
        ArgumentNullException.ThrowIfNull(options.ExcludedTags);
        ArgumentNullException.ThrowIfNull(options.LoggerFactory);
        if (options.Meters.Concat(options.ExcludedMeters).Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("Meter name patterns must be non-empty.", nameof(options));
        }

        _registry = registry;
        _meters = new MeterNameFilter(options.Meters, options.ExcludedMeters);
        _instrumentFilter = options.InstrumentFilter;
        _buckets = options.HistogramBuckets.ToDictionary(
            kv => kv.Key,
            kv => Histogram.ValidateBounds(kv.Key, kv.Value ?? throw new ArgumentException($"Buckets of instrument '{kv.Key}' are null.", nameof(options))),
            StringComparer.Ordinal);
        _defaultBuckets = options.DefaultHistogramBuckets is { } defaults ? Histogram.ValidateBounds("(default)", defaults) : null;
        _excludedTags = new HashSet<string>(options.ExcludedTags.Where(t => t is not null), StringComparer.Ordinal);
        _scopeLabels = options.AddScopeLabels;
        _logger = options.LoggerFactory.CreateLogger("Metrics.Coordination.Registry.MeterBridge");

        _listener = new MeterListener
        {
            InstrumentPublished = OnInstrumentPublished,
            MeasurementsCompleted = OnMeasurementsCompleted,
        };
        _listener.SetMeasurementEventCallback<byte>(static (_, m, tags, state) => As(state).Record(m, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, m, tags, state) => As(state).Record(m, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, m, tags, state) => As(state).Record(m, tags));
        _listener.SetMeasurementEventCallback<long>(static (_, m, tags, state) => As(state).Record(m, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, m, tags, state) => As(state).Record((double)m, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, m, tags, state) => As(state).Record(m, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, m, tags, state) => As(state).Record((double)m, tags));
        _observe = registry.AddBeforeCollectCallback("meter-bridge", _listener.RecordObservableInstruments);
        _listener.Start();
    }

    /// <summary>The names of the families this bridge publishes now (counters without <c>_total</c>), sorted.</summary>
    public IReadOnlyList<string> FamilyNames
    {
        get
        {
            lock (_lock)
            {
                return [.. _families.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Stops listening and unregisters every family this bridge published.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _observe.Dispose();

        // Disposing the listener reports MeasurementsCompleted for every instrument it listened to, which releases
        // the families one by one; anything left (an instrument whose enable raced with its meter's disposal) goes here.
        _listener.Dispose();
        lock (_lock)
        {
            foreach (var family in _families.Values)
            {
                UnregisterIfOwned(family.Metric);
            }

            _families.Clear();
        }
    }

    /// <summary>Runs every observable instrument's callback now (scrapes do this themselves).</summary>
    internal void RecordObservableInstruments() => _listener.RecordObservableInstruments();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static BridgeInstrument As(object? state) => Unsafe.As<BridgeInstrument>(state!);

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (Volatile.Read(ref _disposed) != 0 || !_meters.Matches(instrument.Meter.Name))
        {
            return;
        }

        if (_instrumentFilter is not null)
        {
            try
            {
                if (!_instrumentFilter(instrument))
                {
                    return;
                }
            }
            catch (Exception ex)
            {
                MeterBridgeLog.InstrumentFilterFailed(_logger, instrument.Name, instrument.Meter.Name, ex);
                return;
            }
        }

        if (!TryClassify(instrument, out var type, out var storage, out var mode))
        {
            MeterBridgeLog.UnsupportedInstrument(_logger, instrument.Name, instrument.Meter.Name, instrument.GetType().Name);
            return;
        }

        var name = PrometheusNaming.FamilyName(instrument.Name, instrument.Unit, type, out var unit);
        var bounds = storage == BridgeStorage.Histogram ? BucketsFor(instrument) : null;
        BridgeInstrument bridged;
        lock (_lock)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            if (_families.TryGetValue(name, out var family))
            {
                var reason = Incompatibility(family.Metric, type, storage, unit, bounds);
                if (reason is not null)
                {
                    MeterBridgeLog.InstrumentConflict(_logger, instrument.Name, instrument.Meter.Name, name, reason);
                    return;
                }
            }
            else
            {
                BridgeMetric? metric;
                try
                {
                    metric = BridgeMetric.TryRegister(_registry, name, instrument.Description ?? string.Empty, type, unit, storage, bounds);
                }
                catch (Exception ex) when (ex is MetricRegistrationException or ArgumentException)
                {
                    MeterBridgeLog.InstrumentConflict(_logger, instrument.Name, instrument.Meter.Name, name, "cannot be registered: " + ex.Message);
                    return;
                }

                if (metric is null)
                {
                    if (_registry.Metrics.FirstOrDefault(m => m.Name == name) is BridgeMetric)
                    {
                        MeterBridgeLog.InstrumentOwnedElsewhere(_logger, instrument.Name, instrument.Meter.Name, name);
                    }
                    else
                    {
                        MeterBridgeLog.InstrumentConflict(_logger, instrument.Name, instrument.Meter.Name, name, "is already registered in the registry");
                    }

                    return;
                }

                family = new BridgeFamily(metric, _logger, _formatter, _excludedTags, _scopeLabels);
                _families.Add(name, family);
                MeterBridgeLog.InstrumentPublished(_logger, instrument.Name, instrument.Meter.Name, name);
            }

            family.Instruments++;
            bridged = new BridgeInstrument(instrument, family, mode, instrument.Meter.Name, instrument.Meter.Version);
        }

        // Outside our lock: enabling takes the Meter API's global lock, which Meter.Dispose holds while it reports
        // MeasurementsCompleted (which takes ours).
        listener.EnableMeasurementEvents(instrument, bridged);
        if (!instrument.Enabled)
        {
            // The meter was disposed between publication and enabling; no MeasurementsCompleted will come.
            Release(bridged);
        }
    }

    private void OnMeasurementsCompleted(Instrument instrument, object? state)
    {
        if (state is BridgeInstrument bridged)
        {
            Release(bridged);
        }
    }

    private void Release(BridgeInstrument bridged)
    {
        if (!bridged.TryRelease())
        {
            return;
        }

        lock (_lock)
        {
            var family = bridged.Family;
            if (--family.Instruments > 0)
            {
                return;
            }

            if (_families.TryGetValue(family.Name, out var current) && ReferenceEquals(current, family))
            {
                _families.Remove(family.Name);
            }

            UnregisterIfOwned(family.Metric);
        }
    }

    private void UnregisterIfOwned(BridgeMetric metric)
    {
        if (_registry.Metrics.Any(m => ReferenceEquals(m, metric)))
        {
            _registry.Unregister(metric.Name);
        }
    }

    private static string? Incompatibility(BridgeMetric existing, MetricType type, BridgeStorage storage, string? unit, double[]? bounds)
    {
        if (existing.Type != type || existing.Storage != storage)
        {
            return $"another instrument publishes as a {existing.Type.ToString().ToLowerInvariant()} ({existing.Storage} storage)";
        }

        if (existing.Unit != unit)
        {
            return $"another instrument publishes with unit '{existing.Unit}'";
        }

        if (bounds is not null && existing.Shape != BridgeMetric.ShapeOf(bounds))
        {
            return "another instrument publishes with different buckets";
        }

        return null;
    }

    private static bool TryClassify(Instrument instrument, out MetricType type, out BridgeStorage storage, out RecordMode mode)
    {
        var t = instrument.GetType();
        var definition = t.IsGenericType ? t.GetGenericTypeDefinition() : null;
        (type, storage, mode) = definition switch
        {
            _ when definition == typeof(Counter<>) => (MetricType.Counter, BridgeStorage.Counter, RecordMode.Increment),
            _ when definition == typeof(ObservableCounter<>) => (MetricType.Counter, BridgeStorage.Gauge, RecordMode.Set),
            _ when definition == typeof(UpDownCounter<>) => (MetricType.Gauge, BridgeStorage.Gauge, RecordMode.Add),
            _ when definition == typeof(ObservableUpDownCounter<>) => (MetricType.Gauge, BridgeStorage.Gauge, RecordMode.Set),
            _ when definition == typeof(Gauge<>) => (MetricType.Gauge, BridgeStorage.Gauge, RecordMode.Set),
            _ when definition == typeof(ObservableGauge<>) => (MetricType.Gauge, BridgeStorage.Gauge, RecordMode.Set),
            _ when definition == typeof(Histogram<>) => (MetricType.Histogram, BridgeStorage.Histogram, RecordMode.Observe),
            _ => (MetricType.Unknown, BridgeStorage.Gauge, RecordMode.Set),
        };
        return type != MetricType.Unknown;
    }

    private double[] BucketsFor(Instrument instrument)
    {
        if (_buckets.TryGetValue(instrument.Name, out var configured))
        {
            return configured;
        }

        var advice = instrument switch
        {
            Histogram<double> h => h.Advice?.HistogramBucketBoundaries?.ToArray(),
            Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            Histogram<short> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            Histogram<byte> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            Histogram<decimal> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            _ => null,
        };
        if (advice is { Length: > 0 })
        {
            try
            {
                return Histogram.ValidateBounds(instrument.Name, advice);
            }
            catch (ArgumentException)
            {
                // Advice that is not strictly increasing and finite is ignored, as OpenTelemetry ignores it.
            }
        }

        return _defaultBuckets ?? (instrument.Unit == "s" ? SecondsBounds : DefaultBounds);
    }
}

/// <summary>Creates <see cref="MeterBridge"/>s.</summary>
public static class MeterBridgeExtensions
{
    /// <summary>
    /// Starts publishing the instruments of the meters <paramref name="options"/> selects (default: every meter) as
    /// families of <paramref name="registry"/>. Dispose the result to stop and remove them.
    /// </summary>
    public static MeterBridge AddMeterBridge(this MetricRegistry registry, MeterBridgeOptions? options = null) =>
        new(registry, options ?? new MeterBridgeOptions());
}
