using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;

namespace Metrics.Coordination.Benchmarks.PromQL;

/// <summary>
/// Read-only in-memory storage over sorted arrays, so the benchmarks measure the engine rather than a TSDB's chunk
/// decoding. Iterators are reused when the engine passes them back.
/// </summary>
internal sealed class ArrayStorage(List<(Labels Labels, long[] T, double[] V)> series) : Abstractions.Storage.IQueryable
{
    public IQuerier Querier(long minTimeMs, long maxTimeMs) => new ArrayQuerier(series);

    private sealed class ArrayQuerier(List<(Labels Labels, long[] T, double[] V)> series) : IQuerier
    {
        public IEnumerable<ISeries> Select(bool sorted, SelectHints hints, params LabelMatcher[] matchers)
        {
            foreach (var s in series)
            {
                var match = true;
                foreach (var m in matchers)
                {
                    if (!m.Matches(s.Labels))
                    {
                        match = false;
                        break;
                    }
                }

                if (match)
                {
                    yield return new ArraySeries(s.Labels, s.T, s.V);
                }
            }
        }

        public IReadOnlyList<string> LabelNames(params LabelMatcher[] matchers) => [];

        public IReadOnlyList<string> LabelValues(string name, params LabelMatcher[] matchers) => [];

        public void Dispose()
        {
        }
    }

    private sealed class ArraySeries(Labels labels, long[] t, double[] v) : ISeries
    {
        public Labels Labels { get; } = labels;

        public ISampleIterator Iterator(ISampleIterator? reuse = null)
        {
            if (reuse is ArrayIterator it)
            {
                it.Reset(t, v);
                return it;
            }

            return new ArrayIterator(t, v);
        }
    }

    private sealed class ArrayIterator(long[] t, double[] v) : ISampleIterator
    {
        private long[] _t = t;
        private double[] _v = v;
        private int _i = -1;

        public long Timestamp => _t[_i];

        public double Value => _v[_i];

        public Exception? Error => null;

        public void Reset(long[] t, double[] v)
        {
            _t = t;
            _v = v;
            _i = -1;
        }

        public bool Next() => ++_i < _t.Length;

        public bool Seek(long timestampMs)
        {
            if (_i < 0)
            {
                _i = 0;
            }

            if (_i >= _t.Length)
            {
                return false;
            }

            if (_t[_i] >= timestampMs)
            {
                return true;
            }

            var idx = Array.BinarySearch(_t, _i, _t.Length - _i, timestampMs);
            _i = idx >= 0 ? idx : ~idx;
            return _i < _t.Length;
        }
    }
}
