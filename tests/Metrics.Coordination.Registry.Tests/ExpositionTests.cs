using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Registry;
using Microsoft.Extensions.Time.Testing;

namespace Metrics.Coordination.Registry.Tests;

public class ExpositionTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_250);

    private static (MetricRegistry Registry, FakeTimeProvider Time) NewRegistry(bool self = false)
    {
        var time = new FakeTimeProvider(Start);
        return (new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = self, TimeProvider = time }), time);
    }

    private static MetricRegistry Sample()
    {
        var (r, _) = NewRegistry();
        r.CreateCounter("http_requests_total", "Requests \"served\" \\ by\nroute.", "route", "code").WithLabels("/a\"b\\c\nd", "200").Inc(3);
        r.CreateGauge("queue_depth", "Items waiting.").Set(-2.5);
        var h = r.CreateHistogram("latency_seconds", "Latency.", new HistogramOptions { Buckets = [0.5, 1], Unit = "seconds" });
        h.Observe(0.25);
        h.Observe(2);
        var s = r.CreateSummary("payload_bytes", "Payload.", new SummaryOptions { Objectives = [new(0.5, 0.05)] });
        s.Observe(10);
        r.CreateUntyped("legacy_thing", "Untyped.").Set(double.PositiveInfinity);
        r.CreateInfo("build", "Build info.", "version").Set("1.2.3-ü€🙂");
        return r;
    }

    [Test]
    public void WriteTo_PrometheusText_MatchesSnapshot()
    {
        Sample().ToText().Should().Be(
            """
            # HELP build_info Build info.
            # TYPE build_info gauge
            build_info{version="1.2.3-ü€🙂"} 1
            # HELP http_requests_total Requests "served" \\ by\nroute.
            # TYPE http_requests_total counter
            http_requests_total{route="/a\"b\\c\nd",code="200"} 3
            # HELP latency_seconds Latency.
            # TYPE latency_seconds histogram
            latency_seconds_bucket{le="0.5"} 1
            latency_seconds_bucket{le="1"} 1
            latency_seconds_bucket{le="+Inf"} 2
            latency_seconds_sum 2.25
            latency_seconds_count 2
            # HELP legacy_thing Untyped.
            # TYPE legacy_thing untyped
            legacy_thing +Inf
            # HELP payload_bytes Payload.
            # TYPE payload_bytes summary
            payload_bytes{quantile="0.5"} 10
            payload_bytes_sum 10
            payload_bytes_count 1
            # HELP queue_depth Items waiting.
            # TYPE queue_depth gauge
            queue_depth -2.5

            """.ReplaceLineEndings("\n"));
    }

    [Test]
    public void WriteTo_OpenMetrics_MatchesSnapshot()
    {
        Sample().ToText(ExpositionFormat.OpenMetrics).Should().Be(
            """
            # HELP build Build info.
            # TYPE build info
            build_info{version="1.2.3-ü€🙂"} 1
            # HELP http_requests Requests \"served\" \\ by\nroute.
            # TYPE http_requests counter
            http_requests_total{route="/a\"b\\c\nd",code="200"} 3
            http_requests_created{route="/a\"b\\c\nd",code="200"} 1700000000.25
            # HELP latency_seconds Latency.
            # TYPE latency_seconds histogram
            # UNIT latency_seconds seconds
            latency_seconds_bucket{le="0.5"} 1
            latency_seconds_bucket{le="1.0"} 1
            latency_seconds_bucket{le="+Inf"} 2
            latency_seconds_sum 2.25
            latency_seconds_count 2
            latency_seconds_created 1700000000.25
            # HELP legacy_thing Untyped.
            # TYPE legacy_thing unknown
            legacy_thing +Inf
            # HELP payload_bytes Payload.
            # TYPE payload_bytes summary
            payload_bytes{quantile="0.5"} 10
            payload_bytes_sum 10
            payload_bytes_count 1
            payload_bytes_created 1700000000.25
            # HELP queue_depth Items waiting.
            # TYPE queue_depth gauge
            queue_depth -2.5
            # EOF

            """.ReplaceLineEndings("\n"));
    }

    [TestCase(NameEscaping.Underscores, "my_app_requests_total{http_method=\"GET\"} 1")]
    [TestCase(NameEscaping.AllowUtf8, "{\"my.app.requests_total\",\"http.method\"=\"GET\"} 1")]
    [TestCase(NameEscaping.Dots, "my_dot_app_dot_requests__total{http_dot_method=\"GET\"} 1")]
    [TestCase(NameEscaping.Values, "U__my_2e_app_2e_requests__total{U__http_2e_method=\"GET\"} 1")]
    public void WriteTo_Utf8Names_EscapedPerScheme(NameEscaping escaping, string expectedLine)
    {
        var (r, _) = NewRegistry();
        r.CreateCounter("my.app.requests_total", "h", "http.method").WithLabels("GET").Inc();
        r.ToText(ExpositionFormat.PrometheusText, escaping).Should().Contain(expectedLine + "\n");
    }

    [Test]
    public async Task WriteToAsync_LargeRegistry_SameBytesAsWriteTo()
    {
        var (r, _) = NewRegistry();
        for (var f = 0; f < 3; f++)
        {
            var c = r.CreateCounter($"family_{f}_total", "h", "i");
            for (var i = 0; i < 5000; i++)
            {
                c.WithLabels(i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc(i);
            }
        }

        foreach (var format in new[] { ExpositionFormat.PrometheusText, ExpositionFormat.OpenMetrics })
        {
            var sync = new ArrayBufferWriter<byte>();
            r.WriteTo(sync, format);
            var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
            var stream = new MemoryStream();
            var reading = pipe.Reader.CopyToAsync(stream);
            await r.WriteToAsync(pipe.Writer, format);
            await pipe.Writer.CompleteAsync();
            await reading;
            stream.ToArray().Should().Equal(sync.WrittenSpan.ToArray());
        }
    }

    [Test]
    public void CardinalityLimit_Exceeded_OverflowSeriesAndCounted()
    {
        var (r, _) = NewRegistry(self: true);
        var c = r.CreateCounter("user_logins_total", "h", new CounterOptions { LabelNames = ["user"], CardinalityLimit = 2 });
        c.WithLabels("ann").Inc();
        c.WithLabels("bob").Inc();
        var overflow = c.WithLabels("cy");
        overflow.IsOverflow.Should().BeTrue();
        overflow.Inc();
        c.WithLabels("dee").Should().BeSameAs(overflow);
        overflow.Inc();
        c.WithLabels("ann").IsOverflow.Should().BeFalse("existing label sets keep their series");
        var text = r.ToText();
        text.Should().Contain("user_logins_total{otel_metric_overflow=\"true\"} 2\n");
        text.Should().Contain("metrics_coordination_cardinality_overflow_total{metric=\"user_logins\"} 2\n");
        c.SeriesCount.Should().Be(3);
    }

    [Test]
    public void LabelSetExpiry_IdleSeriesRemovedAtScrape_ActiveKept()
    {
        var (r, time) = NewRegistry();
        var g = r.CreateGauge("conn", "h", new GaugeOptions { LabelNames = ["peer"], LabelSetExpiry = TimeSpan.FromMinutes(5) });
        var idle = g.WithLabels("idle");
        idle.Set(1);
        var busy = g.WithLabels("busy");
        var looked = g.WithLabels("looked-up");
        r.ToText();
        for (var minute = 0; minute < 6; minute++)
        {
            time.Advance(TimeSpan.FromMinutes(1));
            busy.Set(minute);
            g.WithLabels("looked-up");
            r.ToText();
        }

        idle.IsRemoved.Should().BeTrue();
        busy.IsRemoved.Should().BeFalse();
        looked.IsRemoved.Should().BeFalse();
        r.ToText().Should().NotContain("peer=\"idle\"").And.Contain("peer=\"busy\"");
    }

    [Test]
    public void Collectors_ThrowingOneCountedAndRestOfScrapeServed()
    {
        var (r, _) = NewRegistry(self: true);
        r.CreateGauge("own", "h").Set(1);
        var temperature = r.CreateGauge("temperature", "set by a callback");
        r.AddBeforeCollectCallback("sensor", () => temperature.Set(21));
        r.AddBeforeCollectCallback("broken-callback", () => throw new InvalidOperationException("boom"));
        r.AddCollector("broken", () => throw new InvalidOperationException("boom"));
        r.AddCollector("clashing", () => [new MetricFamily("own", MetricType.Gauge, "dup")]);
        using var ok = r.AddCollector("good", () =>
        {
            var f = new MetricFamily("computed", MetricType.Gauge, "computed at scrape");
            f.Samples.Add(new MetricSample("computed", Labels.FromStrings("k", "v"), 42));
            return [f];
        });

        var text = r.ToText();
        text.Should().Contain("computed{k=\"v\"} 42\n").And.Contain("own 1\n").And.Contain("temperature 21\n");
        text.Should().NotContain("dup");
        r.CollectorErrors.Should().Be(3);
        // The second scrape shows the first scrape's three errors plus its own callback failure (collectors run after the families are written).
        r.ToText().Should().Contain("metrics_coordination_collector_errors_total 4\n");
    }

    [Test]
    public void Collector_Disposed_NoLongerCalled()
    {
        var (r, _) = NewRegistry();
        var calls = 0;
        var registration = r.AddCollector("c", () =>
        {
            calls++;
            return [];
        });
        r.ToText();
        registration.Dispose();
        r.ToText();
        calls.Should().Be(1);
    }

    [Test]
    public void WriteTo_WarmScrape_AllocatesLittle()
    {
        var (r, _) = NewRegistry();
        var c = r.CreateCounter("c_total", "h", "a", "b");
        for (var i = 0; i < 10_000; i++)
        {
            c.WithLabels("v" + i, "w").Inc();
        }

        var buffer = new ArrayBufferWriter<byte>(4 * 1024 * 1024);
        r.WriteTo(buffer);
        buffer.ResetWrittenCount();
        var before = GC.GetAllocatedBytesForCurrentThread();
        r.WriteTo(buffer);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        allocated.Should().BeLessThan(64 * 1024, "a warm scrape reuses cached encodings");
        Encoding.UTF8.GetString(buffer.WrittenSpan).Split('\n').Should().HaveCount(10_000 + 3);
    }
}
