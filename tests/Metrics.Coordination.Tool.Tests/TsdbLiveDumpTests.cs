using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tool.Tests.Support;
using Metrics.Coordination.Tsdb;
using Promtool = Metrics.Coordination.Tool.Tests.Support.Promtool;

namespace Metrics.Coordination.Tool.Tests;

/// <summary>
/// <c>mctl tsdb dump</c> on the data directory of a running writer (the TSDB crash helper in a child process, paced to
/// ~100 commits/s with a 1 min block range, so it cuts blocks, checkpoints its WAL and compacts blocks every few
/// seconds while the dumps run): each dump shows every batch acknowledged before it started, the writer keeps
/// committing and its data is intact on reopen, and promtool 2.42's dump of the block part is identical.
/// </summary>
[TestFixture]
[Category("Integration")]
public sealed partial class TsdbLiveDumpTests
{
    private const long Start = 1_699_999_200_000; // the crash helper's first timestamp; batch b is at Start + b s
    private const int Series = 20;
    private const long BlockMs = 60_000;
    private static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(90);

    [Test]
    public async Task Dump_WhileAWriterAppends_ShowsEveryEarlierCommitAndLeavesTheWriterWorking()
    {
        using var dir = new TempDirectory("live-dump");
        var helper = Path.Combine(AppContext.BaseDirectory, "Metrics.Coordination.Tsdb.CrashHelper.dll");
        File.Exists(helper).Should().BeTrue("the crash helper is built next to the tests");
        var start = new ProcessStartInfo(ToolProcess.DotnetHost, ["exec", helper, dir.Path, "Interval", Series.ToString(CultureInfo.InvariantCulture), "65536", BlockMs.ToString(CultureInfo.InvariantCulture), "10"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var writer = Process.Start(start)!;
        var acked = -1L;
        var blocksCut = 0;
        var stderr = writer.StandardError.ReadToEndAsync();
        var lines = Task.Run(async () =>
        {
            while (await writer.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("C ", StringComparison.Ordinal))
                {
                    Volatile.Write(ref acked, long.Parse(line[2..], CultureInfo.InvariantCulture));
                }
                else if (line.StartsWith("B ", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref blocksCut);
                }
            }
        });

        try
        {
            await WaitForAsync(() => Volatile.Read(ref acked) >= 200 && Volatile.Read(ref blocksCut) >= 2, "the writer acknowledged 200 batches and cut blocks", writer, stderr);
            for (var round = 0; round < 3; round++)
            {
                var before = Volatile.Read(ref acked);
                var dump = await ToolProcess.RunMctlAsync(null, "tsdb", "dump", dir.Path);
                dump.ExitCode.Should().Be(0, dump.ToString());
                var batches = CheckContiguous(dump.StdOut);
                ((long)batches).Should().BeGreaterThan(before, $"round {round}: every batch acknowledged before the dump started ({before}) is in it");
                TestContext.Out.WriteLine($"round {round}: acknowledged {before} before, dumped batches 0..{batches - 1}; stderr: {dump.StdErr.Trim()}");
            }

            await ComparePromtoolOnBlockPartAsync(dir.Path);

            var afterDumps = Volatile.Read(ref acked);
            await WaitForAsync(() => Volatile.Read(ref acked) >= afterDumps + 50, "the writer keeps committing after the dumps", writer, stderr);
            writer.HasExited.Should().BeFalse();
        }
        finally
        {
            if (!writer.HasExited)
            {
                writer.Kill(entireProcessTree: true);
            }

            await writer.WaitForExitAsync();
            await lines;
        }

        var last = Volatile.Read(ref acked);
        using var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path, BlockDuration = TimeSpan.FromMilliseconds(BlockMs), CompactionInterval = TimeSpan.Zero });
        db.GetStatistics().BlocksCorrupt.Should().Be(0);
        var reopened = new Dictionary<int, List<(long T, double V)>>();
        using (var querier = db.Querier(long.MinValue, long.MaxValue))
        {
            foreach (var s in querier.Select(true, default, new LabelMatcher(Abstractions.MatchType.Equal, "__name__", "crash")))
            {
                var samples = new List<(long, double)>();
                var it = s.Iterator();
                while (it.Next())
                {
                    samples.Add((it.Timestamp, it.Value));
                }

                reopened.Add(int.Parse(s.Labels.Get("series"), CultureInfo.InvariantCulture), samples);
            }
        }

