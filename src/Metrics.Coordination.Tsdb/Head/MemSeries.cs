using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Tsdb.Chunks;
using Metrics.Coordination.Tsdb.Querying;

namespace Metrics.Coordination.Tsdb.Head;

/// <summary>A closed head chunk: its exact bytes and time range.</summary>
/// <param name="Data">The chunk (count header included), trimmed to its length.</param>
/// <param name="MinTime">First sample's timestamp.</param>
/// <param name="MaxTime">Last sample's timestamp.</param>
/// <param name="LegacyTrailingByte">Whether Prometheus &lt; 3.0 would have appended a stray zero byte.</param>
internal readonly record struct HeadChunk(byte[] Data, long MinTime, long MaxTime, bool LegacyTrailingByte);

/// <summary>
/// One series in the head: its labels, closed chunks, and the open chunk being appended to. Chunks are cut as
/// Prometheus 2.42's head cuts them (see <see cref="Append"/>). Mutable state is guarded by locking this object.
/// </summary>
internal sealed class MemSeries
{
    /// <summary>Out-of-order samples are re-encoded into chunks of at most this many for queries (bounded decode work per chunk).</summary>
    private const int OutOfOrderSamplesPerQueryChunk = 240;

    private HeadChunk[] _closed = [];

    // Accepted out-of-order samples (older than the newest), sorted by time, unique timestamps; null until the first.
    // They merge with the in-order chunks when queried and when a block is cut.
    private List<(long T, ulong V)>? _ooo;
    private int _closedCount;
    private XorChunk? _open;
    private long _openMinTime;
    private long _nextAt;
    private int _version;

    public MemSeries(ulong reference, Labels labels)
    {
        Ref = reference;
        Labels = labels;
    }

    /// <summary>The head's reference for the series (the WAL's series ref too).</summary>
    public ulong Ref { get; }

    /// <summary>The labels, with interned strings.</summary>
    public Labels Labels { get; }

    /// <summary>The next series in the same bucket of the series table (the table's chain: no per-series entry object).</summary>
    public MemSeries? NextInBucket;

    /// <summary>Timestamp of the newest committed sample; <see cref="long.MinValue"/> when none. Read under the lock, or use <see cref="ReadLast"/>.</summary>
    public long LastTime { get; private set; } = long.MinValue;

    /// <summary>Value bits of the newest committed sample.</summary>
    public ulong LastValueBits { get; private set; }

    /// <summary>
    /// The newest committed sample without taking the lock (the appender's validation): a sequence lock, so the pair
    /// is never torn between two commits.
    /// </summary>
    public (long Time, ulong ValueBits) ReadLast()
    {
        var spinner = default(SpinWait);
        while (true)
        {
            var before = Volatile.Read(ref _version);
            if ((before & 1) == 0)
            {
                var t = LastTime;
                var v = LastValueBits;
                if (Volatile.Read(ref _version) == before)
                {
                    return (t, v);
                }
            }

            spinner.SpinOnce();
        }
    }

    /// <summary>The appender with an uncommitted sample for this series, and that sample (for in-batch order checks).</summary>
    public object? PendingOwner { get; set; }

    /// <summary>Timestamp of the pending sample.</summary>
    public long PendingTime { get; set; } = long.MinValue;

    /// <summary>Value bits of the pending sample.</summary>
    public ulong PendingValueBits { get; set; }

    /// <summary>Timestamp of the oldest sample held, or <see cref="long.MaxValue"/> when none.</summary>
    public long MinTime => Math.Min(
        _closedCount > 0 ? _closed[0].MinTime : _open is { Count: > 0 } ? _openMinTime : long.MaxValue,
        _ooo is { Count: > 0 } ooo ? ooo[0].T : long.MaxValue);

    /// <summary>Whether the series holds no samples.</summary>
    public bool IsEmpty => _closedCount == 0 && (_open is null || _open.Count == 0) && _ooo is not { Count: > 0 };

    /// <summary>How many accepted out-of-order samples the series holds outside its in-order chunks.</summary>
    public int OutOfOrderCount => _ooo?.Count ?? 0;

