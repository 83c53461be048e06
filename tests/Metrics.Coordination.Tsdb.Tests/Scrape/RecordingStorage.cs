using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;

namespace Metrics.Coordination.Tsdb.Tests.Scrape;

/// <summary>An appendable that keeps committed samples in order, for asserting exactly what a scrape appended.</summary>
internal sealed class RecordingStorage : IAppendable
{
    private readonly List<(Labels Labels, long T, double V)> _committed = [];
    private ulong _nextRef = 1;
    private readonly Dictionary<Labels, ulong> _refs = [];

    public int Commits { get; private set; }

    public int Rollbacks { get; private set; }

    public IReadOnlyList<(Labels Labels, long T, double V)> Samples
    {
        get
        {
            lock (_committed)
            {
                return [.. _committed];
            }
        }
    }

    public IAppender Appender() => new RecordingAppender(this);

    /// <summary>The samples of the last commit-batch at timestamp <paramref name="t"/>, keyed by labels text.</summary>
    public Dictionary<string, double> At(long t) =>
        Samples.Where(s => s.T == t).GroupBy(s => s.Labels.ToString()).ToDictionary(g => g.Key, g => g.Last().V);

    public double Value(string labels, long t) => At(t)[labels];

    private sealed class RecordingAppender(RecordingStorage owner) : IAppender
    {
        private readonly List<(Labels, long, double)> _pending = [];

        public SeriesRef Append(in AppendRequest request)
        {
            request.Labels.Should().NotBeNull();
            _pending.Add((request.Labels, request.TimestampMs, request.Value));
            lock (owner._committed)
            {
                if (!owner._refs.TryGetValue(request.Labels, out var r))
                {
                    r = owner._nextRef++;
                    owner._refs[request.Labels] = r;
                }

                return new SeriesRef(r);
            }
        }

        public void Commit()
        {
            lock (owner._committed)
            {
                owner._committed.AddRange(_pending);
                owner.Commits++;
            }

            _pending.Clear();
        }

        public void Rollback()
        {
            lock (owner._committed)
            {
                owner.Rollbacks++;
            }

            _pending.Clear();
        }
    }
}
