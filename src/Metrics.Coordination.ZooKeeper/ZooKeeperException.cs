using System.Globalization;

namespace Metrics.Coordination.ZooKeeper;

/// <summary>
/// The root of every error this package reports for a ZooKeeper operation: the server's (or the client's) error
/// <see cref="Code"/>, the <see cref="Path"/> it concerns, and whether retrying may help (<see cref="IsTransient"/>).
/// One derived type per error family; codes without their own type come as this class.
/// </summary>
public class ZooKeeperException : Exception
{
    /// <summary>Creates an exception for <paramref name="code"/>.</summary>
    public ZooKeeperException(ErrorCode code, string? path = null, string? message = null, Exception? innerException = null)
        : base(message ?? DefaultMessage(code, path), innerException)
    {
        Code = code;
        Path = path;
    }

    /// <summary>The error code.</summary>
    public ErrorCode Code { get; }

    /// <summary>The path of the failed operation (as the caller gave it, without chroot), or null.</summary>
    public string? Path { get; }

    /// <summary>
    /// Whether the same operation may succeed if retried on the same session: true for connection loss, timeouts,
    /// throttling and a moved session; false for every answer about the data (NoNode, BadVersion, ...) and for the
    /// terminal states (expired session, failed authentication). See <see cref="ZooKeeperRetry"/> for what is safe.
    /// </summary>
    public virtual bool IsTransient => false;

    /// <summary>For a failed <c>multi</c>: every operation's result (the failing one carries its error), else null.</summary>
    public IReadOnlyList<OpResult>? MultiResults { get; internal set; }

    /// <summary>For a failed <c>multi</c>: the index of the operation that failed, else -1.</summary>
    public int FailedOperationIndex { get; internal set; } = -1;

    /// <summary>Creates the exception type that belongs to <paramref name="code"/>.</summary>
    public static ZooKeeperException Create(ErrorCode code, string? path = null) => code switch
    {
        ErrorCode.ConnectionLoss => new ConnectionLossException(path, requestSent: true),
        ErrorCode.OperationTimeout or ErrorCode.RequestTimeout => new OperationTimeoutException(code, path),
        ErrorCode.Throttled => new ThrottledException(path),
        ErrorCode.SessionExpired => new SessionExpiredException(path),
        ErrorCode.SessionMoved => new SessionMovedException(path),
        ErrorCode.AuthFailed => new AuthFailedException(path),
        ErrorCode.NoNode => new NoNodeException(path),
        ErrorCode.NodeExists => new NodeExistsException(path),
        ErrorCode.BadVersion => new BadVersionException(path),
        ErrorCode.NotEmpty => new NotEmptyException(path),
        ErrorCode.NoAuth => new NoAuthException(path),
        ErrorCode.NoChildrenForEphemerals => new NoChildrenForEphemeralsException(path),
        ErrorCode.InvalidAcl => new InvalidAclException(path),
        ErrorCode.NoWatcher => new NoWatcherException(path),
        ErrorCode.Unimplemented => new UnimplementedException(path),
        ErrorCode.BadArguments => new BadArgumentsException(path),
        ErrorCode.NotReadOnly => new NotReadOnlyException(path),
        _ => new ZooKeeperException(code, path),
    };

    private static string DefaultMessage(ErrorCode code, string? path) =>
        path is null
            ? string.Create(CultureInfo.InvariantCulture, $"ZooKeeper error {code} ({(int)code})")
            : string.Create(CultureInfo.InvariantCulture, $"ZooKeeper error {code} ({(int)code}) for {path}");
}

/// <summary>
/// The connection dropped (or could not be made) while the request was queued or outstanding. When
/// <see cref="RequestSent"/> is true the outcome is unknown: the server may or may not have applied it.
/// </summary>
public sealed class ConnectionLossException : ZooKeeperException
{
    /// <summary>Creates the exception.</summary>
    public ConnectionLossException(string? path = null, bool requestSent = true, string? message = null, Exception? innerException = null)
        : base(ErrorCode.ConnectionLoss, path, message, innerException)
    {
        RequestSent = requestSent;
    }

    /// <summary>
    /// Whether the request had been written to a connection. False means it never left the client, so retrying it is
    /// safe even for operations that are not idempotent (sequential creates).
    /// </summary>
    public bool RequestSent { get; }

    /// <inheritdoc />
    public override bool IsTransient => true;
}

/// <summary>The operation (or the initial connection) did not complete in time (<see cref="ErrorCode.OperationTimeout"/> or <see cref="ErrorCode.RequestTimeout"/>).</summary>
public sealed class OperationTimeoutException : ZooKeeperException
{
    /// <summary>Creates the exception.</summary>
    public OperationTimeoutException(ErrorCode code = ErrorCode.OperationTimeout, string? path = null, string? message = null, Exception? innerException = null)
        : base(code, path, message, innerException)
    {
    }

