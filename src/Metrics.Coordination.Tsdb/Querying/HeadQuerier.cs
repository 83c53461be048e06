using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tsdb.Head;
using Metrics.Coordination.Tsdb.Index;

namespace Metrics.Coordination.Tsdb.Querying;

/// <summary>Reads the head over [mint, maxt] (inclusive): postings from the inverted index, chunks snapshotted per series under its lock.</summary>
internal sealed class HeadQuerier : IQuerier
{
    private readonly Head.Head _head;
    private readonly long _mint;
    private readonly long _maxt;

    public HeadQuerier(Head.Head head, long mint, long maxt)
    {
        _head = head;
        _mint = mint;
        _maxt = maxt;
    }

    /// <inheritdoc />
    public IEnumerable<ISeries> Select(bool sorted, SelectHints hints, params LabelMatcher[] matchers)
    {
        var refs = PostingsForMatchers.Select(_head.Index, matchers);
        var result = new List<ISeries>();
        var tombstones = _head.Tombstones;
        foreach (var r in refs)
        {
            var s = _head.Series.GetByRef(r);
            if (s is null)
            {
                continue;
            }

            var chunks = new List<ChunkMeta>();
            lock (s)
            {
                s.Snapshot(_mint, _maxt, chunks);
            }

            tombstones.TryGetValue(r, out var stones);
            if (stones is not null)
            {
                // Chunks wholly deleted are left out (a series left without chunks is not returned); the iterator skips the rest.
                chunks.RemoveAll(c => stones.Exists(d => d.MinTime <= c.MinTime && d.MaxTime >= c.MaxTime));
            }

            if (chunks.Count > 0)
            {
                result.Add(new ChunkedSeries(s.Labels, chunks, null, _mint, _maxt, stones));
            }
        }

        if (sorted)
        {
            result.Sort(static (a, b) => Utf8Order.CompareLabels(a.Labels, b.Labels));
        }

        return result;
    }

    /// <summary>
    /// Whether the query range misses the head's samples entirely: then it has no label names or values, as
    /// Prometheus's head index reader answers (the index itself keeps every series, whatever its time range).
    /// </summary>
    private bool OutsideHead() => _maxt < _head.MinTime || _mint > _head.MaxTime;

    /// <inheritdoc />
    public IReadOnlyList<string> LabelNames(params LabelMatcher[] matchers)
    {
        if (OutsideHead())
        {
            return [];
        }

        if (matchers.Length == 0)
        {
            return _head.Index.LabelNames();
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in SelectSeries(matchers))
        {
            foreach (var l in s.Labels.AsSpan())
            {
                names.Add(l.Name);
            }
        }

        return [.. names.Order(Utf8Order.Instance)];
    }

    /// <inheritdoc />
    public IReadOnlyList<string> LabelValues(string name, params LabelMatcher[] matchers)
    {
        if (OutsideHead())
        {
            return [];
        }

        if (matchers.Length == 0)
        {
            return _head.Index.LabelValues(name);
        }

        var values = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in SelectSeries(matchers))
        {
            var v = s.Labels.Get(name);
            if (v.Length > 0)
            {
                values.Add(v);
            }
        }

        return [.. values.Order(Utf8Order.Instance)];
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private IEnumerable<MemSeries> SelectSeries(LabelMatcher[] matchers)
    {
        foreach (var r in PostingsForMatchers.Select(_head.Index, matchers))
        {
            if (_head.Series.GetByRef(r) is { } s)
            {
                yield return s;
            }
        }
    }
}
