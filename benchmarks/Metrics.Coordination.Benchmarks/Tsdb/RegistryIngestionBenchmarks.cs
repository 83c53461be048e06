using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Tsdb;
using Metrics.Coordination.Tsdb.Ingestion;

namespace Metrics.Coordination.Benchmarks.Tsdb;

/// <summary>
/// One registry ingestion tick for 10 k series (100 gauge families × 100 label sets, plus the 5 report series):
/// the registry walk, label and ref caches, and the appends, into a storage that discards samples (the walk's own
/// cost) and into an in-memory <see cref="TimeSeriesDatabase"/> (head append included, no WAL).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class RegistryIngestionBenchmarks
{
    private const int Families = 100;
    private const int SeriesPerFamily = 100;

    private RegistryIngestion _discard = null!;
    private RegistryIngestion _tsdb = null!;
    private TimeSeriesDatabase _db = null!;
    private long _t = 1_700_000_000_000;

    [GlobalSetup]
    public void Setup()
    {
        var registry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false });
        for (var f = 0; f < Families; f++)
        {
            var gauge = registry.CreateGauge("bench_gauge_" + f.ToString(CultureInfo.InvariantCulture), "Bench.", "instance_id", "zone");
            for (var s = 0; s < SeriesPerFamily; s++)
            {
                gauge.WithLabels("i-" + s.ToString(CultureInfo.InvariantCulture), "zone-" + (s % 3).ToString(CultureInfo.InvariantCulture)).Set(s);
            }
        }

        _discard = new RegistryIngestion(registry, new DiscardStorage());
        _db = TimeSeriesDatabase.Open(new TsdbOptions());
        _tsdb = new RegistryIngestion(registry, _db);
        _discard.CollectOnce(_t);
        _tsdb.CollectOnce(_t);
    }

    [GlobalCleanup]
    public void Cleanup() => _db.Dispose();

    [Benchmark(Description = "tick, 10 k series, discarding storage")]
    public void TickDiscard() => _discard.CollectOnce(_t += 1000);

    [Benchmark(Description = "tick, 10 k series, in-memory TSDB head")]
    public void TickTsdb() => _tsdb.CollectOnce(_t += 1000);

    private sealed class DiscardStorage : IAppendable
    {
        private readonly DiscardAppender _appender = new();

        public IAppender Appender() => _appender;

        private sealed class DiscardAppender : IAppender
        {
            public SeriesRef Append(in AppendRequest request) => new(1);

            public void Commit()
            {
            }

            public void Rollback()
            {
            }
        }
    }
}
