using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Rules.PromQL.Testing;

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
}
