using Metrics.Coordination.Tsdb.Head;
using Metrics.Coordination.Tsdb.Records;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Tsdb.Wal;

/// <summary>
/// Applies replayed WAL records to the head in batches regrouped by series, with the same result as applying every
/// sample in log order.
/// </summary>
/// <remarks>
/// <para>
/// Why: a scrape-shaped WAL interleaves series (one record per target scrape, each sample another series), so applying
/// in log order touches a different series, open chunk and chunk buffer for every sample: with 100 k series that is
/// several cache misses per sample (~245 ns). Here the reading thread decodes Samples records into flat arrays of
/// (series slot, t, v), a batch of 64 samples per head series (at least 64 Ki, at most <see cref="BatchSamples"/>
/// samples); then the batch is counting-sorted by series
/// (stable: each series keeps log order) and applied series by series, so a series' state is loaded once per batch.
/// The sort and the appends run on <see cref="Environment.ProcessorCount"/> workers, each owning a contiguous range of
/// the batch's series (about the same number of samples each), while the reading thread decodes the next batch.
/// </para>
/// <para>
/// Why the result is the same: a sample's fate depends on its own series' earlier samples (kept in log order) and, for
/// the out-of-order window, on the head's newest time at that point of the log. That time is the largest timestamp
/// of the samples before it that reached <see cref="Head.Head.Apply"/> (a sample that is not appended in order is no
/// newer than its series' newest sample, which was), so the reading thread computes it in log order and stores it with
/// each sample when the window is on. Series records are applied by the reading thread as they come, and a sample's
/// series is resolved when it is decoded (so a sample before its series' record is unknown, as before, and a reference
/// logged again for other labels maps only later samples); batches are keyed by the resolved series, so two references
/// of one series stay in one log-ordered run. Tombstones records first wait for the pending batches (they do not depend
/// on samples, but the head's published tombstones then follow the log). Min and max time, counters: sums and extremes,
/// order-free. Nothing else reads head state during replay (no appender or querier exists yet).
/// </para>
/// </remarks>
internal sealed class WalReplayer
{
    /// <summary>
    /// The most samples per batch: 1 Mi = 10 per series at 100 k series (each series' state loaded once per 10 samples
    /// instead of 10 times); 20 bytes a sample in a batch, two batches and the sorted copy: 56 MB while replaying.
    /// </summary>
    internal const int BatchSamples = 1 << 20;

    /// <summary>Batches aim at this many samples per series in the head (16 k series and more fill the largest batch).</summary>
    private const int SamplesPerSeriesPerBatch = 64;

    /// <summary>The smallest full batch (whatever the series count): 1.3 MB of arrays, below which the hand-offs cost more than they bring.</summary>
    private const int MinBatchSamples = 1 << 16;

    /// <summary>Batches smaller than this are applied on the reading thread.</summary>
    internal const int MinParallelSamples = 1 << 16;

    private readonly Head.Head _head;
    private readonly WalReplayResult _result;
    private readonly long _minValid;
    private readonly bool _outOfOrder;
    private readonly int _workers;
    private readonly int _batchSamples;
    private readonly int _minParallelSamples;
    private readonly List<RefSeries> _series = [];
    private readonly List<RefTombstone> _stones = [];
    private readonly Dictionary<ulong, MemSeries> _remapped = [];
    private readonly SlotTable _slots = new();
    private readonly Sorted _sorted;
    private readonly WorkerTotals[] _totals;
    private ulong[] _refs = [];
    private Batch _filling;
    private Batch _spare;
    private Task? _applying;
    private int _applyingWorkers;
    private long _runningMax;

    public WalReplayer(Head.Head head, WalReplayResult result, ReplayTuning? tuning = null)
    {
        var tune = tuning ?? ReplayTuning.Default;
        _head = head;
        _result = result;
        _minValid = head.MinValidTime;
        _outOfOrder = head.Options.OutOfOrderWindow > 0;
        _runningMax = head.MaxTime;
        _workers = tune.Workers > 0 ? tune.Workers : Math.Max(1, Environment.ProcessorCount);
        _batchSamples = tune.BatchSamples;
        _minParallelSamples = tune.MinParallelSamples;
        _filling = new Batch(_outOfOrder);
        _spare = new Batch(_outOfOrder);
        _sorted = new Sorted(_outOfOrder);
        _totals = new WorkerTotals[_workers];
    }

    /// <summary>The counts and errors of the replay so far (filled in as records are applied).</summary>
    public WalReplayResult Outcome => _result;

