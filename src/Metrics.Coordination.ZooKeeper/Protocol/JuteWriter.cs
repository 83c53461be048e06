using System.Buffers.Binary;
using System.Text;

namespace Metrics.Coordination.ZooKeeper;

/// <summary>
/// Builds outgoing frames (4-byte big-endian length + jute body) in a growable scratch array owned by one writer:
/// the length is patched in when the frame ends, then the frame is copied into the pipe.
/// </summary>
internal sealed class JuteWriter
{
    // Most requests are a path and a few ints; 4 KiB avoids growth for all but large setData/create payloads.
    private const int InitialCapacity = 4096;

    private byte[] _buffer = new byte[InitialCapacity];
    private int _position;
    private int _frameStart = -1;

    /// <summary>The bytes written so far (complete frames).</summary>
    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _position);

    public int Length => _position;

    public void Reset()
    {
        _position = 0;
        _frameStart = -1;
        if (_buffer.Length > 1024 * 1024)
        {
            // Do not keep a huge array alive after one big request.
            _buffer = new byte[InitialCapacity];
        }
    }

    /// <summary>Rewinds to <paramref name="length"/> bytes (drops a frame that turned out too large).</summary>
    public void Truncate(int length)
    {
        _position = length;
        _frameStart = -1;
    }

    public void BeginFrame()
    {
        _frameStart = _position;
        WriteInt(0);
    }

    /// <summary>Patches the frame's length; returns the body length.</summary>
    public int EndFrame()
    {
        var body = _position - _frameStart - 4;
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_frameStart), body);
        _frameStart = -1;
        return body;
    }

    public void WriteInt(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(Reserve(4), value);
    }

    public void WriteLong(long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(Reserve(8), value);
    }

    public void WriteBool(bool value)
    {
        Reserve(1)[0] = value ? (byte)1 : (byte)0;
    }

    public void WriteBuffer(ReadOnlySpan<byte> value)
    {
        WriteInt(value.Length);
        value.CopyTo(Reserve(value.Length));
    }

    public void WriteNullBuffer() => WriteInt(-1);

    public void WriteString(string? value)
    {
        if (value is null)
        {
            WriteInt(-1);
            return;
        }

        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        EnsureCapacity(4 + max);
        var written = Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_position + 4));
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_position), written);
        _position += 4 + written;
    }

    /// <summary>Writes a client path as a server path: the chroot (UTF-8, may be empty) prefixed; the client root maps to the chroot itself.</summary>
    public void WritePath(ReadOnlySpan<byte> chroot, string path)
    {
        if (chroot.IsEmpty)
        {
            WriteString(path);
            return;
        }

        if (path.Length == 1)
        {
            WriteBuffer(chroot);
            return;
        }

        var max = Encoding.UTF8.GetMaxByteCount(path.Length);
        EnsureCapacity(4 + chroot.Length + max);
        chroot.CopyTo(_buffer.AsSpan(_position + 4));
        var written = Encoding.UTF8.GetBytes(path, _buffer.AsSpan(_position + 4 + chroot.Length));
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_position), chroot.Length + written);
        _position += 4 + chroot.Length + written;
    }

    public void WriteAcl(IReadOnlyList<Acl> acl)
    {
        WriteInt(acl.Count);
        for (var i = 0; i < acl.Count; i++)
        {
            WriteInt((int)acl[i].Permissions);
            WriteString(acl[i].Id.Scheme);
            WriteString(acl[i].Id.Identity);
        }
    }

    private Span<byte> Reserve(int count)
    {
        EnsureCapacity(count);
        var span = _buffer.AsSpan(_position, count);
        _position += count;
        return span;
    }

    private void EnsureCapacity(int count)
    {
        if (_buffer.Length - _position >= count)
        {
            return;
        }

        var size = Math.Max(_buffer.Length * 2, _position + count);
        Array.Resize(ref _buffer, size);
    }
}
