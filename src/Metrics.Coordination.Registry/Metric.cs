using System.Runtime.CompilerServices;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Registry;

/// <summary>Encoded names and metadata of one metric family for one format and name escaping, built on first scrape.</summary>
internal sealed class FamilyEncoding
{
    public required byte[] MetadataName { get; init; }

    public required byte[] SampleName { get; init; }

    public byte[]? SumName { get; init; }

    public byte[]? CountName { get; init; }

    public byte[]? BucketName { get; init; }

    public byte[]? CreatedName { get; init; }

    /// <summary><c>le="..."</c> or <c>quantile="..."</c> pairs, one per bound.</summary>
    public byte[][] BoundPairs { get; init; } = [];

    /// <summary>The HELP/TYPE/UNIT lines, ready to copy.</summary>
    public byte[] Metadata { get; set; } = [];
}

/// <summary>
/// A metric family registered in a <see cref="MetricRegistry"/>: its name, help, type and label names.
/// Instruments come from the registry's <c>Create*</c> methods.
/// </summary>
public abstract class Metric
{
    /// <summary>The label that marks the overflow series of a metric over its cardinality limit (OpenTelemetry's name).</summary>
    public const string OverflowLabelName = "otel_metric_overflow";

    private readonly FamilyEncoding?[] _encodings = new FamilyEncoding?[8];

    private protected Metric(MetricRegistry registry, string name, string help, MetricType type, MetricOptions options, string shape)
    {
        Registry = registry;
        Name = name;
        Help = help;
        Type = type;
        Unit = options.Unit;
        LabelNamesArray = [.. options.LabelNames];
        Shape = shape;
        LabelSetExpiry = options.LabelSetExpiry;
        CardinalityLimit = options.CardinalityLimit;
        foreach (var n in LabelNamesArray)
        {
            if (!MetricNames.IsValidLegacyLabelName(n))
            {
                LabelNamesNeedEscaping = true;
            }
        }
    }

    /// <summary>The family name (for counters without <c>_total</c>, as OpenMetrics names families).</summary>
    public string Name { get; }

    /// <summary>The help text.</summary>
    public string Help { get; }

    /// <summary>The type.</summary>
    public MetricType Type { get; }

    /// <summary>The OpenMetrics unit, or null.</summary>
    public string? Unit { get; }

    /// <summary>The label names, in <c>WithLabels</c> order.</summary>
    public IReadOnlyList<string> LabelNames => LabelNamesArray;

    /// <summary>How many label sets the metric holds now.</summary>
    public abstract int SeriesCount { get; }

    internal MetricRegistry Registry { get; }

    internal string[] LabelNamesArray { get; }

    internal bool LabelNamesNeedEscaping { get; }

    /// <summary>Type-specific definition (buckets, objectives) compared on re-registration.</summary>
    internal string Shape { get; }

    internal TimeSpan? LabelSetExpiry { get; }

    internal int? CardinalityLimit { get; }

    /// <summary>The names of every sample line this family writes, for collision checks at registration.</summary>
    internal abstract IEnumerable<string> ReservedNames { get; }

    /// <summary>A description for error messages: <c>counter http_requests{method,code} "help"</c>.</summary>
    internal string Definition =>
        $"{Type.ToString().ToLowerInvariant()} {Name}{{{string.Join(",", LabelNamesArray)}}}{(Unit is null ? string.Empty : " unit=" + Unit)}{(Shape.Length > 0 ? " " + Shape : string.Empty)} \"{Help}\"";

    internal bool SameDefinition(MetricType type, string help, MetricOptions options, string shape) =>
        type == Type && help == Help && options.Unit == Unit && shape == Shape &&
        options.LabelNames.SequenceEqual(LabelNamesArray);

    internal FamilyEncoding GetEncoding(ExpositionFormat format, NameEscaping escaping)
    {
        var index = ((int)format * 4) + (int)escaping;
        var enc = Volatile.Read(ref _encodings[index]);
        if (enc is null)
        {
            enc = BuildEncoding(format, escaping);
            var buffer = new System.Buffers.ArrayBufferWriter<byte>(128);
            new ExpositionWriter(buffer, format, escaping).WriteMetadata(enc.MetadataName, Type, Help, Unit);
            enc.Metadata = buffer.WrittenSpan.ToArray();
            Volatile.Write(ref _encodings[index], enc);
        }

        return enc;
    }

    private protected abstract FamilyEncoding BuildEncoding(ExpositionFormat format, NameEscaping escaping);

    /// <summary>Finishes construction once the derived constructor has run; called by the registry on registration.</summary>
    internal virtual void Initialize()
    {
    }

    private protected static byte[] Encode(string name, NameEscaping escaping) => ExpositionWriter.EncodeName(name, escaping);

    internal abstract bool HasSeries { get; }