    /// <inheritdoc />
    public override bool IsTransient => true;
}

/// <summary>The server throttled the request; it was not applied.</summary>
public sealed class ThrottledException(string? path = null) : ZooKeeperException(ErrorCode.Throttled, path)
{
    /// <inheritdoc />
    public override bool IsTransient => true;
}

/// <summary>The session expired (the server said so, or the client was cut off longer than the session timeout). Terminal: create a new client.</summary>
public sealed class SessionExpiredException(string? path = null, string? message = null) : ZooKeeperException(ErrorCode.SessionExpired, path, message);

/// <summary>The session moved to another server connection; the client reconnects.</summary>
public sealed class SessionMovedException(string? path = null) : ZooKeeperException(ErrorCode.SessionMoved, path)
{
    /// <inheritdoc />
    public override bool IsTransient => true;
}

/// <summary>The server rejected an authentication packet. Terminal: the server closes the connection.</summary>
public sealed class AuthFailedException(string? path = null, string? message = null) : ZooKeeperException(ErrorCode.AuthFailed, path, message);

/// <summary>The node does not exist.</summary>
public sealed class NoNodeException(string? path = null) : ZooKeeperException(ErrorCode.NoNode, path);

/// <summary>The node already exists.</summary>
public sealed class NodeExistsException(string? path = null) : ZooKeeperException(ErrorCode.NodeExists, path);

/// <summary>The expected version did not match the node's (data version, or ACL version for setACL).</summary>
public sealed class BadVersionException(string? path = null) : ZooKeeperException(ErrorCode.BadVersion, path);

/// <summary>The node has children and cannot be deleted.</summary>
public sealed class NotEmptyException(string? path = null) : ZooKeeperException(ErrorCode.NotEmpty, path);

/// <summary>The node's ACL does not grant the operation to any identity of this session.</summary>
public sealed class NoAuthException(string? path = null) : ZooKeeperException(ErrorCode.NoAuth, path);

/// <summary>Ephemeral nodes cannot have children.</summary>
public sealed class NoChildrenForEphemeralsException(string? path = null) : ZooKeeperException(ErrorCode.NoChildrenForEphemerals, path);

/// <summary>The ACL is empty or invalid.</summary>
public sealed class InvalidAclException(string? path = null) : ZooKeeperException(ErrorCode.InvalidAcl, path);

/// <summary>There was no such watch to remove.</summary>
public sealed class NoWatcherException(string? path = null) : ZooKeeperException(ErrorCode.NoWatcher, path);

/// <summary>The server does not implement the operation (for example TTL nodes without <c>zookeeper.extendedTypesEnabled</c>).</summary>
public sealed class UnimplementedException(string? path = null, string? message = null) : ZooKeeperException(ErrorCode.Unimplemented, path, message);

/// <summary>The server refused the arguments (invalid path, TTL, ...).</summary>
public sealed class BadArgumentsException(string? path = null, string? message = null) : ZooKeeperException(ErrorCode.BadArguments, path, message);

/// <summary>A write reached a read-only server.</summary>
public sealed class NotReadOnlyException(string? path = null) : ZooKeeperException(ErrorCode.NotReadOnly, path);

/// <summary>The server broke the protocol (bad frame length, reply out of order, truncated record); the connection is dropped.</summary>
internal sealed class ZooKeeperProtocolException(string message) : IOException(message);

/// <summary>
/// The connected server is too old for the operation: the client refused to send it (an older server would answer an
/// opcode it does not know by closing the connection). <see cref="ZooKeeperException.Code"/> is
/// <see cref="ErrorCode.Unimplemented"/>; not transient (unless the client later connects to a newer server).
/// </summary>
public sealed class ServerVersionException : ZooKeeperException
{
    /// <summary>Creates the exception for <paramref name="operation"/>, which needs <paramref name="requiredVersion"/>.</summary>
    public ServerVersionException(string operation, Version requiredVersion, Version serverVersion, string server, string? path = null)
        : base(ErrorCode.Unimplemented, path, $"{operation} needs ZooKeeper {requiredVersion} or later; the connected server {server} runs {serverVersion}{(path is null ? string.Empty : " (path " + path + ")")}.")
    {
        Operation = operation;
        RequiredVersion = requiredVersion;
        ServerVersion = serverVersion;
    }

    /// <summary>The operation refused (as the protocol names it: <c>addWatch</c>, <c>getEphemerals</c>, ...).</summary>
    public string Operation { get; }

    /// <summary>The oldest server version that implements it.</summary>
    public Version RequiredVersion { get; }

    /// <summary>The connected server's version (from its <c>srvr</c> answer).</summary>
    public Version ServerVersion { get; }
}
