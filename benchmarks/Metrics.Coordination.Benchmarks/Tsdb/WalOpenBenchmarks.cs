using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Tsdb;
using Metrics.Coordination.Tsdb.Records;
using Metrics.Coordination.Tsdb.Wal;

namespace Metrics.Coordination.Benchmarks.Tsdb;

/// <summary>
/// Opening a database whose WAL holds ~1 GiB (issue 5: report the open time for 1 GiB of WAL; replay ≥ 10 M
/// samples/s). The WAL is built once per run in a temp dir, in the shape the scrape loop writes: 100,000 series from
/// 2,500 targets × 40 series (60 % counters with small integer increments, 40 % gauges on a 2-decimal random walk),
/// a 15 s interval with a fixed phase per target, one commit per target scrape (a Series record at its first scrape,
/// then one 40-sample Samples record per scrape), 128 MiB segments, until the WAL passes 1 GiB (~1,000 scrapes,
/// ~100 M samples, 4.2 h: more than a block range, so it is what a crashed process that never compacted leaves).
/// Mean = open time; samples/s = samples / mean (printed with the memory after open). Runs in process (one 1 GiB build,
/// no separate benchmark exe to compile on a loaded machine): <c>--filter '*WalOpen*'</c>; each open takes about 1 min on the loaded 2-core machine.
/// </summary>
[Config(typeof(InProcessConfig))]
public class WalOpenBenchmarks
{
    private const int Targets = 2500;
    private const int SeriesPerTarget = 40;
    private const long WalBytes = 1L << 30;
    private const long Start = 1_700_000_000_000;

    private string _dir = null!;
    private long _samples;
    private long _walBytes;
    private int _segments;
    private TimeSeriesDatabase? _db;
    private TimeSpan _cpuBefore;
    private long _wallBefore;
    private TimeSpan _gcPauseBefore;
    private int _gen2Before;

    private sealed class InProcessConfig : ManualConfig
    {
        public InProcessConfig() =>
            AddJob(Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(0).WithIterationCount(2)
                .WithToolchain(InProcessEmitToolchain.Instance));
    }

    [GlobalSetup]
    public void Build()
    {
        _dir = Path.Combine(Path.GetTempPath(), "mc-bench-wal1g-" + Guid.NewGuid().ToString("N"));
        var watch = Stopwatch.StartNew();
        var walDir = Path.Combine(_dir, "wal");
        var random = new Random(42);
        var values = new double[Targets * SeriesPerTarget];
        var phase = new long[Targets];
        for (var t = 0; t < Targets; t++)
        {
            phase[t] = random.Next(15_000);
        }

        var buffer = new ByteBuffer(1 << 16);
        var samples = new List<RefSample>(SeriesPerTarget);
        var series = new List<RefSeries>(SeriesPerTarget);
        using (var writer = WalWriter.Open(walDir, TsdbOptions.DefaultWalSegmentSize))
        {
            for (var scrape = 0; _walBytes < WalBytes; scrape++)
            {
                for (var t = 0; t < Targets; t++)
                {
                    var first = (ulong)(t * SeriesPerTarget) + 1;
                    if (scrape == 0)
                    {
                        series.Clear();
                        for (var i = 0; i < SeriesPerTarget; i++)
                        {
                            series.Add(new RefSeries(first + (ulong)i, Labels.FromStrings(
                                "__name__", (i < 24 ? "bench_requests_total_" : "bench_gauge_") + (i % 12),
                                "instance", "host-" + t + ":9100",
                                "job", "job-" + (t % 5),
                                "series", i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
                        }

                        buffer.Clear();
                        WalRecords.EncodeSeries(buffer, series, static s => (s.Ref, s.Labels));
                        writer.Append(buffer.Span);
                    }

                    samples.Clear();
                    var ts = Start + (scrape * 15_000L) + phase[t];
                    for (var i = 0; i < SeriesPerTarget; i++)
                    {
                        var k = (t * SeriesPerTarget) + i;
                        values[k] = i < 24
                            ? values[k] + random.Next(4)
                            : Math.Round(Math.Clamp(values[k] + ((random.NextDouble() - 0.5) * 2), -100, 100), 2);
                        samples.Add(new RefSample(first + (ulong)i, ts, BitConverter.DoubleToUInt64Bits(values[k])));
                    }

                    buffer.Clear();
                    WalRecords.EncodeSamples(buffer, samples, static s => s);
                    writer.Append(buffer.Span);
                    _samples += SeriesPerTarget;
                }

                _walBytes = writer.Flush();
            }

            _segments = writer.CurrentSegment + 1;
        }

        Console.WriteLine($"// WAL built in {watch.Elapsed.TotalSeconds:F1} s: {_walBytes / (1 << 20)} MiB in {_segments} segments, {_samples:N0} samples, {Targets * SeriesPerTarget:N0} series");
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark(Description = "Open (WAL replay), ~1 GiB of WAL")]
    public long Open()
    {
        Mark();
        _db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = _dir, CompactionInterval = TimeSpan.Zero, WalFsyncPolicy = WalFsyncPolicy.None });
        return _db.GetStatistics().WalSamplesReplayed;
    }

    [Benchmark(Description = "OpenReadOnly (WAL replay), ~1 GiB of WAL")]
    public long OpenReadOnly()
    {
        Mark();
        _db = TimeSeriesDatabase.OpenReadOnly(new TsdbOptions { Directory = _dir });
        return _db.GetStatistics().WalSamplesReplayed;
    }

    private void Mark()
    {
        _cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        _gcPauseBefore = GC.GetTotalPauseDuration();
        _gen2Before = GC.CollectionCount(2);
        _wallBefore = Stopwatch.GetTimestamp();
    }

    [IterationCleanup]
    public void Close()
    {
        if (_db is null)
        {
            return;
        }

        // CPU time of the whole process over the open: on a machine loaded by others, wall time mostly measures waiting.
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - _cpuBefore;
        var wall = Stopwatch.GetElapsedTime(_wallBefore);
        var stats = _db.GetStatistics();
        Console.WriteLine($"// open: wall {wall.TotalSeconds:F1} s ({stats.WalSamplesReplayed / wall.TotalSeconds / 1e6:F2} M samples/s), CPU {cpu.TotalSeconds:F1} s ({stats.WalSamplesReplayed / cpu.TotalSeconds / 1e6:F2} M samples per CPU-second), GC pauses {(GC.GetTotalPauseDuration() - _gcPauseBefore).TotalSeconds:F1} s, {GC.CollectionCount(2) - _gen2Before} gen-2 GCs");
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var managed = GC.GetTotalMemory(forceFullCollection: true);
        var workingSet = Environment.WorkingSet;
        Console.WriteLine($"// after open: {stats.HeadSeries:N0} series, {stats.WalSamplesReplayed:N0} of {_samples:N0} samples replayed, {stats.WalCorruptions} corruptions; managed heap {managed / (1 << 20)} MiB, working set {workingSet / (1 << 20)} MiB");
        _db.Dispose();
        _db = null;

        // The writable open started a new (empty) segment; remove it so every iteration opens the same WAL.
        foreach (var (index, path) in WalWriter.ListSegments(Path.Combine(_dir, "wal")))
        {
            if (index >= _segments)
            {
                File.Delete(path);
            }
        }
    }
}
