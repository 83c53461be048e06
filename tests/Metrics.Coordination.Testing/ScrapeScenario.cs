using System.Globalization;
using System.Text;
using System.Text.Json;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Registry;

namespace Metrics.Coordination.Testing;

/// <summary>
/// A registry holding every metric type with exactly known values (dyadic fractions, so sums are exact), awkward
/// label values and a frozen clock, plus the series a real Prometheus must store after scraping it in each format.
/// Used by the end-to-end tests of every scrape endpoint.
/// </summary>
public sealed class ScrapeScenario
{
    /// <summary>A label value with a double quote, a backslash, a newline and UTF-8 from three planes.</summary>
    public const string TrickyValue = "quote\" backslash\\ newline\n utf8 ü€🙂";

    /// <summary>The creation time of every series (the frozen registry clock).</summary>
    public static readonly DateTimeOffset CreatedAt = new(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero);

    private static readonly double[] Quantiles = [0.5, 0.9, 0.99];

    // Readable keys in failure messages: only quotes, backslashes and control characters are escaped.
    private static readonly JsonSerializerOptions KeyJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Builds the registry.</summary>
    public ScrapeScenario()
    {
        Registry = new MetricRegistry(new MetricRegistryOptions { TimeProvider = new ManualTimeProvider(CreatedAt), ExposeSelfMetrics = false });
        var requests = Registry.CreateCounter("mc_requests_total", "Requests handled.", "method", "code", "path");
        requests.WithLabels("GET", "200", "/a").Inc(3);
        requests.WithLabels("POST", "500", TrickyValue).Inc(1.5);

        // A literal backslash-n and a real newline must stay two different series.
        var echo = Registry.CreateGauge("mc_echo", "Label escaping check.", "value");
        echo.WithLabels("a\\nb").Set(1);
        echo.WithLabels("a\nb").Set(2);

        Registry.CreateGauge("mc_temperature_celsius", "Temperature.", new GaugeOptions { Unit = "celsius" }).Set(-12.25);

        var latency = Registry.CreateHistogram("mc_latency_seconds", "Latency.", new HistogramOptions { Unit = "seconds", Buckets = [0.005, 0.25, 1, 2.5, 10] });
        foreach (var v in new[] { 0.0009765625, 0.1875, 0.3125, 0.75, 3, 42 })
        {
            latency.Observe(v);
        }

        Summary = Registry.CreateSummary("mc_payload_bytes", "Payload size.", new SummaryOptions
        {
            Objectives = [new(0.5, 0.05), new(0.9, 0.01), new(0.99, 0.001)],
            MaxAge = TimeSpan.FromHours(1),
        });
        for (var i = 1; i <= 100; i++)
        {
            Summary.Observe(i);
        }

        Registry.CreateInfo("mc_build_info", "Build.", "version", "commit").Set("1.2.3", "abc123");
        Registry.CreateStateSet("mc_mode", "Mode.", ["active", "standby"]).SetState("standby");
    }

    /// <summary>The registry to serve.</summary>
    public MetricRegistry Registry { get; }

    /// <summary>The summary (its quantiles are read back as the expected values).</summary>
    public Summary Summary { get; }

    /// <summary>
    /// Every <c>mc_*</c> series Prometheus 2.42 must store after scraping the registry in <paramref name="format"/>,
    /// keyed by <see cref="Key"/> (without <c>job</c> and <c>instance</c>). The formats differ in two visible ways:
    /// OpenMetrics writes integral bucket bounds as <c>1.0</c> where Prometheus text writes <c>1</c> (2.42 stores
    /// the label as written), and only OpenMetrics has <c>_created</c> samples (2.42 stores them as plain series).
    /// </summary>
    public IReadOnlyDictionary<string, double> Expected(ExpositionFormat format)
    {
        var om = format == ExpositionFormat.OpenMetrics;
        var created = CreatedAt.ToUnixTimeMilliseconds() / 1000.0;
        var expected = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            [Key("mc_requests_total", ("method", "GET"), ("code", "200"), ("path", "/a"))] = 3,
            [Key("mc_requests_total", ("method", "POST"), ("code", "500"), ("path", TrickyValue))] = 1.5,
            [Key("mc_echo", ("value", "a\\nb"))] = 1,
            [Key("mc_echo", ("value", "a\nb"))] = 2,
            [Key("mc_temperature_celsius")] = -12.25,
            [Key("mc_latency_seconds_bucket", ("le", "0.005"))] = 1,
            [Key("mc_latency_seconds_bucket", ("le", "0.25"))] = 2,
            [Key("mc_latency_seconds_bucket", ("le", om ? "1.0" : "1"))] = 4,
            [Key("mc_latency_seconds_bucket", ("le", "2.5"))] = 4,
            [Key("mc_latency_seconds_bucket", ("le", om ? "10.0" : "10"))] = 5,
            [Key("mc_latency_seconds_bucket", ("le", "+Inf"))] = 6,
            [Key("mc_latency_seconds_sum")] = 46.2509765625,
            [Key("mc_latency_seconds_count")] = 6,
            [Key("mc_payload_bytes_sum")] = 5050,
            [Key("mc_payload_bytes_count")] = 100,
            [Key("mc_build_info", ("version", "1.2.3"), ("commit", "abc123"))] = 1,
            [Key("mc_mode", ("mc_mode", "active"))] = 0,
            [Key("mc_mode", ("mc_mode", "standby"))] = 1,
        };
        foreach (var q in Quantiles)
        {
            expected[Key("mc_payload_bytes", ("quantile", q.ToString("R", CultureInfo.InvariantCulture)))] = Summary.Quantile(q);
        }

