using System.Diagnostics;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules.PromQL;

namespace Metrics.Coordination.Rules;

/// <summary>A rule with its evaluation state. One instance per rule per loaded group; the group evaluates it.</summary>
internal abstract class Rule(RuleDefinition definition, Labels groupLabels)
{
    private readonly Lock _lock = new();
    private RuleHealth _health;
    private string? _lastError;
    private long _lastEvaluationMs;
    private TimeSpan _evaluationDuration;

    public RuleDefinition Definition { get; } = definition;

    public string Name => Definition.Name;

    /// <summary>The rule's labels over the group's (the rule's own win).</summary>
    public Labels Labels { get; } = Merge(groupLabels, definition.Labels);

    /// <summary>The series this rule wrote at its last successful evaluation, for staleness markers (and their refs, for the append fast path).</summary>
    public Dictionary<Labels, Abstractions.Storage.SeriesRef> SeriesInPreviousEval { get; set; } = [];

    public RuleHealth Health
    {
        get
        {
            lock (_lock)
            {
                return _health;
            }
        }
    }

    public string? LastError
    {
        get
        {
            lock (_lock)
            {
                return _lastError;
            }
        }
    }

    /// <summary>Evaluates the rule at <paramref name="tsMs"/> (queried at <paramref name="tsMs"/> - <paramref name="queryOffsetMs"/>) and returns the samples to write.</summary>
    public abstract List<PromQLSample> Evaluate(RuleEnvironment env, long tsMs, long queryOffsetMs, int limit, CancellationToken cancellationToken);

    public void SetResult(long tsMs, TimeSpan duration, string? error)
    {
        lock (_lock)
        {
            _lastEvaluationMs = tsMs;
            _evaluationDuration = duration;
            _lastError = error;
            _health = error is null ? RuleHealth.Ok : RuleHealth.Error;
        }
    }

    public virtual RuleSnapshot Snapshot()
    {
        lock (_lock)
        {
            return new RuleSnapshot
            {
                Name = Name,
                Kind = Definition.Kind,
                Query = Definition.Expression.Query,
                Labels = Labels,
                Annotations = Definition.Annotations,
                For = Definition.For,
                KeepFiringFor = Definition.KeepFiringFor,
                Health = _health,
                LastError = _lastError,
                LastEvaluation = _lastEvaluationMs == 0 && _health == RuleHealth.Unknown ? null : DateTimeOffset.FromUnixTimeMilliseconds(_lastEvaluationMs),
                EvaluationDuration = _evaluationDuration,
            };
        }
    }

    /// <summary>Runs the rule's query at <paramref name="queryTimeMs"/>; a scalar result becomes one sample without labels, as Prometheus's rule query function does.</summary>
    protected IReadOnlyList<PromQLSample> Query(RuleEnvironment env, long queryTimeMs, CancellationToken cancellationToken)
    {
        var result = env.Engine.Execute(env.Queryable, PromQLQuery.Instant(Definition.Expression, queryTimeMs), cancellationToken);
        return result.Type switch
        {
            PromQLValueType.InstantVector => result.Vector,
            PromQLValueType.Scalar => [new PromQLSample(Labels.Empty, queryTimeMs, result.Scalar)],
            _ => throw new RuleEvaluationException("rule result is not a vector or scalar"),
        };
    }

    private static Labels Merge(Labels group, Labels rule)
    {
        if (group.Count == 0)
        {
            return rule;
        }

        var result = rule;
        foreach (var l in group)
        {
            if (!rule.Has(l.Name))
            {
                result = result.With(l.Name, l.Value);
            }
        }

        return result;
    }
}

/// <summary>A rule evaluation failed for a reason of the rules layer (not of the query): limits, duplicate label sets.</summary>
internal sealed class RuleEvaluationException(string message) : Exception(message);

