using Metrics.Coordination.Registry;
using Metrics.Coordination.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Metrics.Coordination.AspNetCore.Tests;

/// <summary>
/// ASP.NET Core's and HttpClient's own instruments through the Meter bridge: a Kestrel host with MapMetrics calls
/// itself with an HttpClient, and a real Prometheus 2.42 scrapes it and answers with the <c>_seconds</c> histograms.
/// </summary>
[TestFixture]
[Category("Integration")]
public class MeterBridgePrometheusTests
{
    private MetricRegistry _registry = null!;
    private MeterBridge _bridge = null!;
    private TestWebHost _host = null!;
    private PrometheusServer _prometheus = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _registry = new MetricRegistry();
        _bridge = _registry.AddMeterBridge(new MeterBridgeOptions { Meters = ["Microsoft.AspNetCore.Hosting", "System.Net.Http"] });
        _host = await TestWebHost.StartAsync(app =>
        {
            app.MapMetrics("/metrics", _registry);
            app.MapGet("/hello/{name}", (string name) => Results.Text("hello " + name));
        });

        // HttpClient without an IMeterFactory records into the process-wide System.Net.Http meter.
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        (await client.GetStringAsync(_host.Url("/hello/bridge"))).Should().Be("hello bridge");

        _prometheus = await PrometheusServer.StartAsync(new PrometheusOptions
        {
            ScrapeJobs = [ScrapeJob.ForPort("bridge", _host.BaseUrl.Port)],
        });
        await _prometheus.WaitForAsync("up{job=\"bridge\"}", r => r.Count == 1 && r[0].Value == 1, TimeSpan.FromSeconds(30));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_prometheus is not null)
        {
            await _prometheus.DisposeAsync();
        }

        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _bridge?.Dispose();
    }

    [Test]
    public void Registry_AfterCall_HasServerAndClientHistogramsWithAdviceBuckets()
    {
        var text = _registry.ToText();

        text.Should().Contain("# TYPE http_server_request_duration_seconds histogram\n");
        text.Should().Contain("# TYPE http_client_request_duration_seconds histogram\n");
        var serverBucket = text.Split('\n').First(l => l.StartsWith("http_server_request_duration_seconds_bucket{", StringComparison.Ordinal) && l.Contains("http_route=\"/hello/{name}\"", StringComparison.Ordinal));
        serverBucket.Should().Contain("http_request_method=\"GET\"").And.Contain("http_response_status_code=\"200\"").And.Contain("url_scheme=\"http\"");

        // ASP.NET Core and HttpClient advise these bounds; the bridge takes them instead of its defaults.
        text.Should().Contain("le=\"0.005\"").And.Contain("le=\"7.5\"");
        text.Should().Contain("http_client_request_duration_seconds_bucket{").And.Contain("server_address=\"127.0.0.1\"");
    }

    [Test]
    public async Task Prometheus_ServerDuration_HasSecondsBucketsAndCount()
    {
        var count = await _prometheus.WaitForAsync(
            "http_server_request_duration_seconds_count{job=\"bridge\",http_route=\"/hello/{name}\"}",
            r => r.Count == 1 && r[0].Value >= 1);
        var buckets = await _prometheus.QueryAsync("http_server_request_duration_seconds_bucket{job=\"bridge\",http_route=\"/hello/{name}\"}");

        count[0]["http_request_method"].Should().Be("GET");
        count[0]["http_response_status_code"].Should().Be("200");
        buckets.Select(b => b["le"]).Should().Contain(["0.005", "1.0", "+Inf"]);
        buckets.Single(b => b["le"] == "+Inf").Value.Should().BeGreaterThanOrEqualTo(1);
    }

    [Test]
    public async Task Prometheus_ClientDuration_HasSecondsBucketsAndCount()
    {
        var count = await _prometheus.WaitForAsync(
            "http_client_request_duration_seconds_count{job=\"bridge\",server_address=\"127.0.0.1\"}",
            r => r.Count >= 1 && r.Sum(s => s.Value) >= 1);
        var buckets = await _prometheus.QueryAsync("http_client_request_duration_seconds_bucket{job=\"bridge\",server_address=\"127.0.0.1\"}");

        count.Should().Contain(s => s["http_request_method"] == "GET" && s["server_port"] == _host.BaseUrl.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        buckets.Select(b => b["le"]).Should().Contain(["0.005", "+Inf"]);
        buckets.Where(b => b["le"] == "+Inf").Sum(b => b.Value).Should().BeGreaterThanOrEqualTo(1);
    }

    [Test]
    public async Task Prometheus_ScrapesOfMetrics_AreThemselvesCounted()
    {
        // Prometheus's own scrapes are requests to the host, so /metrics appears as a route once it has scraped.
        var count = await _prometheus.WaitForAsync(
            "http_server_request_duration_seconds_count{job=\"bridge\",http_route=\"/metrics\"}",
            r => r.Count == 1 && r[0].Value >= 1);

        count[0]["url_scheme"].Should().Be("http");
    }
}
