using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Tool.Lint;

namespace Metrics.Coordination.Tool.Tests;

[TestFixture]
public sealed class CardinalityReportTests
{
    [TestCase(57.142857142857146, "57.14")]
    [TestCase(100.0, "100.00")]
    [TestCase(0.0, "0.00")]
    [TestCase(0.125, "0.12")] // an exact half rounds to even, as Go's %.2f does (.NET's F2 gives 0.13)
    [TestCase(0.375, "0.38")]
    [TestCase(2.675, "2.67")] // 2.675 is 2.67499999... in binary
    [TestCase(99.995, "100.00")] // 99.99500000000000454...
    [TestCase(1e-300, "0.00")]
    public void FormatPercent_MatchesGoFormatting(double value, string expected)
    {
        CardinalityReport.FormatPercent(value).Should().Be(expected);
    }

    [Test]
    public void Compute_CountsDistinctSeriesAndOrdersLargestFirstThenByName()
    {
        var a = new MetricFamily("a", MetricType.Gauge, "A.");
        a.Samples.Add(new MetricSample("a", Labels.FromStrings("x", "1"), 1));
        a.Samples.Add(new MetricSample("a", Labels.FromStrings("x", "1"), 2, 1000)); // same series, later timestamp
        var b = new MetricFamily("b", MetricType.Gauge, "B.");
        b.Samples.Add(new MetricSample("b", Labels.Empty, 1));
        var c = new MetricFamily("c", MetricType.Counter, "C.");
        c.Samples.Add(new MetricSample("c_total", Labels.FromStrings("x", "1"), 1));
        c.Samples.Add(new MetricSample("c_total", Labels.FromStrings("x", "2"), 1));

        var (stats, total) = CardinalityReport.Compute([b, a, c]);

        total.Should().Be(4);
        stats.Select(s => (s.Metric, s.Cardinality)).Should().Equal(("c_total", 2), ("a", 1), ("b", 1));
        stats[0].Percentage.Should().Be(0.5);
    }

    [Test]
    public void Write_LaysOutColumnsLikeGoTabwriter()
    {
        var output = new StringWriter();

        CardinalityReport.Write(output, [new CardinalityStat("h_seconds", 4, 4 / 7.0), new CardinalityStat("g", 3, 3 / 7.0)], 7);

        output.ToString().Should().Be(
            "Metric       Cardinality    Percentage    \n" +
            "h_seconds    4              57.14%        \n" +
            "g            3              42.86%        \n" +
            "Total        7              100%          \n");
    }
}
