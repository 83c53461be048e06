using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Tsdb.Blocks;
using Metrics.Coordination.Tsdb.Chunks;
using Metrics.Coordination.Tsdb.Head;
using Metrics.Coordination.Tsdb.Index;

namespace Metrics.Coordination.Tsdb.Compaction;

/// <summary>
/// Prometheus's leveled compaction: which blocks to merge next (<see cref="Plan"/>) and the merge itself
/// (<see cref="Merge"/>): series of all inputs joined by labels, overlapping chunks merged sample by sample with
/// duplicates kept once, tombstoned samples dropped. See <c>docs/format/compaction.md</c>.
/// </summary>
internal static class LeveledCompactor
{
    /// <summary>Prometheus's cap on the largest block: 31 days.</summary>
    public const long MaxBlockDurationCap = 31L * 24 * 60 * 60 * 1000;

    /// <summary>Samples per re-encoded chunk (Prometheus's target for float chunks).</summary>
    public const int SamplesPerChunk = 120;

    /// <summary>
    /// The compaction ranges: <paramref name="blockRange"/> × 3^i for i = 0..9 (Prometheus's
    /// <c>ExponentialBlockRanges(min, 10, 3)</c>), cut before the first one larger than the max block duration, which
    /// is 10 % of <paramref name="retention"/> but at most 31 d (Prometheus's default for
    /// <c>--storage.tsdb.max-block-duration</c>), and never less than one block range.
    /// </summary>
    public static long[] Ranges(long blockRange, long retention)
    {
        var max = retention > 0 ? Math.Min(retention / 10, MaxBlockDurationCap) : MaxBlockDurationCap;
        max = Math.Max(max, blockRange);
        var ranges = new List<long>();
        var r = blockRange;
        for (var i = 0; i < 10 && r <= max; i++)
        {
            ranges.Add(r);
            if (r > long.MaxValue / 3)
            {
                break;
            }

            r *= 3;
        }

        return [.. ranges];
    }

    /// <summary>
    /// Prometheus's <c>LeveledCompactor.plan</c>: first any run of time-overlapping blocks (vertical compaction); else,
    /// leaving out the newest block (the one just cut from the head, which the head may still overlap), the first
    /// range of the next level (ranges[1], ranges[2], ...) holding more than one block that either spans the whole
    /// range or ends at or before the newest block's start; else a single large block whose tombstones cover more than
    /// 5 % of its series (or all of them). Empty when there is nothing to do.
    /// </summary>
    public static List<BlockMeta> Plan(IReadOnlyList<BlockMeta> blocks, long[] ranges)
    {
        var metas = blocks.OrderBy(m => m.MinTime).ThenBy(m => m.Ulid, StringComparer.Ordinal).ToList();
        var overlapping = SelectOverlapping(metas);
        if (overlapping.Count > 0)
        {
            return overlapping;
        }

        if (metas.Count == 0)
        {
            return [];
        }

        metas.RemoveAt(metas.Count - 1);
        var leveled = SelectLeveled(metas, ranges);
        if (leveled.Count > 0)
        {
            return leveled;
        }

        for (var i = metas.Count - 1; i >= 0; i--)
        {
            var m = metas[i];
            if (m.MaxTime - m.MinTime < ranges[ranges.Length / 2])
            {
                // Small blocks are only rewritten for tombstones when nothing is left in them.
                if (m.NumTombstones > 0 && m.NumTombstones >= m.NumSeries)
                {
                    return [m];
                }

                break;
            }

            if ((double)m.NumTombstones / (m.NumSeries + 1) > 0.05)
            {
                return [m];
            }
        }

        return [];
    }

    /// <summary>The meta of the block merging <paramref name="parents"/>: their time span, level max + 1, all sources, the parents.</summary>
    public static (long MinTime, long MaxTime, int Level, string[] Sources, BlockDesc[] Parents) ChildMeta(IReadOnlyList<BlockMeta> parents)
    {
        var sources = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var p in parents)
        {
            sources.UnionWith(p.Sources.Count > 0 ? p.Sources : [p.Ulid]);
        }

