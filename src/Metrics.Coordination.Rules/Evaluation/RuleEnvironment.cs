using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Rules.PromQL;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Rules;

/// <summary>What every rule group of a manager (or of a unit-test run) shares: storage, engine, notification and settings.</summary>
internal sealed class RuleEnvironment
{
    /// <summary>How long resolved alerts stay in a rule's state and keep being sent (Prometheus's <c>resolvedRetention</c>).</summary>
    public const long ResolvedRetentionMs = 15 * 60 * 1000;

    public required PromQLEngine Engine { get; init; }

    public required IQueryable Queryable { get; init; }

    public required IAppendable Appendable { get; init; }

    public IAlertSender? AlertSender { get; init; }

    public ILeadershipGate LeadershipGate { get; init; } = AlwaysLeaderGate.Instance;

    public IAlertStateStore? AlertStateStore { get; init; }

    public string InstanceId { get; init; } = "";

    public TimeSpan AlertStateTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public int AlertStateLoadAttempts { get; init; } = 3;

    public long ResendDelayMs { get; init; } = 60_000;

    public long OutageToleranceMs { get; init; } = 3_600_000;

    public long ForGracePeriodMs { get; init; } = 600_000;

    public Labels ExternalLabels { get; init; } = Labels.Empty;

    public string ExternalUrl { get; init; } = "";

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public required ILogger Logger { get; init; }

    public RuleMetrics? Metrics { get; init; }
}
