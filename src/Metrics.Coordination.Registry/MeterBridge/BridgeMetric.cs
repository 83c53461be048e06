using System.Globalization;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Registry;

/// <summary>How a bridged family stores its values.</summary>
internal enum BridgeStorage
{
    /// <summary><see cref="CounterSeries"/>: increments (a <c>Counter&lt;T&gt;</c>).</summary>
    Counter,

    /// <summary><see cref="GaugeSeries"/>: set or added values (gauges, up-down counters, and observed cumulative counters).</summary>
    Gauge,

    /// <summary><see cref="HistogramSeries"/>.</summary>
    Histogram,
}

/// <summary>
/// A family whose values live outside the registry's own instruments: Meter instruments taken through the bridge, and
/// the process collector. It is registered in the registry like any metric (so its names are reserved and it is
/// scraped in name order) but writes the series of one or more <em>generations</em>: ordinary, unregistered
/// <see cref="Counter"/>/<see cref="Gauge"/>/<see cref="Histogram"/> objects that each hold one label-name set.
/// A Meter instrument's tag keys are not declared up front; when a measurement brings a key no generation has, a new
/// generation with the wider label set is added instead of migrating data (see <see cref="BridgeFamily"/>).
/// The family's TYPE comes from here, not from the storage: an observed cumulative counter is stored in gauge series
/// (set, not incremented, to mirror the source exactly) but exposed as a counter.
/// </summary>
internal sealed class BridgeMetric : Metric
{
    // Cursor layout for chunked scrapes: the generation index above this many bits, the generation's own cursor below.
    private const int GenerationShift = 26;
    private const int InnerCursorMask = (1 << GenerationShift) - 1;

    private readonly double[]? _bounds;
    private Metric[] _generations = [];

    private BridgeMetric(MetricRegistry registry, string name, string help, MetricType type, MetricOptions options, BridgeStorage storage, double[]? bounds, string shape)
        : base(registry, name, help, type, options, shape)
    {
        Storage = storage;
        _bounds = bounds;
    }

    /// <summary>The most generations a family keeps; <see cref="BridgeFamily"/> stops adding them here.</summary>
    public const int MaxGenerations = 1 << (31 - GenerationShift);

    public BridgeStorage Storage { get; }

    public IReadOnlyList<Metric> Generations => Volatile.Read(ref _generations);

    /// <inheritdoc />
    public override int SeriesCount
    {
        get
        {
            var total = 0;
            foreach (var g in Volatile.Read(ref _generations))
            {
                total += g.SeriesCount;
            }

            return total;
        }
    }

    internal override IEnumerable<string> ReservedNames => Type switch
    {
        MetricType.Counter => [Name, Name + "_total", Name + "_created"],
        MetricType.Histogram => [Name, Name + "_bucket", Name + "_sum", Name + "_count", Name + "_created"],
        _ => [Name],
    };

