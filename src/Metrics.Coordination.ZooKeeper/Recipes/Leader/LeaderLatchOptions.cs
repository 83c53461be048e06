using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>Whether closing a leading latch tells its listeners (Curator's <c>LeaderLatch.CloseMode</c>).</summary>
public enum LeaderLatchCloseMode
{
    /// <summary>No <see cref="ILeaderLatchListener.NotLeader"/> callback on close (the term's token is still cancelled). Curator's default.</summary>
    Silent = 0,

    /// <summary>Listeners get <see cref="ILeaderLatchListener.NotLeader"/> with <see cref="LeadershipLossReason.Closed"/>.</summary>
    NotifyLeader,
}

/// <summary>What a leader does when its connection is suspended (the session may still be alive).</summary>
public enum LeaderSuspensionPolicy
{
    /// <summary>
    /// Leadership ends at once on <see cref="ZooKeeperState.Suspended"/> (Curator's standard policy); it comes back on
    /// reconnect if our node is still first. The safe default: the server may expire the session while we cannot hear it.
    /// </summary>
    DropOnSuspended = 0,

    /// <summary>
    /// Leadership survives a suspension until the negotiated session timeout has elapsed since the last frame received
    /// from a server — the earliest moment the server may expire the session — never longer; a reconnect in time keeps
    /// the term. Fewer leadership changes on short network blips, at the cost of acting while unable to hear ZooKeeper.
    /// </summary>
    KeepUntilSessionTimeout,
}

/// <summary>Settings of a <see cref="LeaderLatch"/> (validated and copied when it is created).</summary>
public sealed class LeaderLatchOptions
{
    /// <summary>The election node, e.g. <c>/election/metrics</c>: contenders are its children, so Curator latches on the same path contend with ours. Required.</summary>
    public string Path { get; set; } = string.Empty;

    /// <summary>This contender's id, stored as its node's data (UTF-8) like Curator; reported by <see cref="LeaderLatch.GetParticipantsAsync"/>. Default: empty.</summary>
    public string ParticipantId { get; set; } = string.Empty;

    /// <summary>Whether closing notifies listeners. Default: <see cref="LeaderLatchCloseMode.Silent"/>.</summary>
    public LeaderLatchCloseMode CloseMode { get; set; } = LeaderLatchCloseMode.Silent;

    /// <summary>What a suspension does to leadership. Default: <see cref="LeaderSuspensionPolicy.DropOnSuspended"/>.</summary>
    public LeaderSuspensionPolicy SuspensionPolicy { get; set; } = LeaderSuspensionPolicy.DropOnSuspended;

    /// <summary>Where the latch logs (event IDs 4520–4599). Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>The clock for term start times and retry delays. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Whether a contender third or further back also watches the node two places ahead of it. Default: false.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Default (false), the standard recipe: each contender watches only its predecessor (the leader and the second in
    /// line also their own node, which wakes no one else), so a deletion wakes exactly one contender. The second in
    /// line whose last list showed its predecessor first leads as soon as that node is deleted, without listing the
    /// children again. A contender that moved up to second without being told (the leader two ahead of it left) learns
    /// it only when its predecessor goes, and then lists the children once before leading: one read round trip more
    /// on that hand-over.
    /// </para>
    /// <para>
    /// True: the deletion of a node also wakes the contender two places behind it, which lists again and so is ready to
    /// take over without a list when its own predecessor goes. Every hand-over then skips the read round trip, at the
    /// cost of two watches per contender and two contenders woken per deletion (each sending a list request to the
    /// server at the moment of the hand-over). See benchmarks/README.md (leader election failover) for what it measured.
    /// </para>
    /// </remarks>
    public bool WatchTwoAhead { get; set; }
}

/// <summary>Settings of a <see cref="LeaderSelector"/>.</summary>
public sealed class LeaderSelectorOptions
{
    /// <summary>The election node (contenders are <c>_c_&lt;uuid&gt;-lock-&lt;seq&gt;</c> children, like Curator's LeaderSelector). Required.</summary>
    public string Path { get; set; } = string.Empty;

    /// <summary>This contender's id, stored as its node's data. Default: empty.</summary>
    public string ParticipantId { get; set; } = string.Empty;

    /// <summary>Whether to queue again after the work returns or is cancelled. Default: true.</summary>
    public bool AutoRequeue { get; set; } = true;

    /// <summary>What a suspension does to leadership (and so to the running work). Default: <see cref="LeaderSuspensionPolicy.DropOnSuspended"/>.</summary>
    public LeaderSuspensionPolicy SuspensionPolicy { get; set; } = LeaderSuspensionPolicy.DropOnSuspended;

    /// <summary>Where the selector logs. Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>The clock. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
