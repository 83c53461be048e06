using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Rules.PromQL.Testing;

namespace Metrics.Coordination.Rules.PromQL.Testing;

/// <summary>
/// An in-memory storage for PromQL test scripts (<c>mctl promql test</c>, our test suites): series by label set,
/// samples in sorted arrays. Not a TSDB: no compression, no durability. Appends are visible after
/// Commit; a sample at an existing timestamp replaces it (scripts load the same series more than once).
/// </summary>
public sealed class InMemoryPromQLStorage : IPromQLTestStorage
{
    private readonly Dictionary<Labels, SortedList<long, double>> _series = [];
    private readonly Lock _lock = new();

    /// <summary>How many selects queriers of this storage have run (tests check that data is loaded once per query).</summary>
    public int SelectCount { get; private set; }

    /// <inheritdoc />
    public IAppender Appender() => new MemoryAppender(this);

    /// <inheritdoc />
    public IQuerier Querier(long minTimeMs, long maxTimeMs)
    {
        lock (_lock)
        {
            // Snapshot the series that have samples in range, sorted by labels.
            var list = new List<ArraySeries>();
            foreach (var (labels, samples) in _series)
            {
                var t = new List<long>();
                var v = new List<double>();
                foreach (var (ts, value) in samples)
                {
                    if (ts >= minTimeMs && ts <= maxTimeMs)
                    {
                        t.Add(ts);
                        v.Add(value);
                    }
                }

                if (t.Count > 0)
                {
                    list.Add(new ArraySeries(labels, [.. t], [.. v]));
                }
            }

            list.Sort((a, b) => CompareLabels(a.Labels, b.Labels));
            return new MemoryQuerier(this, list);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    internal static int CompareLabels(Labels x, Labels y)
    {
        var a = x.AsSpan();
        var b = y.AsSpan();
        for (var i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            var c = string.CompareOrdinal(a[i].Name, b[i].Name);
            if (c != 0)
            {
                return c;
            }

            c = string.CompareOrdinal(a[i].Value, b[i].Value);
            if (c != 0)
            {
                return c;
            }
        }

        return a.Length.CompareTo(b.Length);
    }

    private sealed class MemoryAppender(InMemoryPromQLStorage storage) : IAppender
    {
        private readonly List<(Labels Labels, long T, double V)> _pending = [];

        public SeriesRef Append(in AppendRequest request)
        {
            _pending.Add((request.Labels, request.TimestampMs, request.Value));
            return SeriesRef.None;
        }

        public void Commit()
        {
            lock (storage._lock)
            {
                foreach (var (labels, t, v) in _pending)
                {
                    if (!storage._series.TryGetValue(labels, out var samples))
                    {
                        samples = [];
                        storage._series.Add(labels, samples);
                    }

                    samples[t] = v;
                }
            }

            _pending.Clear();
        }

        public void Rollback() => _pending.Clear();
    }

    private sealed class MemoryQuerier(InMemoryPromQLStorage storage, List<ArraySeries> series) : IQuerier
    {
        public IEnumerable<ISeries> Select(bool sorted, SelectHints hints, params LabelMatcher[] matchers)
        {
            storage.SelectCount++;
            foreach (var s in series)
            {
                if (matchers.All(m => m.Matches(s.Labels)))
                {
                    yield return s;
                }
            }
        }

        public IReadOnlyList<string> LabelNames(params LabelMatcher[] matchers) =>
            series.Where(s => matchers.All(m => m.Matches(s.Labels))).SelectMany(s => s.Labels.Select(l => l.Name)).Distinct().Order(StringComparer.Ordinal).ToList();

        public IReadOnlyList<string> LabelValues(string name, params LabelMatcher[] matchers) =>
            series.Where(s => matchers.All(m => m.Matches(s.Labels))).Select(s => s.Labels.Get(name)).Where(v => v.Length > 0).Distinct().Order(StringComparer.Ordinal).ToList();

        public void Dispose()
        {
        }
    }
}
