namespace Metrics.Coordination.Rules.Notifications;

/// <summary>Why an <see cref="AlertmanagerNotifier"/> dropped alerts instead of delivering them (the <c>reason</c> label of the dropped counter).</summary>
public enum NotificationDropReason
{
    /// <summary><c>queue_full</c>: the queue was at capacity; the oldest queued alerts made room for newer ones.</summary>
    QueueFull = 0,

    /// <summary><c>not_leader</c>: the leadership gate was closed, or its term changed since the alerts were queued.</summary>
    NotLeader,

    /// <summary><c>rejected</c>: Alertmanager answered 4xx (other than 429); retrying would not help. Alertmanager may have kept the valid alerts of the batch.</summary>
    Rejected,

    /// <summary><c>retries_exhausted</c>: the batch still failed (5xx, 429, timeout, connection error) when the retry time ran out.</summary>
    RetriesExhausted,

    /// <summary><c>invalid</c>: the alert cannot be encoded (text that is not valid UTF-16, no labels).</summary>
    Invalid,

    /// <summary><c>shutdown</c>: still queued or in flight when the notifier stopped, or sent after it stopped.</summary>
    Shutdown,
}

/// <summary>A snapshot of one Alertmanager's delivery state (like Prometheus's <c>/api/v1/alertmanagers</c>, with counts).</summary>
public sealed record AlertmanagerTargetStatus
{
    /// <summary>The endpoint alerts are posted to, such as <c>http://127.0.0.1:9093/api/v2/alerts</c>.</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>Alerts waiting in this Alertmanager's queue (not counting a batch in flight).</summary>
    public required int QueueLength { get; init; }

    /// <summary>Alerts delivered (answered 2xx).</summary>
    public required long Sent { get; init; }

    /// <summary>Alerts in attempts that failed (each failed attempt counts its batch; retries included).</summary>
    public required long Errors { get; init; }

    /// <summary>Alerts dropped, by reason (every reason present, zero included).</summary>
    public required IReadOnlyDictionary<NotificationDropReason, long> Dropped { get; init; }

    /// <summary>When a batch was last delivered, or null.</summary>
    public DateTimeOffset? LastSuccess { get; init; }

    /// <summary>The last failure (status and body, or the connection error), or null.</summary>
    public string? LastError { get; init; }
}
