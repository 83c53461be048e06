using System.Diagnostics;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Rules;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb;
using Metrics.Coordination.Tsdb.Ingestion;

namespace Metrics.Coordination.ZooKeeper.Monitoring.Tests;

/// <summary>
/// The shipped <c>ZooKeeperDown</c> alert end to end, on real time: a real 3-node ensemble → the collector → a registry →
/// the TSDB (RegistryIngestion) → our RuleManager loaded with the shipped rule file, unchanged → a real Alertmanager 0.25.
/// The shipped rule says <c>for: 1m</c> and the file has no override hook, so the test waits the full minute (hence
/// LongRunning: about 80-100 s on a quiet machine).
/// </summary>
[Category("Integration")]
[Category("LongRunning")]
public class ZooKeeperAlertEndToEndTests
{
    // for: 1m plus ingestion (1 s) and evaluation (1 s) intervals, with a wide margin for a loaded 2-core machine.
    private static readonly TimeSpan FireTimeout = TimeSpan.FromSeconds(150);
    private static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(90);

    [Test]
    public async Task ShippedRules_MemberKilledThenRestarted_ZooKeeperDownFiresThenResolves()
    {
        await using var ensemble = await ZooKeeperEnsemble.StartAsync();
        await using var alertmanager = await AlertmanagerServer.StartAsync();
        var registry = new MetricRegistry();
        var servers = ensemble.Servers.Select(s => s.ConnectionString).ToList();
        await using var collector = ZooKeeperEnsembleCollector.Start(registry, new ZooKeeperEnsembleCollectorOptions
        {
            Servers = servers,
            PollInterval = TimeSpan.FromMilliseconds(250),
            Timeout = TimeSpan.FromSeconds(5),
        });
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        await using var ingestion = new RegistryIngestion(registry, db, new RegistryIngestionOptions { Interval = TimeSpan.FromSeconds(1), Job = "zookeeper", Instance = "collector" });
        await ingestion.StartAsync();
        await using var notifier = new AlertmanagerNotifier(new AlertmanagerNotifierOptions
        {
            Alertmanagers = [alertmanager.BaseUrl],
            InitialRetryDelay = TimeSpan.FromMilliseconds(20),
            MaxRetryDelay = TimeSpan.FromMilliseconds(200),
            MaxRetryDuration = TimeSpan.FromSeconds(20),
            RequestTimeout = TimeSpan.FromSeconds(10),
            DrainTimeout = TimeSpan.FromSeconds(5),
        });
        await using var rules = new RuleManager(new RuleManagerOptions
        {
            Queryable = db,
            Appendable = db,
            AlertSender = notifier,
            EvaluationInterval = TimeSpan.FromSeconds(1),
            ResendDelay = TimeSpan.FromSeconds(1),
        });
        await rules.UpdateAsync([RuleFileParser.Parse(ZooKeeperAlertRules.Text, ZooKeeperAlertRules.FileName)]);
        rules.Start();

        // Healthy ensemble: every member up in the TSDB, no ZooKeeperDown (a few evaluations with data behind them).
        await WaitUntilAsync(() => servers.All(s => UpValue(db, s) == 1), WaitTimeout, "zookeeper_up 1 for every member in the TSDB");
        var evaluated = rules.GetRuleGroups().Single().LastEvaluation;
        await WaitUntilAsync(() => rules.GetRuleGroups().Single().LastEvaluation is { } last && (evaluated is null || last > evaluated), WaitTimeout, "an evaluation after the data arrived");
        DownAlerts(rules).Should().BeEmpty("no member is down yet");

        // A follower: killing the leader would also take the other two out of service for an election (their own
        // ZooKeeperDown would go pending for a moment), which is not what this test is about.
        await WaitUntilAsync(() => servers.Count(s => LatestValue(db, "zookeeper_server_state", s, "follower") == 1) == 2, WaitTimeout, "two followers in the TSDB");
        var victim = ensemble.Servers.First(s => LatestValue(db, "zookeeper_server_state", s.ConnectionString, "follower") == 1);
        var killedAt = Stopwatch.StartNew();
        await victim.KillAsync();
        await WaitUntilAsync(() => UpValue(db, victim.ConnectionString) == 0, WaitTimeout, "zookeeper_up 0 for the killed member");
        await WaitUntilAsync(() => DownAlerts(rules, victim.ConnectionString).Any(a => a.State == AlertState.Pending), WaitTimeout, "ZooKeeperDown pending");
        var pendingAfter = killedAt.Elapsed;
        await WaitUntilAsync(() => DownAlerts(rules, victim.ConnectionString).Any(a => a.State == AlertState.Firing), FireTimeout, "ZooKeeperDown firing");
        var firedAfter = killedAt.Elapsed;
        var firing = DownAlerts(rules, victim.ConnectionString).Single();
        firing.Labels.Get("server").Should().Be(victim.ConnectionString);
        firing.Labels.Get("severity").Should().Be("critical");
        firing.Annotations.Get("summary").Should().Be($"ZooKeeper server {victim.ConnectionString} is down");
        (firing.FiredAt!.Value - firing.ActiveAt!.Value).Should().BeGreaterThanOrEqualTo(TimeSpan.FromMinutes(1), "the shipped rule's for: 1m");
        var received = await alertmanager.WaitForAlertsAsync(a => a.Any(x => x["alertname"] == "ZooKeeperDown"), WaitTimeout, "ZooKeeperDown in Alertmanager");
        received.Single(x => x["alertname"] == "ZooKeeperDown")["server"].Should().Be(victim.ConnectionString);
        DownAlerts(rules).Where(a => a.State == AlertState.Firing).Should().ContainSingle("only the killed member is down");

        await victim.RestartAsync();
        var restartedAt = Stopwatch.StartNew();
        await WaitUntilAsync(() => UpValue(db, victim.ConnectionString) == 1, WaitTimeout, "zookeeper_up 1 again");
        await WaitUntilAsync(() => DownAlerts(rules, victim.ConnectionString).Count == 0, WaitTimeout, "ZooKeeperDown resolved in the rule manager");
        var resolvedAfter = restartedAt.Elapsed;
        await alertmanager.WaitForAlertsAsync(a => !a.Any(x => x["alertname"] == "ZooKeeperDown"), WaitTimeout, "ZooKeeperDown gone from Alertmanager's active alerts");
        await alertmanager.WaitForNotificationsAsync(
            n => n.Any(x => x.Status == "resolved" && x.AlertsWith("alertname", "ZooKeeperDown").Any()),
            WaitTimeout,
            "a resolved notification for ZooKeeperDown");
        TestContext.Out.WriteLine($"ZooKeeperDown: pending {pendingAfter.TotalSeconds:F1} s and firing {firedAfter.TotalSeconds:F1} s after SIGKILL; resolved {resolvedAfter.TotalSeconds:F1} s after the restart began");
    }

