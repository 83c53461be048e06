using System.Globalization;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Registry;

/// <summary>
/// Quantiles over a sliding time window (<c>{quantile}</c> lines), plus all-time <c>_sum</c> and <c>_count</c>.
/// Each quantile is estimated within its objective's rank error; memory per series is bounded by the objectives
/// and <see cref="SummaryOptions.AgeBuckets"/>, not by the number of observations.
/// </summary>
public sealed class Summary : Metric<SummarySeries>
{
    internal Summary(MetricRegistry registry, string name, string help, SummaryOptions options, QuantileObjective[] objectives)
        : base(registry, name, help, MetricType.Summary, options, Describe(options, objectives))
    {
        Objectives = objectives;
        MaxAgeMs = (long)options.MaxAge.TotalMilliseconds;
        AgeBuckets = options.AgeBuckets;
        BufferCapacity = options.BufferCapacity;
    }

    internal QuantileObjective[] Objectives { get; }

    internal long MaxAgeMs { get; }

    internal int AgeBuckets { get; }

    internal int BufferCapacity { get; }

    /// <summary>Records an observation (metric without labels).</summary>
    public void Observe(double value) => Unlabeled.Observe(value);

    /// <summary>The current estimate of quantile <paramref name="q"/> (metric without labels).</summary>
    public double Quantile(double q) => Unlabeled.Quantile(q);

    internal override IEnumerable<string> ReservedNames => [Name, Name + "_sum", Name + "_count", Name + "_created"];

    private protected override SummarySeries CreateSeries(string[] labelValues, int hash, bool isOverflow) => new(this, labelValues, hash, isOverflow);

    private protected override FamilyEncoding BuildEncoding(ExpositionFormat format, NameEscaping escaping)
    {
        var pairs = new byte[Objectives.Length][];
        for (var i = 0; i < Objectives.Length; i++)
        {
            pairs[i] = ExpositionWriter.EncodeBoundPair("quantile", Objectives[i].Quantile, format);
        }

        return new FamilyEncoding
        {
            MetadataName = Encode(Name, escaping),
            SampleName = Encode(Name, escaping),
            SumName = Encode(Name + "_sum", escaping),
            CountName = Encode(Name + "_count", escaping),
            CreatedName = Encode(Name + "_created", escaping),
            BoundPairs = pairs,
        };
    }

    internal static QuantileObjective[] Validate(string name, SummaryOptions options)
    {
        if (options.MaxAge <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxAge, $"Summary '{name}': MaxAge must be positive.");
        }

        if (options.AgeBuckets < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.AgeBuckets, $"Summary '{name}': AgeBuckets must be at least 1.");
        }

        if (options.BufferCapacity < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.BufferCapacity, $"Summary '{name}': BufferCapacity must be at least 1.");
        }

        var objectives = options.Objectives.OrderBy(o => o.Quantile).ToArray();
        for (var i = 0; i < objectives.Length; i++)
        {
            var o = objectives[i];
            if (!(o.Quantile >= 0 && o.Quantile <= 1))
            {
                throw new ArgumentOutOfRangeException(nameof(options), o.Quantile, $"Summary '{name}': quantile {o.Quantile} is outside [0, 1].");
            }

            if (!(o.Epsilon > 0 && o.Epsilon < 1))
            {
                throw new ArgumentOutOfRangeException(nameof(options), o.Epsilon, $"Summary '{name}': error {o.Epsilon} for quantile {o.Quantile} is outside (0, 1).");
            }

            if (i > 0 && objectives[i - 1].Quantile == o.Quantile)
            {
                throw new ArgumentException($"Summary '{name}': quantile {o.Quantile} is listed twice.", nameof(options));
            }
        }

        return objectives;
    }

    private static string Describe(SummaryOptions options, QuantileObjective[] objectives) =>
        "objectives=" + string.Join(",", objectives.Select(o => string.Create(CultureInfo.InvariantCulture, $"{o.Quantile}:{o.Epsilon}"))) +
        string.Create(CultureInfo.InvariantCulture, $" maxAge={options.MaxAge} ageBuckets={options.AgeBuckets}");
}

/// <summary>One series of a <see cref="Summary"/>.</summary>
public sealed class SummarySeries : MetricSeries
{
    private readonly Summary _summary;
    private readonly Lock _lock = new();

