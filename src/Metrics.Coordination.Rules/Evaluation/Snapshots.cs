using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules;

/// <summary>Whether a rule's last evaluation succeeded (Prometheus's <c>health</c>: <c>ok</c>, <c>err</c>, <c>unknown</c>).</summary>
public enum RuleHealth
{
    /// <summary>Not evaluated yet.</summary>
    Unknown,

    /// <summary>The last evaluation succeeded.</summary>
    Ok,

    /// <summary>The last evaluation failed; see the last error.</summary>
    Error,
}

/// <summary>One active alert, as <c>/api/v1/alerts</c> shows it.</summary>
public sealed record AlertSnapshot
{
    /// <summary>The alert's labels (with <c>alertname</c>).</summary>
    public required Labels Labels { get; init; }

    /// <summary>The rendered annotations.</summary>
    public required Labels Annotations { get; init; }

    /// <summary>Pending, firing, or inactive (resolved and still retained for notification).</summary>
    public required AlertState State { get; init; }

    /// <summary>When the condition started to hold.</summary>
    public DateTimeOffset? ActiveAt { get; init; }

    /// <summary>When the alert fired, if it did.</summary>
    public DateTimeOffset? FiredAt { get; init; }

    /// <summary>When the alert resolved, if it did.</summary>
    public DateTimeOffset? ResolvedAt { get; init; }

    /// <summary>Since when <c>keep_firing_for</c> has kept the alert firing, if it has.</summary>
    public DateTimeOffset? KeepFiringSince { get; init; }

    /// <summary>The expression's value for the alert at the last evaluation.</summary>
    public double Value { get; init; }
}

/// <summary>The state of one rule, as <c>/api/v1/rules</c> shows it.</summary>
public sealed record RuleSnapshot
{
    /// <summary>The record or alert name.</summary>
    public required string Name { get; init; }

    /// <summary>Recording or alerting.</summary>
    public required RuleKind Kind { get; init; }

    /// <summary>The expression text.</summary>
    public required string Query { get; init; }

    /// <summary>The rule's labels.</summary>
    public required Labels Labels { get; init; }

    /// <summary>The annotations (alerting rules).</summary>
    public required Labels Annotations { get; init; }

    /// <summary>The <c>for</c> duration (alerting rules).</summary>
    public TimeSpan For { get; init; }

    /// <summary>The <c>keep_firing_for</c> duration (alerting rules).</summary>
    public TimeSpan KeepFiringFor { get; init; }

    /// <summary>The health after the last evaluation.</summary>
    public required RuleHealth Health { get; init; }

    /// <summary>Why the last evaluation failed, or null.</summary>
    public string? LastError { get; init; }

    /// <summary>When the rule was last evaluated (the evaluation timestamp), or null.</summary>
    public DateTimeOffset? LastEvaluation { get; init; }

    /// <summary>How long the last evaluation took.</summary>
    public TimeSpan EvaluationDuration { get; init; }

    /// <summary>Firing if any alert fires, else pending if any is pending, else inactive (alerting rules).</summary>
    public AlertState State { get; init; }

    /// <summary>The rule's active alerts (alerting rules; resolved ones still retained are left out, as Prometheus's API does).</summary>
    public IReadOnlyList<AlertSnapshot> Alerts { get; init; } = [];
}

/// <summary>The state of one rule group.</summary>
public sealed record RuleGroupSnapshot
{
    /// <summary>The group name.</summary>
    public required string Name { get; init; }

    /// <summary>The rule file.</summary>
    public required string File { get; init; }

    /// <summary>The evaluation interval in force.</summary>
    public required TimeSpan Interval { get; init; }

    /// <summary>The query offset in force.</summary>
    public TimeSpan QueryOffset { get; init; }

    /// <summary>The group's limit (0: none).</summary>
    public int Limit { get; init; }

    /// <summary>The rules in order.</summary>
    public required IReadOnlyList<RuleSnapshot> Rules { get; init; }

    /// <summary>When the group last started an evaluation, or null.</summary>
    public DateTimeOffset? LastEvaluation { get; init; }

    /// <summary>How long the last evaluation of the whole group took.</summary>
    public TimeSpan EvaluationDuration { get; init; }

    /// <summary>
    /// Why the current content of the group's <see cref="File"/> was refused (<see cref="RuleManager.FileErrors"/>), or
    /// null: while set, the group runs its last good definition.
    /// </summary>
    public string? FileError { get; init; }
}
