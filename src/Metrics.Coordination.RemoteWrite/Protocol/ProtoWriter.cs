using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Metrics.Coordination.RemoteWrite.Protocol;

/// <summary>
/// Writes protobuf wire format into a span sized beforehand (the hot path of WriteRequest encoding; the messages are
/// declared in <c>remote_write.proto</c> and tests check the bytes with Google.Protobuf's generated parser).
/// </summary>
internal ref struct ProtoWriter(Span<byte> buffer)
{
    public const int Varint = 0;
    public const int Fixed64 = 1;
    public const int LengthDelimited = 2;

    private readonly Span<byte> _buffer = buffer;
    private int _position;

    public readonly int Position => _position;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int UvarintSize(ulong value) => value < 0x80 ? 1 : (70 - System.Numerics.BitOperations.LeadingZeroCount(value)) / 7;

    /// <summary>Bytes of a length-delimited field with a one-byte tag (field numbers below 16).</summary>
    public static int FieldSize(int field, int length) => 1 + UvarintSize((ulong)length) + length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Tag(int field, int wireType) => _buffer[_position++] = (byte)((field << 3) | wireType);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Uvarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer[_position++] = (byte)(value | 0x80);
            value >>= 7;
        }

        _buffer[_position++] = (byte)value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Double(double value)
    {
        BinaryPrimitives.WriteDoubleLittleEndian(_buffer[_position..], value);
        _position += 8;
    }

    public void String(int field, string value)
    {
        Tag(field, LengthDelimited);
        Uvarint((ulong)Encoding.UTF8.GetByteCount(value));
        _position += Encoding.UTF8.GetBytes(value, _buffer[_position..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Raw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_buffer[_position..]);
        _position += bytes.Length;
    }
}
