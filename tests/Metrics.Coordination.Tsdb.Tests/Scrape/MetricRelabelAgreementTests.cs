using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb.Scrape;

namespace Metrics.Coordination.Tsdb.Tests.Scrape;

/// <summary>
/// Metric relabeling end to end: the real Prometheus 2.42 runs a configuration with every relabel action in
/// <c>metric_relabel_configs</c>; our loader reads the very same file and our scrape manager scrapes the same HTTP
/// target. Both must store the same series with the same values, <c>scrape_samples_post_metric_relabeling</c> included.
/// </summary>
[Category("Integration")]
public class MetricRelabelAgreementTests
{
    private const string Exposition = """
        # TYPE http_requests_total counter
        http_requests_total{method="get",code="200",path="/a"} 10
        http_requests_total{method="post",code="500",path="/b"} 2
        http_requests_total{method="put",code="503",path="/c"} 4
        # TYPE go_goroutines gauge
        go_goroutines{junk="1"} 7
        # TYPE debug_noise gauge
        debug_noise{x="1"} 1
        debug_noise{x="2"} 2
        # TYPE other_metric gauge
        other_metric 5
        # TYPE app_info gauge
        app_info{version="1.2",build_user="ci",tmp_a="x",tmp_b="y"} 1
        # TYPE process_cpu_seconds_total counter
        process_cpu_seconds_total 3.5

        """;

    private const string Rules = """
            metric_relabel_configs:
              - source_labels: [__name__]
                regex: debug_.*
                action: drop
              - source_labels: [__name__]
                regex: (http_.*|go_.*|process_.*|app_.*)
                action: keep
              - source_labels: [method, code]
                separator: ":"
                regex: (.*):(5..)
                target_label: failed_method
                replacement: $1
              - regex: tmp_(.*)
                replacement: renamed_$1
                action: labelmap
              - regex: tmp_.*
                action: labeldrop
              - regex: __name__|job|instance|method|code|path|failed_method|renamed_.*|version|build_user|shard
                action: labelkeep
              - source_labels: [__name__, path]
                modulus: 8
                target_label: shard
                action: hashmod
        """;

    [Test]
    public async Task MetricRelabelConfigs_EveryAction_SameSeriesAsPrometheus()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text(Exposition));
        var yaml = $"""
            scrape_configs:
              - job_name: relabel
                scrape_interval: 1s
                static_configs:
                  - targets: ['{target.Target}']
                    labels: {"{"}team: core{"}"}
            {Rules}
            """;
        await using var prometheus = await PrometheusServer.StartAsync(new PrometheusOptions { ExtraConfigYaml = yaml });

        // Our loader reads the file Prometheus runs.
        var jobs = ScrapeConfigFile.Load(prometheus.ConfigPath);
        jobs.Should().ContainSingle().Which.MetricRelabelConfigs.Should().HaveCount(7);
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        await using var manager = new ScrapeManager(db, new ScrapeManagerOptions { Jobs = jobs });
        await manager.StartAsync();

        // Both have scraped at least twice once scrape_series_added reads 0.
        await prometheus.WaitForAsync("scrape_series_added{job=\"relabel\"} == 0", r => r.Count == 1, TimeSpan.FromSeconds(60));
        var ours = await ScrapeManagerTests.PollAsync(
            () => ScrapeManagerTests.LatestByLabels(db, new LabelMatcher(MatchType.Equal, "job", "relabel")),
            s => s.Any(kv => kv.Key.StartsWith("scrape_series_added{", StringComparison.Ordinal) && kv.Value.V == 0),
            TimeSpan.FromSeconds(60),
            "two scrapes by us");
        var theirs = (await prometheus.QueryAsync("{job=\"relabel\"}"))
            .ToDictionary(s => Labels.From([.. s.Labels.Select(kv => new Label(kv.Key, kv.Value))]).ToString(), s => s.Value, StringComparer.Ordinal);

        ours.Keys.Should().BeEquivalentTo(theirs.Keys, "the same series after metric relabeling");
        foreach (var (key, value) in theirs)
        {
            if (!key.StartsWith("scrape_duration_seconds", StringComparison.Ordinal))
            {
                ours[key].V.Should().Be(value, key);
            }
        }

        // 9 exposed samples: debug_noise (2) dropped, other_metric dropped by keep, 6 stored.
        var post = ours.Single(kv => kv.Key.StartsWith("scrape_samples_post_metric_relabeling{", StringComparison.Ordinal)).Value.V;
        post.Should().Be(6);
        ours.Single(kv => kv.Key.StartsWith("scrape_samples_scraped{", StringComparison.Ordinal)).Value.V.Should().Be(9);
        ours.Keys.Should().Contain(k => k.StartsWith("http_requests_total{", StringComparison.Ordinal) && k.Contains("failed_method=\"post\"", StringComparison.Ordinal));
        ours.Keys.Should().Contain(k => k.StartsWith("app_info{", StringComparison.Ordinal) && k.Contains("renamed_a=\"x\"", StringComparison.Ordinal) && !k.Contains("tmp_a", StringComparison.Ordinal));
        var stored = ours.Keys.Where(k => !k.StartsWith("scrape_", StringComparison.Ordinal) && !k.StartsWith("up{", StringComparison.Ordinal)).ToList();
        stored.Should().HaveCount(6);
        stored.Should().OnlyContain(k => k.Contains("shard=\"", StringComparison.Ordinal) && !k.Contains("junk", StringComparison.Ordinal) && !k.Contains("team=", StringComparison.Ordinal), "hashmod added shard; labelkeep removed junk and the target's team label");
    }
}
