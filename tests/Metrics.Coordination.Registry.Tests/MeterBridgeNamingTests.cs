using System.Diagnostics.Metrics;
using FsCheck;
using FsCheck.Fluent;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Registry.Tests;

/// <summary>OpenTelemetry-to-Prometheus names: table cases from the compatibility specification, and properties over random tag keys.</summary>
public class MeterBridgeNamingTests
{
    // Characters that matter to sanitization: valid ones, the separators OpenTelemetry names use, runs of '_',
    // digits (a leading one needs a prefix), and non-ASCII (one '_' per code point, including surrogate pairs).
    private static readonly Gen<string> TagKey =
        Gen.Choose(1, 8).SelectMany(n => Gen.ArrayOf(Gen.Elements("a", "b", "Z", "_", ".", "-", "/", " ", "0", "9", "ü", "🙂", "__"), n)).Select(parts => string.Concat(parts));

    private static readonly Gen<string> TagValue = Gen.Elements("x", "y", "GET", "200", "a;b");

    [TestCase("http.server.request.duration", "s", MetricType.Histogram, ExpectedResult = "http_server_request_duration_seconds")]
    [TestCase("http.client.request.duration", "s", MetricType.Histogram, ExpectedResult = "http_client_request_duration_seconds")]
    [TestCase("dotnet.gc.collections", "{collection}", MetricType.Counter, ExpectedResult = "dotnet_gc_collections")]
    [TestCase("dotnet.gc.heap.total_allocated", "By", MetricType.Counter, ExpectedResult = "dotnet_gc_heap_total_allocated_bytes")]
    [TestCase("dotnet.gc.pause.time", "s", MetricType.Counter, ExpectedResult = "dotnet_gc_pause_time_seconds")]
    [TestCase("requests_total", null, MetricType.Counter, ExpectedResult = "requests")]
    [TestCase("requests_total", "s", MetricType.Counter, ExpectedResult = "requests_seconds")]
    [TestCase("latency_seconds", "s", MetricType.Histogram, ExpectedResult = "latency_seconds")]
    [TestCase("seconds", "s", MetricType.Gauge, ExpectedResult = "seconds")]
    [TestCase("seconds_waiting", "s", MetricType.Gauge, ExpectedResult = "seconds_waiting_seconds")]
    [TestCase("queue.wait", "ms", MetricType.Histogram, ExpectedResult = "queue_wait_milliseconds")]
    [TestCase("cache.size", "KiBy", MetricType.Gauge, ExpectedResult = "cache_size_kibibytes")]
    [TestCase("network.io", "By/s", MetricType.Gauge, ExpectedResult = "network_io_bytes_per_second")]
    [TestCase("requests.rate", "{request}/s", MetricType.Gauge, ExpectedResult = "requests_rate_per_second")]
    [TestCase("process.cpu.utilization", "1", MetricType.Gauge, ExpectedResult = "process_cpu_utilization_ratio")]
    [TestCase("utilization_ratio", "1", MetricType.Gauge, ExpectedResult = "utilization_ratio")]
    [TestCase("retries", "1", MetricType.Counter, ExpectedResult = "retries")]
    [TestCase("packets", "packets", MetricType.Counter, ExpectedResult = "packets")]
    [TestCase("dropped", "packets", MetricType.Counter, ExpectedResult = "dropped_packets")]
    [TestCase("disk.io", "By{compressed}", MetricType.Counter, ExpectedResult = "disk_io_bytes")]
    [TestCase("temperature", "Cel", MetricType.Gauge, ExpectedResult = "temperature_celsius")]
    [TestCase("load", "%", MetricType.Gauge, ExpectedResult = "load_percent")]
    [TestCase("weird--name..x/y", "s", MetricType.Gauge, ExpectedResult = "weird_name_x_y_seconds")]
    [TestCase("trailing.", "s", MetricType.Gauge, ExpectedResult = "trailing_seconds")]
    [TestCase("9lives", null, MetricType.Gauge, ExpectedResult = "_9lives")]
    [TestCase("ns:subsystem.x", null, MetricType.Gauge, ExpectedResult = "ns:subsystem_x")]
    [TestCase("größe", "By", MetricType.Gauge, ExpectedResult = "gr_e_bytes")]
    public string FamilyName_FollowsSpecification(string instrument, string? unit, MetricType type) =>
        PrometheusNaming.FamilyName(instrument, unit, type, out _);

    [TestCase("s", MetricType.Counter, ExpectedResult = "seconds")]
    [TestCase("{request}", MetricType.Counter, ExpectedResult = null)]
    [TestCase("1", MetricType.Counter, ExpectedResult = null)]
    [TestCase("1", MetricType.Gauge, ExpectedResult = "ratio")]
    [TestCase("By/s", MetricType.Gauge, ExpectedResult = "bytes_per_second")]
    [TestCase("2s", MetricType.Gauge, ExpectedResult = null)]
    public string? FamilyName_UnitMetadata(string unit, MetricType type)
    {
        PrometheusNaming.FamilyName("x", unit, type, out var unitWord);
        return unitWord;
    }

