using System.Globalization;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Rules.PromQL;

namespace Metrics.Coordination.Rules;

/// <summary>
/// A loaded rule group and its evaluation state: rules in order, each evaluation at one timestamp, outputs appended
/// (and committed) rule by rule so a later rule sees an earlier one's output, staleness markers for series that
/// vanished, alert notification through the leadership gate. Not thread-safe for concurrent evaluations: one loop
/// (or one test runner) drives it.
/// </summary>
internal sealed partial class RuleGroup
{
    private readonly Lock _lock = new();
    private long _lastEvaluationMs;
    private TimeSpan _lastDuration;

    public RuleGroup(RuleGroupDefinition definition, TimeSpan defaultInterval, TimeSpan defaultQueryOffset)
    {
        Definition = definition;
        Interval = definition.Interval ?? defaultInterval;
        QueryOffset = definition.QueryOffset ?? defaultQueryOffset;
        Rules = [.. definition.Rules.Select(r => r.Kind == RuleKind.Recording ? (Rule)new RecordingRule(r, definition.Labels) : new AlertingRule(r, definition.Labels))];
    }

    public RuleGroupDefinition Definition { get; }

    public string Name => Definition.Name;

    public string File => Definition.File;

    /// <summary>The key the manager identifies the group by: <c>file;name</c>, as Prometheus's <c>GroupKey</c>.</summary>
    public string Key => File + ";" + Name;

    public TimeSpan Interval { get; }

    public TimeSpan QueryOffset { get; }

    public IReadOnlyList<Rule> Rules { get; }

    public long IntervalMs => (long)Interval.TotalMilliseconds;

    /// <summary>A stable offset within the interval derived from the group's identity, so groups with the same interval spread out.</summary>
    public long OffsetMs
    {
        get
        {
            // FNV-1a over "file\xffname": deterministic across processes (string.GetHashCode is randomized per process).
            var hash = 14695981039346656037UL;
            foreach (var b in Encoding.UTF8.GetBytes(File + "\xff" + Name))
            {
                hash ^= b;
                hash *= 1099511628211UL;
            }

            return (long)(hash % (ulong)IntervalMs);
        }
    }

    /// <summary>The latest evaluation timestamp at or before <paramref name="nowMs"/>: <c>offset + k × interval</c> (Prometheus's <c>EvalTimestamp</c>).</summary>
    public long EvalTimestamp(long nowMs)
    {
        var offset = OffsetMs;
        var adjusted = nowMs - offset;
        var baseMs = adjusted - Mod(adjusted, IntervalMs);
        return baseMs + offset;
    }

    public (long LastEvaluationMs, TimeSpan Duration) LastRun
    {
        get
        {
            lock (_lock)
            {
                return (_lastEvaluationMs, _lastDuration);
            }
        }
    }

    /// <summary>Evaluates every rule at <paramref name="tsMs"/>. Returns the number of rules that failed.</summary>
    public int Evaluate(RuleEnvironment env, long tsMs, CancellationToken cancellationToken)
    {
        var groupStart = EvalTimer.Start();
        var failures = 0;
        var offsetMs = (long)QueryOffset.TotalMilliseconds;
        for (var i = 0; i < Rules.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rule = Rules[i];
            var start = EvalTimer.Start();
            List<PromQLSample> samples;
            try
            {
                samples = rule.Evaluate(env, tsMs, offsetMs, Definition.Limit, cancellationToken);
            }
            catch (Exception e) when (e is PromQLQueryException or RuleEvaluationException or StorageException)
            {
                rule.SetResult(tsMs, EvalTimer.Elapsed(start), e.Message);
                Log.RuleEvaluationFailed(env.Logger, Name, i + 1, rule.Name, e.Message);
                env.Metrics?.EvaluationFailures.WithLabels(Key).Inc();
                failures++;
                continue;
            }

            if (rule is AlertingRule alerting)
            {
                SendAlerts(env, alerting, tsMs);
            }

            WriteSamples(env, rule, samples, tsMs - offsetMs);
            rule.SetResult(tsMs, EvalTimer.Elapsed(start), null);
        }

        lock (_lock)
        {
            _lastEvaluationMs = tsMs;
            _lastDuration = EvalTimer.Elapsed(groupStart);
        }

        return failures;
    }