    // Observations land in a buffer (cheap under the lock); a full buffer, or a read, sorts it once and merges it
    // into every age stream. Streams rotate: each covers up to MaxAge, staggered by MaxAge / AgeBuckets, and the
    // oldest one answers queries, so a quantile reflects between MaxAge*(1-1/AgeBuckets) and MaxAge of history.
    private readonly double[] _buffer;
    private readonly QuantileStream[] _streams;
    private int _buffered;
    private int _head;
    private long _headExpiresMs;
    private long _count;
    private double _sum;

    internal SummarySeries(Summary metric, string[] labelValues, int hash, bool isOverflow)
        : base(metric, labelValues, hash, isOverflow)
    {
        _summary = metric;
        if (metric.Objectives.Length > 0)
        {
            _buffer = new double[metric.BufferCapacity];
            _streams = new QuantileStream[metric.AgeBuckets];
            for (var i = 0; i < _streams.Length; i++)
            {
                _streams[i] = new QuantileStream(metric.Objectives);
            }

            _headExpiresMs = CreatedMs + (metric.MaxAgeMs / metric.AgeBuckets);
        }
        else
        {
            _buffer = [];
            _streams = [];
        }
    }

    /// <summary>The number of observations (all time).</summary>
    public long Count => Volatile.Read(ref _count);

    /// <summary>The sum of observations (all time).</summary>
    public double Sum
    {
        get
        {
            lock (_lock)
            {
                return _sum;
            }
        }
    }

    internal override long ChangeStamp => Count;

    /// <summary>Records an observation.</summary>
    public void Observe(double value)
    {
        lock (_lock)
        {
            _count++;
            _sum += value;
            if (_streams.Length == 0 || double.IsNaN(value))
            {
                return;
            }

            _buffer[_buffered++] = value;
            if (_buffered == _buffer.Length)
            {
                Flush(Metric.Registry.NowMs());
            }
        }
    }

    /// <summary>The current estimate of quantile <paramref name="q"/> over the window; NaN when the window is empty.</summary>
    public double Quantile(double q)
    {
        lock (_lock)
        {
            if (_streams.Length == 0)
            {
                return double.NaN;
            }

            Flush(Metric.Registry.NowMs());
            return _streams[_head].Query(q);
        }
    }

    /// <summary>The sketch entries held across all age streams (for memory-bound tests).</summary>
    internal int StreamEntries()
    {
        lock (_lock)
        {
            Flush(Metric.Registry.NowMs());
            return _streams.Sum(s => s.EntryCount);
        }
    }

    private void Flush(long nowMs)
    {
        Rotate(nowMs);
        if (_buffered == 0)
        {
            return;
        }

        var batch = _buffer.AsSpan(0, _buffered);
        batch.Sort();
        foreach (var s in _streams)
        {
            s.InsertSorted(batch);
        }

        _buffered = 0;
    }

    private void Rotate(long nowMs)
    {
        var step = Math.Max(1, _summary.MaxAgeMs / _summary.AgeBuckets);
        var rotations = 0;
        while (nowMs >= _headExpiresMs && rotations < _streams.Length)
        {
            _streams[_head].Reset();
            _head = (_head + 1) % _streams.Length;
            _headExpiresMs += step;
            rotations++;
        }

        if (nowMs >= _headExpiresMs)
        {
            // Idle longer than MaxAge: every stream is already empty; realign instead of looping.
            _headExpiresMs = nowMs + step;
        }
    }

    internal override void Write(ExpositionWriter writer, FamilyEncoding encoding)
    {
        var pairs = EncodedPairs(writer.Escaping);
        long count;
        double sum;
        Span<double> quantiles = stackalloc double[encoding.BoundPairs.Length];
        lock (_lock)
        {
            if (_streams.Length > 0)
            {
                Flush(Metric.Registry.NowMs());
                for (var i = 0; i < quantiles.Length; i++)
                {
                    quantiles[i] = _streams[_head].Query(_summary.Objectives[i].Quantile);
                }
            }

            count = _count;
            sum = _sum;
        }

        for (var i = 0; i < quantiles.Length; i++)
        {
            writer.WriteSample(encoding.SampleName, pairs, encoding.BoundPairs[i], quantiles[i]);
        }

        writer.WriteSample(encoding.SumName!, pairs, default, sum);
        writer.WriteSample(encoding.CountName!, pairs, default, count);
        WriteCreated(writer, encoding, pairs);
    }
}
