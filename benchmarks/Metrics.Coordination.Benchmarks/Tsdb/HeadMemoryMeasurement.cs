using System.Diagnostics;
using System.Globalization;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tsdb;

namespace Metrics.Coordination.Benchmarks.Tsdb;

/// <summary>
/// Head memory per active series (issue 5: ≤ 1 KiB at 1 M series, everything included). Not a BenchmarkDotNet
/// benchmark: one process per series count, run as
/// <c>dotnet benchmarks/Metrics.Coordination.Benchmarks/bin/Release/net10.0/Metrics.Coordination.Benchmarks.dll head-memory 1000000</c>.
/// </summary>
/// <remarks>
/// <para>
/// Series look like node_exporter / Kubernetes scrapes: <c>__name__</c> (100 names) plus <c>job</c> (5 values),
/// <c>namespace</c> (20), <c>instance</c> and <c>pod</c> (unique per target) and one per-metric label (5 values);
/// <c>--series-per-target</c> (default 500) sets how many series share a target (1 = every series has its own
/// instance and pod strings: the worst case for symbols). Values: 60 % counters, 25 % two-decimal gauges, 15 % slow
/// counters (histogram buckets); 60 samples 15 s apart, so each series has one open chunk of 60 samples. Appends go
/// through the public appender, one commit per target as a scrape loop does, series refs cached after the first scrape.
/// </para>
/// <para>
/// Reported: (GC.GetTotalMemory(true) after − before) / N, where "before" is an empty in-memory database and the
/// generator's own per-series state (allocated before); everything the database holds is in "after": series objects,
/// chunk buffers, label sets, interned strings (symbols), the series hash table and ref pages, the postings index.
/// Also the process working-set delta (includes GC heap growth slack and freed-but-kept segments), and the GC's
/// fragmentation and heap size after a compacting full collection.
/// </para>
/// </remarks>
internal static class HeadMemoryMeasurement
{
    private const int Samples = 60;
    private const long IntervalMs = 15_000;
    private const long Start = 1_700_006_400_000; // a 2 h boundary: the 60 samples (15 min) stay in one chunk

    private static readonly string[] Jobs = ["node", "api", "db", "cache", "worker"];
    private static readonly string[] Subsystems = ["cpu", "memory", "disk", "network", "filesystem", "netstat", "vmstat", "sockstat", "schedstat", "pressure"];
    private static readonly string[] Stats = ["seconds_total", "bytes", "bytes_total", "packets_total", "errors_total", "drops_total", "io_time_seconds_total", "reads_completed_total", "writes_completed_total", "info"];
    private static readonly string[] ExtraNames = ["cpu", "type", "device", "device", "mountpoint", "protocol", "kind", "proto", "cpu", "resource"];
    private static readonly string[][] ExtraValues =
    [
        ["0", "1", "2", "3", "4"], ["active", "inactive", "cached", "buffers", "free"], ["sda", "sdb", "nvme0n1", "nvme1n1", "dm-0"],
        ["eth0", "eth1", "lo", "docker0", "cni0"], ["/", "/var", "/data", "/tmp", "/boot"], ["Tcp", "Udp", "Ip", "Icmp", "TcpExt"],
        ["pgfault", "pgmajfault", "pswpin", "pswpout", "oom_kill"], ["tcp", "udp", "raw", "frag", "unix"], ["0", "1", "2", "3", "4"],
        ["cpu", "io", "memory", "irq", "some"],
    ];

