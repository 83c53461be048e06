using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
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
    private bool _badWindow;

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
        _badWindow = false;
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
        if (_read >= _total)
        {
            return false;
        }

        if (_read >= 2)
        {
            ReadDod();
            ReadValue();
        }
        else if (!ReadFirstTwo())
        {
            return false;
        }

        if (_reader.Overrun)
        {
            return Fail(_badWindow ? "an XOR window wider than 64 bits" : "the stream ends early");
        }

        _read++;
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
                ReadValue();
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ReadDod()
    {
        // Up to 4 control bits at once: the count of leading ones picks the bucket.
        var peek = _reader.Peek();
        if ((long)peek >= 0)
        {
            _reader.Skip(1);
            _t += _tDelta;
            return;
        }

        var ones = BitOperations.LeadingZeroCount(~peek);
        long dod;
        switch (ones)
        {
            case 1:
                dod = Bucket(peek << 2, 14);
                _reader.Skip(16);
                break;
            case 2:
                dod = Bucket(peek << 3, 17);
                _reader.Skip(20);
                break;
            case 3:
                dod = Bucket(peek << 4, 20);
                _reader.Skip(24);
                break;
            default:
                _reader.Skip(4);
                dod = (long)_reader.ReadBits(64);
                break;
        }

        _tDelta += dod;
        _t += _tDelta;
    }

    /// <summary>The <paramref name="size"/>-bit field at the top of <paramref name="bits"/>; values above 2^(size−1) are negative (Prometheus's asymmetric range).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Bucket(ulong bits, int size)
    {
        var u = (long)(bits >> (64 - size));
        return u > 1L << (size - 1) ? u - (1L << size) : u;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ReadValue()
    {
        var peek = _reader.Peek();
        if ((long)peek >= 0)
        {
            _reader.Skip(1);
            return;
        }

        if ((peek & (1UL << 62)) != 0)
        {
            // '11' + 5 bits L + 6 bits S.
            var header = (int)((peek >> 51) & 0x7FF);
            _reader.Skip(13);
            _leading = header >> 6;
            var significant = header & 0x3F;
            if (significant == 0)
            {
                significant = 64;
            }

            _trailing = 64 - _leading - significant;
            if (_trailing < 0)
            {
                // A corrupt window; Next reports it through Overrun.
                _trailing = 0;
                _badWindow = true;
                _reader.Skip(1 << 20);
                return;
            }
        }
        else
        {
            _reader.Skip(2);
        }

        _v ^= _reader.ReadBits(64 - _leading - _trailing) << _trailing;
    }
}
