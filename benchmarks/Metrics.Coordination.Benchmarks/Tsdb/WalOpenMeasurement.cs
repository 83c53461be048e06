using System.Globalization;
using Metrics.Coordination.Tsdb;

namespace Metrics.Coordination.Benchmarks.Tsdb;

/// <summary>
/// The <see cref="WalOpenBenchmarks"/> open outside BenchmarkDotNet, on a WAL kept between runs (so a quiet-machine
/// window is spent opening, not building): <c>wal-open DIR [--mib 1024] [--opens 3] [--read-only]</c> builds the
/// scrape-shaped WAL in DIR if DIR has none, then opens it the given number of times, printing the same figures.
/// </summary>
internal static class WalOpenMeasurement
{
    public static int Run(string[] args)
    {
        if (args.Length < 1)
        {
            Console.Error.WriteLine("usage: wal-open DIR [--mib 1024] [--opens 3] [--read-only]");
            return 2;
        }

        var dir = args[0];
        long mib = 1024;
        var opens = 3;
        var readOnly = false;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--mib":
                    mib = long.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--opens":
                    opens = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--read-only":
                    readOnly = true;
                    break;
                default:
                    Console.Error.WriteLine($"unknown argument {args[i]}");
                    return 2;
            }
        }

        var marker = Path.Combine(dir, "samples-written");
        if (!File.Exists(marker))
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }

            var (written, segmentCount) = WalOpenBenchmarks.BuildWal(dir, mib << 20);
            File.WriteAllText(marker, FormattableString.Invariant($"{written} {segmentCount}"));
        }

        var parts = File.ReadAllText(marker).Split(' ');
        var samples = long.Parse(parts[0], CultureInfo.InvariantCulture);
        var segments = int.Parse(parts[1], CultureInfo.InvariantCulture);
        for (var i = 0; i < opens; i++)
        {
            OpenOnce(dir, readOnly, samples);
            WalOpenBenchmarks.RemoveNewSegments(dir, segments);
        }

        return 0;
    }

    /// <summary>
    /// One open and its figures, in its own frame: a database held by a local of the caller's loop stayed reachable
    /// (unoptimized code reports the slot live), so the next open ran beside the previous head.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void OpenOnce(string dir, bool readOnly, long samples)
    {
        var threadsBefore = ThreadCpu();
        var mark = WalOpenBenchmarks.OpenFigures.Start();
        using var db = readOnly
            ? TimeSeriesDatabase.OpenReadOnly(new TsdbOptions { Directory = dir })
            : TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir, CompactionInterval = TimeSpan.Zero, WalFsyncPolicy = WalFsyncPolicy.None });
        var threadsAfter = ThreadCpu();
        mark.Report(db, samples);
        var split = threadsAfter.Select(kv => (Name: kv.Key, Cpu: kv.Value - threadsBefore.GetValueOrDefault(kv.Key))).Where(x => x.Cpu > 0.05).OrderByDescending(x => x.Cpu);
        Console.WriteLine("// CPU by thread (s): " + string.Join(", ", split.Select(x => FormattableString.Invariant($"{x.Name} {x.Cpu:F2}"))));
    }

    /// <summary>CPU seconds per thread (Linux /proc; empty elsewhere), keyed by thread id and name: the open's reading thread versus the replay workers and the GC.</summary>
    private static Dictionary<string, double> ThreadCpu()
    {
        var cpu = new Dictionary<string, double>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var close = stat.LastIndexOf(')');
                var name = stat[(stat.IndexOf('(') + 1)..close];
                var fields = stat[(close + 2)..].Split(' ');

                // utime and stime are fields 14 and 15 of stat (1-based), in clock ticks (100 per second on Linux).
                cpu[Path.GetFileName(task) + ":" + name] = (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return cpu;
    }
}
