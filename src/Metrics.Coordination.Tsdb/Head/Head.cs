using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Tsdb.Index;

namespace Metrics.Coordination.Tsdb.Head;

/// <summary>
/// The in-memory head: the newest samples of every series, in XOR chunks, indexed by label. Appenders batch samples
/// and commit them (WAL first, then memory); queriers read consistent chunk snapshots.
/// </summary>
internal sealed class Head
{
    /// <summary>At most this many sample buffers are kept for reuse: one per concurrently committing appender is plenty.</summary>
    private const int PooledBuffers = 16;

    private readonly Lock _commitLock = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<List<PendingSample>> _samplePool = new();
    private long _minTime = long.MaxValue;
    private long _maxTime = long.MinValue;
    private long _minValidTime = long.MinValue;
    private Dictionary<ulong, List<(long MinTime, long MaxTime)>> _tombstones = [];

    public Head(HeadOptions options)
    {
        Options = options;
    }

    public HeadOptions Options { get; }

    public SeriesTable Series { get; } = new();

    /// <summary>The inverted index, which also holds the one shared instance of each label name and value.</summary>
    public MemPostings Index { get; } = new();

    public HeadCounters Counters { get; } = new();

    /// <summary>
    /// Deleted closed intervals per series ref (head tombstones). Never mutated once published: changes swap in a
    /// copy (under the commit lock), so queriers read it without locks.
    /// </summary>
    public Dictionary<ulong, List<(long MinTime, long MaxTime)>> Tombstones => Volatile.Read(ref _tombstones);

    /// <summary>The write-ahead log commits go through, or null (in-memory database).</summary>
    public IHeadLog? Log { get; set; }

    /// <summary>The oldest sample's timestamp, or <see cref="long.MaxValue"/> when empty.</summary>
    public long MinTime => Interlocked.Read(ref _minTime);

    /// <summary>The newest sample's timestamp, or <see cref="long.MinValue"/> when empty.</summary>
    public long MaxTime => Interlocked.Read(ref _maxTime);

    /// <summary>Samples before this are out of bounds (they belong to persisted blocks).</summary>
    public long MinValidTime
    {
        get => Interlocked.Read(ref _minValidTime);
        set => Interlocked.Exchange(ref _minValidTime, value);
    }

    /// <summary>
    /// The earliest timestamp an appender created now accepts: Prometheus's <c>appendableMinValidTime</c>, the larger
    /// of <see cref="MinValidTime"/> and half a chunk range before the newest sample.
    /// </summary>
    public long AppendableMinValidTime()
    {
        var max = MaxTime;
        var valid = MinValidTime;
        return max == long.MinValue ? valid : Math.Max(valid, max - (Options.ChunkRange / 2));
    }

    /// <summary>Starts a batch.</summary>
    public HeadAppender Appender() => new(this, AppendableMinValidTime());

    /// <summary>A cleared sample buffer from the pool (appenders return theirs on commit or rollback: no per-batch garbage).</summary>
    internal List<PendingSample> RentSampleBuffer() => _samplePool.TryDequeue(out var list) ? list : [];

    internal void ReturnSampleBuffer(List<PendingSample> list)
    {
        // Very large buffers are dropped rather than pinned in the pool forever.
        if (list.Capacity <= 1 << 20 && _samplePool.Count < PooledBuffers)
        {
            list.Clear();
            _samplePool.Enqueue(list);
        }
    }

    /// <summary>The series with <paramref name="labels"/> (empty values dropped), created and indexed when new.</summary>
    /// <remarks>A new series starts out owned by <paramref name="owner"/> (its appender), so head truncation cannot collect it before the appender's sample is pending.</remarks>
    public MemSeries GetOrCreate(Labels labels, out bool created, ulong reference = 0, object? owner = null)
    {
        var existing = Series.GetByLabels(labels);
        if (existing is not null)
        {
            created = false;
            return existing;
        }

        var interned = Index.Intern(labels);
        if (interned.Count == 0)
        {
            throw new ArgumentException("A series needs at least one label with a non-empty value.", nameof(labels));
        }

        var series = Series.GetOrCreate(interned, r => new MemSeries(r, interned) { PendingOwner = owner }, out created, reference);
        if (created)
        {
            Index.Add(series.Ref, interned);
            Interlocked.Increment(ref Counters.SeriesCreated);
        }

        return series;
    }

