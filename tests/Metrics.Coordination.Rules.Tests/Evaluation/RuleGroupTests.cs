using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Rules.PromQL;
using Metrics.Coordination.Rules.PromQL.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using IQueryable = Metrics.Coordination.Abstractions.Storage.IQueryable;

namespace Metrics.Coordination.Rules.Tests.Evaluation;

/// <summary>A recording sender: what the rule group handed over, per send.</summary>
internal sealed class RecordingSender : IAlertSender
{
    public List<IReadOnlyList<NotificationAlert>> Batches { get; } = [];

    public IEnumerable<NotificationAlert> All
    {
        get
        {
            lock (Batches)
            {
                return [.. Batches.SelectMany(b => b)];
            }
        }
    }

    public void Send(IReadOnlyList<NotificationAlert> alerts)
    {
        lock (Batches)
        {
            Batches.Add(alerts);
        }
    }
}

internal sealed class SwitchableGate : ILeadershipGate
{
    public bool IsLeader { get; set; }

    public long FencingToken => 0;

    public event EventHandler? Changed
    {
        add { }
        remove { }
    }
}

internal static class StorageReader
{
    /// <summary>Every raw sample of the series with exactly <paramref name="labels"/>.</summary>
    public static List<(long T, double V)> Samples(IQueryable storage, Labels labels)
    {
        using var q = storage.Querier(long.MinValue / 2, long.MaxValue / 2);
        var matchers = labels.Select(l => new LabelMatcher(Abstractions.MatchType.Equal, l.Name, l.Value)).ToArray();
        var result = new List<(long, double)>();
        foreach (var s in q.Select(false, default, matchers))
        {
            if (s.Labels.Count != labels.Count)
            {
                continue;
            }

            var it = s.Iterator();
            while (it.Next())
            {
                result.Add((it.Timestamp, it.Value));
            }
        }

        return result;
    }

    public static void Load(IAppendable storage, string series, params (long T, double V)[] samples)
    {
        var app = storage.Appender();
        var labels = Parse(series);
        foreach (var (t, v) in samples)
        {
            app.Append(new AppendRequest { Labels = labels, TimestampMs = t, Value = v });
        }

        app.Commit();
    }

    public static Labels Parse(string series)
    {
        // name{a="b",c="d"} with simple values only.
        var brace = series.IndexOf('{', StringComparison.Ordinal);
        var name = brace < 0 ? series : series[..brace];
        var pairs = new List<string> { "__name__", name };
        if (brace >= 0)
        {
            foreach (var part in series[(brace + 1)..^1].Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = part.IndexOf('=', StringComparison.Ordinal);
                pairs.Add(part[..eq].Trim());
                pairs.Add(part[(eq + 1)..].Trim().Trim('"'));
            }
        }

        return Labels.FromStrings([.. pairs]);
    }
}

public class RuleGroupTests
{
    private const long Minute = 60_000;

    private static RuleEnvironment Env(InMemoryPromQLStorage storage, IAlertSender? sender = null, ILeadershipGate? gate = null) => new()
    {
        Engine = new PromQLEngine(),
        Queryable = storage,
        Appendable = storage,
        AlertSender = sender,
        LeadershipGate = gate ?? AlwaysLeaderGate.Instance,
        Logger = NullLogger.Instance,
    };

    private static RuleGroup Group(string rulesYaml, string interval = "1m") =>
        new(RuleFileParser.Parse($"groups:\n- name: g\n  interval: {interval}\n  rules:\n{rulesYaml}", "r.yml").Groups[0], TimeSpan.FromMinutes(1), TimeSpan.Zero);

    [Test]
    public void Evaluate_RecordingChain_LaterRuleSeesEarlierOutputOfSameEvaluation()
    {
        using var storage = new InMemoryPromQLStorage();
        StorageReader.Load(storage, "x{job=\"a\",i=\"1\"}", (0, 1));
        StorageReader.Load(storage, "x{job=\"a\",i=\"2\"}", (0, 2));
        var group = Group(
            "  - record: job:x:sum\n    expr: sum by (job) (x)\n    labels: {tier: one}\n" +
            "  - record: job:x:double\n    expr: job:x:sum * 2\n");
        group.Evaluate(Env(storage), Minute, CancellationToken.None).Should().Be(0);

        StorageReader.Samples(storage, Labels.FromStrings("__name__", "job:x:sum", "job", "a", "tier", "one")).Should().Equal((Minute, 3.0));
        StorageReader.Samples(storage, Labels.FromStrings("__name__", "job:x:double", "job", "a", "tier", "one")).Should().Equal((Minute, 6.0));
        group.Rules.Should().OnlyContain(r => r.Health == RuleHealth.Ok);
    }

