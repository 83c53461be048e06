using System.Text;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Abstractions.Tests.Exposition;

[TestFixture]
public sealed class ExpositionParserValidTests
{
    private const ExpositionFormat Om = ExpositionFormat.OpenMetrics;
    private const ExpositionFormat Text = ExpositionFormat.PrometheusText;

    [Test]
    public void Parse_PrometheusDocumentationExample_ReadsEveryFamily()
    {
        // The example from prometheus.io/docs/instrumenting/exposition_formats, verbatim (blank lines, comments,
        // runs of blanks, a pre-epoch timestamp).
        const string input = """
            # HELP http_requests_total The total number of HTTP requests.
            # TYPE http_requests_total counter
            http_requests_total{method="post",code="200"} 1027 1395066363000
            http_requests_total{method="post",code="400"}    3 1395066363000

            # Escaping in label values:
            msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

            # Minimalistic line:
            metric_without_timestamp_and_labels 12.47

            # A weird metric from before the epoch:
            something_weird{problem="division by zero"} +Inf -3982045

            # A histogram, which has a pretty complex representation in the text format:
            # HELP http_request_duration_seconds A histogram of the request duration.
            # TYPE http_request_duration_seconds histogram
            http_request_duration_seconds_bucket{le="0.05"} 24054
            http_request_duration_seconds_bucket{le="0.1"} 33444
            http_request_duration_seconds_bucket{le="0.2"} 100392
            http_request_duration_seconds_bucket{le="0.5"} 129389
            http_request_duration_seconds_bucket{le="1"} 133988
            http_request_duration_seconds_bucket{le="+Inf"} 144320
            http_request_duration_seconds_sum 53423
            http_request_duration_seconds_count 144320

            # Finally a summary, which has a complex representation, too:
            # HELP rpc_duration_seconds A summary of the RPC duration in seconds.
            # TYPE rpc_duration_seconds summary
            rpc_duration_seconds{quantile="0.01"} 3102
            rpc_duration_seconds{quantile="0.05"} 3272
            rpc_duration_seconds{quantile="0.5"} 4773
            rpc_duration_seconds{quantile="0.9"} 9001
            rpc_duration_seconds{quantile="0.99"} 76656
            rpc_duration_seconds_sum 1.7560473e+07
            rpc_duration_seconds_count 2693

            """;

        var families = ExpositionParser.Parse(input, Text);

        families.Select(f => (f.Name, f.Type, f.Samples.Count)).Should().Equal(
            ("http_requests_total", MetricType.Counter, 2),
            ("msdos_file_access_time_seconds", MetricType.Unknown, 1),
            ("metric_without_timestamp_and_labels", MetricType.Unknown, 1),
            ("something_weird", MetricType.Unknown, 1),
            ("http_request_duration_seconds", MetricType.Histogram, 8),
            ("rpc_duration_seconds", MetricType.Summary, 7));
        families[0].Help.Should().Be("The total number of HTTP requests.");
        families[0].Samples[1].Should().Be(new MetricSample("http_requests_total", Labels.FromStrings("method", "post", "code", "400"), 3, 1395066363000));
        families[1].Samples[0].Labels.Get("path").Should().Be(@"C:\DIR\FILE.TXT");
        families[1].Samples[0].Labels.Get("error").Should().Be("Cannot find file:\n\"FILE.TXT\"");
        families[1].Samples[0].Value.Should().Be(1.458255915e9);
        families[3].Samples[0].Should().Be(new MetricSample("something_weird", Labels.FromStrings("problem", "division by zero"), double.PositiveInfinity, -3982045));
        families[4].Samples[5].Should().Be(new MetricSample("http_request_duration_seconds_bucket", Labels.FromStrings("le", "+Inf"), 144320));
        families[4].Samples[6].Name.Should().Be("http_request_duration_seconds_sum");
        families[5].Samples[5].Value.Should().Be(1.7560473e+07);
    }

