using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Hosting;
using Metrics.Coordination.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.AspNetCore.Tests;

/// <summary>
/// <c>app.MapPrometheusApi()</c> and <c>app.MapMetricsStatusPage()</c> with no arguments in an app wired only by
/// <c>AddMetricsCoordination</c>, whose TSDB and rule manager exist only once the host has started them.
/// </summary>
public partial class HostedComponentsTests
{
    internal const string RuleText = """
        groups:
          - name: hosted
            interval: 200ms
            rules:
              - record: job:up:sum
                expr: sum by (job) (up)
              - alert: HostedUp
                expr: sum by (job) (up) > 0
                labels:
                  severity: info
        """;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [GeneratedRegex("<polyline [^>]*points=\"[^\"]+\"")]
    private static partial Regex Polyline();

    private static HttpClient Client(Uri baseUrl) => new(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };

    [Test]
    public async Task MapPrometheusApiAndStatusPage_NoArgumentsWithAddMetricsCoordination_ServeTheHostedComponents()
    {
        using var dir = new TempDirectory("hosted-api");
        File.WriteAllText(dir.Combine("hosted.rules.yml"), RuleText);
        await using var host = await TestWebHost.StartAsync(
            app =>
            {
                app.MapPrometheusApi();
                app.MapMetricsStatusPage();
            },
            services => services.AddMetricsCoordination(o =>
            {
                o.Tsdb.SelfCollection.Interval = TimeSpan.FromMilliseconds(200);
                o.Tsdb.SelfCollection.Job = "hosted";
                o.Rules.Files.Add(dir.Combine("hosted.rules.yml"));
                o.Rules.EvaluationInterval = TimeSpan.FromMilliseconds(200);
            }));
        using var client = Client(host.BaseUrl);

        // Self-collection writes up{job="hosted"}; the recording rule sums it back into the hosted TSDB.
        var recorded = await EventuallyAsync(client, "/api/v1/query?query=job%3Aup%3Asum", json => json.Contains("\"job\":\"hosted\"", StringComparison.Ordinal));
        using (var doc = JsonDocument.Parse(recorded))
        {
            var data = doc.RootElement.GetProperty("data");
            data.GetProperty("resultType").GetString().Should().Be("vector");
            var series = data.GetProperty("result").EnumerateArray().Single();
            series.GetProperty("metric").GetProperty("__name__").GetString().Should().Be("job:up:sum");
            series.GetProperty("value")[1].GetString().Should().Be("1");
        }

        var rules = await EventuallyAsync(client, "/api/v1/rules", json => Regex.Matches(json, "\"health\":\"ok\"").Count == 2);
        using (var doc = JsonDocument.Parse(rules))
        {
            var group = doc.RootElement.GetProperty("data").GetProperty("groups").EnumerateArray().Single();
            group.GetProperty("name").GetString().Should().Be("hosted");
            group.GetProperty("file").GetString().Should().Be(dir.Combine("hosted.rules.yml"));
            group.GetProperty("rules").EnumerateArray().Select(r => (r.GetProperty("name").GetString(), r.GetProperty("type").GetString()))
                .Should().Equal(("job:up:sum", "recording"), ("HostedUp", "alerting"));
        }

        var alerts = await EventuallyAsync(client, "/api/v1/alerts", json => json.Contains("\"state\":\"firing\"", StringComparison.Ordinal));
        using (var doc = JsonDocument.Parse(alerts))
        {
            var alert = doc.RootElement.GetProperty("data").GetProperty("alerts").EnumerateArray().Single();
            alert.GetProperty("labels").GetProperty("alertname").GetString().Should().Be("HostedUp");
            alert.GetProperty("labels").GetProperty("job").GetString().Should().Be("hosted");
            alert.GetProperty("state").GetString().Should().Be("firing");
        }

        (await client.GetStringAsync("/api/v1/label/job/values")).Should().Contain("\"hosted\"");

        // The status page shows the same rules and alert, local leadership, the hosted TSDB's head, and graphs from it.
        // (A line needs two points: wait for a second self-collection.)
        var html = await EventuallyAsync(client, "/?expr=up&range=1m", page => Polyline().IsMatch(page));
        html.Should().NotContain("id=\"host-state\"", "the components are running");
        html.Should().Contain("<span class=\"group-name\">hosted</span>");
        html.Should().Contain("<td class=\"rule-name\">job:up:sum</td><td>record</td>").And.Contain("<td class=\"rule-name\">HostedUp</td><td>alert</td>");
        html.Should().Contain("<td class=\"state-firing\">firing</td>");
        html.Should().Contain("<td id=\"is-leader\" class=\"leader-yes\">yes</td>").And.Contain("local (always leader)");
        html.Should().Contain("Not configured: the host runs no ZooKeeper session.");
        html.Should().MatchRegex("<td id=\"head-series\">[1-9][0-9]*</td>");
        Polyline().Matches(html).Count.Should().Be(1, "one up series, from self-collection");

        // Stopping the components (the host shutting down) turns the API to 503 unavailable and the page to "Stopped".
        var hosted = host.Services.GetServices<IHostedService>().Single(s => s.GetType().Name == "MetricsCoordinationHostedService");
        await hosted.StopAsync(CancellationToken.None);
        host.Services.GetRequiredService<IMetricsCoordinationComponents>().State.Should().Be(MetricsCoordinationState.Stopped);
        await ShouldBeUnavailableAsync(client, "/api/v1/query?query=up", "stopped");
        await ShouldBeUnavailableAsync(client, "/api/v1/alerts", "stopped");
        (await client.GetStringAsync("/")).Should().Contain("<p id=\"host-state\" class=\"state-pending\">Stopped:").And.Contain("Stopped: the host has closed the TSDB.");
    }