    [Test]
    public void Evaluate_SeriesVanishes_WritesStaleMarker()
    {
        using var storage = new InMemoryPromQLStorage();
        StorageReader.Load(storage, "x{i=\"1\"}", (0, 1));
        StorageReader.Load(storage, "x{i=\"2\"}", (0, 2), (Minute, 2), (3 * Minute, 2));
        var group = Group("  - record: y\n    expr: x\n");
        var env = Env(storage);
        group.Evaluate(env, Minute, CancellationToken.None);

        // x{i="1"} has no sample within the 5 minute lookback at t=7m; x{i="2"} is still seen.
        group.Evaluate(env, 7 * Minute, CancellationToken.None);
        var samples = StorageReader.Samples(storage, Labels.FromStrings("__name__", "y", "i", "1"));
        samples.Should().HaveCount(2);
        StaleMarker.IsStale(samples[1].V).Should().BeTrue();
        samples[1].T.Should().Be(7 * Minute);
        StorageReader.Samples(storage, Labels.FromStrings("__name__", "y", "i", "2")).Select(s => s.V).Should().Equal(2.0, 2.0);
    }

    [Test]
    public void Evaluate_OverLimit_FailsWithPrometheusMessage()
    {
        using var storage = new InMemoryPromQLStorage();
        StorageReader.Load(storage, "x{i=\"1\"}", (0, 1));
        StorageReader.Load(storage, "x{i=\"2\"}", (0, 1));
        var definition = RuleFileParser.Parse("groups:\n- name: g\n  limit: 1\n  rules:\n  - record: y\n    expr: x\n  - alert: A\n    expr: x\n", "r.yml").Groups[0];
        var group = new RuleGroup(definition, TimeSpan.FromMinutes(1), TimeSpan.Zero);
        group.Evaluate(Env(storage), Minute, CancellationToken.None).Should().Be(2);
        group.Rules[0].LastError.Should().Be("exceeded limit of 1 with 2 series");
        group.Rules[1].LastError.Should().Be("exceeded limit of 1 with 2 alerts");
        group.Rules[0].Health.Should().Be(RuleHealth.Error);
    }

    [Test]
    public void Evaluate_DuplicateLabelSetsAfterRuleLabels_Fails()
    {
        using var storage = new InMemoryPromQLStorage();
        StorageReader.Load(storage, "x{i=\"1\"}", (0, 1));
        StorageReader.Load(storage, "x{i=\"2\"}", (0, 1));
        var group = Group("  - record: y\n    expr: x\n    labels: {i: same}\n");
        group.Evaluate(Env(storage), Minute, CancellationToken.None).Should().Be(1);
        group.Rules[0].LastError.Should().Be("vector contains metrics with the same labelset after applying rule labels");
    }

    [Test]
    public void Evaluate_QueryOffsetAndGroupLabels_QueriesAndWritesInThePast()
    {
        using var storage = new InMemoryPromQLStorage();
        StorageReader.Load(storage, "x", (0, 1), (Minute, 2), (2 * Minute, 3));
        var definition = RuleFileParser.Parse("groups:\n- name: g\n  query_offset: 1m\n  labels: {team: a}\n  rules:\n  - record: y\n    expr: x\n    labels: {team: b}\n  - record: z\n    expr: x\n", "r.yml").Groups[0];
        var group = new RuleGroup(definition, TimeSpan.FromMinutes(1), TimeSpan.Zero);
        group.Evaluate(Env(storage), 2 * Minute, CancellationToken.None).Should().Be(0);
        StorageReader.Samples(storage, Labels.FromStrings("__name__", "y", "team", "b")).Should().Equal((Minute, 2.0));
        StorageReader.Samples(storage, Labels.FromStrings("__name__", "z", "team", "a")).Should().Equal((Minute, 2.0));
    }

