using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Registry;

/// <summary>A monotonically increasing count, exposed as <c>name_total</c> (and <c>name_created</c> in OpenMetrics).</summary>
public sealed class Counter : Metric<CounterSeries>
{
    internal Counter(MetricRegistry registry, string name, string help, CounterOptions options)
        : base(registry, name, help, MetricType.Counter, options, string.Empty)
    {
    }

    /// <summary>Adds one (metric without labels).</summary>
    public void Inc() => Unlabeled.Inc();

    /// <summary>Adds <paramref name="amount"/>, which must be non-negative (metric without labels).</summary>
    public void Inc(double amount) => Unlabeled.Inc(amount);

    /// <summary>The current value (metric without labels).</summary>
    public double Value => Unlabeled.Value;

    internal override IEnumerable<string> ReservedNames => [Name, Name + "_total", Name + "_created"];

    private protected override CounterSeries CreateSeries(string[] labelValues, int hash, bool isOverflow) => new(this, labelValues, hash, isOverflow);

    private protected override FamilyEncoding BuildEncoding(ExpositionFormat format, NameEscaping escaping) => new()
    {
        // Prometheus text names the family after its sample (foo_total); OpenMetrics names it without the suffix.
        MetadataName = Encode(format == ExpositionFormat.PrometheusText ? Name + "_total" : Name, escaping),
        SampleName = Encode(Name + "_total", escaping),
        CreatedName = Encode(Name + "_created", escaping),
    };
}

/// <summary>One series of a <see cref="Counter"/>.</summary>
public sealed class CounterSeries : MetricSeries
{
    // Whole increments go to a 64-bit integer (one atomic add, exact to 2^63); fractional ones to a double updated
    // with compare-and-swap. The value is their sum.
    private long _whole;
    private double _fraction;

    internal CounterSeries(Counter metric, string[] labelValues, int hash, bool isOverflow)
        : base(metric, labelValues, hash, isOverflow)
    {
    }

    /// <summary>The current value.</summary>
    public double Value => Volatile.Read(ref _whole) + Volatile.Read(ref _fraction);

    internal override long ChangeStamp => Volatile.Read(ref _whole) ^ BitConverter.DoubleToInt64Bits(Volatile.Read(ref _fraction));

    /// <summary>Adds one.</summary>
    public void Inc() => Interlocked.Increment(ref _whole);

    /// <summary>Adds a non-negative whole amount.</summary>
    public void Inc(long amount)
    {
        if (amount < 0)
        {
            ThrowNegative(amount);
        }

        Interlocked.Add(ref _whole, amount);
    }

    /// <summary>Adds <paramref name="amount"/>, which must be non-negative and not NaN.</summary>
    public void Inc(double amount)
    {
        if (!(amount >= 0))
        {
            ThrowNegative(amount);
        }

        // 2^53: above it a double no longer holds every integer, so the long path would not be exact anyway.
        if (amount < 9007199254740992.0 && amount == Math.Floor(amount))
        {
            Interlocked.Add(ref _whole, (long)amount);
            return;
        }

        AddFraction(amount);
    }

    /// <summary>Raises the value to <paramref name="target"/> if it is lower (for counters mirrored from another source).</summary>
    public void IncTo(double target)
    {
        var current = Value;
        if (target > current)
        {
            Inc(target - current);
        }
    }

    private void AddFraction(double amount)
    {
        var current = Volatile.Read(ref _fraction);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref _fraction, current + amount, current);
            if (BitConverter.DoubleToInt64Bits(seen) == BitConverter.DoubleToInt64Bits(current))
            {
                return;
            }

            current = seen;
        }
    }

    private void ThrowNegative(double amount) => throw new ArgumentOutOfRangeException(
        nameof(amount), amount, $"Counter '{Metric.Name}' can only increase; got {amount}.");

    internal override void Write(ExpositionWriter writer, FamilyEncoding encoding)
    {
        var pairs = EncodedPairs(writer.Escaping);
        writer.WriteSample(encoding.SampleName, pairs, default, Value);
        WriteCreated(writer, encoding, pairs);
    }
}
