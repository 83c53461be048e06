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
            var mark = WalOpenBenchmarks.OpenFigures.Start();
            using (var db = readOnly
                ? TimeSeriesDatabase.OpenReadOnly(new TsdbOptions { Directory = dir })
                : TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir, CompactionInterval = TimeSpan.Zero, WalFsyncPolicy = WalFsyncPolicy.None }))
            {
                mark.Report(db, samples);
            }

            WalOpenBenchmarks.RemoveNewSegments(dir, segments);
        }

        return 0;
    }
}
