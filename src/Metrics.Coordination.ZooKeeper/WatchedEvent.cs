namespace Metrics.Coordination.ZooKeeper;

/// <summary>What happened to a watched node (<c>Watcher.Event.EventType</c>).</summary>
public enum EventType
{
    /// <summary>No node event: a change of the connection or session state (see <see cref="WatchedEvent.State"/>).</summary>
    None = -1,

    /// <summary>The node was created.</summary>
    NodeCreated = 1,

    /// <summary>The node was deleted.</summary>
    NodeDeleted = 2,

    /// <summary>The node's data changed.</summary>
    NodeDataChanged = 3,

    /// <summary>The node's children changed.</summary>
    NodeChildrenChanged = 4,

    /// <summary>A data watch was removed.</summary>
    DataWatchRemoved = 5,

    /// <summary>A child watch was removed.</summary>
    ChildWatchRemoved = 6,

    /// <summary>A persistent watch was removed.</summary>
    PersistentWatchRemoved = 7,
}

/// <summary>The connection state an event carries (<c>Watcher.Event.KeeperState</c>).</summary>
public enum KeeperState
{
    /// <summary>The connection dropped; the session may still be alive. Events may be missed until reconnected.</summary>
    Disconnected = 0,

    /// <summary>Connected (all server notifications carry this state).</summary>
    SyncConnected = 3,

    /// <summary>Authentication failed; terminal.</summary>
    AuthFailed = 4,

    /// <summary>Connected to a read-only server.</summary>
    ConnectedReadOnly = 5,

    /// <summary>The session expired; terminal. Watches are gone.</summary>
    Expired = -112,

    /// <summary>The client was closed. Watches are gone.</summary>
    Closed = 7,
}

/// <summary>
/// A watch notification. Node events carry only the type and path: read the node again to see its state. Events of
/// type <see cref="EventType.None"/> tell every registered watcher about connection changes: <see cref="KeeperState.Disconnected"/>
/// when the connection drops, <see cref="KeeperState.SyncConnected"/> when it is back (with
/// <see cref="EventsMayHaveBeenMissed"/> set: one-shot watches were re-armed with the last zxid seen, so a change while
/// disconnected fires them, but persistent watches do not replay what happened meanwhile), and
/// <see cref="KeeperState.Expired"/> or <see cref="KeeperState.Closed"/> at the end, after which the watcher is forgotten.
/// </summary>
/// <param name="Type">The event type.</param>
/// <param name="State">The connection state.</param>
/// <param name="Path">The node's path (relative to the chroot), or null for <see cref="EventType.None"/>.</param>
public sealed record WatchedEvent(EventType Type, KeeperState State, string? Path)
{
    /// <summary>
    /// On a <see cref="KeeperState.SyncConnected"/> event of type <see cref="EventType.None"/>: the client was
    /// disconnected, so persistent watches may have missed changes (re-read what you watch).
    /// </summary>
    public bool EventsMayHaveBeenMissed { get; init; }
}
