using Metrics.Coordination.Tool.Tests.Support;

namespace Metrics.Coordination.Tool.Tests;

/// <summary><c>mctl promql test</c>, run as a process on scripts written by the test.</summary>
[TestFixture]
public sealed class PromQLTestCommandTests
{
    private const string Passing =
        "load 1m\n" +
        "  http_requests{job=\"a\"} 0+10x10\n" +
        "  http_requests{job=\"b\"} 0+20x10\n" +
        "\n" +
        "eval instant at 5m sum(http_requests)\n" +
        "  {} 150\n" +
        "\n" +
        "eval instant at 5m http_requests{job=\"a\"}\n" +
        "  http_requests{job=\"a\"} 50\n";

    private const string Failing =
        "load 1m\n" +
        "  x 1+1x5\n" +
        "\n" +
        "eval instant at 2m x\n" +
        "  x 3\n" +
        "\n" +
        "eval instant at 2m x\n" +
        "  x 42\n";

    private string _dir = null!;

    [OneTimeSetUp]
    public void CreateScripts()
    {
        _dir = Directory.CreateTempSubdirectory("mctl-promql-tests-").FullName;
        File.WriteAllText(Path.Combine(_dir, "pass.test"), Passing);
        File.WriteAllText(Path.Combine(_dir, "fail.test"), Failing);
        File.WriteAllText(Path.Combine(_dir, "broken.test"), "load 1m\n  x 1 2\n\nfrobnicate\n");
    }

    [OneTimeTearDown]
    public void DeleteTempDir() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task PassingScript_ExitsZero()
    {
        var file = Path.Combine(_dir, "pass.test");

        var result = await ToolProcess.RunMctlAsync(null, "promql", "test", file);

        result.ExitCode.Should().Be(0, result.ToString());
        result.StdOut.Should().Be($"{file}: 2 passed, 0 failed\n2 passed, 0 failed\n");
    }

    [Test]
    public async Task FailingEval_IsReportedWithFileAndLine_AndExitsOne()
    {
        var pass = Path.Combine(_dir, "pass.test");
        var fail = Path.Combine(_dir, "fail.test");

        var result = await ToolProcess.RunMctlAsync(null, "promql", "test", pass, fail);

        result.ExitCode.Should().Be(1, result.ToString());
        result.StdOut.Should().Contain($"{fail}: 1 passed, 1 failed\n");
        result.StdOut.Should().Contain($"  {fail}:7: ");
        result.StdOut.Should().NotContain($"{fail}:4:");
        result.StdOut.Should().EndWith("\n3 passed, 1 failed\n");
    }

    [Test]
    public async Task UnparsableScript_IsAFailureWithItsLine()
    {
        var broken = Path.Combine(_dir, "broken.test");

        var result = await ToolProcess.RunMctlAsync(null, "promql", "test", broken);

        result.ExitCode.Should().Be(1, result.ToString());
        result.StdOut.Should().Contain($"{broken}:4:");
    }

    [Test]
    public async Task NoFiles_IsAUsageError()
    {
        var result = await ToolProcess.RunMctlAsync(null, "promql", "test");

        result.ExitCode.Should().Be(2, result.ToString());
    }
}
