using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.AspNetCore.Tests;

/// <summary>
/// Runs the Quickstart sample (AddMetricsCoordination configured by its appsettings.json, MapMetrics,
/// MapPrometheusApi(), MapMetricsStatusPage) as its own process and reads every URL it prints.
/// </summary>
public partial class QuickstartTests
{
    [GeneratedRegex(@"^Metrics: (?<url>http://\S+/metrics)$", RegexOptions.Multiline)]
    private static partial Regex MetricsUrlLine();

    [GeneratedRegex(@"^Status page: (?<url>http://\S+/)$", RegexOptions.Multiline)]
    private static partial Regex StatusUrlLine();

    private static string QuickstartAssembly()
    {
        var path = typeof(QuickstartTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(a => a.Key == "QuickstartAssembly")?.Value;
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            Assert.Fail($"Quickstart.dll not found at '{path}'. The test project builds samples/Quickstart through a ProjectReference; rebuild it.");
        }

        return path!;
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    [Test]
    public async Task Quickstart_StartedOnAFreePort_ServesItsInstrumentsOnMetrics()
    {
        await using var quickstart = await StartQuickstartAsync();
        var metricsUrl = quickstart.MetricsUrl;
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

        (await client.GetStringAsync(new Uri(metricsUrl, "/work/5"))).Should().Contain("5");
        var body = await client.GetStringAsync(metricsUrl);

        body.Should().MatchRegex(@"http_server_request_duration_seconds_count\{[^}]*http_route=""/work/\{size:int\}""[^}]*\} 1\n", body);
        body.Should().Contain("# TYPE process_cpu_seconds_total counter\n");
        body.Should().Contain("dotnet_gc_collections_total");
        body.Should().Contain("# TYPE quickstart_payload_size_bytes summary\n");
        body.Should().MatchRegex(@"quickstart_payload_size_bytes\{quantile=""0\.99""\} \d+");
        body.Should().Contain("# TYPE quickstart_jobs_processed_total counter\n");
        body.Should().Contain("# TYPE quickstart_queue_depth gauge\n");

        var openMetrics = new HttpRequestMessage(HttpMethod.Get, metricsUrl);
        openMetrics.Headers.TryAddWithoutValidation("Accept", "application/openmetrics-text;version=1.0.0");
        using var response = await client.SendAsync(openMetrics);
        (await response.Content.ReadAsStringAsync()).Should().EndWith("# EOF\n");

        await quickstart.Process.StopAsync();
        quickstart.Process.HasExited.Should().BeTrue();
    }

    [Test]
    public async Task Quickstart_StatusPage_ShowsItsRulesEvaluatedOnItsOwnHistory()
    {
        using var data = new TempDirectory("quickstart-data");
        await using var quickstart = await StartQuickstartAsync("--MetricsCoordination:Tsdb:DataDirectory", data.Path);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
        quickstart.Process.Output.Should().Contain("Status page: " + quickstart.StatusUrl).And.Contain("TSDB: " + data.Path);

        // Collection and evaluation run every 5 s: wait until both rules evaluated ok and the graph has a line to draw.
        string html = "";
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            html = await client.GetStringAsync(quickstart.StatusUrl);
            if (Regex.Matches(html, "<td class=\"health-ok\">ok</td>").Count == 3 && html.Contains("<polyline ", StringComparison.Ordinal))
            {
                break;
            }

            await Task.Delay(250);
        }

        html.Should().Contain("<title>Metrics.Coordination quickstart status</title>");
        html.Should().Contain("<span class=\"group-name\">quickstart</span>");
        html.Should().Contain("<td class=\"rule-name\">quickstart:jobs_processed:rate1m</td><td>record</td>");
        html.Should().Contain("<td class=\"rule-name\">QuickstartJobsFailing</td><td>alert</td>");
        Regex.Matches(html, "<td class=\"health-ok\">ok</td>").Count.Should().Be(3, $"the group and both rules evaluate ok within 60 s; {quickstart.Process.Describe()}\n{html}");
        html.Should().Contain("<td id=\"is-leader\" class=\"leader-yes\">yes</td>").And.Contain("local (always leader)");
        html.Should().MatchRegex("<td id=\"head-series\">[1-9][0-9]*</td>");
        html.Should().Contain(">quickstart_queue_depth</textarea>").And.Contain("<svg id=\"graph-svg\"").And.Contain("<polyline ");

        // The recording rule's output is in the TSDB (once two collections fall in its 1m window): the graph shows it too.
        var recordedUrl = new Uri(quickstart.StatusUrl, "/?expr=quickstart%3Ajobs_processed%3Arate1m&range=5m");
        const string RecordedSeries = "quickstart:jobs_processed:rate1m{outcome=&quot;ok&quot;}";
        var recorded = "";
        clock.Restart();
        while (!(recorded.Contains(RecordedSeries, StringComparison.Ordinal) && recorded.Contains("<polyline ", StringComparison.Ordinal)) && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(250);
            recorded = await client.GetStringAsync(recordedUrl);
        }

        recorded.Should().Contain(RecordedSeries).And.Contain("<polyline ");
        Directory.Exists(Path.Combine(data.Path, "wal")).Should().BeTrue("the TSDB keeps its WAL in the data directory");

        // The query API is switched on over the same TSDB and rule manager.
        quickstart.Process.Output.Should().Contain("Query API: " + new Uri(quickstart.StatusUrl, "/api/v1/query?query=up"));
        var up = await client.GetStringAsync(new Uri(quickstart.StatusUrl, "/api/v1/query?query=up"));
        up.Should().StartWith("{\"status\":\"success\"").And.Contain("\"job\":\"quickstart\"");
        var apiRules = await client.GetStringAsync(new Uri(quickstart.StatusUrl, "/api/v1/rules"));
        apiRules.Should().Contain("\"name\":\"QuickstartJobsFailing\"").And.Contain("\"name\":\"quickstart:jobs_processed:rate1m\"");
        using (var rulesJson = JsonDocument.Parse(apiRules))
        {
            var group = rulesJson.RootElement.GetProperty("data").GetProperty("groups").EnumerateArray().Single();
            group.GetProperty("name").GetString().Should().Be("quickstart");
            group.GetProperty("rules").EnumerateArray().Select(r => (r.GetProperty("name").GetString(), r.GetProperty("type").GetString(), r.GetProperty("health").GetString()))
                .Should().Equal(("quickstart:jobs_processed:rate1m", "recording", "ok"), ("QuickstartJobsFailing", "alerting", "ok"));
        }

        // The recording rule's series, evaluated on the collected history, through the query API (the status page
        // graphed it already, so it is there; the loop only covers a slow evaluation).
        var recordedQuery = new Uri(quickstart.StatusUrl, "/api/v1/query?query=" + Uri.EscapeDataString("quickstart:jobs_processed:rate1m"));
        var recordedJson = "";
        clock.Restart();
        while (!recordedJson.Contains("\"outcome\":\"ok\"", StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            recordedJson = await client.GetStringAsync(recordedQuery);
            if (!recordedJson.Contains("\"outcome\":\"ok\"", StringComparison.Ordinal))
            {
                await Task.Delay(250);
            }
        }

        using var recordedDoc = JsonDocument.Parse(recordedJson);
        recordedDoc.RootElement.GetProperty("status").GetString().Should().Be("success");
        var recordedData = recordedDoc.RootElement.GetProperty("data");
        recordedData.GetProperty("resultType").GetString().Should().Be("vector");
        var okSeries = recordedData.GetProperty("result").EnumerateArray().Single(r => r.GetProperty("metric").GetProperty("outcome").GetString() == "ok");
        okSeries.GetProperty("metric").GetProperty("__name__").GetString().Should().Be("quickstart:jobs_processed:rate1m");
        double.Parse(okSeries.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture).Should().BeGreaterThan(0, "the simulator processes about four jobs a second");
    }

    private static async Task<RunningQuickstart> StartQuickstartAsync(params string[] arguments)
    {
        var assembly = QuickstartAssembly();

        // Port 0: Kestrel binds a free port and the sample prints the real URLs, so no port can be stolen.
        var process = PeerProcess.Start(
            DotnetHost(),
            [assembly, "--urls", "http://127.0.0.1:0", .. arguments],
            workingDirectory: Path.GetDirectoryName(assembly),
            name: "quickstart",
            environment: new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["DOTNET_NOLOGO"] = "1" });

        var clock = Stopwatch.StartNew();
        Uri? metricsUrl = null;
        Uri? statusUrl = null;
        while ((metricsUrl is null || statusUrl is null) && clock.Elapsed < TimeSpan.FromSeconds(60) && !process.HasExited)
        {
            var output = process.Output;
            var metrics = MetricsUrlLine().Match(output);
            var status = StatusUrlLine().Match(output);
            metricsUrl = metrics.Success ? new Uri(metrics.Groups["url"].Value) : null;
            statusUrl = status.Success ? new Uri(status.Groups["url"].Value) : null;
            await Task.Delay(50);
        }

        if (metricsUrl is null || statusUrl is null)
        {
            var description = process.Describe();
            await process.DisposeAsync();
            Assert.Fail($"The quickstart prints its status page and /metrics URLs at start; {description}");
        }

        metricsUrl!.Host.Should().Be("127.0.0.1");
        statusUrl!.AbsolutePath.Should().Be("/");
        return new RunningQuickstart(process, metricsUrl, statusUrl);
    }

    private sealed record RunningQuickstart(PeerProcess Process, Uri MetricsUrl, Uri StatusUrl) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Process.DisposeAsync();
    }
}