    [Test]
    public void Evaluate_AlertWithFor_PendingThenFiringThenResolved_WritesAlertSeries()
    {
        using var storage = new InMemoryPromQLStorage();
        StorageReader.Load(storage, "up{job=\"a\"}", (0, 0), (Minute, 0), (2 * Minute, 0), (3 * Minute, 0), (4 * Minute, 1));
        var group = Group("  - alert: Down\n    expr: up == 0\n    for: 2m\n    labels: {severity: page}\n");
        var env = Env(storage);
        var rule = (AlertingRule)group.Rules[0];
        var alertLabels = Labels.FromStrings("alertname", "Down", "job", "a", "severity", "page");

        group.Evaluate(env, 0, CancellationToken.None);
        rule.AlertsCopy().Should().ContainSingle().Which.State.Should().Be(AlertState.Pending);
        group.Evaluate(env, Minute, CancellationToken.None);
        rule.AlertsCopy().Single().State.Should().Be(AlertState.Pending);
        group.Evaluate(env, 2 * Minute, CancellationToken.None);
        rule.AlertsCopy().Single().State.Should().Be(AlertState.Firing);
        group.Evaluate(env, 3 * Minute, CancellationToken.None);
        group.Evaluate(env, 4 * Minute, CancellationToken.None);
        var resolved = rule.AlertsCopy().Single();
        resolved.State.Should().Be(AlertState.Inactive);
        resolved.ResolvedAtMs.Should().Be(4 * Minute);

        var pending = StorageReader.Samples(storage, alertLabels.With("__name__", "ALERTS").With("alertstate", "pending"));
        pending.Select(s => s.T).Should().StartWith([0, Minute]);
        StaleMarker.IsStale(pending[^1].V).Should().BeTrue("the pending series stops when the alert fires");
        var firing = StorageReader.Samples(storage, alertLabels.With("__name__", "ALERTS").With("alertstate", "firing"));
        firing.Should().HaveCount(3);
        firing[0].Should().Be((2 * Minute, 1.0));
        StaleMarker.IsStale(firing[2].V).Should().BeTrue();
        firing[2].T.Should().Be(4 * Minute);
        var forState = StorageReader.Samples(storage, alertLabels.With("__name__", "ALERTS_FOR_STATE"));
        forState.Take(4).Should().OnlyContain(s => s.V == 0, "the alert has been active since t=0 s");

        // The snapshot shows no active alert once resolved; after 15 minutes the resolved alert is forgotten.
        group.Snapshot().Rules[0].Alerts.Should().BeEmpty();
        group.Evaluate(env, 20 * Minute, CancellationToken.None);
        rule.AlertsCopy().Should().BeEmpty();
    }

    [Test]
    public void Evaluate_KeepFiringFor_KeepsFiringAfterConditionClears()
    {
        using var storage = new InMemoryPromQLStorage();
        StorageReader.Load(storage, "x", (0, 1), (Minute, 0), (2 * Minute, 0), (3 * Minute, 0));
        var group = Group("  - alert: A\n    expr: x > 0\n    keep_firing_for: 2m\n");
        var env = Env(storage);
        var rule = (AlertingRule)group.Rules[0];
        group.Evaluate(env, 0, CancellationToken.None);
        rule.AlertsCopy().Single().State.Should().Be(AlertState.Firing);
        group.Evaluate(env, Minute, CancellationToken.None);
        rule.AlertsCopy().Single().State.Should().Be(AlertState.Firing);
        rule.AlertsCopy().Single().KeepFiringSinceMs.Should().Be(Minute);
        group.Evaluate(env, 2 * Minute, CancellationToken.None);
        rule.AlertsCopy().Single().State.Should().Be(AlertState.Firing);
        group.Evaluate(env, 3 * Minute, CancellationToken.None);
        rule.AlertsCopy().Single().State.Should().Be(AlertState.Inactive);
    }

    [Test]
    public void Evaluate_Notifications_FiringResentAtResendDelayResolvedSentAndEndsAtFourIntervals()
    {
        using var storage = new InMemoryPromQLStorage();
        var samples = Enumerable.Range(0, 6).Select(i => ((long)i * Minute, i < 4 ? 1.0 : 0.0)).ToArray();
        StorageReader.Load(storage, "x", samples);
        var sender = new RecordingSender();
        var group = Group("  - alert: A\n    expr: x > 0\n    annotations: {summary: s}\n");
        var env = Env(storage, sender);
        for (var t = 0L; t <= 5 * Minute; t += Minute)
        {
            group.Evaluate(env, t, CancellationToken.None);
        }

        // Firing at 0; the resend delay (1m) must have passed *before* a tick, so the next send is at 2m; resolved at 4m, sent at once.
        var all = sender.All.ToList();
        all.Should().NotBeEmpty();
        var first = all[0];
        first.Labels.Should().Equal(Labels.FromStrings("alertname", "A"));
        first.Annotations.Get("summary").Should().Be("s");
        first.StartsAt.ToUnixTimeMilliseconds().Should().Be(0);
        first.EndsAt!.Value.ToUnixTimeMilliseconds().Should().Be(4 * Minute, "4 × max(resend delay 1m, interval 1m)");
        first.GeneratorUrl.Should().Be("/graph?g0.expr=x%20%3E%200&g0.tab=1");
        all.Select(a => a.EndsAt!.Value.ToUnixTimeMilliseconds()).Should().Equal(4 * Minute, 6 * Minute, 4 * Minute);
    }

