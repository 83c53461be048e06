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
    private HeadChunk[] _closed = [];
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

    /// <summary>The next series in the same hash bucket (label hash collisions).</summary>
    public MemSeries? NextSameHash { get; set; }

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
    public long MinTime => _closedCount > 0 ? _closed[0].MinTime : _open is { Count: > 0 } ? _openMinTime : long.MaxValue;

    /// <summary>Whether the series holds no samples.</summary>
    public bool IsEmpty => _closedCount == 0 && (_open is null || _open.Count == 0);

    /// <summary>Number of chunks (closed + open).</summary>
    public int ChunkCount => _closedCount + (_open is { Count: > 0 } ? 1 : 0);

    /// <summary>
    /// Appends a committed sample, cutting chunks like Prometheus 2.42: a chunk never crosses a multiple of
    /// <paramref name="chunkRange"/>; at a quarter of <paramref name="samplesPerChunk"/> its end is predicted so the
    /// remaining range splits evenly; it is cut at that time or at twice <paramref name="samplesPerChunk"/> samples.
    /// Returns false (and changes nothing) when <paramref name="t"/> is not after the newest sample.
    /// </summary>
    public bool Append(long t, ulong v, long chunkRange, int samplesPerChunk)
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
                Cut(t, chunkRange);
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
    public void Snapshot(long mint, long maxt, List<ChunkMeta> into)
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

    /// <summary>All chunks with their legacy stray-byte flags (for block writing), oldest first, within [mint, maxt].</summary>
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

    private void Cut(long t, long chunkRange)
    {
        _open = new XorChunk();
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
