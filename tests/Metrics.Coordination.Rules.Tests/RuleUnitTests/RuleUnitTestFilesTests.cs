using Metrics.Coordination.Rules;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Rules.Tests.RuleUnitTests;

/// <summary>
/// Our rule unit-test files (RuleTests/*_test.yml) run under our runner and under the real promtool 2.42: both must
/// pass every passing file and both must fail the deliberately failing one.
/// </summary>
[TestFixture]
public sealed class RuleUnitTestFilesTests
{
    private static string Directory => Path.Combine(AppContext.BaseDirectory, "RuleTests");

    public static IEnumerable<string> PassingFiles() =>
        System.IO.Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "RuleTests"), "*_test.yml")
            .Select(Path.GetFileName)
            .Where(f => f != "failing_test.yml")
            .Order(StringComparer.Ordinal)!;

    [Test]
    public void TestFiles_HoldAtLeastThirtyCases()
    {
        var cases = PassingFiles().Sum(f => File.ReadLines(Path.Combine(Directory, f)).Count(l => l.TrimStart().StartsWith("- eval_time:", StringComparison.Ordinal) || l.TrimStart().StartsWith("- expr:", StringComparison.Ordinal)));
        cases.Should().BeGreaterThanOrEqualTo(30);
    }

    [TestCaseSource(nameof(PassingFiles))]
    public void Run_OurFile_Passes(string file)
    {
        var result = new RuleTestRunner().Run(Path.Combine(Directory, file));
        result.Errors.Should().BeEmpty();
        result.Passed.Should().BeTrue();
    }

    [TestCaseSource(nameof(PassingFiles))]
    [Category("Integration")]
    public async Task Promtool_OurFile_Passes(string file)
    {
        var result = await Promtool.RunAsync(["test", "rules", Path.Combine(Directory, file)]);
        result.ExitCode.Should().Be(0, result.ToString());
    }

    [Test]
    [Category("Integration")]
    public async Task FailingFile_FailsUnderBothRunnersWithTheSameFailures()
    {
        var path = Path.Combine(Directory, "failing_test.yml");
        var ours = new RuleTestRunner().Run(path);
        var promtool = await Promtool.RunAsync(["test", "rules", path]);
        promtool.ExitCode.Should().Be(1, promtool.ToString());
        ours.Passed.Should().BeFalse();
        ours.Errors.Should().HaveCount(2);
        foreach (var error in ours.Errors)
        {
            promtool.Stderr.Should().Contain(error);
        }
    }
}