    [Test]
    public void Evaluate_NotLeader_EvaluatesButSendsNothingUntilLeader()
    {
        using var storage = new InMemoryPromQLStorage();
        StorageReader.Load(storage, "x", (0, 1), (Minute, 1), (2 * Minute, 1));
        var sender = new RecordingSender();
        var gate = new SwitchableGate { IsLeader = false };
        var group = Group("  - alert: A\n    expr: x > 0\n");
        var env = Env(storage, sender, gate);
        group.Evaluate(env, 0, CancellationToken.None);
        group.Evaluate(env, Minute, CancellationToken.None);
        sender.Batches.Should().BeEmpty();
        ((AlertingRule)group.Rules[0]).AlertsCopy().Single().State.Should().Be(AlertState.Firing);
        StorageReader.Samples(storage, Labels.FromStrings("__name__", "ALERTS", "alertname", "A", "alertstate", "firing")).Should().HaveCount(2);

        gate.IsLeader = true;
        group.Evaluate(env, 2 * Minute, CancellationToken.None);
        sender.All.Should().ContainSingle().Which.StartsAt.ToUnixTimeMilliseconds().Should().Be(0);
    }

    [Test]
    public void EvalTimestamp_IsAlignedToStableOffsetWithinInterval()
    {
        var group = Group("  - record: y\n    expr: x\n", "1m");
        var offset = group.OffsetMs;
        offset.Should().BeInRange(0, Minute - 1);
        Group("  - record: y\n    expr: x\n", "1m").OffsetMs.Should().Be(offset, "the offset depends only on file and group name");
        var now = 1_700_000_123_456L;
        var ts = group.EvalTimestamp(now);
        ts.Should().BeLessThanOrEqualTo(now);
        (now - ts).Should().BeLessThan(Minute);
        ((ts - offset) % Minute).Should().Be(0);
        group.EvalTimestamp(ts).Should().Be(ts);
    }

    [TestCase(15, 20, 0, Description = "firing when it went down: ActiveAt kept, fires again at once")]
    [TestCase(15, 10, 25, Description = "5m left < 10m grace: fires at the end of the grace period")]
    [TestCase(30, 10, 20, Description = "20m left: ActiveAt moves forward by the downtime")]
    public void RestoreForState_FromAlertsForState_AppliesPrometheusRules(int forMinutes, int downAtMinute, int expectedActiveAtMinute)
    {
        using var storage = new InMemoryPromQLStorage();

        // The previous process: alert active since t=0, last ALERTS_FOR_STATE sample at the time it went down; restart at 30m.
        StorageReader.Load(storage, "ALERTS_FOR_STATE{alertname=\"A\"}", (downAtMinute * Minute, 0));
        StorageReader.Load(storage, "x", (30 * Minute, 1));
        var group = Group($"  - alert: A\n    expr: x > 0\n    for: {forMinutes}m\n");
        var env = Env(storage);
        var rule = (AlertingRule)group.Rules[0];
        rule.Restored = false;
        group.Evaluate(env, 30 * Minute, CancellationToken.None);
        StorageReader.Samples(storage, Labels.FromStrings("__name__", "ALERTS", "alertname", "A", "alertstate", "pending")).Should().BeEmpty("ALERTS are written only once restored");
        group.RestoreForState(env, 30 * Minute);
        rule.Restored.Should().BeTrue();
        rule.AlertsCopy().Single().ActiveAtMs.Should().Be(expectedActiveAtMinute * Minute);
    }

    [Test]
    public void RestoreForState_ShortFor_SkipsRestoring()
    {
        using var storage = new InMemoryPromQLStorage();
        StorageReader.Load(storage, "ALERTS_FOR_STATE{alertname=\"A\"}", (0, 0));
        StorageReader.Load(storage, "x", (10 * Minute, 1));
        var group = Group("  - alert: A\n    expr: x > 0\n    for: 5m\n");
        var env = Env(storage);
        var rule = (AlertingRule)group.Rules[0];
        rule.Restored = false;
        group.Evaluate(env, 10 * Minute, CancellationToken.None);
        group.RestoreForState(env, 10 * Minute);
        rule.AlertsCopy().Single().ActiveAtMs.Should().Be(10 * Minute, "a for of 5m is below the 10m grace period");
    }

    [Test]
    public void CopyStateFrom_UnchangedRuleKeepsAlerts_ChangedRuleStartsOver()
    {
        using var storage = new InMemoryPromQLStorage();
        StorageReader.Load(storage, "x", (0, 1));
        var env = Env(storage);
        var old = Group("  - alert: A\n    expr: x > 0\n    for: 10m\n  - alert: B\n    expr: x > 0\n");
        old.Evaluate(env, 0, CancellationToken.None);
        var next = Group("  - alert: A\n    expr: x > 0\n    for: 10m\n  - alert: B\n    expr: x >= 1\n");
        next.CopyStateFrom(old);
        ((AlertingRule)next.Rules[0]).AlertsCopy().Should().ContainSingle().Which.ActiveAtMs.Should().Be(0);
        ((AlertingRule)next.Rules[1]).AlertsCopy().Should().BeEmpty();
    }
}