    /// <summary>Applies one record (decoded here; samples are batched). Throws <see cref="InvalidDataException"/> for an undecodable record, having applied nothing of it.</summary>
    public void Apply(ReadOnlySpan<byte> record, int segment, ILogger logger)
    {
        switch (WalRecords.TypeOf(record))
        {
            case WalRecordType.Series:
                _series.Clear();
                WalRecords.DecodeSeries(record, _series);
                foreach (var s in _series)
                {
                    // A reference already taken by other labels (should not happen) gets a fresh one and a mapping.
                    var taken = _head.Series.GetByRef(s.Ref);
                    var wanted = taken is null || taken.Labels.Equals(s.Labels) ? s.Ref : 0;
                    var series = _head.GetOrCreate(s.Labels, out _, wanted);
                    if (series.Ref != s.Ref)
                    {
                        // The same labels were logged under two references (a series collected and re-created).
                        _remapped[s.Ref] = series;
                    }

                    _result.Series++;
                }

                break;
            case WalRecordType.Samples:
                AddSamples(record);
                break;
            case WalRecordType.Tombstones:
                _stones.Clear();
                WalRecords.DecodeTombstones(record, _stones);
                Flush();
                for (var i = 0; i < _stones.Count; i++)
                {
                    if (Find(_stones[i].Ref, out _) is { } target && target.Ref != _stones[i].Ref)
                    {
                        _stones[i] = _stones[i] with { Ref = target.Ref };
                    }
                }

                _head.AddTombstones(_stones);
                break;
            case WalRecordType.MmapMarkers:
                // Prometheus writes these to its out-of-order log (wbl/) to point at m-mapped OOO head chunks; we keep
                // out-of-order samples in the WAL's Samples records and have no m-mapped chunks, so there is nothing to do.
                break;
            default:
                Tsdb.Log.WalUnknownRecord(logger, record.IsEmpty ? -1 : record[0], segment);
                break;
        }
    }

    /// <summary>Ends the replay: applies what is batched, then gives back the open chunks' spare room (see <see cref="MemSeries.TrimOpenChunk"/>).</summary>
    public void Finish()
    {
        Flush();
        foreach (var series in _head.Series.All())
        {
            lock (series)
            {
                series.TrimOpenChunk();
            }
        }
    }

    /// <summary>Applies every batched sample and waits for it: the head then holds every record given so far.</summary>
    public void Flush()
    {
        if (_filling.Count > 0)
        {
            Dispatch();
        }

        Wait();
    }

    /// <summary>Decodes a Samples record into the batch: first the raw triples (nothing is kept if the record is bad), then the series and filters.</summary>
    private void AddSamples(ReadOnlySpan<byte> record)
    {
        var r = new ByteReader(record[1..]);
        if (r.End)
        {
            return;
        }

        var baseRef = r.Be64();
        var baseT = (long)r.Be64();

        // Each sample takes at least 10 bytes (two one-byte varints and the value).
        var most = (r.Remaining / 10) + 1;
        if (_filling.Count + most > _filling.Capacity)
        {
            // Enough samples per series that each series' state is loaded once for several of them, but no more: a
            // small WAL or one with few series allocates little (the arrays grow to that size as the WAL proves it).
            var target = (int)Math.Min(_batchSamples, Math.Max(MinBatchSamples, SamplesPerSeriesPerBatch * (long)_head.Series.Count));
            if (_filling.Count > 0 && _filling.Capacity >= target)
            {
                Dispatch();
            }

            _filling.EnsureCapacity(Math.Max(_filling.Count + most, Math.Min(target, Math.Max(4096, _filling.Capacity * 2))));
        }

        if (_refs.Length < most)
        {
            _refs = new ulong[most];
        }

        var b = _filling;
        var start = b.Count;
        var end = start;
        var refs = _refs;
        var ts = b.T;
        var vs = b.V;
        while (!r.End)
        {
            refs[end - start] = (ulong)((long)baseRef + r.Varint());
            ts[end] = baseT + r.Varint();
            vs[end] = r.Be64();
            end++;
        }

        // The record decoded: resolve series and filter, compacting in place, in log order.
        var n = start;
        var runningMax = _runningMax;
        var slots = b.Slot;
        var max = b.Max;
        for (var i = start; i < end; i++)
        {
            var series = Find(refs[i - start], out var key);
            if (series is null)
            {
                _result.UnknownSeriesSamples++;
                continue;
            }

            var t = ts[i];
            if (t < _minValid)
            {
                _result.SamplesSkipped++;
                continue;
            }

            var slot = _slots.Get(key);
            if (slot == 0)
            {
                slot = b.AddSeries(series, key);
                _slots.Set(key, slot);
            }

            slot--;
            b.Counts[slot]++;
            slots[n] = slot;
            ts[n] = t;
            vs[n] = vs[i];
            if (max is not null)
            {
                // The head's newest time before this sample, as the sequential replay's running max would be.
                max[n] = runningMax;
            }

            if (t > runningMax)
            {
                runningMax = t;
            }

            n++;
        }

        _runningMax = runningMax;
        b.Count = n;
    }

