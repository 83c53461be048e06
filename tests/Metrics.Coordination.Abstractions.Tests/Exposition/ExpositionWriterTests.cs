using System.Buffers;
using System.Globalization;
using System.Text;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Abstractions.Tests.Exposition;

/// <summary>Whole-output snapshots of <see cref="ExpositionWriter.WriteFamily"/> for every type in both formats.</summary>
[TestFixture]
public sealed class ExpositionWriterTests
{
    private const ExpositionFormat Om = ExpositionFormat.OpenMetrics;
    private const ExpositionFormat Text = ExpositionFormat.PrometheusText;

    [Test]
    public void WriteFamily_Counter_WritesTotalAndCreatedPerFormat()
    {
        var family = Family("http_requests", MetricType.Counter, "Total requests.", null,
            S("http_requests_total", Labels.FromStrings("code", "200", "method", "get"), 1027, exemplar: new Exemplar(Labels.FromStrings("trace_id", "abc"), 1, 1700000000123)),
            S("http_requests_created", Labels.FromStrings("code", "200", "method", "get"), 1700000000.5));

        Write(Text, family).Should().Be("""
            # HELP http_requests_total Total requests.
            # TYPE http_requests_total counter
            http_requests_total{code="200",method="get"} 1027

            """);
        Write(Om, family).Should().Be("""
            # HELP http_requests Total requests.
            # TYPE http_requests counter
            http_requests_total{code="200",method="get"} 1027 # {trace_id="abc"} 1 1700000000.123
            http_requests_created{code="200",method="get"} 1700000000.5
            # EOF

            """);
    }

    [Test]
    public void WriteFamily_PrometheusStyleCounterName_DeclaresFamilyWithoutTotalInOpenMetrics()
    {
        var family = Family("jobs_total", MetricType.Counter, null, null, S("jobs_total", Labels.Empty, 3));

        Write(Text, family).Should().Be("# TYPE jobs_total counter\njobs_total 3\n");
        Write(Om, family).Should().Be("# TYPE jobs counter\njobs_total 3\n# EOF\n");
        ExpositionParser.Parse(Write(Om, family), Om).Single().Name.Should().Be("jobs");
    }

    [Test]
    public void WriteFamily_Gauge_WritesSpecialValuesAndTimestamps()
    {
        var family = Family("temperature_celsius", MetricType.Gauge, "Temperature \\ in \"C\"\nsecond line.", "celsius",
            S("temperature_celsius", Labels.FromStrings("room", "a\"b\\c\nd"), -1.5, 1500),
            S("temperature_celsius", Labels.FromStrings("room", "é🙂"), double.NaN, -1500),
            S("temperature_celsius", Labels.FromStrings("room", "hot"), double.PositiveInfinity),
            S("temperature_celsius", Labels.FromStrings("room", "cold"), double.NegativeInfinity, 0),
            S("temperature_celsius", Labels.FromStrings("room", "zero"), -0.0, -1));

        Write(Text, family).Should().Be("""
            # HELP temperature_celsius Temperature \\ in "C"\nsecond line.
            # TYPE temperature_celsius gauge
            temperature_celsius{room="a\"b\\c\nd"} -1.5 1500
            temperature_celsius{room="é🙂"} NaN -1500
            temperature_celsius{room="hot"} +Inf
            temperature_celsius{room="cold"} -Inf 0
            temperature_celsius{room="zero"} -0 -1

            """);
        Write(Om, family).Should().Be("""
            # HELP temperature_celsius Temperature \\ in \"C\"\nsecond line.
            # TYPE temperature_celsius gauge
            # UNIT temperature_celsius celsius
            temperature_celsius{room="a\"b\\c\nd"} -1.5 1.5
            temperature_celsius{room="é🙂"} NaN -1.5
            temperature_celsius{room="hot"} +Inf
            temperature_celsius{room="cold"} -Inf 0
            temperature_celsius{room="zero"} -0 -0.001
            # EOF

            """);
    }

