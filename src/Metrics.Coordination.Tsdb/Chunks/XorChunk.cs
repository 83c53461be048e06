using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Metrics.Coordination.Tsdb.Chunks;

/// <summary>
/// An appendable XOR chunk (Prometheus chunk encoding 1): a 2-byte big-endian sample count followed by the Gorilla
/// bit stream with Prometheus's millisecond buckets. Values are raw IEEE-754 bits, so every NaN payload and -0.0
/// survive. Byte-identical to Prometheus's encoder (see <c>docs/format/chunks.md</c>).
/// </summary>
/// <remarks>Not thread-safe for writes; readers may decode the first <see cref="Count"/> samples concurrently (bits once written never change).</remarks>
internal sealed class XorChunk
{
    /// <summary>The encoding byte of XOR chunks in segment files and the WAL.</summary>
    public const byte Encoding = 1;

    /// <summary>The count header is 16 bits.</summary>
    public const int MaxSamples = ushort.MaxValue;

    /// <summary>Size of the sample count header.</summary>
    public const int HeaderSize = 2;

    /// <summary>"No window yet", Prometheus's 0xff sentinel: the first non-zero XOR always opens a window.</summary>
    private const byte NoWindow = 0xFF;

    private BitWriter _stream;
    private int _count;
    private long _t;
    private long _tDelta;
    private ulong _v;
    private byte _leading = NoWindow;
    private byte _trailing;

    /// <summary>Creates an empty chunk with room for about <paramref name="initialCapacity"/> bytes.</summary>
    public XorChunk(int initialCapacity = 128)
    {
        _stream = new BitWriter(HeaderSize, initialCapacity);
    }

    /// <summary>The number of samples.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>The newest sample's timestamp (undefined when empty).</summary>
    public long LastTimestamp => _t;

    /// <summary>The newest sample's value bits (undefined when empty).</summary>
    public ulong LastValueBits => _v;

    /// <summary>The backing array; the chunk is its first <see cref="Length"/> bytes. Replaced when the chunk grows.</summary>
    public byte[] Buffer => _stream.Buffer;

    /// <summary>The chunk's length in bytes (header included, no legacy stray byte).</summary>
    public int Length => _stream.Length;

    /// <summary>The encoded chunk (header included).</summary>
    public ReadOnlySpan<byte> Bytes => _stream.Buffer.AsSpan(0, _stream.Length);

    /// <summary>Whether Prometheus &lt; 3.0 would have appended a stray zero byte to this chunk.</summary>
    public bool LegacyTrailingByte => _stream.LegacyTrailingByte;

    /// <summary>The encoded chunk as a new array, optionally with the Prometheus &lt; 3.0 stray byte.</summary>
    public byte[] ToArray(bool legacyTrailingByte = false) => _stream.ToArray(legacyTrailingByte);

    /// <summary>Shrinks the backing array to the data once no more samples will be appended.</summary>
    public void Trim() => _stream.Trim();

    /// <summary>
    /// Empties the chunk for reuse, keeping its backing array (already grown to a chunk's size). Only when no reader
    /// holds <see cref="Buffer"/> (WAL replay, before any querier exists): a reader relies on written bits never changing.
    /// </summary>
    public void Reset()
    {
        _stream.Reset(HeaderSize);
        Volatile.Write(ref _count, 0);
        _t = 0;
        _tDelta = 0;
        _v = 0;
        _leading = NoWindow;
        _trailing = 0;
    }

    /// <summary>Appends a sample; timestamps are expected to increase (not checked here).</summary>
    /// <exception cref="InvalidOperationException">The chunk already holds <see cref="MaxSamples"/> samples.</exception>
    public void Append(long timestamp, ulong valueBits)
    {
        var n = _count;
        if (n == 0)
        {
            WriteVarint(timestamp);
            _stream.WriteBits(valueBits, 64);
        }
        else if (n == 1)
        {
            var delta = timestamp - _t;
            WriteUvarint((ulong)delta);
            WriteValue(valueBits);
            _tDelta = delta;
        }
        else
        {
            if (n == MaxSamples)
            {
                throw new InvalidOperationException("An XOR chunk holds at most 65535 samples.");
            }

            var delta = timestamp - _t;
            AppendMerged(delta - _tDelta, valueBits);
            _tDelta = delta;
        }

        _t = timestamp;
        _v = valueBits;
        BinaryPrimitives.WriteUInt16BigEndian(_stream.Buffer, (ushort)(n + 1));
        Volatile.Write(ref _count, n + 1);
    }