/// <summary>A recording rule: the query's samples under a new metric name and the rule's labels.</summary>
internal sealed class RecordingRule(RuleDefinition definition, Labels groupLabels) : Rule(definition, groupLabels)
{
    public override List<PromQLSample> Evaluate(RuleEnvironment env, long tsMs, long queryOffsetMs, int limit, CancellationToken cancellationToken)
    {
        var vector = Query(env, tsMs - queryOffsetMs, cancellationToken);
        var output = new List<PromQLSample>(vector.Count);
        var seen = new HashSet<Labels>(vector.Count);
        var ruleLabels = Labels.AsSpan();
        var scratch = new List<Label>(16);
        foreach (var s in vector)
        {
            scratch.Clear();
            foreach (var l in s.Metric.AsSpan())
            {
                if (l.Name != Abstractions.Labels.MetricName && !Labels.Has(l.Name))
                {
                    scratch.Add(l);
                }
            }

            scratch.Add(new Label(Abstractions.Labels.MetricName, Name));
            foreach (var l in ruleLabels)
            {
                if (l.Value.Length > 0)
                {
                    scratch.Add(l);
                }
            }

            var labels = Abstractions.Labels.From(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(scratch));
            if (!seen.Add(labels))
            {
                throw new RuleEvaluationException("vector contains metrics with the same labelset after applying rule labels");
            }

            output.Add(new PromQLSample(labels, tsMs - queryOffsetMs, s.Value));
        }

        if (limit > 0 && output.Count > limit)
        {
            throw new RuleEvaluationException($"exceeded limit of {limit} with {output.Count} series");
        }

        return output;
    }
}

/// <summary>An alerting rule: alerts per label set, moving inactive → pending → firing → resolved.</summary>
internal sealed class AlertingRule(RuleDefinition definition, Labels groupLabels) : Rule(definition, groupLabels)
{
    public const string AlertMetricName = "ALERTS";
    public const string AlertForStateMetricName = "ALERTS_FOR_STATE";
    public const string AlertNameLabel = "alertname";
    public const string AlertStateLabel = "alertstate";

    private readonly Lock _alertsLock = new();
    private readonly Dictionary<string, Templating.AlertTemplate> _templates = RuleTemplates.ParseAll(definition.Name, definition.Labels, definition.Annotations.Concat(groupLabels));

    /// <summary>The active alerts by label set (pending, firing, and resolved ones retained for notification).</summary>
    public Dictionary<Labels, Alert> Active { get; private set; } = [];

    /// <summary>Whether <c>for</c> state has been restored (or needs none); ALERTS series are written only after it.</summary>
    public bool Restored { get; set; } = true;

