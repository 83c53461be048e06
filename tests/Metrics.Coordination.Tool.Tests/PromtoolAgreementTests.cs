using Metrics.Coordination.Tool.Tests.Support;

namespace Metrics.Coordination.Tool.Tests;

/// <summary>
/// mctl's verdict (exit code) and findings must match promtool 2.42's on the same input (promtool writes findings to
/// stderr, mctl to stdout). promtool reads Prometheus
/// text from stdin only, so the inputs are Prometheus text. promtool missing fails these tests (see <see cref="Promtool"/>).
/// </summary>
[TestFixture]
[Category("Integration")]
public sealed class PromtoolAgreementTests
{
    public static IEnumerable<TestCaseData> Inputs()
    {
        yield return new TestCaseData(Expositions.CleanText).SetName("Agree_CleanText");
        yield return new TestCaseData(string.Empty).SetName("Agree_Empty");
        yield return new TestCaseData("# HELP x Only metadata.\n# TYPE x gauge\n").SetName("Agree_FamilyWithoutSamples");
        yield return new TestCaseData("up 1\n").SetName("Agree_UntypedWithoutHelp");
        yield return new TestCaseData("# HELP foo\n# TYPE foo gauge\nfoo 1\n").SetName("Agree_EmptyHelp");
        yield return new TestCaseData(Expositions.ManyProblems).SetName("Agree_ManyProblems");
        yield return new TestCaseData(Expositions.Gauge("x_gauge_histogram")).SetName("Agree_TypeNamesInName");
        yield return new TestCaseData(Expositions.Gauge("x_counter_total")).SetName("Agree_CounterWordOnGaugeTotal");
        yield return new TestCaseData(Expositions.Gauge("x_ms_s")).SetName("Agree_RepeatedAbbreviations");
        yield return new TestCaseData(Expositions.Gauge("x_kibibytes")).SetName("Agree_BinaryPrefix");
        yield return new TestCaseData(Expositions.Gauge("x_mebibytes")).SetName("Agree_PrefixPromlintDoesNotKnow");
        yield return new TestCaseData(Expositions.Gauge("temperature_kelvins")).SetName("Agree_Kelvins");
        yield return new TestCaseData(Expositions.Gauge("HTTPRequests")).SetName("Agree_UpperCaseRunIsNotCamelCase");
        yield return new TestCaseData(
                "# HELP g h\n# TYPE g gauge\ng{fooBar=\"1\"} 1\ng{fooBar=\"2\"} 1\n")
            .SetName("Agree_CamelCaseLabelOncePerSeries");
        yield return new TestCaseData(
                "# HELP h h\n# TYPE h histogram\n" +
                "h_bucket{fooBar=\"a\",le=\"1\"} 1\nh_bucket{fooBar=\"a\",le=\"+Inf\"} 1\nh_sum{fooBar=\"a\"} 1\nh_count{fooBar=\"a\"} 1\n" +
                "h_bucket{fooBar=\"b\",le=\"+Inf\"} 1\nh_sum{fooBar=\"b\"} 1\nh_count{fooBar=\"b\"} 1\n")
            .SetName("Agree_CamelCaseLabelOncePerHistogram");
        yield return new TestCaseData(
                "# HELP s h\n# TYPE s summary\ns{quantile=\"0.5\",le=\"1\"} 1\ns_sum 1\ns_count 1\n")
            .SetName("Agree_LeLabelOnSummary");
        yield return new TestCaseData("# HELP u h\n# TYPE u untyped\nu{le=\"1\",quantile=\"1\"} 1\n").SetName("Agree_UntypedMayUseLeAndQuantile");
        yield return new TestCaseData("# HELP foo h\n# TYPE foo counter\nfoo_total 1\n").SetName("Agree_TextCounterSamplesMustCarryTheTypeName");
        yield return new TestCaseData("# some comment\nfoo 1\n").SetName("Agree_PlainComment");
        yield return new TestCaseData("# HELP foo h\n# TYPE foo gauge\nfoo NaN\nfoo{a=\"b\"} +Inf 1700000000000\n").SetName("Agree_SpecialValuesAndTimestamp");
        yield return new TestCaseData(Expositions.BrokenText).SetName("Agree_UnterminatedLabelValue");
        yield return new TestCaseData("# HELP foo h\n# TYPE foo gauge\n# TYPE foo counter\nfoo 1\n").SetName("Agree_SecondTypeLine");
        yield return new TestCaseData("# HELP foo h\n# TYPE foo bogus\nfoo 1\n").SetName("Agree_UnknownType");
        yield return new TestCaseData("# HELP foo h\n# TYPE foo gauge\nfoo{a=\"1\",a=\"2\"} 1\n").SetName("Agree_DuplicateLabel");
        yield return new TestCaseData("# HELP foo h\n# TYPE foo gauge\nfoo{a=\"x\\qy\"} 1\n").SetName("Agree_InvalidEscape");
        yield return new TestCaseData("# HELP foo h\n# TYPE foo gauge\nfoo{__name__=\"bar\"} 1\n").SetName("Agree_ReservedLabelName");
        yield return new TestCaseData("# HELP foo h\n# TYPE foo gauge\nfoo 1 abc\n").SetName("Agree_InvalidTimestamp");
        yield return new TestCaseData("# HELP up h\n# TYPE up gauge\nup abc\n").SetName("Agree_InvalidValue");
        yield return new TestCaseData("# HELP up h\n# TYPE up gauge\nup{1job=\"x\"} 1\n").SetName("Agree_InvalidLabelName");
        yield return new TestCaseData("# HELP up h\n# TYPE up gauge\nup\n").SetName("Agree_MissingValue");
    }

