using System.Buffers.Binary;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Tsdb.Chunks;
using Metrics.Coordination.Tsdb.Records;

namespace Metrics.Coordination.Tsdb.Index;

/// <summary>A chunk's entry in the index: time range and reference into the chunk segments.</summary>
internal readonly record struct IndexChunk(long MinTime, long MaxTime, ulong Ref);

/// <summary>
/// Writes a block's index file (format version 2, see <c>docs/format/index.md</c>) from series given in label order.
/// With <c>legacySections</c> it also writes the label indices and label offset table exactly where and how
/// Prometheus 2.0–3.6 (promtool 2.42 included) do, so the file is byte-identical to theirs.
/// </summary>
internal static class IndexWriter
{
    public const uint Magic = 0xBAAAD700;
    public const byte Version = 2;
    public const int TocSize = (6 * 8) + 4;

    /// <summary>Writes <paramref name="path"/>; <paramref name="series"/> must be sorted by labels with chunk refs increasing.</summary>
    public static long Write(string path, IReadOnlyList<(Labels Labels, IReadOnlyList<IndexChunk> Chunks)> series, bool legacySections)
    {
        var symbolSet = new HashSet<string>(StringComparer.Ordinal) { string.Empty };
        foreach (var (labels, _) in series)
        {
            foreach (var l in labels.AsSpan())
            {
                symbolSet.Add(l.Name);
                symbolSet.Add(l.Value);
            }
        }

        var symbols = symbolSet.ToArray();
        Array.Sort(symbols, Utf8Order.Instance);
        var ordinals = new Dictionary<string, int>(symbols.Length, StringComparer.Ordinal);
        for (var i = 0; i < symbols.Length; i++)
        {
            ordinals[symbols[i]] = i;
        }

        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        var w = new SectionWriter(file);
        Span<byte> head = stackalloc byte[5];
        BinaryPrimitives.WriteUInt32BigEndian(head, Magic);
        head[4] = Version;
        w.Raw(head);

        // Symbol table.
        var toc = new long[6];
        toc[0] = w.Position;
        var body = new ByteBuffer(64 * 1024);
        body.Be32((uint)symbols.Length);
        foreach (var s in symbols)
        {
            body.Ustr(s);
        }

        w.LengthPrefixed(body);

        // Series, 16-byte aligned; collect postings as we go.
        toc[1] = w.Position;
        var postings = new Dictionary<(string Name, string Value), List<uint>>();
        var all = new List<uint>(series.Count);
        Labels? previous = null;
        ulong previousRef = 0;
        foreach (var (labels, chunks) in series)
        {
            if (previous is not null && Utf8Order.CompareLabels(previous, labels) >= 0)
            {
                throw new InvalidOperationException($"series out of order: {labels} after {previous}");
            }

            previous = labels;
            w.Pad(16);
            var reference = w.Position / 16;
            if (reference > uint.MaxValue)
            {
                throw new InvalidOperationException("The index exceeds 64 GiB of series: references no longer fit 32 bits.");
            }

            all.Add((uint)reference);
            body.Clear();
            body.Uvarint((ulong)labels.Count);
            foreach (var l in labels.AsSpan())
            {
                body.Uvarint((ulong)ordinals[l.Name]);
                body.Uvarint((ulong)ordinals[l.Value]);
                var key = (l.Name, l.Value);
                if (!postings.TryGetValue(key, out var list))
                {
                    postings[key] = list = [];
                }

                list.Add((uint)reference);
            }

            body.Uvarint((ulong)chunks.Count);
            for (var i = 0; i < chunks.Count; i++)
            {
                var c = chunks[i];
                if (c.MaxTime < c.MinTime || (i > 0 && c.MinTime <= chunks[i - 1].MaxTime) || c.Ref < previousRef)
                {
                    throw new InvalidOperationException($"chunks of {labels} overlap or go backwards");
                }

                if (i == 0)
                {
                    body.Varint(c.MinTime);
                    body.Uvarint((ulong)(c.MaxTime - c.MinTime));
                    body.Uvarint(c.Ref);
                }
                else
                {
                    body.Uvarint((ulong)(c.MinTime - chunks[i - 1].MaxTime));
                    body.Uvarint((ulong)(c.MaxTime - c.MinTime));
                    body.Varint((long)(c.Ref - chunks[i - 1].Ref));
                }

                previousRef = c.Ref;
            }

            w.UvarintPrefixed(body);
        }

        var keys = postings.Keys.ToList();
        keys.Sort(static (a, b) =>
        {
            var c = Utf8Order.CompareStrings(a.Name, b.Name);
            return c != 0 ? c : Utf8Order.CompareStrings(a.Value, b.Value);
        });
        keys.Insert(0, (string.Empty, string.Empty));
        postings[(string.Empty, string.Empty)] = all;

        // Legacy label indices: one per name, its values' symbol ordinals.
        var labelIndexOffsets = new List<(string Name, long Offset)>();
        if (legacySections)
        {
            toc[2] = w.Position;
            var i = 1;
            while (i < keys.Count)
            {
                var name = keys[i].Name;
                var values = new List<int>();
                while (i < keys.Count && string.Equals(keys[i].Name, name, StringComparison.Ordinal))
                {
                    values.Add(ordinals[keys[i].Value]);
                    i++;
                }

                w.Pad(4);
                labelIndexOffsets.Add((name, w.Position));
                body.Clear();
                body.Be32(1);
                body.Be32((uint)values.Count);
                foreach (var v in values)
                {
                    body.Be32((uint)v);
                }

                w.LengthPrefixed(body);
            }
        }

        // Postings lists, 4-byte aligned, all-series first.
        toc[4] = w.Position;
        var offsets = new long[keys.Count];
        for (var k = 0; k < keys.Count; k++)
        {
            w.Pad(4);
            offsets[k] = w.Position;
            var list = postings[keys[k]];
            body.Clear();
            body.Be32((uint)list.Count);
            foreach (var r in list)
            {
                body.Be32(r);
            }

            w.LengthPrefixed(body);
        }

        if (legacySections)
        {
            toc[3] = w.Position;
            body.Clear();
            body.Be32((uint)labelIndexOffsets.Count);
            foreach (var (name, offset) in labelIndexOffsets)
            {
                body.Uvarint(1);
                body.Ustr(name);
                body.Uvarint((ulong)offset);
            }

            w.LengthPrefixed(body);
        }

        toc[5] = w.Position;
        body.Clear();
        body.Be32((uint)keys.Count);
        for (var k = 0; k < keys.Count; k++)
        {
            body.Uvarint(2);
            body.Ustr(keys[k].Name);
            body.Ustr(keys[k].Value);
            body.Uvarint((ulong)offsets[k]);
        }

        w.LengthPrefixed(body);

        body.Clear();
        foreach (var t in toc)
        {
            body.Be64((ulong)t);
        }

        body.Be32(Crc32C.Compute(body.Span));
        w.Raw(body.Span);
        file.Flush(flushToDisk: true);
        return w.Position;
    }