    [Test]
    public void Parse_OpenMetricsSpecHistogramWithExemplars_ReadsExemplarsAndCreated()
    {
        const string input = """
            # TYPE foo histogram
            foo_bucket{le="0.01"} 0
            foo_bucket{le="0.1"} 8 # {} 0.054
            foo_bucket{le="1"} 11 # {trace_id="KOO5S4vxi0o"} 0.67
            foo_bucket{le="10"} 17 # {trace_id="oHg5SJYRHA0"} 9.8 1520879607.789
            foo_bucket{le="+Inf"} 17
            foo_count 17
            foo_sum 324789.3
            foo_created 1520430000.123
            # EOF

            """;

        var family = ExpositionParser.Parse(input, Om).Should().ContainSingle().Subject;

        family.Name.Should().Be("foo");
        family.Type.Should().Be(MetricType.Histogram);
        family.Samples.Select(s => s.Name).Should().Equal("foo_bucket", "foo_bucket", "foo_bucket", "foo_bucket", "foo_bucket", "foo_count", "foo_sum", "foo_created");
        family.Samples[0].Exemplar.Should().BeNull();
        family.Samples[1].Exemplar.Should().Be(new Exemplar(Labels.Empty, 0.054));
        family.Samples[2].Exemplar.Should().Be(new Exemplar(Labels.FromStrings("trace_id", "KOO5S4vxi0o"), 0.67));
        family.Samples[3].Exemplar.Should().Be(new Exemplar(Labels.FromStrings("trace_id", "oHg5SJYRHA0"), 9.8, 1520879607789));
        family.Samples[7].Value.Should().Be(1520430000.123);
    }

    [Test]
    public void Parse_EveryOpenMetricsType_GroupsSamplesBySuffix()
    {
        const string input = """
            # TYPE acme_http_router_request_seconds summary
            # UNIT acme_http_router_request_seconds seconds
            # HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
            acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
            acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
            acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
            acme_http_router_request_seconds{path="/api/v1",method="GET",quantile="0.99"} 0.5
            # TYPE go_goroutines gauge
            # HELP go_goroutines Number of goroutines that currently exist.
            go_goroutines 69
            # TYPE process_cpu_seconds counter
            # UNIT process_cpu_seconds seconds
            # HELP process_cpu_seconds Total user and system CPU time spent in seconds.
            process_cpu_seconds_total 4.20072246e+06 # {trace_id="abc"} 1.5 1605281325.5
            process_cpu_seconds_created 1605281325.0
            # TYPE q gaugehistogram
            q_bucket{le="0.01"} 20.0
            q_bucket{le="+Inf"} 42.0
            q_gcount 42.0
            q_gsum 3289.3
            # TYPE s stateset
            s{entity="controller",s="a"} 1.0
            s{entity="controller",s="bb"} 0.0
            # TYPE build info
            build_info{name="pretty name",version="8.2.7"} 1
            # TYPE thing unknown
            thing 42.23
            untyped_without_metadata 1
            # TYPE empty gauge
            # EOF
            """;

        var families = ExpositionParser.Parse(input, Om);

        families.Select(f => (f.Name, f.Type, f.Unit, f.Samples.Count)).Should().Equal(
            ("acme_http_router_request_seconds", MetricType.Summary, "seconds", 4),
            ("go_goroutines", MetricType.Gauge, null, 1),
            ("process_cpu_seconds", MetricType.Counter, "seconds", 2),
            ("q", MetricType.GaugeHistogram, null, 4),
            ("s", MetricType.StateSet, null, 2),
            ("build", MetricType.Info, null, 1),
            ("thing", MetricType.Unknown, null, 1),
            ("untyped_without_metadata", MetricType.Unknown, null, 1),
            ("empty", MetricType.Gauge, null, 0));
        families[0].Help.Should().Be("Latency though all of ACME's HTTP request router.");
        families[0].Samples[2].Should().Be(new MetricSample("acme_http_router_request_seconds_created", Labels.FromStrings("path", "/api/v1", "method", "GET"), 1605281325.0));
        families[2].Samples[0].Should().Be(new MetricSample(
            "process_cpu_seconds_total", Labels.Empty, 4.20072246e+06, null, new Exemplar(Labels.FromStrings("trace_id", "abc"), 1.5, 1605281325500)));
        families[3].Samples.Select(s => s.Name).Should().Equal("q_bucket", "q_bucket", "q_gcount", "q_gsum");
        families[5].Samples[0].Name.Should().Be("build_info");
        families[6].Help.Should().BeNull();
    }

