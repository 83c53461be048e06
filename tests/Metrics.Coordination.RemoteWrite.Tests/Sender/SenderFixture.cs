using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb;

namespace Metrics.Coordination.RemoteWrite.Tests.Sender;

/// <summary>Helpers: a WAL-backed database in a temp dir and a deterministic workload.</summary>
public static class Workload
{
    public static TimeSeriesDatabase OpenDatabase(TempDirectory dir, int walSegmentSize = 128 * 1024) =>
        TimeSeriesDatabase.Open(new TsdbOptions
        {
            Directory = dir.Combine("tsdb"),
            WalFsyncPolicy = WalFsyncPolicy.None,
            WalSegmentSize = walSegmentSize,
            CompactionInterval = TimeSpan.Zero,
        });

    public static Labels SeriesLabels(int i) =>
        Labels.FromStrings("__name__", "rw_test_total", "series", i.ToString(System.Globalization.CultureInfo.InvariantCulture), "job", "rw");

    public static double Value(int series, int step) => (series * 1000) + step + 0.25;

    /// <summary>Appends steps [from, to) for <paramref name="series"/> series, one commit per step, 1 s apart from <paramref name="baseT"/>.</summary>
    public static void Append(TimeSeriesDatabase db, int series, int from, int to, long baseT)
    {
        for (var step = from; step < to; step++)
        {
            var app = db.Appender();
            for (var s = 0; s < series; s++)
            {
                app.Append(new AppendRequest { Labels = SeriesLabels(s), TimestampMs = baseT + (step * 1000L), Value = Value(s, step) });
            }

            app.Commit();
        }
    }

    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> describe)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"Condition not met within {timeout.TotalSeconds:0} s: {describe()}");
            }

            await Task.Delay(50);
        }
    }
}