    /// <summary>
    /// Restores alerts' <c>for</c> state from <c>ALERTS_FOR_STATE</c> after a restart (Prometheus's <c>RestoreForState</c>):
    /// only for rules whose <c>for</c> is at least the grace period, only from samples within the outage tolerance;
    /// an alert that would fire within the grace period is moved to fire exactly at the end of it.
    /// </summary>
    public void RestoreForState(RuleEnvironment env, long tsMs)
    {
        using var querier = env.Queryable.Querier(tsMs - env.OutageToleranceMs, tsMs);
        foreach (var rule in Rules.OfType<AlertingRule>())
        {
            var holdMs = (long)rule.Definition.For.TotalMilliseconds;
            if (holdMs < env.ForGracePeriodMs)
            {
                rule.Restored = true;
                continue;
            }

            foreach (var alert in rule.AlertsCopy())
            {
                var series = AlertingRule.ForStateSeries(alert.Labels);
                var matchers = series.Select(l => new LabelMatcher(MatchType.Equal, l.Name, l.Value)).ToArray();
                ISeries? found = null;
                foreach (var s in querier.Select(false, new SelectHints { Start = tsMs - env.OutageToleranceMs, End = tsMs }, matchers))
                {
                    if (s.Labels.Count == matchers.Length)
                    {
                        found = s;
                        break;
                    }
                }

                if (found is null)
                {
                    continue;
                }

                long t = 0;
                var v = double.NaN;
                var any = false;
                var it = found.Iterator();
                while (it.Next())
                {
                    t = it.Timestamp;
                    v = it.Value;
                    any = true;
                }

                if (it.Error is not null || !any || StaleMarker.IsStale(v))
                {
                    continue;
                }

                var downAtMs = t / 1000 * 1000;
                var restoredActiveAtMs = (long)v * 1000;
                var remaining = holdMs - (downAtMs - restoredActiveAtMs);
                if (remaining <= 0)
                {
                    // It was firing when we went down; the next evaluation fires it again if the condition still holds.
                }
                else if (remaining < env.ForGracePeriodMs)
                {
                    restoredActiveAtMs = tsMs + env.ForGracePeriodMs - holdMs;
                }
                else
                {
                    restoredActiveAtMs += tsMs - downAtMs;
                }

                alert.ActiveAtMs = restoredActiveAtMs;
                Log.AlertStateRestored(env.Logger, Name, rule.Name, alert.Labels.ToString(), DateTimeOffset.FromUnixTimeMilliseconds(restoredActiveAtMs));
            }

            rule.Restored = true;
        }
    }

    /// <summary>Writes staleness markers for every series this group's rules wrote last time (the group is going away).</summary>
    public void MarkAllStale(RuleEnvironment env, long tsMs)
    {
        var offsetMs = (long)QueryOffset.TotalMilliseconds;
        foreach (var rule in Rules)
        {
            WriteSamples(env, rule, [], tsMs - offsetMs);
        }
    }

    /// <summary>Takes alert state (and last-written series) from the same rules of the group this one replaces.</summary>
    public void CopyStateFrom(RuleGroup old)
    {
        var byKey = new Dictionary<(string, string, string), Queue<Rule>>();
        foreach (var r in old.Rules)
        {
            var key = (r.Name, r.Definition.Expression.Query, r.Labels.ToString());
            if (!byKey.TryGetValue(key, out var q))
            {
                byKey[key] = q = new Queue<Rule>();
            }

            q.Enqueue(r);
        }

        foreach (var r in Rules)
        {
            if (byKey.TryGetValue((r.Name, r.Definition.Expression.Query, r.Labels.ToString()), out var q) && q.Count > 0)
            {
                var previous = q.Dequeue();
                r.SeriesInPreviousEval = previous.SeriesInPreviousEval;
                if (r is AlertingRule ar && previous is AlertingRule pr)
                {
                    ar.CopyStateFrom(pr);
                }
            }
        }

        CopyHandOverStateFrom(old);
    }

