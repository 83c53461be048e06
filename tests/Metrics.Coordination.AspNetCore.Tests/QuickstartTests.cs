using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.AspNetCore.Tests;

/// <summary>Runs the Quickstart sample as its own process and scrapes it.</summary>
public partial class QuickstartTests
{
    [GeneratedRegex(@"^Metrics: (?<url>http://\S+/metrics)$", RegexOptions.Multiline)]
    private static partial Regex MetricsUrlLine();

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
        var assembly = QuickstartAssembly();

        // Port 0: Kestrel binds a free port and the sample prints the real /metrics URL, so no port can be stolen.
        await using var process = PeerProcess.Start(
            DotnetHost(),
            [assembly, "--urls", "http://127.0.0.1:0"],
            workingDirectory: Path.GetDirectoryName(assembly),
            name: "quickstart",
            environment: new Dictionary<string, string> { ["ASPNETCORE_ENVIRONMENT"] = "Production", ["DOTNET_NOLOGO"] = "1" });

        var clock = Stopwatch.StartNew();
        Uri? metricsUrl = null;
        while (metricsUrl is null && clock.Elapsed < TimeSpan.FromSeconds(30) && !process.HasExited)
        {
            var match = MetricsUrlLine().Match(process.Output);
            metricsUrl = match.Success ? new Uri(match.Groups["url"].Value) : null;
            await Task.Delay(50);
        }

        metricsUrl.Should().NotBeNull($"the quickstart prints its /metrics URL at start; {process.Describe()}");
        metricsUrl!.Host.Should().Be("127.0.0.1");
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

        (await client.GetStringAsync(new Uri(metricsUrl, "/"))).Should().Contain("quickstart");
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

        await process.StopAsync();
        process.HasExited.Should().BeTrue();
    }
}