    /// <summary>Tracks the file position and writes the framed sections.</summary>
    private sealed class SectionWriter(FileStream file)
    {
        private static readonly byte[] Zeros = new byte[16];

        public long Position { get; private set; }

        public void Raw(ReadOnlySpan<byte> bytes)
        {
            file.Write(bytes);
            Position += bytes.Length;
        }

        public void Pad(int alignment)
        {
            var rem = (int)(Position % alignment);
            if (rem != 0)
            {
                Raw(Zeros.AsSpan(0, alignment - rem));
            }
        }

        /// <summary>BE32 len | body | BE32 CRC(body).</summary>
        public void LengthPrefixed(ByteBuffer body)
        {
            Span<byte> n = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(n, (uint)body.Length);
            Raw(n);
            Raw(body.Span);
            BinaryPrimitives.WriteUInt32BigEndian(n, Crc32C.Compute(body.Span));
            Raw(n);
        }

        /// <summary>uvarint len | body | BE32 CRC(body).</summary>
        public void UvarintPrefixed(ByteBuffer body)
        {
            Span<byte> n = stackalloc byte[10];
            var v = (ulong)body.Length;
            var i = 0;
            while (v >= 0x80)
            {
                n[i++] = (byte)(v | 0x80);
                v >>= 7;
            }

            n[i++] = (byte)v;
            Raw(n[..i]);
            Raw(body.Span);
            BinaryPrimitives.WriteUInt32BigEndian(n, Crc32C.Compute(body.Span));
            Raw(n[..4]);
        }
    }
}