    [Test]
    public void Parse_EveryPrometheusTextType_GroupsSamplesBySuffix()
    {
        const string input = """
            # TYPE c_total counter
            c_total{a="1"} 3
            # TYPE g gauge
            g -1.5
            # TYPE h histogram
            h_bucket{le="-1"} 0
            h_bucket{le="+Inf"} 2
            h_sum -3
            h_count 2
            # TYPE s summary
            s{quantile="0"} 1
            s{quantile="1"} 5
            s_sum 6
            s_count 2
            # TYPE u untyped
            u 7
            bare 8
            """;

        var families = ExpositionParser.Parse(input, Text);

        families.Select(f => (f.Name, f.Type, f.Samples.Count)).Should().Equal(
            ("c_total", MetricType.Counter, 1),
            ("g", MetricType.Gauge, 1),
            ("h", MetricType.Histogram, 4),
            ("s", MetricType.Summary, 4),
            ("u", MetricType.Unknown, 1),
            ("bare", MetricType.Unknown, 1));
        families.Should().OnlyContain(f => f.Unit == null && f.Help == null);
    }

    [Test]
    public void Parse_PrometheusTextCounterWithTotalSuffixMismatch_StartsUntypedFamily()
    {
        // Prometheus text has no suffix rules for counters: a counter named foo owns only samples named foo.
        var families = ExpositionParser.Parse("# TYPE foo counter\nfoo 1\nfoo_total 2\n", Text);

        families.Select(f => (f.Name, f.Type)).Should().Equal(("foo", MetricType.Counter), ("foo_total", MetricType.Unknown));
    }

    [Test]
    public void Parse_OpenMetricsFamilyWithoutSuffixRules_AllowsLookalikeFamilies()
    {
        // A gauge owns no suffixes, so an unknown family foo_sum next to it does not clash.
        var families = ExpositionParser.Parse("# TYPE foo gauge\nfoo 1\nfoo_sum 2\n# EOF\n", Om);

        families.Select(f => f.Name).Should().Equal("foo", "foo_sum");
    }

    [TestCase(Text)]
    [TestCase(Om)]
    public void Parse_LabelValueEscapes_AreUnescaped(ExpositionFormat format)
    {
        var input = "a{q=\"say \\\"hi\\\"\",b=\"back\\\\slash\",n=\"two\\nlines\",u=\"é🙂\",z=\"\0\",e=\"\"} 1\n" + Eof(format);

        var sample = ExpositionParser.Parse(input, format)[0].Samples[0];

        sample.Labels.Should().Equal(
            new Label("b", "back\\slash"),
            new Label("e", string.Empty),
            new Label("n", "two\nlines"),
            new Label("q", "say \"hi\""),
            new Label("u", "é🙂"),
            new Label("z", "\0"));
    }

    [Test]
    public void Parse_OpenMetricsUnknownEscape_KeepsBackslashAsTheAbnfSays()
    {
        // OpenMetrics ABNF: escaped-char =/ BS normal-char, and the spec says "\a" is equivalent to "\\a".
        var families = ExpositionParser.Parse("# HELP a x\\qy \\\"z\\\"\na{x=\"\\q\\t\"} 1\n# EOF\n", Om);

        families[0].Help.Should().Be("x\\qy \"z\"");
        families[0].Samples[0].Labels.Get("x").Should().Be("\\q\\t");
    }

    [Test]
    public void Parse_HelpEscapes_FollowEachFormat()
    {
        var text = ExpositionParser.Parse("# HELP a back\\\\slash \"quoted\" two\\nlines é🙂\n", Text);
        var om = ExpositionParser.Parse("# HELP a back\\\\slash \\\"quoted\\\" two\\nlines é🙂\n# EOF\n", Om);

        text[0].Help.Should().Be("back\\slash \"quoted\" two\nlines é🙂");
        om[0].Help.Should().Be("back\\slash \"quoted\" two\nlines é🙂");
    }

    [Test]
    public void Parse_PrometheusTextHelp_SkipsBlanksBeforeTextAndKeepsTheRest()
    {
        var families = ExpositionParser.Parse("# HELP a \t  text with  runs \n# HELP b\n# HELP\n#TYPE c gauge\n", Text);

        families.Select(f => (f.Name, f.Help, f.Type)).Should().Equal(
            ("a", "text with  runs ", MetricType.Unknown),
            ("b", string.Empty, MetricType.Unknown),
            ("c", null, MetricType.Gauge));
    }