    [TestCaseSource(nameof(Inputs))]
    public async Task CheckMetrics_SameInput_SameExitCodeAndFindings(string input)
    {
        var promtool = await Promtool.CheckMetricsAsync(input);
        var mctl = await ToolProcess.RunMctlAsync(input, "check", "metrics");

        mctl.ExitCode.Should().Be(promtool.ExitCode, $"promtool said:\n{promtool}\nmctl said:\n{mctl}");
        if (promtool.ExitCode == 3)
        {
            // promtool prints findings on stderr; mctl prints them on stdout (they are the command's result).
            mctl.StdOut.Should().Be(promtool.StdErr, "lint findings are printed with promtool's wording and order");
        }

        if (promtool.ExitCode == 0)
        {
            mctl.StdOut.Should().BeEmpty();
        }

        if (promtool.ExitCode == 1)
        {
            mctl.StdErr.Should().StartWith("error while linting").And.MatchRegex(@"line \d+, column \d+");
        }
    }

    [Test]
    public async Task CheckMetricsExtended_CleanText_SameTable()
    {
        var promtool = await Promtool.CheckMetricsAsync(Expositions.CleanText, extended: true);
        var mctl = await ToolProcess.RunMctlAsync(Expositions.CleanText, "check", "metrics", "--extended");

        promtool.ExitCode.Should().Be(0, promtool.ToString());
        mctl.ExitCode.Should().Be(0, mctl.ToString());
        mctl.StdOut.Should().Be(promtool.StdOut);
    }

    /// <summary>
    /// Inputs promtool 2.42 accepts and we reject: our parser applies the exposition rules that Go's text parser does
    /// not check (a family's lines are contiguous; histogram buckets are cumulative and end in +Inf). Kept here so a
    /// change on either side shows.
    /// </summary>
    public static IEnumerable<TestCaseData> StricterInputs()
    {
        yield return new TestCaseData(
                "# HELP foo h\n# TYPE foo gauge\nfoo 1\n# HELP bar h\n# TYPE bar gauge\nbar 1\nfoo{a=\"b\"} 2\n", 7)
            .SetName("Stricter_InterleavedFamily");
        yield return new TestCaseData("# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 3\n", 4)
            .SetName("Stricter_DecreasingBuckets");
        yield return new TestCaseData("# HELP h h\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\n", 3)
            .SetName("Stricter_HistogramWithoutInfBucket");
    }

    [TestCaseSource(nameof(StricterInputs))]
    public async Task CheckMetrics_InputPromtoolTolerates_IsAParseErrorForUs(string input, int line)
    {
        var promtool = await Promtool.CheckMetricsAsync(input);
        var mctl = await ToolProcess.RunMctlAsync(input, "check", "metrics");

        promtool.ExitCode.Should().Be(0, promtool.ToString());
        mctl.ExitCode.Should().Be(1, mctl.ToString());
        mctl.StdErr.Should().MatchRegex($@"line {line}, column \d+");
    }
}
