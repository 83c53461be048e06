using System.Diagnostics;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb.Scrape;
using Microsoft.Extensions.Time.Testing;

namespace Metrics.Coordination.Tsdb.Tests.Scrape;

public class ScrapeManagerTests
{
    internal static Dictionary<string, (long T, double V)> LatestByLabels(TimeSeriesDatabase db, params LabelMatcher[] matchers)
    {
        using var q = db.Querier(long.MinValue, long.MaxValue);
        var result = new Dictionary<string, (long, double)>(StringComparer.Ordinal);
        foreach (var series in q.Select(false, default, matchers))
        {
            var it = series.Iterator();
            long t = 0;
            double v = double.NaN;
            var any = false;
            while (it.Next())
            {
                (t, v, any) = (it.Timestamp, it.Value, true);
            }

            if (any)
            {
                result[series.Labels.ToString()] = (t, v);
            }
        }

        return result;
    }

    internal static async Task<T> PollAsync<T>(Func<T> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = probe();
            if (done(value))
            {
                return value;
            }

            if (clock.Elapsed > timeout)
            {
                throw new AssertionException($"Timed out after {timeout.TotalSeconds} s waiting for {what}; last: {value}");
            }

            await Task.Delay(50);
        }
    }

    [Test]
    [Category("Integration")]
    public async Task Manager_ScrapesMetricServerWithGzip_IntoTimeSeriesDatabase()
    {
        var registry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false });
        registry.CreateCounter("jobs_done_total", "Jobs.", "kind").WithLabels("a").Inc(5);
        registry.CreateGauge("queue_depth", "Depth.").Set(3);
        await using var server = new MetricServer(registry, new MetricServerOptions { Port = 0, EnableCompression = true });
        await server.StartAsync();
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var address = $"127.0.0.1:{server.Url.Port}";
        await using var manager = new ScrapeManager(db, new ScrapeManagerOptions
        {
            Jobs = [new ScrapeJobOptions { JobName = "self", ScrapeInterval = TimeSpan.FromSeconds(2), StaticTargets = [new ScrapeTargetGroup { Targets = [address], Labels = new Dictionary<string, string> { ["env"] = "test" } }] }],
        });

        await manager.StartAsync();
        var series = await PollAsync(
            () => LatestByLabels(db, new LabelMatcher(MatchType.Equal, "job", "self")),
            s => s.Count > 0 && s.Any(kv => kv.Key.StartsWith("scrape_series_added", StringComparison.Ordinal) && kv.Value.V == 0),
            TimeSpan.FromSeconds(30),
            "two scrapes");

        string Key(string name, params string[] extra) => Labels.FromStrings([Labels.MetricName, name, "env", "test", "instance", address, "job", "self", .. extra]).ToString();
        series[Key("up")].V.Should().Be(1);
        series[Key("jobs_done_total", "kind", "a")].V.Should().Be(5);
        series[Key("queue_depth")].V.Should().Be(3);
        series.Keys.Should().Contain(k => k.StartsWith("jobs_done_created", StringComparison.Ordinal), "OpenMetrics is preferred, so _created is exposed");
        manager.GetTargets().Single().Health.Should().Be(ScrapeHealth.Up);
    }

    [Test]
    [Category("Integration")]
    public async Task Manager_TargetRemovedByProvider_WritesStalenessMarkers()
    {
        await using var a = new StaticHttpTarget(_ => StaticResponse.Text("m 1\n"));
        await using var b = new StaticHttpTarget(_ => StaticResponse.Text("m 2\n"));
        var provider = new StaticTargetProvider([new ScrapeTargetGroup { Targets = [a.Target, b.Target] }]);
        var storage = new RecordingStorage();
        await using var manager = new ScrapeManager(storage, new ScrapeManagerOptions
        {
            Jobs = [new ScrapeJobOptions { JobName = "j", ScrapeInterval = TimeSpan.FromSeconds(1), TargetProvider = provider }],
        });
        await manager.StartAsync();
        await PollAsync(() => storage.Samples.Count(s => s.Labels.Name == "up"), n => n >= 2, TimeSpan.FromSeconds(30), "both targets scraped");

        provider.Update([new ScrapeTargetGroup { Targets = [a.Target] }]);

        await PollAsync(
            () => storage.Samples.Where(s => s.Labels.Get("instance") == b.Target && StaleMarker.IsStale(s.V)).Select(s => s.Labels.Name).ToHashSet(),
            names => names.SetEquals(["m", "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"]),
            TimeSpan.FromSeconds(30),
            "staleness markers for the removed target");
        manager.GetTargets().Should().ContainSingle().Which.Url.Port.Should().Be(a.Port);
        var before = storage.Samples.Count(s => s.Labels.Get("instance") == a.Target && s.Labels.Name == "up");
        await PollAsync(() => storage.Samples.Count(s => s.Labels.Get("instance") == a.Target && s.Labels.Name == "up"), n => n > before, TimeSpan.FromSeconds(30), "the kept target keeps being scraped");
    }

    [Test]
    [Category("Integration")]
    public async Task Manager_StopAsync_StopsLoopsWithoutStaleness()
    {
        await using var a = new StaticHttpTarget(_ => StaticResponse.Text("m 1\n"));
        var storage = new RecordingStorage();
        var manager = new ScrapeManager(storage, new ScrapeManagerOptions
        {
            Jobs = [new ScrapeJobOptions { JobName = "j", ScrapeInterval = TimeSpan.FromMilliseconds(100), StaticTargets = [new ScrapeTargetGroup { Targets = [a.Target] }] }],
        });
        await manager.StartAsync();
        await PollAsync(() => storage.Samples.Count(s => s.Labels.Name == "up"), n => n >= 1, TimeSpan.FromSeconds(30), "a scrape");

        await manager.DisposeAsync();
        var count = storage.Samples.Count;
        await Task.Delay(400);

        storage.Samples.Count.Should().Be(count, "no loop runs after stop");
        storage.Samples.Should().NotContain(s => StaleMarker.IsStale(s.V), "Prometheus writes no markers on shutdown");
    }

    [Test]
    public void Targets_RelabeledAndLabelled_AsPrometheusPopulatesThem()
    {
        var job = new ScrapeJobOptions
        {
            JobName = "j",
            ScrapeInterval = TimeSpan.FromSeconds(90),
            ScrapeTimeout = TimeSpan.FromMilliseconds(1500),
            Params = new Dictionary<string, string> { ["module"] = "x y" },
            RelabelConfigs = Abstractions.Relabeling.RelabelConfig.ParseYamlList("""
                - source_labels: [__meta_role]
                  regex: drop
                  action: drop
                - source_labels: [__scrape_interval__, __scrape_timeout__]
                  target_label: timing
                """),
        };
        var errors = new List<string>();

        var targets = ScrapeTarget.Populate(job, new Abstractions.Relabeling.Relabeler(job.RelabelConfigs),
        [
            new ScrapeTargetGroup
            {
                Targets = ["h1:1", "h2:2", "h1:1"],
                Labels = new Dictionary<string, string> { ["__meta_role"] = "keep", ["team"] = "t" },
                TargetLabels = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["h2:2"] = new Dictionary<string, string> { ["__meta_role"] = "drop" } },
            },
        ], errors);

        errors.Should().BeEmpty();
        var t = targets.Should().ContainSingle("h2 is dropped and h1 deduplicated").Subject;
        t.Labels.ToString().Should().Be("{instance=\"h1:1\", job=\"j\", team=\"t\", timing=\"1m30s;1s500ms\"}");
        t.Url.AbsoluteUri.Should().Be("http://h1:1/metrics?module=x%20y");
    }

    [Test]
    public void Offset_SameTarget_SamePhaseAcrossRestarts()
    {
        var job = new ScrapeJobOptions { JobName = "j", ScrapeInterval = TimeSpan.FromSeconds(10) };
        var target = ScrapeTarget.Populate(job, Abstractions.Relabeling.Relabeler.Empty, [new ScrapeTargetGroup { Targets = ["h:1"] }], []).Single();
        var intervalNs = 10_000_000_000L;
        long now1 = 1_700_000_000_123_000_000, now2 = now1 + (7 * intervalNs) + 3_456_000_000;

        var phase1 = (now1 + (target.Offset(job.ScrapeInterval, 0, now1).Ticks * 100)) % intervalNs;
        var phase2 = (now2 + (target.Offset(job.ScrapeInterval, 0, now2).Ticks * 100)) % intervalNs;

        phase1.Should().Be(phase2);
        var other = (now1 + (target.Offset(job.ScrapeInterval, 12345, now1).Ticks * 100)) % intervalNs;
        other.Should().NotBe(phase1, "the seed moves the phase");
    }

    [Test]
    [Category("Integration")]
    public async Task Manager_FakeClock_ScrapesAtStableOffsetEveryInterval()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text("m 1\n"));
        var start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
        var time = new FakeTimeProvider(start);
        var job = new ScrapeJobOptions { JobName = "j", ScrapeInterval = TimeSpan.FromSeconds(10), StaticTargets = [new ScrapeTargetGroup { Targets = [target.Target] }] };
        var expectedOffset = ScrapeTarget.Populate(job, Abstractions.Relabeling.Relabeler.Empty, job.StaticTargets, []).Single()
            .Offset(job.ScrapeInterval, 0, start.ToUnixTimeMilliseconds() * 1_000_000);
        var storage = new RecordingStorage();
        await using var manager = new ScrapeManager(storage, new ScrapeManagerOptions { Jobs = [job], TimeProvider = time });
        await manager.StartAsync();

        time.Advance(expectedOffset);
        for (var i = 1; i <= 4; i++)
        {
            await PollAsync(() => storage.Samples.Count(s => s.Labels.Name == "up"), n => n >= i, TimeSpan.FromSeconds(30), $"scrape {i}");
            time.Advance(job.ScrapeInterval);
        }

        var timestamps = storage.Samples.Where(s => s.Labels.Name == "up").Select(s => s.T).ToList();
        timestamps[0].Should().Be((start + expectedOffset).ToUnixTimeMilliseconds(), "the first scrape is at the target's offset");
        timestamps.Zip(timestamps.Skip(1), (a, b) => b - a).Should().OnlyContain(d => d == 10_000, "then every interval exactly");
    }
}
