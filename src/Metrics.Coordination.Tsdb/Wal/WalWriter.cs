using System.Buffers.Binary;
using System.Globalization;
using Metrics.Coordination.Tsdb.Chunks;
using Microsoft.Win32.SafeHandles;

namespace Metrics.Coordination.Tsdb.Wal;

/// <summary>
/// Appends records to Prometheus-format WAL segments (see <c>docs/format/wal.md</c>): 32 KiB pages, records cut into
/// fragments with CRC-32C, a record never crossing a segment. <see cref="Flush"/> hands everything logged to the OS;
/// <see cref="Sync"/> fsyncs. Thread-safe (one lock).
/// </summary>
internal sealed class WalWriter : IDisposable
{
    /// <summary>The page size, fixed by the format.</summary>
    public const int PageSize = 32 * 1024;

    /// <summary>Fragment header: type, BE16 length, BE32 CRC.</summary>
    public const int FragmentHeaderSize = 7;

    private readonly Lock _lock = new();
    private readonly byte[] _page = new byte[PageSize];
    private readonly int _pagesPerSegment;
    private SafeFileHandle? _file;
    private int _alloc;
    private int _flushed;
    private int _donePages;
    private long _written;
    private long _synced;
    private long _fsyncs;
    private bool _disposed;

    private WalWriter(string directory, int segmentSize, int firstSegment)
    {
        Directory = directory;
        SegmentSize = segmentSize;
        _pagesPerSegment = segmentSize / PageSize;
        OpenSegment(firstSegment);
    }

    /// <summary>The WAL directory.</summary>
    public string Directory { get; }

    /// <summary>The segment size in bytes.</summary>
    public int SegmentSize { get; }

    /// <summary>The segment being written.</summary>
    public int CurrentSegment { get; private set; }

    /// <summary>fsyncs done (segment completions included).</summary>
    public long Fsyncs => Interlocked.Read(ref _fsyncs);

    /// <summary>Opens a writer on <paramref name="directory"/> (created if missing), starting a new segment after the newest existing one.</summary>
    public static WalWriter Open(string directory, int segmentSize)
    {
        System.IO.Directory.CreateDirectory(directory);
        var segments = ListSegments(directory);
        var next = segments.Count == 0 ? 0 : segments[^1].Index + 1;
        return new WalWriter(directory, segmentSize, next);
    }

    /// <summary>The segment file name for <paramref name="index"/>: 8 digits.</summary>
    public static string SegmentName(int index) => index.ToString("D8", CultureInfo.InvariantCulture);

    /// <summary>The numbered segment files in <paramref name="directory"/>, ascending.</summary>
    public static List<(int Index, string Path)> ListSegments(string directory)
    {
        var list = new List<(int, string)>();
        if (!System.IO.Directory.Exists(directory))
        {
            return list;
        }

        foreach (var path in System.IO.Directory.EnumerateFiles(directory))
        {
            var name = Path.GetFileName(path);
            if (name.Length == 8 && name.All(char.IsAsciiDigit) && int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                list.Add((index, path));
            }
        }

        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return list;
    }

    /// <summary>Adds a record to the current page(s); nothing reaches the OS until <see cref="Flush"/> or a page fills.</summary>
    public void Append(ReadOnlySpan<byte> record)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (PageFull())
            {
                FlushPage(clear: true);
            }

            // A record never crosses segments: if it does not fit in what is left, start the next segment.
            long left = PageSize - _alloc - FragmentHeaderSize;
            left += (long)(PageSize - FragmentHeaderSize) * (_pagesPerSegment - _donePages - 1);
            if (record.Length > left)
            {
                NextSegmentLocked();
            }

            for (var i = 0; i == 0 || record.Length > 0; i++)
            {
                var room = PageSize - _alloc - FragmentHeaderSize;
                var n = Math.Min(record.Length, room);
                var part = record[..n];
                byte type = (i == 0, n == record.Length) switch
                {
                    (true, true) => 1, // full
                    (false, true) => 4, // last
                    (true, false) => 2, // first
                    _ => 3, // middle
                };
                var header = _page.AsSpan(_alloc, FragmentHeaderSize);
                header[0] = type;
                BinaryPrimitives.WriteUInt16BigEndian(header[1..], (ushort)n);
                BinaryPrimitives.WriteUInt32BigEndian(header[3..], Crc32C.Compute(part));
                part.CopyTo(_page.AsSpan(_alloc + FragmentHeaderSize));
                _alloc += FragmentHeaderSize + n;
                if (PageFull())
                {
                    FlushPage(clear: true);
                }

                record = record[n..];
            }
        }
    }

    /// <summary>Writes the logged but unwritten bytes of the current page to the OS (survives a process kill); returns a token for <see cref="Sync"/>.</summary>
    public long Flush()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_alloc > _flushed)
            {
                FlushPage(clear: false);
            }

            return _written;
        }
    }

    /// <summary>fsyncs the current segment unless everything up to <paramref name="token"/> already is.</summary>
    public void Sync(long token = long.MaxValue)
    {
        lock (_lock)
        {
            if (_disposed || _synced >= Math.Min(token, _written))
            {
                return;
            }

            RandomAccess.FlushToDisk(_file!);
            _synced = _written;
            Interlocked.Increment(ref _fsyncs);
        }
    }

    /// <summary>Completes the current segment (padded, fsynced) and starts the next; returns the completed segment's index.</summary>
    public int NextSegment()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var done = CurrentSegment;
            NextSegmentLocked();
            return done;
        }
    }

    /// <summary>Flushes, fsyncs and closes.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            try
            {
                if (_alloc > _flushed)
                {
                    FlushPage(clear: false);
                }

                RandomAccess.FlushToDisk(_file!);
            }
            finally
            {
                _file!.Dispose();
                _disposed = true;
            }
        }
    }

    private bool PageFull() => PageSize - _alloc < FragmentHeaderSize;

    private void FlushPage(bool clear)
    {
        if (clear)
        {
            _page.AsSpan(_alloc).Clear();
            _alloc = PageSize;
        }

        var offset = ((long)_donePages * PageSize) + _flushed;
        RandomAccess.Write(_file!, _page.AsSpan(_flushed, _alloc - _flushed), offset);
        _written += _alloc - _flushed;
        _flushed = _alloc;
        if (clear)
        {
            _page.AsSpan().Clear();
            _alloc = 0;
            _flushed = 0;
            _donePages++;
        }
    }

    private void NextSegmentLocked()
    {
        if (_alloc > 0)
        {
            FlushPage(clear: true);
        }

        // A completed segment is always fsynced, whatever the policy (Prometheus does the same).
        RandomAccess.FlushToDisk(_file!);
        Interlocked.Increment(ref _fsyncs);
        _synced = _written;
        _file!.Dispose();
        OpenSegment(CurrentSegment + 1);
    }

    private void OpenSegment(int index)
    {
        var path = Path.Combine(Directory, SegmentName(index));
        _file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
        FileSystem.SyncDirectory(Directory);
        CurrentSegment = index;
        _alloc = 0;
        _flushed = 0;
        _donePages = 0;
        _page.AsSpan().Clear();
    }
}
