using System.Globalization;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb.Scrape;

namespace Metrics.Coordination.Tsdb.Tests.Scrape;

/// <summary>
/// The real Prometheus 2.42 and our scrape manager scrape the same deterministic targets (every metric type, in
/// OpenMetrics and, through a header-rewriting proxy, Prometheus text): both must store the same series with the
/// same values, synthetic series included. We also scrape Prometheus's own /metrics, and send the Accept header it sends.
/// </summary>
[Category("Integration")]
public class PrometheusScrapeAgreementTests
{
    [Test]
    public async Task ScrapeSameTargets_SameSeriesAndValuesAsPrometheus()
    {
        var scenario = new ScrapeScenario();
        await using var server = new MetricServer(scenario.Registry, new MetricServerOptions { Port = 0 });
        await server.StartAsync();
        await using var dual = await DualFormatScrape.StartAsync(server.Url.Port);
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var promAddress = $"127.0.0.1:{dual.Prometheus.Port.ToString(CultureInfo.InvariantCulture)}";
        await using var manager = new ScrapeManager(db, new ScrapeManagerOptions
        {
            Jobs =
            [
                new ScrapeJobOptions { JobName = "om", ScrapeInterval = TimeSpan.FromSeconds(2), StaticTargets = [new ScrapeTargetGroup { Targets = [dual.OpenMetricsProxy.Target] }] },
                new ScrapeJobOptions { JobName = "text", ScrapeInterval = TimeSpan.FromSeconds(2), StaticTargets = [new ScrapeTargetGroup { Targets = [dual.TextProxy.Target] }] },
                new ScrapeJobOptions { JobName = "prom", ScrapeInterval = TimeSpan.FromSeconds(2), StaticTargets = [new ScrapeTargetGroup { Targets = [promAddress] }] },
            ],
        });
        await manager.StartAsync();

        foreach (var job in new[] { "om", "text" })
        {
            // Both have scraped at least twice once scrape_series_added reads 0.
            await dual.Prometheus.WaitForAsync($"scrape_series_added{{job=\"{job}\"}} == 0", r => r.Count == 1, TimeSpan.FromSeconds(60));
            var ours = await ScrapeManagerTests.PollAsync(
                () => ScrapeManagerTests.LatestByLabels(db, new LabelMatcher(MatchType.Equal, "job", job)),
                s => s.Any(kv => kv.Key.StartsWith("scrape_series_added{", StringComparison.Ordinal) && kv.Value.V == 0),
                TimeSpan.FromSeconds(60),
                $"two scrapes of job {job} by us");
            var theirs = await dual.Prometheus.QueryAsync($"{{job=\"{job}\"}}");

            var theirMap = theirs.ToDictionary(s => Labels.From([.. s.Labels.Select(kv => new Label(kv.Key, kv.Value))]).ToString(), s => s.Value, StringComparer.Ordinal);
            ours.Keys.Should().BeEquivalentTo(theirMap.Keys, $"job {job}: the same series");
            foreach (var (key, value) in theirMap)
            {
                if (key.StartsWith("scrape_duration_seconds", StringComparison.Ordinal))
                {
                    continue;
                }

                BitConverter.DoubleToInt64Bits(ours[key].V).Should().Be(BitConverter.DoubleToInt64Bits(value), $"job {job}: {key} = {value} in Prometheus, {ours[key].V} in ours");
            }
        }

        var prom = await ScrapeManagerTests.PollAsync(
            () => manager.GetTargets().Single(t => t.Job == "prom"),
            t => t.Scrapes >= 2,
            TimeSpan.FromSeconds(30),
            "two scrapes of Prometheus's own /metrics");
        prom.Health.Should().Be(ScrapeHealth.Up, prom.LastError);
        prom.ParseErrors.Should().Be(0);
        prom.LastSamplesScraped.Should().BeGreaterThan(100);

        var prometheusRequest = dual.OpenMetricsProxy.Requests.First(r => r.Headers.TryGetValue("User-Agent", out var ua) && ua.StartsWith("Prometheus/", StringComparison.Ordinal));
        prometheusRequest.Headers["Accept"].Should().Be(ScrapeLoop.AcceptHeader, "we ask as Prometheus 2.42 asks");
    }
}
