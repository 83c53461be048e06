using System.Buffers.Binary;
using Metrics.Coordination.Tsdb.Chunks;
using Metrics.Coordination.Tsdb.Records;

namespace Metrics.Coordination.Tsdb.Blocks;

/// <summary>A block's <c>tombstones</c> file: deleted closed intervals per series (see <c>docs/format/block.md</c>).</summary>
internal static class Tombstones
{
    public const string FileName = "tombstones";
    public const uint Magic = 0x0130BA30;

    /// <summary>Writes the file with <paramref name="stones"/> (series ref, mint, maxt), fsynced.</summary>
    public static void Write(string directory, IReadOnlyList<(ulong Ref, long MinTime, long MaxTime)> stones, string fileName = FileName)
    {
        var buffer = new ByteBuffer(64);
        buffer.Be32(Magic);
        buffer.Byte(1);
        foreach (var (r, mint, maxt) in stones)
        {
            buffer.Uvarint(r);
            buffer.Varint(mint);
            buffer.Varint(maxt);
        }

        buffer.Be32(Crc32C.Compute(buffer.Span[5..]));
        using var file = new FileStream(Path.Combine(directory, fileName), FileMode.CreateNew, FileAccess.Write);
        file.Write(buffer.Span);
        file.Flush(flushToDisk: true);
    }

    /// <summary>
    /// Replaces the file in <paramref name="directory"/> atomically: written to <c>tombstones.tmp</c>, fsynced, renamed
    /// over the old one and the directory fsynced, so a crash leaves either the old or the new set.
    /// </summary>
    public static void Rewrite(string directory, IReadOnlyDictionary<ulong, List<(long MinTime, long MaxTime)>> stones)
    {
        var tmp = Path.Combine(directory, FileName + ".tmp");
        File.Delete(tmp);
        var list = stones.OrderBy(kv => kv.Key).SelectMany(kv => kv.Value.Select(iv => (kv.Key, iv.MinTime, iv.MaxTime))).ToList();
        Write(directory, list, FileName + ".tmp");
        Wal.FileSystem.RenameDurably(tmp, Path.Combine(directory, FileName), isDirectory: false);
    }

    /// <summary>Reads and checks the file in <paramref name="directory"/>; a missing file means no tombstones.</summary>
    public static Dictionary<ulong, List<(long MinTime, long MaxTime)>> Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        var result = new Dictionary<ulong, List<(long, long)>>();
        if (!File.Exists(path))
        {
            return result;
        }

        var data = File.ReadAllBytes(path);
        if (data.Length < 9 || BinaryPrimitives.ReadUInt32BigEndian(data) != Magic)
        {
            throw new TsdbCorruptionException(path, 0, "bad tombstones magic");
        }

        if (data[4] != 1)
        {
            throw new TsdbCorruptionException(path, 4, $"unsupported tombstones version {data[4]}");
        }

        var entries = data.AsSpan(5, data.Length - 9);
        if (Crc32C.Compute(entries) != BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(data.Length - 4)))
        {
            throw new TsdbCorruptionException(path, data.Length - 4, "tombstones checksum mismatch");
        }

        var r = new ByteReader(entries);
        try
        {
            while (!r.End)
            {
                var reference = r.Uvarint();
                var mint = r.Varint();
                var maxt = r.Varint();
                if (!result.TryGetValue(reference, out var list))
                {
                    result[reference] = list = [];
                }

                list.Add((mint, maxt));
            }
        }
        catch (InvalidDataException ex)
        {
            throw new TsdbCorruptionException(path, 5 + r.Position, "bad tombstone entry: " + ex.Message, ex);
        }

        return result;
    }
}
