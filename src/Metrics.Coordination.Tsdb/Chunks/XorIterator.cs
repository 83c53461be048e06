using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Metrics.Coordination.Abstractions.Storage;

namespace Metrics.Coordination.Tsdb.Chunks;

/// <summary>
/// Decodes an XOR chunk sample by sample. Reusable: <see cref="Reset(ReadOnlySpan{byte}, int)"/> copies the next
/// chunk into the iterator's own padded buffer (grown once, never shrunk), so the source may be a memory-mapped file
/// or a head chunk still being appended to, and the decoder needs no bounds checks. A corrupt chunk ends iteration
/// with <see cref="Error"/> set; it never throws.
/// </summary>
internal sealed class XorIterator : ISampleIterator
{
    private BitReader _reader;
    private byte[] _buffer = new byte[256];
    private int _total;
    private int _read;
    private long _t;
    private long _tDelta;
    private ulong _v;
    private int _leading;
    private int _trailing;
    private Exception? _error;

    /// <summary>The current sample's value bits (NaN payloads intact).</summary>
    public ulong ValueBits => _v;

    /// <inheritdoc />
    public long Timestamp => _t;

    /// <inheritdoc />
    public double Value => BitConverter.UInt64BitsToDouble(_v);

    /// <inheritdoc />
    public Exception? Error => _error;

    /// <summary>How many samples the chunk holds (the count header, or the count given to Reset).</summary>
    public int Count => _total;

    /// <summary>
    /// Points the iterator at <paramref name="chunk"/> (count header included), copying it. <paramref name="count"/>
    /// ≥ 0 limits decoding to that many samples (a head chunk still being appended to); −1 takes the header's count.
    /// </summary>
    public void Reset(ReadOnlySpan<byte> chunk, int count = -1)
    {
        _error = null;
        _read = 0;
        _t = 0;
        _tDelta = 0;
        _v = 0;
        _leading = 0;
        _trailing = 0;
        var needed = chunk.Length + BitReader.Padding;
        if (_buffer.Length < needed)
        {
            _buffer = new byte[(int)BitOperations.RoundUpToPowerOf2((uint)needed)];
        }

        chunk.CopyTo(_buffer);
        _buffer.AsSpan(chunk.Length, BitReader.Padding).Clear();
        if (chunk.Length < XorChunk.HeaderSize)
        {
            _total = 0;
            _error = new InvalidDataException($"XOR chunk of {chunk.Length} bytes has no sample count header");
            return;
        }

        var header = BinaryPrimitives.ReadUInt16BigEndian(chunk);
        _total = count >= 0 ? Math.Min(count, header) : header;
        _reader.Reset(_buffer, XorChunk.HeaderSize, chunk.Length - XorChunk.HeaderSize);
    }

    /// <inheritdoc />
    public bool Next()
    {
        var read = _read;
        if (read >= _total)
        {
            return false;
        }

        if (read < 2)
        {
            if (!ReadFirstTwo())
            {
                return false;
            }

            if (_reader.Overrun)
            {
                return Fail("the stream ends early");
            }

            _read = read + 1;
            return true;
        }

        // The hot path keeps the bit position, time and delta in locals: every read is one unaligned load.
        ref var data = ref MemoryMarshal.GetArrayDataReference(_buffer);
        var pos = _reader.Position;
        var delta = _tDelta;
        var peek = BitReader.PeekAt(ref data, pos);
        if ((long)peek >= 0)
        {
            pos++;
        }
        else
        {
            switch (BitOperations.LeadingZeroCount(~peek))
            {
                case 1:
                    delta += Bucket(peek << 2, 14);
                    pos += 16;
                    break;
                case 2:
                    delta += Bucket(peek << 3, 17);
                    pos += 20;
                    break;
                case 3:
                    delta += Bucket(peek << 4, 20);
                    pos += 24;
                    break;
                default:
                    pos += 4;
                    delta += (long)Read(ref data, ref pos, 64);
                    break;
            }
        }

        _tDelta = delta;
        _t += delta;

        peek = BitReader.PeekAt(ref data, pos);
        if ((long)peek >= 0)
        {
            pos++;
        }
        else
        {
            int leading, trailing;
            if ((peek & (1UL << 62)) != 0)
            {
                // '11' + 5 bits L + 6 bits S.
                var header = (int)((peek >> 51) & 0x7FF);
                pos += 13;
                leading = header >> 6;
                var significant = header & 0x3F;
                trailing = 64 - leading - (significant == 0 ? 64 : significant);
                if (trailing < 0)
                {
                    _reader.Position = pos;
                    return Fail("an XOR window wider than 64 bits");
                }

                _leading = leading;
                _trailing = trailing;
            }
            else
            {
                pos += 2;
                leading = _leading;
                trailing = _trailing;
            }

            _v ^= Read(ref data, ref pos, 64 - leading - trailing) << trailing;
        }

        _reader.Position = pos;
        if (pos > _reader.End)
        {
            return Fail("the stream ends early");
        }

        _read = read + 1;
        return true;
    }