        ((long)Check(reopened)).Should().BeOneOf([last + 1, last + 2], $"the writer's data is intact: acknowledged up to {last} when it was killed");
    }

    /// <summary>
    /// Both dumps up to just before the newest block's end, so promtool reads blocks only (it replays the WAL only when
    /// the range reaches past the blocks); promtool reads blocks as they are, so one removed by the writer's compaction
    /// while promtool opened it fails that run: it is retried.
    /// </summary>
    private static async Task ComparePromtoolOnBlockPartAsync(string dir)
    {
        for (var attempt = 1; ; attempt++)
        {
            var maxt = NewestBlockEnd(dir) - 1;
            string[] args = [$"--max-time={maxt}", dir];
            var ours = await ToolProcess.RunMctlAsync(null, ["tsdb", "dump", .. args]);
            var theirs = await Promtool.TsdbAsync(["dump", .. args]);
            ours.ExitCode.Should().Be(0, ours.ToString());
            if (theirs.ExitCode != 0 && attempt < 5)
            {
                TestContext.Out.WriteLine($"promtool attempt {attempt} failed (the writer compacted under it): {theirs.StdErr.Trim()}");
                continue;
            }

            theirs.ExitCode.Should().Be(0, theirs.ToString());
            CheckContiguous(ours.StdOut).Should().Be((int)((maxt - Start) / 1000) + 1, "the block part covers every batch up to --max-time");
            ours.StdOut.Should().Be(theirs.StdOut, "promtool 2.42 reads the same samples from the same blocks");
            return;
        }
    }

    private static long NewestBlockEnd(string dir)
    {
        var newest = long.MinValue;
        foreach (var blockDir in Directory.EnumerateDirectories(dir))
        {
            try
            {
                using var meta = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(blockDir, "meta.json")));
                newest = Math.Max(newest, meta.RootElement.GetProperty("maxTime").GetInt64());
            }
            catch (IOException)
            {
                // Not a block, or removed by the writer meanwhile.
            }
        }

        newest.Should().BeGreaterThan(Start, "the writer has cut blocks");
        return newest;
    }

    /// <summary>Checks a dump holds, for each series, batches 0..n−1 with the crash helper's values; returns n (the same for all series).</summary>
    private static int CheckContiguous(string dump)
    {
        var bySeries = new Dictionary<int, List<(long T, double V)>>();
        foreach (var line in dump.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var m = DumpLine().Match(line);
            m.Success.Should().BeTrue($"'{line}' is a dump line");
            var series = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            if (!bySeries.TryGetValue(series, out var list))
            {
                bySeries[series] = list = [];
            }

            list.Add((long.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)));
        }

        return Check(bySeries);
    }

    /// <summary>Every series 0..Series−1 has batches 0..n−1 (any n, the same for all within one batch of each other); returns the smallest n.</summary>
    private static int Check(Dictionary<int, List<(long T, double V)>> bySeries)
    {
        bySeries.Keys.Should().BeEquivalentTo(Enumerable.Range(0, Series));
        foreach (var (series, samples) in bySeries)
        {
            for (var b = 0; b < samples.Count; b++)
            {
                samples[b].T.Should().Be(Start + (b * 1000L), $"series {series}: batches are contiguous from 0");
                samples[b].V.Should().Be((b * 1000.0) + series);
            }
        }

        var counts = bySeries.Values.Select(s => s.Count).ToList();
        counts.Max().Should().Be(counts.Min(), "a commit is atomic across its series, and a dump reads whole records");
        return counts.Min();
    }

    private static async Task WaitForAsync(Func<bool> condition, string what, Process writer, Task<string> stderr)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (writer.HasExited)
            {
                Assert.Fail($"the writer exited ({writer.ExitCode}) before: {what}\n{await stderr}");
            }

            if (deadline.Elapsed > WaitTimeout)
            {
                Assert.Fail($"timed out after {WaitTimeout.TotalSeconds} s waiting until {what}");
            }

            await Task.Delay(50);
        }
    }

    [GeneratedRegex("""^\{__name__="crash", series="(\d+)"\} (\S+) (\d+)$""")]
    private static partial Regex DumpLine();
}
