using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.Notifications;

/// <summary>
/// One alert as it is sent to Alertmanager (API v2 <c>postableAlert</c>): the rule manager decides which alerts to send
/// and when (firing alerts at the resend interval, resolved ones for the resolved retention); a sender only delivers.
/// </summary>
public sealed record NotificationAlert
{
    /// <summary>The alert's identifying labels (includes <c>alertname</c>; external labels are added by the sender).</summary>
    public required Labels Labels { get; init; }

    /// <summary>The rendered annotations.</summary>
    public Labels Annotations { get; init; } = Labels.Empty;

    /// <summary>When the alert started firing (Alertmanager's <c>startsAt</c>).</summary>
    public required DateTimeOffset StartsAt { get; init; }

    /// <summary>
    /// When the alert ends: the resolution time for a resolved alert, or a time in the future for a firing one
    /// (Prometheus sends <c>4 × max(resend delay, evaluation interval)</c> past the evaluation) so that Alertmanager
    /// resolves it by itself if the sender goes away. Null leaves <c>endsAt</c> out.
    /// </summary>
    public DateTimeOffset? EndsAt { get; init; }

    /// <summary>The link back to the expression that produced the alert (Alertmanager's <c>generatorURL</c>).</summary>
    public string GeneratorUrl { get; init; } = "";
}

/// <summary>Accepts alerts for delivery. Implementations queue and return at once; they never block evaluation.</summary>
public interface IAlertSender
{
    /// <summary>Queues <paramref name="alerts"/> for delivery to every configured Alertmanager.</summary>
    void Send(IReadOnlyList<NotificationAlert> alerts);
}

/// <summary>
/// Whether this replica may notify now. Evaluation continues either way, so a standby keeps its alert state warm; the
/// rule manager only sends while <see cref="IsLeader"/> is true, and a sender re-checks it before each delivery so
/// nothing queued goes out after leadership is lost. The ZooKeeper leader latch drives it in hosting; a single
/// instance uses <see cref="AlwaysLeaderGate"/>.
/// </summary>
public interface ILeadershipGate
{
    /// <summary>True while this replica may send notifications.</summary>
    bool IsLeader { get; }

    /// <summary>
    /// The current leadership term's fencing token (for the ZooKeeper latch, the creation zxid of the election node),
    /// strictly increasing across terms; 0 when not leader or when the gate has no terms.
    /// </summary>
    long FencingToken { get; }

    /// <summary>Raised after <see cref="IsLeader"/> or <see cref="FencingToken"/> changed.</summary>
    event EventHandler? Changed;
}

/// <summary>The gate of a single instance: always leader, no terms.</summary>
public sealed class AlwaysLeaderGate : ILeadershipGate
{
    /// <summary>The shared instance.</summary>
    public static AlwaysLeaderGate Instance { get; } = new();

    private AlwaysLeaderGate()
    {
    }

    /// <inheritdoc />
    public bool IsLeader => true;

    /// <inheritdoc />
    public long FencingToken => 0;

    /// <inheritdoc />
    public event EventHandler? Changed
    {
        add { }
        remove { }
    }
}
