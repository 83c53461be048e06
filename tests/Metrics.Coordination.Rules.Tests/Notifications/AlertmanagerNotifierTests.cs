using System.Text;
using System.Text.Json;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Testing;
using static Metrics.Coordination.Rules.Tests.Notifications.NotifierTestKit;

namespace Metrics.Coordination.Rules.Tests.Notifications;

/// <summary>The notifier against a loopback HTTP server that records requests and injects answers.</summary>
public class AlertmanagerNotifierTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 12, 0, 0, 123, TimeSpan.Zero);

    [Test]
    public async Task Send_OneAlert_PostsApiV2JsonArrayOfPostableAlerts()
    {
        await using var server = new LoopbackHttpServer();
        await using var notifier = new AlertmanagerNotifier(FastOptions(server.BaseUrl));

        notifier.Send([new NotificationAlert
        {
            Labels = Labels.FromStrings("alertname", "HighLatency", "severity", "page", "job", "api"),
            Annotations = Labels.FromStrings("summary", "p99 > 1s on api", "runbook", "https://runbooks/latency <&> ü"),
            StartsAt = T0,
            EndsAt = T0.AddMinutes(4),
            GeneratorUrl = "http://rules:9090/graph?g0.expr=latency%20%3E%201",
        }]);

        var requests = await server.WaitForAsync(r => r.Count >= 1, Wait, "one POST");
        var request = requests[0];
        request.Method.Should().Be("POST");
        request.Target.Should().Be("/api/v2/alerts");
        request.Header("Content-Type").Should().Be("application/json");
        request.Header("User-Agent").Should().StartWith("Metrics.Coordination/");
        request.Header("Authorization").Should().BeNull();

        using var document = JsonDocument.Parse(request.Body);
        document.RootElement.ValueKind.Should().Be(JsonValueKind.Array);
        var alert = document.RootElement.EnumerateArray().Single();
        alert.EnumerateObject().Select(p => p.Name).Should().Equal("labels", "annotations", "startsAt", "endsAt", "generatorURL");
        Map(alert.GetProperty("labels")).Should().Equal(new Dictionary<string, string> { ["alertname"] = "HighLatency", ["job"] = "api", ["severity"] = "page" });
        Map(alert.GetProperty("annotations")).Should().Equal(new Dictionary<string, string> { ["runbook"] = "https://runbooks/latency <&> ü", ["summary"] = "p99 > 1s on api" });
        alert.GetProperty("startsAt").GetString().Should().Be("2026-11-30T12:00:00.123Z");
        alert.GetProperty("endsAt").GetString().Should().Be("2026-11-30T12:04:00.123Z");
        alert.GetProperty("generatorURL").GetString().Should().Be("http://rules:9090/graph?g0.expr=latency%20%3E%201");

        // UTF-8 text stays as is; only what JSON requires is escaped.
        request.BodyText.Should().Contain("<&> ü");
        await NotifierTestKit.WaitUntilAsync(() => notifier.GetStatus()[0].Sent == 1, Wait, () => "sent count 1");
    }

    [Test]
    public async Task Send_NoEndsAtNoGeneratorUrl_LeavesThemOut()
    {
        await using var server = new LoopbackHttpServer();
        await using var notifier = new AlertmanagerNotifier(FastOptions(server.BaseUrl));

        notifier.Send([new NotificationAlert { Labels = Labels.FromStrings("alertname", "A"), StartsAt = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)) }]);

        var requests = await server.WaitForAsync(r => r.Count >= 1, Wait, "one POST");
        var alert = PostedAlerts(requests).Single();
        alert.EnumerateObject().Select(p => p.Name).Should().Equal("labels", "annotations", "startsAt");
        alert.GetProperty("annotations").EnumerateObject().Should().BeEmpty();

        // Converted to UTC; whole seconds without a fraction, as Go prints them.
        alert.GetProperty("startsAt").GetString().Should().Be("2026-01-02T01:04:05Z");
    }

    [TestCase(0L, "2026-11-30T12:00:00Z")]
    [TestCase(1L, "2026-11-30T12:00:00.0000001Z")]
    [TestCase(1_230_000L, "2026-11-30T12:00:00.123Z")]
    [TestCase(5_000_000L, "2026-11-30T12:00:00.5Z")]
    public void FormatTime_Fractions_Rfc3339WithoutTrailingZeros(long ticks, string expected) =>
        AlertmanagerNotifier.FormatTime(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero).AddTicks(ticks)).Should().Be(expected);

    [Test]
    public async Task Send_ExternalLabels_AddedWhereTheAlertHasNoValue()
    {
        await using var server = new LoopbackHttpServer();
        var options = FastOptions(server.BaseUrl);
        options.ExternalLabels = Labels.FromStrings("cluster", "eu-1", "replica", "a", "severity", "info", "team", "ops");
        await using var notifier = new AlertmanagerNotifier(options);

        notifier.Send([new NotificationAlert
        {
            // severity is the alert's own (wins); team is present but empty (the external value fills it, as in Prometheus).
            Labels = Labels.FromStrings("alertname", "A", "severity", "page", "team", "", "zone", ""),
            StartsAt = T0,
        }]);

        var requests = await server.WaitForAsync(r => r.Count >= 1, Wait, "one POST");
        var labels = PostedAlerts(requests).Single().GetProperty("labels");
        labels.EnumerateObject().Select(p => p.Name).Should().Equal("alertname", "cluster", "replica", "severity", "team");
        Map(labels).Should().Equal(new Dictionary<string, string>
        {
            ["alertname"] = "A",
            ["cluster"] = "eu-1",
            ["replica"] = "a",
            ["severity"] = "page",
            ["team"] = "ops",
        });
    }

    [TestCase("http://127.0.0.1:{0}", "", "/api/v2/alerts")]
    [TestCase("http://127.0.0.1:{0}/", "/alertmanager/", "/alertmanager/api/v2/alerts")]
    [TestCase("http://127.0.0.1:{0}/base", "am", "/base/am/api/v2/alerts")]
    [TestCase("http://127.0.0.1:{0}/base/", "/a/b", "/base/a/b/api/v2/alerts")]
    public async Task Send_PathPrefix_PostsUnderIt(string baseUrl, string prefix, string expectedTarget)
    {
        await using var server = new LoopbackHttpServer();
        var options = FastOptions(new Uri(string.Format(System.Globalization.CultureInfo.InvariantCulture, baseUrl, server.Port)));
        options.PathPrefix = prefix;
        await using var notifier = new AlertmanagerNotifier(options);

        notifier.Endpoints.Single().AbsolutePath.Should().Be(expectedTarget);
        notifier.Send([Alert("A", T0)]);

        var requests = await server.WaitForAsync(r => r.Count >= 1, Wait, "one POST");
        requests[0].Target.Should().Be(expectedTarget);
    }

    [Test]
    public async Task Send_200Alerts_BatchesOf64InQueueOrder()
    {
        await using var server = new LoopbackHttpServer();
        await using var notifier = new AlertmanagerNotifier(FastOptions(server.BaseUrl));

        notifier.Send(Enumerable.Range(0, 200).Select(i => Alert("A" + i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture), T0)).ToList());

        var requests = await server.WaitForAsync(r => PostedAlerts(r).Count >= 200, Wait, "200 alerts");
        requests.Select(r => PostedAlerts(new[] { r }).Count).Should().OnlyContain(n => n <= 64);
        requests.Count.Should().BeGreaterThanOrEqualTo(4);
        PostedAlerts(requests).Select(a => a.GetProperty("labels").GetProperty("alertname").GetString())
            .Should().Equal(Enumerable.Range(0, 200).Select(i => "A" + i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture)));
        await NotifierTestKit.WaitUntilAsync(() => notifier.GetStatus()[0].Sent == 200, Wait, () => "sent 200");
    }

    [Test]
    public async Task Send_TwoAlertmanagers_EachGetsEveryAlert()
    {
        await using var first = new LoopbackHttpServer();
        await using var second = new LoopbackHttpServer();
        await using var notifier = new AlertmanagerNotifier(FastOptions(first.BaseUrl, second.BaseUrl));

        notifier.Send([Alert("A", T0), Alert("B", T0)]);

        await first.WaitForAsync(r => PostedAlerts(r).Count == 2, Wait, "2 alerts at the first");
        await second.WaitForAsync(r => PostedAlerts(r).Count == 2, Wait, "2 alerts at the second");
        await NotifierTestKit.WaitUntilAsync(() => notifier.GetStatus().All(s => s.Sent == 2), Wait, () => "sent 2 to each");
    }

    [Test]
    public async Task Send_OneAlertmanagerDown_TheOtherStillGetsAlertsPromptly()
    {
        await using var down = new LoopbackHttpServer(_ => new LoopbackHttpReply(503, "down"));
        await using var up = new LoopbackHttpServer();
        var options = FastOptions(down.BaseUrl, up.BaseUrl);
        options.MaxRetryDuration = TimeSpan.FromMinutes(5);
        await using var notifier = new AlertmanagerNotifier(options);

        for (var i = 0; i < 3; i++)
        {
            notifier.Send([Alert("A" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), T0)]);
        }

        // Separate queues and loops: the one retrying its first batch does not hold the other back.
        await up.WaitForAsync(r => PostedAlerts(r).Count == 3, Wait, "3 alerts at the healthy Alertmanager");
        await NotifierTestKit.WaitUntilAsync(() => notifier.GetStatus()[0].Errors > 0, Wait, () => "a failed attempt at the dead one");
        notifier.GetStatus()[0].Sent.Should().Be(0);
    }

    [Test]
    public async Task Send_5xxThenSuccess_RetriedAndDelivered()
    {
        var answers = new Queue<LoopbackHttpReply>([new(500, "boom"), new(502, "bad gateway"), new(503, "unavailable")]);
        await using var server = new LoopbackHttpServer(_ => { lock (answers) { return answers.Count > 0 ? answers.Dequeue() : LoopbackHttpReply.Ok; } });
        var logs = new CapturingLoggerFactory();
        var options = FastOptions(server.BaseUrl);
        options.LoggerFactory = logs;
        await using var notifier = new AlertmanagerNotifier(options);

        notifier.Send([Alert("A", T0), Alert("B", T0)]);

        await NotifierTestKit.WaitUntilAsync(() => notifier.GetStatus()[0].Sent == 2, Wait, () => $"delivery; requests: {server.Requests.Count}");
        server.Requests.Should().HaveCount(4);
        server.Requests.Select(r => r.BodyText).Distinct().Should().HaveCount(1, "every attempt sends the same batch");
        var status = notifier.GetStatus()[0];
        status.Errors.Should().Be(6, "three failed attempts of a batch of two");
        status.Dropped.Values.Should().OnlyContain(v => v == 0);
        status.LastError.Should().Be("answered 503: unavailable");
        logs.Entries.Where(e => e.EventId.Id == 3501).Should().HaveCount(3);
        logs.Entries.Should().Contain(e => e.EventId.Id == 3512 && e.Message.Contains("after 4 attempts", StringComparison.Ordinal));
    }

    [Test]
    public async Task Send_429AndConnectionCut_Retried()
    {
        var answers = new Queue<LoopbackHttpReply>([new(429, "slow down"), LoopbackHttpReply.Cut]);
        await using var server = new LoopbackHttpServer(_ => { lock (answers) { return answers.Count > 0 ? answers.Dequeue() : LoopbackHttpReply.Ok; } });
        await using var notifier = new AlertmanagerNotifier(FastOptions(server.BaseUrl));

        notifier.Send([Alert("A", T0)]);

        await NotifierTestKit.WaitUntilAsync(() => notifier.GetStatus()[0].Sent == 1, Wait, () => "delivery");
        server.Requests.Should().HaveCount(3);
        notifier.GetStatus()[0].Errors.Should().Be(2);
    }

    [Test]
    public async Task Send_NoAnswerWithinRequestTimeout_RetriedAsTimeout()
    {
        var first = 1;
        await using var server = new LoopbackHttpServer(_ => Interlocked.Exchange(ref first, 0) == 1 ? LoopbackHttpReply.Hang : LoopbackHttpReply.Ok);
        var options = FastOptions(server.BaseUrl);
        options.RequestTimeout = TimeSpan.FromSeconds(1);
        await using var notifier = new AlertmanagerNotifier(options);

        notifier.Send([Alert("A", T0)]);

        await NotifierTestKit.WaitUntilAsync(() => notifier.GetStatus()[0].Sent == 1, Wait, () => "delivery after a timeout");
        notifier.GetStatus()[0].Errors.Should().BeGreaterThanOrEqualTo(1);
        notifier.GetStatus()[0].LastError.Should().Be("got no answer within 1 s");
        server.Requests.Count.Should().BeGreaterThanOrEqualTo(2);
    }

    [Test]
    public async Task Send_400_DroppedNotRetriedCountedAndLoggedWithStatusAndBody()
    {
        await using var server = new LoopbackHttpServer(r => r.BodyText.Contains("\"Bad\"", StringComparison.Ordinal)
            ? new LoopbackHttpReply(400, "\"invalid label set: invalid name \\\"bad-name\\\"\"", "application/json")
            : LoopbackHttpReply.Ok);
        var logs = new CapturingLoggerFactory();
        var options = FastOptions(server.BaseUrl);
        options.LoggerFactory = logs;
        options.MaxBatchSize = 1;
        await using var notifier = new AlertmanagerNotifier(options);

        notifier.Send([Alert("Bad", T0, null, "bad-name", "x"), Alert("Good", T0)]);

        await NotifierTestKit.WaitUntilAsync(() => notifier.GetStatus()[0].Sent == 1, Wait, () => "the good batch delivered");
        server.Requests.Should().HaveCount(2, "the 400 is not retried");
        var status = notifier.GetStatus()[0];
        status.Dropped[NotificationDropReason.Rejected].Should().Be(1);
        status.Errors.Should().Be(1);
        var entry = logs.Entries.Single(e => e.EventId.Id == 3502);
        entry.Level.Should().Be(Microsoft.Extensions.Logging.LogLevel.Error);
        entry.Message.Should().Contain("400").And.Contain("invalid label set: invalid name").And.Contain(notifier.Endpoints[0].AbsoluteUri);
    }

    [Test]
    public async Task Send_AlwaysFailing_BatchDroppedAfterMaxRetryDurationThenNextBatchTried()
    {
        var failing = 1;
        await using var server = new LoopbackHttpServer(r => Volatile.Read(ref failing) == 1 && r.BodyText.Contains("\"Old\"", StringComparison.Ordinal)
            ? new LoopbackHttpReply(500, "still broken")
            : LoopbackHttpReply.Ok);
        var logs = new CapturingLoggerFactory();
        var options = FastOptions(server.BaseUrl);
        options.MaxRetryDuration = TimeSpan.FromMilliseconds(500);
        options.MaxBatchSize = 1;
        options.LoggerFactory = logs;
        await using var notifier = new AlertmanagerNotifier(options);

        notifier.Send([Alert("Old", T0)]);
        notifier.Send([Alert("New", T0.AddSeconds(1))]);

        await NotifierTestKit.WaitUntilAsync(() => notifier.GetStatus()[0].Sent == 1, Wait, () => "the newer alert delivered");
        notifier.Dropped(NotificationDropReason.RetriesExhausted).Should().Be(1);
        var old = server.Requests.Where(r => r.BodyText.Contains("\"Old\"", StringComparison.Ordinal)).ToList();
        old.Count.Should().BeGreaterThan(1, "it was retried before giving up");
        logs.Entries.Should().ContainSingle(e => e.EventId.Id == 3503).Which.Message.Should().Contain("still broken");
    }

    [Test]
    public async Task Send_QueueFull_DropsOldestAndCounts()
    {
        using var release = new ManualResetEventSlim(false);
        await using var server = new LoopbackHttpServer(r =>
        {
            // The first batch is held, so the queue fills behind it.
            if (r.BodyText.Contains("\"First\"", StringComparison.Ordinal))
            {
                release.Wait(TimeSpan.FromSeconds(30));
            }

            return LoopbackHttpReply.Ok;
        });
        var registry = new MetricRegistry();
        var logs = new CapturingLoggerFactory();
        var options = FastOptions(server.BaseUrl);
        options.QueueCapacity = 5;
        options.Registry = registry;
        options.LoggerFactory = logs;
        await using var notifier = new AlertmanagerNotifier(options);

        notifier.Send([Alert("First", T0)]);
        await server.WaitForAsync(r => r.Count == 1, Wait, "the first batch in flight");
        notifier.Send(Enumerable.Range(0, 20).Select(i => Alert("A" + i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture), T0)).ToList());

        notifier.Dropped(NotificationDropReason.QueueFull).Should().Be(15);
        notifier.GetStatus()[0].QueueLength.Should().Be(5);
        logs.Entries.Should().ContainSingle(e => e.EventId.Id == 3504).Which.Message.Should().Contain("dropped the 15 oldest");
        registry.ToText().Should().Contain("metrics_coordination_notifications_queue_length{alertmanager=\"" + notifier.Endpoints[0].AbsoluteUri + "\"} 5");
        registry.ToText().Should().Contain("metrics_coordination_notifications_dropped_total{alertmanager=\"" + notifier.Endpoints[0].AbsoluteUri + "\",reason=\"queue_full\"} 15");

        release.Set();
        var requests = await server.WaitForAsync(r => PostedAlerts(r).Count == 6, Wait, "the first and the 5 newest alerts");
        PostedAlerts(requests).Select(a => a.GetProperty("labels").GetProperty("alertname").GetString())
            .Should().Equal("First", "A15", "A16", "A17", "A18", "A19");
    }

    [Test]
    public async Task Send_GateClosed_NothingSentAndCountedThenReopened_SendsAgain()
    {
        await using var server = new LoopbackHttpServer();
        var gate = new TestGate(isLeader: false, token: 0);
        var options = FastOptions(server.BaseUrl);
        options.LeadershipGate = gate;
        await using var notifier = new AlertmanagerNotifier(options);

        notifier.Send([Alert("Standby", T0), Alert("Standby2", T0)]);
        notifier.Dropped(NotificationDropReason.NotLeader).Should().Be(2);
        notifier.GetStatus()[0].QueueLength.Should().Be(0);

        gate.Set(isLeader: true, token: 7);
        notifier.Send([Alert("Leader", T0)]);

        var requests = await server.WaitForAsync(r => r.Count >= 1, Wait, "a POST after the gate opened");
        PostedAlerts(requests).Select(a => a.GetProperty("labels").GetProperty("alertname").GetString()).Should().Equal("Leader");
    }

    [Test]
    public async Task Send_LeadershipLostWhileRetrying_BatchDroppedNeverSent()
    {
        var gate = new TestGate(isLeader: true, token: 1);
        var firstSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new LoopbackHttpServer(_ =>
        {
            firstSeen.TrySetResult();
            return new LoopbackHttpReply(503, "restarting");
        });
        var logs = new CapturingLoggerFactory();
        var options = FastOptions(server.BaseUrl);
        options.LeadershipGate = gate;
        options.InitialRetryDelay = TimeSpan.FromMilliseconds(300);
        options.MaxRetryDelay = TimeSpan.FromMilliseconds(300);
        options.LoggerFactory = logs;
        await using var notifier = new AlertmanagerNotifier(options);

        notifier.Send([Alert("A", T0)]);
        await firstSeen.Task.WaitAsync(Wait);
        gate.Set(isLeader: false, token: 0);

        await NotifierTestKit.WaitUntilAsync(() => notifier.Dropped(NotificationDropReason.NotLeader) == 1, Wait, () => "a not_leader drop");
        var attempts = server.Requests.Count;
        server.Respond = _ => LoopbackHttpReply.Ok;
        gate.Set(isLeader: true, token: 2);
        notifier.Send([Alert("B", T0)]);

        var requests = await server.WaitForAsync(r => r.Any(x => x.BodyText.Contains("\"B\"", StringComparison.Ordinal)), Wait, "B sent in the new term");
        requests.Skip(attempts).Should().OnlyContain(r => !r.BodyText.Contains("\"A\"", StringComparison.Ordinal), "A was queued in the lost term");
        logs.Entries.Should().Contain(e => e.EventId.Id == 3506);
    }

    [Test]
    public async Task Send_LeadershipRegainedInNewTerm_AlertsQueuedInOldTermDropped()
    {
        var gate = new TestGate(isLeader: true, token: 1);
        using var release = new ManualResetEventSlim(false);
        await using var server = new LoopbackHttpServer(r =>
        {
            if (r.BodyText.Contains("\"Held\"", StringComparison.Ordinal))
            {
                release.Wait(TimeSpan.FromSeconds(30));
            }

            return LoopbackHttpReply.Ok;
        });
        var options = FastOptions(server.BaseUrl);
        options.LeadershipGate = gate;
        await using var notifier = new AlertmanagerNotifier(options);

        notifier.Send([Alert("Held", T0)]);
        await server.WaitForAsync(r => r.Count == 1, Wait, "the held batch in flight");
        notifier.Send([Alert("OldTerm", T0)]);

        // Lost and regained between queueing and sending: a new term, so the old term's alert must not go out.
        gate.Set(isLeader: false, token: 0);
        gate.Set(isLeader: true, token: 2);
        notifier.Send([Alert("NewTerm", T0)]);
        release.Set();

        var requests = await server.WaitForAsync(r => r.Any(x => x.BodyText.Contains("\"NewTerm\"", StringComparison.Ordinal)), Wait, "NewTerm sent");
        requests.Should().NotContain(r => r.BodyText.Contains("\"OldTerm\"", StringComparison.Ordinal));
        notifier.Dropped(NotificationDropReason.NotLeader).Should().Be(1);
    }

    [Test]
    public async Task Send_BasicAuth_SendsAuthorizationHeader()
    {
        await using var server = new LoopbackHttpServer();
        var options = FastOptions(server.BaseUrl);
        options.BasicAuthUsername = "alice";
        options.BasicAuthPassword = "s3cret:x";
        await using var notifier = new AlertmanagerNotifier(options);

        notifier.Send([Alert("A", T0)]);

        var requests = await server.WaitForAsync(r => r.Count >= 1, Wait, "one POST");
        requests[0].Header("Authorization").Should().Be("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:s3cret:x")));
    }

    [Test]
    public async Task Send_BearerToken_SendsAuthorizationHeader()
    {
        await using var server = new LoopbackHttpServer();
        var options = FastOptions(server.BaseUrl);
        options.BearerToken = "tok.en-1";
        await using var notifier = new AlertmanagerNotifier(options);

        notifier.Send([Alert("A", T0)]);

        var requests = await server.WaitForAsync(r => r.Count >= 1, Wait, "one POST");
        requests[0].Header("Authorization").Should().Be("Bearer tok.en-1");
    }

    [Test]
    public async Task Send_InvalidUtf16_AlertDroppedAsInvalidOthersSent()
    {
        await using var server = new LoopbackHttpServer();
        await using var notifier = new AlertmanagerNotifier(FastOptions(server.BaseUrl));

        notifier.Send([
            new NotificationAlert { Labels = Labels.FromStrings("alertname", "Broken", "v", "a\uD800b"), StartsAt = T0 },
            new NotificationAlert { Labels = Labels.Empty, StartsAt = T0 },
            Alert("Fine", T0),
        ]);

        var requests = await server.WaitForAsync(r => r.Count >= 1, Wait, "one POST");
        PostedAlerts(requests).Select(a => a.GetProperty("labels").GetProperty("alertname").GetString()).Should().Equal("Fine");
        notifier.Dropped(NotificationDropReason.Invalid).Should().Be(2);
    }

    [Test]
    public async Task DisposeAsync_QueuedAlerts_DeliveredBeforeStopping()
    {
        await using var server = new LoopbackHttpServer();
        var notifier = new AlertmanagerNotifier(FastOptions(server.BaseUrl));

        notifier.Send(Enumerable.Range(0, 300).Select(i => Alert("A" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), T0)).ToList());
        await notifier.DisposeAsync();

        PostedAlerts(server.Requests).Should().HaveCount(300);
        notifier.GetStatus()[0].Sent.Should().Be(300);
    }

    [Test]
    public async Task DisposeAsync_AlertmanagerDown_DropsAsShutdownAfterDrainTimeout_LaterSendsCounted()
    {
        await using var server = new LoopbackHttpServer(_ => new LoopbackHttpReply(503, "down"));
        var options = FastOptions(server.BaseUrl);
        options.DrainTimeout = TimeSpan.FromMilliseconds(300);
        options.MaxRetryDuration = TimeSpan.FromMinutes(5);
        var notifier = new AlertmanagerNotifier(options);

        notifier.Send([Alert("A", T0), Alert("B", T0)]);
        await server.WaitForAsync(r => r.Count >= 1, Wait, "a first attempt");
        await notifier.DisposeAsync();
        notifier.Send([Alert("C", T0)]);

        notifier.Dropped(NotificationDropReason.Shutdown).Should().Be(3);
        notifier.GetStatus()[0].Sent.Should().Be(0);
    }

    [Test]
    public async Task Registry_SelfMetrics_SentErrorsDroppedLatencyCapacityAlertmanagers()
    {
        var answers = new Queue<LoopbackHttpReply>([new(500, "x")]);
        await using var server = new LoopbackHttpServer(_ => { lock (answers) { return answers.Count > 0 ? answers.Dequeue() : LoopbackHttpReply.Ok; } });
        var registry = new MetricRegistry();
        var options = FastOptions(server.BaseUrl);
        options.Registry = registry;
        options.QueueCapacity = 123;
        var notifier = new AlertmanagerNotifier(options);
        var am = notifier.Endpoints[0].AbsoluteUri;

        notifier.Send([Alert("A", T0), Alert("B", T0)]);
        await NotifierTestKit.WaitUntilAsync(() => notifier.GetStatus()[0].Sent == 2, Wait, () => "delivery");

        var text = registry.ToText();
        text.Should().Contain($"metrics_coordination_notifications_sent_total{{alertmanager=\"{am}\"}} 2");
        text.Should().Contain($"metrics_coordination_notifications_errors_total{{alertmanager=\"{am}\"}} 2");
        text.Should().Contain($"metrics_coordination_notifications_dropped_total{{alertmanager=\"{am}\",reason=\"not_leader\"}} 0");
        text.Should().Contain($"metrics_coordination_notifications_latency_seconds_count{{alertmanager=\"{am}\"}} 2");
        text.Should().Contain($"metrics_coordination_notifications_queue_capacity{{alertmanager=\"{am}\"}} 123");
        text.Should().Contain($"metrics_coordination_notifications_queue_length{{alertmanager=\"{am}\"}} 0");
        text.Should().Contain("metrics_coordination_notifications_alertmanagers_discovered 1");

        await notifier.DisposeAsync();
        registry.ToText().Should().Contain("metrics_coordination_notifications_alertmanagers_discovered 0");
    }

    [Test]
    public void Constructor_InvalidOptions_ThrowSayingWhat()
    {
        var ok = new Uri("http://127.0.0.1:9093/");
        Invalid(o => o.Alertmanagers = []).WithMessage("*At least one Alertmanager*");
        Invalid(o => o.Alertmanagers = [new Uri("/relative", UriKind.Relative)]).WithMessage("*absolute http or https*");
        Invalid(o => o.Alertmanagers = [new Uri("ftp://host/")]).WithMessage("*absolute http or https*");
        Invalid(o => o.Alertmanagers = [new Uri("http://host/?x=1")]).WithMessage("*query or fragment*");
        Invalid(o => o.Alertmanagers = [new Uri("http://u:p@host/")]).WithMessage("*BasicAuthUsername*");
        Invalid(o => o.Alertmanagers = [ok, new Uri("http://127.0.0.1:9093")]).WithMessage("*listed more than once*");
        Invalid(o => o.ExternalLabels = Labels.FromStrings("bad-name", "x")).WithMessage("*External label name 'bad-name'*");
        Invalid(o => { o.BasicAuthUsername = "u"; o.BearerToken = "t"; }).WithMessage("*not both*");
        Invalid(o => o.BasicAuthPassword = "p").WithMessage("*needs a user name*");
        Invalid(o => o.BearerToken = "has space").WithMessage("*no whitespace*");
        FluentActions.Invoking(() => new AlertmanagerNotifier(new AlertmanagerNotifierOptions { Alertmanagers = [ok], QueueCapacity = 0 })).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new AlertmanagerNotifier(new AlertmanagerNotifierOptions { Alertmanagers = [ok], MaxBatchSize = 0 })).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new AlertmanagerNotifier(new AlertmanagerNotifierOptions { Alertmanagers = [ok], RequestTimeout = TimeSpan.Zero })).Should().Throw<ArgumentOutOfRangeException>();

        static FluentAssertions.Specialized.ExceptionAssertions<ArgumentException> Invalid(Action<AlertmanagerNotifierOptions> change)
        {
            var options = new AlertmanagerNotifierOptions { Alertmanagers = [new Uri("http://127.0.0.1:9093/")] };
            change(options);
            return FluentActions.Invoking(() => new AlertmanagerNotifier(options)).Should().Throw<ArgumentException>();
        }
    }

    [Test]
    public async Task Send_NullAlertInList_ThrowsAndQueuesNothing()
    {
        await using var server = new LoopbackHttpServer();
        await using var notifier = new AlertmanagerNotifier(FastOptions(server.BaseUrl));

        FluentActions.Invoking(() => notifier.Send([Alert("A", T0), null!])).Should().Throw<ArgumentException>().WithMessage("*Alert 1 of 2 is null*");
        notifier.GetStatus()[0].QueueLength.Should().Be(0);
    }
}
