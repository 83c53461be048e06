using System.IO.Hashing;
using System.Runtime.CompilerServices;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;

namespace Metrics.Coordination.Tsdb.Scrape;

/// <summary>One exposed series as a scrape loop remembers it between scrapes.</summary>
internal sealed class CachedSeries
{
    /// <summary>The stored labels, or null when metric relabeling dropped the series.</summary>
    public Labels? Labels;

    public SeriesRef Ref;

    /// <summary>The iteration that last saw the series at all (for eviction).</summary>
    public long Touched;

    /// <summary>The iteration that last appended a sample without an explicit timestamp (staleness tracking).</summary>
    public long Seen = -1;

    /// <summary><see cref="Seen"/> before its last update, so a rolled-back scrape can tell what the previous one saw.</summary>
    public long PreviousSeen = -1;
}

/// <summary>
/// A scrape loop's cache of series keyed by the raw exposed identity (name and label pairs in the order written,
/// as bytes), looked up with a span so a cache hit allocates nothing; what Prometheus's <c>scrapeCache</c> does.
/// </summary>
internal sealed class SeriesCache
{
    // Entries unseen for this many scrapes are forgotten (Prometheus keeps them 10 iterations too).
    private const int EvictAfterIterations = 10;

    private readonly Dictionary<byte[], CachedSeries> _entries = new(KeyComparer.Instance);
    private readonly Dictionary<byte[], CachedSeries>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    public SeriesCache()
    {
        _lookup = _entries.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public int Count => _entries.Count;

    public bool TryGet(ReadOnlySpan<byte> key, out CachedSeries entry) => _lookup.TryGetValue(key, out entry!);

    public CachedSeries Add(ReadOnlySpan<byte> key, Labels? labels)
    {
        var entry = new CachedSeries { Labels = labels };
        _entries[key.ToArray()] = entry;
        return entry;
    }

    public IEnumerable<CachedSeries> Entries => _entries.Values;

    public void Evict(long iteration)
    {
        List<byte[]>? stale = null;
        foreach (var (key, entry) in _entries)
        {
            if (iteration - entry.Touched > EvictAfterIterations)
            {
                (stale ??= []).Add(key);
            }
        }

        if (stale is not null)
        {
            foreach (var key in stale)
            {
                _entries.Remove(key);
            }
        }
    }

    private sealed class KeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly KeyComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => Hash(obj);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static int Hash(ReadOnlySpan<byte> bytes) => (int)XxHash3.HashToUInt64(bytes);
    }
}
