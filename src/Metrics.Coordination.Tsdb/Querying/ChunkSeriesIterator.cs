using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tsdb.Chunks;

namespace Metrics.Coordination.Tsdb.Querying;

/// <summary>
/// Iterates a series' chunks in time order, restricted to [mint, maxt], with one reused <see cref="XorIterator"/>.
/// <see cref="Seek"/> skips whole chunks that end before the target without decoding them.
/// </summary>
internal sealed class ChunkSeriesIterator : ISampleIterator
{
    private readonly XorIterator _chunk = new();
    private IReadOnlyList<ChunkMeta> _metas = [];
    private IChunkReader? _reader;
    private IReadOnlyList<(long MinTime, long MaxTime)>? _deleted;
    private long _mint;
    private long _maxt;
    private int _next;
    private bool _inChunk;
    private bool _done;
    private Exception? _error;

    /// <inheritdoc />
    public long Timestamp => _chunk.Timestamp;

    /// <inheritdoc />
    public double Value => _chunk.Value;

    /// <summary>The current value's bits.</summary>
    public ulong ValueBits => _chunk.ValueBits;

    /// <inheritdoc />
    public Exception? Error => _error;

    /// <summary>
    /// Starts over on <paramref name="metas"/> (sorted by time, not overlapping) limited to [mint, maxt], leaving out
    /// samples inside any of the closed <paramref name="deleted"/> intervals (tombstones).
    /// </summary>
    public void Reset(IReadOnlyList<ChunkMeta> metas, IChunkReader? reader, long mint, long maxt, IReadOnlyList<(long MinTime, long MaxTime)>? deleted = null)
    {
        _metas = metas;
        _reader = reader;
        _deleted = deleted is { Count: > 0 } ? deleted : null;
        _mint = mint;
        _maxt = maxt;
        _next = 0;
        _inChunk = false;
        _done = false;
        _error = null;
    }

    /// <inheritdoc />
    public bool Next()
    {
        while (!_done)
        {
            if (!_inChunk && !OpenNext(_mint))
            {
                return false;
            }

            if (_chunk.Next())
            {
                var t = _chunk.Timestamp;
                if (t < _mint)
                {
                    continue;
                }

                if (t > _maxt)
                {
                    _done = true;
                    return false;
                }

                if (_deleted is not null && IsDeleted(t))
                {
                    continue;
                }

                return true;
            }

            if (_chunk.Error is { } e)
            {
                Fail(e);
                return false;
            }

            _inChunk = false;
        }

        return false;
    }

    /// <inheritdoc />
    public bool Seek(long timestampMs)
    {
        if (_done)
        {
            return false;
        }

        if (_inChunk && _chunk.Timestamp >= timestampMs && _chunk.Timestamp >= _mint)
        {
            return true;
        }

        var target = Math.Max(timestampMs, _mint);
        if (_inChunk && _metas[_next - 1].MaxTime < target)
        {
            _inChunk = false;
        }

        while (!_done)
        {
            if (!_inChunk && !OpenNext(target))
            {
                return false;
            }

            if (_chunk.Seek(target))
            {
                if (_chunk.Timestamp > _maxt)
                {
                    _done = true;
                    return false;
                }

                return _deleted is null || !IsDeleted(_chunk.Timestamp) || Next();
            }

            if (_chunk.Error is { } e)
            {
                Fail(e);
                return false;
            }

            _inChunk = false;
        }

        return false;
    }

    private bool OpenNext(long from)
    {
        while (_next < _metas.Count)
        {
            var meta = _metas[_next++];
            if (meta.MaxTime < from)
            {
                continue;
            }

            if (meta.MinTime > _maxt)
            {
                break;
            }

            if (_deleted is not null && Covered(meta.MinTime, meta.MaxTime))
            {
                continue;
            }

            try
            {
                if (meta.Data is not null)
                {
                    _chunk.Reset(meta.Data.AsSpan(0, meta.Length), meta.Count);
                }
                else
                {
                    _chunk.Reset(_reader!.Chunk(meta.Ref));
                }
            }
            catch (TsdbCorruptionException ex)
            {
                Fail(ex);
                return false;
            }

            _inChunk = true;
            return true;
        }

        _done = true;
        return false;
    }

    private bool IsDeleted(long t)
    {
        foreach (var (min, max) in _deleted!)
        {
            if (t >= min && t <= max)
            {
                return true;
            }
        }

        return false;
    }

    private bool Covered(long from, long to)
    {
        foreach (var (min, max) in _deleted!)
        {
            if (from >= min && to <= max)
            {
                return true;
            }
        }

        return false;
    }

    private void Fail(Exception e)
    {
        _error = e;
        _done = true;
        _inChunk = false;
    }
}
