using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules;

/// <summary>The state of an alert (or of an alerting rule: the most severe state of its alerts).</summary>
public enum AlertState
{
    /// <summary>The condition is not met (or the alert resolved).</summary>
    Inactive,

    /// <summary>The condition is met but has not held for the rule's <c>for</c> duration yet.</summary>
    Pending,

    /// <summary>The condition held for <c>for</c> (or is kept firing by <c>keep_firing_for</c>).</summary>
    Firing,
}

/// <summary>One alert of an alerting rule: the mutable state the rule keeps per label set (times in ms; 0 = never).</summary>
internal sealed class Alert(Labels labels, Labels annotations, double value, long activeAtMs)
{
    public Labels Labels { get; } = labels;

    public Labels Annotations { get; set; } = annotations;

    public double Value { get; set; } = value;

    public AlertState State { get; set; } = AlertState.Pending;

    public long ActiveAtMs { get; set; } = activeAtMs;

    public long FiredAtMs { get; set; }

    public long? ResolvedAtMs { get; set; }

    public long? LastSentAtMs { get; set; }

    public long ValidUntilMs { get; set; }

    /// <summary>The fencing token of the term in which it was last sent (0: never sent, or no terms).</summary>
    public long LastSentTerm { get; set; }

    public long KeepFiringSinceMs { get; set; }

    /// <summary>Prometheus's <c>needsSending</c>: never pending ones; a resolution not sent yet; else once per resend delay.</summary>
    public bool NeedsSending(long tsMs, long resendDelayMs)
    {
        if (State == AlertState.Pending)
        {
            return false;
        }

        if (LastSentAtMs is not { } lastSent)
        {
            return true;
        }

        if (ResolvedAtMs > lastSent)
        {
            return true;
        }

        return lastSent + resendDelayMs < tsMs;
    }

    public AlertSnapshot Snapshot() => new()
    {
        Labels = Labels,
        Annotations = Annotations,
        State = State,
        ActiveAt = ActiveAtMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(ActiveAtMs),
        KeepFiringSince = KeepFiringSinceMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(KeepFiringSinceMs),
        FiredAt = FiredAtMs == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(FiredAtMs),
        ResolvedAt = ResolvedAtMs is { } r ? DateTimeOffset.FromUnixTimeMilliseconds(r) : null,
        Value = Value,
    };
}
