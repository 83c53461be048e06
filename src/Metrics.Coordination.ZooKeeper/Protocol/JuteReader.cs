using System.Buffers.Binary;
using System.Text;

namespace Metrics.Coordination.ZooKeeper;

/// <summary>Reads jute records from one frame body in place; any truncation or bad length is a protocol violation.</summary>
internal ref struct JuteReader
{
    private readonly ReadOnlySpan<byte> _span;
    private int _position;

    public JuteReader(ReadOnlySpan<byte> span)
    {
        _span = span;
        _position = 0;
    }

    public readonly int Remaining => _span.Length - _position;

    public int ReadInt()
    {
        var value = BinaryPrimitives.ReadInt32BigEndian(Take(4));
        return value;
    }

    public long ReadLong() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

    public bool ReadBool() => Take(1)[0] != 0;

    /// <summary>A buffer; null for length -1.</summary>
    public byte[]? ReadBuffer()
    {
        var length = ReadLength();
        return length < 0 ? null : Take(length).ToArray();
    }

    public string? ReadString()
    {
        var length = ReadLength();
        return length < 0 ? null : Encoding.UTF8.GetString(Take(length));
    }

    /// <summary>A server path with the chroot removed (the chroot itself becomes "/").</summary>
    public string? ReadPath(ReadOnlySpan<byte> chroot)
    {
        var length = ReadLength();
        if (length < 0)
        {
            return null;
        }

        var bytes = Take(length);
        if (!chroot.IsEmpty && bytes.StartsWith(chroot))
        {
            if (bytes.Length == chroot.Length)
            {
                return "/";
            }

            if (bytes[chroot.Length] == (byte)'/')
            {
                bytes = bytes[chroot.Length..];
            }
        }

        return Encoding.UTF8.GetString(bytes);
    }

    public Stat ReadStat()
    {
        var s = Take(Stat.Size);
        return new Stat(
            BinaryPrimitives.ReadInt64BigEndian(s),
            BinaryPrimitives.ReadInt64BigEndian(s[8..]),
            BinaryPrimitives.ReadInt64BigEndian(s[16..]),
            BinaryPrimitives.ReadInt64BigEndian(s[24..]),
            BinaryPrimitives.ReadInt32BigEndian(s[32..]),
            BinaryPrimitives.ReadInt32BigEndian(s[36..]),
            BinaryPrimitives.ReadInt32BigEndian(s[40..]),
            BinaryPrimitives.ReadInt64BigEndian(s[44..]),
            BinaryPrimitives.ReadInt32BigEndian(s[52..]),
            BinaryPrimitives.ReadInt32BigEndian(s[56..]),
            BinaryPrimitives.ReadInt64BigEndian(s[60..]));
    }

    public List<string>? ReadStringVector()
    {
        var count = ReadLength(minElementSize: 4);
        if (count < 0)
        {
            return null;
        }

        var list = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            list.Add(ReadString() ?? throw new ZooKeeperProtocolException("null string in a vector"));
        }

        return list;
    }

    public List<Acl>? ReadAclVector()
    {
        var count = ReadLength(minElementSize: 12);
        if (count < 0)
        {
            return null;
        }

        var list = new List<Acl>(count);
        for (var i = 0; i < count; i++)
        {
            var perms = (Permissions)ReadInt();
            var scheme = ReadString() ?? string.Empty;
            var id = ReadString() ?? string.Empty;
            list.Add(new Acl(perms, new Id(scheme, id)));
        }

        return list;
    }

    /// <summary>A length or count: -1 (null) or non-negative and plausible for the bytes left.</summary>
    private int ReadLength(int minElementSize = 1)
    {
        var length = ReadInt();
        if (length < -1 || (length > 0 && (long)length * minElementSize > Remaining))
        {
            throw new ZooKeeperProtocolException($"length {length} does not fit the {Remaining} bytes left in the frame");
        }

        return length;
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > _span.Length - _position)
        {
            throw new ZooKeeperProtocolException($"record truncated: needed {count} bytes, {_span.Length - _position} left");
        }

        var slice = _span.Slice(_position, count);
        _position += count;
        return slice;
    }
}
