using System.Runtime.CompilerServices;
using System.Globalization;
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
    }

    /// <summary>The finite bucket upper bounds; <c>+Inf</c> is implied.</summary>
    public IReadOnlyList<double> Buckets => UpperBounds;

    internal double[] UpperBounds { get; }

    /// <summary>Records an observation (metric without labels).</summary>
    public void Observe(double value) => Unlabeled.Observe(value);

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

    internal HistogramSeries(Histogram metric, string[] labelValues, int hash, bool isOverflow)
        : base(metric, labelValues, hash, isOverflow)
    {
        _bounds = metric.UpperBounds;
        _counts = new long[_bounds.Length + 1];
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

    /// <summary>Records an observation. NaN counts in the <c>+Inf</c> bucket and makes the sum NaN, as in Prometheus clients.</summary>
    public void Observe(double value)
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
                return;
            }

            current = seen;
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

    internal override void Write(ExpositionWriter writer, FamilyEncoding encoding)
    {
        var pairs = EncodedPairs(writer.Escaping);
        var bucketName = encoding.BucketName!;
        long running = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            running += Volatile.Read(ref _counts[i]);
            writer.WriteSample(bucketName, pairs, encoding.BoundPairs[i], running);
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
