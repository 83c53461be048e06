using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Metrics.Coordination.RemoteWrite;

/// <summary>
/// The snappy block format (not the framing format), as the Prometheus remote-write protocol uses it: a little-endian
/// varint of the uncompressed length, then literal and copy elements. Written from Google's format description; both
/// directions work on spans and allocate nothing beyond what the caller passes in.
/// </summary>
/// <remarks>
/// The compressor is a greedy hash-table matcher over independent 64 KiB fragments (so every copy fits the 2-byte
/// offset form), skipping ahead faster the longer it finds no match, like the reference implementation. The
/// decompressor checks every length and offset against the input and the declared output before touching memory and
/// throws <see cref="SnappyFormatException"/> naming the input offset of the bad element.
/// </remarks>
public static class SnappyCodec
{
    // Matches never span fragments: offsets stay below 65536, so the table holds 16-bit positions and copies need
    // at most the 2-byte offset form. 64 KiB is also the reference implementation's block size.
    private const int FragmentSize = 1 << 16;

    // 16 Ki table entries (32 KiB of stack) is plenty for a 64 KiB fragment: more entries cost clearing time on
    // small inputs without finding many more matches.
    private const int MaxTableBits = 14;

    // Inputs shorter than this are one literal; the matcher reads 4-8 bytes ahead of its position.
    private const int InputMargin = 15;

    // The largest uncompressed length this codec decodes; the format allows up to 2^32 - 1, spans stop at 2^31 - 1.
    private const uint MaxLength = int.MaxValue;

