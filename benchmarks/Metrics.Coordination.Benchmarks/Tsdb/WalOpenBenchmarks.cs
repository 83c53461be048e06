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
    private int _segments;
    private TimeSeriesDatabase? _db;
    private OpenFigures _mark;

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
        (_samples, _segments) = BuildWal(_dir, WalBytes);
    }

    /// <summary>
    /// Writes the scrape-shaped WAL (see the class summary) into <paramref name="dir"/>/wal until it passes
    /// <paramref name="walBytes"/>; returns the samples written and the number of segments.
    /// </summary>
    internal static (long Samples, int Segments) BuildWal(string dir, long walBytes)
    {
        var watch = Stopwatch.StartNew();
        var walDir = Path.Combine(dir, "wal");
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
        long written = 0, bytes = 0;
        int segments;
        using (var writer = WalWriter.Open(walDir, TsdbOptions.DefaultWalSegmentSize))
        {
            for (var scrape = 0; bytes < walBytes; scrape++)
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
                    written += SeriesPerTarget;
                }

                bytes = writer.Flush();
            }

            segments = writer.CurrentSegment + 1;
        }

        Console.WriteLine($"// WAL built in {watch.Elapsed.TotalSeconds:F1} s: {bytes / (1 << 20)} MiB in {segments} segments, {written:N0} samples, {Targets * SeriesPerTarget:N0} series");
        return (written, segments);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark(Description = "Open (WAL replay), ~1 GiB of WAL")]
    public long Open()
    {
        _mark = OpenFigures.Start();
        _db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = _dir, CompactionInterval = TimeSpan.Zero, WalFsyncPolicy = WalFsyncPolicy.None });
        return _db.GetStatistics().WalSamplesReplayed;
    }

    [Benchmark(Description = "OpenReadOnly (WAL replay), ~1 GiB of WAL")]
    public long OpenReadOnly()
    {
        _mark = OpenFigures.Start();
        _db = TimeSeriesDatabase.OpenReadOnly(new TsdbOptions { Directory = _dir });
        return _db.GetStatistics().WalSamplesReplayed;
    }

    [IterationCleanup]
    public void Close()
    {
        if (_db is null)
        {
            return;
        }

        _mark.Report(_db, _samples);
        _db.Dispose();
        _db = null;
        RemoveNewSegments(_dir, _segments);
    }

    /// <summary>The writable open started a new (empty) segment; remove it so every iteration opens the same WAL.</summary>
    internal static void RemoveNewSegments(string dir, int segments)
    {
        foreach (var (index, path) in WalWriter.ListSegments(Path.Combine(dir, "wal")))
        {
            if (index >= segments)
            {
                File.Delete(path);
            }
        }
    }

    /// <summary>Process-wide counters at the start of an open, and the figures printed after it.</summary>
    internal readonly record struct OpenFigures(TimeSpan Cpu, long Wall, TimeSpan GcPause, int Gen0, int Gen1, int Gen2, long Allocated)
    {
        public static OpenFigures Start() => new(
            Process.GetCurrentProcess().TotalProcessorTime, Stopwatch.GetTimestamp(), GC.GetTotalPauseDuration(),
            GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalAllocatedBytes(precise: true));

        /// <summary>Prints the open's figures, then (after full collections) the memory the open database holds.</summary>
        public void Report(TimeSeriesDatabase db, long samplesWritten)
        {
            // CPU time of the whole process over the open (all threads, GC included): on a machine loaded by others,
            // wall time mostly measures waiting.
            var wall = Stopwatch.GetElapsedTime(Wall);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - Cpu;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - Allocated;
            var stats = db.GetStatistics();
            var n = stats.WalSamplesReplayed;
            Console.WriteLine(FormattableString.Invariant(
                $"// open: wall {wall.TotalSeconds:F2} s ({n / wall.TotalSeconds / 1e6:F2} M samples/s), CPU {cpu.TotalSeconds:F2} s ({n / cpu.TotalSeconds / 1e6:F2} M samples per CPU-second), GC pauses {(GC.GetTotalPauseDuration() - GcPause).TotalSeconds:F2} s, GCs gen0/1/2 {GC.CollectionCount(0) - Gen0}/{GC.CollectionCount(1) - Gen1}/{GC.CollectionCount(2) - Gen2}, allocated {allocated / (1 << 20):N0} MiB, load {LoadAverage()}"));
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var managed = GC.GetTotalMemory(forceFullCollection: true);
            Console.WriteLine(FormattableString.Invariant(
                $"// after open: {stats.HeadSeries:N0} series, {n:N0} of {samplesWritten:N0} samples replayed, {stats.WalCorruptions} corruptions; managed heap {managed / (1 << 20)} MiB, working set {Environment.WorkingSet / (1 << 20)} MiB, peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / (1 << 20)} MiB"));
        }

        private static string LoadAverage()
        {
            try
            {
                return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
            }
            catch (IOException)
            {
                return "?";
            }
        }
    }
}
