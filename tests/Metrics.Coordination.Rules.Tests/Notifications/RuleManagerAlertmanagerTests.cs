using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Rules.PromQL.Testing;
using Metrics.Coordination.Testing;
using static Metrics.Coordination.Rules.Tests.Notifications.NotifierTestKit;

namespace Metrics.Coordination.Rules.Tests.Notifications;

/// <summary>End to end: a rule file, the RuleManager on real time, the AlertmanagerNotifier and a real Alertmanager 0.25.</summary>
[Category("Integration")]
public class RuleManagerAlertmanagerTests
{
    private const string RuleFile = """
        groups:
          - name: e2e
            interval: 1s
            rules:
              - alert: QueueTooDeep
                expr: queue_depth > 5
                labels:
                  severity: page
                annotations:
                  summary: "Queue {{ $labels.job }} holds {{ $value }} items"
                  runbook: "https://runbooks.example/queue"
        """;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Test]
    public async Task RuleFile_ConditionHoldsThenClears_AlertmanagerShowsFiringThenResolved_SurvivesAlertmanagerRestart()
    {
        await using var am = await AlertmanagerServer.StartAsync();
        using var directory = new TempDirectory("rules-e2e");
        var ruleFile = directory.Combine("queue.rules.yml");
        await File.WriteAllTextAsync(ruleFile, RuleFile);
        using var storage = new InMemoryPromQLStorage();
        Append(storage, 12);

        var options = FastOptions(am.BaseUrl);
        options.ExternalLabels = Labels.FromStrings("cluster", "eu-1");
        await using var notifier = new AlertmanagerNotifier(options);
        await using var manager = new RuleManager(new RuleManagerOptions
        {
            Queryable = storage,
            Appendable = storage,
            AlertSender = notifier,
            EvaluationInterval = TimeSpan.FromSeconds(1),
            ResendDelay = TimeSpan.FromSeconds(1),
            ExternalLabels = Labels.FromStrings("cluster", "eu-1"),
            ExternalUrl = "http://rules.example:9090",
        });
        await manager.LoadAsync([ruleFile]);
        manager.LastReloadError.Should().BeNull();
        manager.Start();

        // Firing: labels from the series and the rule plus the external label; annotations as the rule manager rendered them.
        var listed = await am.WaitForAlertsAsync(a => a.Any(x => x["alertname"] == "QueueTooDeep"), Wait, "QueueTooDeep firing");
        var alert = listed.Single();
        alert.Labels.Should().Equal(new Dictionary<string, string>
        {
            ["alertname"] = "QueueTooDeep",
            ["cluster"] = "eu-1",
            ["job"] = "billing",
            ["severity"] = "page",
        });
        var snapshot = manager.GetAlerts().Single();
        alert.Annotations["runbook"].Should().Be("https://runbooks.example/queue");
        alert.Annotations["summary"].Should().Be("Queue billing holds 12 items").And.Be(snapshot.Annotations.Get("summary"));
        alert.StartsAt.Should().Be(snapshot.FiredAt!.Value);
        alert.GeneratorUrl.Should().StartWith("http://rules.example:9090/graph?g0.expr=");
        alert.State.Should().Be("active");

        // Alertmanager killed: it forgets every alert; after the restart the rule manager's resends bring it back.
        await am.KillAsync();
        var errors = notifier.GetStatus()[0].Errors;
        await WaitUntilAsync(() => notifier.GetStatus()[0].Errors > errors, Wait, () => "a failed send while Alertmanager is down");
        await am.RestartAsync();
        var back = await am.WaitForAlertsAsync(a => a.Any(x => x["alertname"] == "QueueTooDeep"), Wait, "QueueTooDeep back after the restart");
        back.Single().StartsAt.Should().Be(alert.StartsAt, "the same alert, not a new one");

        // The condition clears: the rule manager sends the alert resolved and Alertmanager resolves it.
        Append(storage, 1);
        await am.WaitForAlertsAsync(a => a.Count == 0, Wait, "QueueTooDeep gone from the active alerts");
        var notifications = await am.WaitForNotificationsAsync(
            n => n.Any(x => x.Status == "resolved" && x.AlertsWith("alertname", "QueueTooDeep").Any()),
            Wait,
            "a resolved notification for QueueTooDeep");
        var resolved = notifications.Last(x => x.Status == "resolved").AlertsWith("alertname", "QueueTooDeep").Single();
        resolved.StartsAt.Should().Be(alert.StartsAt);
        resolved.EndsAt.Should().BeAfter(resolved.StartsAt);
        resolved.Annotations["runbook"].Should().Be("https://runbooks.example/queue");
        notifier.GetStatus()[0].Dropped[NotificationDropReason.Rejected].Should().Be(0);
    }

    private static void Append(InMemoryPromQLStorage storage, double value)
    {
        var appender = storage.Appender();
        appender.Append(new AppendRequest
        {
            Labels = Labels.FromStrings("__name__", "queue_depth", "job", "billing"),
            TimestampMs = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds(),
            Value = value,
        });
        appender.Commit();
    }
}
