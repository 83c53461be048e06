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
    public static BlockMeta? Write(string dataDirectory, IReadOnlyList<(Labels Labels, IReadOnlyList<HeadChunk> Chunks)> series, long minTime, long maxTime, TimeProvider time, BlockWriterOptions options)
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
                Level = 1,
                Sources = [ulid],
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
        foreach (var s in head.Series.All())
        {
            var chunks = new List<HeadChunk>();
            lock (s)
            {
                s.ChunksForBlock(mint, maxt, chunks);
            }

            if (chunks.Count > 0)
            {
                result.Add((s.Labels, chunks));
            }
        }

        result.Sort(static (a, b) => Utf8Order.CompareLabels(a.Item1, b.Item1));
        return result;
    }
}
