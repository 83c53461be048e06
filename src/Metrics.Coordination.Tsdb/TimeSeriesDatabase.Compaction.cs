using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Tsdb.Blocks;
using Metrics.Coordination.Tsdb.Compaction;
using Metrics.Coordination.Tsdb.Wal;

namespace Metrics.Coordination.Tsdb;

/// <summary>Leveled compaction, retention, deletion (tombstones) and tombstone cleaning.</summary>
public sealed partial class TimeSeriesDatabase
{
    private readonly List<(string Directory, Exception Error)> _unreadableBlocks = [];
    private long _compactions;
    private long _timeRetentionDeletions;
    private long _sizeRetentionDeletions;
    private long _tombstonesCleaned;

    /// <summary>Called at named points of compaction (crash tests print them so a kill can land right there).</summary>
    internal Action<string>? CompactionHook { get; set; }

    /// <summary>
    /// Deletes the samples in [<paramref name="minTimeMs"/>, <paramref name="maxTimeMs"/>] (inclusive) of every series
    /// matching <paramref name="matchers"/> (all series when none): persisted blocks get tombstones (their
    /// <c>tombstones</c> file rewritten atomically), the head records the deleted ranges in the WAL as a Tombstones
    /// record (replayed at open). Every query leaves the deleted samples out at once; compaction (or
    /// <see cref="CleanTombstones"/>) drops them from disk. As in Prometheus, each deleted range is clamped to the data a
    /// series holds now, so samples appended later are not affected.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="minTimeMs"/> is after <paramref name="maxTimeMs"/>.</exception>
    /// <exception cref="IOException">A tombstones file or the WAL could not be written.</exception>
    /// <exception cref="InvalidOperationException">The database was opened read-only.</exception>
    public void Delete(long minTimeMs, long maxTimeMs, params LabelMatcher[] matchers)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ArgumentNullException.ThrowIfNull(matchers);
        ThrowIfReadOnly();
        if (minTimeMs > maxTimeMs)
        {
            throw new ArgumentException($"The deleted range [{minTimeMs}, {maxTimeMs}] is empty.", nameof(minTimeMs));
        }

