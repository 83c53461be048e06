using Metrics.Coordination.Tool.Tests.Support;

namespace Metrics.Coordination.Tool.Tests;

/// <summary>The dispatcher: help, version and usage errors, run as a process.</summary>
[TestFixture]
public sealed class CliTests
{
    [TestCase("--help")]
    [TestCase("-h")]
    [TestCase("help")]
    public async Task RootHelp_PrintsUsageWithCommandsToStderrAndExitsTwo(string flag)
    {
        var result = await ToolProcess.RunMctlAsync(null, flag);

        result.ExitCode.Should().Be(2, result.ToString());
        result.StdOut.Should().BeEmpty();
        result.StdErr.Should().StartWith("usage: mctl <command>").And.Contain("check metrics").And.Contain("--version");
    }

    [Test]
    public async Task NoArguments_PrintsUsageAndExitsTwo()
    {
        var result = await ToolProcess.RunMctlAsync(null);

        result.ExitCode.Should().Be(2, result.ToString());
        result.StdErr.Should().Contain("expected command").And.Contain("usage: mctl");
    }

    [Test]
    public async Task CheckHelp_ListsItsSubcommandsAndExitsTwo()
    {
        var result = await ToolProcess.RunMctlAsync(null, "check", "--help");

        result.ExitCode.Should().Be(2, result.ToString());
        result.StdOut.Should().BeEmpty();
        result.StdErr.Should().StartWith("usage: mctl check <command>").And.Contain("metrics");
    }

    [Test]
    public async Task CheckWithoutSubcommand_IsAUsageError()
    {
        var result = await ToolProcess.RunMctlAsync(null, "check");

        result.ExitCode.Should().Be(2, result.ToString());
        result.StdErr.Should().Contain("usage: mctl check <command>");
    }

    [Test]
    public async Task CheckMetricsHelp_DescribesFlagsAndExitsTwo()
    {
        var result = await ToolProcess.RunMctlAsync(Expositions.ManyProblems, "check", "metrics", "--help");

        result.ExitCode.Should().Be(2, result.ToString());
        result.StdOut.Should().BeEmpty("help wins over reading the input");
        result.StdErr.Should().StartWith("usage: mctl check metrics")
            .And.Contain("--extended").And.Contain("--format").And.Contain("file|url");
    }

    [TestCase("bogus")]
    [TestCase("rules")]
    public async Task UnknownVerb_PrintsErrorAndUsageToStderrAndExitsTwo(string verb)
    {
        var result = await ToolProcess.RunMctlAsync(null, verb);

        result.ExitCode.Should().Be(2, result.ToString());
        result.StdOut.Should().BeEmpty();
        result.StdErr.Should().Contain($"unknown command '{verb}'").And.Contain("usage: mctl");
    }

    [Test]
    public async Task UnknownSubcommand_PrintsErrorAndGroupUsage()
    {
        var result = await ToolProcess.RunMctlAsync(null, "check", "config");

        result.ExitCode.Should().Be(2, result.ToString());
        result.StdErr.Should().Contain("unknown command 'config'").And.Contain("usage: mctl check <command>");
    }

    [Test]
    public async Task UnknownFlag_PrintsErrorAndCommandUsage()
    {
        var result = await ToolProcess.RunMctlAsync(Expositions.CleanText, "check", "metrics", "--lint=none");

        result.ExitCode.Should().Be(2, result.ToString());
        result.StdErr.Should().Contain("unknown long flag '--lint'").And.Contain("usage: mctl check metrics");
    }

    [Test]
    public async Task Version_PrintsNameAndVersionToStdoutAndExitsZero()
    {
        var result = await ToolProcess.RunMctlAsync(null, "--version");

        result.ExitCode.Should().Be(0, result.ToString());
        result.StdOut.Should().MatchRegex(@"^mctl, version \d+\.\d+\.\d+");
        result.StdErr.Should().BeEmpty();
    }
}
