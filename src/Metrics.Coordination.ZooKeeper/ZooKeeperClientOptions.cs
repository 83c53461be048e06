using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.ZooKeeper;

/// <summary>Settings of a <see cref="ZooKeeperClient"/>. Validated and copied when the client is created.</summary>
public sealed class ZooKeeperClientOptions
{
    /// <summary>
    /// The largest frame accepted from (or sent to) a server by default: ZooKeeper's <c>jute.maxbuffer</c> default
    /// (1 MiB − 1) plus a 64 KiB margin for the reply header, Stat and vector overhead around a maximal payload.
    /// </summary>
    public const int DefaultMaxFrameSize = (1024 * 1024) + (64 * 1024);

    /// <summary>
    /// The servers and optional chroot: <c>host1:2181,host2:2181/app</c> (default port 2181, IPv6 as <c>[::1]:2181</c>).
    /// Required.
    /// </summary>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>The session timeout to ask for; the server clamps it into its own range. Default: 10 s.</summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long <see cref="ZooKeeperClient.ConnectAsync"/> tries to establish the first session. Default: 15 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The first reconnect backoff after every server was tried once; doubles per round, with jitter. Default: 50 ms.</summary>
    public TimeSpan ReconnectBackoff { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The longest reconnect backoff. Default: 1 s (a session usually lives only a few seconds without a connection).</summary>
    public TimeSpan MaxReconnectBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The largest frame accepted; a longer length prefix breaks the connection. Default: <see cref="DefaultMaxFrameSize"/>.</summary>
    public int MaxFrameSize { get; set; } = DefaultMaxFrameSize;

    /// <summary>
    /// Whether a read-only server (a member cut off from its quorum, running with <c>readonlymode.enabled=true</c>) may
    /// serve this client (the handshake's <c>readOnly</c> flag). Default: false (such a server closes the connection).
    /// </summary>
    /// <remarks>
    /// On a read-only server the state is <see cref="ZooKeeperState.ConnectedReadOnly"/>: reads work, writes fail with
    /// <see cref="NotReadOnlyException"/> (error -119). Meanwhile the client asks the other servers <c>isro</c> (first
    /// after 100 ms, then doubling up to 5 s) and, on the first that answers <c>rw</c>, drops the read-only connection
    /// and reconnects there (ConnectedReadOnly → Suspended → Connected; requests in flight fail with ConnectionLoss).
    /// Read-only service is for sessions that have only ever seen read-only servers: such a session is the read-only
    /// server's own (it cannot own ephemerals), so like the Java client we send session id 0 until a read-write server
    /// accepted us, and moving to read-write creates a new session (a new <see cref="ZooKeeperClient.SessionId"/>) and
    /// re-registers the watches on it. A session a read-write server created is never served read-only: ZooKeeper
    /// 3.6+ read-only servers refuse to re-attach it (they close the handshake; the server logs "Refusing global
    /// session reconnection in RO mode"), so that client stays <see cref="ZooKeeperState.Suspended"/>, as the Java
    /// client stays Disconnected, until a read-write server resumes the session or the client-side session timer
    /// declares it expired (log 4017 says when a read-only server was the reason). The client-side session timer only
    /// runs once a read-write server was seen. A ZooKeeper 3.8 read-only server creates sessions only when the servers
    /// run with <c>localSessionsEnabled=true</c>; otherwise it answers the handshake with error -119 and this client
    /// keeps trying the other servers (the attempt's error says so).
    /// </remarks>
    public bool CanBeReadOnly { get; set; }

    /// <summary>
    /// Identities added on every connection, like calling <see cref="ZooKeeperClient.AddAuthAsync"/> before the first
    /// request: (scheme, credentials), such as <c>("digest", "user:password"u8.ToArray())</c>. Default: none.
    /// </summary>
    public IList<KeyValuePair<string, byte[]>> Authentication { get; } = [];

    /// <summary>A name for this client in logs and in the <c>zookeeper.client.name</c> metric tag. Default: <c>zookeeper</c>.</summary>
    public string Name { get; set; } = "zookeeper";

    /// <summary>The clock for pings, timeouts and backoff. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the client logs. Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>
    /// Creates the client's <c>Metrics.Coordination.ZooKeeper</c> meter (dependency injection's factory, so its
    /// listeners see it). Default: null, and the client creates (and disposes) its own <see cref="Meter"/>.
    /// </summary>
    public IMeterFactory? MeterFactory { get; set; }
}