    internal override bool HasSeries
    {
        get
        {
            foreach (var g in Volatile.Read(ref _generations))
            {
                if (g.HasSeries)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// Registers a new family, or returns null when <paramref name="name"/> (or one of its sample names) is already
    /// taken by anything else in the registry, including another bridge's family with the same definition.
    /// </summary>
    /// <exception cref="MetricRegistrationException">The name collides with a different definition.</exception>
    public static BridgeMetric? TryRegister(MetricRegistry registry, string name, string help, MetricType type, string? unit, BridgeStorage storage, double[]? bounds)
    {
        var shape = ShapeOf(bounds);
        var options = new MetricOptions { Unit = unit };
        BridgeMetric? created = null;
        var metric = registry.Register(name, help, type, options, shape, () => created = new BridgeMetric(registry, name, help, type, options, storage, bounds, shape));
        return ReferenceEquals(metric, created) ? created : null;
    }

    /// <summary>
    /// Registers a family of one unlabelled series set from elsewhere (the process collector's figures) and returns that
    /// series; a counter registered this way mirrors its source exactly instead of accumulating increments.
    /// </summary>
    /// <exception cref="MetricRegistrationException">The name is taken.</exception>
    public static (BridgeMetric Metric, GaugeSeries Series) RegisterMirror(MetricRegistry registry, string name, string help, MetricType type, string? unit)
    {
        var metric = TryRegister(registry, name, help, type, unit, BridgeStorage.Gauge, bounds: null);
        if (metric is null)
        {
            var existing = registry.Metrics.FirstOrDefault(m => m.Name == name)?.Definition ?? name;
            throw new MetricRegistrationException($"Metric '{name}' is already registered as [{existing}].", existing, $"{type.ToString().ToLowerInvariant()} {name}");
        }

        var generation = (Gauge)metric.AddGeneration([]);
        return (metric, generation.WithLabels(ReadOnlySpan<string>.Empty));
    }

    /// <summary>The definition detail compared when a family is registered or shared: the buckets, as histograms write theirs.</summary>
    public static string ShapeOf(double[]? bounds) =>
        bounds is null ? string.Empty : "buckets=" + string.Join(",", bounds.Select(b => b.ToString("R", CultureInfo.InvariantCulture)));

    /// <summary>Creates the storage for one more label-name set and publishes it to scrapes. Call under the family's lock.</summary>
    public Metric AddGeneration(string[] labelNames)
    {
        Metric generation;
        switch (Storage)
        {
            case BridgeStorage.Counter:
                var counter = new Counter(Registry, Name, Help, new CounterOptions { LabelNames = labelNames });
                counter.Initialize();
                generation = counter;
                break;
            case BridgeStorage.Gauge:
                var gauge = new Gauge(Registry, Name, Help, new GaugeOptions { LabelNames = labelNames });
                gauge.Initialize();
                generation = gauge;
                break;
            default:
                var histogram = new Histogram(Registry, Name, Help, new HistogramOptions { LabelNames = labelNames, Buckets = _bounds }, _bounds!);
                histogram.Initialize();
                generation = histogram;
                break;
        }

        Volatile.Write(ref _generations, [.. _generations, generation]);
        return generation;
    }

    private protected override FamilyEncoding BuildEncoding(ExpositionFormat format, NameEscaping escaping)
    {
        switch (Type)
        {
            case MetricType.Counter:
                return new FamilyEncoding
                {
                    MetadataName = Encode(format == ExpositionFormat.PrometheusText ? Name + "_total" : Name, escaping),
                    SampleName = Encode(Name + "_total", escaping),
                    CreatedName = Encode(Name + "_created", escaping),
                };
            case MetricType.Histogram:
                var bounds = _bounds!;
                var pairs = new byte[bounds.Length + 1][];
                for (var i = 0; i < bounds.Length; i++)
                {
                    pairs[i] = ExpositionWriter.EncodeBoundPair("le", bounds[i], format);
                }

                pairs[^1] = ExpositionWriter.EncodeBoundPair("le", double.PositiveInfinity, format);
                return new FamilyEncoding
                {
                    MetadataName = Encode(Name, escaping),
                    SampleName = Encode(Name, escaping),
                    BucketName = Encode(Name + "_bucket", escaping),
                    SumName = Encode(Name + "_sum", escaping),
                    CountName = Encode(Name + "_count", escaping),
                    CreatedName = Encode(Name + "_created", escaping),
                    BoundPairs = pairs,
                };
            default:
                return new FamilyEncoding
                {
                    MetadataName = Encode(Name, escaping),
                    SampleName = Encode(Name, escaping),
                };
        }
    }

    internal override int WriteSeries(ExpositionWriter writer, FamilyEncoding encoding, int cursor, int maxSeries)
    {
        var generations = Volatile.Read(ref _generations);
        var g = cursor >> GenerationShift;
        var inner = cursor & InnerCursorMask;
        for (; g < generations.Length; g++, inner = 0)
        {
            var generation = generations[g];
            if (!generation.HasSeries)
            {
                continue;
            }

            var next = generation.WriteSeries(writer, encoding, inner, maxSeries);
            if (next >= 0)
            {
                return (g << GenerationShift) | next;
            }
        }

        return -1;
    }

    internal override void Sweep(long nowMs)
    {
        // Bridged series never expire: a Meter instrument's series live as long as the instrument.
    }
}
