using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tsdb.Index;

namespace Metrics.Coordination.Tsdb.Querying;

/// <summary>
/// Combines queriers (blocks and head): series with the same labels are merged into one, their samples interleaved by
/// timestamp with duplicates (same timestamp in several sources) kept once.
/// </summary>
internal sealed class MergeQuerier : IQuerier
{
    private readonly IQuerier[] _queriers;

    public MergeQuerier(IQuerier[] queriers)
    {
        _queriers = queriers;
    }

    /// <inheritdoc />
    public IEnumerable<ISeries> Select(bool sorted, SelectHints hints, params LabelMatcher[] matchers)
    {
        if (_queriers.Length == 1)
        {
            return _queriers[0].Select(sorted, hints, matchers);
        }

        var all = new List<(ISeries Series, int Source)>();
        for (var i = 0; i < _queriers.Length; i++)
        {
            foreach (var s in _queriers[i].Select(true, hints, matchers))
            {
                all.Add((s, i));
            }
        }

        all.Sort(static (a, b) =>
        {
            var c = Utf8Order.CompareLabels(a.Series.Labels, b.Series.Labels);
            return c != 0 ? c : a.Source.CompareTo(b.Source);
        });
        var result = new List<ISeries>();
        for (var i = 0; i < all.Count;)
        {
            var j = i + 1;
            while (j < all.Count && all[j].Series.Labels.Equals(all[i].Series.Labels))
            {
                j++;
            }

            result.Add(j == i + 1 ? all[i].Series : new MergedSeries(all[i].Series.Labels, [.. all.Skip(i).Take(j - i).Select(x => x.Series)]));
            i = j;
        }

        return result;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> LabelNames(params LabelMatcher[] matchers)
    {
        var set = new SortedSet<string>(Utf8Order.Instance);
        foreach (var q in _queriers)
        {
            set.UnionWith(q.LabelNames(matchers));
        }

        return [.. set];
    }

    /// <inheritdoc />
    public IReadOnlyList<string> LabelValues(string name, params LabelMatcher[] matchers)
    {
        var set = new SortedSet<string>(Utf8Order.Instance);
        foreach (var q in _queriers)
        {
            set.UnionWith(q.LabelValues(name, matchers));
        }

        return [.. set];
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var q in _queriers)
        {
            q.Dispose();
        }
    }

    private sealed class MergedSeries(Labels labels, ISeries[] parts) : ISeries
    {
        public Labels Labels => labels;

        public ISampleIterator Iterator(ISampleIterator? reuse = null)
        {
            var iterators = new ISampleIterator[parts.Length];
            for (var i = 0; i < parts.Length; i++)
            {
                iterators[i] = parts[i].Iterator();
            }

            return new MergingIterator(iterators);
        }
    }

    /// <summary>Interleaves sorted sample streams; equal timestamps yield the first source's sample once.</summary>
    private sealed class MergingIterator(ISampleIterator[] parts) : ISampleIterator
    {
        private readonly bool[] _has = new bool[parts.Length];
        private bool _started;
        private int _current = -1;
        private Exception? _error;

        public long Timestamp => parts[_current].Timestamp;

        public double Value => parts[_current].Value;

        public Exception? Error => _error;

        public bool Next()
        {
            if (!_started)
            {
                _started = true;
                for (var i = 0; i < parts.Length; i++)
                {
                    _has[i] = Advance(i);
                }
            }
            else if (_current >= 0)
            {
                var t = parts[_current].Timestamp;
                for (var i = 0; i < parts.Length; i++)
                {
                    if (_has[i] && parts[i].Timestamp == t)
                    {
                        _has[i] = Advance(i);
                    }
                }
            }

            return Pick();
        }

        public bool Seek(long timestampMs)
        {
            if (_started && _current >= 0 && parts[_current].Timestamp >= timestampMs)
            {
                return true;
            }

            _started = true;
            for (var i = 0; i < parts.Length; i++)
            {
                _has[i] = parts[i].Seek(timestampMs) || Failed(i);
            }

            return Pick();
        }

        private bool Advance(int i) => parts[i].Next() || Failed(i);

        private bool Failed(int i)
        {
            _error ??= parts[i].Error;
            return false;
        }

        private bool Pick()
        {
            _current = -1;
            for (var i = 0; i < parts.Length; i++)
            {
                if (_has[i] && (_current < 0 || parts[i].Timestamp < parts[_current].Timestamp))
                {
                    _current = i;
                }
            }

            return _current >= 0 && _error is null;
        }
    }
}