    [Test]
    public void Parse_OpenMetricsEmptyHelpAndUnit_ReadAsAbsent()
    {
        var family = ExpositionParser.Parse("# TYPE a gauge\n# HELP a \n# UNIT a \n# EOF\n", Om).Single();

        family.Help.Should().BeNull();
        family.Unit.Should().BeNull();
    }

    [Test]
    public void Parse_Utf8QuotedNamesInPrometheusText_ReadNamesAndLabels()
    {
        const string input = """
            # HELP "my.metric" Dots in the name.
            # TYPE "my.metric" counter
            {"my.metric", "label.x"="v", plain="p",} 1
            {"my.metric"} 2
            "# comment with quotes"
            """;

        var act = () => ExpositionParser.Parse(input, Text);

        // The last line is neither a comment nor a sample.
        act.Should().Throw<ExpositionParseException>().Which.Line.Should().Be(5);
        var families = ExpositionParser.Parse(input[..input.LastIndexOf('\n')], Text);
        var family = families.Should().ContainSingle().Subject;
        family.Name.Should().Be("my.metric");
        family.Help.Should().Be("Dots in the name.");
        family.Samples.Should().Equal(
            new MetricSample("my.metric", Labels.FromStrings("label.x", "v", "plain", "p"), 1),
            new MetricSample("my.metric", Labels.Empty, 2));
    }

    [Test]
    public void Parse_Utf8QuotedNamesInOpenMetrics_ApplySuffixRules()
    {
        const string input = """
            # TYPE "my.counter" counter
            # UNIT "my.counter" 
            {"my.counter_total","a.b"="🙂"} 1 # {"trace.id"="x"} 2
            # TYPE "ümlaut" gauge
            {"ümlaut"} 3
            # EOF
            """;

        var families = ExpositionParser.Parse(input, Om);

        families.Select(f => (f.Name, f.Type)).Should().Equal(("my.counter", MetricType.Counter), ("ümlaut", MetricType.Gauge));
        families[0].Samples[0].Should().Be(new MetricSample(
            "my.counter_total", Labels.FromStrings("a.b", "🙂"), 1, null, new Exemplar(Labels.FromStrings("trace.id", "x"), 2)));
    }

    [TestCase("1395066363000", 1395066363000L)]
    [TestCase("-3982045", -3982045L)]
    [TestCase("+5", 5L)]
    [TestCase("0", 0L)]
    [TestCase("-9223372036854775808", long.MinValue)]
    [TestCase("9223372036854775807", long.MaxValue)]
    public void Parse_PrometheusTextTimestamp_IsIntegerMilliseconds(string token, long expected)
    {
        ExpositionParser.Parse($"a 1 {token}\n", Text)[0].Samples[0].TimestampMs.Should().Be(expected);
    }

    [TestCase("1520879607.789", 1520879607789L)]
    [TestCase("1520879607", 1520879607000L)]
    [TestCase("1520879607.", 1520879607000L)]
    [TestCase("0042.5", 42500L)]
    [TestCase(".5", 500L)]
    [TestCase("-1.5", -1500L)]
    [TestCase("-0.0005", 0L)]
    [TestCase("1.2345678", 1234L)]
    [TestCase("+1e3", 1000000L)]
    [TestCase("1.5E-3", 1L)]
    [TestCase("1604676851.123456789", 1604676851123L)]
    [TestCase("-9223372036854775.808", long.MinValue)]
    [TestCase("9223372036854775.807", long.MaxValue)]
    public void Parse_OpenMetricsTimestamp_IsSecondsConvertedExactlyToMilliseconds(string token, long expected)
    {
        ExpositionParser.Parse($"a 1 {token}\n# EOF\n", Om)[0].Samples[0].TimestampMs.Should().Be(expected);
    }

    [TestCase("9223372036854775.808")]
    [TestCase("1e20")]
    [TestCase("1e999999")]
    public void Parse_OpenMetricsTimestampBeyondInt64Milliseconds_Throws(string token)
    {
        var act = () => ExpositionParser.Parse($"a 1 {token}\n# EOF\n", Om);

        act.Should().ThrowExactly<ExpositionParseException>().Which.Reason.Should().Contain("out of range");
    }