    private static List<AlertSnapshot> DownAlerts(RuleManager rules, string? server = null) =>
        [.. rules.GetAlerts().Where(a => a.Labels.Get("alertname") == "ZooKeeperDown" && (server is null || a.Labels.Get("server") == server))];

    /// <summary>The latest <c>zookeeper_up{server=...}</c> sample in the TSDB, or null.</summary>
    private static double? UpValue(TimeSeriesDatabase db, string server) => LatestValue(db, "zookeeper_up", server);

    /// <summary>The latest sample of <c>name{server=...[,state=...]}</c> in the TSDB, or null.</summary>
    private static double? LatestValue(TimeSeriesDatabase db, string name, string server, string? state = null)
    {
        using var querier = db.Querier(long.MinValue, long.MaxValue);
        List<Abstractions.LabelMatcher> matchers =
        [
            new(Abstractions.MatchType.Equal, Abstractions.Labels.MetricName, name),
            new(Abstractions.MatchType.Equal, "server", server),
        ];
        if (state is not null)
        {
            matchers.Add(new(Abstractions.MatchType.Equal, "state", state));
        }

        var series = querier.Select(false, default, [.. matchers]).SingleOrDefault();
        if (series is null)
        {
            return null;
        }

        double? last = null;
        var it = series.Iterator();
        while (it.Next())
        {
            last = it.Value;
        }

        return last;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"Waited {timeout.TotalSeconds} s for {what}.");
            }

            await Task.Delay(100);
        }
    }
}
