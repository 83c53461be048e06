using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.AspNetCore.Tests;

/// <summary>A real Prometheus 2.42 scrapes MapMetrics on Kestrel as OpenMetrics and as Prometheus text.</summary>
[TestFixture]
[Category("Integration")]
public class MapMetricsPrometheusTests
{
    private ScrapeScenario _scenario = null!;
    private TestWebHost _host = null!;
    private HttpHeaderProxy _openMetricsProxy = null!;
    private HttpHeaderProxy _textProxy = null!;
    private PrometheusServer _prometheus = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _scenario = new ScrapeScenario();
        _host = await TestWebHost.StartAsync(app => app.MapMetrics("/metrics", _scenario.Registry));

        // Prometheus 2.42 always asks for OpenMetrics first and has no scrape_protocols setting (2.49+), so the
        // "text" job goes through a proxy that replaces its Accept header with a text-only one; MapMetrics' own
        // negotiation then answers Prometheus text. The "om" proxy only records what Prometheus sent.
        _openMetricsProxy = new HttpHeaderProxy(_host.BaseUrl.Port);
        _textProxy = new HttpHeaderProxy(_host.BaseUrl.Port, new Dictionary<string, string?> { ["Accept"] = "text/plain;version=0.0.4" });
        _prometheus = await PrometheusServer.StartAsync(new PrometheusOptions
        {
            ScrapeJobs =
            [
                new ScrapeJob("om", [_openMetricsProxy.Target]),
                new ScrapeJob("text", [_textProxy.Target]),
            ],
        });
        await _prometheus.WaitForAsync("up", r => r.Count == 2 && r.All(s => s.Value == 1), TimeSpan.FromSeconds(30));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_prometheus is not null)
        {
            await _prometheus.DisposeAsync();
        }

        if (_textProxy is not null)
        {
            await _textProxy.DisposeAsync();
        }

        if (_openMetricsProxy is not null)
        {
            await _openMetricsProxy.DisposeAsync();
        }

        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Test]
    public async Task Up_BothJobs_IsOne()
    {
        var up = await _prometheus.QueryAsync("up");

        up.Select(s => (s["job"], s.Value)).Should().BeEquivalentTo([("om", 1.0), ("text", 1.0)]);
    }

    [Test]
    public void Prometheus_AsksForOpenMetricsWithGzip()
    {
        var seen = _openMetricsProxy.Requests.Concat(_textProxy.Requests).ToList();

        seen.Should().NotBeEmpty();
        seen.Should().OnlyContain(r => r.Headers["Accept"].StartsWith("application/openmetrics-text;version=1.0.0,", StringComparison.Ordinal));
        seen.Should().OnlyContain(r => r.Headers["Accept-Encoding"] == "gzip");
    }

    [Test]
    public Task OpenMetricsScrape_StoresExactlyTheRecordedSeries() =>
        _scenario.AssertStoredAsync(_prometheus, "om", ExpositionFormat.OpenMetrics);

    [Test]
    public Task TextScrape_StoresExactlyTheRecordedSeries() =>
        _scenario.AssertStoredAsync(_prometheus, "text", ExpositionFormat.PrometheusText);
}
