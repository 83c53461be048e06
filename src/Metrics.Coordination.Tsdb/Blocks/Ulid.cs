using System.Security.Cryptography;

namespace Metrics.Coordination.Tsdb.Blocks;

/// <summary>Block IDs: oklog/ulid's 48-bit big-endian Unix-millisecond time + 80 random bits, 26 Crockford base32 characters.</summary>
internal static class Ulid
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    /// <summary>A new ULID for <paramref name="time"/>.</summary>
    public static string New(DateTimeOffset time)
    {
        Span<byte> bytes = stackalloc byte[16];
        var ms = (ulong)time.ToUnixTimeMilliseconds();
        for (var i = 0; i < 6; i++)
        {
            bytes[i] = (byte)(ms >> (8 * (5 - i)));
        }

        RandomNumberGenerator.Fill(bytes[6..]);
        return Encode(bytes);
    }

    /// <summary>The 26-character text form of 16 bytes (128 bits, the first character carries 3 bits).</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var value = new UInt128(
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
        Span<char> chars = stackalloc char[26];
        for (var i = 25; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(value & 31)];
            value >>= 5;
        }

        return new string(chars);
    }

    /// <summary>Whether <paramref name="s"/> looks like a ULID (26 Crockford characters, first ≤ '7').</summary>
    public static bool IsValid(string s) =>
        s.Length == 26 && s[0] <= '7' && s.All(c => Alphabet.Contains(c, StringComparison.Ordinal));

    /// <summary>The creation time (ms) encoded in a ULID.</summary>
    public static long TimeOf(string ulid)
    {
        long ms = 0;
        for (var i = 0; i < 10; i++)
        {
            ms = (ms << 5) | (long)Alphabet.IndexOf(ulid[i], StringComparison.Ordinal);
        }

        return ms;
    }
}
