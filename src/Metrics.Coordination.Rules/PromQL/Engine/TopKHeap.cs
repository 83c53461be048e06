namespace Metrics.Coordination.Rules.PromQL;

/// <summary>
/// The k best (series id, value) pairs of one group at one step, for topk (largest) or bottomk (smallest). NaN is
/// never better than a number; among equal values the earlier series wins, as a stable sort would choose.
/// The root is the worst kept entry, so a candidate only has to beat it.
/// </summary>
internal sealed class TopKHeap(bool top)
{
    private (int Id, double Value)[] _items = new (int, double)[4];

    public int Count { get; private set; }

    public (int Id, double Value) this[int i] => _items[i];

    /// <summary>Whether a candidate would be kept with room for <paramref name="k"/>.</summary>
    public bool WouldAccept(double value, int id, long k) => Count < k || Worse(_items[0], (id, value));

    public void Offer(int id, double value, long k)
    {
        var item = (id, value);
        if (Count < k)
        {
            if (Count == _items.Length)
            {
                Array.Resize(ref _items, _items.Length * 2);
            }

            var i = Count++;
            _items[i] = item;
            while (i > 0)
            {
                var parent = (i - 1) / 2;
                if (!Worse(_items[i], _items[parent]))
                {
                    break;
                }

                (_items[i], _items[parent]) = (_items[parent], _items[i]);
                i = parent;
            }

            return;
        }

        if (!Worse(_items[0], item))
        {
            return;
        }

        _items[0] = item;
        var j = 0;
        while (true)
        {
            var left = (2 * j) + 1;
            if (left >= Count)
            {
                break;
            }

            var worst = left + 1 < Count && Worse(_items[left + 1], _items[left]) ? left + 1 : left;
            if (!Worse(_items[worst], _items[j]))
            {
                break;
            }

            (_items[worst], _items[j]) = (_items[j], _items[worst]);
            j = worst;
        }
    }

    /// <summary>Whether <paramref name="a"/> ranks below <paramref name="b"/>.</summary>
    public bool Worse((int Id, double Value) a, (int Id, double Value) b)
    {
        var an = double.IsNaN(a.Value);
        var bn = double.IsNaN(b.Value);
        if (an != bn)
        {
            return an;
        }

        if (!an && a.Value != b.Value)
        {
            return top ? a.Value < b.Value : a.Value > b.Value;
        }

        return a.Id > b.Id;
    }
}
