using System.Net;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Testing;
using static Metrics.Coordination.Rules.Tests.Notifications.NotifierTestKit;

namespace Metrics.Coordination.Rules.Tests.Notifications;

/// <summary>The notifier against a real Alertmanager 0.25 (Debian prometheus-alertmanager).</summary>
[Category("Integration")]
public class AlertmanagerIntegrationTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static DateTimeOffset Now => TruncateToMs(TimeProvider.System.GetUtcNow());

    [Test]
    public async Task Send_FiringAlert_ListedByApiV2WithLabelsExternalLabelsAnnotationsAndStartsAt()
    {
        await using var am = await AlertmanagerServer.StartAsync();
        var options = FastOptions(am.BaseUrl);
        options.ExternalLabels = Labels.FromStrings("cluster", "eu-1", "severity", "info");
        await using var notifier = new AlertmanagerNotifier(options);
        var startsAt = Now.AddSeconds(-30);

        notifier.Send([new NotificationAlert
        {
            Labels = Labels.FromStrings("alertname", "DiskFull", "severity", "page", "instance", "db-1:9100"),
            Annotations = Labels.FromStrings("summary", "Disk on db-1:9100 is 97% full", "description", "ünïcødé <ok> & \"quoted\""),
            StartsAt = startsAt,
            EndsAt = Now.AddMinutes(4),
            GeneratorUrl = "http://rules.example:9090/graph?g0.expr=disk_free%20%3C%200.05",
        }]);

        var listed = await am.WaitForAlertsAsync(a => a.Count == 1, Wait, "the alert");
        var alert = listed[0];
        alert.Labels.Should().Equal(new Dictionary<string, string>
        {
            ["alertname"] = "DiskFull",
            ["cluster"] = "eu-1",
            ["instance"] = "db-1:9100",
            ["severity"] = "page",
        });
        alert.Annotations.Should().Equal(new Dictionary<string, string>
        {
            ["summary"] = "Disk on db-1:9100 is 97% full",
            ["description"] = "ünïcødé <ok> & \"quoted\"",
        });
        alert.StartsAt.Should().Be(startsAt);
        alert.GeneratorUrl.Should().Be("http://rules.example:9090/graph?g0.expr=disk_free%20%3C%200.05");
        alert.State.Should().Be("active");

        var notifications = await am.WaitForNotificationsAsync(n => n.Any(x => x.Status == "firing"), Wait, "a firing webhook notification");
        var notified = notifications.First(x => x.Status == "firing").Alerts.Single();
        notified["alertname"].Should().Be("DiskFull");
        notified["cluster"].Should().Be("eu-1");
        notified.Annotations["summary"].Should().Be("Disk on db-1:9100 is 97% full");
        notified.StartsAt.Should().Be(startsAt);
        notifier.GetStatus()[0].Sent.Should().Be(1);
    }

    [Test]
    public async Task Send_EndsAtInThePast_AlertmanagerResolvesIt()
    {
        await using var am = await AlertmanagerServer.StartAsync();
        await using var notifier = new AlertmanagerNotifier(FastOptions(am.BaseUrl));
        var startsAt = Now.AddMinutes(-2);
        var firing = Alert("Resolving", startsAt, Now.AddMinutes(4), "job", "api");

        notifier.Send([firing]);
        await am.WaitForAlertsAsync(a => a.Count == 1, Wait, "the firing alert");
        await am.WaitForNotificationsAsync(n => n.Any(x => x.Status == "firing"), Wait, "a firing notification");
        var resolvedBefore = await am.GetMetricAsync("alertmanager_alerts_received_total", "status", "resolved");

        var resolvedAt = Now.AddSeconds(-1);
        notifier.Send([firing with { EndsAt = resolvedAt }]);

        // API v2 lists no resolved alert (whatever the query flags); the webhook gets a "resolved" notification
        // with our endsAt, and Alertmanager counts a resolved alert received.
        await am.WaitForAlertsAsync(a => a.Count == 0, Wait, "the alert gone from the active list");
        var notifications = await am.WaitForNotificationsAsync(n => n.Any(x => x.Status == "resolved"), Wait, "a resolved notification");
        var resolved = notifications.First(x => x.Status == "resolved").Alerts.Single();
        resolved.Status.Should().Be("resolved");
        resolved["alertname"].Should().Be("Resolving");
        resolved.StartsAt.Should().Be(startsAt);
        resolved.EndsAt.Should().Be(resolvedAt);
        (await am.GetMetricAsync("alertmanager_alerts_received_total", "status", "resolved")).Should().Be(resolvedBefore + 1);
    }

    [Test]
    public async Task Send_TwoAlertmanagers_BothListTheAlerts()
    {
        await using var first = await AlertmanagerServer.StartAsync(new AlertmanagerServerOptions { WebhookReceiver = false });
        await using var second = await AlertmanagerServer.StartAsync(new AlertmanagerServerOptions { WebhookReceiver = false });
        await using var notifier = new AlertmanagerNotifier(FastOptions(first.BaseUrl, second.BaseUrl));

        notifier.Send([Alert("One", Now), Alert("Two", Now)]);

        foreach (var am in new[] { first, second })
        {
            var listed = await am.WaitForAlertsAsync(a => a.Count == 2, Wait, "both alerts");
            listed.Select(a => a["alertname"]).Should().BeEquivalentTo("One", "Two");
        }

        notifier.GetStatus().Select(s => s.Sent).Should().Equal(2, 2);
    }

    [Test]
    public async Task Send_WhileAlertmanagerKilled_RetriedAndDeliveredAfterRestartOnSamePort()
    {
        await using var am = await AlertmanagerServer.StartAsync();
        var options = FastOptions(am.BaseUrl);
        options.MaxRetryDuration = TimeSpan.FromMinutes(2);
        options.MaxRetryDelay = TimeSpan.FromMilliseconds(500);
        await using var notifier = new AlertmanagerNotifier(options);
        notifier.Send([Alert("Before", Now, Now.AddMinutes(4))]);
        await am.WaitForAlertsAsync(a => a.Count == 1, Wait, "the first alert");

        await am.KillAsync();
        notifier.Send([Alert("During", Now, Now.AddMinutes(4))]);
        await WaitUntilAsync(() => notifier.GetStatus()[0].Errors > 0, Wait, () => "a failed attempt while Alertmanager is down");
        await am.RestartAsync();

        // Alertmanager keeps alerts in memory only: after the restart it has exactly what was (re)sent since.
        var listed = await am.WaitForAlertsAsync(a => a.Any(x => x["alertname"] == "During"), Wait, "the alert queued during the outage");
        listed.Select(a => a["alertname"]).Should().NotContain("Before");
        var status = notifier.GetStatus()[0];
        status.Sent.Should().Be(2);
        status.Dropped.Values.Should().OnlyContain(v => v == 0);
        am.BaseUrl.Port.Should().Be(am.Port);
    }

    [Test]
    public async Task ResendLoop_AlertmanagerKilledAndRestarted_NoFiringAlertLost()
    {
        await using var am = await AlertmanagerServer.StartAsync();
        var options = FastOptions(am.BaseUrl);

        // Short retries on purpose: the proof is that resending alone brings every firing alert back.
        options.MaxRetryDuration = TimeSpan.FromMilliseconds(300);
        await using var notifier = new AlertmanagerNotifier(options);
        var startsAt = Now.AddMinutes(-1);
        var resendInterval = TimeSpan.FromMilliseconds(250);
        var firing = Enumerable.Range(0, 5).Select(i => Alert("Firing" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), startsAt)).ToList();

        using var stop = new CancellationTokenSource();
        var resender = Task.Run(async () =>
        {
            // As the rule manager does: every resend interval, each firing alert with endsAt = now + 4 × interval.
            while (!stop.IsCancellationRequested)
            {
                var endsAt = Now + (4 * resendInterval) + TimeSpan.FromSeconds(5);
                notifier.Send(firing.Select(a => a with { EndsAt = endsAt }).ToList());
                try
                {
                    await Task.Delay(resendInterval, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });

        await am.WaitForAlertsAsync(a => a.Count == 5, Wait, "5 firing alerts");
        await am.KillAsync();
        await WaitUntilAsync(() => notifier.GetStatus()[0].Dropped[NotificationDropReason.RetriesExhausted] > 0, Wait, () => "a batch given up while Alertmanager is down");
        await am.RestartAsync();

        var listed = await am.WaitForAlertsAsync(a => a.Count == 5, Wait, "all 5 firing alerts back after the restart");
        listed.Should().OnlyContain(a => a.StartsAt == startsAt && a.State == "active");
        await stop.CancelAsync();
        await resender;
    }

    [Test]
    public async Task Send_InvalidLabelName_Alertmanager400_DroppedAndCounted()
    {
        await using var am = await AlertmanagerServer.StartAsync(new AlertmanagerServerOptions { WebhookReceiver = false });
        var logs = new CapturingLoggerFactory();
        var options = FastOptions(am.BaseUrl);
        options.LoggerFactory = logs;
        await using var notifier = new AlertmanagerNotifier(options);

        // Our label sets allow any name; Alertmanager 0.25 accepts only [a-zA-Z_][a-zA-Z0-9_]*.
        notifier.Send([Alert("Bad", Now, null, "bad-name", "x"), Alert("Good", Now)]);

        await WaitUntilAsync(() => notifier.GetStatus()[0].Dropped[NotificationDropReason.Rejected] == 2, Wait, () => "the batch rejected");
        var status = notifier.GetStatus()[0];
        status.Sent.Should().Be(0);
        status.Errors.Should().Be(2);
        status.LastError.Should().Contain("400").And.Contain("invalid label set");
        logs.Entries.Should().ContainSingle(e => e.EventId.Id == 3502).Which.Message.Should().Contain("400").And.Contain("bad-name");

        // Alertmanager answers 400 for the batch but keeps its valid alerts, so a rejected batch is not retried.
        var listed = await am.WaitForAlertsAsync(a => a.Count == 1, Wait, "the valid alert of the rejected batch");
        listed[0]["alertname"].Should().Be("Good");
        (await am.GetMetricAsync("alertmanager_alerts_invalid_total", "version", "v2")).Should().Be(1);
    }

    [Test]
    public async Task Send_GateClosed_NothingReachesAlertmanager_ReopenedSendsAgain()
    {
        await using var am = await AlertmanagerServer.StartAsync(new AlertmanagerServerOptions { WebhookReceiver = false });
        var gate = new TestGate(isLeader: false, token: 0);
        var options = FastOptions(am.BaseUrl);
        options.LeadershipGate = gate;
        await using var notifier = new AlertmanagerNotifier(options);

        notifier.Send([Alert("Standby", Now)]);
        notifier.GetStatus()[0].Dropped[NotificationDropReason.NotLeader].Should().Be(1);

        gate.Set(isLeader: true, token: 1);
        notifier.Send([Alert("Leader", Now)]);

        var listed = await am.WaitForAlertsAsync(a => a.Count >= 1, Wait, "the leader's alert");
        listed.Select(a => a["alertname"]).Should().Equal("Leader");
        (await am.GetMetricAsync("alertmanager_alerts_received_total")).Should().Be(1, "the standby's alert never reached Alertmanager");
    }

    [Test]
    public async Task AlertmanagerServer_PostRaw_ResolvedAlertsNeverListedByApiV2()
    {
        // The fixture's facts about Alertmanager 0.25 that the tests above rely on.
        await using var am = await AlertmanagerServer.StartAsync(new AlertmanagerServerOptions { WebhookReceiver = false });
        var past = AlertmanagerNotifier.FormatTime(Now.AddMinutes(-1));
        var (status, body) = await am.PostAlertsRawAsync($"[{{\"labels\":{{\"alertname\":\"Old\"}},\"startsAt\":\"{past}\",\"endsAt\":\"{past}\"}},{{\"labels\":{{\"alertname\":\"New\"}}}}]");
        status.Should().Be(HttpStatusCode.OK, body);

        var listed = await am.WaitForAlertsAsync(a => a.Count == 1, Wait, "only the unresolved alert");
        listed[0]["alertname"].Should().Be("New");
        listed[0].EndsAt.Should().BeCloseTo(listed[0].UpdatedAt.AddMinutes(5), TimeSpan.FromSeconds(1), "no endsAt: resolve_timeout (5 m) after receipt");
        (await am.GetAlertsAsync(active: false, silenced: true, inhibited: true, unprocessed: true)).Should().BeEmpty();
        (await am.GetMetricAsync("alertmanager_alerts_received_total", "status", "resolved")).Should().Be(1);
    }

    private static DateTimeOffset TruncateToMs(DateTimeOffset value) => new(value.Ticks - (value.Ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
}