    public override List<PromQLSample> Evaluate(RuleEnvironment env, long tsMs, long queryOffsetMs, int limit, CancellationToken cancellationToken)
    {
        var queryTime = tsMs - queryOffsetMs;
        var vector = Query(env, queryTime, cancellationToken);
        var found = new Dictionary<Labels, Alert>(vector.Count);
        foreach (var s in vector)
        {
            var data = new RuleTemplateData(s.Metric, env.ExternalLabels, env.ExternalUrl, s.Value, queryTime, env, cancellationToken);
            var labels = s.Metric.Without(Abstractions.Labels.MetricName);
            foreach (var l in Labels)
            {
                var value = RuleTemplates.Expand(Name, l.Value, _templates, data, env.Logger);
                labels = value.Length == 0 ? labels.Without(l.Name) : labels.With(l.Name, value);
            }

            labels = labels.With(AlertNameLabel, Name);
            var annotations = new List<Label>(Definition.Annotations.Count);
            foreach (var a in Definition.Annotations)
            {
                annotations.Add(new Label(a.Name, RuleTemplates.Expand(Name, a.Value, _templates, data, env.Logger)));
            }

            if (found.ContainsKey(labels))
            {
                throw new RuleEvaluationException("vector contains metrics with the same labelset after applying alert labels");
            }

            found[labels] = new Alert(labels, Abstractions.Labels.From([.. annotations]), s.Value, tsMs);
        }

        var output = new List<PromQLSample>();
        lock (_alertsLock)
        {
            foreach (var (key, alert) in found)
            {
                if (Active.TryGetValue(key, out var existing) && existing.State != AlertState.Inactive)
                {
                    existing.Value = alert.Value;
                    existing.Annotations = alert.Annotations;
                    continue;
                }

                Active[key] = alert;
            }

            var activePending = 0;
            var holdMs = (long)Definition.For.TotalMilliseconds;
            var keepFiringMs = (long)Definition.KeepFiringFor.TotalMilliseconds;
            var remove = new List<Labels>();
            foreach (var (key, a) in Active)
            {
                if (!found.ContainsKey(key))
                {
                    var keepFiring = false;
                    if (a.State == AlertState.Firing && keepFiringMs > 0)
                    {
                        if (a.KeepFiringSinceMs == 0)
                        {
                            a.KeepFiringSinceMs = tsMs;
                        }

                        keepFiring = tsMs - a.KeepFiringSinceMs < keepFiringMs;
                    }

                    if (a.State == AlertState.Pending || (a.ResolvedAtMs is { } resolvedAt && tsMs - resolvedAt > RuleEnvironment.ResolvedRetentionMs))
                    {
                        remove.Add(key);
                    }

                    if (a.State != AlertState.Inactive && !keepFiring)
                    {
                        a.State = AlertState.Inactive;
                        a.ResolvedAtMs = tsMs;
                    }

                    if (!keepFiring)
                    {
                        continue;
                    }
                }
                else
                {
                    a.KeepFiringSinceMs = 0;
                }

                activePending++;
                if (a.State == AlertState.Pending && tsMs - a.ActiveAtMs >= holdMs)
                {
                    a.State = AlertState.Firing;
                    a.FiredAtMs = tsMs;
                }

                if (Restored)
                {
                    output.Add(new PromQLSample(AlertSeries(a), queryTime, 1));
                    output.Add(new PromQLSample(ForStateSeries(a.Labels), queryTime, a.ActiveAtMs / 1000));
                }
            }

            foreach (var key in remove)
            {
                Active.Remove(key);
            }

            if (limit > 0 && activePending > limit)
            {
                Active = [];
                throw new RuleEvaluationException($"exceeded limit of {limit} with {activePending} alerts");
            }
        }

        return output;
    }

    /// <summary>The alerts due for sending at <paramref name="tsMs"/>, marked as sent (Prometheus's <c>sendAlerts</c>).</summary>
    public List<Alert> TakeAlertsToSend(long tsMs, long resendDelayMs, long intervalMs, long term = 0)
    {
        var list = new List<Alert>();
        lock (_alertsLock)
        {
            foreach (var a in Active.Values)
            {
                if (a.NeedsSending(tsMs, resendDelayMs))
                {
                    a.LastSentAtMs = tsMs;
                    a.LastSentTerm = term;
                    a.ValidUntilMs = tsMs + (4 * Math.Max(resendDelayMs, intervalMs));
                    list.Add(a);
                }
            }
        }

        return list;
    }

    /// <summary>The active alerts (all states) for tests, snapshots and carrying state over a reload.</summary>
    public List<Alert> AlertsCopy()
    {
        lock (_alertsLock)
        {
            return [.. Active.Values];
        }
    }

    /// <summary>The alerts as the hand-over publishes them.</summary>
    public void Export(List<Notifications.PublishedAlert> into)
    {
        lock (_alertsLock)
        {
            foreach (var a in Active.Values)
            {
                into.Add(new Notifications.PublishedAlert
                {
                    Rule = Name,
                    Fingerprint = a.Labels.Hash,
                    Labels = a.Labels,
                    State = a.State,
                    ActiveAt = DateTimeOffset.FromUnixTimeMilliseconds(a.ActiveAtMs),
                    FiredAt = a.FiredAtMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(a.FiredAtMs),
                    ResolvedAt = a.ResolvedAtMs is { } r ? DateTimeOffset.FromUnixTimeMilliseconds(r) : null,
                    LastSentAt = a.LastSentAtMs is { } s ? DateTimeOffset.FromUnixTimeMilliseconds(s) : null,
                    ValidUntil = a.ValidUntilMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(a.ValidUntilMs),
                    KeepFiringSince = a.KeepFiringSinceMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(a.KeepFiringSinceMs),
                    LastSentTerm = a.LastSentTerm,
                });
            }
        }
    }