    /// <summary>Writes up to <paramref name="maxSeries"/> series from <paramref name="cursor"/>; returns the next cursor, or -1 when done.</summary>
    internal abstract int WriteSeries(ExpositionWriter writer, FamilyEncoding encoding, int cursor, int maxSeries);

    /// <summary>Removes label sets idle longer than <see cref="LabelSetExpiry"/>.</summary>
    internal abstract void Sweep(long nowMs);
}

/// <summary>A metric whose series are <typeparamref name="TSeries"/> handles, looked up by label values.</summary>
/// <typeparam name="TSeries">The series handle type.</typeparam>
public abstract class Metric<TSeries> : Metric
    where TSeries : MetricSeries
{
    private const int HashMultiplier = -1521134295;

    private readonly SeriesTable _table = new();
    private TSeries? _unlabeled;
    private TSeries? _overflow;

    private protected Metric(MetricRegistry registry, string name, string help, MetricType type, MetricOptions options, string shape)
        : base(registry, name, help, type, options, shape)
    {
    }

    /// <summary>
    /// Finishes construction: a metric without labels gets its one series now, so recording on it never branches
    /// on creation. Called by the registry once the derived constructor has set what <c>CreateSeries</c> needs.
    /// </summary>
    internal override void Initialize()
    {
        if (LabelNamesArray.Length == 0)
        {
            _unlabeled = CreateSeries([], 0, isOverflow: false);
        }
    }

    /// <inheritdoc />
    public override int SeriesCount => LabelNamesArray.Length == 0 ? 1 : _table.Count + (_overflow is null ? 0 : 1);

    /// <summary>The series of a metric without labels. Throws when the metric has labels.</summary>
    private protected TSeries Unlabeled => _unlabeled ?? throw new InvalidOperationException(
        $"Metric '{Name}' has labels ({string.Join(", ", LabelNamesArray)}); record through WithLabels(...).");

    /// <summary>The series for one label value (the metric must have exactly one label). Cache the result on hot paths.</summary>
    public TSeries WithLabels(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (LabelNamesArray.Length != 1)
        {
            ThrowLabelCount(1);
        }

        var hash = value.GetHashCode();
        var found = _table.Find(hash, value);
        if (found is not null)
        {
            Touch(found);
            return Unsafe.As<TSeries>(found);
        }

        return AddSlow([value], hash);
    }

    /// <summary>The series for two label values. Cache the result on hot paths.</summary>
    public TSeries WithLabels(string value0, string value1)
    {
        ArgumentNullException.ThrowIfNull(value0);
        ArgumentNullException.ThrowIfNull(value1);
        if (LabelNamesArray.Length != 2)
        {
            ThrowLabelCount(2);
        }

        var hash = unchecked((value0.GetHashCode() * HashMultiplier) + value1.GetHashCode());
        var found = _table.Find(hash, value0, value1);
        if (found is not null)
        {
            Touch(found);
            return Unsafe.As<TSeries>(found);
        }

        return AddSlow([value0, value1], hash);
    }

    /// <summary>The series for three label values. Cache the result on hot paths.</summary>
    public TSeries WithLabels(string value0, string value1, string value2)
    {
        ArgumentNullException.ThrowIfNull(value0);
        ArgumentNullException.ThrowIfNull(value1);
        ArgumentNullException.ThrowIfNull(value2);
        if (LabelNamesArray.Length != 3)
        {
            ThrowLabelCount(3);
        }

        var hash = unchecked((((value0.GetHashCode() * HashMultiplier) + value1.GetHashCode()) * HashMultiplier) + value2.GetHashCode());
        var found = _table.Find(hash, value0, value1, value2);
        if (found is not null)
        {
            Touch(found);
            return Unsafe.As<TSeries>(found);
        }

        return AddSlow([value0, value1, value2], hash);
    }

    /// <summary>The series for any number of label values, in <see cref="Metric.LabelNames"/> order.</summary>
    public TSeries WithLabels(params ReadOnlySpan<string> values)
    {
        if (values.Length != LabelNamesArray.Length)
        {
            ThrowLabelCount(values.Length);
        }

        if (values.Length == 0)
        {
            return Unlabeled;
        }

        var hash = Hash(values);
        var found = _table.Find(hash, values);
        if (found is not null)
        {
            Touch(found);
            return Unsafe.As<TSeries>(found);
        }

        return AddSlow(values.ToArray(), hash);
    }

    /// <summary>Removes the series with these label values; returns whether it existed. Handles to it record nowhere afterwards.</summary>
    public bool RemoveLabels(params ReadOnlySpan<string> values)
    {
        if (values.Length != LabelNamesArray.Length)
        {
            ThrowLabelCount(values.Length);
        }

        foreach (var v in values)
        {
            ArgumentNullException.ThrowIfNull(v, nameof(values));
        }

        if (values.Length == 0)
        {
            return false;
        }

        var hash = Hash(values);
        lock (_table.SyncRoot)
        {
            var found = _table.Find(hash, values);
            return found is not null && _table.RemoveLocked(found);
        }
    }

    /// <summary>Removes every labelled series (and the overflow series).</summary>
    public void Clear()
    {
        lock (_table.SyncRoot)
        {
            _table.ClearLocked();
            if (_overflow is not null)
            {
                _overflow.Removed = true;
                _overflow = null;
            }
        }
    }

    /// <summary>A snapshot of the live series.</summary>
    public IReadOnlyList<TSeries> GetSeries()
    {
        var list = new List<TSeries>();
        if (_unlabeled is not null)
        {
            list.Add(_unlabeled);
        }

        if (Volatile.Read(ref _overflow) is { } overflow)
        {
            list.Add(overflow);
        }

        foreach (var s in _table.Slots)
        {
            if (SeriesTable.IsLive(s))
            {
                list.Add(Unsafe.As<TSeries>(s!));
            }
        }

        return list;
    }

    /// <summary>Appends the live series to <paramref name="destination"/> (a list the caller reuses, so nothing is allocated per collection).</summary>
    internal void CopySeriesTo(List<MetricSeries> destination)
    {
        if (_unlabeled is not null)
        {
            destination.Add(_unlabeled);
        }

        if (Volatile.Read(ref _overflow) is { } overflow)
        {
            destination.Add(overflow);
        }

        foreach (var s in _table.Slots)
        {
            if (SeriesTable.IsLive(s))
            {
                destination.Add(s!);
            }
        }
    }

    private protected abstract TSeries CreateSeries(string[] labelValues, int hash, bool isOverflow);

    internal override bool HasSeries => _unlabeled is not null || _table.Count > 0 || Volatile.Read(ref _overflow) is not null;

    internal override int WriteSeries(ExpositionWriter writer, FamilyEncoding encoding, int cursor, int maxSeries)
    {
        if (_unlabeled is not null)
        {
            _unlabeled.Write(writer, encoding);
            return -1;
        }

        // Cursor 0 is the overflow series; 1 + i is slot i of the current table.
        if (cursor == 0)
        {
            Volatile.Read(ref _overflow)?.Write(writer, encoding);
            cursor = 1;
        }

        var slots = _table.Slots;
        var written = 0;
        var i = cursor - 1;
        for (; i < slots.Length && written < maxSeries; i++)
        {
            var s = slots[i];
            if (SeriesTable.IsLive(s))
            {
                s!.Write(writer, encoding);
                written++;
            }
        }

        return i >= slots.Length ? -1 : i + 1;
    }

    internal override void Sweep(long nowMs)
    {
        if (LabelSetExpiry is not { } expiry || _unlabeled is not null)
        {
            return;
        }

        var expiryMs = (long)expiry.TotalMilliseconds;
        lock (_table.SyncRoot)
        {
            foreach (var s in _table.Slots)
            {
                if (!SeriesTable.IsLive(s))
                {
                    continue;
                }

                var stamp = s!.ChangeStamp;
                if (stamp != s.LastSeenStamp || s.Touched)
                {
                    s.LastSeenStamp = stamp;
                    s.LastChangeMs = nowMs;
                    s.Touched = false;
                }
                else if (nowMs - s.LastChangeMs >= expiryMs)
                {
                    _table.RemoveLocked(s);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Touch(MetricSeries series)
    {
        // Only metrics with expiry pay for the write, and only once between sweeps.
        if (LabelSetExpiry is not null && !series.Touched)
        {
            series.Touched = true;
        }
    }

    private static int Hash(ReadOnlySpan<string> values)
    {
        var hash = values[0].GetHashCode();
        for (var i = 1; i < values.Length; i++)
        {
            hash = unchecked((hash * HashMultiplier) + values[i].GetHashCode());
        }

        return hash;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private TSeries AddSlow(string[] values, int hash)
    {
        for (var i = 0; i < values.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(values[i], nameof(values));
            if (!MetricNames.IsWellFormedUtf16(values[i]))
            {
                throw new ArgumentException(
                    $"Value of label '{LabelNamesArray[i]}' of metric '{Name}' is not valid UTF-8 text (it contains an unpaired surrogate).",
                    nameof(values));
            }
        }

        lock (_table.SyncRoot)
        {
            var found = _table.Find(hash, values);
            if (found is not null)
            {
                return Unsafe.As<TSeries>(found);
            }

            if (CardinalityLimit is { } limit && _table.Count >= limit)
            {
                Registry.CountOverflow(this);
                return _overflow ??= CreateSeries([], 0, isOverflow: true);
            }

            var series = CreateSeries(values, hash, isOverflow: false);
            _table.AddLocked(series);
            return series;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowLabelCount(int given) => throw new ArgumentException(
        $"Metric '{Name}' has {LabelNamesArray.Length} label(s) ({string.Join(", ", LabelNamesArray)}) but {given} value(s) were given.");
}
