using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tool.Tests.Support;
using Metrics.Coordination.Tsdb;

namespace Metrics.Coordination.Tool.Tests;

/// <summary>
/// <c>mctl tsdb list|dump|analyze</c>, run as a process on a directory written through <see cref="TimeSeriesDatabase"/>
/// (two blocks and a head), compared with promtool 2.42 on the same directory where promtool has the same verb.
/// </summary>
[TestFixture]
public sealed class TsdbCommandTests
{
    private const long Start = 1_700_000_000_000;
    private const int SamplesPerSeries = 720; // 3 h at 15 s: two 2 h blocks after the flush.

    private static readonly Labels[] SeriesLabels =
    [
        Labels.FromStrings("__name__", "http_requests_total", "job", "api", "instance", "a:9090"),
        Labels.FromStrings("__name__", "http_requests_total", "job", "api", "instance", "b:9090"),
        Labels.FromStrings("__name__", "temperature", "job", "sensor", "room", "quote\"back\\slash\nnewline ü"),
    ];

    private string _dir = null!;
    private string _db = null!;

    [OneTimeSetUp]
    public void CreateDatabase()
    {
        _dir = Directory.CreateTempSubdirectory("mctl-tsdb-tests-").FullName;
        _db = Path.Combine(_dir, "data");
        using var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = _db, CompactionInterval = TimeSpan.Zero, WalFsyncPolicy = WalFsyncPolicy.None });
        var app = db.Appender();
        for (var i = 0; i < SamplesPerSeries; i++)
        {
            var t = Start + (i * 15_000L);
            app.Append(new AppendRequest { Labels = SeriesLabels[0], TimestampMs = t, Value = i * 3 });
            app.Append(new AppendRequest { Labels = SeriesLabels[1], TimestampMs = t, Value = (i * 0.25) + 1e6 });
            app.Append(new AppendRequest { Labels = SeriesLabels[2], TimestampMs = t, Value = i % 100 == 99 ? double.NaN : 20 + (i % 7 * 1e-7) });
        }

        app.Commit();
        db.Compact(flushHead: true).Should().BeGreaterThanOrEqualTo(2);

        // A few samples stay in the head (WAL only): dump must include them, as promtool's does.
        var head = db.Appender();
        head.Append(new AppendRequest { Labels = SeriesLabels[0], TimestampMs = Start + (SamplesPerSeries * 15_000L) + 3_600_000, Value = 12345678 });
        head.Commit();
    }

    [OneTimeTearDown]
    public void DeleteTempDir() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task List_PrintsEveryBlockLikePromtool()
    {
        var mctl = await ToolProcess.RunMctlAsync(null, "tsdb", "list", _db);
        var promtool = await Promtool.TsdbAsync("list", _db);

        mctl.ExitCode.Should().Be(0, mctl.ToString());
        promtool.ExitCode.Should().Be(0, promtool.ToString());
        mctl.StdOut.Should().Be(promtool.StdOut);
        var rows = mctl.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        rows[0].Should().StartWith("BLOCK ULID");
        rows.Skip(1).Sum(r => long.Parse(r.Split(' ', StringSplitOptions.RemoveEmptyEntries)[4], System.Globalization.CultureInfo.InvariantCulture))
            .Should().Be(SamplesPerSeries * 3);
    }

    [Test]
    public async Task List_HumanReadable_MatchesPromtool()
    {
        var mctl = await ToolProcess.RunMctlAsync(null, "tsdb", "list", "--human-readable", _db);
        var promtool = await Promtool.TsdbAsync("list", "-r", _db);

        mctl.ExitCode.Should().Be(0, mctl.ToString());
        mctl.StdOut.Should().Be(promtool.StdOut);
    }

    [Test]
    public async Task Dump_EqualsPromtoolsDump()
    {
        var mctl = await ToolProcess.RunMctlAsync(null, "tsdb", "dump", _db);
        var promtool = await Promtool.TsdbAsync("dump", _db);

        mctl.ExitCode.Should().Be(0, mctl.ToString());
        promtool.ExitCode.Should().Be(0, promtool.ToString());
        mctl.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount((SamplesPerSeries * 3) + 1);
        mctl.StdOut.Should().Be(promtool.StdOut);
    }

    [TestCase("{job=\"sensor\"}")]
    [TestCase("http_requests_total{instance=~\"b.*\"}")]
    public async Task Dump_WithMatchAndTimeRange_EqualsPromtoolsDump(string selector)
    {
        string[] args = ["--match=" + selector, $"--min-time={Start + 600_000}", $"--max-time={Start + 1_200_000}", _db];
        var mctl = await ToolProcess.RunMctlAsync(null, ["tsdb", "dump", .. args]);
        var promtool = await Promtool.TsdbAsync(["dump", .. args]);

        mctl.ExitCode.Should().Be(0, mctl.ToString());
        mctl.StdOut.Should().NotBeEmpty();
        mctl.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(41);
        mctl.StdOut.Should().Be(promtool.StdOut);
    }

    [Test]
    public async Task Dump_BadSelector_IsAUsageError()
    {
        var result = await ToolProcess.RunMctlAsync(null, "tsdb", "dump", "--match={job=", _db);

        result.ExitCode.Should().Be(2, result.ToString());
        result.StdErr.Should().Contain("invalid selector");
    }

    [Test]
    public async Task MissingDirectory_ExitsOne()
    {
        var result = await ToolProcess.RunMctlAsync(null, "tsdb", "list", Path.Combine(_dir, "nope"));

        result.ExitCode.Should().Be(1, result.ToString());
        result.StdErr.Should().Contain("no such directory");
    }

    [Test]
    public async Task Analyze_ReportsCountsAndCardinality()
    {
        var result = await ToolProcess.RunMctlAsync(null, "tsdb", "analyze", _db);

        result.ExitCode.Should().Be(0, result.ToString());
        var lines = result.StdOut.Split('\n');
        lines.Should().Contain("Series: 3");
        lines.Should().Contain($"Samples: {(SamplesPerSeries * 3) + 1}");
        lines.Should().Contain($"Block samples: {SamplesPerSeries * 3}");
        lines.Should().Contain(l => l.StartsWith("Bytes per sample: ", StringComparison.Ordinal) && l != "Bytes per sample: n/a");
        lines.Should().Contain("Label names: 4");
        var labels = Array.IndexOf(lines, "Highest cardinality labels:");
        labels.Should().BePositive();
        lines[labels + 1].Should().Be("2 __name__");
        lines.Should().Contain("1 room");
        var metrics = Array.IndexOf(lines, "Highest cardinality metric names:");
        lines[metrics + 1].Should().Be("2 http_requests_total");
        lines[metrics + 2].Should().Be("1 temperature");
    }
}
