using Metrics.Coordination.Tool.Tests.Support;

namespace Metrics.Coordination.Tool.Tests;

/// <summary><c>mctl test rules</c> as a process, against promtool 2.42's output conventions on the same files.</summary>
[TestFixture]
public sealed class TestRulesCommandTests
{
    private const string Rules =
        "groups:\n" +
        "  - name: g\n" +
        "    rules:\n" +
        "      - record: job:x:sum\n" +
        "        expr: sum by (job) (x)\n" +
        "      - alert: High\n" +
        "        expr: job:x:sum > 5\n" +
        "        for: 2m\n" +
        "        labels: {severity: page}\n";

    private const string Passing =
        "rule_files: [rules.yml]\n" +
        "evaluation_interval: 1m\n" +
        "tests:\n" +
        "  - interval: 1m\n" +
        "    input_series:\n" +
        "      - series: 'x{job=\"a\",i=\"1\"}'\n" +
        "        values: '0+1x10'\n" +
        "      - series: 'x{job=\"a\",i=\"2\"}'\n" +
        "        values: '0+1x10'\n" +
        "    alert_rule_test:\n" +
        "      - eval_time: 3m\n" +
        "        alertname: High\n" +
        "        exp_alerts: []\n" +
        "      - eval_time: 6m\n" +
        "        alertname: High\n" +
        "        exp_alerts:\n" +
        "          - exp_labels: {severity: page, job: a}\n" +
        "    promql_expr_test:\n" +
        "      - expr: job:x:sum\n" +
        "        eval_time: 4m\n" +
        "        exp_samples:\n" +
        "          - labels: 'job:x:sum{job=\"a\"}'\n" +
        "            value: 8\n";

    private string _dir = null!;

    [OneTimeSetUp]
    public void WriteFiles()
    {
        _dir = Directory.CreateTempSubdirectory("mctl-test-rules-").FullName;
        File.WriteAllText(Path.Combine(_dir, "rules.yml"), Rules);
        File.WriteAllText(Path.Combine(_dir, "pass.yml"), Passing);
        File.WriteAllText(Path.Combine(_dir, "fail.yml"), Passing.Replace("value: 8", "value: 9", StringComparison.Ordinal).Replace("eval_time: 3m", "eval_time: 5m", StringComparison.Ordinal));
    }

    [OneTimeTearDown]
    public void DeleteFiles() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task TestRules_PassingFile_PrintsSuccessAndExitsZero()
    {
        var file = Path.Combine(_dir, "pass.yml");
        var result = await ToolProcess.RunMctlAsync(null, "test", "rules", file);
        result.ExitCode.Should().Be(0, result.ToString());
        result.StdOut.Should().Be($"Unit Testing:  {file}\n  SUCCESS\n\n");
    }

    [Test]
    public async Task TestRules_FailingFile_ShowsExpectedAndGotAndExitsOne()
    {
        var file = Path.Combine(_dir, "fail.yml");
        var result = await ToolProcess.RunMctlAsync(null, "test", "rules", file);
        result.ExitCode.Should().Be(1, result.ToString());
        result.StdErr.Should().StartWith("  FAILED:\n");
        result.StdErr.Should().Contain("    alertname: High, time: 5m, \n        exp:[], \n        got:[\n            0:\n              Labels:{alertname=\"High\", job=\"a\", severity=\"page\"}\n              Annotations:{}\n            ]");
        result.StdErr.Should().Contain("    expr: \"job:x:sum\", time: 4m,\n        exp: {__name__=\"job:x:sum\", job=\"a\"} 9E+00\n        got: {__name__=\"job:x:sum\", job=\"a\"} 8E+00");
    }

    [TestCase("pass.yml")]
    [TestCase("fail.yml")]
    [Category("Integration")]
    public async Task TestRules_SameFile_SameExitCodeStdoutAndFailuresAsPromtool(string name)
    {
        var file = Path.Combine(_dir, name);
        var promtool = await ToolProcess.RunAsync(Promtool.Path, ["test", "rules", file], null);
        var mctl = await ToolProcess.RunMctlAsync(null, "test", "rules", file);
        mctl.ExitCode.Should().Be(promtool.ExitCode, $"promtool: {promtool}\nmctl: {mctl}");
        mctl.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Equal(promtool.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        mctl.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Equal(promtool.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
