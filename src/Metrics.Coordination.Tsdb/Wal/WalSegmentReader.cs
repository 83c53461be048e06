using System.Buffers.Binary;
using Metrics.Coordination.Tsdb.Chunks;
using Metrics.Coordination.Tsdb.Records;
using Microsoft.Win32.SafeHandles;

namespace Metrics.Coordination.Tsdb.Wal;

/// <summary>Where and why reading a WAL segment stopped early.</summary>
/// <param name="Path">The segment file.</param>
/// <param name="Segment">The segment index.</param>
/// <param name="Offset">The end of the last good record: truncating the file here keeps every good record.</param>
/// <param name="BadOffset">Where the bad fragment (or torn tail) starts.</param>
/// <param name="Reason">What was wrong.</param>
internal sealed record WalCorruption(string Path, int Segment, long Offset, long BadOffset, string Reason);

/// <summary>
/// Reads the records of one WAL segment, page by page, reassembling fragments and checking types, lengths, CRCs and
/// page padding. Stops at the first problem and describes it in <see cref="Corruption"/>; never throws for bad data.
/// </summary>
internal sealed class WalSegmentReader : IDisposable
{
    private readonly SafeFileHandle _file;
    private readonly byte[] _page = new byte[WalWriter.PageSize];
    private readonly ByteBuffer _record = new(WalWriter.PageSize);
    private long _pageStart = -WalWriter.PageSize;
    private int _pageLength = WalWriter.PageSize;
    private int _position = WalWriter.PageSize;
    private bool _eof;
    private int _startSkip;

    public WalSegmentReader(string path, int segment)
        : this(path, segment, 0)
    {
    }

    /// <summary>
    /// Reads from <paramref name="startOffset"/>, which must be a record boundary (0 or a <see cref="LastGoodOffset"/>
    /// seen earlier): a tailing reader resumes there after the writer appended more.
    /// </summary>
    public WalSegmentReader(string path, int segment, long startOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startOffset);
        Path = path;
        Segment = segment;
        _file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        _pageStart = (startOffset / WalWriter.PageSize * WalWriter.PageSize) - WalWriter.PageSize;
        _startSkip = (int)(startOffset % WalWriter.PageSize);
        LastGoodOffset = startOffset;
    }

    public string Path { get; }

    public int Segment { get; }

    /// <summary>The current record (type byte first), valid until the next <see cref="Next"/>.</summary>
    public ReadOnlySpan<byte> Record => _record.Span;

    /// <summary>The file offset just after the last complete record read.</summary>
    public long LastGoodOffset { get; private set; }

    /// <summary>Why reading stopped early, or null after a clean end.</summary>
    public WalCorruption? Corruption { get; private set; }

    /// <summary>Reads the next record; false at the end of the segment or at corruption (see <see cref="Corruption"/>).</summary>
    public bool Next()
    {
        if (_eof || Corruption is not null)
        {
            return false;
        }

        _record.Clear();
        var fragments = 0;
        var recordStart = -1L;
        while (true)
        {
            if (_position >= _pageLength)
            {
                if (_pageLength < WalWriter.PageSize || !LoadPage())
                {
                    _eof = true;
                    if (fragments > 0)
                    {
                        Fail(recordStart, "torn record at the end of the segment");
                    }

                    return false;
                }
            }

            var at = _pageStart + _position;
            var type = _page[_position];
            if (type == 0)
            {
                // Page terminator: the rest of the page must be zero.
                if (_page.AsSpan(_position, _pageLength - _position).ContainsAnyExcept((byte)0))
                {
                    return Fail(at, "non-zero byte in page padding");
                }

                _position = _pageLength;
                continue;
            }

            if (WalWriter.PageSize - _position < WalWriter.FragmentHeaderSize)
            {
                return Fail(at, "non-zero byte in page padding");
            }

            if (_pageLength - _position < WalWriter.FragmentHeaderSize)
            {
                return Fail(recordStart < 0 ? at : recordStart, "torn fragment header at the end of the segment");
            }

            var kind = type & 7;
            if ((type & ~7) != 0)
            {
                return Fail(at, $"unsupported fragment flags 0x{type & ~7:x2} (compressed records are not written by this WAL)");
            }

            if (kind > 4)
            {
                return Fail(at, $"invalid fragment type {kind}");
            }

            if (fragments == 0 ? kind is not (1 or 2) : kind is not (3 or 4))
            {
                return Fail(recordStart < 0 ? at : recordStart, $"fragment type {kind} out of sequence");
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(_page.AsSpan(_position + 1));
            var crc = BinaryPrimitives.ReadUInt32BigEndian(_page.AsSpan(_position + 3));
            if (length > WalWriter.PageSize - _position - WalWriter.FragmentHeaderSize)
            {
                return Fail(at, $"fragment length {length} crosses the page");
            }

            if (_position + WalWriter.FragmentHeaderSize + length > _pageLength)
            {
                return Fail(recordStart < 0 ? at : recordStart, "torn fragment at the end of the segment");
            }

            var payload = _page.AsSpan(_position + WalWriter.FragmentHeaderSize, length);
            if (Crc32C.Compute(payload) != crc)
            {
                return Fail(recordStart < 0 ? at : recordStart, "fragment checksum mismatch");
            }

            if (recordStart < 0)
            {
                recordStart = at;
            }

            _record.Bytes(payload);
            _position += WalWriter.FragmentHeaderSize + length;
            fragments++;
            if (kind is 1 or 4)
            {
                LastGoodOffset = _pageStart + _position;
                return true;
            }
        }
    }

    public void Dispose() => _file.Dispose();

    private bool LoadPage()
    {
        _pageStart += WalWriter.PageSize;
        var n = 0;
        while (n < WalWriter.PageSize)
        {
            var read = RandomAccess.Read(_file, _page.AsSpan(n), _pageStart + n);
            if (read == 0)
            {
                break;
            }

            n += read;
        }

        _pageLength = n;
        _position = _startSkip;
        _startSkip = 0;
        return n > _position;
    }

    private bool Fail(long badOffset, string reason)
    {
        Corruption = new WalCorruption(Path, Segment, LastGoodOffset, badOffset < 0 ? LastGoodOffset : badOffset, reason);
        return false;
    }
}
