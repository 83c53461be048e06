using System.IO.Compression;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Relabeling;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb.Scrape;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Tsdb.Tests.Scrape;

/// <summary>One scrape at a time against a real HTTP target, asserting exactly what is appended.</summary>
[Category("Integration")]
public class ScrapeLoopTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    private static long Ms(int scrape) => T0.ToUnixTimeMilliseconds() + (scrape * 1000L);

    private static (ScrapeLoop Loop, RecordingStorage Storage, CapturingLoggerFactory Logs) Create(StaticHttpTarget target, ScrapeJobOptions? job = null, HttpMessageHandler? handler = null)
    {
        job ??= new ScrapeJobOptions { JobName = "test", ScrapeInterval = TimeSpan.FromSeconds(30) };
        var storage = new RecordingStorage();
        var errors = new List<string>();
        var scrapeTarget = ScrapeTarget.Populate(job, new Relabeler(job.RelabelConfigs), [new ScrapeTargetGroup { Targets = [target.Target] }], errors).Single();
        var logs = new CapturingLoggerFactory();
        var http = new HttpClient(handler ?? new SocketsHttpHandler { AutomaticDecompression = System.Net.DecompressionMethods.GZip }) { Timeout = Timeout.InfiniteTimeSpan };
        var loop = new ScrapeLoop(scrapeTarget, job, new Relabeler(job.MetricRelabelConfigs), storage, http, TimeProvider.System, logs.CreateLogger("scrape"), TimeSpan.FromMilliseconds(2), 0);
        return (loop, storage, logs);
    }

    private static string Instance(StaticHttpTarget t) => t.Target;

    private static string Series(StaticHttpTarget t, string name, string extra = "", string job = "test") =>
        Labels.FromStrings([Labels.MetricName, name, "instance", Instance(t), "job", job, .. extra.Length == 0 ? [] : extra.Split(',')]).ToString();

    [Test]
    public async Task Scrape_TextTarget_AppendsSamplesAndReportSeries()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text("# TYPE a counter\na{x=\"1\"} 3\na{x=\"2\"} 4\nb 1.5\n"));
        var (loop, storage, _) = Create(target);

        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        var s = storage.At(Ms(0));
        s[Series(target, "a", "x,1")].Should().Be(3);
        s[Series(target, "a", "x,2")].Should().Be(4);
        s[Series(target, "b")].Should().Be(1.5);
        s[Series(target, "up")].Should().Be(1);
        s[Series(target, "scrape_samples_scraped")].Should().Be(3);
        s[Series(target, "scrape_samples_post_metric_relabeling")].Should().Be(3);
        s[Series(target, "scrape_series_added")].Should().Be(3);
        s[Series(target, "scrape_duration_seconds")].Should().BeGreaterThan(0);
        s.Should().HaveCount(8);
        loop.Status.Health.Should().Be(ScrapeHealth.Up);

        await loop.ScrapeAndReportAsync(T0.AddSeconds(1), CancellationToken.None);
        storage.Value(Series(target, "scrape_series_added"), Ms(1)).Should().Be(0, "the series were seen before");
    }

    [Test]
    public async Task Scrape_AcceptHeaderAndTimeout_AsPrometheusSends()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text("a 1\n"));
        var (loop, _, _) = Create(target, new ScrapeJobOptions { JobName = "test", ScrapeInterval = TimeSpan.FromSeconds(15), ScrapeTimeout = TimeSpan.FromSeconds(2.5) });

        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        var request = target.Requests.Single();
        request.RequestLine.Should().Be("GET /metrics HTTP/1.1");
        request.Headers["Accept"].Should().Be(ScrapeLoop.AcceptHeader);
        request.Headers["Accept-Encoding"].Should().Contain("gzip");
        request.Headers["X-Prometheus-Scrape-Timeout-Seconds"].Should().Be("2.5");
    }

    [Test]
    public async Task Scrape_GzipOpenMetrics_IsDecodedAndParsedAsOpenMetrics()
    {
        var text = "# TYPE c counter\nc_total 7 1700000000.5\nc_created 1600000000\n# EOF\n";
        using var compressed = new MemoryStream();
        await using (var gz = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gz.Write(Encoding.UTF8.GetBytes(text));
        }

        await using var target = new StaticHttpTarget(_ => new StaticResponse(200, "application/openmetrics-text; version=1.0.0; charset=utf-8", compressed.ToArray())
        {
            Headers = new Dictionary<string, string> { ["Content-Encoding"] = "gzip" },
        });
        var (loop, storage, _) = Create(target);

        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        storage.Value(Series(target, "c_total"), 1_700_000_000_500).Should().Be(7, "honor_timestamps keeps the exposed timestamp");
        storage.Value(Series(target, "c_created"), Ms(0)).Should().Be(1_600_000_000);
        storage.Value(Series(target, "up"), Ms(0)).Should().Be(1);
    }

    [Test]
    public async Task Scrape_SeriesDisappears_StaleMarkerAtNextScrape()
    {
        var body = "a 1\nb 2\n";
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text(body));
        var (loop, storage, _) = Create(target);
        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        body = "a 1\n";
        await loop.ScrapeAndReportAsync(T0.AddSeconds(1), CancellationToken.None);

        var s = storage.At(Ms(1));
        StaleMarker.IsStale(s[Series(target, "b")]).Should().BeTrue();
        s[Series(target, "a")].Should().Be(1);

        await loop.ScrapeAndReportAsync(T0.AddSeconds(2), CancellationToken.None);
        storage.At(Ms(2)).Should().NotContainKey(Series(target, "b"), "a series is marked stale once");
    }

    [Test]
    public async Task Scrape_ExplicitTimestamps_AreNotTrackedForStaleness()
    {
        var body = "a 1 1700000000000\nb 2\n";
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text(body));
        var (loop, storage, _) = Create(target);
        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        body = "\n";
        await loop.ScrapeAndReportAsync(T0.AddSeconds(1), CancellationToken.None);

        var s = storage.At(Ms(1));
        s.Should().NotContainKey(Series(target, "a"));
        StaleMarker.IsStale(s[Series(target, "b")]).Should().BeTrue();
    }

    [Test]
    public async Task Scrape_HonorTimestampsFalse_UsesScrapeTime()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text("a 1 1600000000000\n"));
        var (loop, storage, _) = Create(target, new ScrapeJobOptions { JobName = "test", HonorTimestamps = false, ScrapeInterval = TimeSpan.FromSeconds(30) });

        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        storage.Value(Series(target, "a"), Ms(0)).Should().Be(1);
    }

    [Test]
    public async Task Scrape_ServerError_UpZeroAndEverySeriesStale()
    {
        var fail = false;
        await using var target = new StaticHttpTarget(_ => fail ? new StaticResponse(500, "text/plain", "boom"u8.ToArray()) : StaticResponse.Text("a 1\nb 2\n"));
        var (loop, storage, _) = Create(target);
        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        fail = true;
        await loop.ScrapeAndReportAsync(T0.AddSeconds(1), CancellationToken.None);

        var s = storage.At(Ms(1));
        s[Series(target, "up")].Should().Be(0);
        s[Series(target, "scrape_samples_scraped")].Should().Be(0);
        StaleMarker.IsStale(s[Series(target, "a")]).Should().BeTrue();
        StaleMarker.IsStale(s[Series(target, "b")]).Should().BeTrue();
        loop.Status.Health.Should().Be(ScrapeHealth.Down);
        loop.Status.LastError.Should().StartWith("server returned HTTP status 500");

        fail = false;
        await loop.ScrapeAndReportAsync(T0.AddSeconds(2), CancellationToken.None);
        var back = storage.At(Ms(2));
        back[Series(target, "a")].Should().Be(1);
        back[Series(target, "up")].Should().Be(1);
        back[Series(target, "scrape_series_added")].Should().Be(0, "the cache still knows the series");
    }

    [Test]
    public async Task Scrape_Garbage_ParseErrorNamesLineAndFailsScrape()
    {
        var body = "a 1\n";
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text(body));
        var (loop, storage, logs) = Create(target);
        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        body = "a 1\nb 2\nthis is { not metrics\n";
        await loop.ScrapeAndReportAsync(T0.AddSeconds(1), CancellationToken.None);

        var s = storage.At(Ms(1));
        s[Series(target, "up")].Should().Be(0);
        s[Series(target, "scrape_samples_scraped")].Should().Be(2, "two samples were read before the bad line");
        s.Should().NotContainKey(Series(target, "b"), "a failed scrape's samples are rolled back");
        StaleMarker.IsStale(s[Series(target, "a")]).Should().BeTrue();
        loop.Status.ParseErrors.Should().Be(1);
        loop.Status.LastError.Should().Contain("line 3");
        logs.Entries.Should().Contain(e => e.EventId.Id == 2604 && e.Message.Contains("line 3", StringComparison.Ordinal) && e.Message.Contains(target.Target, StringComparison.Ordinal));
    }

    [Test]
    public async Task Scrape_SlowerThanTimeout_FailsWithDeadlineExceeded()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text("a 1\n") with { Delay = TimeSpan.FromSeconds(5) });
        var (loop, storage, _) = Create(target, new ScrapeJobOptions { JobName = "test", ScrapeInterval = TimeSpan.FromSeconds(1), ScrapeTimeout = TimeSpan.FromMilliseconds(300) });

        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        storage.Value(Series(target, "up"), Ms(0)).Should().Be(0);
        loop.Status.LastError.Should().Be("context deadline exceeded");
    }

    [Test]
    public async Task Scrape_SampleLimitExceeded_FailsWholeScrapeButCountsAll()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text("a 1\nb 2\nc 3\ndropped 4\n"));
        var job = new ScrapeJobOptions
        {
            JobName = "test",
            ScrapeInterval = TimeSpan.FromSeconds(30),
            SampleLimit = 2,
            MetricRelabelConfigs = RelabelConfig.ParseYamlList("- source_labels: [__name__]\n  regex: dropped\n  action: drop"),
        };
        var (loop, storage, _) = Create(target, job);

        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        var s = storage.At(Ms(0));
        s.Keys.Should().OnlyContain(k => k.StartsWith("up{", StringComparison.Ordinal) || k.StartsWith("scrape_", StringComparison.Ordinal));
        s[Series(target, "up")].Should().Be(0);
        s[Series(target, "scrape_samples_scraped")].Should().Be(4);
        s[Series(target, "scrape_samples_post_metric_relabeling")].Should().Be(3);
        loop.Status.LastError.Should().Be("sample limit exceeded");
    }

    [Test]
    public async Task Scrape_LabelLimits_FailScrapeWithPrometheusMessage()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text("a{x=\"1\",y=\"2\"} 1\n"));
        var (loop, storage, _) = Create(target, new ScrapeJobOptions { JobName = "test", ScrapeInterval = TimeSpan.FromSeconds(30), LabelLimit = 4 });

        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        storage.Value(Series(target, "up"), Ms(0)).Should().Be(0);
        loop.Status.LastError.Should().Be("label_limit exceeded (metric: a, number of labels: 5, limit: 4)");

        await using var target2 = new StaticHttpTarget(_ => StaticResponse.Text("a{x=\"toolong\"} 1\n"));
        var (loop2, _, _) = Create(target2, new ScrapeJobOptions { JobName = "test", ScrapeInterval = TimeSpan.FromSeconds(30), LabelValueLengthLimit = 5 });
        await loop2.ScrapeAndReportAsync(T0, CancellationToken.None);
        loop2.Status.LastError.Should().StartWith("label_value_length_limit exceeded (metric: a, label name: ");
    }

    [Test]
    public async Task Scrape_BodySizeLimit_FailsScrape()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text(string.Concat(Enumerable.Range(0, 100).Select(i => $"m{i} {i}\n"))));
        var (loop, _, _) = Create(target, new ScrapeJobOptions { JobName = "test", ScrapeInterval = TimeSpan.FromSeconds(30), BodySizeLimit = 100 });

        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        loop.Status.LastError.Should().Be("body size limit exceeded");
    }

    [Test]
    public async Task Scrape_HonorLabelsFalse_ConflictsBecomeExported()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text("a{job=\"theirs\",instance=\"i\",exported_job=\"x\"} 1\n"));
        var (loop, storage, _) = Create(target);

        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        storage.At(Ms(0)).Keys.Should().Contain(Labels.FromStrings(
            Labels.MetricName, "a", "job", "test", "instance", target.Target,
            "exported_job", "x", "exported_exported_job", "theirs", "exported_instance", "i").ToString());
    }

    [Test]
    public async Task Scrape_HonorLabelsTrue_KeepsExposedValues()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text("a{job=\"theirs\"} 1\n"));
        var (loop, storage, _) = Create(target, new ScrapeJobOptions { JobName = "test", ScrapeInterval = TimeSpan.FromSeconds(30), HonorLabels = true });

        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        storage.At(Ms(0)).Keys.Should().Contain(Labels.FromStrings(Labels.MetricName, "a", "job", "theirs", "instance", target.Target).ToString());
        storage.At(Ms(0)).Keys.Should().Contain(Series(target, "up"), "report series always carry the target labels");
    }

    [Test]
    public async Task Scrape_MetricRelabelRemovesName_FailsScrape()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text("a 1\n"));
        var (loop, _, _) = Create(target, new ScrapeJobOptions
        {
            JobName = "test",
            ScrapeInterval = TimeSpan.FromSeconds(30),
            MetricRelabelConfigs = RelabelConfig.ParseYamlList("- regex: __name__\n  action: labeldrop"),
        });

        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        loop.Status.LastError.Should().Be("missing metric name (__name__ label)");
    }

    [Test]
    public async Task StopWithStaleness_MarksEverySeriesAndReportSeries()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text("a 1\n"));
        var (loop, storage, _) = Create(target);
        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        await loop.StopAsync(EndOfRunStaleness.Immediate);

        var last = storage.Samples.Where(s => s.T > Ms(0)).ToList();
        last.Select(s => s.Labels.Name).Should().BeEquivalentTo(["a", "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"]);
        last.Should().OnlyContain(s => StaleMarker.IsStale(s.V));
    }

    [Test]
    public async Task StopDeferred_MarkersAtNextScheduledScrapeTime()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text("a 1\n"));
        var (loop, storage, _) = Create(target, new ScrapeJobOptions { JobName = "test", ScrapeInterval = TimeSpan.FromSeconds(5) });
        await loop.ScrapeAndReportAsync(T0, CancellationToken.None);

        await loop.StopAsync(EndOfRunStaleness.Deferred);

        var markers = storage.Samples.Where(s => s.T > Ms(0)).ToList();
        markers.Should().HaveCount(6).And.OnlyContain(s => StaleMarker.IsStale(s.V) && s.T == Ms(0) + 5000, "Prometheus stamps them with the next scrape's time");
    }

    [Test]
    public async Task StopDeferred_ShutdownWhileWaiting_WritesNoMarkers()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text("a 1\n"));
        var (loop, storage, _) = Create(target, new ScrapeJobOptions { JobName = "test", ScrapeInterval = TimeSpan.FromSeconds(30) });
        await loop.ScrapeAndReportAsync(TimeProvider.System.GetUtcNow(), CancellationToken.None);
        using var shutdown = new CancellationTokenSource();

        var stopping = loop.StopAsync(EndOfRunStaleness.Deferred, shutdown.Token);
        await shutdown.CancelAsync();
        await stopping;

        storage.Samples.Should().NotContain(s => StaleMarker.IsStale(s.V));
    }
}