    /// <summary>
    /// Adopts the published clocks of the alerts this rule also has: a pending or firing alert takes the published
    /// state, <c>activeAt</c>, <c>firedAt</c>, last send and <c>keep_firing_for</c> start (its own <c>for</c> clock is
    /// replaced, so nothing restarts); an alert resolved here keeps its resolution but takes the published
    /// <c>activeAt</c>, <c>firedAt</c> and last send, so the resolution goes out with the <c>startsAt</c> Alertmanager
    /// knows. Published alerts this rule does not have are ignored (Alertmanager resolves them at their <c>endsAt</c>),
    /// and so are published resolutions (what is active here is a new incident). Returns how many alerts were adopted.
    /// </summary>
    public int Adopt(IEnumerable<Notifications.PublishedAlert> published)
    {
        var adopted = 0;
        lock (_alertsLock)
        {
            foreach (var p in published)
            {
                if (p.Rule != Name || p.State == AlertState.Inactive || !Active.TryGetValue(p.Labels, out var a))
                {
                    continue;
                }

                a.ActiveAtMs = p.ActiveAt.ToUnixTimeMilliseconds();
                a.FiredAtMs = p.FiredAt?.ToUnixTimeMilliseconds() ?? 0;
                a.LastSentAtMs = p.LastSentAt?.ToUnixTimeMilliseconds();
                a.LastSentTerm = p.LastSentTerm;
                a.ValidUntilMs = p.ValidUntil?.ToUnixTimeMilliseconds() ?? 0;
                if (a.State != AlertState.Inactive)
                {
                    a.State = p.State;
                    a.KeepFiringSinceMs = p.KeepFiringSince?.ToUnixTimeMilliseconds() ?? 0;
                }

                adopted++;
            }
        }

        return adopted;
    }

    /// <summary>Takes over another instance's alerts (a reload that kept this rule).</summary>
    public void CopyStateFrom(AlertingRule other)
    {
        var alerts = other.AlertsCopy();
        lock (_alertsLock)
        {
            Active = alerts.ToDictionary(a => a.Labels);
            Restored = other.Restored;
        }
    }

    public override RuleSnapshot Snapshot()
    {
        var alerts = AlertsCopy().Where(a => a.State != AlertState.Inactive).OrderBy(a => a.Labels.ToString(), StringComparer.Ordinal).ToList();
        var state = alerts.Any(a => a.State == AlertState.Firing) ? AlertState.Firing : alerts.Count > 0 ? AlertState.Pending : AlertState.Inactive;
        return base.Snapshot() with { State = state, Alerts = [.. alerts.Select(a => a.Snapshot())] };
    }

    public static Labels ForStateSeries(Labels alertLabels) => alertLabels.With(Abstractions.Labels.MetricName, AlertForStateMetricName);

    private static Labels AlertSeries(Alert a) =>
        a.Labels.With(Abstractions.Labels.MetricName, AlertMetricName).With(AlertStateLabel, a.State == AlertState.Firing ? "firing" : "pending");
}

/// <summary>What a template sees: the sample's labels and value, external labels and URL, and a query function.</summary>
internal sealed record RuleTemplateData(Labels Labels, Labels ExternalLabels, string ExternalUrl, double Value, long TimestampMs, RuleEnvironment Environment, CancellationToken CancellationToken)
{
    /// <summary>Runs <paramref name="expr"/> as an instant query at <paramref name="timestampMs"/> (the <c>query</c> template function).</summary>
    public IReadOnlyList<PromQLSample> Query(string expr, long timestampMs)
    {
        var result = Environment.Engine.Execute(Environment.Queryable, PromQLQuery.Instant(Environment.Engine.Parse(expr), timestampMs), CancellationToken);
        return result.Type switch
        {
            PromQLValueType.InstantVector => result.Vector,
            PromQLValueType.Scalar => [new PromQLSample(Abstractions.Labels.Empty, timestampMs, result.Scalar)],
            _ => throw new RuleEvaluationException("query result is not a vector or scalar"),
        };
    }
}

/// <summary>Wall-clock measuring for evaluations (durations only; timestamps come from the TimeProvider).</summary>
internal static class EvalTimer
{
    public static long Start() => Stopwatch.GetTimestamp();

    public static TimeSpan Elapsed(long start) => Stopwatch.GetElapsedTime(start);
}
