using System.Buffers;
using System.Runtime.CompilerServices;
using Metrics.Coordination.Abstractions;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Registry;

/// <summary>
/// One bridged Prometheus family and the tag-key bookkeeping of the instruments recording into it (usually one; more
/// when several <c>Meter</c> instances of one name create the same instrument, as <c>IMeterFactory</c> does per host).
/// <para>
/// Tag keys map to <em>slots</em>: a slot is one sanitized label name; keys that sanitize to the same name share a slot
/// (a collision, whose values are joined with <c>;</c> in the order of the original keys, as the specification says).
/// The label sets live in <em>generations</em> (see <see cref="BridgeMetric"/>): a measurement goes to the first
/// generation whose labels cover every tag it carries with a non-empty value, with the labels it lacks set to the
/// empty string (which Prometheus treats as absent). A measurement with a tag no generation covers adds a generation
/// with every label seen so far. So one identity (the set of non-empty tags) always lands in the same generation and
/// series, no series is ever migrated, and the common case of a fixed tag-key set has exactly one generation.
/// </para>
/// </summary>
internal sealed class BridgeFamily
{
    /// <summary>Most label names per family: the routing mask is one 64-bit word. Further keys are dropped (logged).</summary>
    public const int MaxLabelNames = 64;

    public const string ScopeNameLabel = "otel_scope_name";
    public const string ScopeVersionLabel = "otel_scope_version";

    private const int Unknown = -2;
    private const int Ignored = -1;

    // Up to this many distinct keys a reference-then-ordinal scan beats a dictionary lookup: tag keys are nearly
    // always the same interned literal, so the first (reference) pass hits after a compare or two.
    private const int LinearKeyLimit = 8;

    private readonly Lock _lock = new();
    private readonly ILogger _logger;
    private readonly TagValueFormatter _formatter;
    private readonly IReadOnlySet<string> _excludedTags;
    private readonly bool _scopeLabels;
    private readonly RecentEntry?[] _recent = new RecentEntry?[RecentEntry.CacheSize];
    private State _state;
    private MetricSeries? _noTags;

    public BridgeFamily(BridgeMetric metric, ILogger logger, TagValueFormatter formatter, IReadOnlySet<string> excludedTags, bool scopeLabels)
    {
        Metric = metric;
        _logger = logger;
        _formatter = formatter;
        _excludedTags = excludedTags;
        _scopeLabels = scopeLabels;
        _state = scopeLabels ? State.Empty.WithSlots([ScopeNameLabel, ScopeVersionLabel]) : State.Empty;
    }

    public BridgeMetric Metric { get; }

    public string Name => Metric.Name;

    /// <summary>How many instruments record into this family; changed under the bridge's lock.</summary>
    public int Instruments { get; set; }

