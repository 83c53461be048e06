using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Metrics.Coordination.Tsdb.Records;

/// <summary>A growable byte buffer with Prometheus's primitive encodings (big-endian fixed ints, Go varints, ustr). Reused across records.</summary>
internal sealed class ByteBuffer
{
    private byte[] _data;

    public ByteBuffer(int capacity = 4096)
    {
        _data = new byte[capacity];
    }

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Span => _data.AsSpan(0, Length);

    public byte[] Array => _data;

    public void Clear() => Length = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Byte(byte b)
    {
        Ensure(1);
        _data[Length++] = b;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Be32(uint v)
    {
        Ensure(4);
        BinaryPrimitives.WriteUInt32BigEndian(_data.AsSpan(Length), v);
        Length += 4;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Be64(ulong v)
    {
        Ensure(8);
        BinaryPrimitives.WriteUInt64BigEndian(_data.AsSpan(Length), v);
        Length += 8;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Uvarint(ulong v)
    {
        Ensure(10);
        var d = _data;
        var i = Length;
        while (v >= 0x80)
        {
            d[i++] = (byte)(v | 0x80);
            v >>= 7;
        }

        d[i++] = (byte)v;
        Length = i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Varint(long v) => Uvarint((ulong)((v << 1) ^ (v >> 63)));

    /// <summary>uvarint UTF-8 length + the UTF-8 bytes.</summary>
    public void Ustr(string s)
    {
        var n = Encoding.UTF8.GetByteCount(s);
        Uvarint((ulong)n);
        Ensure(n);
        Encoding.UTF8.GetBytes(s, _data.AsSpan(Length));
        Length += n;
    }

    public void Bytes(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_data.AsSpan(Length));
        Length += bytes.Length;
    }

    /// <summary>Zero bytes up to a multiple of <paramref name="alignment"/> counted from <paramref name="baseOffset"/>.</summary>
    public void PadTo(int alignment, long baseOffset = 0)
    {
        var rem = (int)((baseOffset + Length) % alignment);
        if (rem != 0)
        {
            var n = alignment - rem;
            Ensure(n);
            _data.AsSpan(Length, n).Clear();
            Length += n;
        }
    }

    /// <summary>Room for <paramref name="n"/> more bytes: write into it, then <see cref="Advance"/>.</summary>
    public Span<byte> Reserve(int n)
    {
        Ensure(n);
        return _data.AsSpan(Length);
    }

    /// <summary>Commits <paramref name="n"/> bytes written into <see cref="Reserve"/>'s span.</summary>
    public void Advance(int n) => Length += n;

    public void PutBe32At(int offset, uint v) => BinaryPrimitives.WriteUInt32BigEndian(_data.AsSpan(offset), v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Ensure(int n)
    {
        if (Length + n > _data.Length)
        {
            Grow(n);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int n) => System.Array.Resize(ref _data, Math.Max(_data.Length * 2, Length + n));
}

/// <summary>A cursor over bytes with Prometheus's primitive decodings; every read is bounds-checked and throws <see cref="InvalidDataException"/> when short.</summary>
internal ref struct ByteReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;

    public ByteReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _pos = 0;
    }

    public readonly int Position => _pos;

    public readonly int Remaining => _data.Length - _pos;

    public readonly bool End => _pos >= _data.Length;

    public byte Byte()
    {
        if (_pos >= _data.Length)
        {
            throw Short();
        }

        return _data[_pos++];
    }

    public uint Be32()
    {
        if (_data.Length - _pos < 4)
        {
            throw Short();
        }

        var v = BinaryPrimitives.ReadUInt32BigEndian(_data[_pos..]);
        _pos += 4;
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Be64()
    {
        if (_data.Length - _pos < 8)
        {
            throw Short();
        }

        var v = BinaryPrimitives.ReadUInt64BigEndian(_data[_pos..]);
        _pos += 8;
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Uvarint()
    {
        // One-byte fast path: most deltas in sample records are small.
        if (_pos < _data.Length && _data[_pos] < 0x80)
        {
            return _data[_pos++];
        }

        return UvarintSlow();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Varint()
    {
        var u = Uvarint();
        return (long)(u >> 1) ^ -(long)(u & 1);
    }

    public string Ustr()
    {
        var n = Uvarint();
        if (n > (ulong)(_data.Length - _pos))
        {
            throw Short();
        }

        var s = Encoding.UTF8.GetString(_data.Slice(_pos, (int)n));
        _pos += (int)n;
        return s;
    }

    public ReadOnlySpan<byte> Bytes(int n)
    {
        if (n < 0 || n > _data.Length - _pos)
        {
            throw Short();
        }

        var s = _data.Slice(_pos, n);
        _pos += n;
        return s;
    }

    public void Skip(int n)
    {
        if (n < 0 || n > _data.Length - _pos)
        {
            throw Short();
        }

        _pos += n;
    }

    private ulong UvarintSlow()
    {
        ulong x = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = Byte();
            if (b < 0x80)
            {
                if (shift == 63 && b > 1)
                {
                    break;
                }

                return x | ((ulong)b << shift);
            }

            x |= (ulong)(b & 0x7F) << shift;
        }

        throw new InvalidDataException("varint overflows 64 bits");
    }

    private readonly InvalidDataException Short() => new($"unexpected end of data at byte {_pos} of {_data.Length}");
}