    /// <summary>The series a logged reference means now, and its head reference (the batch key), without touching the series object unless remapped.</summary>
    private MemSeries? Find(ulong reference, out ulong key)
    {
        if (_remapped.Count > 0 && _remapped.TryGetValue(reference, out var remapped))
        {
            key = remapped.Ref;
            return remapped;
        }

        // The table holds each series at its own reference.
        key = reference;
        return _head.Series.GetByRef(reference);
    }

    /// <summary>Hands the filling batch to the workers (after the previous one is done) and starts filling the other.</summary>
    private void Dispatch()
    {
        Wait();
        var batch = _filling;
        for (var k = 0; k < batch.SlotCount; k++)
        {
            _slots.Set(batch.KeyOfSlot[k], 0);
        }

        // Contiguous slot ranges of about equal sample counts, one per worker; starts of each slot's run.
        var starts = _sorted.Starts(batch.SlotCount + 1);
        var at = 0;
        for (var k = 0; k < batch.SlotCount; k++)
        {
            starts[k] = at;
            at += batch.Counts[k];
        }

        starts[batch.SlotCount] = at;
        _sorted.EnsureCapacity(batch.Count);

        // A small batch (a small WAL, or the tail before a tombstones record) is not worth the thread hops.
        var workers = batch.Count < _minParallelSamples ? 1 : Math.Min(_workers, batch.SlotCount);
        var bounds = new int[workers + 1];
        var slot = 0;
        for (var w = 1; w < workers; w++)
        {
            var target = (long)batch.Count * w / workers;
            while (slot < batch.SlotCount && starts[slot] < target)
            {
                slot++;
            }

            bounds[w] = slot;
        }

        bounds[workers] = batch.SlotCount;
        _filling = _spare;
        _spare = batch;
        if (workers == 1)
        {
            _totals[0] = ApplyRange(batch, 0, batch.SlotCount);
            batch.Reset();
            _head.UpdateTimes(_totals[0].Min, _totals[0].Max);
            Add(_totals[0]);
            return;
        }

        var tasks = new Task[workers];
        for (var w = 0; w < workers; w++)
        {
            var (lo, hi, index) = (bounds[w], bounds[w + 1], w);
            tasks[w] = Task.Run(() => _totals[index] = ApplyRange(batch, lo, hi));
        }

        _applying = Task.WhenAll(tasks).ContinueWith(
            t =>
            {
                batch.Reset();
                t.GetAwaiter().GetResult();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        _applyingWorkers = workers;
    }

    private void Wait()
    {
        if (_applying is not { } applying)
        {
            return;
        }

        _applying = null;
        applying.GetAwaiter().GetResult();
        long min = long.MaxValue, max = long.MinValue;
        for (var w = 0; w < _applyingWorkers; w++)
        {
            Add(_totals[w]);
            min = Math.Min(min, _totals[w].Min);
            max = Math.Max(max, _totals[w].Max);
        }

        _head.UpdateTimes(min, max);
    }

    private void Add(in WorkerTotals totals)
    {
        _result.Samples += totals.Applied;
        _result.OutOfOrderSamples += totals.OutOfOrder;
        _result.SamplesSkipped += totals.Skipped;
    }

    /// <summary>One worker: sorts its slots' samples out of the batch (stable), then applies them series by series.</summary>
    private WorkerTotals ApplyRange(Batch batch, int lo, int hi)
    {
        var starts = _sorted.StartsArray;
        var next = _sorted.Next(lo, hi);
        var slots = batch.Slot;
        var ts = batch.T;
        var vs = batch.V;
        var max = batch.Max;
        var sortedT = _sorted.T;
        var sortedV = _sorted.V;
        var sortedMax = _sorted.Max;
        var n = batch.Count;
        for (var i = 0; i < n; i++)
        {
            var k = slots[i];
            if (k < lo || k >= hi)
            {
                continue;
            }

            var pos = next[k]++;
            sortedT[pos] = ts[i];
            sortedV[pos] = vs[i];
            if (max is not null)
            {
                sortedMax![pos] = max[i];
            }
        }

        var totals = new WorkerTotals { Min = long.MaxValue, Max = long.MinValue };
        var head = _head;
        for (var k = lo; k < hi; k++)
        {
            var series = batch.SeriesOfSlot[k];
            var from = starts[k];
            var to = starts[k + 1];
            lock (series)
            {
                for (var pos = from; pos < to; pos++)
                {
                    var t = sortedT[pos];
                    var runningMax = sortedMax is null ? long.MaxValue : sortedMax[pos];

                    // The same decision the commit took (in order, out of order within the window, or refused).
                    var applied = head.Apply(series, t, sortedV[pos], ref runningMax, replay: true);
                    if (applied is Head.Head.ApplyResult.Appended or Head.Head.ApplyResult.OutOfOrder)
                    {
                        totals.Applied++;
                        totals.Min = Math.Min(totals.Min, t);
                        totals.Max = Math.Max(totals.Max, t);
                        if (applied == Head.Head.ApplyResult.OutOfOrder)
                        {
                            totals.OutOfOrder++;
                        }
                    }
                    else
                    {
                        totals.Skipped++;
                    }
                }
            }
        }

        return totals;
    }

    /// <summary>Batch size, worker count (0 = one per processor) and the smallest batch worth the workers; tests shrink them to cross many batch boundaries.</summary>
    internal readonly record struct ReplayTuning(int BatchSamples, int Workers, int MinParallelSamples)
    {
        public static ReplayTuning Default => new(WalReplayer.BatchSamples, 0, WalReplayer.MinParallelSamples);
    }

    private struct WorkerTotals
    {
        public long Applied;
        public long OutOfOrder;
        public long Skipped;
        public long Min;
        public long Max;
    }

    /// <summary>Decoded samples in log order, with their series slot (0-based, per batch) and the batch's series.</summary>
    private sealed class Batch(bool outOfOrder)
    {
        public int[] Slot = [];
        public long[] T = [];
        public ulong[] V = [];
        public long[]? Max = outOfOrder ? [] : null;
        public int Count;
        public MemSeries[] SeriesOfSlot = new MemSeries[1024];
        public ulong[] KeyOfSlot = new ulong[1024];
        public int[] Counts = new int[1024];
        public int SlotCount;

        public int Capacity => T.Length;

        /// <summary>Grows the arrays to hold <paramref name="samples"/>.</summary>
        public void EnsureCapacity(int samples)
        {
            if (samples > T.Length)
            {
                Array.Resize(ref Slot, samples);
                Array.Resize(ref T, samples);
                Array.Resize(ref V, samples);
                if (Max is not null)
                {
                    Array.Resize(ref Max, samples);
                }
            }
        }

        /// <summary>Adds a series to the batch; returns its slot + 1.</summary>
        public int AddSeries(MemSeries series, ulong key)
        {
            if (SlotCount == SeriesOfSlot.Length)
            {
                Array.Resize(ref SeriesOfSlot, SlotCount * 2);
                Array.Resize(ref KeyOfSlot, SlotCount * 2);
                Array.Resize(ref Counts, SlotCount * 2);
            }

            SeriesOfSlot[SlotCount] = series;
            KeyOfSlot[SlotCount] = key;
            return ++SlotCount;
        }

        public void Reset()
        {
            Array.Clear(SeriesOfSlot, 0, SlotCount);
            Array.Clear(Counts, 0, SlotCount);
            SlotCount = 0;
            Count = 0;
        }
    }

    /// <summary>The batch being applied, sorted by series: one set, used by one batch at a time.</summary>
    private sealed class Sorted(bool outOfOrder)
    {
        public long[] T = [];
        public ulong[] V = [];
        public long[]? Max = outOfOrder ? [] : null;

        /// <summary>Room for a batch of <paramref name="samples"/>.</summary>
        public void EnsureCapacity(int samples)
        {
            if (T.Length < samples)
            {
                T = new long[samples];
                V = new ulong[samples];
                Max = Max is null ? null : new long[samples];
            }
        }

        public int[] StartsArray = new int[1025];
        public int[] NextArray = new int[1025];

        public int[] Starts(int length)
        {
            if (StartsArray.Length < length)
            {
                StartsArray = new int[length * 2];
                NextArray = new int[length * 2];
            }

            return StartsArray;
        }

        /// <summary>Each slot's next free position, for slots [lo, hi) (a range owned by one worker, so one shared array serves all).</summary>
        public int[] Next(int lo, int hi)
        {
            Array.Copy(StartsArray, lo, NextArray, lo, hi - lo);
            return NextArray;
        }
    }

    /// <summary>Series reference → slot + 1 in the filling batch (0 = none): paged like the series table, pages made as references appear.</summary>
    private sealed class SlotTable
    {
        private const int PageBits = 12;
        private int[]?[] _pages = new int[]?[16];

        public int Get(ulong key)
        {
            var page = key >> PageBits;
            return page < (ulong)_pages.Length && _pages[page] is { } p ? p[(int)(key & ((1 << PageBits) - 1))] : 0;
        }

        public void Set(ulong key, int value)
        {
            var page = (int)(key >> PageBits);
            if (page >= _pages.Length)
            {
                Array.Resize(ref _pages, Math.Max(page + 1, _pages.Length * 2));
            }

            (_pages[page] ??= new int[1 << PageBits])[(int)(key & ((1 << PageBits) - 1))] = value;
        }
    }
}