        return (parents.Min(p => p.MinTime), parents.Max(p => p.MaxTime), parents.Max(p => p.Level) + 1, [.. sources],
            [.. parents.Select(p => new BlockDesc(p.Ulid, p.MinTime, p.MaxTime))]);
    }

    /// <summary>
    /// Joins the series of <paramref name="blocks"/> in label order. A series' chunks that neither overlap another chunk
    /// nor touch a tombstone are copied byte for byte; overlapping or partly deleted ones are decoded, merged by
    /// timestamp (the same timestamp kept once, from the first block in <paramref name="blocks"/> order), stripped of
    /// deleted samples and re-encoded into chunks of up to 120 samples. Only samples in [mint, maxt) are kept.
    /// </summary>
    /// <exception cref="TsdbCorruptionException">A chunk of an input fails its checksum.</exception>
    public static List<(Labels Labels, IReadOnlyList<HeadChunk> Chunks)> Merge(IReadOnlyList<Block> blocks, long mint, long maxt)
    {
        var bySeries = new Dictionary<Labels, List<Source>>();
        var chunkMetas = new List<IndexChunk>();
        for (var b = 0; b < blocks.Count; b++)
        {
            var block = blocks[b];
            var stones = block.TombstoneIntervals;
            foreach (var r in block.Index.AllPostings())
            {
                var labels = block.Index.Series(r, chunkMetas);
                if (!bySeries.TryGetValue(labels, out var list))
                {
                    bySeries[labels] = list = [];
                }

                stones.TryGetValue(r, out var deleted);
                foreach (var c in chunkMetas)
                {
                    list.Add(new Source(b, block, c, deleted));
                }
            }
        }

        var ordered = bySeries.Keys.ToList();
        ordered.Sort(Utf8Order.CompareLabels);
        var result = new List<(Labels, IReadOnlyList<HeadChunk>)>(ordered.Count);
        var iterator = new XorIterator();
        foreach (var labels in ordered)
        {
            var sources = bySeries[labels];
            sources.Sort(static (x, y) => x.Chunk.MinTime != y.Chunk.MinTime ? x.Chunk.MinTime.CompareTo(y.Chunk.MinTime) : x.Order.CompareTo(y.Order));
            var chunks = new List<HeadChunk>();
            for (var i = 0; i < sources.Count;)
            {
                // A run of chunks that overlap each other in time is merged as a whole.
                var j = i + 1;
                var runMax = sources[i].Chunk.MaxTime;
                while (j < sources.Count && sources[j].Chunk.MinTime <= runMax)
                {
                    runMax = Math.Max(runMax, sources[j].Chunk.MaxTime);
                    j++;
                }

                var s = sources[i];
                if (j == i + 1 && !s.Touched(mint, maxt))
                {
                    var data = s.Block.Chunks.Chunk(s.Chunk.Ref);
                    chunks.Add(new HeadChunk(data.ToArray(), s.Chunk.MinTime, s.Chunk.MaxTime, false));
                }
                else
                {
                    MergeRun(sources, i, j, mint, maxt, iterator, chunks);
                }

                i = j;
            }

            if (chunks.Count > 0)
            {
                result.Add((labels, chunks));
            }
        }

        return result;
    }

    private static void MergeRun(List<Source> sources, int from, int to, long mint, long maxt, XorIterator iterator, List<HeadChunk> into)
    {
        // Every sample of the run, first source wins on equal timestamps.
        var samples = new List<(long T, ulong V, int Order)>();
        for (var k = from; k < to; k++)
        {
            var s = sources[k];
            if (s.Covered())
            {
                continue;
            }

            iterator.Reset(s.Block.Chunks.Chunk(s.Chunk.Ref));
            while (iterator.Next())
            {
                var t = iterator.Timestamp;
                if (t >= mint && t < maxt && !s.IsDeleted(t))
                {
                    samples.Add((t, iterator.ValueBits, s.Order));
                }
            }

            if (iterator.Error is { } e)
            {
                throw new TsdbCorruptionException(Path.Combine(s.Block.Directory, "chunks"), (long)(s.Chunk.Ref & 0xFFFF_FFFF), "chunk does not decode: " + e.Message, e);
            }
        }

        samples.Sort(static (a, b) => a.T != b.T ? a.T.CompareTo(b.T) : a.Order.CompareTo(b.Order));
        XorChunk? open = null;
        long first = 0, last = 0;
        for (var k = 0; k < samples.Count; k++)
        {
            var (t, v, _) = samples[k];
            if (k > 0 && samples[k - 1].T == t)
            {
                continue;
            }

            if (open is not null && open.Count >= SamplesPerChunk)
            {
                into.Add(new HeadChunk(open.ToArray(), first, last, open.LegacyTrailingByte));
                open = null;
            }

            if (open is null)
            {
                open = new XorChunk();
                first = t;
            }

            open.Append(t, v);
            last = t;
        }

        if (open is not null)
        {
            into.Add(new HeadChunk(open.ToArray(), first, last, open.LegacyTrailingByte));
        }
    }

    private static List<BlockMeta> SelectOverlapping(List<BlockMeta> metas)
    {
        var result = new List<BlockMeta>();
        if (metas.Count < 2)
        {
            return result;
        }

        var globalMax = metas[0].MaxTime;
        for (var i = 1; i < metas.Count; i++)
        {
            var m = metas[i];
            if (m.MinTime < globalMax)
            {
                if (result.Count == 0)
                {
                    result.Add(metas[i - 1]);
                }

                result.Add(m);
            }
            else if (result.Count > 0)
            {
                break;
            }

            globalMax = Math.Max(globalMax, m.MaxTime);
        }

        return result;
    }

    private static List<BlockMeta> SelectLeveled(List<BlockMeta> metas, long[] ranges)
    {
        if (ranges.Length < 2 || metas.Count < 1)
        {
            return [];
        }

        var highTime = metas[^1].MinTime;
        foreach (var range in ranges.Skip(1))
        {
            foreach (var part in SplitByRange(metas, range))
            {
                var mint = part[0].MinTime;
                var maxt = part[^1].MaxTime;
                if ((maxt - mint == range || maxt <= highTime) && part.Count > 1)
                {
                    return part;
                }
            }
        }

        return [];
    }

    /// <summary>Groups consecutive blocks that fall entirely inside one aligned range of width <paramref name="range"/>; blocks that cross a boundary are left out.</summary>
    internal static List<List<BlockMeta>> SplitByRange(List<BlockMeta> metas, long range)
    {
        var result = new List<List<BlockMeta>>();
        for (var i = 0; i < metas.Count;)
        {
            var m = metas[i];
            var t0 = m.MinTime >= 0 ? range * (m.MinTime / range) : range * ((m.MinTime - range + 1) / range);
            if (m.MaxTime > t0 + range)
            {
                i++;
                continue;
            }

            var group = new List<BlockMeta>();
            for (; i < metas.Count && metas[i].MaxTime <= t0 + range; i++)
            {
                group.Add(metas[i]);
            }

            if (group.Count > 0)
            {
                result.Add(group);
            }
        }

        return result;
    }

    private readonly record struct Source(int Order, Block Block, IndexChunk Chunk, List<(long MinTime, long MaxTime)>? Deleted)
    {
        /// <summary>Whether any sample of the chunk may be deleted or outside [mint, maxt).</summary>
        public bool Touched(long mint, long maxt)
        {
            if (Chunk.MinTime < mint || Chunk.MaxTime >= maxt)
            {
                return true;
            }

            if (Deleted is null)
            {
                return false;
            }

            foreach (var (min, max) in Deleted)
            {
                if (min <= Chunk.MaxTime && max >= Chunk.MinTime)
                {
                    return true;
                }
            }

            return false;
        }

        public bool Covered()
        {
            var (min, max) = (Chunk.MinTime, Chunk.MaxTime);
            return Deleted is not null && Deleted.Exists(d => d.MinTime <= min && d.MaxTime >= max);
        }

        public bool IsDeleted(long t) => Deleted is not null && Deleted.Exists(d => t >= d.MinTime && t <= d.MaxTime);
    }
}