    /// <summary>The largest compressed size of <paramref name="sourceLength"/> bytes: 32 + n + n / 6.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The length is negative or its bound does not fit an <see cref="int"/>.</exception>
    public static int GetMaxCompressedLength(int sourceLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sourceLength);
        var max = 32L + sourceLength + (sourceLength / 6);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(max, (long)int.MaxValue, nameof(sourceLength));
        return (int)max;
    }

    /// <summary>Compresses <paramref name="source"/> into <paramref name="destination"/>; returns the bytes written.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="GetMaxCompressedLength"/>.</exception>
    public static int Compress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var max = GetMaxCompressedLength(source.Length);
        if (destination.Length < max)
        {
            throw new ArgumentException($"The destination holds {destination.Length} bytes; compressing {source.Length} bytes needs up to {max}.", nameof(destination));
        }

        var op = WriteUvarint(destination, (uint)source.Length);
        Span<ushort> table = stackalloc ushort[1 << MaxTableBits];
        ref var dst = ref MemoryMarshal.GetReference(destination);
        for (var start = 0; start < source.Length; start += FragmentSize)
        {
            var fragment = source.Slice(start, Math.Min(FragmentSize, source.Length - start));
            op = CompressFragment(fragment, ref dst, op, table);
        }

        return op;
    }

    /// <summary>Compresses <paramref name="source"/> into a new array of exactly the compressed size.</summary>
    public static byte[] Compress(ReadOnlySpan<byte> source)
    {
        var buffer = new byte[GetMaxCompressedLength(source.Length)];
        var n = Compress(source, buffer);
        return buffer.AsSpan(0, n).ToArray();
    }

    /// <summary>The uncompressed length declared by the preamble of <paramref name="source"/>.</summary>
    /// <exception cref="SnappyFormatException">The preamble is truncated, longer than 5 bytes, or over 2^31 - 1.</exception>
    public static int GetUncompressedLength(ReadOnlySpan<byte> source) => (int)ReadPreamble(source, out _);

    /// <summary>
    /// Decompresses <paramref name="source"/> into <paramref name="destination"/> (at least
    /// <see cref="GetUncompressedLength"/> bytes); returns the bytes written.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short for the declared length.</exception>
    /// <exception cref="SnappyFormatException">The input is malformed; the exception names the offset and the problem.</exception>
    public static int Decompress(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var length = (int)ReadPreamble(source, out var ip);
        if (destination.Length < length)
        {
            throw new ArgumentException($"The destination holds {destination.Length} bytes; the input declares {length}.", nameof(destination));
        }

        var output = destination[..length];
        var op = 0;
        while (ip < source.Length)
        {
            var at = ip;
            int tag = source[ip];
            long len;
            switch (tag & 3)
            {
                case 0:
                {
                    var code = tag >> 2;
                    if (code < 60)
                    {
                        len = code + 1;
                        ip++;
                    }
                    else
                    {
                        var extra = code - 59;
                        if (source.Length - ip - 1 < extra)
                        {
                            throw new SnappyFormatException(SnappyError.Truncated, at, $"literal length needs {extra} more bytes, {source.Length - ip - 1} left");
                        }

                        var raw = 0u;
                        for (var i = 0; i < extra; i++)
                        {
                            raw |= (uint)source[ip + 1 + i] << (8 * i);
                        }

                        len = raw + 1L;
                        ip += 1 + extra;
                    }

                    if (len > source.Length - ip)
                    {
                        throw new SnappyFormatException(SnappyError.Truncated, at, $"literal of {len} bytes runs past the end of the input ({source.Length - ip} bytes left)");
                    }

                    if (len > length - op)
                    {
                        throw new SnappyFormatException(SnappyError.OutputOverrun, at, $"literal of {len} bytes overruns the declared length {length} (at output byte {op})");
                    }

                    source.Slice(ip, (int)len).CopyTo(output[op..]);
                    ip += (int)len;
                    op += (int)len;
                    continue;
                }

                case 1:
                    if (source.Length - ip < 2)
                    {
                        throw new SnappyFormatException(SnappyError.Truncated, at, "copy with 1-byte offset is cut off");
                    }

                    len = 4 + ((tag >> 2) & 7);
                    var offset1 = ((tag & 0xE0) << 3) | source[ip + 1];
                    ip += 2;
                    op = Copy(output, op, offset1, (int)len, at);
                    continue;
                case 2:
                    if (source.Length - ip < 3)
                    {
                        throw new SnappyFormatException(SnappyError.Truncated, at, "copy with 2-byte offset is cut off");
                    }

                    len = (tag >> 2) + 1;
                    var offset2 = BinaryPrimitives.ReadUInt16LittleEndian(source[(ip + 1)..]);
                    ip += 3;
                    op = Copy(output, op, offset2, (int)len, at);
                    continue;
                default:
                    if (source.Length - ip < 5)
                    {
                        throw new SnappyFormatException(SnappyError.Truncated, at, "copy with 4-byte offset is cut off");
                    }

                    len = (tag >> 2) + 1;
                    var offset4 = BinaryPrimitives.ReadUInt32LittleEndian(source[(ip + 1)..]);
                    ip += 5;
                    op = Copy(output, op, offset4 > int.MaxValue ? int.MaxValue : (int)offset4, (int)len, at);
                    continue;
            }
        }

        if (op != length)
        {
            throw new SnappyFormatException(SnappyError.LengthMismatch, source.Length, $"the preamble declares {length} bytes but the elements produce {op}");
        }

        return length;
    }

    /// <summary>Decompresses <paramref name="source"/> into a new array.</summary>
    /// <exception cref="SnappyFormatException">The input is malformed.</exception>
    public static byte[] Decompress(ReadOnlySpan<byte> source)
    {
        var buffer = new byte[GetUncompressedLength(source)];
        Decompress(source, buffer);
        return buffer;
    }

    private static uint ReadPreamble(ReadOnlySpan<byte> source, out int consumed)
    {
        ulong value = 0;
        for (var i = 0; i < 5; i++)
        {
            if (i >= source.Length)
            {
                throw new SnappyFormatException(SnappyError.BadPreamble, i, source.Length == 0 ? "empty input: no length preamble" : "length preamble is cut off");
            }

            var b = source[i];
            value |= (ulong)(b & 0x7F) << (7 * i);
            if (b < 0x80)
            {
                if (value > MaxLength)
                {
                    throw new SnappyFormatException(SnappyError.BadPreamble, 0, $"declared length {value} is over the supported {MaxLength}");
                }

                consumed = i + 1;
                return (uint)value;
            }
        }

        throw new SnappyFormatException(SnappyError.BadPreamble, 4, "length preamble is longer than 5 bytes (over 32 bits)");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Copy(Span<byte> output, int op, int offset, int length, int at)
    {
        if (offset == 0)
        {
            throw new SnappyFormatException(SnappyError.BadOffset, at, "copy with offset 0");
        }

        if (offset > op)
        {
            throw new SnappyFormatException(SnappyError.BadOffset, at, $"copy reaches {offset} bytes back but only {op} bytes were produced");
        }

        if (length > output.Length - op)
        {
            throw new SnappyFormatException(SnappyError.OutputOverrun, at, $"copy of {length} bytes overruns the declared length {output.Length} (at output byte {op})");
        }

        if (offset >= length)
        {
            output.Slice(op - offset, length).CopyTo(output[op..]);
        }
        else
        {
            // Overlapping copy: the element repeats the last `offset` bytes; go byte by byte (length is at most 64).
            ref var o = ref MemoryMarshal.GetReference(output);
            for (var i = 0; i < length; i++)
            {
                Unsafe.Add(ref o, op + i) = Unsafe.Add(ref o, op - offset + i);
            }
        }

        return op + length;
    }

    private static int WriteUvarint(Span<byte> destination, uint value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    // The caller guaranteed the destination holds the worst case, so the emitters write without checks.
    private static int CompressFragment(ReadOnlySpan<byte> input, ref byte dst, int op, Span<ushort> fullTable)
    {
        var n = input.Length;
        if (n < InputMargin)
        {
            return EmitLiteral(ref dst, op, input);
        }

        var bits = Math.Clamp(BitOperations.Log2((uint)n - 1) + 1, 8, MaxTableBits);
        var shift = 32 - bits;
        var table = fullTable[..(1 << bits)];
        table.Clear();
        ref var t = ref MemoryMarshal.GetReference(table);
        ref var src = ref MemoryMarshal.GetReference(input);

        var ipLimit = n - InputMargin;
        var nextEmit = 0;
        var ip = 1;
        var nextHash = Hash(Load32(ref src, ip), shift);
        while (true)
        {
            // Look for a 4-byte match, stepping further the longer none turns up (incompressible data goes fast).
            var skip = 32;
            var nextIp = ip;
            int candidate;
            do
            {
                ip = nextIp;
                var hash = nextHash;
                nextIp = ip + (skip++ >> 5);
                if (nextIp > ipLimit)
                {
                    goto Remainder;
                }

                nextHash = Hash(Load32(ref src, nextIp), shift);
                candidate = Unsafe.Add(ref t, hash);
                Unsafe.Add(ref t, hash) = (ushort)ip;
            }
            while (Load32(ref src, ip) != Load32(ref src, candidate));

            op = EmitLiteral(ref dst, op, input[nextEmit..ip]);

            // Emit the match, then keep matching from right after it as long as the table offers a hit.
            while (true)
            {
                var matched = 4 + MatchLength(ref src, candidate + 4, ip + 4, n);
                var offset = ip - candidate;
                ip += matched;
                op = EmitCopy(ref dst, op, offset, matched);
                nextEmit = ip;
                if (ip >= ipLimit)
                {
                    goto Remainder;
                }

                Unsafe.Add(ref t, Hash(Load32(ref src, ip - 1), shift)) = (ushort)(ip - 1);
                var h = Hash(Load32(ref src, ip), shift);
                candidate = Unsafe.Add(ref t, h);
                Unsafe.Add(ref t, h) = (ushort)ip;
                if (Load32(ref src, ip) != Load32(ref src, candidate))
                {
                    break;
                }
            }

            ip++;
            nextHash = Hash(Load32(ref src, ip), shift);
        }

    Remainder:
        if (nextEmit < n)
        {
            op = EmitLiteral(ref dst, op, input[nextEmit..]);
        }

        return op;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Load32(ref byte src, int at) => Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref src, at));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(uint bytes, int shift) => (int)((bytes * 0x1E35A7BDu) >> shift);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int MatchLength(ref byte src, int s1, int s2, int limit)
    {
        var matched = 0;
        while (s2 + matched + 8 <= limit)
        {
            var x = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref src, s1 + matched)) ^ Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref src, s2 + matched));
            if (x != 0)
            {
                return matched + (BitConverter.IsLittleEndian ? BitOperations.TrailingZeroCount(x) : BitOperations.LeadingZeroCount(x)) / 8;
            }

            matched += 8;
        }

        while (s2 + matched < limit && Unsafe.Add(ref src, s1 + matched) == Unsafe.Add(ref src, s2 + matched))
        {
            matched++;
        }

        return matched;
    }

    private static int EmitLiteral(ref byte dst, int op, ReadOnlySpan<byte> literal)
    {
        var n = literal.Length - 1;
        if (n < 60)
        {
            Unsafe.Add(ref dst, op++) = (byte)(n << 2);
        }
        else if (n < 1 << 8)
        {
            Unsafe.Add(ref dst, op++) = 60 << 2;
            Unsafe.Add(ref dst, op++) = (byte)n;
        }
        else
        {
            // Fragments are at most 64 KiB, so two length bytes always suffice.
            Unsafe.Add(ref dst, op++) = 61 << 2;
            Unsafe.Add(ref dst, op++) = (byte)n;
            Unsafe.Add(ref dst, op++) = (byte)(n >> 8);
        }

        literal.CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref dst, op), literal.Length));
        return op + literal.Length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int EmitCopy(ref byte dst, int op, int offset, int length)
    {
        // Long matches go out as 64-byte copies; keep the last piece at least 4 bytes (the 1-byte-offset form's minimum).
        while (length >= 68)
        {
            op = EmitCopyUpTo64(ref dst, op, offset, 64);
            length -= 64;
        }

        if (length > 64)
        {
            op = EmitCopyUpTo64(ref dst, op, offset, 60);
            length -= 60;
        }

        return EmitCopyUpTo64(ref dst, op, offset, length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int EmitCopyUpTo64(ref byte dst, int op, int offset, int length)
    {
        if (length < 12 && offset < 2048)
        {
            Unsafe.Add(ref dst, op) = (byte)(1 | ((length - 4) << 2) | ((offset >> 8) << 5));
            Unsafe.Add(ref dst, op + 1) = (byte)offset;
            return op + 2;
        }

        Unsafe.Add(ref dst, op) = (byte)(2 | ((length - 1) << 2));
        Unsafe.Add(ref dst, op + 1) = (byte)offset;
        Unsafe.Add(ref dst, op + 2) = (byte)(offset >> 8);
        return op + 3;
    }
}
