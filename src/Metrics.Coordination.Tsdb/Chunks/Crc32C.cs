using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Metrics.Coordination.Tsdb.Chunks;

/// <summary>
/// CRC-32C (Castagnoli), the checksum of every Prometheus TSDB file. Not <c>System.IO.Hashing.Crc32</c>, which is
/// the IEEE polynomial. <see cref="BitOperations.Crc32C(uint, ulong)"/> is the raw update step (hardware-accelerated
/// where the CPU has it); the init and final inversion are ours.
/// </summary>
internal static class Crc32C
{
    /// <summary>The checksum of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => ~Update(0xFFFFFFFFu, data);

    /// <summary>The checksum of <paramref name="first"/> followed by <paramref name="second"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second) => ~Update(Update(0xFFFFFFFFu, first), second);

    /// <summary>
    /// Feeds <paramref name="data"/> into a running (non-inverted) state. Start from <c>0xFFFFFFFF</c> and invert the
    /// final state: <c>~Update(Update(0xFFFFFFFF, a), b)</c>.
    /// </summary>
    public static uint Update(uint state, ReadOnlySpan<byte> data)
    {
        // Eight bytes per step: the reflected CRC consumes little-endian words byte by byte from the low end.
        var words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (var w in words)
        {
            state = BitOperations.Crc32C(state, BitConverter.IsLittleEndian ? w : BinaryPrimitives.ReverseEndianness(w));
        }

        foreach (var b in data[(words.Length * 8)..])
        {
            state = BitOperations.Crc32C(state, b);
        }

        return state;
    }
}
