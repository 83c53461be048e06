using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Registry;

/// <summary>A value that can go up and down.</summary>
public sealed class Gauge : Metric<GaugeSeries>
{
    internal Gauge(MetricRegistry registry, string name, string help, GaugeOptions options, MetricType type = MetricType.Gauge)
        : base(registry, name, help, type, options, string.Empty)
    {
    }

    /// <summary>Sets the value (metric without labels).</summary>
    public void Set(double value) => Unlabeled.Set(value);

    /// <summary>Adds one (metric without labels).</summary>
    public void Inc() => Unlabeled.Inc();

    /// <summary>Adds <paramref name="amount"/> (metric without labels).</summary>
    public void Inc(double amount) => Unlabeled.Inc(amount);

    /// <summary>Subtracts one (metric without labels).</summary>
    public void Dec() => Unlabeled.Dec();

    /// <summary>Subtracts <paramref name="amount"/> (metric without labels).</summary>
    public void Dec(double amount) => Unlabeled.Dec(amount);

    /// <summary>Sets the value to the current Unix time in seconds (metric without labels).</summary>
    public void SetToCurrentTime() => Unlabeled.SetToCurrentTime();

    /// <summary>The current value (metric without labels).</summary>
    public double Value => Unlabeled.Value;

    internal override IEnumerable<string> ReservedNames => [Name];

    private protected override GaugeSeries CreateSeries(string[] labelValues, int hash, bool isOverflow) => new(this, labelValues, hash, isOverflow);

    private protected override FamilyEncoding BuildEncoding(ExpositionFormat format, NameEscaping escaping) => new()
    {
        MetadataName = Encode(Name, escaping),
        SampleName = Encode(Name, escaping),
    };
}

/// <summary>One series of a <see cref="Gauge"/> (or of an untyped metric).</summary>
public sealed class GaugeSeries : MetricSeries
{
    private double _value;

    internal GaugeSeries(Gauge metric, string[] labelValues, int hash, bool isOverflow)
        : base(metric, labelValues, hash, isOverflow)
    {
    }

    /// <summary>The current value.</summary>
    public double Value => Volatile.Read(ref _value);

    internal override long ChangeStamp => BitConverter.DoubleToInt64Bits(Volatile.Read(ref _value));

    /// <summary>Sets the value.</summary>
    public void Set(double value) => Volatile.Write(ref _value, value);

    /// <summary>Adds one.</summary>
    public void Inc() => Add(1);

    /// <summary>Adds <paramref name="amount"/> (may be negative).</summary>
    public void Inc(double amount) => Add(amount);

    /// <summary>Subtracts one.</summary>
    public void Dec() => Add(-1);

    /// <summary>Subtracts <paramref name="amount"/>.</summary>
    public void Dec(double amount) => Add(-amount);

    /// <summary>Sets the value to the registry clock's Unix time in seconds.</summary>
    public void SetToCurrentTime() => Set(Metric.Registry.NowMs() / 1000.0);

    /// <summary>Sets the value to <paramref name="value"/> if it is higher than the current one.</summary>
    public void IncTo(double value)
    {
        var current = Volatile.Read(ref _value);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref _value, value, current);
            if (BitConverter.DoubleToInt64Bits(seen) == BitConverter.DoubleToInt64Bits(current))
            {
                return;
            }

            current = seen;
        }
    }

    private void Add(double amount)
    {
        var current = Volatile.Read(ref _value);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref _value, current + amount, current);
            if (BitConverter.DoubleToInt64Bits(seen) == BitConverter.DoubleToInt64Bits(current))
            {
                return;
            }

            current = seen;
        }
    }

    internal override void Write(ExpositionWriter writer, FamilyEncoding encoding) =>
        writer.WriteSample(encoding.SampleName, EncodedPairs(writer.Escaping), default, Value);
}