        lock (_compactLock)
        {
            var blockSeries = 0;
            foreach (var block in Volatile.Read(ref _blocks))
            {
                if (block.Meta.MinTime <= maxTimeMs && block.Meta.MaxTime > minTimeMs)
                {
                    blockSeries += block.Delete(minTimeMs, maxTimeMs, matchers);
                }
            }

            var headSeries = _head.Delete(minTimeMs, maxTimeMs, matchers);
            Log.Deleted(_logger, minTimeMs, maxTimeMs, blockSeries, headSeries);
        }
    }

    /// <summary>
    /// Rewrites every block that has tombstones without the deleted samples (Prometheus's <c>CleanTombstones</c>): the
    /// new block names the old one as its parent, the old one is deleted once the new one is durable; a block left with
    /// no samples is simply deleted. Returns the number of blocks rewritten or deleted.
    /// </summary>
    /// <exception cref="IOException">Writing a block failed; the old block stays.</exception>
    /// <exception cref="InvalidOperationException">The database was opened read-only.</exception>
    public int CleanTombstones()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ThrowIfReadOnly();
        if (Options.Directory is not { } dir)
        {
            return 0;
        }

        lock (_compactLock)
        {
            var cleaned = 0;
            foreach (var block in Volatile.Read(ref _blocks))
            {
                if (!block.HasTombstones)
                {
                    continue;
                }

                var meta = block.Meta;
                var series = LeveledCompactor.Merge([block], meta.MinTime, meta.MaxTime);
                CompactionHook?.Invoke("clean");
                var child = BlockWriter.Write(dir, series, meta.MinTime, meta.MaxTime, Options.TimeProvider, WriterOptions, parents: [new BlockDesc(meta.Ulid, meta.MinTime, meta.MaxTime)]);
                ReplaceBlocks([block], child is null ? null : Block.Open(Path.Combine(dir, child.Ulid)), "clean");
                Interlocked.Increment(ref _tombstonesCleaned);
                cleaned++;
            }

            return cleaned;
        }
    }

    /// <summary>Runs the compaction plan until it is empty (called under the compaction lock).</summary>
    private void CompactBlocks(string dir)
    {
        var ranges = LeveledCompactor.Ranges(_head.Options.ChunkRange, (long)Options.RetentionTime.TotalMilliseconds);
        while (true)
        {
            var blocks = Volatile.Read(ref _blocks);
            var plan = LeveledCompactor.Plan([.. blocks.Select(b => b.Meta)], ranges);
            if (plan.Count == 0)
            {
                return;
            }

            var parents = plan.Select(m => blocks.First(b => ReferenceEquals(b.Meta, m))).ToList();
            var (mint, maxt, level, sources, parentDescs) = LeveledCompactor.ChildMeta(plan);
            List<(Labels Labels, IReadOnlyList<Head.HeadChunk> Chunks)> series;
            try
            {
                series = LeveledCompactor.Merge(parents, mint, maxt);
            }
            catch (TsdbCorruptionException ex)
            {
                // A parent's chunk is bad: its blocks stay as they are (queries report the error), the plan stops here.
                Interlocked.Increment(ref _compactionFailures);
                Log.BlockCompactionFailed(_logger, ex);
                return;
            }

            CompactionHook?.Invoke("compact");
            var child = BlockWriter.Write(dir, series, mint, maxt, Options.TimeProvider, WriterOptions, level, sources, parentDescs);
            Block? opened = null;
            if (child is not null)
            {
                opened = Block.Open(Path.Combine(dir, child.Ulid));
                Interlocked.Increment(ref _blocksWritten);
                Log.BlocksCompacted(_logger, child.Ulid, child.MinTime, child.MaxTime, child.Level, parents.Count, child.NumSeries, child.NumSamples);
            }

            Interlocked.Increment(ref _compactions);
            ReplaceBlocks(parents, opened, "compact");
        }
    }

    /// <summary>
    /// Swaps <paramref name="parents"/> for <paramref name="child"/> in the block list at once (so no query sees both
    /// or neither), then deletes the parents' directories. The child is already durable; when there is none (nothing
    /// left after tombstones), the parents are marked <c>compaction.deletable</c> first, as Prometheus does.
    /// </summary>
    private void ReplaceBlocks(IReadOnlyList<Block> parents, Block? child, string stage)
    {
        if (child is null)
        {
            foreach (var p in parents)
            {
                (p.Meta with { Deletable = true }).Write(p.Directory);
            }
        }

        lock (_blocksLock)
        {
            var remaining = _blocks.Where(b => !parents.Contains(b));
            if (child is not null)
            {
                remaining = remaining.Append(child);
                _head.MinValidTime = Math.Max(_head.MinValidTime, child.Meta.MaxTime);
            }

            Volatile.Write(ref _blocks, [.. remaining.OrderBy(b => b.Meta.MinTime).ThenBy(b => b.Meta.Ulid, StringComparer.Ordinal)]);
        }

        CompactionHook?.Invoke(stage + "-swapped");
        foreach (var p in parents)
        {
            p.Dispose();
            DeleteBlockDirectory(p.Directory);
        }
    }

    /// <summary>
    /// Prometheus's retention: blocks sorted newest first (by maxTime); by time, every block from the first whose maxTime
    /// is at least <see cref="TsdbOptions.RetentionTime"/> behind the newest block's; by size, counting the WAL
    /// (segments and checkpoint) first, every block from the first that takes the total past
    /// <see cref="TsdbOptions.RetentionSize"/>. Deleted blocks are logged and counted.
    /// </summary>
    private void ApplyRetention()
    {
        var blocks = Volatile.Read(ref _blocks).OrderByDescending(b => b.Meta.MaxTime).ToList();
        if (blocks.Count == 0)
        {
            return;
        }

        var doomed = new Dictionary<Block, string>();
        var retention = (long)Options.RetentionTime.TotalMilliseconds;
        if (retention > 0)
        {
            for (var i = 1; i < blocks.Count; i++)
            {
                if (blocks[0].Meta.MaxTime - blocks[i].Meta.MaxTime >= retention)
                {
                    blocks.Skip(i).ToList().ForEach(b => doomed.TryAdd(b, "time"));
                    break;
                }
            }
        }

        if (Options.RetentionSize > 0)
        {
            var total = WalSize();
            for (var i = 0; i < blocks.Count; i++)
            {
                total += blocks[i].Size;
                if (total > Options.RetentionSize)
                {
                    blocks.Skip(i).ToList().ForEach(b => doomed.TryAdd(b, "size"));
                    break;
                }
            }
        }

        if (doomed.Count == 0)
        {
            return;
        }

        lock (_blocksLock)
        {
            Volatile.Write(ref _blocks, [.. _blocks.Where(b => !doomed.ContainsKey(b))]);
        }

        foreach (var (block, reason) in doomed)
        {
            Interlocked.Increment(ref reason == "time" ? ref _timeRetentionDeletions : ref _sizeRetentionDeletions);
            Log.RetentionDeleted(_logger, block.Meta.Ulid, block.Meta.MinTime, block.Meta.MaxTime, reason, block.Size);
            block.Dispose();
            DeleteBlockDirectory(block.Directory);
        }
    }

    /// <summary>Bytes of the WAL directory (segments and checkpoints), as Prometheus counts the head for size retention.</summary>
    private long WalSize()
    {
        var wal = Path.Combine(Options.Directory!, "wal");
        return System.IO.Directory.Exists(wal)
            ? new DirectoryInfo(wal).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length)
            : 0;
    }

    /// <summary>
    /// At open, after loading the blocks: a block that a loaded block names in <c>compaction.parents</c> was merged
    /// already (the crash came between writing the result and deleting its inputs) and is deleted, as is one marked
    /// <c>compaction.deletable</c>; unreadable blocks that are such parents go silently, others are reported corrupt.
    /// </summary>
    private void RemoveMergedParents()
    {
        var merged = new HashSet<string>(Volatile.Read(ref _blocks).SelectMany(b => b.Meta.Parents.Select(p => p.Ulid)), StringComparer.Ordinal);
        var gone = Volatile.Read(ref _blocks).Where(b => merged.Contains(b.Meta.Ulid) || b.Meta.Deletable).ToList();
        if (gone.Count > 0)
        {
            lock (_blocksLock)
            {
                Volatile.Write(ref _blocks, [.. _blocks.Where(b => !gone.Contains(b))]);
            }

            foreach (var b in gone)
            {
                Log.MergedParentRemoved(_logger, b.Meta.Ulid);
                b.Dispose();
                DeleteBlockDirectory(b.Directory);
            }
        }

        foreach (var (dir, error) in _unreadableBlocks)
        {
            if (merged.Contains(Path.GetFileName(dir)))
            {
                Log.MergedParentRemoved(_logger, Path.GetFileName(dir));
                DeleteBlockDirectory(dir);
                continue;
            }

            Interlocked.Increment(ref _blocksCorrupt);
            Log.BlockCorrupt(_logger, dir, error);
        }

        _unreadableBlocks.Clear();
    }

    /// <summary>Prometheus's deletion: rename to <c>.tmp-for-deletion</c> (durably), then remove; a leftover is removed at open.</summary>
    private static void DeleteBlockDirectory(string directory)
    {
        var doomed = directory + BlockWriter.DeletionSuffix;
        FileSystem.RenameDurably(directory, doomed, isDirectory: true);
        System.IO.Directory.Delete(doomed, recursive: true);
    }
}
