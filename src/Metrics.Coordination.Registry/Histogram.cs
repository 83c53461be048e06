using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Registry;

/// <summary>Counts observations into cumulative buckets (<c>_bucket{le}</c>), with <c>_sum</c> and <c>_count</c>.</summary>
public sealed class Histogram : Metric<HistogramSeries>
{
    // Up to this many finite bounds a linear scan beats binary search (measured: the scan stays in one or two
    // cache lines and branches predictably).
    internal const int LinearSearchLimit = 16;

    internal Histogram(MetricRegistry registry, string name, string help, HistogramOptions options, double[] bounds)
        : base(registry, name, help, MetricType.Histogram, options, "buckets=" + string.Join(",", bounds.Select(b => b.ToString("R", CultureInfo.InvariantCulture))))
    {
        UpperBounds = bounds;
        var behavior = options.ExemplarBehavior ?? registry.ExemplarBehavior;
        if (behavior is not (ExemplarBehavior.None or ExemplarBehavior.TraceContext))
        {
            throw new ArgumentOutOfRangeException(nameof(options), behavior, $"Unknown exemplar behavior for histogram '{name}'.");
        }

        TraceExemplars = behavior == ExemplarBehavior.TraceContext;
        if (TraceExemplars)
        {
            ActivityLatch.Arm();
        }
    }

    /// <summary>Whether plain observations attach the current activity's trace context as an exemplar.</summary>
    internal bool TraceExemplars { get; }

    /// <summary>The finite bucket upper bounds; <c>+Inf</c> is implied.</summary>
    public IReadOnlyList<double> Buckets => UpperBounds;

    internal double[] UpperBounds { get; }

    /// <summary>Records an observation (metric without labels).</summary>
    public void Observe(double value) => Unlabeled.Observe(value);

    /// <summary>Records an observation with an exemplar (metric without labels); see <see cref="HistogramSeries.Observe(double, Labels)"/>.</summary>
    public void Observe(double value, Labels exemplarLabels) => Unlabeled.Observe(value, exemplarLabels);

    /// <summary>Starts a timer that observes the elapsed seconds when disposed (metric without labels).</summary>
    public HistogramTimer StartTimer() => Unlabeled.StartTimer();

    internal override IEnumerable<string> ReservedNames => [Name, Name + "_bucket", Name + "_sum", Name + "_count", Name + "_created"];

    private protected override HistogramSeries CreateSeries(string[] labelValues, int hash, bool isOverflow) => new(this, labelValues, hash, isOverflow);

    private protected override FamilyEncoding BuildEncoding(ExpositionFormat format, NameEscaping escaping)
    {
        var pairs = new byte[UpperBounds.Length + 1][];
        for (var i = 0; i < UpperBounds.Length; i++)
        {
            pairs[i] = ExpositionWriter.EncodeBoundPair("le", UpperBounds[i], format);
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
    }

    internal static double[] ValidateBounds(string name, IReadOnlyList<double>? buckets)
    {
        var list = new List<double>(buckets ?? global::Metrics.Coordination.Registry.Buckets.Default);
        if (list.Count > 0 && double.IsPositiveInfinity(list[^1]))
        {
            list.RemoveAt(list.Count - 1);
        }

        for (var i = 0; i < list.Count; i++)
        {
            if (double.IsNaN(list[i]) || double.IsInfinity(list[i]))
            {
                throw new ArgumentException($"Histogram '{name}': bucket bound {list[i]} at index {i} is not finite (+Inf is added automatically).", nameof(buckets));
            }

            if (i > 0 && !(list[i] > list[i - 1]))
            {
                throw new ArgumentException($"Histogram '{name}': bucket bounds must increase strictly, but {list[i]} follows {list[i - 1]} at index {i}.", nameof(buckets));
            }
        }

        return [.. list];
    }
}

/// <summary>One series of a <see cref="Histogram"/>.</summary>
public sealed class HistogramSeries : MetricSeries
{
    private readonly double[] _bounds;

    // Per-bucket (non-cumulative) counts, the last one for +Inf. _count is not stored: it is the sum of the
    // buckets, so a scrape can never see _count disagree with the +Inf bucket.
    private readonly long[] _counts;
    private double _sum;

    // Copied from the metric so the hot path reads one field of this object. One exemplar slot per bucket (as
    // client_golang), the array and each slot created with the bucket's first exemplar.
    private readonly bool _traceExemplars;
    private ExemplarSlot?[]? _exemplars;

    internal HistogramSeries(Histogram metric, string[] labelValues, int hash, bool isOverflow)
        : base(metric, labelValues, hash, isOverflow)
    {
        _bounds = metric.UpperBounds;
        _counts = new long[_bounds.Length + 1];
        _traceExemplars = metric.TraceExemplars;
    }

    /// <summary>The number of observations.</summary>
    public long Count
    {
        get
        {
            long total = 0;
            foreach (ref readonly var c in _counts.AsSpan())
            {
                total += Volatile.Read(ref Unsafe.AsRef(in c));
            }

            return total;
        }
    }

    /// <summary>The sum of observations.</summary>
    public double Sum => Volatile.Read(ref _sum);

    internal override long ChangeStamp => Count;

