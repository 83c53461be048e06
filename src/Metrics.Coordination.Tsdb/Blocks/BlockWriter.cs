using System.Buffers.Binary;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Tsdb.Chunks;
using Metrics.Coordination.Tsdb.Head;
using Metrics.Coordination.Tsdb.Index;
using Metrics.Coordination.Tsdb.Wal;

namespace Metrics.Coordination.Tsdb.Blocks;

/// <summary>Byte-level choices of the block writer.</summary>
/// <param name="LegacyIndexSections">Write the label indices and label offset table (Prometheus 2.0–3.6 do; default).</param>
/// <param name="LegacyTrailingByte">Append the stray zero byte Prometheus &lt; 3.0 leaves on some chunks (only for byte-identity checks).</param>
/// <param name="ChunkSegmentSize">Chunk segment files are cut before this size (512 MiB).</param>
internal sealed record BlockWriterOptions(bool LegacyIndexSections = true, bool LegacyTrailingByte = false, long ChunkSegmentSize = ChunkSegmentWriter.DefaultSegmentSize);

/// <summary>Writes a level-1 block from series already cut into chunks (see <c>docs/format/block.md</c>).</summary>
internal static class BlockWriter
{
    public const string CreationSuffix = ".tmp-for-creation";
    public const string DeletionSuffix = ".tmp-for-deletion";

    /// <summary>
    /// Writes <paramref name="series"/> (sorted by labels; series without chunks are skipped) as a block covering
    /// [<paramref name="minTime"/>, <paramref name="maxTime"/>) into <paramref name="dataDirectory"/>: temp dir,
    /// fsync, rename. Returns null (and writes nothing) when there are no samples, as Prometheus does.
    /// </summary>
    /// <remarks>
    /// A compaction result passes its <paramref name="level"/>, <paramref name="sources"/> and
    /// <paramref name="parents"/> (meta.json's <c>compaction</c>); a head block takes level 1 and its own ULID as source.
    /// </remarks>
    public static BlockMeta? Write(string dataDirectory, IReadOnlyList<(Labels Labels, IReadOnlyList<HeadChunk> Chunks)> series, long minTime, long maxTime, TimeProvider time, BlockWriterOptions options,
        int level = 1, IReadOnlyList<string>? sources = null, IReadOnlyList<BlockDesc>? parents = null)
    {
        var ulid = Ulid.New(time.GetUtcNow());
        var final = Path.Combine(dataDirectory, ulid);
        var tmp = final + CreationSuffix;
        Directory.CreateDirectory(tmp);
        try
        {
            var indexSeries = new List<(Labels, IReadOnlyList<IndexChunk>)>(series.Count);
            long samples = 0, chunks = 0;
            using (var writer = new ChunkSegmentWriter(Path.Combine(tmp, "chunks"), options.ChunkSegmentSize))
            {
                foreach (var (labels, headChunks) in series)
                {
                    if (headChunks.Count == 0)
                    {
                        continue;
                    }

                    var metas = new IndexChunk[headChunks.Count];
                    for (var i = 0; i < headChunks.Count; i++)
                    {
                        var c = headChunks[i];
                        ulong reference;
                        if (options.LegacyTrailingByte && c.LegacyTrailingByte)
                        {
                            var data = new byte[c.Data.Length + 1];
                            c.Data.CopyTo(data, 0);
                            reference = writer.Write(data);
                        }
                        else
                        {
                            reference = writer.Write(c.Data);
                        }

                        metas[i] = new IndexChunk(c.MinTime, c.MaxTime, reference);
                        samples += BinaryPrimitives.ReadUInt16BigEndian(c.Data);
                        chunks++;
                    }

                    indexSeries.Add((labels, metas));
                }
            }

            if (samples == 0)
            {
                Directory.Delete(tmp, recursive: true);
                return null;
            }

            IndexWriter.Write(Path.Combine(tmp, "index"), indexSeries, options.LegacyIndexSections);
            Tombstones.Write(tmp, []);
            var meta = new BlockMeta
            {
                Ulid = ulid,
                MinTime = minTime,
                MaxTime = maxTime,
                NumSamples = samples,
                NumSeries = indexSeries.Count,
                NumChunks = chunks,
                Level = level,
                Sources = sources ?? [ulid],
                Parents = parents ?? [],
            };
            meta.Write(tmp);
            FileSystem.SyncTree(tmp);
            FileSystem.RenameDurably(tmp, final, isDirectory: true);
            return meta;
        }
        catch
        {
            if (Directory.Exists(tmp))
            {
                Directory.Delete(tmp, recursive: true);
            }

            throw;
        }
    }

    /// <summary>The head's series with chunks inside [<paramref name="mint"/>, <paramref name="maxt"/>], sorted by labels.</summary>
    public static List<(Labels Labels, IReadOnlyList<HeadChunk> Chunks)> FromHead(Head.Head head, long mint, long maxt)
    {
        var result = new List<(Labels, IReadOnlyList<HeadChunk>)>();
        var tombstones = head.Tombstones;
        foreach (var s in head.Series.All())
        {
            var chunks = new List<HeadChunk>();
            lock (s)
            {
                s.ChunksForBlock(mint, maxt, chunks, head.Options.ChunkRange, head.Options.SamplesPerChunk);
            }

            if (tombstones.TryGetValue(s.Ref, out var stones))
            {
                ApplyTombstones(chunks, stones);
            }

            if (chunks.Count > 0)
            {
                result.Add((s.Labels, chunks));
            }
        }

        result.Sort(static (a, b) => Utf8Order.CompareLabels(a.Item1, b.Item1));
        return result;
    }

    /// <summary>Drops deleted samples from <paramref name="chunks"/>: untouched chunks stay as they are, touched ones are re-encoded without the deleted samples (or dropped when empty).</summary>
    internal static void ApplyTombstones(List<HeadChunk> chunks, List<(long MinTime, long MaxTime)> deleted)
    {
        var iterator = new XorIterator();
        for (var i = chunks.Count - 1; i >= 0; i--)
        {
            var c = chunks[i];
            if (!deleted.Exists(d => d.MinTime <= c.MaxTime && d.MaxTime >= c.MinTime))
            {
                continue;
            }

            var kept = new XorChunk();
            long first = 0, last = 0;
            iterator.Reset(c.Data);
            while (iterator.Next())
            {
                var t = iterator.Timestamp;
                if (deleted.Exists(d => t >= d.MinTime && t <= d.MaxTime))
                {
                    continue;
                }

                if (kept.Count == 0)
                {
                    first = t;
                }

                kept.Append(t, iterator.ValueBits);
                last = t;
            }

            if (kept.Count == 0)
            {
                chunks.RemoveAt(i);
            }
            else
            {
                chunks[i] = new HeadChunk(kept.ToArray(), first, last, kept.LegacyTrailingByte);
            }
        }
    }
}
