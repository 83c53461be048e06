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

    private Block(string directory, BlockMeta meta, IndexReader index, ChunkSegmentReader chunks, Dictionary<ulong, List<(long, long)>> tombstones)
    {
        Directory = directory;
        Meta = meta;
        Index = index;
        Chunks = chunks;
        TombstoneIntervals = tombstones;
    }

    public string Directory { get; }

    public BlockMeta Meta { get; }

    public IndexReader Index { get; }

    public ChunkSegmentReader Chunks { get; }

    public Dictionary<ulong, List<(long MinTime, long MaxTime)>> TombstoneIntervals { get; }

    /// <summary>Bytes on disk (index + chunks).</summary>
    public long Size => Index.Size + Chunks.TotalBytes;

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
            return new Block(directory, meta, index, chunks, tombstones);
        }
        catch
        {
            index.Dispose();
            throw;
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
