using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.Notifications;

/// <summary>
/// Where the leading replica publishes its alert state so that the next leader continues it (alert state hand-over).
/// </summary>
/// <remarks>
/// <para>
/// Every replica evaluates every rule; only the leader (see <see cref="ILeadershipGate"/>) sends. After each evaluation of
/// a group that changed its alerts (state, <c>activeAt</c>, <c>firedAt</c>, <c>lastSentAt</c>, ...) and at the first
/// evaluation of a new term, the leader publishes the group's alerts as one <see cref="AlertGroupState"/>, tagged with
/// its term's fencing token. A replica that becomes leader loads the group's state before it sends anything in its term
/// and adopts, for every alert it also has active, the published <c>activeAt</c>, <c>firedAt</c> (Alertmanager's
/// <c>startsAt</c>), <c>lastSentAt</c> and <c>validUntil</c>: its own <c>for</c> clocks are replaced by the published
/// ones, so nothing restarts, <c>startsAt</c> stays the same, and an alert the previous leader sent is resent only at
/// the normal resend delay.
/// </para>
/// <para>
/// Implementations must be fenced: <see cref="PublishAsync"/> refuses (returns <see cref="AlertStatePublishResult.Fenced"/>)
/// a state whose <see cref="AlertGroupState.FencingToken"/> is lower than the one already stored, so a deposed leader's
/// late write never overwrites its successor's. Writes are small (one record per group, a few hundred bytes per alert)
/// and happen only on change. Calls for different groups may run concurrently; calls for one group never do.
/// </para>
/// </remarks>
public interface IAlertStateStore
{
    /// <summary>
    /// Stores <paramref name="state"/> as its group's latest state, unless the stored state has a higher fencing token.
    /// </summary>
    /// <returns><see cref="AlertStatePublishResult.Fenced"/> when a newer term's state is stored (nothing was written).</returns>
    ValueTask<AlertStatePublishResult> PublishAsync(AlertGroupState state, CancellationToken cancellationToken = default);

    /// <summary>The latest state published for the group <paramref name="groupKey"/>, or null when none was.</summary>
    ValueTask<AlertGroupState?> LoadAsync(string groupKey, CancellationToken cancellationToken = default);
}

/// <summary>The outcome of <see cref="IAlertStateStore.PublishAsync"/>.</summary>
public enum AlertStatePublishResult
{
    /// <summary>The state was stored.</summary>
    Published = 0,

    /// <summary>Nothing was stored: the store holds a state with a higher fencing token (a newer leader's).</summary>
    Fenced,
}

/// <summary>The alerts of one rule group as its leader published them.</summary>
public sealed record AlertGroupState
{
    /// <summary>The group's key, <c>&lt;file&gt;;&lt;group name&gt;</c> (replicas must load the same files under the same names).</summary>
    public required string GroupKey { get; init; }

    /// <summary>The fencing token of the publisher's leadership term.</summary>
    public required long FencingToken { get; init; }

    /// <summary>The publishing replica's id (<see cref="RuleManagerOptions.InstanceId"/>), for diagnosis.</summary>
    public string Publisher { get; init; } = "";

    /// <summary>When it was published (the publisher's clock).</summary>
    public required DateTimeOffset PublishedAt { get; init; }

    /// <summary>The group's alerts: pending, firing, and resolved ones still retained for notification.</summary>
    public required IReadOnlyList<PublishedAlert> Alerts { get; init; }
}

/// <summary>One alert of an <see cref="AlertGroupState"/>.</summary>
public sealed record PublishedAlert
{
    /// <summary>The alerting rule's name (<c>alertname</c>).</summary>
    public required string Rule { get; init; }

    /// <summary>The label set's stable 64-bit hash (<see cref="Labels.Hash"/>), the alert's fingerprint.</summary>
    public required ulong Fingerprint { get; init; }

    /// <summary>The alert's labels.</summary>
    public required Labels Labels { get; init; }

    /// <summary>Pending, firing, or inactive (resolved, still retained).</summary>
    public required AlertState State { get; init; }

    /// <summary>When the condition started to hold (the start of the <c>for</c> clock).</summary>
    public required DateTimeOffset ActiveAt { get; init; }

    /// <summary>When it fired (Alertmanager's <c>startsAt</c>), or null while pending.</summary>
    public DateTimeOffset? FiredAt { get; init; }

    /// <summary>When it resolved, or null.</summary>
    public DateTimeOffset? ResolvedAt { get; init; }

    /// <summary>When the publisher last sent it to Alertmanager, or null if it never did.</summary>
    public DateTimeOffset? LastSentAt { get; init; }

    /// <summary>The <c>endsAt</c> the last send carried for a firing alert (Alertmanager resolves it then unless resent), or null.</summary>
    public DateTimeOffset? ValidUntil { get; init; }

    /// <summary>Since when <c>keep_firing_for</c> has kept it firing, or null.</summary>
    public DateTimeOffset? KeepFiringSince { get; init; }

    /// <summary>The fencing token of the term in which it was last sent (0 when never sent).</summary>
    public long LastSentTerm { get; init; }
}

/// <summary>
/// An <see cref="IAlertStateStore"/> in memory, fenced like a shared one: for tests, and for replicas in one process.
/// Thread-safe.
/// </summary>
public sealed class InMemoryAlertStateStore : IAlertStateStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, AlertGroupState> _states = new(StringComparer.Ordinal);
    private long _published;
    private long _fenced;

    /// <summary>How many states were stored.</summary>
    public long PublishedCount => Interlocked.Read(ref _published);

    /// <summary>How many publications were refused because a higher token was stored.</summary>
    public long FencedCount => Interlocked.Read(ref _fenced);

    /// <inheritdoc />
    public ValueTask<AlertStatePublishResult> PublishAsync(AlertGroupState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (_states.TryGetValue(state.GroupKey, out var stored) && stored.FencingToken > state.FencingToken)
            {
                _fenced++;
                return ValueTask.FromResult(AlertStatePublishResult.Fenced);
            }

            _states[state.GroupKey] = state;
            _published++;
            return ValueTask.FromResult(AlertStatePublishResult.Published);
        }
    }

    /// <inheritdoc />
    public ValueTask<AlertGroupState?> LoadAsync(string groupKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupKey);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            return ValueTask.FromResult(_states.GetValueOrDefault(groupKey));
        }
    }
}