    /// <summary>Logs and applies a batch; returns the WAL sync token (or −1).</summary>
    internal long Commit(HeadAppender appender, List<MemSeries> newSeries, List<PendingSample> samples)
    {
        var token = -1L;
        lock (_commitLock)
        {
            if (Log is { } log && (newSeries.Count > 0 || samples.Count > 0))
            {
                token = log.Log(newSeries, samples);
            }

            long min = long.MaxValue, max = long.MinValue, appended = 0, rejected = 0, outOfOrder = 0;
            var runningMax = MaxTime;
            foreach (var p in samples)
            {
                var s = p.Series;
                lock (s)
                {
                    switch (Apply(s, p.T, p.V, ref runningMax))
                    {
                        case ApplyResult.Appended:
                            appended++;
                            min = Math.Min(min, p.T);
                            max = Math.Max(max, p.T);
                            break;
                        case ApplyResult.OutOfOrder:
                            appended++;
                            outOfOrder++;
                            min = Math.Min(min, p.T);
                            break;
                        case ApplyResult.Rejected:
                            rejected++;
                            break;
                    }

                    if (ReferenceEquals(s.PendingOwner, appender))
                    {
                        s.PendingOwner = null;
                    }
                }
            }

            Interlocked.Add(ref Counters.SamplesAppended, appended);
            Interlocked.Add(ref Counters.OutOfOrderSamples, rejected);
            Interlocked.Add(ref Counters.OutOfOrderSamplesAppended, outOfOrder);
            if (appended > 0)
            {
                UpdateTimes(min, max == long.MinValue ? min : max);
            }
        }

        return token;
    }

    /// <summary>
    /// Deletes [<paramref name="mint"/>, <paramref name="maxt"/>] from the series matching <paramref name="matchers"/>:
    /// each range is clamped to the series' samples (series without samples there are skipped), logged to the WAL as
    /// one Tombstones record (synced per the fsync policy) and published. Returns the number of series affected.
    /// </summary>
    internal int Delete(long mint, long maxt, IReadOnlyList<LabelMatcher> matchers)
    {
        var stones = new List<Records.RefTombstone>();
        foreach (var r in PostingsForMatchers.Select(Index, matchers))
        {
            if (Series.GetByRef(r) is not { } s)
            {
                continue;
            }

            long min, max;
            lock (s)
            {
                if (s.IsEmpty)
                {
                    continue;
                }

                min = s.MinTime;
                max = s.LastTime;
            }

            if (max < mint || min > maxt)
            {
                continue;
            }

            stones.Add(new Records.RefTombstone(r, Math.Max(mint, min), Math.Min(maxt, max)));
        }

        if (stones.Count == 0)
        {
            return 0;
        }

        long token = -1;
        lock (_commitLock)
        {
            if (Log is { } log)
            {
                token = log.LogTombstones(stones);
            }

            AddTombstones(stones);
        }

        if (token >= 0)
        {
            Log?.Sync(token);
        }

        return stones.Count;
    }

    /// <summary>Publishes deleted intervals (from <see cref="Delete"/> or WAL replay).</summary>
    internal void AddTombstones(IReadOnlyList<Records.RefTombstone> stones)
    {
        var copy = Copy(Tombstones);
        foreach (var st in stones)
        {
            if (!copy.TryGetValue(st.Ref, out var list))
            {
                copy[st.Ref] = list = [];
            }

            Blocks.Block.AddInterval(list, st.MinTime, st.MaxTime);
        }

        Volatile.Write(ref _tombstones, copy);
    }

    private static Dictionary<ulong, List<(long MinTime, long MaxTime)>> Copy(Dictionary<ulong, List<(long MinTime, long MaxTime)>> from)
    {
        var copy = new Dictionary<ulong, List<(long, long)>>(from.Count);
        foreach (var (r, list) in from)
        {
            copy[r] = [.. list];
        }

        return copy;
    }

    /// <summary>What <see cref="Apply"/> did with a sample.</summary>
    internal enum ApplyResult
    {
        /// <summary>Appended in order.</summary>
        Appended,

        /// <summary>Stored as an out-of-order sample (within the window).</summary>
        OutOfOrder,

