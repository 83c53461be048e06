using System.Text.RegularExpressions;
using Metrics.Coordination.Tool.Tests.Support;

namespace Metrics.Coordination.Tool.Tests;

/// <summary><c>mctl check metrics</c>, run as a process against stdin, files and HTTP endpoints.</summary>
[TestFixture]
public sealed class CheckMetricsCommandTests
{
    private string _dir = null!;

    [OneTimeSetUp]
    public void CreateTempDir() => _dir = Directory.CreateTempSubdirectory("mctl-tests-").FullName;

    [OneTimeTearDown]
    public void DeleteTempDir() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task Stdin_CleanText_ExitsZeroAndPrintsNothing()
    {
        var result = await ToolProcess.RunMctlAsync(Expositions.CleanText, "check", "metrics");

        result.ExitCode.Should().Be(0, result.ToString());
        result.StdOut.Should().BeEmpty();
        result.StdErr.Should().BeEmpty();
    }

    [Test]
    public async Task Stdin_Empty_ExitsZero()
    {
        var result = await ToolProcess.RunMctlAsync(string.Empty, "check", "metrics");

        result.ExitCode.Should().Be(0, result.ToString());
    }

    [Test]
    public async Task Stdin_ManyProblems_PrintsPromtoolsLinesInPromtoolsOrderAndExitsThree()
    {
        var result = await ToolProcess.RunMctlAsync(Expositions.ManyProblems, "check", "metrics");

        result.ExitCode.Should().Be(3, result.ToString());
        result.StdOut.Should().Be(Expositions.ManyProblemsPromtoolOutput);
    }

    [Test]
    public async Task Stdin_ParseError_PrintsLineAndColumnToStderrAndExitsOne()
    {
        var result = await ToolProcess.RunMctlAsync(Expositions.BrokenText, "check", "metrics");

        result.ExitCode.Should().Be(1, result.ToString());
        result.StdOut.Should().BeEmpty();
        result.StdErr.Should().StartWith("error while linting");
        result.StdErr.Should().MatchRegex(@"line 3, column \d+");
    }

    [Test]
    public async Task Stdin_ParseErrorOnLaterLine_ReportsThatLine()
    {
        var input = Expositions.CleanText + "bad_metric{le=\"1\"} notanumber\n";
        var expectedLine = Expositions.CleanText.Count(c => c == '\n') + 1;

        var result = await ToolProcess.RunMctlAsync(input, "check", "metrics");

        result.ExitCode.Should().Be(1, result.ToString());
        result.StdErr.Should().MatchRegex($@"line {expectedLine}, column \d+");
    }

    [Test]
    public async Task Stdin_OpenMetricsEndingInEof_IsParsedAsOpenMetrics()
    {
        // The exemplar is OpenMetrics-only syntax: read as Prometheus text it would not parse.
        var result = await ToolProcess.RunMctlAsync(Expositions.CleanOpenMetrics, "check", "metrics");

        result.ExitCode.Should().Be(0, result.ToString());
        result.StdOut.Should().BeEmpty();
    }

    [Test]
    public async Task Stdin_OpenMetricsCounterFamily_IsLintedUnderItsTotalName()
    {
        var input = "# TYPE jobs counter\njobs_total 3\n# EOF\n";

        var result = await ToolProcess.RunMctlAsync(input, "check", "metrics");

        result.ExitCode.Should().Be(3, result.ToString());
        result.StdOut.Should().Be("jobs_total no help text\n", "the counter is named by its series, and only the help is missing");
    }

    [Test]
    public async Task FormatText_OnOpenMetricsInput_OverridesDetectionAndFailsOnExemplar()
    {
        var result = await ToolProcess.RunMctlAsync(Expositions.CleanOpenMetrics, "check", "metrics", "--format", "text");

        result.ExitCode.Should().Be(1, result.ToString());
        result.StdErr.Should().MatchRegex(@"line 3, column \d+");
    }

    [Test]
    public async Task FormatOpenMetrics_OnTextWithoutEof_FailsBecauseOpenMetricsRequiresEof()
    {
        var result = await ToolProcess.RunMctlAsync(Expositions.CleanText, "check", "metrics", "--format=openmetrics");

        result.ExitCode.Should().Be(1, result.ToString());
        result.StdErr.Should().MatchRegex(@"line \d+, column \d+");
    }

