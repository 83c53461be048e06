using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Tsdb.Index;

/// <summary>
/// Orders strings by their UTF-8 bytes (= Unicode code point order), as the index requires for symbols, label sets and
/// postings keys. <see cref="string.CompareOrdinal(string, string)"/> compares UTF-16 code units, which differs when a
/// surrogate pair (U+10000 and up) meets a character in U+E000–U+FFFF; this fixes exactly that case.
/// </summary>
internal sealed class Utf8Order : IComparer<string>, IComparer<Labels>
{
    /// <summary>The shared instance.</summary>
    public static readonly Utf8Order Instance = new();

    /// <summary>Compares by UTF-8 bytes.</summary>
    public static int CompareStrings(string? a, string? b)
    {
        if (ReferenceEquals(a, b))
        {
            return 0;
        }

        if (a is null)
        {
            return -1;
        }

        if (b is null)
        {
            return 1;
        }

        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            int x = a[i], y = b[i];
            if (x != y)
            {
                if (x >= 0xD800 && y >= 0xD800)
                {
                    // Surrogates (D800–DFFF) encode code points above FFFF: move them above E000–FFFF.
                    x = x >= 0xE000 ? x - 0x800 : x + 0x2000;
                    y = y >= 0xE000 ? y - 0x800 : y + 0x2000;
                }

                return x - y;
            }
        }

        return a.Length - b.Length;
    }

    /// <summary>Compares label sets label by label (name, then value); a prefix sorts first.</summary>
    public static int CompareLabels(Labels? a, Labels? b)
    {
        if (ReferenceEquals(a, b))
        {
            return 0;
        }

        if (a is null)
        {
            return -1;
        }

        if (b is null)
        {
            return 1;
        }

        var x = a.AsSpan();
        var y = b.AsSpan();
        var n = Math.Min(x.Length, y.Length);
        for (var i = 0; i < n; i++)
        {
            var c = CompareStrings(x[i].Name, y[i].Name);
            if (c != 0)
            {
                return c;
            }

            c = CompareStrings(x[i].Value, y[i].Value);
            if (c != 0)
            {
                return c;
            }
        }

        return x.Length - y.Length;
    }

    /// <inheritdoc />
    public int Compare(string? x, string? y) => CompareStrings(x, y);

    /// <inheritdoc />
    public int Compare(Labels? x, Labels? y) => CompareLabels(x, y);
}
