namespace Metrics.Coordination.Registry;

/// <summary>
/// A biased-quantile sketch after Cormode, Korn, Muthukrishnan and Srivastava ("Effective computation of biased
/// quantiles over data streams", ICDE 2005), targeted at a fixed set of quantiles with per-quantile rank error.
/// Each entry holds a value, the rank gap <c>g</c> to its predecessor and the rank uncertainty <c>delta</c>; the
/// allowed gap at rank r is the minimum over targets of the error function, and adjacent entries merge while they fit.
/// Memory stays proportional to 1/epsilon times log(epsilon * n). Not thread-safe: the summary series serialises access.
/// </summary>
internal sealed class QuantileStream
{
    private readonly QuantileObjective[] _targets;
    private Entry[] _entries = new Entry[64];
    private Entry[] _scratch = new Entry[64];
    private int _length;
    private double _n;

    public QuantileStream(QuantileObjective[] targets) => _targets = targets;

    public double Count => _n;

    public int EntryCount => _length;

    public void Reset()
    {
        _length = 0;
        _n = 0;
    }

    /// <summary>Merges a sorted batch of observations, then compresses.</summary>
    public void InsertSorted(ReadOnlySpan<double> sorted)
    {
        if (sorted.Length == 0)
        {
            return;
        }

        var needed = _length + sorted.Length;
        if (_scratch.Length < needed)
        {
            _scratch = new Entry[Math.Max(needed, _scratch.Length * 2)];
        }

        // Walk both sorted sequences once. A new value placed between existing entries gets the largest
        // uncertainty the invariant allows at its rank (minus one); at either end it is exact (delta 0).
        var output = _scratch;
        var o = 0;
        var e = 0;
        double rank = 0;
        foreach (var v in sorted)
        {
            while (e < _length && _entries[e].Value <= v)
            {
                rank += _entries[e].G;
                output[o++] = _entries[e++];
            }

            var delta = e < _length && o > 0 ? Math.Max(0, Math.Floor(Allowed(rank)) - 1) : 0;

            output[o++] = new Entry(v, 1, delta);
            _n += 1;
            rank += 1;
        }

        while (e < _length)
        {
            output[o++] = _entries[e++];
        }

        (_entries, _scratch) = (output, _entries);
        _length = o;
        Compress();
    }

    /// <summary>The estimated value at quantile <paramref name="q"/>, or NaN when empty.</summary>
    public double Query(double q)
    {
        if (_length == 0)
        {
            return double.NaN;
        }

        var target = Math.Ceiling(q * _n);
        target += Math.Ceiling(Allowed(target) / 2);
        var previous = _entries[0];
        double rank = 0;
        for (var i = 1; i < _length; i++)
        {
            var current = _entries[i];
            rank += previous.G;
            if (rank + current.G + current.Delta > target)
            {
                return previous.Value;
            }

            previous = current;
        }

        return previous.Value;
    }

    /// <summary>The allowed rank gap at rank <paramref name="rank"/>: the tightest over all targets.</summary>
    private double Allowed(double rank)
    {
        var best = double.MaxValue;
        foreach (var t in _targets)
        {
            double f;
            if (t.Quantile * _n <= rank)
            {
                f = t.Quantile > 0 ? 2 * t.Epsilon * rank / t.Quantile : double.MaxValue;
            }
            else
            {
                f = t.Quantile < 1 ? 2 * t.Epsilon * (_n - rank) / (1 - t.Quantile) : double.MaxValue;
            }

            if (f < best)
            {
                best = f;
            }
        }

        return best;
    }

    private void Compress()
    {
        if (_length < 3)
        {
            return;
        }

        // Sweep from the top down, folding an entry into its successor while the successor's gap plus
        // uncertainty stays within what the invariant allows at that rank. Writes compact toward the end.
        var entries = _entries;
        var write = _length - 1;
        var keep = entries[write];
        var rank = _n - 1 - keep.G;
        for (var i = _length - 2; i >= 1; i--)
        {
            var c = entries[i];
            if (c.G + keep.G + keep.Delta <= Allowed(rank))
            {
                keep = new Entry(keep.Value, keep.G + c.G, keep.Delta);
            }
            else
            {
                entries[write--] = keep;
                keep = c;
            }

            rank -= c.G;
        }

        entries[write--] = keep;
        entries[write] = entries[0]; // the minimum is always kept exact
        var start = write;
        var count = _length - start;
        Array.Copy(entries, start, entries, 0, count);
        _length = count;
    }

    private readonly record struct Entry(double Value, double G, double Delta);
}
