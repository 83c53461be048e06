using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Abstractions.Relabeling;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb.Ingestion;
using Metrics.Coordination.Tsdb.Scrape;
using Metrics.Coordination.Tsdb.Tests.Scrape;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Metrics.Coordination.Tsdb.Tests.Ingestion;

public class RegistryIngestionTests
{
    private const long T0 = 1_700_000_000_000;

    [Test]
    [Category("Integration")]
    public async Task CollectOnce_EveryMetricType_SameSeriesAndValuesAsOurScrapeOfItsMetricServer()
    {
        var scenario = new ScrapeScenario();
        scenario.Registry.AddCollector("extra", () => [new MetricFamily("collected_thing", MetricType.Gauge, "From a collector.") { Samples = { new MetricSample("collected_thing", Labels.FromStrings("k", "v"), 7) } }]);
        await using var server = new MetricServer(scenario.Registry, new MetricServerOptions { Port = 0 });
        await server.StartAsync();
        var address = $"127.0.0.1:{server.Url.Port}";
        var job = new ScrapeJobOptions { JobName = "self", ScrapeInterval = TimeSpan.FromSeconds(30) };
        var target = ScrapeTarget.Populate(job, Relabeler.Empty, [new ScrapeTargetGroup { Targets = [address] }], []).Single();
        var scraped = new RecordingStorage();
        using var http = new HttpClient();
        var loop = new ScrapeLoop(target, job, Relabeler.Empty, scraped, http, TimeProvider.System, NullLogger.Instance, TimeSpan.Zero, 0);
        await loop.ScrapeAndReportAsync(DateTimeOffset.FromUnixTimeMilliseconds(T0), CancellationToken.None);
        loop.Status.Health.Should().Be(ScrapeHealth.Up, loop.Status.LastError);

        var ingested = new RecordingStorage();
        var ingestion = new RegistryIngestion(scenario.Registry, ingested, new RegistryIngestionOptions { Job = "self", Instance = address });
        ingestion.CollectOnce(T0);

        var expected = scraped.At(T0);
        var actual = ingested.At(T0);
        actual.Keys.Should().BeEquivalentTo(expected.Keys);
        foreach (var (key, value) in expected)
        {
            if (!key.StartsWith("scrape_duration_seconds", StringComparison.Ordinal))
            {
                BitConverter.DoubleToInt64Bits(actual[key]).Should().Be(BitConverter.DoubleToInt64Bits(value), key);
            }
        }
    }

    [Test]
    public void CollectOnce_SeriesRemoved_StaleMarkerNextTickThenForgotten()
    {
        var registry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false });
        var gauge = registry.CreateGauge("g", "G.", "k");
        gauge.WithLabels("a").Set(1);
        gauge.WithLabels("b").Set(2);
        var storage = new RecordingStorage();
        var ingestion = new RegistryIngestion(registry, storage, new RegistryIngestionOptions { Job = "j", Instance = "i" });
        ingestion.CollectOnce(T0);
        storage.Value("g{instance=\"i\", job=\"j\", k=\"b\"}", T0).Should().Be(2);
        storage.Value("scrape_series_added{instance=\"i\", job=\"j\"}", T0).Should().Be(2);

        gauge.RemoveLabels("b");
        ingestion.CollectOnce(T0 + 1000);
        ingestion.CollectOnce(T0 + 2000);

        StaleMarker.IsStale(storage.Value("g{instance=\"i\", job=\"j\", k=\"b\"}", T0 + 1000)).Should().BeTrue();
        storage.At(T0 + 2000).Should().NotContainKey("g{instance=\"i\", job=\"j\", k=\"b\"}");
        storage.Value("g{instance=\"i\", job=\"j\", k=\"a\"}", T0 + 2000).Should().Be(1);
        storage.Value("scrape_samples_scraped{instance=\"i\", job=\"j\"}", T0 + 2000).Should().Be(1);
        storage.Value("scrape_series_added{instance=\"i\", job=\"j\"}", T0 + 2000).Should().Be(0);
        storage.Value("up{instance=\"i\", job=\"j\"}", T0 + 2000).Should().Be(1);
    }

    [Test]
    public void CollectOnce_RegistryLabelNamedJob_BecomesExportedJob()
    {
        var registry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false });
        registry.CreateGauge("g", "G.", "job").WithLabels("theirs").Set(1);
        var storage = new RecordingStorage();

        new RegistryIngestion(registry, storage, new RegistryIngestionOptions { Job = "j", Instance = "i" }).CollectOnce(T0);

        storage.At(T0).Keys.Should().Contain("g{exported_job=\"theirs\", instance=\"i\", job=\"j\"}");
    }

    [Test]
    public async Task StartAsync_TicksOnIntervalMultiples_WithScheduledTimestamps()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(T0 + 1234));
        var registry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false, TimeProvider = time });
        registry.CreateGauge("g", "G.").Set(1);
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        await using var ingestion = new RegistryIngestion(registry, db, new RegistryIngestionOptions { Interval = TimeSpan.FromSeconds(5), TimeProvider = time });
        await ingestion.StartAsync();

        for (var i = 0; i < 3; i++)
        {
            var ticks = ingestion.Ticks;
            time.Advance(TimeSpan.FromSeconds(5));
            await ScrapeManagerTests.PollAsync(() => ingestion.Ticks, t => t > ticks, TimeSpan.FromSeconds(30), "a tick");
        }

        await ingestion.StopAsync();
        using var q = db.Querier(long.MinValue, long.MaxValue);
        var series = q.Select(false, default, new LabelMatcher(MatchType.Equal, Labels.MetricName, "g")).Single();
        series.Labels.ToString().Should().Be("g{instance=\"localhost\", job=\"self\"}");
        var it = series.Iterator();
        var timestamps = new List<long>();
        while (it.Next())
        {
            timestamps.Add(it.Timestamp);
        }

        timestamps.Should().Equal(T0 + 5000, T0 + 10000, T0 + 15000);
    }

    [Test]
    public void CollectOnce_SteadyState_AllocatesLittlePerSeries()
    {
        var registry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false });
        var gauge = registry.CreateGauge("g", "G.", "k");
        for (var i = 0; i < 2000; i++)
        {
            gauge.WithLabels(i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Set(i);
        }

        var ingestion = new RegistryIngestion(registry, new NullStorage());
        ingestion.CollectOnce(T0);
        ingestion.CollectOnce(T0 + 1);

        var before = GC.GetAllocatedBytesForCurrentThread();
        ingestion.CollectOnce(T0 + 2);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // One series list per metric (8 B a reference) and a few fixed objects; nothing per sample.
        allocated.Should().BeLessThan(2000 * 12, "a steady tick must not allocate per series");
    }

    private sealed class NullStorage : IAppendable
    {
        public IAppender Appender() => new NullAppender();

        private sealed class NullAppender : IAppender
        {
            public SeriesRef Append(in AppendRequest request) => new(1);

            public void Commit()
            {
            }

            public void Rollback()
            {
            }
        }
    }
}
