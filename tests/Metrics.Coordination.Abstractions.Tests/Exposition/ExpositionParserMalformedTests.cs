using System.Text;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Abstractions.Tests.Exposition;

/// <summary>
/// A catalogue of malformed expositions, each with the exact line and column (1-based, UTF-8 bytes) the parser must
/// report, and a fragment of the reason. Every case also runs through the streaming path with the input cut into
/// 1-, 2- and 3-byte segments, which must fail at the same place.
/// </summary>
[TestFixture]
public sealed class ExpositionParserMalformedTests
{
    private const ExpositionFormat Om = ExpositionFormat.OpenMetrics;
    private const ExpositionFormat Text = ExpositionFormat.PrometheusText;

    public sealed record MalformedCase(string Name, ExpositionFormat Format, byte[] Input, int Line, int Column, string Reason, ExpositionParserOptions? Options = null)
    {
        public override string ToString() => Name;
    }

    public static IEnumerable<TestCaseData> Cases() => Catalogue().Select(c => new TestCaseData(c).SetName($"Parse_{c.Name}_Throws"));

    public static IEnumerable<MalformedCase> Catalogue()
    {
        // Escapes.
        yield return C("BadEscapeInLabelValueText", Text, "a{x=\"\\q\"} 1\n", 1, 6, "invalid escape sequence '\\q'");
        yield return C("BadEscapeInHelpText", Text, "# HELP a x\\qy\n", 1, 11, "invalid escape sequence '\\q' in HELP");
        yield return C("QuoteEscapeInHelpText", Text, "# HELP a say \\\"hi\\\"\n", 1, 14, "invalid escape sequence '\\\"' in HELP");
        yield return C("BackslashAtEndOfHelp", Om, "# HELP a x\\\n# EOF\n", 1, 11, "incomplete escape sequence");
        yield return C("BackslashBeforeClosingQuoteIsUnterminated", Om, "a{x=\"abc\\\"} 1\n# EOF\n", 1, 5, "unterminated quoted string");

        // Labels.
        yield return C("DuplicateLabelOpenMetrics", Om, "a{x=\"1\",x=\"2\"} 1\n# EOF\n", 1, 9, "duplicate label name 'x'");
        yield return C("DuplicateLabelTextWithBlanks", Text, "a{x=\"1\", y=\"2\", x=\"3\"} 1\n", 1, 17, "duplicate label name 'x'");
        yield return C("DuplicateExemplarLabel", Om, "# TYPE c counter\nc_total 1 # {t=\"1\",t=\"2\"} 1\n# EOF\n", 2, 20, "duplicate label name 't'");
        yield return C("InvalidLabelNameStart", Text, "a{1x=\"v\"} 1\n", 1, 3, "invalid label name");
        yield return C("InvalidLabelNameCharacter", Text, "a{x.y=\"v\"} 1\n", 1, 4, "invalid character '.' in label name");
        yield return C("ReservedNameLabel", Text, "a{__name__=\"b\"} 1\n", 1, 3, "reserved");
        yield return C("UnterminatedLabelValue", Text, "a{x=\"abc} 1\n", 1, 5, "unterminated quoted string");
        yield return C("UnterminatedLabelSet", Text, "a{x=\"y\"\n", 1, 8, "unterminated label set");
        yield return C("MissingEqualsAfterLabelName", Text, "a{x \"y\"} 1\n", 1, 5, "expected '='");
        yield return C("UnquotedLabelValue", Text, "a{x=y} 1\n", 1, 5, "'\"' to start the label value");
        yield return C("TrailingCommaOpenMetrics", Om, "a{x=\"y\",} 1\n# EOF\n", 1, 8, "trailing comma");
        yield return C("QuotedMetricNameNotFirst", Text, "a{x=\"1\", \"b\"} 1\n", 1, 10, "quoted metric name must be the first item");
        yield return C("QuotedMetricNameAfterBareName", Text, "a{\"b\"} 1\n", 1, 3, "quoted metric name must be the first item");
        yield return C("MissingMetricNameInBraces", Text, "{x=\"y\"} 1\n", 1, 1, "missing metric name");
        yield return C("EmptyQuotedMetricName", Text, "{\"\"} 1\n", 1, 2, "metric name must not be empty");

        // Names.
        yield return C("MetricNameStartsWithDigit", Text, "1a 1\n", 1, 1, "invalid metric name");
        yield return C("MetricNameWithDot", Text, "a.b 1\n", 1, 2, "invalid character '.' in metric name");
        yield return C("MetricNameWithDotInType", Om, "# TYPE a.b gauge\n# EOF\n", 1, 9, "invalid character '.' in metric name");
        yield return C("LeadingSpaceOpenMetrics", Om, " a 1\n# EOF\n", 1, 1, "expected a metric name");

        // Values and timestamps.
        yield return C("MissingValueText", Text, "a{x=\"y\"}\n", 1, 9, "missing value");
        yield return C("MissingValueOpenMetrics", Om, "a\n# EOF\n", 1, 2, "missing value");
        yield return C("BadFloat", Text, "a 1.2.3\n", 1, 3, "invalid value '1.2.3'");
        yield return C("HexFloatNotSupported", Text, "a 0x1p3\n", 1, 3, "invalid value");
        yield return C("SignedNaN", Text, "a +NaN\n", 1, 3, "invalid value");
        yield return C("FloatOutOfRange", Text, "a 1e400\n", 1, 3, "out of the float64 range");
        yield return C("FractionalTimestampText", Text, "a 1 1.5\n", 1, 5, "integer milliseconds");
        yield return C("TimestampOverflowText", Text, "a 1 9223372036854775808\n", 1, 5, "out of the int64 range");
        yield return C("NaNTimestampOpenMetrics", Om, "a 1 NaN\n# EOF\n", 1, 5, "finite decimal seconds");
        yield return C("TextAfterTimestamp", Text, "a 1 2 3\n", 1, 7, "end of line after the timestamp");
        yield return C("DoubleSpaceOpenMetrics", Om, "a  1\n# EOF\n", 1, 3, "expected a value");
        yield return C("TrailingSpaceOpenMetrics", Om, "a 1 \n# EOF\n", 1, 5, "end of line");
        yield return C("TextAfterExemplarTimestamp", Om, "# TYPE c counter\nc_total 1 # {a=\"b\"} 1 2 3\n# EOF\n", 2, 24, "end of line after the exemplar timestamp");
        yield return C("CrLfText", Text, "a 1\r\n", 1, 4, "CRLF");
        yield return C("CrLfOpenMetrics", Om, "a 1\r\n# EOF\n", 1, 4, "CRLF");

        // Metadata.
        yield return C("DuplicateType", Text, "# TYPE a gauge\n# TYPE a gauge\n", 2, 1, "duplicate TYPE line for 'a' (the first is at line 1)");
        yield return C("DuplicateHelp", Text, "# HELP a x\n# HELP a y\n", 2, 1, "duplicate HELP line");
        yield return C("DuplicateUnit", Om, "# TYPE a_s gauge\n# UNIT a_s s\n# UNIT a_s s\n# EOF\n", 3, 1, "duplicate UNIT line");
        yield return C("TypeAfterSamples", Text, "a 1\n# TYPE a gauge\n", 2, 1, "comes after its samples");
        yield return C("HelpAfterSamples", Om, "# TYPE a gauge\na 1\n# HELP a x\n# EOF\n", 3, 1, "comes after its samples");
        yield return C("HelpForOtherFamilyInTheMiddle", Text, "# TYPE a gauge\na 1\n# HELP b x\na 2\n", 4, 1, "metric family 'a' already appeared at line 1");
        yield return C("UnitNotASuffix", Om, "# TYPE foo counter\n# UNIT foo seconds\n# EOF\n", 2, 12, "not a suffix");
        yield return C("UnitOnInfo", Om, "# TYPE foo_x info\n# UNIT foo_x x\n# EOF\n", 2, 14, "must not have a unit");
        yield return C("UnknownTypeOpenMetrics", Om, "# TYPE a foo\n# EOF\n", 1, 10, "unknown metric type 'foo'");
        yield return C("OpenMetricsTypeInText", Text, "# TYPE a gaugehistogram\n", 1, 10, "unknown metric type 'gaugehistogram'");
        yield return C("UppercaseType", Text, "# TYPE a COUNTER\n", 1, 10, "unknown metric type 'COUNTER'");
        yield return C("MissingType", Text, "# TYPE a\n", 1, 9, "missing metric type");
        yield return C("TextAfterType", Text, "# TYPE a counter extra\n", 1, 18, "end of line after the metric type");
        yield return C("CommentInOpenMetrics", Om, "# hello\n# EOF\n", 1, 3, "unknown descriptor");
        yield return C("HashWithoutSpaceOpenMetrics", Om, "#TYPE a gauge\n# EOF\n", 1, 2, "OpenMetrics has no comments");

        // Families.
        yield return C("InterleavedFamily", Om, "# TYPE a counter\na_total 1\n# TYPE b gauge\nb 1\na_total 2\n# EOF\n", 5, 1, "belongs to counter family 'a' (line 1)");
        yield return C("RepeatedUntypedFamily", Text, "a 1\nb 1\na 2\n", 3, 1, "already appeared at line 1");
        yield return C("FamilyNameClash", Om, "# TYPE a counter\na_total 1\n# TYPE a_total gauge\n# EOF\n", 3, 8, "clashes with the samples of counter family 'a'");
        yield return C("CounterSampleWithoutTotal", Om, "# TYPE c counter\nc 1\n# EOF\n", 2, 1, "does not fit counter family 'c': expected c_total, c_created");
        yield return C("HistogramSampleWithoutSuffix", Text, "# TYPE h histogram\nh 1\n", 2, 1, "expected h_bucket, h_count, h_sum");

        // Types.
        yield return C("NaNCounter", Om, "# TYPE c counter\nc_total NaN\n# EOF\n", 2, 9, "must not be NaN");
        yield return C("NegativeCounter", Om, "# TYPE c counter\nc_total -1\n# EOF\n", 2, 9, "must not be negative");
        yield return C("NonMonotonicBucketsOpenMetrics", Om, "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"2\"} 3\nh_bucket{le=\"+Inf\"} 5\n# EOF\n", 3, 18, "cumulative");
        yield return C("NonMonotonicBucketsText", Text, "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"2\"} 3\nh_bucket{le=\"+Inf\"} 5\n", 3, 18, "cumulative");
        yield return C("MissingInfBucket", Om, "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\nh_sum 1\n# EOF\n", 2, 1, "no le=\"+Inf\" bucket");
        yield return C("MissingInfBucketAtEndOfText", Text, "# TYPE h histogram\nh_bucket{le=\"1\"} 1\n", 2, 1, "no le=\"+Inf\" bucket");
        yield return C("MissingInfBucketBeforeNextSeries", Text, "# TYPE h histogram\nh_bucket{a=\"1\",le=\"1\"} 1\nh_bucket{a=\"2\",le=\"+Inf\"} 1\n", 2, 1, "no le=\"+Inf\" bucket");
        yield return C("UnsortedLe", Om, "# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n# EOF\n", 3, 13, "sorted by increasing le");
        yield return C("DuplicateLe", Text, "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 1\n", 3, 13, "without duplicates");
        yield return C("BadLeValue", Om, "# TYPE h histogram\nh_bucket{le=\"abc\"} 1\n# EOF\n", 2, 13, "invalid le value \"abc\"");
        yield return C("NaNLe", Om, "# TYPE h histogram\nh_bucket{le=\"NaN\"} 1\n# EOF\n", 2, 13, "le must not be NaN");
        yield return C("BucketWithoutLe", Om, "# TYPE h histogram\nh_bucket 1\n# EOF\n", 2, 1, "has no le label");
        yield return C("LeOnCount", Text, "# TYPE h histogram\nh_count{le=\"1\"} 1\n", 2, 9, "le label belongs on _bucket samples only");
        yield return C("CountDiffersFromInf", Om, "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 3\nh_count 4\n# EOF\n", 3, 9, "differs from the le=\"+Inf\" bucket");
        yield return C("HistogramWithoutBuckets", Om, "# TYPE h histogram\nh_count 1\nh_sum 1\n# EOF\n", 2, 1, "has no buckets");
        yield return C("NaNBucket", Om, "# TYPE h histogram\nh_bucket{le=\"+Inf\"} NaN\n# EOF\n", 2, 21, "bucket value must not be NaN");
        yield return C("FractionalCount", Om, "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1.5\n# EOF\n", 3, 9, "must be an integer");
        yield return C("GaugeHistogramGCountDiffers", Om, "# TYPE g gaugehistogram\ng_bucket{le=\"+Inf\"} 3\ng_gcount 2\n# EOF\n", 3, 10, "differs from the le=\"+Inf\" bucket");
        yield return C("QuantileOutOfRange", Om, "# TYPE s summary\ns{quantile=\"1.5\"} 1\n# EOF\n", 2, 12, "outside [0, 1]");
        yield return C("NegativeQuantileText", Text, "# TYPE s summary\ns{quantile=\"-0.1\"} 1\n", 2, 12, "outside [0, 1]");
        yield return C("BadQuantileValue", Text, "# TYPE s summary\ns{quantile=\"x\"} 1\n", 2, 12, "invalid quantile value");
        yield return C("DecreasingQuantilesText", Text, "# TYPE s summary\ns{quantile=\"0.9\"} 1\ns{quantile=\"0.5\"} 1\n", 3, 12, "increasing order");
        yield return C("SummaryWithoutQuantile", Text, "# TYPE s summary\ns 1\n", 2, 1, "has no quantile label");
        yield return C("NegativeSummaryCount", Om, "# TYPE s summary\ns_count -1\n# EOF\n", 2, 9, "must not be negative");
        yield return C("InfoValueNotOne", Om, "# TYPE i info\ni_info 2\n# EOF\n", 2, 8, "info sample's value must be 1");
        yield return C("StateSetValueNotBoolean", Om, "# TYPE s stateset\ns{s=\"a\"} 2\n# EOF\n", 2, 10, "must be 0 or 1");
        yield return C("StateSetWithoutStateLabel", Om, "# TYPE s stateset\ns{x=\"a\"} 1\n# EOF\n", 2, 1, "needs a label named 's'");

        // Exemplars.
        yield return C("ExemplarOnGauge", Om, "# TYPE g gauge\ng 1 # {a=\"b\"} 1\n# EOF\n", 2, 5, "exemplars are only allowed on counter _total and histogram _bucket");
        yield return C("ExemplarOnHistogramCount", Om, "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1 # {a=\"b\"} 1\n# EOF\n", 3, 11, "exemplars are only allowed");
        yield return C("ExemplarTooLong", Om, "# TYPE c counter\nc_total 1 # {a=\"" + new string('x', 128) + "\"} 1\n# EOF\n", 2, 13, "129 characters long; OpenMetrics allows at most 128");
        yield return C("ExemplarInText", Text, "a 1 # {x=\"y\"} 1\n", 1, 5, "exemplars are only allowed in OpenMetrics");
        yield return C("ExemplarWithoutLabelSet", Om, "# TYPE c counter\nc_total 1 # 1\n# EOF\n", 2, 13, "'{' to start the exemplar's label set");

        // End of input.
        yield return C("MissingEof", Om, "a 1\n", 2, 1, "must end with '# EOF'");
        yield return C("MissingEofWithoutNewline", Om, "a 1", 1, 4, "must end with '# EOF'");
        yield return C("EmptyOpenMetrics", Om, string.Empty, 1, 1, "must end with '# EOF'");
        yield return C("TextAfterEof", Om, "# EOF\na 1\n", 2, 1, "after '# EOF'");
        yield return C("BlankLineAfterEof", Om, "# EOF\n\n", 2, 1, "after '# EOF'");
        yield return C("SpaceAfterEof", Om, "# EOF \n", 1, 6, "after '# EOF'");
        yield return C("BlankLineOpenMetrics", Om, "a 1\n\n# EOF\n", 2, 1, "blank lines");

        // Encoding.
        yield return new MalformedCase("InvalidUtf8InLabelValue", Text, [.. "a{x=\""u8, 0xFF, .. "\"} 1\n"u8], 1, 6, "invalid UTF-8 (byte 0xFF)");
        yield return new MalformedCase("TruncatedUtf8Sequence", Om, [.. "# HELP a caf"u8, 0xC3, .. "\n# EOF\n"u8], 1, 13, "invalid UTF-8 (byte 0xC3)");
        yield return new MalformedCase("OverlongUtf8Encoding", Text, [.. "a{x=\""u8, 0xC0, 0xAF, .. "\"} 1\n"u8], 1, 6, "invalid UTF-8");

        // Limits.
        yield return C("OverlongLine", Text, "a 1\nabcdefghijk 1\n", 2, 11, "limit of 10 bytes (ExpositionParserOptions.MaxLineLength)", new() { MaxLineLength = 10 });
        yield return C("TooManyLabels", Text, "a{x=\"1\",y=\"2\",z=\"3\"} 1\n", 1, 15, "the limit is 2 per sample (ExpositionParserOptions.MaxLabelsPerSample)", new() { MaxLabelsPerSample = 2 });
        yield return C("TooManyExemplarLabels", Om, "# TYPE c counter\nc_total 1 # {a=\"1\",b=\"2\"} 1\n# EOF\n", 2, 20, "the limit is 1 per exemplar", new() { MaxLabelsPerSample = 1 });
        yield return C("OverlongLabelName", Text, "a{abcd=\"1\"} 1\n", 1, 3, "4 bytes long; the limit is 3 bytes (ExpositionParserOptions.MaxLabelNameLength)", new() { MaxLabelNameLength = 3 });
        yield return C("OverlongLabelValue", Text, "a{x=\"abcd\"} 1\n", 1, 5, "4 bytes long; the limit is 3 bytes (ExpositionParserOptions.MaxLabelValueLength)", new() { MaxLabelValueLength = 3 });
        yield return C("OverlongEscapedLabelValueCountsUnescapedBytes", Text, "a{x=\"\\n\\n\\n\\n\"} 1\n", 1, 5, "4 bytes long", new() { MaxLabelValueLength = 3 });
        yield return C("TooManySamples", Text, "a 1\nb 1\nc 1\n", 3, 1, "the limit is 2 (ExpositionParserOptions.MaxSamples)", new() { MaxSamples = 2 });
    }