    /// <inheritdoc />
    public bool Seek(long timestampMs)
    {
        if (_read > 0 && _t >= timestampMs && _error is null)
        {
            return true;
        }

        while (Next())
        {
            if (_t >= timestampMs)
            {
                return true;
            }
        }

        return false;
    }

    private bool ReadFirstTwo()
    {
        try
        {
            if (_read == 0)
            {
                _t = _reader.ReadVarint();
                _v = _reader.ReadBits(64);
            }
            else
            {
                _tDelta = (long)_reader.ReadUvarint();
                _t += _tDelta;
                ReadSecondValue();
            }

            return true;
        }
        catch (InvalidDataException ex)
        {
            return Fail(ex.Message);
        }
    }

    private bool Fail(string why)
    {
        _error = new InvalidDataException($"XOR chunk corrupt at sample {_read} of {_total}: {why}");
        _read = _total;
        return false;
    }

    /// <summary>The <paramref name="size"/>-bit field at the top of <paramref name="bits"/>; values above 2^(size−1) are negative (Prometheus's asymmetric range).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Bucket(ulong bits, int size)
    {
        var u = (long)(bits >> (64 - size));
        return u > 1L << (size - 1) ? u - (1L << size) : u;
    }

    /// <summary>Reads <paramref name="count"/> (1–64) bits at <paramref name="pos"/> and advances it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Read(ref byte data, ref long pos, int count)
    {
        ulong value;
        if (count <= 57)
        {
            value = BitReader.PeekAt(ref data, pos) >> (64 - count);
        }
        else
        {
            var high = BitReader.PeekAt(ref data, pos) >> (96 - count);
            value = (high << 32) | (BitReader.PeekAt(ref data, pos + count - 32) >> 32);
        }

        pos += count;
        return value;
    }

    /// <summary>The value step of the second sample (the first XOR): same rules as the hot path.</summary>
    private void ReadSecondValue()
    {
        ref var data = ref MemoryMarshal.GetArrayDataReference(_buffer);
        var pos = _reader.Position;
        var peek = BitReader.PeekAt(ref data, pos);
        if ((long)peek >= 0)
        {
            _reader.Position = pos + 1;
            return;
        }

        if ((peek & (1UL << 62)) != 0)
        {
            var header = (int)((peek >> 51) & 0x7FF);
            pos += 13;
            _leading = header >> 6;
            var significant = header & 0x3F;
            _trailing = 64 - _leading - (significant == 0 ? 64 : significant);
            if (_trailing < 0)
            {
                throw new InvalidDataException("an XOR window wider than 64 bits");
            }
        }
        else
        {
            pos += 2;
        }

        _v ^= Read(ref data, ref pos, 64 - _leading - _trailing) << _trailing;
        _reader.Position = pos;
    }
}