    public RuleGroupSnapshot Snapshot()
    {
        var (last, duration) = LastRun;
        return new RuleGroupSnapshot
        {
            Name = Name,
            File = File,
            Interval = Interval,
            QueryOffset = QueryOffset,
            Limit = Definition.Limit,
            Rules = [.. Rules.Select(r => r.Snapshot())],
            LastEvaluation = last == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(last),
            EvaluationDuration = duration,
        };
    }

    private void SendAlerts(RuleEnvironment env, AlertingRule rule, long tsMs)
    {
        // Evaluation and state go on without the gate; only a leader marks alerts sent, so a new leader sends at once.
        if (env.AlertSender is null || !MaySend(env))
        {
            return;
        }

        var due = rule.TakeAlertsToSend(tsMs, env.ResendDelayMs, IntervalMs, env.LeadershipGate.FencingToken);
        if (due.Count == 0)
        {
            return;
        }

        var generatorUrl = env.ExternalUrl.TrimEnd('/') + "/graph?g0.expr=" + Uri.EscapeDataString(rule.Definition.Expression.Query) + "&g0.tab=1";
        var batch = new List<NotificationAlert>(due.Count);
        foreach (var a in due)
        {
            batch.Add(new NotificationAlert
            {
                Labels = a.Labels,
                Annotations = a.Annotations,
                StartsAt = DateTimeOffset.FromUnixTimeMilliseconds(a.FiredAtMs != 0 ? a.FiredAtMs : a.ActiveAtMs),
                EndsAt = DateTimeOffset.FromUnixTimeMilliseconds(a.ResolvedAtMs ?? a.ValidUntilMs),
                GeneratorUrl = generatorUrl,
            });
        }

        try
        {
            env.AlertSender.Send(batch);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A sender must not throw; if it does, evaluation goes on and the failure is logged.
            Log.AlertSendFailed(env.Logger, Name, rule.Name, e);
        }
    }

    private void WriteSamples(RuleEnvironment env, Rule rule, List<PromQLSample> samples, long writeTsMs)
    {
        var previous = rule.SeriesInPreviousEval;
        var returned = new Dictionary<Labels, SeriesRef>(samples.Count);
        var appender = env.Appendable.Appender();
        var rejected = 0;
        string? firstError = null;
        foreach (var s in samples)
        {
            previous.TryGetValue(s.Metric, out var seriesRef);
            try
            {
                returned[s.Metric] = appender.Append(new AppendRequest { Ref = seriesRef, Labels = s.Metric, TimestampMs = writeTsMs, Value = s.Value });
            }
            catch (StorageException e)
            {
                // Out-of-order or duplicate samples (a restart re-evaluating a timestamp) are counted and logged, as Prometheus does.
                rejected++;
                firstError ??= e.Message;
                returned[s.Metric] = seriesRef;
            }
        }

        foreach (var (labels, seriesRef) in previous)
        {
            if (!returned.ContainsKey(labels))
            {
                try
                {
                    appender.Append(new AppendRequest { Ref = seriesRef, Labels = labels, TimestampMs = writeTsMs, Value = StaleMarker.Value });
                }
                catch (StorageException e)
                {
                    rejected++;
                    firstError ??= e.Message;
                }
            }
        }

        appender.Commit();
        rule.SeriesInPreviousEval = returned;
        if (rejected > 0)
        {
            Log.SamplesRejected(env.Logger, Name, rule.Name, rejected, firstError!);
        }
    }

    private static long Mod(long a, long m)
    {
        var r = a % m;
        return r < 0 ? r + m : r;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{File};{Name}");
}
