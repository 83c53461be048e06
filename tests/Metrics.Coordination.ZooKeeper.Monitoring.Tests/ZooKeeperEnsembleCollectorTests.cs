using System.Diagnostics;
using System.Globalization;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.ZooKeeper.Monitoring.Tests;

[Category("Integration")]
public class ZooKeeperEnsembleCollectorTests
{
    // Generous for a loaded 2-core machine: a poll is two round trips, a restarted JVM takes seconds to rejoin.
    private static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(90);

    [Test]
    public async Task Collect_RealEnsemble_OneLeaderTwoFollowersAndMemberDownThenUp()
    {
        await using var ensemble = await ZooKeeperEnsemble.StartAsync();
        var registry = new MetricRegistry();
        var servers = ensemble.Servers.Select(s => s.ConnectionString).ToList();
        await using var collector = ZooKeeperEnsembleCollector.Start(registry, new ZooKeeperEnsembleCollectorOptions
        {
            Servers = servers,
            PollInterval = TimeSpan.FromMilliseconds(250),
            Timeout = TimeSpan.FromSeconds(5),
        });

        var text = await WaitForAsync(registry, t => servers.All(s => Value(t, "zookeeper_up", s) == 1), "every member up");
        var states = servers.ToDictionary(s => s, s => ZooKeeperMetricNames.States.Single(st => Value(text, "zookeeper_server_state", s, st) == 1));
        states.Values.Count(v => v == "leader").Should().Be(1, text);
        states.Values.Count(v => v == "follower").Should().Be(2, text);
        var leader = states.Single(p => p.Value == "leader").Key;
        Value(text, "zookeeper_followers", leader).Should().Be(2, text);
        Value(text, "zookeeper_synced_followers", leader).Should().Be(2, text);
        Value(text, "zookeeper_zxid_epoch", leader).Should().BeGreaterThan(0, "the leader's zxid carries its epoch\n" + text);
        foreach (var s in servers)
        {
            Value(text, "zookeeper_znode_count", s).Should().BeGreaterThan(0, text);
            Value(text, "zookeeper_packets_received_total", s).Should().BeGreaterThan(0, text);
            Value(text, "zookeeper_max_file_descriptor_count", s).Should().BeGreaterThan(0, text);
            Value(text, "zookeeper_monitor_parse_errors_total", s).Should().Be(0, text);
        }

        var victim = ensemble.Servers.First(s => s.ConnectionString != leader);
        await victim.KillAsync();
        text = await WaitForAsync(registry, t => Value(t, "zookeeper_up", victim.ConnectionString) == 0, victim.ConnectionString + " down");
        ZooKeeperMetricNames.States.Should().OnlyContain(st => Value(text, "zookeeper_server_state", victim.ConnectionString, st) == 0, "a down member has no state");
        Value(text, "zookeeper_znode_count", victim.ConnectionString).Should().BeNull("a down member's values are not kept stale");
        Value(text, "zookeeper_up", leader).Should().Be(1, text);

        await victim.RestartAsync();
        text = await WaitForAsync(registry, t => Value(t, "zookeeper_up", victim.ConnectionString) == 1, victim.ConnectionString + " up again");
        Value(text, "zookeeper_server_state", victim.ConnectionString, "follower").Should().Be(1, text);
    }

    [Test]
    public async Task Collect_NothingListening_UpZeroWithinTimeout()
    {
        var registry = new MetricRegistry();
        using var closed = new ClosedPort();
        var server = "127.0.0.1:" + closed.Port.ToString(CultureInfo.InvariantCulture);
        await using var collector = ZooKeeperEnsembleCollector.Start(registry, new ZooKeeperEnsembleCollectorOptions
        {
            Servers = [server],
            PollInterval = TimeSpan.FromMilliseconds(200),
            Timeout = TimeSpan.FromSeconds(2),
        });
        var text = await WaitForAsync(registry, t => Value(t, "zookeeper_up", server) == 0, "up 0");
        text.Should().NotContain("zookeeper_znode_count");
    }

    [Test]
    public void Start_BadOptions_Throws()
    {
        var registry = new MetricRegistry();
        var none = () => ZooKeeperEnsembleCollector.Start(registry, new ZooKeeperEnsembleCollectorOptions());
        none.Should().Throw<ArgumentException>().WithMessage("*At least one*");
        var noPort = () => ZooKeeperEnsembleCollector.Start(registry, new ZooKeeperEnsembleCollectorOptions { Servers = ["zk1"] });
        noPort.Should().Throw<ArgumentException>().WithMessage("*'zk1' is not host:port*");
        var twice = () => ZooKeeperEnsembleCollector.Start(registry, new ZooKeeperEnsembleCollectorOptions { Servers = ["a:1", "a:1"] });
        twice.Should().Throw<ArgumentException>().WithMessage("*listed twice*");
    }

    /// <summary>Scrapes until <paramref name="condition"/> holds; fails with the last scrape after <see cref="WaitTimeout"/>.</summary>
    private static async Task<string> WaitForAsync(MetricRegistry registry, Func<string, bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        var text = registry.ToText();
        while (!condition(text))
        {
            if (clock.Elapsed > WaitTimeout)
            {
                Assert.Fail($"Waited {WaitTimeout.TotalSeconds} s for {what}; last scrape:\n{text}");
            }

            await Task.Delay(100);
            text = registry.ToText();
        }

        return text;
    }

    /// <summary>The value of <c>name{server=...[,state=...]}</c> in a Prometheus text scrape, or null.</summary>
    private static double? Value(string text, string name, string server, string? state = null)
    {
        var prefix = state is null ? $"{name}{{server=\"{server}\"}} " : $"{name}{{server=\"{server}\",state=\"{state}\"}} ";
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return double.Parse(line[prefix.Length..], CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}
