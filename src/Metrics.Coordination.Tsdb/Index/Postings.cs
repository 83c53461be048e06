namespace Metrics.Coordination.Tsdb.Index;

/// <summary>Set operations on sorted, duplicate-free arrays of series references (postings lists).</summary>
internal static class Postings
{
    /// <summary>The intersection of all <paramref name="lists"/> (smallest first, so work stays proportional to it).</summary>
    public static ulong[] Intersect(List<ulong[]> lists)
    {
        if (lists.Count == 0)
        {
            return [];
        }

        lists.Sort(static (a, b) => a.Length.CompareTo(b.Length));
        var result = lists[0];
        for (var i = 1; i < lists.Count && result.Length > 0; i++)
        {
            result = Intersect(result, lists[i]);
        }

        return result;
    }

    /// <summary>The intersection of two lists; gallops through the longer one when sizes differ a lot.</summary>
    public static ulong[] Intersect(ulong[] a, ulong[] b)
    {
        if (a.Length > b.Length)
        {
            (a, b) = (b, a);
        }

        var result = new List<ulong>(a.Length);
        if (a.Length * 16 < b.Length)
        {
            var lo = 0;
            foreach (var x in a)
            {
                var i = Array.BinarySearch(b, lo, b.Length - lo, x);
                if (i >= 0)
                {
                    result.Add(x);
                    lo = i + 1;
                }
                else
                {
                    lo = ~i;
                }

                if (lo >= b.Length)
                {
                    break;
                }
            }

            return [.. result];
        }

        int p = 0, q = 0;
        while (p < a.Length && q < b.Length)
        {
            if (a[p] == b[q])
            {
                result.Add(a[p]);
                p++;
                q++;
            }
            else if (a[p] < b[q])
            {
                p++;
            }
            else
            {
                q++;
            }
        }

        return [.. result];
    }

    /// <summary>The union of <paramref name="lists"/>.</summary>
    public static ulong[] Union(List<ulong[]> lists)
    {
        switch (lists.Count)
        {
            case 0:
                return [];
            case 1:
                return lists[0];
        }

        var total = 0;
        foreach (var l in lists)
        {
            total += l.Length;
        }

        var all = new ulong[total];
        var at = 0;
        foreach (var l in lists)
        {
            l.CopyTo(all, at);
            at += l.Length;
        }

        Array.Sort(all);
        var n = 0;
        for (var i = 0; i < all.Length; i++)
        {
            if (n == 0 || all[n - 1] != all[i])
            {
                all[n++] = all[i];
            }
        }

        return n == all.Length ? all : all[..n];
    }

    /// <summary>The elements of <paramref name="a"/> not in <paramref name="b"/>.</summary>
    public static ulong[] Without(ulong[] a, ulong[] b)
    {
        if (b.Length == 0 || a.Length == 0)
        {
            return a;
        }

        var result = new List<ulong>(a.Length);
        var q = 0;
        foreach (var x in a)
        {
            while (q < b.Length && b[q] < x)
            {
                q++;
            }

            if (q >= b.Length || b[q] != x)
            {
                result.Add(x);
            }
        }

        return [.. result];
    }
}
