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
    private DualFormatScrape? _scrape;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _scenario = new ScrapeScenario();
        _host = await TestWebHost.StartAsync(app => app.MapMetrics("/metrics", _scenario.Registry));

        // Job "om" scrapes as Prometheus asks; job "text" through a proxy that makes the target answer Prometheus text.
        _scrape = await DualFormatScrape.StartAsync(_host.BaseUrl.Port);
        (_openMetricsProxy, _textProxy, _prometheus) = (_scrape.OpenMetricsProxy, _scrape.TextProxy, _scrape.Prometheus);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_scrape is not null)
        {
            await _scrape.DisposeAsync();
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
