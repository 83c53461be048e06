using System.Numerics;
using System.Runtime.CompilerServices;

namespace Metrics.Coordination.Registry;

/// <summary>
/// The label-values-to-series map of one metric: an open-addressing hash table that readers probe without locks
/// (the hot <c>WithLabels</c> path) and writers change under a lock. Slots are published with a release write only
/// after the series is fully built; removal leaves a tombstone; the table doubles at half load, so probes stay short.
/// </summary>
internal sealed class SeriesTable
{
    private const int InitialCapacity = 16;

    private static readonly MetricSeries Tombstone = new TombstoneSeries();

    private readonly Lock _lock = new();
    private MetricSeries?[] _slots = new MetricSeries?[InitialCapacity];
    private int _count;
    private int _tombstones;

    public int Count => Volatile.Read(ref _count);

    public Lock SyncRoot => _lock;

    /// <summary>The current slot array, for iteration by a scrape (skip nulls and tombstones with <see cref="IsLive"/>).</summary>
    public MetricSeries?[] Slots => Volatile.Read(ref _slots);

    public static bool IsLive(MetricSeries? s) => s is not null && !ReferenceEquals(s, Tombstone);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Start(int hash, int mask) => (int)(((uint)hash * 0x9E3779B9u) >> 7) & mask;

    public MetricSeries? Find(int hash, string v0)
    {
        var slots = Volatile.Read(ref _slots);
        var mask = slots.Length - 1;
        for (var i = Start(hash, mask); ; i = (i + 1) & mask)
        {
            var s = slots[i];
            if (s is null)
            {
                return null;
            }

            if (s.HashCode == hash && !ReferenceEquals(s, Tombstone) && s.Matches(v0))
            {
                return s;
            }
        }
    }

    public MetricSeries? Find(int hash, string v0, string v1)
    {
        var slots = Volatile.Read(ref _slots);
        var mask = slots.Length - 1;
        for (var i = Start(hash, mask); ; i = (i + 1) & mask)
        {
            var s = slots[i];
            if (s is null)
            {
                return null;
            }

            if (s.HashCode == hash && !ReferenceEquals(s, Tombstone) && s.Matches(v0, v1))
            {
                return s;
            }
        }
    }

    public MetricSeries? Find(int hash, string v0, string v1, string v2)
    {
        var slots = Volatile.Read(ref _slots);
        var mask = slots.Length - 1;
        for (var i = Start(hash, mask); ; i = (i + 1) & mask)
        {
            var s = slots[i];
            if (s is null)
            {
                return null;
            }

            if (s.HashCode == hash && !ReferenceEquals(s, Tombstone) && s.Matches(v0, v1, v2))
            {
                return s;
            }
        }
    }

    public MetricSeries? Find(int hash, ReadOnlySpan<string> values)
    {
        var slots = Volatile.Read(ref _slots);
        var mask = slots.Length - 1;
        for (var i = Start(hash, mask); ; i = (i + 1) & mask)
        {
            var s = slots[i];
            if (s is null)
            {
                return null;
            }

            if (s.HashCode == hash && !ReferenceEquals(s, Tombstone) && s.Matches(values))
            {
                return s;
            }
        }
    }

    /// <summary>Adds a series whose values are not present. Call under <see cref="SyncRoot"/> after a failed find.</summary>
    public void AddLocked(MetricSeries series)
    {
        var slots = _slots;
        if ((_count + _tombstones + 1) * 2 > slots.Length)
        {
            // Grow when live entries fill half; otherwise rebuild at the same size to clear tombstones.
            var size = (_count + 1) * 2 > slots.Length / 2 ? slots.Length * 2 : slots.Length;
            slots = Rehash(slots, size);
            _tombstones = 0;
        }

        var mask = slots.Length - 1;
        var i = Start(series.HashCode, mask);
        while (slots[i] is not null && !ReferenceEquals(slots[i], Tombstone))
        {
            i = (i + 1) & mask;
        }

        if (ReferenceEquals(slots[i], Tombstone))
        {
            _tombstones--;
        }

        Volatile.Write(ref slots[i], series);
        if (!ReferenceEquals(slots, _slots))
        {
            Volatile.Write(ref _slots, slots);
        }

        _count++;
    }

    /// <summary>Removes a series. Call under <see cref="SyncRoot"/>.</summary>
    public bool RemoveLocked(MetricSeries series)
    {
        var slots = _slots;
        var mask = slots.Length - 1;
        for (var i = Start(series.HashCode, mask); slots[i] is not null; i = (i + 1) & mask)
        {
            if (ReferenceEquals(slots[i], series))
            {
                Volatile.Write(ref slots[i], Tombstone);
                series.Removed = true;
                _count--;
                _tombstones++;
                return true;
            }
        }

        return false;
    }

    /// <summary>Removes every series. Call under <see cref="SyncRoot"/>.</summary>
    public void ClearLocked()
    {
        foreach (var s in _slots)
        {
            if (IsLive(s))
            {
                s!.Removed = true;
            }
        }

        Volatile.Write(ref _slots, new MetricSeries?[InitialCapacity]);
        _count = 0;
        _tombstones = 0;
    }

    private static MetricSeries?[] Rehash(MetricSeries?[] old, int size)
    {
        size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(size, InitialCapacity));
        var slots = new MetricSeries?[size];
        var mask = size - 1;
        foreach (var s in old)
        {
            if (!IsLive(s))
            {
                continue;
            }

            var i = Start(s!.HashCode, mask);
            while (slots[i] is not null)
            {
                i = (i + 1) & mask;
            }

            slots[i] = s;
        }

        return slots;
    }

    private sealed class TombstoneSeries : MetricSeries
    {
        public TombstoneSeries()
        {
        }

        internal override long ChangeStamp => 0;

        internal override void Write(Abstractions.Exposition.ExpositionWriter writer, FamilyEncoding encoding)
        {
        }
    }
}