    public static int Run(string[] args)
    {
        if (args.Length < 1 || !int.TryParse(args[0], CultureInfo.InvariantCulture, out var n) || n <= 0)
        {
            Console.Error.WriteLine("usage: head-memory <series> [--series-per-target N]");
            return 2;
        }

        var perTarget = 500;
        for (var i = 1; i < args.Length - 1; i++)
        {
            if (args[i] == "--series-per-target")
            {
                perTarget = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            }
        }

        // Generator state, allocated before the baseline.
        var refs = new SeriesRef[n];
        var values = new double[n];
        var kinds = new byte[n];
        var random = new Random(42);
        for (var i = 0; i < n; i++)
        {
            var r = random.Next(100);
            kinds[i] = (byte)(r < 60 ? 0 : r < 85 ? 1 : 2);
            values[i] = kinds[i] == 1 ? random.Next(10_000) / 100.0 : random.Next(1_000_000);
        }

        using var process = Process.GetCurrentProcess();
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var before = GC.GetTotalMemory(forceFullCollection: true);
        process.Refresh();
        var wsBefore = process.WorkingSet64;
        var clock = Stopwatch.StartNew();

        for (var k = 0; k < Samples; k++)
        {
            var t = Start + (k * IntervalMs);
            for (var first = 0; first < n; first += perTarget)
            {
                var app = db.Appender();
                var end = Math.Min(n, first + perTarget);
                for (var i = first; i < end; i++)
                {
                    values[i] = Next(random, kinds[i], values[i]);
                    var labels = refs[i].IsSet ? null : SeriesLabels(i, perTarget);
                    refs[i] = app.Append(new AppendRequest { Ref = refs[i], Labels = labels!, TimestampMs = t, Value = values[i] });
                }

                app.Commit();
            }
        }

        var elapsed = clock.Elapsed;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        process.Refresh();
        var wsAfter = process.WorkingSet64;
        var stats = db.GetStatistics();

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"series={n} seriesPerTarget={perTarget} samplesPerSeries={Samples} headSeries={stats.HeadSeries} samplesAppended={stats.SamplesAppended} appendSeconds={elapsed.TotalSeconds:F1}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"managed bytes/series (GC.GetTotalMemory(true) delta) = {(after - before) / (double)n:F1}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"working set bytes/series (process delta)           = {(wsAfter - wsBefore) / (double)n:F1}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"GC after compacting full: heap {info.HeapSizeBytes / 1048576.0:F1} MiB, fragmented {info.FragmentedBytes / 1048576.0:F1} MiB, committed {info.TotalCommittedBytes / 1048576.0:F1} MiB"));
        long capacity = 0, length = 0;
        foreach (var series in db.Head.Series.All())
        {
            var (c, l) = series.OpenChunkBytes;
            capacity += c;
            length += l;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"open chunk per series: {length / (double)n:F1} B of data in {capacity / (double)n:F1} B arrays (+24 B array header each)"));
        GC.KeepAlive(refs);
        GC.KeepAlive(values);
        return 0;
    }

    private static double Next(Random random, byte kind, double value) => kind switch
    {
        // Counters: Poisson-like increments (a quarter of scrapes see none).
        0 => value + (random.Next(4) == 0 ? 0 : random.Next(1, 40)),

        // Gauges: a two-decimal random walk (changes every scrape: the expensive case for XOR).
        1 => Math.Round(value + ((random.NextDouble() - 0.5) * 3), 2),

        // Histogram buckets: slow counters.
        _ => value + (random.Next(3) == 0 ? random.Next(1, 5) : 0),
    };

    private static Labels SeriesLabels(int i, int perTarget)
    {
        var target = i / perTarget;
        var j = i % perTarget;
        var metric = (j / 5) % 100;
        var sub = metric / 10;
        var job = Jobs[target % Jobs.Length];
        return Labels.FromStrings(
            Labels.MetricName, "node_" + Subsystems[sub] + "_" + Stats[metric % 10],
            "job", job,
            "namespace", "team-" + (target % 20).ToString("D2", CultureInfo.InvariantCulture),
            "instance", job + "-" + target.ToString("D7", CultureInfo.InvariantCulture) + ".prod.internal:9100",
            "pod", job + "-" + ((uint)(target * 2654435761u)).ToString("x8", CultureInfo.InvariantCulture) + "-" + (target % 97).ToString("D5", CultureInfo.InvariantCulture),
            ExtraNames[sub], ExtraValues[sub][(j % 5 + (j / 500)) % 5] + (j >= 500 ? "-" + (j / 500).ToString(CultureInfo.InvariantCulture) : string.Empty));
    }
}
