using System.Diagnostics;
using System.Diagnostics.Metrics;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Microsoft.Extensions.Time.Testing;

namespace Metrics.Coordination.Registry.Tests;

/// <summary>
/// The Meter bridge end to end: real <see cref="Meter"/>s, a real MeterListener, exposition text. Every test uses a
/// meter name of its own and a bridge filtered to it, because fixtures run in parallel and a MeterListener sees every
/// meter in the process.
/// </summary>
public class MeterBridgeTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_250);

    private static MetricRegistry NewRegistry() =>
        new(new MetricRegistryOptions { ExposeSelfMetrics = false, TimeProvider = new FakeTimeProvider(Start) });

    private static string UniqueMeterName() => "test.bridge." + Guid.NewGuid().ToString("N");

    private static MeterBridge Bridge(MetricRegistry registry, string meterName, Action<MeterBridgeOptions>? configure = null)
    {
        var options = new MeterBridgeOptions { Meters = [meterName] };
        configure?.Invoke(options);
        return registry.AddMeterBridge(options);
    }

    [Test]
    public void EveryInstrumentKind_PrometheusText_MatchesSnapshot()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);

        meter.CreateCounter<long>("shop.orders", "{order}", "Orders placed.").Add(5, new KeyValuePair<string, object?>("payment.method", "card"));
        var queue = meter.CreateUpDownCounter<int>("shop.queue.depth", "{item}", "Items waiting.");
        queue.Add(5);
        queue.Add(-2);
        meter.CreateObservableCounter("shop.cpu.time", () => new Measurement<double>(1.5, new KeyValuePair<string, object?>("cpu.mode", "user")), "s", "CPU time.");
        meter.CreateObservableUpDownCounter("shop.memory.usage", () => 1024L, "By", "Memory in use.");
        meter.CreateObservableGauge("shop.utilization", () => 0.75, "1", "Busy fraction.");
        meter.CreateGauge<double>("shop.temperature", "Cel", "Oven temperature.").Record(21.5);
        var duration = meter.CreateHistogram<double>(
            "shop.request.duration",
            "s",
            "Request time.",
            tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] });
        duration.Record(0.05, new KeyValuePair<string, object?>("http.route", "/cart"));
        duration.Record(0.5, new KeyValuePair<string, object?>("http.route", "/cart"));
        duration.Record(2, new KeyValuePair<string, object?>("http.route", "/cart"));

        registry.ToText().Should().Be(
            """
            # HELP shop_cpu_time_seconds_total CPU time.
            # TYPE shop_cpu_time_seconds_total counter
            shop_cpu_time_seconds_total{cpu_mode="user"} 1.5
            # HELP shop_memory_usage_bytes Memory in use.
            # TYPE shop_memory_usage_bytes gauge
            shop_memory_usage_bytes 1024
            # HELP shop_orders_total Orders placed.
            # TYPE shop_orders_total counter
            shop_orders_total{payment_method="card"} 5
            # HELP shop_queue_depth Items waiting.
            # TYPE shop_queue_depth gauge
            shop_queue_depth 3
            # HELP shop_request_duration_seconds Request time.
            # TYPE shop_request_duration_seconds histogram
            shop_request_duration_seconds_bucket{http_route="/cart",le="0.1"} 1
            shop_request_duration_seconds_bucket{http_route="/cart",le="1"} 2
            shop_request_duration_seconds_bucket{http_route="/cart",le="+Inf"} 3
            shop_request_duration_seconds_sum{http_route="/cart"} 2.55
            shop_request_duration_seconds_count{http_route="/cart"} 3
            # HELP shop_temperature_celsius Oven temperature.
            # TYPE shop_temperature_celsius gauge
            shop_temperature_celsius 21.5
            # HELP shop_utilization_ratio Busy fraction.
            # TYPE shop_utilization_ratio gauge
            shop_utilization_ratio 0.75

            """.ReplaceLineEndings("\n"));
    }

    [Test]
    public void EveryInstrumentKind_OpenMetrics_HasUnitsAndCreated()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);

        meter.CreateCounter<long>("shop.bytes.sent", "By", "Bytes sent.").Add(10);
        meter.CreateObservableCounter("shop.cpu.time", () => 1.5, "s", "CPU time.");
        meter.CreateHistogram<double>("shop.wait", "ms", "Wait.", tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = [10] }).Record(3);

        registry.ToText(ExpositionFormat.OpenMetrics).Should().Be(
            """
            # HELP shop_bytes_sent_bytes Bytes sent.
            # TYPE shop_bytes_sent_bytes counter
            # UNIT shop_bytes_sent_bytes bytes
            shop_bytes_sent_bytes_total 10
            shop_bytes_sent_bytes_created 1700000000.25
            # HELP shop_cpu_time_seconds CPU time.
            # TYPE shop_cpu_time_seconds counter
            # UNIT shop_cpu_time_seconds seconds
            shop_cpu_time_seconds_total 1.5
            # HELP shop_wait_milliseconds Wait.
            # TYPE shop_wait_milliseconds histogram
            # UNIT shop_wait_milliseconds milliseconds
            shop_wait_milliseconds_bucket{le="10.0"} 1
            shop_wait_milliseconds_bucket{le="+Inf"} 1
            shop_wait_milliseconds_sum 3
            shop_wait_milliseconds_count 1
            shop_wait_milliseconds_created 1700000000.25
            # EOF

            """.ReplaceLineEndings("\n"));
    }

    [Test]
    public void Counter_SeveralTagValues_OneSeriesEach()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);
        var orders = meter.CreateCounter<long>("orders");

        orders.Add(2, new KeyValuePair<string, object?>("method", "card"));
        orders.Add(3, new KeyValuePair<string, object?>("method", "cash"));
        orders.Add(4, new KeyValuePair<string, object?>("method", "card"));
        orders.Add(-7, new KeyValuePair<string, object?>("method", "card")); // dropped: a counter cannot go down

        SampleLines(registry).Should().BeEquivalentTo("orders_total{method=\"card\"} 6", "orders_total{method=\"cash\"} 3");
    }

    [Test]
    public void Measurement_TagOrder_DoesNotMatter()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);
        var requests = meter.CreateCounter<long>("requests");

        requests.Add(1, new("method", "GET"), new("code", "200"), new("route", "/a"));
        requests.Add(1, new("route", "/a"), new("method", "GET"), new("code", "200"));
        requests.Add(1, new("code", "200"), new("route", "/a"), new("method", "GET"));

        SampleLines(registry).Should().Equal("requests_total{code=\"200\",method=\"GET\",route=\"/a\"} 3");
    }

    [Test]
    public void Measurement_MissingAndLateTags_GetEmptyValuesAndNewLabelSets()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);
        var requests = meter.CreateCounter<long>("requests");

        requests.Add(1, new KeyValuePair<string, object?>("method", "GET"));
        requests.Add(1, new("method", "GET"), new("error.type", "timeout"));
        requests.Add(1, new KeyValuePair<string, object?>("error.type", "refused"));
        requests.Add(1);
        requests.Add(1, new("method", "GET"), new("error.type", string.Empty)); // empty value = absent: same as the first
        requests.Add(1, new("method", "GET"), new("error.type", null));

        SampleLines(registry).Should().BeEquivalentTo(
            "requests_total{method=\"GET\"} 3",
            "requests_total{method=\"\"} 1",
            "requests_total{error_type=\"timeout\",method=\"GET\"} 1",
            "requests_total{error_type=\"refused\",method=\"\"} 1");
    }

    [Test]
    public void Tags_CollidingAfterSanitization_JoinValuesInKeyOrder()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);
        var counter = meter.CreateCounter<long>("hits");

        // '.' (0x2E) sorts before '_' (0x5F) and '-' (0x2D) before both.
        counter.Add(1, new("http_method", "POST"), new("http.method", "GET"));
        counter.Add(1, new("http.method", "GET"), new("http_method", "POST"));
        counter.Add(1, new("http_method", "PUT"), new("http-method", "X"), new("http.method", "HEAD"));

        SampleLines(registry).Should().BeEquivalentTo(
            "hits_total{http_method=\"GET;POST\"} 2",
            "hits_total{http_method=\"X;HEAD;PUT\"} 1");
    }

    [Test]
    public void Tags_NonStringValues_FormattedAsOpenTelemetryAttributes()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);
        var counter = meter.CreateCounter<long>("calls");

        counter.Add(1, new("code", 404), new("ok", false), new("ratio", 0.25));
        counter.Add(1, new("big", 123456789012L), new("ids", new[] { "a", "b\"c" }), new("flags", new[] { 1, 2 }));

        SampleLines(registry).Should().BeEquivalentTo(
            "calls_total{code=\"404\",ok=\"false\",ratio=\"0.25\"} 1",
            "calls_total{big=\"123456789012\",code=\"\",flags=\"[1,2]\",ids=\"[\\\"a\\\",\\\"b\\\\\\\"c\\\"]\",ok=\"\",ratio=\"\"} 1");
    }

    [Test]
    public void Tags_ReservedAndOddNames_AreSanitized()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);

        meter.CreateHistogram<double>("latency", "s", null, null, new InstrumentAdvice<double> { HistogramBucketBoundaries = [1] })
            .Record(0.5, new("le", "x"), new("9lives", "y"), new("__private", "z"));

        SampleLines(registry).Should().Contain("latency_seconds_bucket{_private=\"z\",key_9lives=\"y\",key_le=\"x\",le=\"1\"} 1");
    }

    [Test]
    public void InstrumentCreatedAfterStart_Appears()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var bridge = Bridge(registry, name);
        registry.ToText().Should().BeEmpty();

        using var meter = new Meter(name);
        meter.CreateCounter<int>("late.arrivals").Add(2);

        SampleLines(registry).Should().Equal("late_arrivals_total 2");
        bridge.FamilyNames.Should().Equal("late_arrivals");
    }

    [Test]
    public void InstrumentWithoutMeasurements_IsRegisteredButNotWritten()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);

        meter.CreateCounter<long>("idle");

        registry.Metrics.Select(m => m.Name).Should().Contain("idle");
        registry.ToText().Should().BeEmpty();
    }

    [Test]
    public void DisposingMeter_RemovesItsFamilies()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var bridge = Bridge(registry, name);
        var meter = new Meter(name);
        meter.CreateCounter<long>("requests").Add(1);
        meter.CreateObservableGauge("temperature", () => 20.0);
        SampleLines(registry).Should().HaveCount(2);

        meter.Dispose();

        registry.Metrics.Should().BeEmpty();
        registry.ToText().Should().BeEmpty();
        bridge.FamilyNames.Should().BeEmpty();
    }

    [Test]
    public void DisposingBridge_RemovesFamiliesAndStopsRecording()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        var counter = meter.CreateCounter<long>("requests");
        var bridge = Bridge(registry, name);
        counter.Add(1);

        bridge.Dispose();
        counter.Add(1);

        registry.Metrics.Should().BeEmpty();
        registry.ToText().Should().BeEmpty();
    }

    [Test]
    public void SameInstrumentInTwoMeterInstances_ShareOneFamilyUntilBothAreDisposed()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var bridge = Bridge(registry, name);
        var first = new Meter(name);
        var second = new Meter(name);
        first.CreateCounter<long>("requests", null, "Requests.").Add(2);
        second.CreateCounter<long>("requests", null, "Requests.").Add(3);

        SampleLines(registry).Should().Equal("requests_total 5");

        first.Dispose();
        SampleLines(registry).Should().Equal("requests_total 5");

        second.Dispose();
        registry.Metrics.Should().BeEmpty();
    }

    [Test]
    public void InstrumentsMappingToOneNameWithDifferentTypes_SecondIsLeftOut()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var bridge = Bridge(registry, name);
        using var meter = new Meter(name);
        meter.CreateUpDownCounter<long>("jobs").Add(4);
        var conflicting = meter.CreateHistogram<long>("jobs");

        conflicting.Record(1);

        SampleLines(registry).Should().Equal("jobs 4");
    }

    [Test]
    public void InstrumentWhoseNameIsRegisteredDirectly_IsLeftOut()
    {
        var registry = NewRegistry();
        registry.CreateGauge("queue_depth", "Registered by hand.").Set(7);
        var name = UniqueMeterName();
        using var bridge = Bridge(registry, name);
        using var meter = new Meter(name);

        meter.CreateObservableGauge("queue.depth", () => 1);

        SampleLines(registry).Should().Equal("queue_depth 7");
        bridge.FamilyNames.Should().BeEmpty();
    }

    [Test]
    public void TwoBridgesOnOneRegistry_FirstPublishesAndSecondSkips()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        var counter = meter.CreateCounter<long>("requests");
        using var first = Bridge(registry, name);
        using var second = Bridge(registry, name);

        counter.Add(1);

        SampleLines(registry).Should().Equal("requests_total 1");
        first.FamilyNames.Should().Equal("requests");
        second.FamilyNames.Should().BeEmpty();
    }

    [Test]
    public void ObservableInstruments_AreReadOnEveryScrape()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);
        var calls = 0;
        meter.CreateObservableCounter("polls", () => ++calls * 10L);

        SampleLines(registry).Should().Equal("polls_total 10");
        SampleLines(registry).Should().Equal("polls_total 20");
        calls.Should().Be(2);
    }

    [Test]
    public void ObservableCallbackThatThrows_IsCountedAndOthersStillWrite()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);
        meter.CreateObservableGauge<double>("broken", (Func<double>)(() => throw new InvalidOperationException("boom")));
        meter.CreateObservableGauge("working", () => 1.0);

        SampleLines(registry).Should().Equal("working 1");
        registry.CollectorErrors.Should().Be(1);
    }

    [Test]
    public void HistogramBuckets_OverrideThenAdviceThenDefault()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name, o => o.HistogramBuckets = new Dictionary<string, IReadOnlyList<double>> { ["overridden"] = [7] });

        meter.CreateHistogram<double>("overridden", "s", null, null, new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2] }).Record(1);
        meter.CreateHistogram<int>("advised", "By", null, null, new InstrumentAdvice<int> { HistogramBucketBoundaries = [100, 200] }).Record(1);
        meter.CreateHistogram<double>("seconds.default", "s").Record(1);
        meter.CreateHistogram<double>("plain.default").Record(1);

        Bounds(registry, "overridden_seconds").Should().Equal("7", "+Inf");
        Bounds(registry, "advised_bytes").Should().Equal("100", "200", "+Inf");
        Bounds(registry, "seconds_default_seconds").Should().Equal("0", "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5", "5", "7.5", "10", "+Inf");
        Bounds(registry, "plain_default").Should().Equal("0", "5", "10", "25", "50", "75", "100", "250", "500", "750", "1000", "2500", "5000", "7500", "10000", "+Inf");
    }

    [Test]
    public void Options_MeterWildcardsAndExclusions_SelectMeters()
    {
        var registry = NewRegistry();
        var prefix = UniqueMeterName();
        using var bridge = registry.AddMeterBridge(new MeterBridgeOptions
        {
            Meters = [prefix.ToUpperInvariant() + ".*"],
            ExcludedMeters = [prefix + ".*.internal"],
        });
        using var included = new Meter(prefix + ".api");
        using var excluded = new Meter(prefix + ".api.internal");
        using var other = new Meter(prefix + "x.api");

        included.CreateCounter<long>("a").Add(1);
        excluded.CreateCounter<long>("b").Add(1);
        other.CreateCounter<long>("c").Add(1);

        SampleLines(registry).Should().Equal("a_total 1");
    }

    [Test]
    public void Options_InstrumentFilterAndExcludedTags_Apply()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name, o =>
        {
            o.InstrumentFilter = i => i.Name != "skipped";
            o.ExcludedTags = ["url.full"];
        });

        meter.CreateCounter<long>("kept").Add(1, new("url.full", "http://x/?id=1"), new("method", "GET"));
        meter.CreateCounter<long>("skipped").Add(1);

        SampleLines(registry).Should().Equal("kept_total{method=\"GET\"} 1");
    }

    [Test]
    public void Options_ScopeLabels_NameAndVersionOnEverySeries()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name, "1.2.3");
        using var bridge = Bridge(registry, name, o => o.AddScopeLabels = true);

        meter.CreateCounter<long>("requests").Add(1, new KeyValuePair<string, object?>("otel.scope.name", "spoof"));
        meter.CreateCounter<long>("plain").Add(1);

        SampleLines(registry).Should().BeEquivalentTo(
            $"plain_total{{otel_scope_name=\"{name}\",otel_scope_version=\"1.2.3\"}} 1",
            $"requests_total{{key_otel_scope_name=\"spoof\",otel_scope_name=\"{name}\",otel_scope_version=\"1.2.3\"}} 1");
    }

    [Test]
    public void Options_Invalid_Throw()
    {
        var registry = NewRegistry();

        var badBuckets = () => registry.AddMeterBridge(new MeterBridgeOptions { HistogramBuckets = new Dictionary<string, IReadOnlyList<double>> { ["h"] = [2, 1] } });
        var emptyPattern = () => registry.AddMeterBridge(new MeterBridgeOptions { Meters = [""] });

        badBuckets.Should().Throw<ArgumentException>();
        emptyPattern.Should().Throw<ArgumentException>();
    }

    [Test]
    public async Task Counter_ConcurrentAdds_AllCounted()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);
        var counter = meter.CreateCounter<long>("work");
        const int PerThread = 50_000;

        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                counter.Add(1, new KeyValuePair<string, object?>("worker", (t % 2).ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
        })));

        SampleLines(registry).Should().BeEquivalentTo($"work_total{{worker=\"0\"}} {2 * PerThread}", $"work_total{{worker=\"1\"}} {2 * PerThread}");
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(3)]
    public void CounterAdd_ExistingSeries_AllocatesNothing(int tagCount)
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);
        var counter = meter.CreateCounter<long>("hot");
        var histogram = meter.CreateHistogram<double>("hot.duration", "s");
        var updown = meter.CreateUpDownCounter<int>("hot.inflight");
        var code = 200; // boxed once, as callers box a cached status code
        object boxed = code;
        var t1 = new KeyValuePair<string, object?>("method", "GET");
        var t2 = new KeyValuePair<string, object?>("code", boxed);
        var t3 = new KeyValuePair<string, object?>("route", "/api/items");

        void Record()
        {
            switch (tagCount)
            {
                case 0:
                    counter.Add(1);
                    histogram.Record(0.02);
                    updown.Add(1);
                    break;
                case 1:
                    counter.Add(1, t1);
                    histogram.Record(0.02, t1);
                    updown.Add(1, t1);
                    break;
                default:
                    counter.Add(1, t1, t2, t3);
                    histogram.Record(0.02, t1, t2, t3);
                    updown.Add(1, t1, t2, t3);
                    break;
            }
        }

        for (var i = 0; i < 100; i++)
        {
            Record();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            Record();
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0);
        SampleLines(registry).Should().Contain(l => l.StartsWith("hot_total", StringComparison.Ordinal) && l.EndsWith(" 10100", StringComparison.Ordinal));
    }

    [Test]
    public void CounterAdd_ScopeLabelsAndManyTags_AllocatesNothing()
    {
        // Scope labels and more than three tags bypass the shape cache and the three-label fast path; the general
        // path's scratch arrays come from the pool.
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name, "2.0");
        using var bridge = Bridge(registry, name, o => o.AddScopeLabels = true);
        var counter = meter.CreateCounter<long>("hot");
        var tags = new TagList { { "a", "1" }, { "b", "2" }, { "c", "3" }, { "d", "4" }, { "e", "5" } };
        for (var i = 0; i < 100; i++)
        {
            counter.Add(1, tags);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            counter.Add(1, tags);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0);
        SampleLines(registry).Should().Equal($"hot_total{{a=\"1\",b=\"2\",c=\"3\",d=\"4\",e=\"5\",otel_scope_name=\"{name}\",otel_scope_version=\"2.0\"}} 10100");
    }

    [Test]
    public void Tags_EqualValuesAsDistinctInstances_OneSeries()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);
        var counter = meter.CreateCounter<long>("requests");

        for (var i = 0; i < 100; i++)
        {
            // New key and value instances every time, and a fresh box for the number: the reference caches miss.
            counter.Add(1, new(new string("method".AsSpan()), new string("GET".AsSpan())), new("code", (object)200));
        }

        SampleLines(registry).Should().Equal("requests_total{code=\"200\",method=\"GET\"} 100");
    }

    [Test]
    public void Tags_MoreShapesThanCacheSlots_CountedExactlyAndSteadyStateAllocatesNothing()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);
        var counter = meter.CreateCounter<long>("requests");
        var routes = Enumerable.Range(0, 500).Select(i => "/r/" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var methods = new[] { "GET", "POST" };

        void Pass()
        {
            foreach (var route in routes)
            {
                foreach (var method in methods)
                {
                    counter.Add(1, new KeyValuePair<string, object?>("http.route", route), new KeyValuePair<string, object?>("http.request.method", method));
                }
            }
        }

        Pass();
        var before = GC.GetAllocatedBytesForCurrentThread();
        Pass();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        allocated.Should().Be(0);
        var lines = SampleLines(registry);
        lines.Should().HaveCount(1000);
        lines.Should().OnlyContain(l => l.EndsWith(" 2", StringComparison.Ordinal));
    }

    [Test]
    public void Tags_ArrayValueMutatedBetweenMeasurements_FollowsContent()
    {
        var registry = NewRegistry();
        var name = UniqueMeterName();
        using var meter = new Meter(name);
        using var bridge = Bridge(registry, name);
        var counter = meter.CreateCounter<long>("batches");
        var ids = new[] { 1, 2 };

        counter.Add(1, new KeyValuePair<string, object?>("ids", ids));
        ids[1] = 3;
        counter.Add(1, new KeyValuePair<string, object?>("ids", ids));

        SampleLines(registry).Should().BeEquivalentTo("batches_total{ids=\"[1,2]\"} 1", "batches_total{ids=\"[1,3]\"} 1");
    }

    /// <summary>The sample lines of the registry's Prometheus text, without metadata.</summary>
    internal static List<string> SampleLines(MetricRegistry registry) =>
        registry.ToText().Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')).ToList();

    private static List<string> Bounds(MetricRegistry registry, string family)
    {
        var parsed = ExpositionParser.Parse(registry.ToText(), ExpositionFormat.PrometheusText);
        return parsed.Single(f => f.Name == family).Samples
            .Where(s => s.Name == family + "_bucket")
            .Select(s => s.Labels.Get("le"))
            .ToList();
    }
}