    /// <summary>
    /// Stores a sample older than the newest one (the out-of-order window was checked by the caller). Returns false,
    /// storing nothing, when the series already has a sample at <paramref name="t"/> (in order or not): as in
    /// Prometheus, the first sample written for a timestamp stays.
    /// </summary>
    public bool InsertOutOfOrder(long t, ulong v)
    {
        _ooo ??= [];
        var i = FindOutOfOrder(t);
        if (i >= 0 || InOrderHas(t))
        {
            return false;
        }

        _ooo.Insert(~i, (t, v));
        return true;
    }

    private int FindOutOfOrder(long t)
    {
        int lo = 0, hi = _ooo!.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var mt = _ooo[mid].T;
            if (mt == t)
            {
                return mid;
            }

            if (mt < t)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return ~lo;
    }

    /// <summary>Whether an in-order chunk holds a sample at exactly <paramref name="t"/> (decodes only chunks whose range covers it).</summary>
    private bool InOrderHas(long t)
    {
        var it = new XorIterator();
        for (var i = 0; i < _closedCount; i++)
        {
            if (_closed[i].MinTime <= t && t <= _closed[i].MaxTime)
            {
                it.Reset(_closed[i].Data);
                return it.Seek(t) && it.Timestamp == t;
            }
        }

        if (_open is { Count: > 0 } open && _openMinTime <= t && t <= LastTime)
        {
            it.Reset(open.Buffer.AsSpan(0, open.Length), open.Count);
            return it.Seek(t) && it.Timestamp == t;
        }

        return false;
    }

    /// <summary>The open chunk's backing array length and its data length in bytes (0, 0 without one): for memory measurements.</summary>
    public (int Capacity, int Length) OpenChunkBytes => _open is { } open ? (open.Buffer.Length, open.Length) : (0, 0);

    /// <summary>Number of chunks (closed + open).</summary>
    public int ChunkCount => _closedCount + (_open is { Count: > 0 } ? 1 : 0);

    /// <summary>
    /// Appends a committed sample, cutting chunks like Prometheus 2.42: a chunk never crosses a multiple of
    /// <paramref name="chunkRange"/>; at a quarter of <paramref name="samplesPerChunk"/> its end is predicted so the
    /// remaining range splits evenly; it is cut at that time or at twice <paramref name="samplesPerChunk"/> samples.
    /// Returns false (and changes nothing) when <paramref name="t"/> is not after the newest sample. With
    /// <paramref name="reuseOpenChunk"/> (WAL replay, when no querier can hold the open chunk's array), a cut reuses the
    /// open chunk's object and array for the next chunk instead of growing a new one from scratch (the closed chunk is a
    /// copy either way): a replay otherwise allocates each chunk's bytes about four times over.
    /// </summary>
    public bool Append(long t, ulong v, long chunkRange, int samplesPerChunk, bool reuseOpenChunk = false)
    {
        if (t <= LastTime && LastTime != long.MinValue)
        {
            return false;
        }

        if (_open is null)
        {
            Cut(t, chunkRange);
        }
        else
        {
            var n = _open.Count;
            if (n == samplesPerChunk / 4)
            {
                _nextAt = ComputeChunkEndTime(_openMinTime, LastTime, _nextAt);
            }

            if (t >= _nextAt || n >= samplesPerChunk * 2)
            {
                CloseOpen();
                Cut(t, chunkRange, reuseOpenChunk ? _open : null);
            }
        }

        _open!.Append(t, v);
        Volatile.Write(ref _version, _version + 1);
        LastTime = t;
        LastValueBits = v;
        Volatile.Write(ref _version, _version + 1);
        return true;
    }

    /// <summary>Adds the chunks overlapping [<paramref name="mint"/>, <paramref name="maxt"/>] to <paramref name="into"/>, oldest first.</summary>
    /// <remarks>
    /// With out-of-order samples in the range, the in-order chunks overlapping their span are decoded, merged with
    /// them and re-encoded into fresh chunks, so the result is still sorted and non-overlapping (what the chunk
    /// iterators expect). Only series with out-of-order samples pay for this.
    /// </remarks>
    public void Snapshot(long mint, long maxt, List<ChunkMeta> into)
    {
        if (_ooo is { Count: > 0 } ooo && ooo[0].T <= maxt && ooo[^1].T >= mint)
        {
            SnapshotMerged(mint, maxt, into);
            return;
        }

        SnapshotInOrder(mint, maxt, into);
    }

