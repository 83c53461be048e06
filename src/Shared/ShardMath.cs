using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Metrics.Coordination.Shared;

/// <summary>
/// Which member of a group owns a key (source-linked into Abstractions, whose relabeling <c>hashmod</c> and public
/// <c>ShardAssignment</c> use it, and into the ZooKeeper package, whose shard-group recipe must compute exactly the same
/// assignment without depending on anything else of ours).
/// </summary>
/// <remarks>
/// <para>
/// Rendezvous (highest-random-weight) hashing: every member scores every key with a hash of the pair and the highest
/// score owns it. Removing a member moves exactly that member's keys (every other key's maximum is unchanged); adding
/// a member moves to it exactly the keys it now scores highest on, about 1/(N+1) of them, and nothing moves between
/// the old members.
/// </para>
/// <para>
/// <c>hashmod</c>: Prometheus's relabel <c>hashmod</c> of the key modulo the member count indexes the members in
/// ordinal order of their ids — what N Prometheus servers configured with <c>hashmod</c> (<c>modulus: N</c>) and a
/// <c>keep</c> on their own index compute. Any change of the member count reshuffles about (N-1)/N of the keys.
/// </para>
/// </remarks>
internal static class ShardMath
{
    // Keys (target addresses) are short; longer ones rent a buffer.
    private const int StackBytes = 256;

    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    /// <summary>
    /// Prometheus's hashmod: the MD5 digest of <paramref name="value"/>'s UTF-8 bytes, its last 8 bytes read as a
    /// big-endian unsigned integer, modulo <paramref name="modulus"/>. (Prometheus shifts all 16 bytes into a
    /// uint64; Go drops the first 8 as shifts of 64 bits or more.)
    /// </summary>
    public static ulong HashMod(string value, ulong modulus)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentOutOfRangeException.ThrowIfZero(modulus);
        var length = Encoding.UTF8.GetByteCount(value);
        var rented = length > StackBytes ? ArrayPool<byte>.Shared.Rent(length) : null;
        try
        {
            Span<byte> bytes = rented ?? stackalloc byte[StackBytes];
            var written = Encoding.UTF8.GetBytes(value, bytes);
            Span<byte> digest = stackalloc byte[MD5.HashSizeInBytes];
            MD5.HashData(bytes[..written], digest);
            return BinaryPrimitives.ReadUInt64BigEndian(digest[8..]) % modulus;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// The 64-bit hash both sides of a rendezvous score use: FNV-1a 64 over the UTF-8 bytes, then the SplitMix64
    /// finalizer (FNV alone leaves keys that differ in their last characters, like <c>host:9100</c> and <c>host:9101</c>,
    /// close together). Stable across processes and versions: replicas must agree.
    /// </summary>
    public static ulong Hash(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var length = Encoding.UTF8.GetByteCount(value);
        var rented = length > StackBytes ? ArrayPool<byte>.Shared.Rent(length) : null;
        try
        {
            Span<byte> bytes = rented ?? stackalloc byte[StackBytes];
            var written = Encoding.UTF8.GetBytes(value, bytes);
            var hash = FnvOffset;
            foreach (var b in bytes[..written])
            {
                hash = (hash ^ b) * FnvPrime;
            }

            return Mix(hash);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The rendezvous score of a key for a member, from their <see cref="Hash"/>es.</summary>
    public static ulong Score(ulong keyHash, ulong memberHash) => Mix(keyHash ^ Mix(memberHash + 0x9E3779B97F4A7C15UL));

    /// <summary>
    /// The index of the member (in <paramref name="memberHashes"/>, one <see cref="Hash"/> per member id) that owns
    /// <paramref name="key"/> by rendezvous hashing, or -1 when there is no member. Equal scores (2^-64) go to the lower
    /// index, so members must be listed in the same order everywhere (ordinal by id).
    /// </summary>
    public static int RendezvousOwner(string key, ReadOnlySpan<ulong> memberHashes)
    {
        var keyHash = Hash(key);
        var best = -1;
        var bestScore = 0UL;
        for (var i = 0; i < memberHashes.Length; i++)
        {
            var score = Score(keyHash, memberHashes[i]);
            if (best < 0 || score > bestScore)
            {
                best = i;
                bestScore = score;
            }
        }

        return best;
    }

    /// <summary>The index owning <paramref name="key"/> by <see cref="HashMod"/> over <paramref name="memberCount"/> members, or -1 when there is none.</summary>
    public static int HashModOwner(string key, int memberCount) =>
        memberCount <= 0 ? -1 : (int)HashMod(key, (ulong)memberCount);

    // SplitMix64's finalizer: a bijection with full avalanche.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
