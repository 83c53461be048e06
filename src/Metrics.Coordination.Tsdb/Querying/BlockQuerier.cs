using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tsdb.Blocks;
using Metrics.Coordination.Tsdb.Index;

namespace Metrics.Coordination.Tsdb.Querying;

/// <summary>Reads one block over [mint, maxt] (inclusive). Series come out in label order (the index's order).</summary>
internal sealed class BlockQuerier : IQuerier
{
    private readonly Block _block;
    private readonly long _mint;
    private readonly long _maxt;
    private int _disposed;

    public BlockQuerier(Block block, long mint, long maxt)
    {
        _block = block;
        _mint = mint;
        _maxt = maxt;
    }

    /// <inheritdoc />
    public IEnumerable<ISeries> Select(bool sorted, SelectHints hints, params LabelMatcher[] matchers)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var result = new List<ISeries>();
        if (_block.Meta.MinTime > _maxt || _block.Meta.MaxTime <= _mint)
        {
            return result;
        }

        var index = _block.Index;
        var chunks = new List<IndexChunk>();
        foreach (var r in PostingsForMatchers.Select(index, matchers))
        {
            var labels = index.Series(r, chunks);
            List<ChunkMeta>? metas = null;
            _block.TombstoneIntervals.TryGetValue(r, out var stones);
            foreach (var c in chunks)
            {
                if (c.MinTime <= _maxt && c.MaxTime >= _mint && (stones is null || !stones.Exists(s => c.MinTime >= s.MinTime && c.MaxTime <= s.MaxTime)))
                {
                    (metas ??= []).Add(ChunkMeta.ForBlock(c.MinTime, c.MaxTime, c.Ref));
                }
            }

            if (metas is not null)
            {
                // Tombstones: whole deleted chunks were left out above, deleted samples are skipped by the iterator.
                result.Add(new ChunkedSeries(labels, metas, _block.Chunks, _mint, _maxt, stones));
            }
        }

        return result;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> LabelNames(params LabelMatcher[] matchers)
    {
        if (matchers.Length == 0)
        {
            return _block.Index.LabelNames();
        }

        var names = new SortedSet<string>(Utf8Order.Instance);
        foreach (var s in Select(false, default, matchers))
        {
            foreach (var l in s.Labels.AsSpan())
            {
                names.Add(l.Name);
            }
        }

        return [.. names];
    }

    /// <inheritdoc />
    public IReadOnlyList<string> LabelValues(string name, params LabelMatcher[] matchers)
    {
        if (matchers.Length == 0)
        {
            return _block.Index.LabelValues(name);
        }

        var values = new SortedSet<string>(Utf8Order.Instance);
        foreach (var s in Select(false, default, matchers))
        {
            if (s.Labels.Get(name) is { Length: > 0 } v)
            {
                values.Add(v);
            }
        }

        return [.. values];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _block.Release();
        }
    }
}
