using System.Buffers.Binary;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Tsdb.Blocks;
using Metrics.Coordination.Tsdb.Chunks;
using Metrics.Coordination.Tsdb.Records;

namespace Metrics.Coordination.Tsdb.Index;

/// <summary>
/// Reads a memory-mapped index file (version 2): symbols and the postings offset table are loaded at open (both
/// CRC-checked); series entries and postings lists are decoded on demand, each CRC-checked.
/// </summary>
internal sealed class IndexReader : IPostingsSource, IDisposable
{
    private readonly MappedFile _file;
    private readonly string[] _symbols;
    private readonly Dictionary<string, (string[] Values, long[] Offsets)> _postingsTable;
    private readonly string[] _labelNames;

    private IndexReader(MappedFile file, string[] symbols, Dictionary<string, (string[], long[])> postingsTable)
    {
        _file = file;
        _symbols = symbols;
        _postingsTable = postingsTable;
        _labelNames = [.. postingsTable.Keys.Where(k => k.Length > 0).Order(Utf8Order.Instance)];
    }

    public string Path => _file.Path;

    public long Size => _file.Length;

    /// <summary>The symbol table.</summary>
    public IReadOnlyList<string> Symbols => _symbols;

    /// <summary>Opens and checks <paramref name="path"/>.</summary>
    /// <exception cref="TsdbCorruptionException">A bad magic, version, TOC, symbol table or postings offset table.</exception>
    public static IndexReader Open(string path)
    {
        var file = MappedFile.Open(path);
        try
        {
            if (file.Length < 5 + IndexWriter.TocSize)
            {
                throw new TsdbCorruptionException(path, 0, $"index of {file.Length} bytes is too short");
            }

            var head = file.Span(0, 5);
            if (BinaryPrimitives.ReadUInt32BigEndian(head) != IndexWriter.Magic)
            {
                throw new TsdbCorruptionException(path, 0, "bad index magic");
            }

            if (head[4] != 2)
            {
                throw new TsdbCorruptionException(path, 4, $"unsupported index version {head[4]} (only version 2 is read)");
            }

            var tocOffset = file.Length - IndexWriter.TocSize;
            var toc = file.Span(tocOffset, IndexWriter.TocSize);
            if (Crc32C.Compute(toc[..48]) != BinaryPrimitives.ReadUInt32BigEndian(toc[48..]))
            {
                throw new TsdbCorruptionException(path, tocOffset, "index TOC checksum mismatch");
            }

            var symbolsAt = (long)BinaryPrimitives.ReadUInt64BigEndian(toc);
            var postingsTableAt = (long)BinaryPrimitives.ReadUInt64BigEndian(toc[40..]);
            var symbols = ReadSymbols(file, symbolsAt);
            var table = ReadPostingsTable(file, postingsTableAt);
            return new IndexReader(file, symbols, table);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<string> LabelValues(string name) => _postingsTable.TryGetValue(name, out var e) && name.Length > 0 ? e.Values : [];

    /// <summary>The label names (sorted).</summary>
    public IReadOnlyList<string> LabelNames() => _labelNames;

    /// <inheritdoc />
    public ulong[] Postings(string name, string value)
    {
        if (!_postingsTable.TryGetValue(name, out var e))
        {
            return [];
        }

        var i = Array.BinarySearch(e.Values, value, Utf8Order.Instance);
        return i < 0 ? [] : ReadPostings(e.Offsets[i]);
    }

    /// <inheritdoc />
    public ulong[] AllPostings() => Postings(string.Empty, string.Empty);

    /// <summary>The labels and chunk metas of series <paramref name="reference"/>.</summary>
    public Labels Series(ulong reference, List<IndexChunk> chunks)
    {
        var offset = (long)reference * 16;
        var body = Framed(offset, uvarintLength: true, "series entry");
        var r = new ByteReader(body);
        try
        {
            var n = r.Uvarint();
            if (n > (ulong)body.Length)
            {
                throw new InvalidDataException($"{n} labels in a {body.Length}-byte entry");
            }

            var labels = new Label[(int)n];
            for (var i = 0; i < labels.Length; i++)
            {
                labels[i] = new Label(Symbol(r.Uvarint(), offset), Symbol(r.Uvarint(), offset));
            }

            var count = r.Uvarint();
            if (count > (ulong)body.Length)
            {
                throw new InvalidDataException($"{count} chunks in a {body.Length}-byte entry");
            }

            chunks.Clear();
            long prevMax = 0;
            ulong prevRef = 0;
            for (var i = 0UL; i < count; i++)
            {
                long mint, maxt;
                ulong cref;
                if (i == 0)
                {
                    mint = r.Varint();
                    maxt = mint + (long)r.Uvarint();
                    cref = r.Uvarint();
                }
                else
                {
                    mint = prevMax + (long)r.Uvarint();
                    maxt = mint + (long)r.Uvarint();
                    cref = (ulong)((long)prevRef + r.Varint());
                }

                chunks.Add(new IndexChunk(mint, maxt, cref));
                prevMax = maxt;
                prevRef = cref;
            }

            return Labels.From(labels);
        }
        catch (Exception ex) when (ex is InvalidDataException or ArgumentException)
        {
            throw new TsdbCorruptionException(Path, offset, "bad series entry: " + ex.Message, ex);
        }
    }

    public void Dispose() => _file.Dispose();

    private static string[] ReadSymbols(MappedFile file, long at)
    {
        var length = BinaryPrimitives.ReadUInt32BigEndian(file.Span(at, 4));
        var body = file.Span(at + 4, length);
        var crc = BinaryPrimitives.ReadUInt32BigEndian(file.Span(at + 4 + length, 4));
        if (Crc32C.Compute(body) != crc)
        {
            throw new TsdbCorruptionException(file.Path, at, "symbol table checksum mismatch");
        }

        var r = new ByteReader(body);
        try
        {
            var count = r.Be32();
            if (count > body.Length)
            {
                throw new InvalidDataException($"{count} symbols in {body.Length} bytes");
            }

            var symbols = new string[count];
            for (var i = 0; i < symbols.Length; i++)
            {
                symbols[i] = r.Ustr();
            }

            return symbols;
        }
        catch (InvalidDataException ex)
        {
            throw new TsdbCorruptionException(file.Path, at, "bad symbol table: " + ex.Message, ex);
        }
    }

    private static Dictionary<string, (string[], long[])> ReadPostingsTable(MappedFile file, long at)
    {
        var length = BinaryPrimitives.ReadUInt32BigEndian(file.Span(at, 4));
        var body = file.Span(at + 4, length);
        var crc = BinaryPrimitives.ReadUInt32BigEndian(file.Span(at + 4 + length, 4));
        if (Crc32C.Compute(body) != crc)
        {
            throw new TsdbCorruptionException(file.Path, at, "postings offset table checksum mismatch");
        }

        var building = new Dictionary<string, (List<string> Values, List<long> Offsets)>(StringComparer.Ordinal);
        var r = new ByteReader(body);
        try
        {
            var count = r.Be32();
            string? previousName = null, previousValue = null;
            for (var i = 0u; i < count; i++)
            {
                if (r.Uvarint() != 2)
                {
                    throw new InvalidDataException("postings offset entry without 2 keys");
                }

                var name = r.Ustr();
                var value = r.Ustr();
                var offset = (long)r.Uvarint();
                if (previousName is not null)
                {
                    var c = Utf8Order.CompareStrings(previousName, name);
                    if (c > 0 || (c == 0 && Utf8Order.CompareStrings(previousValue, value) >= 0))
                    {
                        throw new InvalidDataException($"postings offset table not sorted at {name}={value}");
                    }
                }

                previousName = name;
                previousValue = value;
                if (!building.TryGetValue(name, out var e))
                {
                    building[name] = e = ([], []);
                }

                e.Values.Add(value);
                e.Offsets.Add(offset);
            }
        }
        catch (InvalidDataException ex)
        {
            throw new TsdbCorruptionException(file.Path, at, "bad postings offset table: " + ex.Message, ex);
        }

        return building.ToDictionary(kv => kv.Key, kv => (kv.Value.Values.ToArray(), kv.Value.Offsets.ToArray()), StringComparer.Ordinal);
    }

    private ulong[] ReadPostings(long offset)
    {
        var body = Framed(offset, uvarintLength: false, "postings list");
        if (body.Length < 4)
        {
            throw new TsdbCorruptionException(Path, offset, "postings list too short");
        }

        var n = BinaryPrimitives.ReadUInt32BigEndian(body);
        if ((long)n * 4 != body.Length - 4)
        {
            throw new TsdbCorruptionException(Path, offset, $"postings list of {n} entries in {body.Length} bytes");
        }

        var refs = new ulong[n];
        for (var i = 0; i < refs.Length; i++)
        {
            refs[i] = BinaryPrimitives.ReadUInt32BigEndian(body[(4 + (i * 4))..]);
        }

        return refs;
    }

    /// <summary>A length-prefixed, CRC-suffixed structure at <paramref name="offset"/>.</summary>
    private ReadOnlySpan<byte> Framed(long offset, bool uvarintLength, string what)
    {
        long length;
        long start;
        if (uvarintLength)
        {
            var r = new ByteReader(_file.From(offset, 10));
            try
            {
                length = (long)r.Uvarint();
            }
            catch (InvalidDataException ex)
            {
                throw new TsdbCorruptionException(Path, offset, $"bad {what} length", ex);
            }

            start = offset + r.Position;
        }
        else
        {
            length = BinaryPrimitives.ReadUInt32BigEndian(_file.Span(offset, 4));
            start = offset + 4;
        }

        if (length < 0 || start + length + 4 > _file.Length)
        {
            throw new TsdbCorruptionException(Path, offset, $"{what} of {length} bytes runs past the end");
        }

        var body = _file.Span(start, length);
        if (Crc32C.Compute(body) != BinaryPrimitives.ReadUInt32BigEndian(_file.Span(start + length, 4)))
        {
            throw new TsdbCorruptionException(Path, offset, $"{what} checksum mismatch");
        }

        return body;
    }

    private string Symbol(ulong ordinal, long at) =>
        ordinal < (ulong)_symbols.Length ? _symbols[ordinal] : throw new TsdbCorruptionException(Path, at, $"symbol ordinal {ordinal} out of range ({_symbols.Length} symbols)");

    /// <inheritdoc />
    public override string ToString() => new StringBuilder(Path).Append(" (").Append(_symbols.Length).Append(" symbols)").ToString();
}
