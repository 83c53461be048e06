namespace Metrics.Coordination.Testing;

/// <summary>
/// A real Prometheus scraping one loopback <c>/metrics</c> target twice: job <c>om</c> as Prometheus asks (OpenMetrics
/// first), job <c>text</c> through a proxy that replaces the <c>Accept</c> header with a text-only one. Prometheus 2.42
/// always asks for OpenMetrics first and has no <c>scrape_protocols</c> setting (2.49+), so this is how the target's own
/// negotiation is made to answer Prometheus text. Both proxies record what Prometheus sent.
/// </summary>
public sealed class DualFormatScrape : IAsyncDisposable
{
    private DualFormatScrape(HttpHeaderProxy openMetricsProxy, HttpHeaderProxy textProxy, PrometheusServer prometheus)
    {
        OpenMetricsProxy = openMetricsProxy;
        TextProxy = textProxy;
        Prometheus = prometheus;
    }

    /// <summary>The proxy of job <c>om</c> (passes requests through unchanged).</summary>
    public HttpHeaderProxy OpenMetricsProxy { get; }

    /// <summary>The proxy of job <c>text</c> (asks for <c>text/plain;version=0.0.4</c>).</summary>
    public HttpHeaderProxy TextProxy { get; }

    /// <summary>The Prometheus server.</summary>
    public PrometheusServer Prometheus { get; }

    /// <summary>Starts the proxies and Prometheus in front of <paramref name="targetPort"/> and waits until both jobs are up.</summary>
    public static async Task<DualFormatScrape> StartAsync(int targetPort)
    {
        var openMetrics = new HttpHeaderProxy(targetPort);
        var text = new HttpHeaderProxy(targetPort, new Dictionary<string, string?> { ["Accept"] = "text/plain;version=0.0.4" });
        PrometheusServer? prometheus = null;
        try
        {
            prometheus = await PrometheusServer.StartAsync(new PrometheusOptions
            {
                ScrapeJobs =
                [
                    new ScrapeJob("om", [openMetrics.Target]),
                    new ScrapeJob("text", [text.Target]),
                ],
            });
            await prometheus.WaitForAsync("up", r => r.Count == 2 && r.All(s => s.Value == 1), TimeSpan.FromSeconds(30));
            return new DualFormatScrape(openMetrics, text, prometheus);
        }
        catch
        {
            if (prometheus is not null)
            {
                await prometheus.DisposeAsync();
            }

            await text.DisposeAsync();
            await openMetrics.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops Prometheus, then the proxies.</summary>
    public async ValueTask DisposeAsync()
    {
        await Prometheus.DisposeAsync();
        await TextProxy.DisposeAsync();
        await OpenMetricsProxy.DisposeAsync();
    }
}