    /// <summary>Encodes <paramref name="timestamps"/> and <paramref name="valueBits"/> as one chunk.</summary>
    public static XorChunk Encode(ReadOnlySpan<long> timestamps, ReadOnlySpan<ulong> valueBits)
    {
        if (timestamps.Length != valueBits.Length)
        {
            throw new ArgumentException("Timestamps and values differ in length.", nameof(valueBits));
        }

        var chunk = new XorChunk(16 + (timestamps.Length * 2));
        for (var i = 0; i < timestamps.Length; i++)
        {
            chunk.Append(timestamps[i], valueBits[i]);
        }

        return chunk;
    }

    /// <summary>Whether <paramref name="x"/> fits Prometheus's asymmetric n-bit bucket: −(2^(n−1) − 1) ≤ x ≤ 2^(n−1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Fits(long x, int bits) => x >= -((1L << (bits - 1)) - 1) && x <= 1L << (bits - 1);

    /// <summary>
    /// Sample k ≥ 2 in as few accumulator writes as possible: the dod bucket and the value's control bits, window
    /// header and significant bits are merged into one write when they fit 56 bits (nearly always). The bits are
    /// exactly Prometheus's; its stray-byte condition is computed for the last field it would have written separately
    /// (the significant bits, or the single '0' of an unchanged value).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AppendMerged(long dod, ulong valueBits)
    {
        ulong acc;
        int length;
        if (dod == 0)
        {
            acc = 0;
            length = 1;
        }
        else if (Fits(dod, 14))
        {
            acc = (0b10UL << 14) | ((ulong)dod & 0x3FFF);
            length = 16;
        }
        else if (Fits(dod, 17))
        {
            acc = (0b110UL << 17) | ((ulong)dod & 0x1FFFF);
            length = 20;
        }
        else if (Fits(dod, 20))
        {
            acc = (0b1110UL << 20) | ((ulong)dod & 0xFFFFF);
            length = 24;
        }
        else
        {
            _stream.WriteBitsMerged(0b1111, 4);
            _stream.WriteBitsMerged((ulong)dod, 64);
            acc = 0;
            length = 0;
        }

        var x = valueBits ^ _v;
        if (x == 0)
        {
            _stream.WriteBitsMerged(acc << 1, length + 1);
            _stream.SetLegacyTrailingByte(false);
            return;
        }

        var leading = Math.Min(BitOperations.LeadingZeroCount(x), 31);
        var trailing = BitOperations.TrailingZeroCount(x);
        ulong header;
        int headerLength;
        int significant;
        int shift;
        if (_leading != NoWindow && leading >= _leading && trailing >= _trailing)
        {
            header = 0b10;
            headerLength = 2;
            shift = _trailing;
            significant = 64 - _leading - _trailing;
        }
        else
        {
            _leading = (byte)leading;
            _trailing = (byte)trailing;
            shift = trailing;
            significant = 64 - leading - trailing;

            // '11', then L in 5 bits and S in 6 bits (64 wraps to 0).
            header = (0b11UL << 11) | ((ulong)leading << 6) | ((ulong)significant & 0x3F);
            headerLength = 13;
        }

        var before = _stream.BitLength + length + headerLength;
        acc = (acc << headerLength) | header;
        length += headerLength;
        var payload = x >> shift;
        if (length + significant <= 56)
        {
            _stream.WriteBitsMerged((acc << significant) | payload, length + significant);
        }
        else
        {
            _stream.WriteBitsMerged(acc, length);
            _stream.WriteBitsMerged(payload, significant);
        }

        _stream.SetLegacyTrailingByte((before & 7) == 0 && (significant & 7) == 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteValue(ulong valueBits)
    {
        var delta = valueBits ^ _v;
        if (delta == 0)
        {
            _stream.WriteBit(false);
            return;
        }

        var leading = Math.Min(BitOperations.LeadingZeroCount(delta), 31);
        var trailing = BitOperations.TrailingZeroCount(delta);
        if (_leading != NoWindow && leading >= _leading && trailing >= _trailing)
        {
            _stream.WriteBits(0b10, 2);
            _stream.WriteBits(delta >> _trailing, 64 - _leading - _trailing);
            return;
        }

        _leading = (byte)leading;
        _trailing = (byte)trailing;
        var significant = 64 - leading - trailing;

        // '11', then L in 5 bits and S in 6 bits (64 wraps to 0): 13 bits in one write.
        _stream.WriteBits((0b11UL << 11) | ((ulong)leading << 6) | ((ulong)significant & 0x3F), 13);
        _stream.WriteBits(delta >> trailing, significant);
    }

    private void WriteUvarint(ulong value)
    {
        while (value >= 0x80)
        {
            _stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        _stream.WriteByte((byte)value);
    }

    private void WriteVarint(long value) => WriteUvarint((ulong)((value << 1) ^ (value >> 63)));
}