    [Test]
    public void WriteFamily_Histogram_PutsCanonicalLeLast()
    {
        var family = Family("latency_seconds", MetricType.Histogram, "Latency.", "seconds",
            S("latency_seconds_bucket", Labels.FromStrings("path", "/", "le", "0.1"), 1, exemplar: new Exemplar(Labels.FromStrings("trace_id", "t1"), 0.05)),
            S("latency_seconds_bucket", Labels.FromStrings("path", "/", "le", "1"), 2),
            S("latency_seconds_bucket", Labels.FromStrings("path", "/", "le", "1e+06"), 2),
            S("latency_seconds_bucket", Labels.FromStrings("path", "/", "le", "+Inf"), 3),
            S("latency_seconds_sum", Labels.FromStrings("path", "/"), 1.5),
            S("latency_seconds_count", Labels.FromStrings("path", "/"), 3),
            S("latency_seconds_created", Labels.FromStrings("path", "/"), 1700000000));

        Write(Text, family).Should().Be("""
            # HELP latency_seconds Latency.
            # TYPE latency_seconds histogram
            latency_seconds_bucket{path="/",le="0.1"} 1
            latency_seconds_bucket{path="/",le="1"} 2
            latency_seconds_bucket{path="/",le="1000000"} 2
            latency_seconds_bucket{path="/",le="+Inf"} 3
            latency_seconds_sum{path="/"} 1.5
            latency_seconds_count{path="/"} 3

            """);
        Write(Om, family).Should().Be("""
            # HELP latency_seconds Latency.
            # TYPE latency_seconds histogram
            # UNIT latency_seconds seconds
            latency_seconds_bucket{path="/",le="0.1"} 1 # {trace_id="t1"} 0.05
            latency_seconds_bucket{path="/",le="1.0"} 2
            latency_seconds_bucket{path="/",le="1000000.0"} 2
            latency_seconds_bucket{path="/",le="+Inf"} 3
            latency_seconds_sum{path="/"} 1.5
            latency_seconds_count{path="/"} 3
            latency_seconds_created{path="/"} 1700000000
            # EOF

            """);
    }

    [Test]
    public void WriteFamily_Summary_WritesQuantiles()
    {
        var family = Family("rpc_seconds", MetricType.Summary, null, null,
            S("rpc_seconds", Labels.FromStrings("quantile", "0.5"), 0.25),
            S("rpc_seconds", Labels.FromStrings("quantile", "0.99"), double.NaN),
            S("rpc_seconds", Labels.FromStrings("quantile", "1"), 7),
            S("rpc_seconds_sum", Labels.Empty, 17.5),
            S("rpc_seconds_count", Labels.Empty, 10),
            S("rpc_seconds_created", Labels.Empty, 1.5));

        Write(Text, family).Should().Be("""
            # TYPE rpc_seconds summary
            rpc_seconds{quantile="0.5"} 0.25
            rpc_seconds{quantile="0.99"} NaN
            rpc_seconds{quantile="1"} 7
            rpc_seconds_sum 17.5
            rpc_seconds_count 10

            """);
        Write(Om, family).Should().Be("""
            # TYPE rpc_seconds summary
            rpc_seconds{quantile="0.5"} 0.25
            rpc_seconds{quantile="0.99"} NaN
            rpc_seconds{quantile="1.0"} 7
            rpc_seconds_sum 17.5
            rpc_seconds_count 10
            rpc_seconds_created 1.5
            # EOF

            """);
    }

    [Test]
    public void WriteFamily_OpenMetricsOnlyTypes_DegradeToGaugeAndHistogramInText()
    {
        var info = Family("build", MetricType.Info, "Build.", null, S("build_info", Labels.FromStrings("version", "1.2"), 1));
        var stateSet = Family("state", MetricType.StateSet, null, null,
            S("state", Labels.FromStrings("state", "on"), 1),
            S("state", Labels.FromStrings("state", "off"), 0));
        var gaugeHistogram = Family("queue", MetricType.GaugeHistogram, null, null,
            S("queue_bucket", Labels.FromStrings("le", "1"), 2),
            S("queue_bucket", Labels.FromStrings("le", "+Inf"), 3),
            S("queue_gcount", Labels.Empty, 3),
            S("queue_gsum", Labels.Empty, 4.5));
        var unknown = Family("thing", MetricType.Unknown, null, null, S("thing", Labels.Empty, 42.23));

        Write(Text, info, stateSet, gaugeHistogram, unknown).Should().Be("""
            # HELP build_info Build.
            # TYPE build_info gauge
            build_info{version="1.2"} 1
            # TYPE state gauge
            state{state="on"} 1
            state{state="off"} 0
            # TYPE queue histogram
            queue_bucket{le="1"} 2
            queue_bucket{le="+Inf"} 3
            queue_gcount 3
            queue_gsum 4.5
            # TYPE thing untyped
            thing 42.23

            """);
        Write(Om, info, stateSet, gaugeHistogram, unknown).Should().Be("""
            # HELP build Build.
            # TYPE build info
            build_info{version="1.2"} 1
            # TYPE state stateset
            state{state="on"} 1
            state{state="off"} 0
            # TYPE queue gaugehistogram
            queue_bucket{le="1.0"} 2
            queue_bucket{le="+Inf"} 3
            queue_gcount 3
            queue_gsum 4.5
            # TYPE thing unknown
            thing 42.23
            # EOF

            """);
    }