        if (om)
        {
            expected[Key("mc_requests_created", ("method", "GET"), ("code", "200"), ("path", "/a"))] = created;
            expected[Key("mc_requests_created", ("method", "POST"), ("code", "500"), ("path", TrickyValue))] = created;
            expected[Key("mc_latency_seconds_created")] = created;
            expected[Key("mc_payload_bytes_created")] = created;
        }

        return expected;
    }

    /// <summary>
    /// Waits until Prometheus holds the <c>mc_*</c> series of <paramref name="job"/>, then asserts they are exactly
    /// <see cref="Expected"/> for <paramref name="format"/>: same series, bit-identical values.
    /// </summary>
    public async Task AssertStoredAsync(PrometheusServer prometheus, string job, ExpositionFormat format, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(prometheus);
        var expected = Expected(format);
        var query = $"{{job=\"{job}\",__name__=~\"mc_.*\"}}";
        IReadOnlyList<PromSample> stored;
        try
        {
            stored = await prometheus.WaitForAsync(query, r => r.Count >= expected.Count, timeout ?? TimeSpan.FromSeconds(30));
        }
        catch (AssertionException)
        {
            // Too few series in time: show which ones differ rather than only the count.
            stored = await prometheus.QueryAsync(query);
        }

        var actual = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var sample in stored)
        {
            actual[Key(sample.Labels)] = sample.Value;
        }

        var problems = new StringBuilder();
        foreach (var (key, value) in expected.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (!actual.TryGetValue(key, out var got))
            {
                problems.Append("  missing    ").Append(key).Append(" = ").Append(Format(value)).Append('\n');
            }
            else if (BitConverter.DoubleToInt64Bits(got) != BitConverter.DoubleToInt64Bits(value))
            {
                problems.Append("  wrong      ").Append(key).Append(" = ").Append(Format(got)).Append(", expected ").Append(Format(value)).Append('\n');
            }
        }

        foreach (var (key, value) in actual.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (!expected.ContainsKey(key))
            {
                problems.Append("  unexpected ").Append(key).Append(" = ").Append(Format(value)).Append('\n');
            }
        }

        Assert.That(problems.ToString(), Is.Empty, $"Series stored by Prometheus for job '{job}' ({format}) differ from what the test recorded.\n{prometheus.Process.Describe()}");
    }

    /// <summary>A canonical series key: name and sorted labels (JSON-quoted values), without <c>job</c> and <c>instance</c>.</summary>
    public static string Key(string name, params (string Name, string Value)[] labels)
    {
        var all = labels.ToDictionary(l => l.Name, l => l.Value, StringComparer.Ordinal);
        all["__name__"] = name;
        return Key(all);
    }

    /// <summary>A canonical series key from a label map holding <c>__name__</c>.</summary>
    public static string Key(IReadOnlyDictionary<string, string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var pairs = labels
            .Where(l => l.Key is not ("__name__" or "job" or "instance"))
            .OrderBy(l => l.Key, StringComparer.Ordinal)
            .Select(l => l.Key + "=" + JsonSerializer.Serialize(l.Value, KeyJson));
        return labels.GetValueOrDefault("__name__") + "{" + string.Join(",", pairs) + "}";
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
