using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Registry.Tests;

/// <summary>
/// A real Prometheus 2.42 with <c>--enable-feature=exemplar-storage</c> scrapes a <see cref="MetricServer"/> (as
/// OpenMetrics, which it asks for first) and returns the registry's exemplars from <c>/api/v1/query_exemplars</c>.
/// </summary>
[TestFixture]
[Category("Integration")]
public class ExemplarPrometheusTests
{
    private const string SourceName = "Metrics.Coordination.Registry.Tests.ExemplarPrometheus";
    private const string CounterTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string BucketTrace = "0af7651916cd43dd8448eb211c80319c";

    private ActivityListener _listener = null!;
    private ActivitySource _source = null!;
    private MetricRegistry _registry = null!;
    private MetricServer _server = null!;
    private PrometheusServer _prometheus = null!;
    private string _activityTrace = null!;
    private string _activitySpan = null!;
    private CounterSeries _counter = null!;
    private HistogramSeries _histogram = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _source = new ActivitySource(SourceName);
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(_listener);

        _registry = new MetricRegistry();
        _counter = _registry.CreateCounter("exemplar_jobs_total", "Jobs done.", "queue").WithLabels("default");
        _counter.Inc(2, Labels.FromStrings("trace_id", CounterTrace));
        _histogram = _registry.CreateHistogram("exemplar_latency_seconds", "Latency.", new HistogramOptions { Buckets = [0.1, 1] }).WithLabels();
        _histogram.Observe(0.05, Labels.FromStrings("trace_id", BucketTrace, "span_id", "00f067aa0ba902b7"));
        using (var activity = _source.StartActivity("request")!)
        {
            _activityTrace = activity.TraceId.ToHexString();
            _activitySpan = activity.SpanId.ToHexString();
            _histogram.Observe(0.5);
        }

        _server = new MetricServer(_registry);
        await _server.StartAsync();
        _prometheus = await PrometheusServer.StartAsync(new PrometheusOptions
        {
            ScrapeJobs = [ScrapeJob.ForPort("exemplars", _server.Url.Port)],
            ExtraArguments = ["--enable-feature=exemplar-storage"],
        });
        await _prometheus.WaitForAsync("up", r => r.Count == 1 && r[0].Value == 1, TimeSpan.FromSeconds(30));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_prometheus is not null)
        {
            await _prometheus.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _listener?.Dispose();
        _source?.Dispose();
    }

    [Test]
    public async Task QueryExemplars_Counter_ReturnsTheExplicitExemplarOnTotal()
    {
        var expected = _counter.Exemplar!;

        var exemplars = await WaitForExemplarsAsync("exemplar_jobs_total", all => all.Count > 0);

        exemplars.Should().ContainSingle();
        var e = exemplars[0];
        e.Series["__name__"].Should().Be("exemplar_jobs_total");
        e.Series["queue"].Should().Be("default");
        e.Series["job"].Should().Be("exemplars");
        e.Labels.Should().Equal(new Dictionary<string, string> { ["trace_id"] = CounterTrace });
        e.Value.Should().Be(2);
        e.TimestampSeconds.Should().BeApproximately(expected.TimestampMs!.Value / 1000.0, 0.0005);
    }

    [Test]
    public async Task QueryExemplars_Histogram_ReturnsExplicitAndTraceContextExemplarsOnTheirBuckets()
    {
        var expected = _histogram.GetBucketExemplars();

        // Another test adds an exemplar to this histogram, so look for these two rather than count.
        var exemplars = await WaitForExemplarsAsync(
            "exemplar_latency_seconds_bucket",
            all => all.Any(e => e.Labels.GetValueOrDefault("trace_id") == BucketTrace) && all.Any(e => e.Labels.GetValueOrDefault("trace_id") == _activityTrace));

        var explicitOne = exemplars.Single(e => e.Labels.GetValueOrDefault("trace_id") == BucketTrace);
        explicitOne.Series["le"].Should().Be("0.1");
        explicitOne.Labels.Should().Equal(new Dictionary<string, string> { ["trace_id"] = BucketTrace, ["span_id"] = "00f067aa0ba902b7" });
        explicitOne.Value.Should().Be(0.05);
        explicitOne.TimestampSeconds.Should().BeApproximately(expected[0]!.TimestampMs!.Value / 1000.0, 0.0005);

        var automatic = exemplars.Single(e => e.Labels.GetValueOrDefault("trace_id") == _activityTrace);
        automatic.Series["le"].Should().BeOneOf("1", "1.0");
        automatic.Labels.Should().Equal(new Dictionary<string, string> { ["trace_id"] = _activityTrace, ["span_id"] = _activitySpan });
        automatic.Value.Should().Be(0.5);
        automatic.TimestampSeconds.Should().BeApproximately(expected[1]!.TimestampMs!.Value / 1000.0, 0.0005);
    }

    [Test]
    public async Task QueryExemplars_NewerExemplar_ReplacesTheOldOneInLaterScrapes()
    {
        const string trace = "11111111111111111111111111111111";
        _histogram.Observe(0.01, Labels.FromStrings("trace_id", trace));

        var exemplars = await WaitForExemplarsAsync("exemplar_latency_seconds_bucket{le=\"0.1\"}", all => all.Any(e => e.Labels.GetValueOrDefault("trace_id") == trace));

        exemplars.Select(e => e.Labels["trace_id"]).Should().Contain(trace);
        exemplars.Single(e => e.Labels["trace_id"] == trace).Value.Should().Be(0.01);
    }

    private async Task<IReadOnlyList<StoredExemplar>> WaitForExemplarsAsync(string selector, Func<IReadOnlyList<StoredExemplar>, bool> done)
    {
        var clock = Stopwatch.StartNew();
        IReadOnlyList<StoredExemplar> last = [];
        while (true)
        {
            var now = _registry.Time.GetUtcNow();
            var query = "api/v1/query_exemplars?query=" + Uri.EscapeDataString(selector) +
                "&start=" + now.AddMinutes(-10).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) +
                "&end=" + now.AddMinutes(10).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
            using (var document = await _prometheus.GetJsonAsync(query))
            {
                last = Parse(document);
            }

            if (done(last))
            {
                return last;
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                Assert.Fail($"query_exemplars '{selector}' returned {last.Count} exemplar(s) after 30 s:\n  {string.Join("\n  ", last)}\n{_prometheus.Process.Describe()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }
    }

    private static List<StoredExemplar> Parse(JsonDocument document)
    {
        var result = new List<StoredExemplar>();
        foreach (var series in document.RootElement.GetProperty("data").EnumerateArray())
        {
            var seriesLabels = series.GetProperty("seriesLabels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            foreach (var e in series.GetProperty("exemplars").EnumerateArray())
            {
                result.Add(new StoredExemplar(
                    seriesLabels,
                    e.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                    double.Parse(e.GetProperty("value").GetString()!, CultureInfo.InvariantCulture),
                    e.GetProperty("timestamp").GetDouble()));
            }
        }

        return result;
    }

    private sealed record StoredExemplar(Dictionary<string, string> Series, Dictionary<string, string> Labels, double Value, double TimestampSeconds)
    {
        public override string ToString() =>
            $"{{{string.Join(",", Series.Select(l => $"{l.Key}={l.Value}"))}}} # {{{string.Join(",", Labels.Select(l => $"{l.Key}={l.Value}"))}}} {Value} {TimestampSeconds}";
    }
}