    [Test]
    public void WriteFamily_Snapshots_ParseBackInBothFormats()
    {
        // The Prometheus text rendering of a gauge histogram has _gcount/_gsum, which that format does not know:
        // they read back as untyped families of their own, as in Prometheus.
        var families = new[]
        {
            Family("g", MetricType.Gauge, "x", null, S("g", Labels.FromStrings("a", "b"), 1)),
            Family("queue", MetricType.GaugeHistogram, null, null, S("queue_bucket", Labels.FromStrings("le", "+Inf"), 3), S("queue_gcount", Labels.Empty, 3)),
        };

        ExpositionParser.Parse(Write(Om, families), Om).Select(f => (f.Name, f.Type)).Should().Equal(("g", MetricType.Gauge), ("queue", MetricType.GaugeHistogram));
        ExpositionParser.Parse(Write(Text, families), Text).Select(f => (f.Name, f.Type)).Should().Equal(
            ("g", MetricType.Gauge), ("queue", MetricType.Histogram), ("queue_gcount", MetricType.Unknown));
    }

    [Test]
    public void WriteFamily_Utf8NamesWithAllowUtf8_AreQuoted()
    {
        var family = Family("my.metric", MetricType.Counter, "Dotted.", null,
            S("my.metric_total", Labels.FromStrings("label.x", "v", "ok", "w"), 1));

        Write(Om, NameEscaping.AllowUtf8, family).Should().Be("""
            # HELP "my.metric" Dotted.
            # TYPE "my.metric" counter
            {"my.metric_total","label.x"="v",ok="w"} 1
            # EOF

            """);
        Write(Text, NameEscaping.AllowUtf8, family).Should().Be("""
            # HELP "my.metric_total" Dotted.
            # TYPE "my.metric_total" counter
            {"my.metric_total","label.x"="v",ok="w"} 1

            """);
        Write(Text, NameEscaping.Underscores, family).Should().Be("""
            # HELP my_metric_total Dotted.
            # TYPE my_metric_total counter
            my_metric_total{label_x="v",ok="w"} 1

            """);
    }

    [TestCase(0.0, "0")]
    [TestCase(-0.0, "-0")]
    [TestCase(1.0, "1")]
    [TestCase(-1.0, "-1")]
    [TestCase(0.1, "0.1")]
    [TestCase(1.5, "1.5")]
    [TestCase(123456.789, "123456.789")]
    [TestCase(1e14, "100000000000000")]
    [TestCase(999999999999999.0, "999999999999999")]
    [TestCase(1e15, "1000000000000000")] // past the integer fast path, .NET's shortest "R" still writes plain digits
    [TestCase(-1e15, "-1000000000000000")]
    [TestCase(9007199254740992.0, "9007199254740992")]
    [TestCase(1e16, "10000000000000000")]
    [TestCase(12345678901234567890.0, "1.2345678901234567e+19")]
    [TestCase(1e21, "1e+21")]
    [TestCase(1e-7, "1e-07")]
    [TestCase(0.0001, "0.0001")]
    [TestCase(1e-5, "1e-05")]
    [TestCase(double.MaxValue, "1.7976931348623157e+308")]
    [TestCase(double.Epsilon, "5e-324")]
    [TestCase(double.NaN, "NaN")]
    [TestCase(double.PositiveInfinity, "+Inf")]
    [TestCase(double.NegativeInfinity, "-Inf")]
    public void FormatDouble_KnownValues_WritesPrometheusSpelling(double value, string expected)
    {
        Format(value).Should().Be(expected);
    }

