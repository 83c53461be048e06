using System.Reflection;
using System.Text.RegularExpressions;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Hosting.Tests;

/// <summary>
/// Runs the user-facing demo <c>samples/HaAlerting/run.sh --short</c> as a user would (its own ZooKeeper ensemble,
/// Alertmanager and three replica processes on free loopback ports) and checks what it prints and that it cleans up.
/// </summary>
public partial class HaAlertingSampleTests
{
    [GeneratedRegex(@"^alert DemoAlwaysFiring firing in Alertmanager: startsAt (?<starts>\S+), sent by replica (?<sender>[abc]) \(term (?<term>\S+)\)$", RegexOptions.Multiline)]
    private static partial Regex FiringLine();

    [GeneratedRegex(@"^new leader: replica (?<sender>[abc]) \(term (?<term>\S+)\);", RegexOptions.Multiline)]
    private static partial Regex NewLeaderLine();

    [GeneratedRegex(@"^alert still firing: startsAt (?<starts>\S+) \(unchanged\), sent by replica (?<sender>[abc])$", RegexOptions.Multiline)]
    private static partial Regex StillFiringLine();

    [GeneratedRegex(@"^cleanup: killed PIDs (?<pids>[0-9 ]+); removed (?<dir>\S+)$", RegexOptions.Multiline)]
    private static partial Regex CleanupLine();

    [Test]
    [Category("Integration")]
    [Category("LongRunning")]
    public async Task RunScript_Short_NewLeaderContinuesTheAlertWithTheSameStartsAtAndEverythingIsCleanedUp()
    {
        var script = Path.Combine(RepositoryRoot(), "samples", "HaAlerting", "run.sh");
        var result = await PeerProcess.RunAsync(
            "/usr/bin/env",
            ["HA_ALERTING_DLL=" + SampleAssembly(), "bash", script, "--short"],
            timeout: TimeSpan.FromMinutes(3));
        TestContext.Out.WriteLine(result.ToString());

        result.ExitCode.Should().Be(0, result.ToString());
        var firing = FiringLine().Match(result.Stdout);
        firing.Success.Should().BeTrue(result.Stdout);
        var leader = NewLeaderLine().Match(result.Stdout);
        leader.Success.Should().BeTrue(result.Stdout);
        leader.Groups["sender"].Value.Should().NotBe(firing.Groups["sender"].Value, "another replica leads after the kill");
        long.Parse(leader.Groups["term"].Value, System.Globalization.CultureInfo.InvariantCulture)
            .Should().BeGreaterThan(long.Parse(firing.Groups["term"].Value, System.Globalization.CultureInfo.InvariantCulture), "a new term has a larger fencing token");
        var still = StillFiringLine().Match(result.Stdout);
        still.Success.Should().BeTrue(result.Stdout);
        still.Groups["starts"].Value.Should().Be(firing.Groups["starts"].Value, "the alert keeps its startsAt");
        still.Groups["sender"].Value.Should().Be(leader.Groups["sender"].Value);
        result.Stdout.Should().Contain("alert stayed firing with startsAt " + firing.Groups["starts"].Value + " for 3 s");
        result.Stdout.Should().Contain("OK: the alert kept firing from another replica with the same startsAt through 1 leader kill(s)");

        // 3 ZooKeeper members, Alertmanager, 3 replicas: all gone, and the temp directory too.
        var cleanup = CleanupLine().Match(result.Stdout);
        cleanup.Success.Should().BeTrue(result.Stdout);
        var pids = cleanup.Groups["pids"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        pids.Should().HaveCount(7);
        pids.Should().OnlyContain(pid => !Directory.Exists("/proc/" + pid), "every process the script started is stopped");
        Directory.Exists(cleanup.Groups["dir"].Value).Should().BeFalse();
    }

    [Test]
    public async Task RunScript_PeerMissing_FailsWithTheInstallHintBeforeStartingAnything()
    {
        var script = Path.Combine(RepositoryRoot(), "samples", "HaAlerting", "run.sh");
        var result = await PeerProcess.RunAsync(
            "/usr/bin/env",
            ["MC_PEER_PROMETHEUS_ALERTMANAGER=/nonexistent/prometheus-alertmanager", "bash", script, "--short"],
            timeout: TimeSpan.FromMinutes(1));

        result.ExitCode.Should().Be(1, result.ToString());
        result.Stderr.Should().Contain("prometheus-alertmanager not found. Install it with: sudo apt-get install -y --no-install-recommends prometheus-alertmanager");
        result.Stdout.Should().BeEmpty("nothing was started");
    }

    private static string SampleAssembly()
    {
        var path = typeof(HaAlertingSampleTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(a => a.Key == "HaAlertingAssembly")?.Value;
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            Assert.Fail($"HaAlerting.dll not found at '{path}'. The test project builds samples/HaAlerting through a ProjectReference; rebuild it.");
        }

        return path!;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Metrics.Coordination.sln")))
            {
                return dir.FullName;
            }
        }

        Assert.Fail("Metrics.Coordination.sln not found above " + AppContext.BaseDirectory);
        return string.Empty;
    }
}