    [TestCaseSource(nameof(Cases))]
    public void Parse_MalformedSpan_ThrowsAtExactPosition(MalformedCase c)
    {
        var act = () => ExpositionParser.Parse(c.Input.AsSpan(), c.Format, c.Options);

        var ex = act.Should().ThrowExactly<ExpositionParseException>().Which;
        ex.Line.Should().Be(c.Line, ex.Message);
        ex.Column.Should().Be(c.Column, ex.Message);
        ex.Reason.Should().Contain(c.Reason);
        ex.Message.Should().StartWith($"line {c.Line}, column {c.Column}: ");
        ex.IsTransient.Should().BeFalse();
    }

    [TestCaseSource(nameof(Cases))]
    public void Parse_MalformedSequenceInTinySegments_ThrowsAtSamePosition(MalformedCase c)
    {
        foreach (var size in new[] { 1, 2, 3 })
        {
            var act = () => ExpositionParser.Parse(TestSequences.Split(c.Input, size), c.Format, c.Options);

            var ex = act.Should().ThrowExactly<ExpositionParseException>($"segments of {size} bytes").Which;
            (ex.Line, ex.Column).Should().Be((c.Line, c.Column), ex.Message);
        }
    }

    [Test]
    public void Catalogue_HasAtLeast45DistinctCases()
    {
        var names = Catalogue().Select(c => c.Name).ToList();
        names.Should().OnlyHaveUniqueItems();
        names.Count.Should().BeGreaterThanOrEqualTo(45);
    }

    [Test]
    public void Parse_StringWithUnpairedSurrogate_ThrowsAtItsUtf8Column()
    {
        var act = () => ExpositionParser.Parse("a 1\nb{x=\"é\uD800\"} 1\n", Text);

        var ex = act.Should().ThrowExactly<ExpositionParseException>().Which;
        (ex.Line, ex.Column).Should().Be((2, 8));
        ex.Reason.Should().Contain("unpaired UTF-16 surrogate");
    }

    [Test]
    public void ExpositionParseException_Message_CarriesPositionAndReason()
    {
        var ex = new ExpositionParseException(3, 7, "something broke");

        ex.Message.Should().Be("line 3, column 7: something broke");
        ex.Should().BeAssignableTo<MetricsCoordinationException>();
    }

    private static MalformedCase C(string name, ExpositionFormat format, string input, int line, int column, string reason, ExpositionParserOptions? options = null) =>
        new(name, format, Encoding.UTF8.GetBytes(input), line, column, reason, options);
}
