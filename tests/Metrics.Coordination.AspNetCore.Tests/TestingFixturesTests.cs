using System.Net;
using System.Net.Sockets;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.AspNetCore.Tests;

/// <summary>The shared peer fixtures in Metrics.Coordination.Testing (first used by this project's integration tests).</summary>
public class TestingFixturesTests
{
    [Test]
    public void FreePort_IsBindableOnLoopback()
    {
        var port = FreePort.Get();

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
        port.Should().BeInRange(1, 65535);
    }

    [Test]
    public void TempDirectory_Dispose_DeletesEverything()
    {
        string path;
        using (var directory = new TempDirectory("fixture"))
        {
            path = directory.Path;
            Directory.CreateDirectory(directory.Combine("a", "b"));
            File.WriteAllText(directory.Combine("a", "b", "c.txt"), "x");
        }

        Directory.Exists(path).Should().BeFalse();
    }

    [Test]
    public void PeerBinary_Missing_FailsNamingThePackage()
    {
        var act = () => PeerBinary.Find("mc-no-such-peer", "apt-get install -y --no-install-recommends mc-no-such-peer-package");

        act.Should().Throw<AssertionException>()
            .WithMessage("*'mc-no-such-peer' is not installed*apt-get install -y --no-install-recommends mc-no-such-peer-package*MC_PEER_MC_NO_SUCH_PEER*");
    }

    [Test]
    public void PeerBinary_Installed_IsFound()
    {
        // /bin/sh exists on every machine that runs these tests.
        PeerBinary.Find("sh", "apt-get install -y dash").Should().EndWith("/sh");
    }

    [Test]
    public void PrometheusConfig_NonLoopbackTarget_IsRefused()
    {
        var options = new PrometheusOptions { ScrapeJobs = [new ScrapeJob("x", ["10.0.0.1:9100"])] };

        var act = () => PrometheusServer.BuildConfig(options);

        act.Should().Throw<ArgumentException>().WithMessage("*loopback*");
    }

    [Test]
    public void PrometheusConfig_QuotesValuesAndWritesEveryJob()
    {
        var options = new PrometheusOptions
        {
            ScrapeJobs =
            [
                ScrapeJob.ForPort("a\"b", 1234, "/m"),
                new ScrapeJob("c", ["localhost:1", "[::1]:2"]) { HonorLabels = true, ScrapeProtocols = ["PrometheusText0.0.4"], ScrapeInterval = TimeSpan.FromMilliseconds(500) },
            ],
        };

        var yaml = PrometheusServer.BuildConfig(options);

        yaml.Should().Contain("- job_name: \"a\\u0022b\"").And.Contain("targets: [\"127.0.0.1:1234\"]").And.Contain("metrics_path: \"/m\"");
        yaml.Should().Contain("honor_labels: true").And.Contain("scrape_protocols: [\"PrometheusText0.0.4\"]").And.Contain("scrape_interval: 500ms");
    }

    [Test]
    public async Task PeerProcess_RunAsync_CapturesExitCodeAndStreams()
    {
        var result = await PeerProcess.RunAsync("/bin/sh", ["-c", "cat; echo err >&2; exit 3"], stdin: "hello\n");

        result.Should().Be(new ProcessResult(3, "hello\n", "err\n"));
    }

    [Test]
    public async Task PeerProcess_Dispose_KillsTheProcessTree()
    {
        var process = PeerProcess.Start("/bin/sh", ["-c", "sleep 60 & echo child $!; wait"]);
        while (!process.Output.Contains("child", StringComparison.Ordinal))
        {
            await Task.Delay(20);
        }

        var child = int.Parse(process.Output.Split(' ')[1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await process.DisposeAsync();

        process.HasExited.Should().BeTrue();
        process.ExitCode.Should().NotBe(0);

        // Gone, or a zombie waiting for a reaper: either way no longer running.
        var stat = $"/proc/{child}/stat";
        var running = File.Exists(stat) && File.ReadAllText(stat).Split(") ")[1][0] != 'Z';
        running.Should().BeFalse("the child is killed with its parent");
    }

    [Test]
    public async Task PeerGuard_PassesTheExitCodeThrough()
    {
        var result = await PeerProcess.RunAsync("/bin/sh", ["-c", PeerProcess.GuardScript, "peer-guard", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), "/bin/sh", "-c", "echo out; exit 7"]);

        result.Should().Be(new ProcessResult(7, "out\n", string.Empty));
    }

    [Test]
    public async Task PeerGuard_HostGone_KillsThePeerWithinSeconds()
    {
        // A stand-in test host that dies after a second; the guarded peer would sleep for a minute.
        using var host = System.Diagnostics.Process.Start("/bin/sleep", "1");
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var result = await PeerProcess.RunAsync("/bin/sh", ["-c", PeerProcess.GuardScript, "peer-guard", host.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "/bin/sleep", "60"], timeout: TimeSpan.FromSeconds(20));

        result.ExitCode.Should().Be(128 + 9, "the peer was killed with SIGKILL");
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10));
    }
}
