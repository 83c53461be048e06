using Metrics.Coordination.Tsdb.Chunks;
using Metrics.Coordination.Tsdb.Index;
using Metrics.Coordination.Tsdb.Querying;

namespace Metrics.Coordination.Tsdb.Blocks;

/// <summary>
/// A persisted block opened for reading: meta, memory-mapped index and chunk segments, tombstones. Queriers hold a
/// lease (<see cref="TryAcquire"/>); <see cref="Dispose"/> unmaps once the last lease is released.
/// </summary>
internal sealed class Block : IDisposable
{
    private readonly Lock _lock = new();
    private int _leases;
    private bool _closing;
    private bool _closed;
    private Dictionary<ulong, List<(long MinTime, long MaxTime)>> _tombstones;
    private BlockMeta _meta;

    private Block(string directory, BlockMeta meta, IndexReader index, ChunkSegmentReader chunks, Dictionary<ulong, List<(long, long)>> tombstones)
    {
        Directory = directory;
        _meta = meta;
        Index = index;
        Chunks = chunks;
        _tombstones = tombstones;
    }

    public string Directory { get; }

    /// <summary>The block's meta.json (replaced when tombstones are added).</summary>
    public BlockMeta Meta => Volatile.Read(ref _meta);

    public IndexReader Index { get; }

    public ChunkSegmentReader Chunks { get; }

    /// <summary>
    /// Deleted closed intervals per series ref. The dictionary is never mutated once published: <see cref="Delete"/>
    /// swaps in a new one, so queriers read it without locks.
    /// </summary>
    public Dictionary<ulong, List<(long MinTime, long MaxTime)>> TombstoneIntervals => Volatile.Read(ref _tombstones);

    /// <summary>Bytes on disk, as Prometheus counts a block for size retention: chunks + index + tombstones + meta.json.</summary>
    public long Size => Index.Size + Chunks.TotalBytes + FileSize(Tombstones.FileName) + FileSize(BlockMeta.FileName);

    /// <summary>Whether any series has a deleted interval.</summary>
    public bool HasTombstones => TombstoneIntervals.Count > 0;

    /// <summary>
    /// Records deletion of [<paramref name="mint"/>, <paramref name="maxt"/>] for the series matching
    /// <paramref name="matchers"/>, clamped (as Prometheus does) to each series' data; rewrites <c>tombstones</c>
    /// (temp file, fsync, rename) and meta.json's <c>numTombstones</c>. Returns the number of series affected.
    /// Callers serialize deletions (the database's compaction lock).
    /// </summary>
    public int Delete(long mint, long maxt, IReadOnlyList<Abstractions.LabelMatcher> matchers)
    {
        var current = TombstoneIntervals;
        var updated = new Dictionary<ulong, List<(long, long)>>(current.Count);
        foreach (var (r, list) in current)
        {
            updated[r] = [.. list];
        }

        var chunks = new List<IndexChunk>();
        var affected = 0;
        foreach (var r in PostingsForMatchers.Select(Index, matchers))
        {
            Index.Series(r, chunks);
            if (chunks.Count == 0 || !chunks.Exists(c => c.MinTime <= maxt && c.MaxTime >= mint))
            {
                continue;
            }

            var from = Math.Max(mint, chunks[0].MinTime);
            var to = Math.Min(maxt, chunks[^1].MaxTime);
            if (!updated.TryGetValue(r, out var intervals))
            {
                updated[r] = intervals = [];
            }

            AddInterval(intervals, from, to);
            affected++;
        }

        if (affected == 0)
        {
            return 0;
        }

        Tombstones.Rewrite(Directory, updated);
        var meta = Meta with { NumTombstones = updated.Sum(kv => (long)kv.Value.Count) };
        meta.Write(Directory);
        Volatile.Write(ref _tombstones, updated);
        Volatile.Write(ref _meta, meta);
        return affected;
    }

    /// <summary>Adds the closed interval [<paramref name="from"/>, <paramref name="to"/>], merging it with overlapping or adjacent ones (Prometheus's <c>Intervals.Add</c>); keeps the list sorted.</summary>
    internal static void AddInterval(List<(long MinTime, long MaxTime)> intervals, long from, long to)
    {
        intervals.Add((from, to));
        intervals.Sort();
        var merged = new List<(long MinTime, long MaxTime)>(intervals.Count);
        foreach (var iv in intervals)
        {
            if (merged.Count > 0 && (merged[^1].MaxTime == long.MaxValue || iv.MinTime <= merged[^1].MaxTime + 1))
            {
                merged[^1] = (merged[^1].MinTime, Math.Max(merged[^1].MaxTime, iv.MaxTime));
            }
            else
            {
                merged.Add(iv);
            }
        }

        intervals.Clear();
        intervals.AddRange(merged);
    }

    private long FileSize(string name)
    {
        var info = new FileInfo(Path.Combine(Directory, name));
        return info.Exists ? info.Length : 0;
    }

    /// <summary>Opens and checks the block in <paramref name="directory"/>.</summary>
    /// <exception cref="TsdbCorruptionException">Any file fails its checks.</exception>
    public static Block Open(string directory)
    {
        var meta = BlockMeta.Read(directory);
        if (!string.Equals(meta.Ulid, Path.GetFileName(directory), StringComparison.Ordinal))
        {
            throw new TsdbCorruptionException(Path.Combine(directory, BlockMeta.FileName), 0, $"ULID {meta.Ulid} differs from the directory name");
        }

        var tombstones = Tombstones.Read(directory);
        var index = IndexReader.Open(Path.Combine(directory, "index"));
        try
        {
            var chunks = ChunkSegmentReader.Open(Path.Combine(directory, "chunks"));
            try
            {
                Verify(index, chunks);
            }
            catch
            {
                chunks.Dispose();
                throw;
            }

            return new Block(directory, meta, index, chunks, tombstones);
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads every series entry and checks every chunk it references (CRC-32C), so a block with a bad checksum is
    /// reported at open, naming the file and offset, and left out of queries instead of failing them later. Costs one
    /// sequential read of the block (hardware CRC: a few hundred MB/s at least).
    /// </summary>
    private static void Verify(IndexReader index, ChunkSegmentReader chunks)
    {
        var metas = new List<IndexChunk>();
        foreach (var r in index.AllPostings())
        {
            index.Series(r, metas);
            foreach (var c in metas)
            {
                chunks.Chunk(c.Ref);
            }
        }
    }

    /// <summary>Takes a lease for a querier; false when the block is closing.</summary>
    public bool TryAcquire()
    {
        lock (_lock)
        {
            if (_closing)
            {
                return false;
            }

            _leases++;
            return true;
        }
    }

    public void Release()
    {
        lock (_lock)
        {
            _leases--;
            CloseIfDone();
        }
    }

    /// <summary>A querier over [<paramref name="mint"/>, <paramref name="maxt"/>], holding a lease until disposed; null when the block is closing.</summary>
    public BlockQuerier? Querier(long mint, long maxt) => TryAcquire() ? new BlockQuerier(this, mint, maxt) : null;

    public void Dispose()
    {
        lock (_lock)
        {
            _closing = true;
            CloseIfDone();
        }
    }

    private void CloseIfDone()
    {
        if (_closing && _leases == 0 && !_closed)
        {
            _closed = true;
            Index.Dispose();
            Chunks.Dispose();
        }
    }
}
