using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Tool.Lint;

namespace Metrics.Coordination.Tool.Tests;

/// <summary>The lint rules over the object model, in-process (OpenMetrics types promtool cannot read are covered here).</summary>
[TestFixture]
public sealed class MetricsLinterTests
{
    private static MetricFamily Family(string name, MetricType type, string? help, params (string Name, string[] Labels)[] samples)
    {
        var family = new MetricFamily(name, type, help);
        foreach (var (sampleName, labels) in samples)
        {
            family.Samples.Add(new MetricSample(sampleName, Labels.FromStrings(labels), 1));
        }

        return family;
    }

    private static List<string> Lint(params MetricFamily[] families) =>
        MetricsLinter.Lint(families).Select(p => p.ToString()).ToList();

    [Test]
    public void Lint_OpenMetricsCounterFamilyWithTotalSamples_IsNamedWithTotalAndClean()
    {
        var family = Family("jobs", MetricType.Counter, "Jobs.", ("jobs_total", []), ("jobs_created", []));

        MetricsLinter.ExposedName(family).Should().Be("jobs_total");
        Lint(family).Should().BeEmpty();
    }

    [Test]
    public void Lint_CounterWhoseSamplesLackTotal_IsReportedUnderItsOwnName()
    {
        Lint(Family("jobs", MetricType.Counter, "Jobs.", ("jobs", [])))
            .Should().Equal("jobs counter metrics should have \"_total\" suffix");
    }

    [Test]
    public void Lint_FamilyWithoutSamples_IsSkippedLikePromtool()
    {
        Lint(new MetricFamily("jobs", MetricType.Counter)).Should().BeEmpty();
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("  ")]
    public void Lint_MissingOrBlankHelp_IsReported(string? help)
    {
        Lint(Family("up", MetricType.Gauge, help, ("up", []))).Should().Equal("up no help text");
    }

    [Test]
    public void Lint_GaugeHistogram_MayUseBucketAndLe()
    {
        var family = Family(
            "queue_size_bytes", MetricType.GaugeHistogram, "Queue.",
            ("queue_size_bytes_bucket", ["le", "1024"]), ("queue_size_bytes_bucket", ["le", "+Inf"]),
            ("queue_size_bytes_gcount", []), ("queue_size_bytes_gsum", []));

        Lint(family).Should().BeEmpty();
    }

    [Test]
    public void Lint_InfoAndStateSet_AreHeldToTheGeneralRules()
    {
        var info = Family("build", MetricType.Info, "Build.", ("build_info", ["version", "1"]));
        var stateSet = Family("door", MetricType.StateSet, null, ("door", ["door", "open"]), ("door", ["door", "closed"]));

        Lint(info, stateSet).Should().Equal("door no help text");
    }

    [Test]
    public void Lint_HistogramLabelRules_ApplyOncePerSeriesGroupNotPerBucket()
    {
        var family = Family(
            "lat_seconds", MetricType.Histogram, "Latency.",
            ("lat_seconds_bucket", ["le", "1", "pathName", "/"]), ("lat_seconds_bucket", ["le", "+Inf", "pathName", "/"]),
            ("lat_seconds_sum", ["pathName", "/"]), ("lat_seconds_count", ["pathName", "/"]));

        Lint(family).Should().Equal("lat_seconds label names should be written in 'snake_case' not 'camelCase'");
    }

    [Test]
    public void Lint_SummaryWithQuantile_IsFineButAHistogramWithQuantileIsNot()
    {
        var summary = Family("rpc_seconds", MetricType.Summary, "RPC.", ("rpc_seconds", ["quantile", "0.5"]), ("rpc_seconds_sum", []));
        var histogram = Family("req_seconds", MetricType.Histogram, "Req.", ("req_seconds_bucket", ["le", "+Inf", "quantile", "x"]));

        Lint(summary, histogram).Should().Equal("req_seconds non-summary metrics should not have \"quantile\" label");
    }

    [Test]
    public void Lint_Problems_AreSortedByMetricThenText()
    {
        var problems = Lint(
            Family("zeta_count", MetricType.Gauge, null, ("zeta_count", [])),
            Family("alpha", MetricType.Counter, null, ("alpha", [])));

        problems.Should().Equal(
            "alpha counter metrics should have \"_total\" suffix",
            "alpha no help text",
            "zeta_count no help text",
            "zeta_count non-histogram and non-summary metrics should not have \"_count\" suffix");
    }

    [TestCase("x_milliseconds_kilobytes", "milliseconds", "seconds")]
    [TestCase("x_seconds_kilobytes", "seconds", "seconds")]
    [TestCase("disk_gibibytes", "gibibytes", "bytes")]
    [TestCase("thermometers", null, null)]
    [TestCase("x_mebibytes", null, null)]
    public void TryFindUnit_TakesTheFirstUnitWordOfTheName(string name, string? unit, string? baseUnit)
    {
        var found = MetricsLinter.TryFindUnit(name, out var u, out var b);

        found.Should().Be(unit is not null);
        if (unit is not null)
        {
            u.Should().Be(unit);
            b.Should().Be(baseUnit);
        }
    }

    [TestCase("fooBar", true)]
    [TestCase("HTTPRequests", false)]
    [TestCase("http_Requests", false)]
    [TestCase("snake_case", false)]
    [TestCase("aB", true)]
    public void IsCamelCase_IsPromlintsLowerThenUpperPattern(string name, bool expected)
    {
        MetricsLinter.IsCamelCase(name).Should().Be(expected);
    }
}
