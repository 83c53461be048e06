namespace Metrics.Coordination.Abstractions.Exposition;

/// <summary>
/// A metric family as read from, or to be written as, exposition text: metadata plus samples.
/// This is the convenient object model (tools, tests, callback collectors); the registry's scrape path does not use it.
/// </summary>
public sealed class MetricFamily
{
    /// <summary>Creates a family.</summary>
    /// <param name="name">The family name: for OpenMetrics counters without <c>_total</c>.</param>
    /// <param name="type">The family type.</param>
    /// <param name="help">The help text, or null when none was given.</param>
    /// <param name="unit">The OpenMetrics unit, or null.</param>
    public MetricFamily(string name, MetricType type, string? help = null, string? unit = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        Name = name;
        Type = type;
        Help = help;
        Unit = unit;
    }

    /// <summary>The family name.</summary>
    public string Name { get; }

    /// <summary>The family type.</summary>
    public MetricType Type { get; }

    /// <summary>The help text, or null.</summary>
    public string? Help { get; }

    /// <summary>The unit, or null.</summary>
    public string? Unit { get; }

    /// <summary>The samples, in exposition order.</summary>
    public List<MetricSample> Samples { get; } = [];

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Type}, {Samples.Count} samples)";
}

/// <summary>One sample line.</summary>
/// <param name="Name">The full sample name, suffix included (<c>foo_bucket</c>, <c>foo_total</c>).</param>
/// <param name="Labels">The labels, without <c>__name__</c>.</param>
/// <param name="Value">The value.</param>
/// <param name="TimestampMs">The timestamp in milliseconds since the Unix epoch, or null.</param>
/// <param name="Exemplar">The OpenMetrics exemplar, or null.</param>
public sealed record MetricSample(string Name, Labels Labels, double Value, long? TimestampMs = null, Exemplar? Exemplar = null)
{
    /// <summary>Compares values by bits, so NaN equals NaN and -0 differs from +0.</summary>
    public bool Equals(MetricSample? other) =>
        other is not null && Name == other.Name && Labels.Equals(other.Labels) &&
        BitConverter.DoubleToInt64Bits(Value) == BitConverter.DoubleToInt64Bits(other.Value) &&
        TimestampMs == other.TimestampMs && Equals(Exemplar, other.Exemplar);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Name, Labels, BitConverter.DoubleToInt64Bits(Value), TimestampMs);
}

/// <summary>An OpenMetrics exemplar: labels (at most 128 UTF-8 characters in all), a value and an optional timestamp.</summary>
/// <param name="Labels">The exemplar labels, such as <c>trace_id</c>.</param>
/// <param name="Value">The observed value.</param>
/// <param name="TimestampMs">The time of the observation in milliseconds since the epoch, or null.</param>
public sealed record Exemplar(Labels Labels, double Value, long? TimestampMs = null)
{
    /// <summary>OpenMetrics caps the combined length of exemplar label names and values at 128 UTF-8 characters.</summary>
    public const int MaxLabelSetLength = 128;

    /// <summary>Compares values by bits.</summary>
    public bool Equals(Exemplar? other) =>
        other is not null && Labels.Equals(other.Labels) &&
        BitConverter.DoubleToInt64Bits(Value) == BitConverter.DoubleToInt64Bits(other.Value) && TimestampMs == other.TimestampMs;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Labels, BitConverter.DoubleToInt64Bits(Value), TimestampMs);
}