    /// <summary>
    /// The series for a measurement with these tags (and the instrument's scope labels, when enabled). The first look is
    /// the exact-shape cache: the same keys and values, as the same object instances, in the same order, as a recent
    /// measurement (see <see cref="RecentEntry"/>); that is nearly every measurement of a steady workload, and costs a
    /// few reference comparisons.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public MetricSeries Resolve(ReadOnlySpan<KeyValuePair<string, object?>> tags, BridgeInstrument instrument)
    {
        if (!_scopeLabels)
        {
            if (tags.Length == 0)
            {
                var none = _noTags;
                if (none is not null)
                {
                    return none;
                }
            }
            else if (tags.Length <= RecentEntry.MaxTags)
            {
                var entry = _recent[RecentEntry.Slot(tags)];
                if (entry is not null && entry.Matches(tags))
                {
                    return entry.Series;
                }
            }
        }

        return ResolveMiss(tags, instrument);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private MetricSeries ResolveMiss(ReadOnlySpan<KeyValuePair<string, object?>> tags, BridgeInstrument instrument)
    {
        if (_scopeLabels)
        {
            // The scope values belong to the instrument, so a tag shape alone does not identify a series: no caching.
            return ResolveGeneral(tags, instrument);
        }

        var series = (tags.Length <= 3 ? TryResolveShort(tags) : null) ?? ResolveGeneral(tags, instrument);
        if (tags.Length == 0)
        {
            _noTags = series;
        }
        else if (tags.Length <= RecentEntry.MaxTags && RecentEntry.IsCacheable(tags))
        {
            // Fill empty slots only: a slot, once taken, keeps its shape for the family's life. So the cache allocates
            // at most one entry per slot ever, and a workload with more shapes than slots (or values boxed afresh on
            // each call) costs the slower path, never allocations. The mapping from a shape to its series never
            // changes (a new tag key adds a label set but does not move existing identities), so entries cannot go stale.
            ref var slot = ref _recent[RecentEntry.Slot(tags)];
            if (slot is null)
            {
                Interlocked.CompareExchange(ref slot, new RecentEntry(tags, series), null);
            }
        }

        return series;
    }

    /// <summary>
    /// The allocation-free path for up to three tags: slots and values stay in locals, and the generation's
    /// WithLabels(v0..v2) overloads do the lookup. Null sends the measurement to the general path (an unknown key, two
    /// keys colliding in one measurement, a generation to add, or a generation wider than three labels).
    /// </summary>
    private MetricSeries? TryResolveShort(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var state = Volatile.Read(ref _state);
        ulong mask = 0;
        int s0 = -1, s1 = -1, s2 = -1;
        string? x0 = null, x1 = null, x2 = null;
        for (var i = 0; i < tags.Length; i++)
        {
            var slot = state.SlotOf(tags[i].Key);
            if (slot < 0)
            {
                if (slot == Unknown)
                {
                    return null;
                }

                continue;
            }

            var value = _formatter.Format(tags[i].Value);
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            var bit = 1UL << slot;
            if ((mask & bit) != 0)
            {
                return null;
            }

            mask |= bit;
            if (s0 < 0)
            {
                s0 = slot;
                x0 = value;
            }
            else if (s1 < 0)
            {
                s1 = slot;
                x1 = value;
            }
            else
            {
                s2 = slot;
                x2 = value;
            }
        }

        var generation = state.Route(mask);
        if (generation is null || generation.LabelCount > 3)
        {
            return null;
        }

        string v0 = string.Empty, v1 = string.Empty, v2 = string.Empty;
        if (s0 >= 0)
        {
            Place(generation.PositionOfSlot[s0], x0!, ref v0, ref v1, ref v2);
            if (s1 >= 0)
            {
                Place(generation.PositionOfSlot[s1], x1!, ref v0, ref v1, ref v2);
                if (s2 >= 0)
                {
                    Place(generation.PositionOfSlot[s2], x2!, ref v0, ref v1, ref v2);
                }
            }
        }

        switch (generation.LabelCount)
        {
            case 0:
                return generation.Unlabeled!;
            case 1:
                return generation.Find(v0) ?? generation.Remember(generation.WithLabels(v0), v0);
            case 2:
                return generation.Find(v0, v1) ?? generation.Remember(generation.WithLabels(v0, v1), v0, v1);
            default:
                return generation.Find(v0, v1, v2) ?? generation.Remember(generation.WithLabels(v0, v1, v2), v0, v1, v2);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Place(int position, string value, ref string v0, ref string v1, ref string v2)
    {
        switch (position)
        {
            case 0: v0 = value; break;
            case 1: v1 = value; break;
            default: v2 = value; break;
        }
    }

    /// <summary>
    /// Any number of tags, scope labels, collisions, new keys and new generations. Scratch arrays come from the shared
    /// pool, so this path allocates only when it learns something (a key, a generation, a series) or joins collided
    /// values.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private MetricSeries ResolveGeneral(ReadOnlySpan<KeyValuePair<string, object?>> tags, BridgeInstrument instrument)
    {
        var capacity = tags.Length + 2;
        var slots = ArrayPool<int>.Shared.Rent(capacity);
        var keys = ArrayPool<string>.Shared.Rent(capacity);
        var values = ArrayPool<string>.Shared.Rent(capacity);
        string[]? labels = null;
        try
        {
            var state = Volatile.Read(ref _state);
            int count;
            while (!TryCollect(state, tags, instrument, slots, keys, values, out count))
            {
                state = AddKeys(tags);
            }

            ulong mask = 0;
            var collided = false;
            for (var i = 0; i < count; i++)
            {
                var bit = 1UL << slots[i];
                collided |= (mask & bit) != 0;
                mask |= bit;
            }

            var generation = state.Route(mask) ?? (state.Generations.Length >= BridgeMetric.MaxGenerations
                ? state.Route(mask & state.Generations[^1].Mask)!
                : AddGeneration(mask));
            labels = ArrayPool<string>.Shared.Rent(Math.Max(generation.LabelCount, 1));
            var span = labels.AsSpan(0, generation.LabelCount);
            span.Fill(string.Empty);
            for (var i = 0; i < count; i++)
            {
                var slot = slots[i];
                var position = slot < generation.PositionOfSlot.Length ? generation.PositionOfSlot[slot] : -1;
                if (position < 0)
                {
                    continue; // past the generation limit: a key the last generation lacks is dropped
                }

                span[position] = collided ? JoinCollided(slots, keys, values, count, slot) : values[i];
            }

            return generation.WithLabels(span);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(slots);
            ArrayPool<string>.Shared.Return(keys, clearArray: true);
            ArrayPool<string>.Shared.Return(values, clearArray: true);
            if (labels is not null)
            {
                ArrayPool<string>.Shared.Return(labels, clearArray: true);
            }
        }
    }

    /// <summary>Collects (slot, key, value) for every tag with a non-empty value; false when a key is not known yet.</summary>
    private bool TryCollect(State state, ReadOnlySpan<KeyValuePair<string, object?>> tags, BridgeInstrument instrument, int[] slots, string[] keys, string[] values, out int count)
    {
        count = 0;
        if (_scopeLabels)
        {
            // Slots 0 and 1 are the scope labels; their "keys" sort before any tag key of the same slot.
            if (!string.IsNullOrEmpty(instrument.ScopeName))
            {
                (slots[count], keys[count], values[count]) = (0, string.Empty, instrument.ScopeName);
                count++;
            }

            if (!string.IsNullOrEmpty(instrument.ScopeVersion))
            {
                (slots[count], keys[count], values[count]) = (1, string.Empty, instrument.ScopeVersion);
                count++;
            }
        }

        foreach (var tag in tags)
        {
            var slot = state.SlotOf(tag.Key);
            if (slot == Unknown)
            {
                return false;
            }

            if (slot == Ignored)
            {
                continue;
            }

            var value = _formatter.Format(tag.Value);
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            (slots[count], keys[count], values[count]) = (slot, tag.Key, value);
            count++;
        }

        return true;
    }

    /// <summary>The values of every key sharing <paramref name="slot"/>, ordered by original key and joined with <c>;</c>.</summary>
    private static string JoinCollided(int[] slots, string[] keys, string[] values, int count, int slot)
    {
        var parts = new List<(string Key, string Value)>(2);
        for (var i = 0; i < count; i++)
        {
            if (slots[i] == slot)
            {
                parts.Add((keys[i], values[i]));
            }
        }

        if (parts.Count == 1)
        {
            return parts[0].Value;
        }

        parts.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return string.Join(';', parts.Select(p => p.Value));
    }

    /// <summary>Learns every unknown key of <paramref name="tags"/>; returns the new state.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private State AddKeys(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        lock (_lock)
        {
            var state = _state;
            var keyNames = new List<string>(state.KeyNames);
            var keySlots = new List<int>(state.KeySlots);
            var slotNames = new List<string>(state.SlotNames);
            foreach (var tag in tags)
            {
                var key = tag.Key ?? string.Empty;
                if (keyNames.Contains(key, StringComparer.Ordinal))
                {
                    continue;
                }

                keyNames.Add(key);
                keySlots.Add(SlotFor(key, slotNames));
            }

            var next = state.With([.. keyNames], [.. keySlots], [.. slotNames]);
            Volatile.Write(ref _state, next);
            return next;
        }
    }

    private int SlotFor(string key, List<string> slotNames)
    {
        if (_excludedTags.Contains(key))
        {
            return Ignored;
        }

        var label = PrometheusNaming.SanitizeLabelName(key);
        if (label is null)
        {
            return Ignored;
        }

        // Names the family writes itself: a histogram's bucket bound, and the scope labels when they are on.
        if ((label == "le" && Metric.Type == MetricType.Histogram) ||
            (_scopeLabels && label is ScopeNameLabel or ScopeVersionLabel) ||
            label == Registry.Metric.OverflowLabelName)
        {
            label = "key_" + label;
        }

        var existing = slotNames.IndexOf(label);
        if (existing >= 0)
        {
            return existing;
        }

        if (slotNames.Count >= MaxLabelNames)
        {
            MeterBridgeLog.TooManyLabels(_logger, Name, key, MaxLabelNames);
            return Ignored;
        }

        slotNames.Add(label);
        return slotNames.Count - 1;
    }

    /// <summary>Adds a generation covering every label known now, or returns the one another thread added.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Generation AddGeneration(ulong mask)
    {
        lock (_lock)
        {
            var state = _state;
            var found = state.Route(mask);
            if (found is not null)
            {
                return found;
            }

            if (state.Generations.Length >= BridgeMetric.MaxGenerations)
            {
                // Keys the last generation lacks are dropped from here on (ResolveGeneral skips their positions), so
                // an identity still maps to one series; logged once.
                MeterBridgeLog.TooManyGenerations(_logger, Name, BridgeMetric.MaxGenerations);
                return state.Route(mask & state.Generations[^1].Mask)!;
            }

            var slotCount = state.SlotNames.Length;
            var ordered = Enumerable.Range(0, slotCount).OrderBy(s => state.SlotNames[s], StringComparer.Ordinal).ToArray();
            var positionOfSlot = new int[slotCount];
            var labelNames = new string[slotCount];
            for (var position = 0; position < ordered.Length; position++)
            {
                positionOfSlot[ordered[position]] = position;
                labelNames[position] = state.SlotNames[ordered[position]];
            }

            var allSlots = slotCount == 64 ? ulong.MaxValue : (1UL << slotCount) - 1;
            var generation = new Generation(allSlots, positionOfSlot, Metric.AddGeneration(labelNames));
            Volatile.Write(ref _state, state.WithGeneration(generation));
            return generation;
        }
    }

    /// <summary>
    /// One label-name set of the family and its storage, with a small cache in front of the storage's WithLabels:
    /// recently used series indexed by the identity of their label-value strings. Tag values are nearly always the
    /// same string instances from one measurement to the next (literals, cached route and method strings, the
    /// formatter's cached numbers), so a hit costs a few reference comparisons instead of hashing every value
    /// (Marvin, about 4 ns per short string) and comparing them. A miss, or a value that is equal but not the same
    /// instance, goes to WithLabels and is remembered; entries are series references, so remembering allocates
    /// nothing and a torn read is impossible. A slot may hold a series whose strings have since moved in a
    /// compacting GC: that only costs a miss.
    /// </summary>
    internal sealed class Generation
    {
        // 64 slots: 512 bytes per label set, enough for the handful to few dozen label-value combinations a
        // bridged instrument usually sees to mostly live in distinct slots.
        private const int CacheSize = 64;

        public readonly ulong Mask;
        public readonly int[] PositionOfSlot;
        public readonly int LabelCount;
        public readonly Metric Metric;

        /// <summary>The one series of a generation without labels.</summary>
        public readonly MetricSeries? Unlabeled;

        private readonly MetricSeries?[] _cache;

        public Generation(ulong mask, int[] positionOfSlot, Metric metric)
        {
            Mask = mask;
            PositionOfSlot = positionOfSlot;
            LabelCount = positionOfSlot.Length;
            Metric = metric;
            _cache = new MetricSeries?[LabelCount == 0 ? 0 : CacheSize];
            if (LabelCount == 0)
            {
                Unlabeled = metric switch
                {
                    Counter c => c.WithLabels(ReadOnlySpan<string>.Empty),
                    Gauge g => g.WithLabels(ReadOnlySpan<string>.Empty),
                    Histogram h => h.WithLabels(ReadOnlySpan<string>.Empty),
                    _ => null,
                };
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public MetricSeries? Find(string v0)
        {
            var s = _cache[Slot(v0)];
            return s is not null && ReferenceEquals(s.LabelValuesArray[0], v0) ? s : null;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public MetricSeries? Find(string v0, string v1)
        {
            var s = _cache[Slot(v0, v1)];
            if (s is null)
            {
                return null;
            }

            var values = s.LabelValuesArray;
            return ReferenceEquals(values[0], v0) && ReferenceEquals(values[1], v1) ? s : null;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public MetricSeries? Find(string v0, string v1, string v2)
        {
            var s = _cache[Slot(v0, v1, v2)];
            if (s is null)
            {
                return null;
            }

            var values = s.LabelValuesArray;
            return ReferenceEquals(values[0], v0) && ReferenceEquals(values[1], v1) && ReferenceEquals(values[2], v2) ? s : null;
        }

        public MetricSeries WithLabels(string v0) => Metric switch
        {
            Counter c => c.WithLabels(v0),
            Gauge g => g.WithLabels(v0),
            _ => Unsafe.As<Histogram>(Metric).WithLabels(v0),
        };

        public MetricSeries WithLabels(string v0, string v1) => Metric switch
        {
            Counter c => c.WithLabels(v0, v1),
            Gauge g => g.WithLabels(v0, v1),
            _ => Unsafe.As<Histogram>(Metric).WithLabels(v0, v1),
        };

        public MetricSeries WithLabels(string v0, string v1, string v2) => Metric switch
        {
            Counter c => c.WithLabels(v0, v1, v2),
            Gauge g => g.WithLabels(v0, v1, v2),
            _ => Unsafe.As<Histogram>(Metric).WithLabels(v0, v1, v2),
        };

        public MetricSeries WithLabels(ReadOnlySpan<string> values) => Metric switch
        {
            Counter c => c.WithLabels(values),
            Gauge g => g.WithLabels(values),
            _ => Unsafe.As<Histogram>(Metric).WithLabels(values),
        };

        public MetricSeries Remember(MetricSeries series, string v0)
        {
            _cache[Slot(v0)] = series;
            return series;
        }

        public MetricSeries Remember(MetricSeries series, string v0, string v1)
        {
            _cache[Slot(v0, v1)] = series;
            return series;
        }

        public MetricSeries Remember(MetricSeries series, string v0, string v1, string v2)
        {
            _cache[Slot(v0, v1, v2)] = series;
            return series;
        }

        // Object addresses are 8-byte aligned and strings at least 22 bytes long, so the low 4 bits carry little.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int Slot(string v0) => (int)(Address(v0) >> 4) & (CacheSize - 1);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int Slot(string v0, string v1) => (int)(((Address(v0) >> 4) * 31) ^ (Address(v1) >> 4)) & (CacheSize - 1);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int Slot(string v0, string v1, string v2) =>
            (int)(((((Address(v0) >> 4) * 31) ^ (Address(v1) >> 4)) * 31) ^ (Address(v2) >> 4)) & (CacheSize - 1);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static nuint Address(string s) => Unsafe.As<string, nuint>(ref s);
    }

    /// <summary>
    /// A measurement shape of one to three tags (keys and values as object references, in order) and the series it
    /// resolved to. Immutable, so readers never see a torn entry.
    /// </summary>
    internal sealed class RecentEntry
    {
        public const int MaxTags = 3;

        // 64 slots per family (512 bytes, plus at most 64 entries of 72 bytes over the family's life).
        public const int CacheSize = 64;

        private readonly int _count;
        private readonly string _k0;
        private readonly object? _v0;
        private readonly string? _k1;
        private readonly object? _v1;
        private readonly string? _k2;
        private readonly object? _v2;

        public RecentEntry(ReadOnlySpan<KeyValuePair<string, object?>> tags, MetricSeries series)
        {
            _count = tags.Length;
            (_k0, _v0) = (tags[0].Key, tags[0].Value);
            if (tags.Length > 1)
            {
                (_k1, _v1) = (tags[1].Key, tags[1].Value);
            }

            if (tags.Length > 2)
            {
                (_k2, _v2) = (tags[2].Key, tags[2].Value);
            }

            Series = series;
        }

        public MetricSeries Series { get; }

        /// <summary>
        /// Whether the shape may be cached by reference: strings and boxed values cannot change under the same
        /// reference, while an array tag value could be mutated between measurements.
        /// </summary>
        public static bool IsCacheable(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags)
            {
                if (tag.Value is not (null or string or ValueType))
                {
                    return false;
                }
            }

            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Slot(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var h = Address(tags[0].Value) >> 4;
            if (tags.Length > 1)
            {
                h = (h * 31) ^ (Address(tags[1].Value) >> 4);
                if (tags.Length > 2)
                {
                    h = (h * 31) ^ (Address(tags[2].Value) >> 4);
                }
            }

            return (int)h & (CacheSize - 1);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Matches(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length != _count || !ReferenceEquals(tags[0].Value, _v0) || !ReferenceEquals(tags[0].Key, _k0))
            {
                return false;
            }

            return _count == 1 ||
                (ReferenceEquals(tags[1].Value, _v1) && ReferenceEquals(tags[1].Key, _k1) &&
                 (_count == 2 || (ReferenceEquals(tags[2].Value, _v2) && ReferenceEquals(tags[2].Key, _k2))));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static nuint Address(object? o) => Unsafe.As<object?, nuint>(ref o);
    }

    /// <summary>An immutable snapshot of the key table and generations, replaced whole under the lock.</summary>
    private sealed class State
    {
        public static readonly State Empty = new([], [], [], []);

        public readonly string[] KeyNames;
        public readonly int[] KeySlots;
        public readonly string[] SlotNames;
        public readonly Generation[] Generations;
        private readonly Dictionary<string, int>? _keyIndex;

        private State(string[] keyNames, int[] keySlots, string[] slotNames, Generation[] generations)
        {
            KeyNames = keyNames;
            KeySlots = keySlots;
            SlotNames = slotNames;
            Generations = generations;
            if (keyNames.Length > LinearKeyLimit)
            {
                _keyIndex = new Dictionary<string, int>(keyNames.Length, StringComparer.Ordinal);
                for (var i = 0; i < keyNames.Length; i++)
                {
                    _keyIndex[keyNames[i]] = keySlots[i];
                }
            }
        }

        public State WithSlots(string[] slotNames) => new(KeyNames, KeySlots, slotNames, Generations);

        public State With(string[] keyNames, int[] keySlots, string[] slotNames) => new(keyNames, keySlots, slotNames, Generations);

        public State WithGeneration(Generation generation) => new(KeyNames, KeySlots, SlotNames, [.. Generations, generation]);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int SlotOf(string key)
        {
            key ??= string.Empty;
            var keys = KeyNames;
            if (_keyIndex is null)
            {
                for (var i = 0; i < keys.Length; i++)
                {
                    if (ReferenceEquals(keys[i], key))
                    {
                        return KeySlots[i];
                    }
                }

                for (var i = 0; i < keys.Length; i++)
                {
                    if (string.Equals(keys[i], key, StringComparison.Ordinal))
                    {
                        return KeySlots[i];
                    }
                }

                return Unknown;
            }

            return _keyIndex.TryGetValue(key, out var slot) ? slot : Unknown;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Generation? Route(ulong mask)
        {
            foreach (var g in Generations)
            {
                if ((g.Mask & mask) == mask)
                {
                    return g;
                }
            }

            return null;
        }
    }
}