        /// <summary>An exact duplicate (same time and bits), or an out-of-order sample at a time the series already has: dropped, not an error.</summary>
        Dropped,

        /// <summary>Refused: older than the newest sample and outside the out-of-order window, or the same time with other bits.</summary>
        Rejected,
    }

    /// <summary>
    /// Applies one committed sample to <paramref name="series"/> (caller holds its lock): in order when newer than its
    /// newest sample; otherwise, with an out-of-order window, stored out of order when no older than
    /// <paramref name="runningMax"/> − window and not before <see cref="MinValidTime"/> (ranges already persisted stay
    /// closed). <paramref name="runningMax"/> is the head's newest time including the samples applied before this one,
    /// advanced here; WAL replay passes each sample's value as of its place in the log, so it takes the commit's
    /// decisions. <paramref name="replay"/>: no querier exists yet, so chunk cuts may reuse the open chunk's array.
    /// </summary>
    internal ApplyResult Apply(MemSeries series, long t, ulong v, ref long runningMax, bool replay = false)
    {
        ApplyResult result;
        if (series.Append(t, v, Options.ChunkRange, Options.SamplesPerChunk, replay))
        {
            result = ApplyResult.Appended;
        }
        else if (series.LastTime == t)
        {
            result = series.LastValueBits == v ? ApplyResult.Dropped : ApplyResult.Rejected;
        }
        else if (Options.OutOfOrderWindow > 0 && t >= OutOfOrderMinTime(runningMax))
        {
            result = series.InsertOutOfOrder(t, v) ? ApplyResult.OutOfOrder : ApplyResult.Dropped;
        }
        else
        {
            result = ApplyResult.Rejected;
        }

        if (result == ApplyResult.Appended && t > runningMax)
        {
            runningMax = t;
        }

        return result;
    }

    /// <summary>The oldest timestamp an out-of-order sample may have when the head's newest is <paramref name="headMax"/>.</summary>
    internal long OutOfOrderMinTime(long headMax) =>
        Math.Max(MinValidTime, headMax == long.MinValue ? long.MinValue : headMax - Options.OutOfOrderWindow);

    /// <summary>Widens the head's time range to include [<paramref name="min"/>, <paramref name="max"/>].</summary>
    internal void UpdateTimes(long min, long max)
    {
        long seen;
        while (min < (seen = Interlocked.Read(ref _minTime)) && Interlocked.CompareExchange(ref _minTime, min, seen) != seen)
        {
        }

        while (max > (seen = Interlocked.Read(ref _maxTime)) && Interlocked.CompareExchange(ref _maxTime, max, seen) != seen)
        {
        }
    }

    /// <summary>
    /// Drops chunks that end before <paramref name="mint"/> (persisted in a block) and series left empty, and stops
    /// accepting samples before it. Returns the references of the removed series.
    /// </summary>
    internal Dictionary<ulong, Labels> Truncate(long mint)
    {
        MinValidTime = Math.Max(MinValidTime, mint);
        var removed = new Dictionary<ulong, Labels>();
        var newMin = long.MaxValue;
        foreach (var s in Series.All())
        {
            lock (s)
            {
                Interlocked.Add(ref Counters.ChunksRemoved, s.TruncateBefore(mint));
                if (s.IsEmpty && s.PendingOwner is null)
                {
                    removed.Add(s.Ref, s.Labels);
                    Series.Remove(s);
                }
                else
                {
                    newMin = Math.Min(newMin, s.MinTime);
                }
            }
        }

        Index.Delete(removed);
        Interlocked.Add(ref Counters.SeriesRemoved, removed.Count);
        lock (_commitLock)
        {
            // Deleted ranges now in a block (applied when it was written) or of collected series are dropped.
            var stones = Copy(Tombstones);
            foreach (var r in stones.Keys.ToList())
            {
                stones[r].RemoveAll(iv => iv.MaxTime < mint);
                if (stones[r].Count == 0 || removed.ContainsKey(r))
                {
                    stones.Remove(r);
                }
            }

            Volatile.Write(ref _tombstones, stones);
        }

        Interlocked.Exchange(ref _minTime, newMin);
        if (newMin == long.MaxValue)
        {
            Interlocked.Exchange(ref _maxTime, long.MinValue);
        }

        return removed;
    }
}
