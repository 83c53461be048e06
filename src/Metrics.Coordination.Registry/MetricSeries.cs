using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Registry;

/// <summary>
/// One labelled series of a metric: the handle that <c>WithLabels(...)</c> returns. Keep it and record through it;
/// recording on a cached handle costs no lookup and allocates nothing.
/// </summary>
public abstract class MetricSeries
{
    internal readonly string[] LabelValuesArray;
    internal readonly int HashCode;
    internal readonly long CreatedMs;

    // Expiry bookkeeping, used only when the metric has LabelSetExpiry: the change stamp seen at the last sweep
    // and when it last changed. Written only by the scrape that sweeps (under the metric's sweep lock).
    internal long LastSeenStamp;
    internal long LastChangeMs;
    internal bool Touched;
    internal volatile bool Removed;

    private byte[]? _encodedPairs;
    private byte[]?[]? _encodedPairsByEscaping;

    /// <summary>For the table's tombstone sentinel only.</summary>
    private protected MetricSeries()
    {
        Metric = null!;
        LabelValuesArray = [];
    }

    private protected MetricSeries(Metric metric, string[] labelValues, int hashCode, bool isOverflow)
    {
        Metric = metric;
        LabelValuesArray = labelValues;
        HashCode = hashCode;
        IsOverflow = isOverflow;
        CreatedMs = metric.Registry.NowMs();
        LastChangeMs = CreatedMs;
    }

    /// <summary>The metric this series belongs to.</summary>
    public Metric Metric { get; }

    /// <summary>The label values, in the order of <see cref="Metric.LabelNames"/>.</summary>
    public IReadOnlyList<string> LabelValues => LabelValuesArray;

    /// <summary>Whether this is the overflow series of a metric over its cardinality limit.</summary>
    public bool IsOverflow { get; }

    /// <summary>Whether the series was removed (by <c>RemoveLabels</c> or expiry); a removed series records nowhere.</summary>
    public bool IsRemoved => Removed;

    /// <summary>A number that changes whenever the series' value changes; expiry compares it between scrapes.</summary>
    internal abstract long ChangeStamp { get; }

    internal bool Matches(string v0) => string.Equals(LabelValuesArray[0], v0, StringComparison.Ordinal);

    internal bool Matches(string v0, string v1) =>
        string.Equals(LabelValuesArray[0], v0, StringComparison.Ordinal) &&
        string.Equals(LabelValuesArray[1], v1, StringComparison.Ordinal);

    internal bool Matches(string v0, string v1, string v2) =>
        string.Equals(LabelValuesArray[0], v0, StringComparison.Ordinal) &&
        string.Equals(LabelValuesArray[1], v1, StringComparison.Ordinal) &&
        string.Equals(LabelValuesArray[2], v2, StringComparison.Ordinal);

    internal bool Matches(ReadOnlySpan<string> values)
    {
        var own = LabelValuesArray;
        for (var i = 0; i < own.Length; i++)
        {
            if (!string.Equals(own[i], values[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The label pairs encoded for exposition, built once per escaping and cached for later scrapes.</summary>
    internal byte[] EncodedPairs(NameEscaping escaping)
    {
        if (!Metric.LabelNamesNeedEscaping)
        {
            return _encodedPairs ??= Encode(escaping);
        }

        var cache = _encodedPairsByEscaping ??= new byte[]?[4];
        return cache[(int)escaping] ??= Encode(escaping);
    }

    /// <summary>The labels as a label set (without <c>__name__</c>).</summary>
    public Labels ToLabels()
    {
        if (IsOverflow)
        {
            return Labels.FromStrings(Metric.OverflowLabelName, "true");
        }

        var names = Metric.LabelNamesArray;
        var pairs = new Label[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            pairs[i] = new Label(names[i], LabelValuesArray[i]);
        }

        return Labels.From(pairs);
    }

    private byte[] Encode(NameEscaping escaping) => IsOverflow
        ? ExpositionWriter.EncodeLabelPairs([Metric.OverflowLabelName], ["true"], escaping)
        : ExpositionWriter.EncodeLabelPairs(Metric.LabelNamesArray, LabelValuesArray, escaping);

    /// <summary>Writes this series' sample lines.</summary>
    internal abstract void Write(ExpositionWriter writer, FamilyEncoding encoding);

    /// <summary>Writes <c>name_created</c> (OpenMetrics only) in seconds.</summary>
    private protected void WriteCreated(ExpositionWriter writer, FamilyEncoding encoding, byte[] pairs)
    {
        if (writer.Format == ExpositionFormat.OpenMetrics && encoding.CreatedName is { } created)
        {
            writer.WriteUnixSecondsSample(created, pairs, CreatedMs);
        }
    }
}
