using Metrics.Coordination.Tool.Tests.Support;

namespace Metrics.Coordination.Tool.Tests;

/// <summary>
/// <c>mctl check rules</c>, run as a process, and its verdict compared with promtool 2.42's on the same files. The
/// files use only what 2.42's rule format knows (no <c>query_offset</c> or group <c>labels</c>, which came later).
/// </summary>
[TestFixture]
public sealed class CheckRulesCommandTests
{
    private const string Good =
        "groups:\n" +
        "  - name: example\n" +
        "    interval: 1h30m\n" +
        "    limit: 10\n" +
        "    rules:\n" +
        "      - record: job:up:sum\n" +
        "        expr: sum by (job) (up)\n" +
        "      - alert: InstanceDown\n" +
        "        expr: up == 0\n" +
        "        for: 5m\n" +
        "        keep_firing_for: 10m\n" +
        "        labels:\n" +
        "          severity: page\n" +
        "        annotations:\n" +
        "          summary: \"{{ $labels.instance }} is down\"\n" +
        "  - name: second\n" +
        "    rules:\n" +
        "      - record: job:x:rate5m\n" +
        "        expr: |\n" +
        "          rate(x[5m])\n";

    private static readonly Dictionary<string, string> Bad = new()
    {
        ["bad_duration"] = "groups:\n  - name: g\n    interval: 1x\n    rules: []\n",
        ["unknown_field"] = "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        foo: bar\n",
        ["unknown_group_field"] = "groups:\n  - name: g\n    evaluation: 1m\n    rules: []\n",
        ["duplicate_group"] = "groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n",
        ["empty_group_name"] = "groups:\n  - name: \"\"\n    rules: []\n",
        ["bad_record_name"] = "groups:\n  - name: g\n    rules:\n      - record: 'bad name'\n        expr: up\n",
        ["bad_expr"] = "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: sum(up\n",
        ["record_with_for"] = "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        for: 1m\n",
        ["record_with_annotations"] = "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: up\n        annotations:\n          x: y\n",
        ["both_record_and_alert"] = "groups:\n  - name: g\n    rules:\n      - record: a\n        alert: b\n        expr: up\n",
        ["neither_record_nor_alert"] = "groups:\n  - name: g\n    rules:\n      - expr: up\n",
        ["name_label"] = "groups:\n  - name: g\n    rules:\n      - alert: a\n        expr: up\n        labels:\n          __name__: x\n",
        ["bad_label_name"] = "groups:\n  - name: g\n    rules:\n      - alert: a\n        expr: up\n        labels:\n          0bad: x\n",
        ["missing_expr"] = "groups:\n  - name: g\n    rules:\n      - alert: a\n",
        ["bad_template"] = "groups:\n  - name: g\n    rules:\n      - alert: a\n        expr: up\n        annotations:\n          s: '{{ nope }}'\n",
        ["not_yaml"] = "groups:\n  - name: g\n   rules: [\n",
    };

    private string _dir = null!;

    [OneTimeSetUp]
    public void WriteFiles()
    {
        _dir = Directory.CreateTempSubdirectory("mctl-check-rules-").FullName;
        File.WriteAllText(Path.Combine(_dir, "good.yml"), Good);
        foreach (var (name, text) in Bad)
        {
            File.WriteAllText(Path.Combine(_dir, name + ".yml"), text);
        }
    }

    [OneTimeTearDown]
    public void DeleteFiles() => Directory.Delete(_dir, recursive: true);

    public static IEnumerable<string> BadNames() => Bad.Keys;

    [Test]
    public async Task CheckRules_ValidFile_PrintsSuccessAndExitsZero()
    {
        var file = Path.Combine(_dir, "good.yml");
        var result = await ToolProcess.RunMctlAsync(null, "check", "rules", file);
        result.ExitCode.Should().Be(0, result.ToString());
        result.StdOut.Should().Be($"Checking {file}\n  SUCCESS: 3 rules found\n\n");
    }

    [Test]
    public async Task CheckRules_FileWithManyProblems_ListsEveryProblemWithPlaceAndExitsOne()
    {
        var file = Path.Combine(_dir, "many.yml");
        await File.WriteAllTextAsync(file,
            "groups:\n" +
            "  - name: g1\n" +
            "    rules:\n" +
            "      - record: 'bad name'\n" +
            "        expr: sum(up\n" +
            "      - alert: A\n" +
            "        expr: up\n" +
            "        for: 5x\n" +
            "  - name: g1\n" +
            "    rules: []\n");
        var result = await ToolProcess.RunMctlAsync(null, "check", "rules", file);
        result.ExitCode.Should().Be(1, result.ToString());
        result.StdOut.Should().StartWith($"Checking {file}\n");
        result.StdErr.Should().Contain("  FAILED:\n");
        result.StdErr.Should().Contain($"{file}: 4:17: group \"g1\", rule 1, \"bad name\": invalid recording rule name: bad name");
        result.StdErr.Should().Contain($"{file}: 5:18: group \"g1\", rule 1, \"bad name\": could not parse expression: 1:4: parse error:");
        result.StdErr.Should().Contain($"{file}: 8:14: group \"g1\", rule 2, \"A\": for: not a valid duration string: \"5x\"");
        result.StdErr.Should().Contain($"{file}: 9:11: groupname: \"g1\" is repeated in the same file");
    }

    [Test]
    [Category("Integration")]
    public async Task CheckRules_ValidFile_PromtoolAgrees()
    {
        var file = Path.Combine(_dir, "good.yml");
        var promtool = await ToolProcess.RunAsync(Promtool.Path, ["check", "rules", file], null);
        var mctl = await ToolProcess.RunMctlAsync(null, "check", "rules", file);
        promtool.ExitCode.Should().Be(0, promtool.ToString());
        mctl.ExitCode.Should().Be(0, mctl.ToString());
        mctl.StdOut.Should().Be(promtool.StdOut);
    }

    [TestCaseSource(nameof(BadNames))]
    [Category("Integration")]
    public async Task CheckRules_InvalidFile_BothToolsFailIt(string name)
    {
        var file = Path.Combine(_dir, name + ".yml");
        var promtool = await ToolProcess.RunAsync(Promtool.Path, ["check", "rules", file], null);
        var mctl = await ToolProcess.RunMctlAsync(null, "check", "rules", file);
        promtool.ExitCode.Should().Be(1, promtool.ToString());
        mctl.ExitCode.Should().Be(1, mctl.ToString());
        mctl.StdOut.Should().Be(promtool.StdOut);
        mctl.StdErr.Should().StartWith("  FAILED:\n");
    }
}