    private void SnapshotMerged(long mint, long maxt, List<ChunkMeta> into)
    {
        var ooo = _ooo!;
        long oMin = ooo[0].T, oMax = ooo[^1].T;
        var inOrder = new List<ChunkMeta>();
        SnapshotInOrder(long.MinValue, long.MaxValue, inOrder);
        var merged = new List<(long T, ulong V)>(ooo.Count);
        var spanned = new List<ChunkMeta>();
        foreach (var c in inOrder)
        {
            if (c.MaxTime < oMin)
            {
                if (c.Overlaps(mint, maxt))
                {
                    into.Add(c);
                }
            }
            else if (c.MinTime <= oMax)
            {
                spanned.Add(c);
            }
        }

        MergeWithOutOfOrder(spanned, ooo, long.MinValue, long.MaxValue, merged);
        for (var start = 0; start < merged.Count; start += OutOfOrderSamplesPerQueryChunk)
        {
            var n = Math.Min(OutOfOrderSamplesPerQueryChunk, merged.Count - start);
            var first = merged[start].T;
            var last = merged[start + n - 1].T;
            if (first > maxt || last < mint)
            {
                continue;
            }

            var chunk = new XorChunk();
            for (var i = start; i < start + n; i++)
            {
                chunk.Append(merged[i].T, merged[i].V);
            }

            var data = chunk.ToArray();
            into.Add(new ChunkMeta(first, last, data, data.Length, n, 0));
        }

        foreach (var c in inOrder)
        {
            if (c.MinTime > oMax && c.Overlaps(mint, maxt))
            {
                into.Add(c);
            }
        }
    }

    /// <summary>Decodes <paramref name="chunks"/> and merges their samples in [mint, maxt] with <paramref name="ooo"/>'s, sorted (no equal timestamps exist: insertion refuses them).</summary>
    private static void MergeWithOutOfOrder(List<ChunkMeta> chunks, List<(long T, ulong V)> ooo, long mint, long maxt, List<(long T, ulong V)> into)
    {
        var it = new XorIterator();
        var j = 0;
        while (j < ooo.Count && ooo[j].T < mint)
        {
            j++;
        }

        foreach (var c in chunks)
        {
            it.Reset(c.Data.AsSpan(0, c.Length), c.Count);
            while (it.Next())
            {
                var t = it.Timestamp;
                if (t < mint || t > maxt)
                {
                    continue;
                }

                while (j < ooo.Count && ooo[j].T < t && ooo[j].T <= maxt)
                {
                    into.Add(ooo[j++]);
                }

                into.Add((t, it.ValueBits));
            }
        }

        while (j < ooo.Count && ooo[j].T <= maxt)
        {
            into.Add(ooo[j++]);
        }
    }

    private void SnapshotInOrder(long mint, long maxt, List<ChunkMeta> into)
    {
        for (var i = 0; i < _closedCount; i++)
        {
            ref readonly var c = ref _closed[i];
            if (c.MinTime <= maxt && c.MaxTime >= mint)
            {
                into.Add(new ChunkMeta(c.MinTime, c.MaxTime, c.Data, c.Data.Length, -1, 0));
            }
        }

        if (_open is { Count: > 0 } open && _openMinTime <= maxt && LastTime >= mint)
        {
            // The open chunk's array may be replaced or appended to later; the bits of these samples never change.
            into.Add(new ChunkMeta(_openMinTime, LastTime, open.Buffer, open.Length, open.Count, 0));
        }
    }