    [Test]
    public async Task FormatOption_UnknownValue_IsAUsageError()
    {
        var result = await ToolProcess.RunMctlAsync(Expositions.CleanText, "check", "metrics", "--format", "protobuf");

        result.ExitCode.Should().Be(2, result.ToString());
        result.StdErr.Should().Contain("protobuf").And.Contain("usage: mctl check metrics");
    }

    [Test]
    public async Task File_Clean_ExitsZero()
    {
        var path = Path.Combine(_dir, "clean.prom");
        await File.WriteAllTextAsync(path, Expositions.CleanText);

        var result = await ToolProcess.RunMctlAsync(null, "check", "metrics", path);

        result.ExitCode.Should().Be(0, result.ToString());
        result.StdOut.Should().BeEmpty();
    }

    [Test]
    public async Task File_WithProblems_PrintsThemAndExitsThree()
    {
        var path = Path.Combine(_dir, "problems.prom");
        await File.WriteAllTextAsync(path, Expositions.ManyProblems);

        var result = await ToolProcess.RunMctlAsync(null, "check", "metrics", path);

        result.ExitCode.Should().Be(3, result.ToString());
        result.StdOut.Should().Be(Expositions.ManyProblemsPromtoolOutput);
    }

    [Test]
    public async Task File_ParseError_NamesTheFileLineAndColumn()
    {
        var path = Path.Combine(_dir, "broken.prom");
        await File.WriteAllTextAsync(path, Expositions.BrokenText);

        var result = await ToolProcess.RunMctlAsync(null, "check", "metrics", path);

        result.ExitCode.Should().Be(1, result.ToString());
        result.StdErr.Should().Contain(path).And.MatchRegex(@"line 3, column \d+");
    }

    [Test]
    public async Task File_OpenMetrics_IsDetectedByItsEofLine()
    {
        var path = Path.Combine(_dir, "clean.om");
        await File.WriteAllTextAsync(path, Expositions.CleanOpenMetrics);

        var result = await ToolProcess.RunMctlAsync(null, "check", "metrics", path);

        result.ExitCode.Should().Be(0, result.ToString());
    }

    [Test]
    public async Task File_Missing_ExitsOneWithMessage()
    {
        var path = Path.Combine(_dir, "does-not-exist.prom");

        var result = await ToolProcess.RunMctlAsync(null, "check", "metrics", path);

        result.ExitCode.Should().Be(1, result.ToString());
        result.StdErr.Should().Contain("error reading").And.Contain("does-not-exist.prom");
    }

    [Test]
    public async Task Dash_ReadsStdin()
    {
        var result = await ToolProcess.RunMctlAsync(Expositions.ManyProblems, "check", "metrics", "-");

        result.ExitCode.Should().Be(3, result.ToString());
    }

    [Test]
    public async Task TwoPositionals_IsAUsageError()
    {
        var result = await ToolProcess.RunMctlAsync(null, "check", "metrics", "a.prom", "b.prom");

        result.ExitCode.Should().Be(2, result.ToString());
        result.StdErr.Should().Contain("b.prom");
    }

    [Test]
    [Category("Integration")]
    public async Task Url_Text_IsFetchedLikeAScrapeAndLinted()
    {
        await using var server = ExpositionHttpServer.Serving("text/plain; version=0.0.4; charset=utf-8", Expositions.ManyProblems);

        var result = await ToolProcess.RunMctlAsync(null, "check", "metrics", server.Url);

        result.ExitCode.Should().Be(3, result.ToString());
        result.StdOut.Should().Be(Expositions.ManyProblemsPromtoolOutput);
        server.Requests.Should().ContainSingle();
        var request = server.Requests.Single();
        request.Method.Should().Be("GET");
        request.Target.Should().Be("/metrics");
        request.Headers["Accept"].Should().StartWith("application/openmetrics-text;version=1.0.0")
            .And.Contain("text/plain;version=0.0.4;q=0.5");
        request.Headers["User-Agent"].Should().StartWith("mctl/");
    }

