using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tool.Tests.Support;
using Metrics.Coordination.Tsdb;

namespace Metrics.Coordination.Tool.Tests;

/// <summary>
/// <c>mctl query instant|range</c>, run as a process on a directory written through <see cref="TimeSeriesDatabase"/>;
/// output lines in promtool's <c>query</c> format (<c>model.Value.String()</c>).
/// </summary>
[TestFixture]
public sealed class QueryCommandTests
{
    private const long Start = 1_700_000_000_000;
    private const string At = "1700000600"; // Start + 10 min, the last sample.

    private string _dir = null!;
    private string _db = null!;

    [OneTimeSetUp]
    public void CreateDatabase()
    {
        _dir = Directory.CreateTempSubdirectory("mctl-query-tests-").FullName;
        _db = Path.Combine(_dir, "data");
        using var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = _db, CompactionInterval = TimeSpan.Zero, WalFsyncPolicy = WalFsyncPolicy.None });
        var app = db.Appender();
        for (var i = 0; i <= 40; i++)
        {
            var t = Start + (i * 15_000L);
            app.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "http_requests_total", "job", "api", "instance", "a:9090"), TimestampMs = t, Value = i * 10 });
            app.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "http_requests_total", "job", "api", "instance", "b:9090"), TimestampMs = t, Value = i * 5 });
            app.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "temperature", "job", "sensor", "room", "hall \"1\""), TimestampMs = t, Value = 20.5 });
        }

        app.Commit();
    }

    [OneTimeTearDown]
    public void DeleteTempDir() => Directory.Delete(_dir, recursive: true);

    private static string[] Lines(ProcessResult result) => result.StdOut.Split('\n')[..^1];

    [Test]
    public async Task Instant_Selector_PrintsOneLinePerSeries()
    {
        var result = await ToolProcess.RunMctlAsync(null, "query", "instant", "--data", _db, "--time=" + At, "http_requests_total");

        result.ExitCode.Should().Be(0, result.ToString());
        Lines(result).Should().Equal(
            $"http_requests_total{{instance=\"a:9090\", job=\"api\"}} => 400 @[{At}]",
            $"http_requests_total{{instance=\"b:9090\", job=\"api\"}} => 200 @[{At}]");
    }

    [Test]
    public async Task Instant_QuotesLabelValuesAndAcceptsRfc3339()
    {
        var result = await ToolProcess.RunMctlAsync(null, "query", "instant", "--data", _db, "--time=2023-11-14T22:23:20Z", "temperature");

        result.ExitCode.Should().Be(0, result.ToString());
        Lines(result).Should().Equal($"temperature{{job=\"sensor\", room=\"hall \\\"1\\\"\"}} => 20.5 @[{At}]");
    }

    [Test]
    public async Task Instant_SumBy()
    {
        var result = await ToolProcess.RunMctlAsync(null, "query", "instant", "--data", _db, "--time=" + At, "sum by (job) (http_requests_total)");

        result.ExitCode.Should().Be(0, result.ToString());
        Lines(result).Should().Equal($"{{job=\"api\"}} => 600 @[{At}]");
    }

    [Test]
    public async Task Instant_RateOverACounter()
    {
        var result = await ToolProcess.RunMctlAsync(null, "query", "instant", "--data", _db, "--time=" + At, "rate(http_requests_total{instance=\"a:9090\"}[5m]) * 60");

        result.ExitCode.Should().Be(0, result.ToString());
        Lines(result).Should().Equal($"{{instance=\"a:9090\", job=\"api\"}} => 40 @[{At}]");
    }

    [Test]
    public async Task Instant_Scalar()
    {
        var result = await ToolProcess.RunMctlAsync(null, "query", "instant", "--data", _db, "--time=1700000600.5", "scalar(sum(http_requests_total)) / 4");

        result.ExitCode.Should().Be(0, result.ToString());
        Lines(result).Should().Equal("scalar: 150 @[1700000600.5]");
    }

    [Test]
    public async Task Instant_EmptyVector_PrintsAnEmptyLine()
    {
        var result = await ToolProcess.RunMctlAsync(null, "query", "instant", "--data", _db, "--time=" + At, "nope");

        result.ExitCode.Should().Be(0, result.ToString());
        result.StdOut.Should().Be("\n");
    }

    [Test]
    public async Task Range_WithStep_PrintsEachSeriesThenItsPoints()
    {
        var result = await ToolProcess.RunMctlAsync(
            null, "query", "range", "--data", _db, "--start=1700000540", "--end=" + At, "--step=30s", "sum by (instance) (http_requests_total)");

        result.ExitCode.Should().Be(0, result.ToString());
        Lines(result).Should().Equal(
            "{instance=\"a:9090\"} =>",
            "360 @[1700000540]",
            "380 @[1700000570]",
            "400 @[1700000600]",
            "{instance=\"b:9090\"} =>",
            "180 @[1700000540]",
            "190 @[1700000570]",
            "200 @[1700000600]");
    }

    [Test]
    public async Task Range_StepInSeconds()
    {
        var result = await ToolProcess.RunMctlAsync(
            null, "query", "range", "--data", _db, "--start=1700000570", "--end=" + At, "--step=15", "temperature - 0.5");

        result.ExitCode.Should().Be(0, result.ToString());
        Lines(result).Should().Equal(
            "{job=\"sensor\", room=\"hall \\\"1\\\"\"} =>",
            "20 @[1700000570]",
            "20 @[1700000585]",
            "20 @[1700000600]");
    }

    [Test]
    public async Task ParseError_PrintsPositionAndMessage_ExitsOne()
    {
        var result = await ToolProcess.RunMctlAsync(null, "query", "instant", "--data", _db, "--time=" + At, "sum(http_requests_total");

        result.ExitCode.Should().Be(1, result.ToString());
        result.StdOut.Should().BeEmpty();
        result.StdErr.Should().MatchRegex(@"^mctl query instant: error: 1:\d+: parse error: .+");
    }

    [TestCase("instant", "up")]
    [TestCase("instant", "--data", "DB", "--time=yesterday", "up")]
    [TestCase("range", "--data", "DB", "--start=1700000600", "--end=1700000000", "up")]
    [TestCase("range", "--data", "DB", "--step=fast", "up")]
    [TestCase("range", "--data", "DB", "--step=0s", "up")]
    public async Task BadArguments_ExitTwo(params string[] args)
    {
        var result = await ToolProcess.RunMctlAsync(null, ["query", .. args.Select(a => a == "DB" ? _db : a)]);

        result.ExitCode.Should().Be(2, result.ToString());
        result.StdErr.Should().Contain("error:");
    }

    [Test]
    public async Task MissingDirectory_ExitsOne()
    {
        var result = await ToolProcess.RunMctlAsync(null, "query", "instant", "--data", Path.Combine(_dir, "nope"), "up");

        result.ExitCode.Should().Be(1, result.ToString());
        result.StdErr.Should().Contain("no such directory");
    }
}