    /// <summary>
    /// All chunks with their legacy stray-byte flags (for block writing), oldest first, within [mint, maxt]. When
    /// out-of-order samples fall in the range, the range's samples are merged and re-cut into chunks as the head
    /// cuts them (<paramref name="chunkRange"/>, <paramref name="samplesPerChunk"/>).
    /// </summary>
    public void ChunksForBlock(long mint, long maxt, List<HeadChunk> into, long chunkRange, int samplesPerChunk)
    {
        if (_ooo is not { Count: > 0 } ooo || ooo[^1].T < mint || ooo[0].T > maxt)
        {
            ChunksForBlock(mint, maxt, into);
            return;
        }

        var inOrder = new List<ChunkMeta>();
        SnapshotInOrder(mint, maxt, inOrder);
        var merged = new List<(long T, ulong V)>();
        MergeWithOutOfOrder(inOrder, ooo, mint, maxt, merged);
        var rebuilt = new MemSeries(Ref, Labels);
        foreach (var (t, v) in merged)
        {
            rebuilt.Append(t, v, chunkRange, samplesPerChunk);
        }

        rebuilt.ChunksForBlock(mint, maxt, into);
    }

    /// <summary>The in-order chunks only (see the overload that merges out-of-order samples).</summary>
    public void ChunksForBlock(long mint, long maxt, List<HeadChunk> into)
    {
        for (var i = 0; i < _closedCount; i++)
        {
            var c = _closed[i];
            if (c.MinTime >= mint && c.MaxTime <= maxt)
            {
                into.Add(c);
            }
        }

        if (_open is { Count: > 0 } open && _openMinTime >= mint && LastTime <= maxt)
        {
            into.Add(new HeadChunk(open.ToArray(), _openMinTime, LastTime, open.LegacyTrailingByte));
        }
    }

    /// <summary>
    /// After WAL replay, whose chunk cuts reuse the open chunk's array: shrinks an open chunk array that is more than
    /// half again its data (sized by the series' largest chunk), as growing it from scratch would have left it.
    /// </summary>
    public void TrimOpenChunk()
    {
        if (_open is { } open && open.Buffer.Length > (open.Length * 3 / 2) + 16)
        {
            open.Trim();
        }
    }

    /// <summary>Drops chunks that end before <paramref name="mint"/>; returns how many went.</summary>
    public int TruncateBefore(long mint)
    {
        var drop = 0;
        while (drop < _closedCount && _closed[drop].MaxTime < mint)
        {
            drop++;
        }

        if (drop > 0)
        {
            Array.Copy(_closed, drop, _closed, 0, _closedCount - drop);
            Array.Clear(_closed, _closedCount - drop, drop);
            _closedCount -= drop;
        }

        if (_closedCount == 0 && _open is { Count: > 0 } && LastTime < mint)
        {
            _open = null;
            drop++;
        }

        if (_ooo is { Count: > 0 } ooo && ooo[0].T < mint)
        {
            ooo.RemoveAll(x => x.T < mint);
            if (ooo.Count == 0)
            {
                _ooo = null;
            }
        }

        return drop;
    }

    /// <summary>Prometheus's <c>computeChunkEndTime</c>: spread the remaining samples evenly over chunks up to <paramref name="max"/>.</summary>
    internal static long ComputeChunkEndTime(long start, long current, long max)
    {
        var n = (max - start) / ((current - start + 1) * 4);
        return n <= 1 ? max : start + ((max - start) / n);
    }

    /// <summary>The end of the <paramref name="width"/>-wide range holding <paramref name="t"/> (Go's truncating division).</summary>
    internal static long RangeEnd(long t, long width) => (t / width * width) + width;

    private void Cut(long t, long chunkRange, XorChunk? reuse = null)
    {
        if (reuse is not null)
        {
            reuse.Reset();
            _open = reuse;
        }
        else
        {
            _open = new XorChunk();
        }

        _openMinTime = t;
        _nextAt = RangeEnd(t, chunkRange);
    }

    private void CloseOpen()
    {
        var open = _open!;
        if (open.Count == 0)
        {
            return;
        }

        if (_closedCount == _closed.Length)
        {
            Array.Resize(ref _closed, Math.Max(4, _closed.Length * 2));
        }

        _closed[_closedCount++] = new HeadChunk(open.ToArray(), _openMinTime, LastTime, open.LegacyTrailingByte);
    }
}