    [Test]
    [Category("Integration")]
    public async Task Url_OpenMetricsContentType_IsParsedAsOpenMetrics()
    {
        await using var server = ExpositionHttpServer.Serving("application/openmetrics-text; version=1.0.0; charset=utf-8", Expositions.CleanOpenMetrics);

        var result = await ToolProcess.RunMctlAsync(null, "check", "metrics", server.Url);

        result.ExitCode.Should().Be(0, result.ToString());
    }

    [Test]
    [Category("Integration")]
    public async Task Url_TextContentType_WinsOverEofSniffing()
    {
        // The server says text/plain, so the exemplar on line 3 is a syntax error even though the body ends in # EOF.
        await using var server = ExpositionHttpServer.Serving("text/plain; version=0.0.4", Expositions.CleanOpenMetrics);

        var result = await ToolProcess.RunMctlAsync(null, "check", "metrics", server.Url);

        result.ExitCode.Should().Be(1, result.ToString());
        result.StdErr.Should().Contain(server.Url).And.MatchRegex(@"line 3, column \d+");
    }

    [Test]
    [Category("Integration")]
    public async Task Url_ParseError_ReportsLineAndColumn()
    {
        await using var server = ExpositionHttpServer.Serving("text/plain; version=0.0.4", Expositions.BrokenText);

        var result = await ToolProcess.RunMctlAsync(null, "check", "metrics", server.Url);

        result.ExitCode.Should().Be(1, result.ToString());
        result.StdErr.Should().MatchRegex(@"line 3, column \d+");
    }

    [Test]
    [Category("Integration")]
    public async Task Url_NotFound_ExitsOneWithStatus()
    {
        await using var server = ExpositionHttpServer.Start(_ => new ServedResponse(404, "text/plain", "no metrics here\n"));

        var result = await ToolProcess.RunMctlAsync(null, "check", "metrics", server.Url);

        result.ExitCode.Should().Be(1, result.ToString());
        result.StdErr.Should().Contain("404");
    }

    [Test]
    [Category("Integration")]
    public async Task Url_NothingListening_ExitsOne()
    {
        int port;
        await using (var server = ExpositionHttpServer.Serving("text/plain", string.Empty))
        {
            port = server.Port;
        }

        var result = await ToolProcess.RunMctlAsync(null, "check", "metrics", $"http://127.0.0.1:{port}/metrics");

        result.ExitCode.Should().Be(1, result.ToString());
        result.StdErr.Should().Contain("error fetching");
    }

    [Test]
    public async Task Extended_Clean_PrintsPromtoolsCardinalityTable()
    {
        var result = await ToolProcess.RunMctlAsync(Expositions.CleanText, "check", "metrics", "--extended");

        result.ExitCode.Should().Be(0, result.ToString());
        result.StdOut.Should().Be(
            "Metric                           Cardinality    Percentage    \n" +
            "request_duration_seconds         5              41.67%        \n" +
            "rpc_duration_seconds             4              33.33%        \n" +
            "http_requests_total              2              16.67%        \n" +
            "process_resident_memory_bytes    1              8.33%         \n" +
            "Total                            12             100%          \n");
    }

    [Test]
    public async Task Extended_WithProblems_PrintsOnlyTheProblems()
    {
        var result = await ToolProcess.RunMctlAsync(Expositions.ManyProblems, "check", "metrics", "--extended");

        result.ExitCode.Should().Be(3, result.ToString());
        result.StdOut.Should().Be(Expositions.ManyProblemsPromtoolOutput);
    }

    [Test]
    public async Task Extended_OpenMetrics_CountsEverySeriesOfTheFamily()
    {
        var result = await ToolProcess.RunMctlAsync(Expositions.CleanOpenMetrics, "check", "metrics", "--extended");

        result.ExitCode.Should().Be(0, result.ToString());
        var rows = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => Regex.Split(l.Trim(), @"\s+"))
            .ToDictionary(cells => cells[0], cells => cells[1]);
        rows.Should().Contain("request_duration_seconds", "4")
            .And.Contain("http_requests_total", "2")
            .And.Contain("build", "1")
            .And.Contain("Total", "7");
    }
}
