using System.Buffers;
using System.Text;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Abstractions.Tests.Exposition;

[TestFixture]
public sealed class ExpositionReaderTests
{
    [Test]
    public void Read_OpenMetrics_YieldsEntriesWithAccessors()
    {
        var input = Encoding.UTF8.GetBytes("""
            # TYPE rpc_seconds histogram
            # UNIT rpc_seconds seconds
            # HELP rpc_seconds Latency \"of\" calls.
            rpc_seconds_bucket{path="/a\\b",le="+Inf"} 3 1.5 # {trace_id="x\ny"} 0.25 2
            rpc_seconds_count{path="/a\\b"} 3
            plain 7
            # EOF

            """);
        var reader = new ExpositionReader(input, ExpositionFormat.OpenMetrics);
        try
        {
            var kinds = new List<(ExpositionEntryKind Kind, int Line, int Family)>();

            reader.Read().Should().BeTrue();
            kinds.Add((reader.Kind, reader.LineNumber, reader.FamilyIndex));
            reader.Type.Should().Be(MetricType.Histogram);
            Encoding.UTF8.GetString(reader.MetricNameUtf8).Should().Be("rpc_seconds");

            reader.Read().Should().BeTrue();
            kinds.Add((reader.Kind, reader.LineNumber, reader.FamilyIndex));
            reader.GetText().Should().Be("seconds");

            reader.Read().Should().BeTrue();
            kinds.Add((reader.Kind, reader.LineNumber, reader.FamilyIndex));
            reader.GetText().Should().Be("Latency \"of\" calls.");

            reader.Read().Should().BeTrue();
            kinds.Add((reader.Kind, reader.LineNumber, reader.FamilyIndex));
            reader.GetMetricName().Should().Be("rpc_seconds_bucket");
            reader.FamilyName.Should().Be("rpc_seconds");
            Encoding.UTF8.GetString(reader.FamilyNameUtf8).Should().Be("rpc_seconds");
            reader.FamilyType.Should().Be(MetricType.Histogram);
            reader.LabelCount.Should().Be(2);
            Encoding.UTF8.GetString(reader.GetLabelNameUtf8(0)).Should().Be("path"); // wire order
            Encoding.UTF8.GetString(reader.GetLabelValueUtf8(0)).Should().Be("/a\\b");
            Encoding.UTF8.GetString(reader.GetLabelNameUtf8(1)).Should().Be("le");
            reader.GetLabels().Should().Equal(new Label("le", "+Inf"), new Label("path", "/a\\b"));
            reader.Value.Should().Be(3);
            reader.TimestampMs.Should().Be(1500);
            reader.HasExemplar.Should().BeTrue();
            reader.ExemplarLabelCount.Should().Be(1);
            Encoding.UTF8.GetString(reader.GetExemplarLabelValueUtf8(0)).Should().Be("x\ny");
            reader.ExemplarValue.Should().Be(0.25);
            reader.ExemplarTimestampMs.Should().Be(2000);
            reader.GetExemplar().Should().Be(new Exemplar(Labels.FromStrings("trace_id", "x\ny"), 0.25, 2000));
            reader.SampleCount.Should().Be(1);

            reader.Read().Should().BeTrue();
            kinds.Add((reader.Kind, reader.LineNumber, reader.FamilyIndex));
            reader.HasExemplar.Should().BeFalse();
            reader.GetExemplar().Should().BeNull();
            reader.TimestampMs.Should().BeNull();

            reader.Read().Should().BeTrue();
            kinds.Add((reader.Kind, reader.LineNumber, reader.FamilyIndex));
            reader.FamilyName.Should().Be("plain");
            reader.FamilyType.Should().Be(MetricType.Unknown);
            reader.GetLabels().Should().BeSameAs(Labels.Empty);

            reader.Read().Should().BeTrue();
            kinds.Add((reader.Kind, reader.LineNumber, reader.FamilyIndex));

            reader.Read().Should().BeFalse();
            reader.Kind.Should().Be(ExpositionEntryKind.None);
            reader.Read().Should().BeFalse();

            kinds.Should().Equal(
                (ExpositionEntryKind.Type, 1, 0),
                (ExpositionEntryKind.Unit, 2, 0),
                (ExpositionEntryKind.Help, 3, 0),
                (ExpositionEntryKind.Sample, 4, 0),
                (ExpositionEntryKind.Sample, 5, 0),
                (ExpositionEntryKind.Sample, 6, 1),
                (ExpositionEntryKind.Eof, 7, 1));
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Test]
    public void Read_PrometheusText_YieldsCommentsAndSkipsBlankLines()
    {
        var reader = new ExpositionReader(TestSequences.Split("# hello there\n\n  \t\n# TYPE a gauge\na{x=\"1\"} 2 3\n", 3), ExpositionFormat.PrometheusText);
        try
        {
            reader.Read().Should().BeTrue();
            reader.Kind.Should().Be(ExpositionEntryKind.Comment);
            reader.GetText().Should().Be(" hello there");
            reader.FamilyIndex.Should().Be(-1);

            reader.Read().Should().BeTrue();
            (reader.Kind, reader.LineNumber).Should().Be((ExpositionEntryKind.Type, 4));

            reader.Read().Should().BeTrue();
            (reader.Kind, reader.LineNumber, reader.Value, reader.TimestampMs).Should().Be((ExpositionEntryKind.Sample, 5, 2.0, (long?)3));

            reader.Read().Should().BeFalse();
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Test]
    public void GetLabelName_IndexOutOfRange_ThrowsArgumentOutOfRange()
    {
        var reader = new ExpositionReader("a{x=\"1\"} 2\n"u8, ExpositionFormat.PrometheusText);
        try
        {
            reader.Read();
            var threw = false;
            try
            {
                reader.GetLabelNameUtf8(1);
            }
            catch (ArgumentOutOfRangeException)
            {
                threw = true;
            }

            threw.Should().BeTrue();
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Test]
    public void Dispose_Twice_IsHarmlessAndEndsReading()
    {
        var reader = new ExpositionReader("a 1\nb 2\n"u8, ExpositionFormat.PrometheusText);
        reader.Read().Should().BeTrue();

        reader.Dispose();
        reader.Dispose();

        reader.Read().Should().BeFalse();
    }

    [Test]
    public void Constructor_UnknownFormat_ThrowsArgumentOutOfRange()
    {
        var threw = false;
        try
        {
            _ = new ExpositionReader(ReadOnlySpan<byte>.Empty, (ExpositionFormat)7);
        }
        catch (ArgumentOutOfRangeException)
        {
            threw = true;
        }

        threw.Should().BeTrue();
    }

    [Test]
    public void Read_LargeScrapeWithoutMaterialising_AllocatesAlmostNothingPerLine()
    {
        // 20,000 series of one family, with escapes, in 4 KiB segments so lines straddle boundaries.
        var sb = new StringBuilder("# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n");
        for (var i = 0; i < 20_000; i++)
        {
            sb.Append("http_requests_total{method=\"GET\",path=\"/api/v1/items/").Append(i).Append("\",note=\"a \\\"quoted\\\" \\\\ value\"} ").Append(i * 3).Append(" 1700000000000\n");
        }

        var input = TestSequences.Split(sb.ToString(), 4096);
        Count(input); // warm up: JIT, pools
        var before = GC.GetAllocatedBytesForCurrentThread();

        var samples = Count(input);

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        samples.Should().Be(20_000);
        allocated.Should().BeLessThan(4096, "reading without materialising labels should not allocate per line");

        static int Count(ReadOnlySequence<byte> input)
        {
            var reader = new ExpositionReader(input, ExpositionFormat.PrometheusText);
            try
            {
                var n = 0;
                while (reader.Read())
                {
                    if (reader.Kind == ExpositionEntryKind.Sample && reader.LabelCount == 3 && reader.Value >= 0)
                    {
                        n++;
                    }
                }

                return n;
            }
            finally
            {
                reader.Dispose();
            }
        }
    }

    [Test]
    public void Parse_LargeScrape_MatchesAcrossSegmentSizes()
    {
        var sb = new StringBuilder();
        sb.Append("# TYPE h histogram\n");
        for (var i = 0; i < 500; i++)
        {
            foreach (var le in new[] { "0.1", "1", "+Inf" })
            {
                sb.Append("h_bucket{i=\"").Append(i).Append("\",le=\"").Append(le).Append("\"} ").Append(le == "0.1" ? 1 : 2).Append('\n');
            }

            sb.Append("h_count{i=\"").Append(i).Append("\"} 2\n");
        }

        sb.Append("# EOF\n");
        var text = sb.ToString();
        var expected = ExpositionParser.Parse(text, ExpositionFormat.OpenMetrics);

        foreach (var size in new[] { 1, 5, 100, 8192 })
        {
            FamilyAssertions.ShouldEqual(ExpositionParser.Parse(TestSequences.Split(text, size), ExpositionFormat.OpenMetrics), expected);
        }

        expected.Single().Samples.Should().HaveCount(2000);
    }
}