    [TestCase("+Inf", double.PositiveInfinity)]
    [TestCase("-Inf", double.NegativeInfinity)]
    [TestCase("inf", double.PositiveInfinity)]
    [TestCase("+inf", double.PositiveInfinity)]
    [TestCase("Infinity", double.PositiveInfinity)]
    [TestCase("-INFINITY", double.NegativeInfinity)]
    [TestCase("NaN", double.NaN)]
    [TestCase("nan", double.NaN)]
    [TestCase("NAN", double.NaN)]
    [TestCase("1", 1.0)]
    [TestCase("-0", -0.0)]
    [TestCase("+0.5", 0.5)]
    [TestCase(".5", 0.5)]
    [TestCase("5.", 5.0)]
    [TestCase("1e3", 1000.0)]
    [TestCase("1E+3", 1000.0)]
    [TestCase("2.5e-3", 0.0025)]
    [TestCase("007", 7.0)]
    [TestCase("1e-400", 0.0)]
    [TestCase("1.7976931348623157e308", double.MaxValue)]
    [TestCase("4.9e-324", double.Epsilon)]
    public void Parse_FloatSpellings_ReadAsGoParseFloatDoes(string token, double expected)
    {
        foreach (var format in new[] { Text, Om })
        {
            var value = ExpositionParser.Parse($"a {token}\n{Eof(format)}", format)[0].Samples[0].Value;

            BitConverter.DoubleToInt64Bits(value).Should().Be(BitConverter.DoubleToInt64Bits(expected), $"{token} in {format}");
        }
    }

    [TestCase("Inf1")]
    [TestCase("in")]
    [TestCase("infinit")]
    [TestCase("-nan")]
    [TestCase("1_000")]
    [TestCase("1e")]
    [TestCase("e3")]
    [TestCase(".")]
    [TestCase("-")]
    [TestCase("1,5")]
    [TestCase("٣")]
    [TestCase("∞")]
    public void Parse_NotAGoFloat_Throws(string token)
    {
        var act = () => ExpositionParser.Parse($"a {token}\n", Text);

        act.Should().ThrowExactly<ExpositionParseException>().Which.Reason.Should().StartWith("invalid value");
    }

    [Test]
    public void Parse_PrometheusTextWhitespaceAndTrailingComma_AreAccepted()
    {
        const string input = "  \t\n\t a { x = \"1\" , y=\"2\", } \t 3 \t 4 \t\n# a comment\n#\n\nb{} 5\nc{x=\"1\"}6";

        var families = ExpositionParser.Parse(input, Text);

        families.SelectMany(f => f.Samples).Should().Equal(
            new MetricSample("a", Labels.FromStrings("x", "1", "y", "2"), 3, 4),
            new MetricSample("b", Labels.Empty, 5),
            new MetricSample("c", Labels.FromStrings("x", "1"), 6));
    }

    [Test]
    public void Parse_EmptyInputs_HaveNoFamilies()
    {
        ExpositionParser.Parse(string.Empty, Text).Should().BeEmpty();
        ExpositionParser.Parse("\n\n# just a comment\n", Text).Should().BeEmpty();
        ExpositionParser.Parse("# EOF\n", Om).Should().BeEmpty();
        ExpositionParser.Parse("# EOF", Om).Should().BeEmpty();
    }

    [Test]
    public void Parse_HistogramWithSeveralSeriesAndPoints_ChecksEachSeparately()
    {
        // Two series, the first with two MetricPoints (timestamps), and negative bounds without a sum.
        const string input = """
            # TYPE h histogram
            h_bucket{a="1",le="-1.0"} 1 1
            h_bucket{a="1",le="+Inf"} 2 1
            h_count{a="1"} 2 1
            h_bucket{a="1",le="-1.0"} 0 2
            h_bucket{a="1",le="+Inf"} 3 2
            h_count{a="1"} 3 2
            h_bucket{le="+Inf",a="2"} 0
            h_created{a="2"} 12
            # EOF
            """;

        var family = ExpositionParser.Parse(input, Om).Single();

        family.Samples.Should().HaveCount(8);
        family.Samples[^2].Labels.Should().Equal(new Label("a", "2"), new Label("le", "+Inf"));
    }

