namespace Metrics.Coordination.ZooKeeper;

/// <summary>ZooKeeper error codes (<c>KeeperException.Code</c>), as they travel in reply headers and multi results.</summary>
public enum ErrorCode
{
    /// <summary>Success.</summary>
    Ok = 0,

    /// <summary>A server-internal error.</summary>
    SystemError = -1,

    /// <summary>Reported for the operations after the failing one in a failed multi.</summary>
    RuntimeInconsistency = -2,

    /// <summary>The server found its data inconsistent.</summary>
    DataInconsistency = -3,

    /// <summary>Client-side: the connection dropped while the request was outstanding; its outcome is unknown.</summary>
    ConnectionLoss = -4,

    /// <summary>The server could not parse the request.</summary>
    MarshallingError = -5,

    /// <summary>The operation is not supported (for example a TTL node on a server without extended types).</summary>
    Unimplemented = -6,

    /// <summary>Client-side: the operation timed out.</summary>
    OperationTimeout = -7,

    /// <summary>Invalid arguments (such as an invalid path or TTL).</summary>
    BadArguments = -8,

    /// <summary>The session is unknown to the server.</summary>
    UnknownSession = -12,

    /// <summary>Reconfiguration: no quorum for the new configuration.</summary>
    NewConfigNoQuorum = -13,

    /// <summary>Reconfiguration already in progress.</summary>
    ReconfigInProgress = -14,

    /// <summary>The base of the API errors.</summary>
    ApiError = -100,

    /// <summary>The node does not exist.</summary>
    NoNode = -101,

    /// <summary>The node's ACL denies the operation to this session's identities.</summary>
    NoAuth = -102,

    /// <summary>The expected version (or ACL version) did not match.</summary>
    BadVersion = -103,

    /// <summary>Ephemeral nodes cannot have children.</summary>
    NoChildrenForEphemerals = -108,

    /// <summary>The node already exists.</summary>
    NodeExists = -110,

    /// <summary>The node has children and cannot be deleted.</summary>
    NotEmpty = -111,

    /// <summary>The session expired; the client handle is dead.</summary>
    SessionExpired = -112,

    /// <summary>Invalid callback.</summary>
    InvalidCallback = -113,

    /// <summary>The ACL is empty or invalid (for example <c>auth:</c> without any authenticated identity).</summary>
    InvalidAcl = -114,

    /// <summary>Authentication failed; the client handle is dead.</summary>
    AuthFailed = -115,

    /// <summary>The session was moved to another server.</summary>
    SessionMoved = -118,

    /// <summary>A write was sent to a read-only server.</summary>
    NotReadOnly = -119,

    /// <summary>An ephemeral create on a local session.</summary>
    EphemeralOnLocalSession = -120,

    /// <summary>No such watch to remove.</summary>
    NoWatcher = -121,

    /// <summary>A request timed out.</summary>
    RequestTimeout = -122,

    /// <summary>Reconfiguration is disabled.</summary>
    ReconfigDisabled = -123,

    /// <summary>The server requires SASL authentication.</summary>
    SessionClosedRequireSaslAuth = -124,

    /// <summary>A hard quota was exceeded.</summary>
    QuotaExceeded = -125,

    /// <summary>The server throttled the request.</summary>
    Throttled = -127,
}
