using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tsdb;

namespace Metrics.Coordination.Benchmarks.Tsdb;

/// <summary>
/// Head append with the WAL on, the workload of promtool's <c>tsdb bench write --metrics=2000 --scrapes=3000</c>
/// (6 M samples into a fresh database, one commit per scrape, cached series refs, the WAL written to disk). Promtool
/// 2.42 does 3.4 M samples/s here with GOMAXPROCS=1; the target is ≥ 7 M/s. Reported per sample: samples/s = 1e9 / mean.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 2, iterationCount: 8)]
public class HeadAppendBenchmarks
{
    private const int Series = 2000;
    private const int Scrapes = 3000;

    private Labels[] _labels = null!;
    private string _dir = null!;
    private TimeSeriesDatabase _db = null!;

    /// <summary>WAL fsync policy (Interval is the target configuration).</summary>
    [Params(WalFsyncPolicy.Interval)]
    public WalFsyncPolicy Policy { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _labels = new Labels[Series];
        for (var i = 0; i < Series; i++)
        {
            _labels[i] = Labels.FromStrings("__name__", "bench_metric_" + (i % 100), "instance", "host-" + (i / 100), "job", "bench");
        }
    }

    [IterationSetup]
    public void OpenFresh()
    {
        _dir = Path.Combine(Path.GetTempPath(), "mc-bench-head-" + Guid.NewGuid().ToString("N"));
        _db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = _dir, WalFsyncPolicy = Policy });
    }

    [IterationCleanup]
    public void Close()
    {
        _db.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = Series * Scrapes, Description = "head append + WAL, 6 M samples, per sample")]
    public void Append()
    {
        var refs = new SeriesRef[Series];
        var t = 1_700_000_000_000L;
        for (var s = 0; s < Scrapes; s++)
        {
            var app = _db.Appender();
            for (var i = 0; i < Series; i++)
            {
                refs[i] = app.Append(new AppendRequest { Ref = refs[i], Labels = _labels[i], TimestampMs = t, Value = t + i });
            }

            app.Commit();
            t += 15_000;
        }
    }
}
