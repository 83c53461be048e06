namespace Metrics.Coordination.ZooKeeper;

/// <summary>The state of a <see cref="ZooKeeperClient"/>'s session and connection.</summary>
public enum ZooKeeperState
{
    /// <summary>Making the first connection; no session yet.</summary>
    Connecting = 0,

    /// <summary>Connected to a read-write server with a live session.</summary>
    Connected,

    /// <summary>Connected to a read-only server (only when <see cref="ZooKeeperClientOptions.CanBeReadOnly"/>).</summary>
    ConnectedReadOnly,

    /// <summary>The connection dropped; reconnecting with the same session, which may still be alive.</summary>
    Suspended,

    /// <summary>Terminal: the session expired (the server said so, or no server was reachable for the session timeout).</summary>
    Expired,

    /// <summary>Terminal: the server rejected an authentication.</summary>
    AuthFailed,

    /// <summary>Terminal: the client was closed.</summary>
    Closed,
}

/// <summary>One state transition of a client.</summary>
/// <param name="Previous">The state before.</param>
/// <param name="Current">The state now.</param>
/// <param name="SessionId">The session id (0 before the first connection).</param>
/// <param name="Server">The server (<c>host:port</c>) now connected to, or null when not connected.</param>
/// <param name="Reason">Why the connection ended or the session was lost, when known.</param>
public sealed record ZooKeeperStateChange(ZooKeeperState Previous, ZooKeeperState Current, long SessionId, string? Server, Exception? Reason)
{
    /// <summary>Whether <see cref="Current"/> is a connected state.</summary>
    public bool IsConnected => Current is ZooKeeperState.Connected or ZooKeeperState.ConnectedReadOnly;

    /// <summary>Whether <see cref="Current"/> is terminal (expired, auth failed, closed).</summary>
    public bool IsTerminal => Current is ZooKeeperState.Expired or ZooKeeperState.AuthFailed or ZooKeeperState.Closed;
}