    [Test]
    public void FormatDouble_RandomDoubles_AreShortestAndReadBackBitForBit()
    {
        var random = new Random(20240611);
        Span<byte> buffer = stackalloc byte[64];
        for (var i = 0; i < 20000; i++)
        {
            var value = i % 2 == 0 ? BitConverter.Int64BitsToDouble(random.NextInt64()) : (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-30, 30));
            if (double.IsNaN(value))
            {
                continue;
            }

            var n = ExpositionWriter.FormatDouble(value, buffer);
            n.Should().BeLessThanOrEqualTo(32);
            var text = Encoding.ASCII.GetString(buffer[..n]);

            var parsed = ExpositionParser.Parse($"a {text}\n", ExpositionFormat.PrometheusText)[0].Samples[0].Value;
            BitConverter.DoubleToInt64Bits(parsed).Should().Be(BitConverter.DoubleToInt64Bits(value), text);

            // Shortest: one significant digit fewer no longer reads back as the same double.
            var digits = SignificantDigits(text);
            if (digits > 1)
            {
                var shorter = value.ToString("E" + (digits - 2), CultureInfo.InvariantCulture);
                double.Parse(shorter, CultureInfo.InvariantCulture).Should().NotBe(value, $"{text} has {digits} digits but {shorter} reads back the same");
            }
        }
    }

    [Test]
    public void EncodeName_Escaping_FollowsScheme()
    {
        Encoding.UTF8.GetString(ExpositionWriter.EncodeName("my.metric", NameEscaping.AllowUtf8)).Should().Be("\"my.metric\"");
        Encoding.UTF8.GetString(ExpositionWriter.EncodeName("my.metric", NameEscaping.Underscores)).Should().Be("my_metric");
        Encoding.UTF8.GetString(ExpositionWriter.EncodeName("a\"b", NameEscaping.AllowUtf8)).Should().Be("\"a\\\"b\"");
        Encoding.UTF8.GetString(ExpositionWriter.EncodeName("a:b", NameEscaping.AllowUtf8, isMetricName: false)).Should().Be("\"a:b\"");
        Encoding.UTF8.GetString(ExpositionWriter.EncodeName("a:b", NameEscaping.AllowUtf8)).Should().Be("a:b");
    }

    [Test]
    public void EncodeBoundPair_Formats_FollowEachFormat()
    {
        Pair(0.5, Text).Should().Be("le=\"0.5\"");
        Pair(1, Text).Should().Be("le=\"1\"");
        Pair(1, Om).Should().Be("le=\"1.0\"");
        Pair(1e-5, Om).Should().Be("le=\"1e-05\"");
        Pair(double.PositiveInfinity, Om).Should().Be("le=\"+Inf\"");

        static string Pair(double bound, ExpositionFormat format) => Encoding.UTF8.GetString(ExpositionWriter.EncodeBoundPair("le", bound, format));
    }

    [Test]
    public void WriteSample_LongLabelSetAndExemplar_GrowsTheBuffer()
    {
        var value = new string('x', 100_000);
        var buffer = new ArrayBufferWriter<byte>(16);
        var writer = new ExpositionWriter(buffer, Om);
        writer.WriteSample(ExpositionWriter.EncodeName("c_total", NameEscaping.Underscores), ExpositionWriter.EncodeLabelPairs(["a"], [value], NameEscaping.Underscores), default, 1,
            exemplar: new Exemplar(Labels.FromStrings("t", "y"), 2));

        Encoding.UTF8.GetString(buffer.WrittenSpan).Should().Be($"c_total{{a=\"{value}\"}} 1 # {{t=\"y\"}} 2\n");
    }

    internal static string Write(ExpositionFormat format, params MetricFamily[] families) => Write(format, NameEscaping.Underscores, families);

    internal static string Write(ExpositionFormat format, NameEscaping escaping, params MetricFamily[] families)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new ExpositionWriter(buffer, format, escaping);
        foreach (var family in families)
        {
            writer.WriteFamily(family);
        }

        writer.WriteEof();
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Format(double value)
    {
        Span<byte> buffer = stackalloc byte[64];
        var n = ExpositionWriter.FormatDouble(value, buffer);
        return Encoding.ASCII.GetString(buffer[..n]);
    }

    private static int SignificantDigits(string text)
    {
        var mantissa = text.Split('e')[0].TrimStart('-', '+').Replace(".", string.Empty, StringComparison.Ordinal).TrimStart('0');
        if (!text.Contains('e', StringComparison.Ordinal) && !text.Contains('.', StringComparison.Ordinal))
        {
            mantissa = mantissa.TrimEnd('0'); // 1000 is one significant digit
        }

        return Math.Max(mantissa.Length, 1);
    }

    private static MetricFamily Family(string name, MetricType type, string? help, string? unit, params MetricSample[] samples)
    {
        var family = new MetricFamily(name, type, help, unit);
        family.Samples.AddRange(samples);
        return family;
    }

    private static MetricSample S(string name, Labels labels, double value, long? timestampMs = null, Exemplar? exemplar = null) =>
        new(name, labels, value, timestampMs, exemplar);
}