    [Test]
    public void Parse_OpenMetricsNaNHistogramSumAndNegativeSummarySum_AreAccepted()
    {
        // Both come from correct instrumentation (a NaN observation; a summary of negative values), and Prometheus
        // ingests them, so failing the whole scrape would be worse than the spec deviation.
        const string input = """
            # TYPE h histogram
            h_bucket{le="+Inf"} 1
            h_count 1
            h_sum NaN
            # TYPE s summary
            s_count 2
            s_sum -3.5
            # EOF
            """;

        var families = ExpositionParser.Parse(input, Om);

        double.IsNaN(families[0].Samples[2].Value).Should().BeTrue();
        families[1].Samples[1].Value.Should().Be(-3.5);
    }

    [Test]
    public void Parse_HistogramCountBeforeBuckets_ComparesWithInfBucket()
    {
        var ok = () => ExpositionParser.Parse("# TYPE h histogram\nh_count 2\nh_bucket{le=\"+Inf\"} 2\n", Text);
        var bad = () => ExpositionParser.Parse("# TYPE h histogram\nh_count 2\nh_bucket{le=\"+Inf\"} 3\n", Text);

        ok.Should().NotThrow();
        bad.Should().ThrowExactly<ExpositionParseException>().Where(e => e.Line == 3 && e.Column == 21);
    }

    [Test]
    public void Parse_SameInputAsSpanSequenceAndString_GivesEqualFamilies()
    {
        var input = ExpositionSamples.OpenMetrics;
        var bytes = Encoding.UTF8.GetBytes(input);

        var fromString = ExpositionParser.Parse(input, Om);
        var fromSpan = ExpositionParser.Parse(bytes.AsSpan(), Om);

        foreach (var size in new[] { 1, 2, 7, 64, 4096 })
        {
            var fromSequence = ExpositionParser.Parse(TestSequences.Split(bytes, size), Om);
            FamilyAssertions.ShouldEqual(fromSequence, fromString);
        }

        FamilyAssertions.ShouldEqual(fromSpan, fromString);
    }

    [TestCase(null, Text)]
    [TestCase("", Text)]
    [TestCase("text/plain; version=0.0.4; charset=utf-8", Text)]
    [TestCase("text/plain", Text)]
    [TestCase("application/openmetrics-text; version=1.0.0; charset=utf-8", Om)]
    [TestCase("application/openmetrics-text;version=0.0.1", Om)]
    [TestCase("  Application/OpenMetrics-Text ; escaping=allow-utf-8", Om)]
    [TestCase("application/openmetrics-text", Om)]
    [TestCase("application/json", Text)]
    [TestCase("application/openmetrics-textual", Text)]
    public void DetectFormat_ContentType_ChoosesFormat(string? contentType, ExpositionFormat expected)
    {
        ExpositionParser.DetectFormat(contentType).Should().Be(expected);
    }

    [Test]
    public void Parse_InvalidOptions_ThrowsArgumentOutOfRange()
    {
        var act = () => ExpositionParser.Parse("a 1\n", Text, new ExpositionParserOptions { MaxSamples = 0 });

        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("MaxSamples");
    }

    [Test]
    public void Options_Defaults_AreDocumentedConstants()
    {
        var o = ExpositionParserOptions.Default;

        (o.MaxLineLength, o.MaxSamples, o.MaxLabelsPerSample, o.MaxLabelNameLength, o.MaxLabelValueLength).Should().Be(
            (1024 * 1024, 10_000_000, 128, 1024, 64 * 1024));
        new ExpositionParserOptions().MaxLineLength.Should().Be(ExpositionParserOptions.DefaultMaxLineLength);
    }

    [Test]
    public void Parse_LimitsExactlyAtTheirValue_AreAccepted()
    {
        var options = new ExpositionParserOptions { MaxLineLength = 18, MaxLabelsPerSample = 2, MaxLabelNameLength = 2, MaxLabelValueLength = 3, MaxSamples = 2 };

        var families = ExpositionParser.Parse("a{xy=\"abc\",z=\"\"} 1\nb 1", Text, options);

        families.Should().HaveCount(2);
    }

    private static string Eof(ExpositionFormat format) => format == Om ? "# EOF\n" : string.Empty;
}
