namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>
/// One leadership term: from the moment a contender became leader until it stopped being one. The
/// <see cref="FencingToken"/> is the creation zxid of the contender's election node: a newer node always has a larger
/// one, so a guarded resource that remembers the largest token it has seen can refuse a deposed leader. (A contender
/// that loses and regains leadership with the same node — after a suspension — keeps its token: no one else can have
/// led in between, because its node stayed first.)
/// </summary>
public sealed class LeaderTerm
{
    private readonly CancellationTokenSource _lost;

    internal LeaderTerm(long fencingToken, string nodePath, string participantId, long sessionId, DateTimeOffset startedAt, CancellationTokenSource lost)
    {
        FencingToken = fencingToken;
        NodePath = nodePath;
        ParticipantId = participantId;
        SessionId = sessionId;
        StartedAt = startedAt;
        _lost = lost;
    }

    /// <summary>The election node's creation zxid (<see cref="Stat.Czxid"/>).</summary>
    public long FencingToken { get; }

    /// <summary>The election node's path.</summary>
    public string NodePath { get; }

    /// <summary>The participant id.</summary>
    public string ParticipantId { get; }

    /// <summary>The session that owns the node.</summary>
    public long SessionId { get; }

    /// <summary>When the term started (the latch's clock).</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>Cancelled the moment the term ends (before the <see cref="ILeaderLatchListener.NotLeader"/> callback is delivered).</summary>
    public CancellationToken LeadershipLost => _lost.Token;

    /// <summary>Whether the term is still running (<see cref="LeadershipLost"/> not cancelled).</summary>
    public bool IsActive => !_lost.IsCancellationRequested;

    /// <inheritdoc />
    public override string ToString() => $"term 0x{FencingToken:x} of '{ParticipantId}' ({NodePath}, session 0x{SessionId:x})";

    internal void End()
    {
        try
        {
            // Callbacks registered by user code run on the pool, not on the caller (a ZooKeeper dispatcher or the latch loop).
            _ = _lost.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // Already ended.
        }
    }
}

/// <summary>Why a term ended.</summary>
public enum LeadershipLossReason
{
    /// <summary>The connection was suspended (policy <see cref="LeaderSuspensionPolicy.DropOnSuspended"/>).</summary>
    ConnectionSuspended = 0,

    /// <summary>Suspended for the whole session timeout since the last server contact (policy <see cref="LeaderSuspensionPolicy.KeepUntilSessionTimeout"/>).</summary>
    SessionTimeoutElapsed,

    /// <summary>The session expired (a new session will contend with a new node).</summary>
    SessionExpired,

    /// <summary>Our election node disappeared (deleted by someone else).</summary>
    NodeDeleted,

    /// <summary>Our node is no longer first (a foreign child sorted before it).</summary>
    NotFirst,

    /// <summary>The contender gave leadership up to queue again (<see cref="LeaderSelector"/> after its work returned).</summary>
    Requeued,

    /// <summary>The latch was closed.</summary>
    Closed,
}

/// <summary>
/// Leadership callbacks of a <see cref="LeaderLatch"/>, delivered in order on one dispatcher (never concurrently, never
/// on a ZooKeeper thread). An exception thrown by a callback is caught, logged and counted.
/// </summary>
public interface ILeaderLatchListener
{
    /// <summary>This contender became leader for <paramref name="term"/>.</summary>
    void IsLeader(LeaderTerm term);

    /// <summary><paramref name="term"/> ended (its token is already cancelled).</summary>
    void NotLeader(LeaderTerm term, LeadershipLossReason reason);
}

/// <summary>One contender in an election.</summary>
/// <param name="Id">Its participant id (its node's data, UTF-8).</param>
/// <param name="NodeName">Its node's name.</param>
/// <param name="IsLeader">Whether it is first in the queue.</param>
public sealed record LeaderParticipant(string Id, string NodeName, bool IsLeader);
