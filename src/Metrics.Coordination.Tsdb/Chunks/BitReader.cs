using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Metrics.Coordination.Tsdb.Chunks;

/// <summary>
/// An MSB-first bit stream reader over a byte array that has at least <see cref="Padding"/> readable bytes after the
/// stream. A mutable struct: keep it in a field, never copy it.
/// </summary>
/// <remarks>
/// Every read is one unaligned big-endian 64-bit load at the current byte, shifted by the bit offset: at least 57
/// valid bits, no refill state, no branches. Reads may run past the stream's end into the padding (which is why it
/// is required); callers check <see cref="Overrun"/> once per decoded unit instead of on every read.
/// </remarks>
internal struct BitReader
{
    /// <summary>Bytes that must follow the stream: the largest unit a caller decodes between <see cref="Overrun"/> checks (an XOR sample is ≤ 145 bits) plus one 8-byte load.</summary>
    public const int Padding = 40;

    private byte[] _data;
    private long _bitPosition;
    private long _bitEnd;

    /// <summary>Starts reading <paramref name="length"/> bytes of <paramref name="paddedData"/> from <paramref name="offset"/>.</summary>
    /// <exception cref="ArgumentException">Fewer than <see cref="Padding"/> bytes follow the stream.</exception>
    public void Reset(byte[] paddedData, int offset, int length)
    {
        if ((long)offset + length + Padding > paddedData.Length || offset < 0 || length < 0)
        {
            throw new ArgumentException($"The stream needs {Padding} bytes of padding after it.", nameof(paddedData));
        }

        _data = paddedData;
        _bitPosition = (long)offset * 8;
        _bitEnd = ((long)offset + length) * 8;
    }

    /// <summary>The absolute bit position of the next bit (for callers that decode with locals, then store it back).</summary>
    public long Position
    {
        readonly get => _bitPosition;
        set => _bitPosition = value;
    }

    /// <summary>The absolute bit position of the stream's end.</summary>
    public readonly long End => _bitEnd;

    /// <summary>
    /// The 64 bits at absolute bit position <paramref name="position"/> of <paramref name="data"/>, left-aligned (at
    /// least 57 valid). For decoders that keep the position in a local: no bounds checks, so the caller guarantees the
    /// padding (see <see cref="Padding"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong PeekAt(ref byte data, long position)
    {
        var word = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref data, (nint)(position >> 3)));
        if (BitConverter.IsLittleEndian)
        {
            word = BinaryPrimitives.ReverseEndianness(word);
        }

        return word << (int)(position & 7);
    }

    /// <summary>Whether more bits were read than the stream holds.</summary>
    public readonly bool Overrun => _bitPosition > _bitEnd;

    /// <summary>The bits left in the stream (negative after an overrun).</summary>
    public readonly long Remaining => _bitEnd - _bitPosition;

    /// <summary>The next bits, left-aligned: at least 57 of them are valid. Does not advance.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly ulong Peek()
    {
        var word = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_data), (nint)(_bitPosition >> 3)));
        if (BitConverter.IsLittleEndian)
        {
            word = BinaryPrimitives.ReverseEndianness(word);
        }

        return word << (int)(_bitPosition & 7);
    }

    /// <summary>Advances by <paramref name="count"/> bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Skip(int count) => _bitPosition += count;

    /// <summary>Reads one bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool ReadBit()
    {
        var b = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_data), (nint)(_bitPosition >> 3));
        var bit = ((b >> (7 - (int)(_bitPosition & 7))) & 1) != 0;
        _bitPosition++;
        return bit;
    }

    /// <summary>Reads <paramref name="count"/> bits (1–57), most significant first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadBitsUpTo57(int count)
    {
        var value = Peek() >> (64 - count);
        _bitPosition += count;
        return value;
    }

    /// <summary>Reads <paramref name="count"/> bits (1–64), most significant first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadBits(int count)
    {
        if (count <= 57)
        {
            return ReadBitsUpTo57(count);
        }

        var high = ReadBitsUpTo57(count - 32);
        return (high << 32) | ReadBitsUpTo57(32);
    }

    /// <summary>Reads an 8-bit group.</summary>
    public byte ReadByte() => (byte)ReadBitsUpTo57(8);

    /// <summary>Reads a Go-style unsigned varint from 8-bit groups (at most 10).</summary>
    public ulong ReadUvarint()
    {
        ulong x = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = ReadByte();
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

    /// <summary>Reads a zig-zag varint.</summary>
    public long ReadVarint()
    {
        var u = ReadUvarint();
        return (long)(u >> 1) ^ -(long)(u & 1);
    }
}
