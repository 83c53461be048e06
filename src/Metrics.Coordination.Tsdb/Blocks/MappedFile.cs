using System.IO.MemoryMappedFiles;

namespace Metrics.Coordination.Tsdb.Blocks;

/// <summary>A read-only memory-mapped file. Spans handed out are valid until <see cref="Dispose"/>.</summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _pointer;
    private int _disposed;

    private MappedFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* pointer, long length)
    {
        Path = path;
        _map = map;
        _view = view;
        _pointer = pointer;
        Length = length;
    }

    public string Path { get; }

    public long Length { get; }

    /// <summary>Maps <paramref name="path"/> read-only (an empty file maps to an empty span).</summary>
    public static MappedFile Open(string path)
    {
        var length = new FileInfo(path).Length;
        if (length == 0)
        {
            return new MappedFile(path, null, null, null, 0);
        }

        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            pointer += view.PointerOffset;
            return new MappedFile(path, map, view, pointer, length);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>The bytes [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>).</summary>
    /// <exception cref="TsdbCorruptionException">The range is outside the file.</exception>
    public ReadOnlySpan<byte> Span(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Length - length || length > int.MaxValue)
        {
            throw new TsdbCorruptionException(Path, offset, $"range of {length} bytes runs outside the file of {Length} bytes");
        }

        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return new ReadOnlySpan<byte>(_pointer + offset, (int)length);
    }

    /// <summary>From <paramref name="offset"/> to the end of the file, or at most <paramref name="max"/> bytes.</summary>
    public ReadOnlySpan<byte> From(long offset, int max = int.MaxValue) => Span(offset, Math.Min(Length - Math.Min(offset, Length), max));

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }

        _map?.Dispose();
    }
}
