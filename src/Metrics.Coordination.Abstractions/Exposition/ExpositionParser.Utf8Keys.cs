using System.Text;

namespace Metrics.Coordination.Abstractions.Exposition;

/// <summary>Compares UTF-8 keys by content, and lets dictionaries keyed by <c>byte[]</c> be probed with a span (no allocation).</summary>
internal sealed class Utf8KeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static readonly Utf8KeyComparer Instance = new();

    public bool Equals(byte[]? x, byte[]? y) => ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y));

    public int GetHashCode(byte[] obj) => Hash(obj);

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);

    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();

    private static int Hash(ReadOnlySpan<byte> s)
    {
        var hash = default(HashCode);
        hash.AddBytes(s);
        return hash.ToHashCode();
    }
}

/// <summary>
/// Turns repeated UTF-8 names and values into one shared string each while building the object model: a scrape
/// repeats the same few hundred label names and values thousands of times.
/// </summary>
internal sealed class Utf8StringCache
{
    // Short strings only, and a bounded number of them: label names and common values (le, job, method) repeat,
    // long unique values (paths, ids) would only grow the table. 64 bytes covers typical names; 16384 entries cap the
    // cache at roughly 2 MB.
    private const int MaxKeyLength = 64;
    private const int MaxEntries = 16384;

    private readonly Dictionary<byte[], string> _strings = new(Utf8KeyComparer.Instance);
    private readonly Dictionary<byte[], string>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    public Utf8StringCache() => _lookup = _strings.GetAlternateLookup<ReadOnlySpan<byte>>();

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty)
        {
            return string.Empty;
        }

        if (utf8.Length > MaxKeyLength)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        if (_lookup.TryGetValue(utf8, out var s))
        {
            return s;
        }

        s = Encoding.UTF8.GetString(utf8);
        if (_strings.Count < MaxEntries)
        {
            _lookup.TryAdd(utf8, s);
        }

        return s;
    }
}
