using BenchmarkDotNet.Attributes;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tsdb;
using Metrics.Coordination.Tsdb.Head;
using Metrics.Coordination.Tsdb.Wal;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Benchmarks.Tsdb;

/// <summary>WAL replay into a fresh head, per sample (target ≥ 10 M samples/s). The WAL holds 2,000 series × 1,000 scrapes.</summary>
public class WalReplayBenchmarks
{
    private const int Series = 2000;
    private const int Scrapes = 1000;

    private string _dir = null!;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "mc-bench-replay-" + Guid.NewGuid().ToString("N"));
        using var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = _dir, WalFsyncPolicy = WalFsyncPolicy.None });
        var refs = new SeriesRef[Series];
        var random = new Random(1);
        for (var s = 0; s < Scrapes; s++)
        {
            var app = db.Appender();
            for (var i = 0; i < Series; i++)
            {
                refs[i] = app.Append(new AppendRequest
                {
                    Ref = refs[i],
                    Labels = Labels.FromStrings("__name__", "m" + (i % 100), "instance", "host-" + (i / 100)),
                    TimestampMs = 1_700_000_000_000 + (s * 15_000L),
                    Value = random.Next(1000),
                });
            }

            app.Commit();
        }
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark(OperationsPerInvoke = Series * Scrapes, Description = "WAL replay, per sample")]
    public long Replay()
    {
        var head = new Head(new HeadOptions(HeadOptions.DefaultBlockRange));
        var result = WriteAheadLog.Replay(Path.Combine(_dir, "wal"), head, NullLogger.Instance);
        return result.Samples;
    }
}