    /// <summary>
    /// Records an observation. NaN counts in the <c>+Inf</c> bucket and makes the sum NaN, as in Prometheus clients.
    /// Inside a recorded activity (and unless the histogram's <see cref="ExemplarBehavior"/> is
    /// <see cref="ExemplarBehavior.None"/>) the activity's trace and span ids become the bucket's exemplar, rate-limited per bucket.
    /// </summary>
    public void Observe(double value)
    {
        var index = Record(value);
        if (_traceExemplars && ActivityLatch.IsOpen)
        {
            OfferCurrentActivity(value, index);
        }
    }

    /// <summary>
    /// Records an observation with an exemplar of that value and the registry clock's time; it replaces the previous
    /// exemplar of the bucket the value falls in (written in OpenMetrics on that <c>_bucket</c> line).
    /// </summary>
    /// <param name="value">The observation.</param>
    /// <param name="exemplarLabels">The exemplar labels (such as <c>trace_id</c>): valid names, at most 128 characters of names and values together.</param>
    /// <exception cref="ArgumentException">The exemplar labels break the OpenMetrics rules (the message says which).</exception>
    public void Observe(double value, Labels exemplarLabels)
    {
        Exemplars.Validate(Metric, exemplarLabels, nameof(exemplarLabels));
        var index = Record(value);
        Exemplars.GetOrCreate(ref _exemplars, _counts.Length, index).Write(exemplarLabels, value, Metric.Registry.NowMs());
    }

    /// <summary>The exemplar of each bucket (null where none), <c>+Inf</c> last: what the next OpenMetrics scrape writes.</summary>
    public Exemplar?[] GetBucketExemplars()
    {
        var result = new Exemplar?[_counts.Length];
        if (Volatile.Read(ref _exemplars) is { } slots)
        {
            for (var i = 0; i < slots.Length; i++)
            {
                result[i] = Volatile.Read(ref slots[i])?.Read();
            }
        }

        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Record(double value)
    {
        var bounds = _bounds;
        int index;
        if (bounds.Length <= Histogram.LinearSearchLimit)
        {
            index = 0;
            while (index < bounds.Length && !(value <= bounds[index]))
            {
                index++;
            }
        }
        else
        {
            index = Array.BinarySearch(bounds, value);
            if (index < 0)
            {
                index = ~index;
            }
            else
            {
                // Equal bounds are unique (strictly increasing), so this is the bucket whose le equals the value.
            }

            if (double.IsNaN(value))
            {
                index = bounds.Length;
            }
        }

        Interlocked.Increment(ref _counts[index]);
        var current = Volatile.Read(ref _sum);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref _sum, current + value, current);
            if (BitConverter.DoubleToInt64Bits(seen) == BitConverter.DoubleToInt64Bits(current))
            {
                return index;
            }

            current = seen;
        }
    }

    // Out of line, so the hot path stays a flag check and a tail call.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void OfferCurrentActivity(double value, int index)
    {
        if (Activity.Current is { } activity && Exemplars.IsCapturable(activity))
        {
            Exemplars.Capture(Exemplars.GetOrCreate(ref _exemplars, _counts.Length, index), activity, value, Metric.Registry);
        }
    }

    /// <summary>Starts a timer that observes the elapsed seconds (from the registry's clock) when disposed.</summary>
    public HistogramTimer StartTimer() => new(this, Metric.Registry.Time);

    /// <summary>The cumulative count of each bucket, <c>+Inf</c> last.</summary>
    public long[] GetCumulativeCounts()
    {
        var result = new long[_counts.Length];
        long running = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            running += Volatile.Read(ref _counts[i]);
            result[i] = running;
        }

        return result;
    }

    /// <summary>Writes the cumulative bucket counts (<c>+Inf</c> last) into <paramref name="destination"/> without allocating; returns the total count.</summary>
    internal long CopyCumulativeCounts(Span<long> destination)
    {
        long running = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            running += Volatile.Read(ref _counts[i]);
            destination[i] = running;
        }

        return running;
    }

    internal override void Write(ExpositionWriter writer, FamilyEncoding encoding)
    {
        var pairs = EncodedPairs(writer.Escaping);
        var bucketName = encoding.BucketName!;
        var exemplars = writer.Format == ExpositionFormat.OpenMetrics ? Volatile.Read(ref _exemplars) : null;
        long running = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            running += Volatile.Read(ref _counts[i]);
            var exemplar = exemplars is null ? null : Volatile.Read(ref exemplars[i])?.Read();
            writer.WriteSample(bucketName, pairs, encoding.BoundPairs[i], running, null, exemplar);
        }

        writer.WriteSample(encoding.SumName!, pairs, default, Sum);
        writer.WriteSample(encoding.CountName!, pairs, default, running);
        WriteCreated(writer, encoding, pairs);
    }
}

/// <summary>Observes elapsed seconds into a histogram series when disposed: <c>using (histogram.StartTimer()) { ... }</c>.</summary>
public readonly struct HistogramTimer : IDisposable
{
    private readonly HistogramSeries? _series;
    private readonly TimeProvider? _time;
    private readonly long _start;

    internal HistogramTimer(HistogramSeries series, TimeProvider time)
    {
        _series = series;
        _time = time;
        _start = time.GetTimestamp();
    }

    /// <summary>The time elapsed since the timer started.</summary>
    public TimeSpan Elapsed => _time is null ? TimeSpan.Zero : _time.GetElapsedTime(_start);

    /// <summary>Observes the elapsed seconds.</summary>
    public void Dispose() => _series?.Observe(Elapsed.TotalSeconds);
}