    [Test]
    public async Task MapPrometheusApiAndStatusPage_ComponentsStillStarting_Answer503UnavailableAndSayStarting()
    {
        // A ZooKeeper "server" that accepts connections and never answers keeps the components starting; with services
        // started concurrently Kestrel serves meanwhile (by default hosted services start before the server).
        using var blackHole = new TcpListener(IPAddress.Loopback, 0);
        blackHole.Start();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ServicesStartConcurrently = true);
        builder.Services.AddMetricsCoordination(o =>
        {
            o.ZooKeeper.ConnectionString = "127.0.0.1:" + ((IPEndPoint)blackHole.LocalEndpoint).Port;
            o.ZooKeeper.ConnectTimeout = TimeSpan.FromMinutes(5);
        });
        await using var app = builder.Build();
        app.MapPrometheusApi();
        app.MapMetricsStatusPage();

        using var cancelStart = new CancellationTokenSource();
        var starting = app.StartAsync(cancelStart.Token);
        try
        {
            var baseUrl = await BoundAddressAsync(app);
            using var client = Client(baseUrl);
            app.Services.GetRequiredService<IMetricsCoordinationComponents>().State.Should().Be(MetricsCoordinationState.Starting);

            await ShouldBeUnavailableAsync(client, "/api/v1/query?query=up", "starting");
            await ShouldBeUnavailableAsync(client, "/api/v1/query_range?query=up&start=0&end=60&step=15", "starting");
            await ShouldBeUnavailableAsync(client, "/api/v1/series?match[]=up", "starting");
            await ShouldBeUnavailableAsync(client, "/api/v1/labels", "starting");
            await ShouldBeUnavailableAsync(client, "/api/v1/rules", "starting");
            await ShouldBeUnavailableAsync(client, "/api/v1/alerts", "starting");
            (await client.GetStringAsync("/api/v1/status/buildinfo")).Should().StartWith("{\"status\":\"success\"", "build information needs no component");

            using var page = await client.GetAsync("/");
            page.StatusCode.Should().Be(HttpStatusCode.OK);
            var html = await page.Content.ReadAsStringAsync();
            html.Should().Contain("<p id=\"host-state\" class=\"state-pending\">Starting: the metrics components");
            html.Should().Contain("Starting: the TSDB is not running yet.").And.Contain("Starting: the rule manager is not running yet.");
        }
        finally
        {
            await cancelStart.CancelAsync();
            try
            {
                await starting;
            }
            catch (Exception e) when (e is OperationCanceledException or AggregateException or MetricsCoordinationException)
            {
                // The start was cancelled while the ZooKeeper session was still being established, as intended.
            }

            await app.StopAsync();
        }
    }

    private static async Task ShouldBeUnavailableAsync(HttpClient client, string pathAndQuery, string state)
    {
        using var response = await client.GetAsync(pathAndQuery);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, $"{pathAndQuery}: {body}");
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        using var doc = JsonDocument.Parse(body);
        doc.RootElement.EnumerateObject().Select(p => p.Name).Should().Equal("status", "errorType", "error");
        doc.RootElement.GetProperty("status").GetString().Should().Be("error");
        doc.RootElement.GetProperty("errorType").GetString().Should().Be("unavailable");
        doc.RootElement.GetProperty("error").GetString().Should().Contain(state);
    }

    internal static async Task<string> EventuallyAsync(HttpClient client, string pathAndQuery, Func<string, bool> done)
    {
        var clock = Stopwatch.StartNew();
        var body = "";
        while (clock.Elapsed < Patience)
        {
            body = await client.GetStringAsync(pathAndQuery);
            if (done(body))
            {
                return body;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"{pathAndQuery} did not answer as expected within {Patience.TotalSeconds} s; last answer: {body}");
        return body;
    }

    /// <summary>Kestrel's real address once it has bound port 0 (the feature lists the configured URL until then).</summary>
    private static async Task<Uri> BoundAddressAsync(WebApplication app)
    {
        var feature = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Patience)
        {
            string[] addresses;
            try
            {
                addresses = [.. feature.Addresses];
            }
            catch (InvalidOperationException)
            {
                // Kestrel replaced the list while it was read.
                addresses = [];
            }

            if (addresses.Select(a => new Uri(a)).FirstOrDefault(u => u.Port != 0) is { } bound)
            {
                return bound;
            }

            await Task.Delay(50);
        }

        Assert.Fail("Kestrel did not bind within 60 s while the components were starting.");
        return null!;
    }
}