    [TestCase("http.route", ExpectedResult = "http_route")]
    [TestCase("gc.heap.generation", ExpectedResult = "gc_heap_generation")]
    [TestCase("already_valid", ExpectedResult = "already_valid")]
    [TestCase("a..b--c", ExpectedResult = "a_b_c")]
    [TestCase("9abc", ExpectedResult = "key_9abc")]
    [TestCase("__private", ExpectedResult = "_private")]
    [TestCase("_x", ExpectedResult = "_x")]
    [TestCase("ü", ExpectedResult = "_")]
    [TestCase("🙂x", ExpectedResult = "_x")]
    [TestCase("a:b", ExpectedResult = "a_b")]
    [TestCase("", ExpectedResult = null)]
    public string? SanitizeLabelName_FollowsSpecification(string key) => PrometheusNaming.SanitizeLabelName(key);

    [Test]
    public void SanitizeLabelName_RandomKeys_DeterministicValidAndNotReserved()
    {
        Prop.ForAll(TagKey.ToArbitrary(), key =>
        {
            var first = PrometheusNaming.SanitizeLabelName(key);
            var second = PrometheusNaming.SanitizeLabelName(new string(key.AsSpan()));
            return first is not null &&
                first == second &&
                MetricNames.IsValidLegacyLabelName(first) &&
                !first.StartsWith("__", StringComparison.Ordinal) &&
                !first.Contains("__", StringComparison.Ordinal);
        }).QuickCheckThrowOnFailure();
    }

    [Test]
    public void SanitizeMetricName_RandomNames_ValidLegacyNames()
    {
        Prop.ForAll(TagKey.ToArbitrary(), Gen.Elements<string?>(null, "s", "By", "{x}", "1", "By/s", "ü").ToArbitrary(), (name, unit) =>
        {
            var family = PrometheusNaming.FamilyName(name, unit, MetricType.Gauge, out _);
            return MetricNames.IsValidLegacyMetricName(family) && !family.StartsWith("__", StringComparison.Ordinal);
        }).QuickCheckThrowOnFailure();
    }

    [Test]
    public void Bridge_RandomTags_CollisionsJoinedInKeyOrderRegardlessOfTagOrder()
    {
        var tags = Gen.ArrayOf(Gen.Zip(TagKey, TagValue))
            .Select(pairs => pairs.DistinctBy(p => p.Item1, StringComparer.Ordinal).Take(10).ToArray());
        var shuffles = Gen.Choose(0, int.MaxValue);

        Prop.ForAll(tags.ToArbitrary(), shuffles.ToArbitrary(), (pairs, seed) =>
        {
            var expected = ExpectedLabels(pairs);
            var inOrder = RecordOnce(pairs);
            var shuffled = pairs.ToArray();
            new Random(seed).Shuffle(shuffled);
            var reordered = RecordOnce(shuffled);
            var reversed = RecordOnce(pairs.Reverse().ToArray());

            return inOrder.Equals(expected) && reordered.Equals(expected) && reversed.Equals(expected);
        }).QuickCheckThrowOnFailure();
    }

    [Test]
    public void Bridge_DistinctSanitizedKeys_AreKeptApart()
    {
        // Injective where the specification allows it: keys whose sanitized names differ never share a label.
        Prop.ForAll(Gen.ArrayOf(TagKey).ToArbitrary(), keys =>
        {
            var distinct = keys.DistinctBy(k => PrometheusNaming.SanitizeLabelName(k), StringComparer.Ordinal).Take(10).ToArray();
            var pairs = distinct.Select((k, i) => (k, "v" + i)).ToArray();
            var labels = RecordOnce(pairs);
            return labels.Count == pairs.Length && pairs.All(p => labels.Get(PrometheusNaming.SanitizeLabelName(p.k)!) == p.Item2);
        }).QuickCheckThrowOnFailure();
    }

    /// <summary>What the specification says the labels of one measurement with these tags are.</summary>
    private static Labels ExpectedLabels((string Key, string Value)[] pairs)
    {
        var builder = new List<Label>();
        foreach (var group in pairs.GroupBy(p => PrometheusNaming.SanitizeLabelName(p.Key)!, StringComparer.Ordinal))
        {
            builder.Add(new Label(group.Key, string.Join(';', group.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Value))));
        }

        return Labels.From([.. builder]);
    }

    /// <summary>Records one measurement through a fresh bridge and returns the labels of the resulting series.</summary>
    private static Labels RecordOnce((string Key, string Value)[] pairs)
    {
        var registry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false });
        var name = "test.naming." + Guid.NewGuid().ToString("N");
        using var meter = new Meter(name);
        using var bridge = registry.AddMeterBridge(new MeterBridgeOptions { Meters = [name] });
        var tags = pairs.Select(p => new KeyValuePair<string, object?>(p.Key, p.Value)).ToArray();
        meter.CreateCounter<long>("c").Add(1, tags);

        var family = ExpositionParser.Parse(registry.ToText(), ExpositionFormat.PrometheusText).Single();
        var sample = family.Samples.Single();
        return Labels.From([.. sample.Labels.Where(l => l.Name != Labels.MetricName)]);
    }
}
