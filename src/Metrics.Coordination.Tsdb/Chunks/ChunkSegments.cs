using System.Buffers.Binary;
using System.Globalization;
using Metrics.Coordination.Tsdb.Blocks;
using Metrics.Coordination.Tsdb.Querying;
using Metrics.Coordination.Tsdb.Records;

namespace Metrics.Coordination.Tsdb.Chunks;

/// <summary>Writes a block's <c>chunks/NNNNNN</c> segment files (see <c>docs/format/chunks.md</c>).</summary>
internal sealed class ChunkSegmentWriter : IDisposable
{
    /// <summary>Segment magic.</summary>
    public const uint Magic = 0x85BD40DD;

    /// <summary>Header: magic, version 1, 3 bytes of padding.</summary>
    public const int HeaderSize = 8;

    /// <summary>Prometheus's default segment size, 512 MiB.</summary>
    public const long DefaultSegmentSize = 512L * 1024 * 1024;

    private readonly string _directory;
    private readonly long _segmentSize;
    private readonly ByteBuffer _record = new(4096);
    private FileStream? _file;
    private int _segment = -1;
    private long _offset;

    public ChunkSegmentWriter(string directory, long segmentSize = DefaultSegmentSize)
    {
        _directory = directory;
        _segmentSize = segmentSize;
        Directory.CreateDirectory(directory);
    }

    /// <summary>Segment file name for 0-based index <paramref name="index"/>: 6 digits, from 000001.</summary>
    public static string SegmentName(int index) => (index + 1).ToString("D6", CultureInfo.InvariantCulture);

    /// <summary>Appends an XOR chunk (count header included); returns its reference ((segment index &lt;&lt; 32) | offset).</summary>
    public ulong Write(ReadOnlySpan<byte> chunk)
    {
        _record.Clear();
        _record.Uvarint((ulong)chunk.Length);
        _record.Byte(XorChunk.Encoding);
        _record.Bytes(chunk);
        var crcStart = _record.Length - chunk.Length - 1;
        _record.Be32(Crc32C.Compute(_record.Span[crcStart..]));
        if (_file is null || (_offset > HeaderSize && _offset + _record.Length > _segmentSize))
        {
            NextSegment();
        }

        var reference = ((ulong)_segment << 32) | (ulong)_offset;
        _file!.Write(_record.Span);
        _offset += _record.Length;
        return reference;
    }

    /// <summary>Flushes and fsyncs the last segment and closes it.</summary>
    public void Dispose() => Close();

    private void NextSegment()
    {
        Close();
        _segment++;
        _file = new FileStream(Path.Combine(_directory, SegmentName(_segment)), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        Span<byte> header = stackalloc byte[HeaderSize];
        header.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(header, Magic);
        header[4] = 1;
        _file.Write(header);
        _offset = HeaderSize;
    }

    private void Close()
    {
        if (_file is not null)
        {
            _file.Flush(flushToDisk: true);
            _file.Dispose();
            _file = null;
        }
    }
}

/// <summary>Reads chunks from a block's memory-mapped segment files, checking each chunk's CRC.</summary>
internal sealed class ChunkSegmentReader : IChunkReader, IDisposable
{
    private readonly MappedFile[] _segments;

    private ChunkSegmentReader(MappedFile[] segments)
    {
        _segments = segments;
    }

    /// <summary>Maps every segment in <paramref name="directory"/>, checking headers; segments must be numbered 000001.. without gaps.</summary>
    public static ChunkSegmentReader Open(string directory)
    {
        var files = Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory).Where(f => Path.GetFileName(f) is { Length: 6 } n && n.All(char.IsAsciiDigit)).Order(StringComparer.Ordinal).ToList()
            : [];
        var segments = new List<MappedFile>();
        try
        {
            for (var i = 0; i < files.Count; i++)
            {
                if (!string.Equals(Path.GetFileName(files[i]), ChunkSegmentWriter.SegmentName(i), StringComparison.Ordinal))
                {
                    throw new TsdbCorruptionException(files[i], 0, $"chunk segment out of sequence (expected {ChunkSegmentWriter.SegmentName(i)})");
                }

                var file = MappedFile.Open(files[i]);
                segments.Add(file);
                if (file.Length < ChunkSegmentWriter.HeaderSize)
                {
                    throw new TsdbCorruptionException(files[i], 0, "chunk segment shorter than its header");
                }

                var header = file.Span(0, ChunkSegmentWriter.HeaderSize);
                if (BinaryPrimitives.ReadUInt32BigEndian(header) != ChunkSegmentWriter.Magic)
                {
                    throw new TsdbCorruptionException(files[i], 0, "bad chunk segment magic");
                }

                if (header[4] != 1)
                {
                    throw new TsdbCorruptionException(files[i], 4, $"unsupported chunk segment version {header[4]}");
                }
            }
        }
        catch
        {
            segments.ForEach(s => s.Dispose());
            throw;
        }

        return new ChunkSegmentReader([.. segments]);
    }

    /// <summary>The number of segment files.</summary>
    public int SegmentCount => _segments.Length;

    /// <summary>Total bytes of all segments.</summary>
    public long TotalBytes => _segments.Sum(s => s.Length);

    /// <inheritdoc />
    public ReadOnlySpan<byte> Chunk(ulong reference) => Chunk(reference, out _);

    /// <summary>The chunk data at <paramref name="reference"/> and its encoding byte.</summary>
    public ReadOnlySpan<byte> Chunk(ulong reference, out byte encoding)
    {
        var segment = (int)(reference >> 32);
        var offset = (long)(reference & 0xFFFF_FFFF);
        if (segment >= _segments.Length)
        {
            throw new TsdbCorruptionException(_segments.Length > 0 ? _segments[0].Path : "chunks/", offset, $"chunk reference names segment {segment} of {_segments.Length}");
        }

        var file = _segments[segment];
        var head = file.From(offset, 16);
        var reader = new ByteReader(head);
        ulong length;
        try
        {
            length = reader.Uvarint();
        }
        catch (InvalidDataException ex)
        {
            throw new TsdbCorruptionException(file.Path, offset, "bad chunk length", ex);
        }

        var start = offset + reader.Position;
        if (length > int.MaxValue || start + 1 + (long)length + 4 > file.Length)
        {
            throw new TsdbCorruptionException(file.Path, offset, $"chunk of {length} bytes runs past the end of the segment");
        }

        var body = file.Span(start, 1 + (long)length);
        var crc = BinaryPrimitives.ReadUInt32BigEndian(file.Span(start + 1 + (long)length, 4));
        if (Crc32C.Compute(body) != crc)
        {
            throw new TsdbCorruptionException(file.Path, offset, "chunk checksum mismatch");
        }

        encoding = body[0];
        if (encoding != XorChunk.Encoding)
        {
            throw new TsdbCorruptionException(file.Path, offset, $"unsupported chunk encoding {encoding} (only XOR float chunks are read)");
        }

        return body[1..];
    }

    public void Dispose()
    {
        foreach (var s in _segments)
        {
            s.Dispose();
        }
    }
}
