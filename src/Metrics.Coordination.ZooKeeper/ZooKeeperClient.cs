using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper;

/// <summary>
/// An asynchronous ZooKeeper 3.6+ client: one session over a succession of connections. Create one with
/// <see cref="ConnectAsync"/>; every operation is pipelined (many may be outstanding), answered in order, and
/// cancellable without desynchronizing the connection. When a connection drops, outstanding requests fail with
/// <see cref="ConnectionLossException"/>, the client turns <see cref="ZooKeeperState.Suspended"/> and reconnects to the
/// next server (shuffled list, jittered backoff) with the same session, replaying authentication and re-arming watches.
/// The session ends (<see cref="ZooKeeperState.Expired"/>) when a server says so, or when no server was reachable for
/// the whole negotiated session timeout. Watch handlers and <see cref="StateChanged"/> run in order on the client's own
/// dispatcher, never on the I/O loops; a handler that throws is logged and counted.
/// </summary>
/// <remarks>
/// The returned <see cref="ValueTask"/>s come from pooled sources: await each once (or call <c>AsTask()</c> once).
/// </remarks>
public sealed partial class ZooKeeperClient : IAsyncDisposable
{
    // Java's client splits SetWatches at ~128 KB of path characters: one packet over jute.maxbuffer makes the server drop
    // the connection on every reconnect (ZOOKEEPER-706). Counted here in encoded bytes, including the 4-byte lengths.
    private const int SetWatchesBatchBytes = 128 * 1024;

    // While read-only: the first isro probe of the other servers, and the longest delay between probe rounds (the
    // Java client starts at 100 ms and doubles up to 60 s; we cap lower since a read-only spell is meant to be short).
    private static readonly TimeSpan ReadOnlyProbeFirstDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ReadOnlyProbeMaxDelay = TimeSpan.FromSeconds(5);

    private static readonly OpResult.Delete DeleteResult = new();
    private static readonly OpResult.Check CheckResult = new();

    [ThreadStatic]
    private static ZooKeeperClient? t_dispatching;

    private readonly HostAndPort[] _hosts;
    private readonly string? _chroot;
    private readonly byte[] _chrootBytes;
    private readonly int _requestedTimeoutMs;
    private readonly int _maxFrame;
    private readonly TimeSpan _backoff;
    private readonly TimeSpan _maxBackoff;
    private readonly bool _canBeReadOnly;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ClientMetrics _metrics;
    private readonly Channel<Request> _outgoing = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = false });
    private readonly DispatchQueue _events = new();
    private readonly WatchManager _watches = new();
    private readonly List<KeyValuePair<string, byte[]>> _auth = [];
    private readonly Stack<Request> _pool = new();
    private readonly Lock _stateLock = new();
    private readonly List<Channel<ZooKeeperStateChange>> _subscribers = [];
    private readonly CancellationTokenSource _shutdown = new();
    private readonly TaskCompletionSource _firstConnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _hostIndex;
    private ZooKeeperState _state = ZooKeeperState.Connecting;
    private Exception? _terminalError;
    private long _sessionId;
    private byte[] _password = new byte[16];
    private int _negotiatedTimeoutMs;
    private long _lastZxid;
    private long _lastContact;
    private bool _seenReadWriteServer;
    private bool _readOnlyRefusalExplained;
    private volatile bool _closing;
    private int _disposeStarted;
    private ZooKeeperConnection? _connection;
    private Task _sessionLoop = Task.CompletedTask;
    private Task _dispatchLoop = Task.CompletedTask;

    private ZooKeeperClient(ZooKeeperClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (hosts, chroot) = ConnectionString.Parse(options.ConnectionString);
        if (options.SessionTimeout <= TimeSpan.Zero || options.SessionTimeout.TotalMilliseconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.SessionTimeout, "SessionTimeout must be positive.");
        }

        if (options.ConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.ConnectTimeout, "ConnectTimeout must be positive.");
        }

        if (options.ReconnectBackoff < TimeSpan.Zero || options.MaxReconnectBackoff < options.ReconnectBackoff)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "ReconnectBackoff must be >= 0 and <= MaxReconnectBackoff.");
        }

        if (options.MaxFrameSize < 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxFrameSize, "MaxFrameSize must be at least 1024 bytes.");
        }

        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentNullException.ThrowIfNull(options.LoggerFactory);

        // Shuffle once (like StaticHostProvider), then round-robin: after a drop the current server comes last.
        var shuffled = hosts.ToArray();
        Random.Shared.Shuffle(shuffled);
        _hosts = shuffled;
        _chroot = chroot;
        _chrootBytes = chroot is null ? [] : Encoding.UTF8.GetBytes(chroot);
        _requestedTimeoutMs = (int)options.SessionTimeout.TotalMilliseconds;
        _negotiatedTimeoutMs = _requestedTimeoutMs;
        _maxFrame = options.MaxFrameSize;
        _backoff = options.ReconnectBackoff;
        _maxBackoff = options.MaxReconnectBackoff;
        _canBeReadOnly = options.CanBeReadOnly;
        _time = options.TimeProvider;
        _logger = options.LoggerFactory.CreateLogger("Metrics.Coordination.ZooKeeper.ZooKeeperClient");
        foreach (var (scheme, auth) in options.Authentication)
        {
            ArgumentException.ThrowIfNullOrEmpty(scheme);
            _auth.Add(new(scheme, [.. auth]));
        }

        _metrics = new ClientMetrics(options.MeterFactory, options.Name, () => _connection?.PendingCount ?? 0, () => _watches.Count, () => State);
    }

    /// <summary>Raised on the dispatcher for every state transition, in order with watch events.</summary>
    public event EventHandler<ZooKeeperStateChange>? StateChanged;

    /// <summary>The current state.</summary>
    public ZooKeeperState State
    {
        get
        {
            lock (_stateLock)
            {
                return _state;
            }
        }
    }

    /// <summary>The session id (0 before the first connection).</summary>
    public long SessionId => Interlocked.Read(ref _sessionId);

    /// <summary>The session password the server issued (opaque; 16 bytes).</summary>
    public ReadOnlyMemory<byte> SessionPassword => Volatile.Read(ref _password);

    /// <summary>The session timeout the server granted (the requested one before the first connection).</summary>
    public TimeSpan SessionTimeout => TimeSpan.FromMilliseconds(Volatile.Read(ref _negotiatedTimeoutMs));

    /// <summary>The highest zxid seen in any reply: reconnects refuse servers that are behind it.</summary>
    public long LastZxid => Interlocked.Read(ref _lastZxid);

    /// <summary>The chroot from the connection string, or null.</summary>
    public string? Chroot => _chroot;

    /// <summary>The server connected to (<c>host:port</c>), or null while not connected.</summary>
    public string? Server => _connection?.Server.ToString();

    /// <summary>
    /// Creates a client and waits until its session is established.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid (connection string, chroot, timeouts).</exception>
    /// <exception cref="ConnectionLossException">No server accepted a connection within <see cref="ZooKeeperClientOptions.ConnectTimeout"/>.</exception>
    /// <remarks>
    /// Like the Java client, it does not wait for the replies to <see cref="ZooKeeperClientOptions.Authentication"/>:
    /// a rejected scheme turns the client <see cref="ZooKeeperState.AuthFailed"/> right after.
    /// </remarks>
    public static async Task<ZooKeeperClient> ConnectAsync(ZooKeeperClientOptions options, CancellationToken cancellationToken = default)
    {
        var client = new ZooKeeperClient(options);
        client._dispatchLoop = Task.Factory.StartNew(client.DispatchLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        client._sessionLoop = client.RunSessionAsync();
        try
        {
            await client._firstConnected.Task.WaitAsync(options.ConnectTimeout, client._time, cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch (TimeoutException ex)
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw new ConnectionLossException(null, requestSent: false, $"Could not establish a ZooKeeper session with {options.ConnectionString} within {options.ConnectTimeout.TotalSeconds:0.###} s.", ex);
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Waits until the client is connected; throws if the session ends first.</summary>
    /// <exception cref="SessionExpiredException">The session expired.</exception>
    /// <exception cref="AuthFailedException">Authentication failed.</exception>
    /// <exception cref="ObjectDisposedException">The client was closed.</exception>
    public async Task WaitUntilConnectedAsync(CancellationToken cancellationToken = default)
    {
        await foreach (var change in GetStateChangesAsync(cancellationToken).ConfigureAwait(false))
        {
            if (change.IsConnected)
            {
                return;
            }

            if (change.IsTerminal)
            {
                throw TerminalException(null);
            }
        }

        throw TerminalException(null);
    }

    /// <summary>
    /// The state changes from now on, starting with the current state (as a change from itself), until the client
    /// reaches a terminal state or <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public async IAsyncEnumerable<ZooKeeperStateChange> GetStateChangesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateUnbounded<ZooKeeperStateChange>(new UnboundedChannelOptions { SingleReader = true });
        lock (_stateLock)
        {
            channel.Writer.TryWrite(new ZooKeeperStateChange(_state, _state, SessionId, Server, _terminalError));
            if (IsTerminal(_state))
            {
                channel.Writer.TryComplete();
            }
            else
            {
                _subscribers.Add(channel);
            }
        }

        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var change))
                {
                    yield return change;
                }
            }
        }
        finally
        {
            lock (_stateLock)
            {
                _subscribers.Remove(channel);
            }
        }
    }

    /// <summary>
    /// Creates a node (with <c>create2</c>, <c>createContainer</c> or <c>createTTL</c>) and returns its path and Stat.
    /// </summary>
    /// <param name="path">The path; for sequential modes the prefix the 10-digit suffix is appended to.</param>
    /// <param name="data">The data (at most ~1 MiB, the server's jute.maxbuffer).</param>
    /// <param name="mode">The create mode. Default: persistent.</param>
    /// <param name="acl">The ACL. Default: <see cref="Acls.OpenUnsafe"/>.</param>
    /// <param name="ttl">For the TTL modes: how long the node may stay unmodified and childless (1 ms to 2^40−1 ms).</param>
    /// <param name="cancellationToken">Abandons the wait (the create may still happen).</param>
    /// <exception cref="NodeExistsException">The node exists.</exception>
    /// <exception cref="NoNodeException">The parent does not exist.</exception>
    /// <exception cref="NoChildrenForEphemeralsException">The parent is ephemeral.</exception>
    /// <exception cref="UnimplementedException">TTL nodes are disabled on the server.</exception>
    public ValueTask<CreateResult> CreateAsync(string path, ReadOnlyMemory<byte> data, CreateMode mode = CreateMode.Persistent, IReadOnlyList<Acl>? acl = null, TimeSpan? ttl = null, CancellationToken cancellationToken = default)
    {
        var ttlMs = Op.CreateOp.TtlMilliseconds(mode, ttl);
        PathValidation.Validate(path, nameof(path), sequential: mode is CreateMode.PersistentSequential or CreateMode.EphemeralSequential or CreateMode.PersistentSequentialWithTtl);
        var validAcl = ValidateAcl(acl ?? Acls.OpenUnsafe);
        if (mode is CreateMode.Container or CreateMode.PersistentWithTtl or CreateMode.PersistentSequentialWithTtl)
        {
            return CreateGatedAsync(path, data, mode, validAcl, ttlMs, cancellationToken);
        }

        var r = Rent(Op.CreateOp.CreateOpCode(mode), path);
        r.Data = data;
        r.Mode = mode;
        r.Acl = validAcl;
        r.Ttl = ttlMs;
        return Enqueue(r, cancellationToken) ? new ValueTask<CreateResult>(r, r.Version16) : ValueTask.FromCanceled<CreateResult>(cancellationToken);
    }

    private async ValueTask<CreateResult> CreateGatedAsync(string path, ReadOnlyMemory<byte> data, CreateMode mode, IReadOnlyList<Acl> acl, long ttlMs, CancellationToken cancellationToken)
    {
        var ttlMode = mode is not CreateMode.Container;
        await EnsureServerSupportsAsync(ttlMode ? "createTTL" : "createContainer", ttlMode ? ServerFeatures.Ttl : ServerFeatures.Containers, path, cancellationToken).ConfigureAwait(false);
        var r = Rent(Op.CreateOp.CreateOpCode(mode), path);
        r.Data = data;
        r.Mode = mode;
        r.Acl = acl;
        r.Ttl = ttlMs;
        if (!Enqueue(r, cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
        }

        return await new ValueTask<CreateResult>(r, r.Version16).ConfigureAwait(false);
    }

    /// <summary>Deletes a node if its data version matches (-1: any).</summary>
    /// <exception cref="NoNodeException">The node does not exist.</exception>
    /// <exception cref="BadVersionException">The version does not match.</exception>
    /// <exception cref="NotEmptyException">The node has children.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask DeleteAsync(string path, int version = -1, CancellationToken cancellationToken = default)
    {
        PathValidation.Validate(path, nameof(path));
        var r = Rent(OpCode.Delete, path);
        r.Version = version;
        await Submit(r, cancellationToken).ConfigureAwait(false);
        Return(r);
    }

    /// <summary>
    /// The node's Stat, or null when it does not exist. A <paramref name="watcher"/> is armed either way: it fires on
    /// the node's creation, data change or deletion (once).
    /// </summary>
    public ValueTask<Stat?> ExistsAsync(string path, Action<WatchedEvent>? watcher = null, CancellationToken cancellationToken = default)
    {
        PathValidation.Validate(path, nameof(path));
        var r = Rent(OpCode.Exists, path);
        r.Watcher = watcher;
        r.Registration = watcher is null ? WatchRegistration.None : WatchRegistration.Data;
        return Enqueue(r, cancellationToken) ? new ValueTask<Stat?>(r, r.Version16) : ValueTask.FromCanceled<Stat?>(cancellationToken);
    }

    /// <summary>The node's data and Stat; a <paramref name="watcher"/> fires once on its next data change or deletion.</summary>
    /// <exception cref="NoNodeException">The node does not exist (no watch is armed).</exception>
    /// <exception cref="NoAuthException">The ACL denies READ.</exception>
    public ValueTask<DataResult> GetDataAsync(string path, Action<WatchedEvent>? watcher = null, CancellationToken cancellationToken = default)
    {
        PathValidation.Validate(path, nameof(path));
        var r = Rent(OpCode.GetData, path);
        r.Watcher = watcher;
        r.Registration = watcher is null ? WatchRegistration.None : WatchRegistration.Data;
        return Enqueue(r, cancellationToken) ? new ValueTask<DataResult>(r, r.Version16) : ValueTask.FromCanceled<DataResult>(cancellationToken);
    }

    /// <summary>Sets the node's data if its version matches (-1: any); returns the new Stat.</summary>
    /// <exception cref="NoNodeException">The node does not exist.</exception>
    /// <exception cref="BadVersionException">The version does not match.</exception>
    public ValueTask<Stat> SetDataAsync(string path, ReadOnlyMemory<byte> data, int version = -1, CancellationToken cancellationToken = default)
    {
        PathValidation.Validate(path, nameof(path));
        var r = Rent(OpCode.SetData, path);
        r.Data = data;
        r.Version = version;
        return Enqueue(r, cancellationToken) ? new ValueTask<Stat>(r, r.Version16) : ValueTask.FromCanceled<Stat>(cancellationToken);
    }

    /// <summary>The node's children (names) and Stat (<c>getChildren2</c>); a <paramref name="watcher"/> fires once when a child is created or deleted, or the node is deleted.</summary>
    /// <exception cref="NoNodeException">The node does not exist (no watch is armed).</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ChildrenResult> GetChildrenAsync(string path, Action<WatchedEvent>? watcher = null, CancellationToken cancellationToken = default)
    {
        PathValidation.Validate(path, nameof(path));
        var r = Rent(OpCode.GetChildren2, path);
        r.Watcher = watcher;
        r.Registration = watcher is null ? WatchRegistration.None : WatchRegistration.Child;
        await Submit(r, cancellationToken).ConfigureAwait(false);
        var result = new ChildrenResult(r.ResultStrings ?? [], r.Stat);
        Return(r);
        return result;
    }

    /// <summary>The number of descendants of the node (all levels, not counting itself).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> GetAllChildrenNumberAsync(string path, CancellationToken cancellationToken = default)
    {
        PathValidation.Validate(path, nameof(path));
        await EnsureServerSupportsAsync("getAllChildrenNumber", ServerFeatures.GetAllChildrenNumber, path, cancellationToken).ConfigureAwait(false);
        var r = Rent(OpCode.GetAllChildrenNumber, path);
        await Submit(r, cancellationToken).ConfigureAwait(false);
        var n = r.ResultInt;
        Return(r);
        return n;
    }

    /// <summary>The paths of this session's ephemeral nodes under <paramref name="prefixPath"/> (default: all).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<IReadOnlyList<string>> GetEphemeralsAsync(string prefixPath = "/", CancellationToken cancellationToken = default)
    {
        PathValidation.Validate(prefixPath, nameof(prefixPath));
        await EnsureServerSupportsAsync("getEphemerals", ServerFeatures.GetEphemerals, prefixPath, cancellationToken).ConfigureAwait(false);
        var r = Rent(OpCode.GetEphemerals, prefixPath);
        await Submit(r, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<string> result = r.ResultStrings ?? [];
        Return(r);
        return result;
    }

    /// <summary>Makes the connected server catch up with the leader: reads issued after it see every write committed before.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SyncAsync(string path = "/", CancellationToken cancellationToken = default)
    {
        PathValidation.Validate(path, nameof(path));
        var r = Rent(OpCode.Sync, path);
        await Submit(r, cancellationToken).ConfigureAwait(false);
        Return(r);
    }

    /// <summary>The node's ACL and Stat (needs READ or ADMIN; without ADMIN digest hashes come back masked).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<AclResult> GetAclAsync(string path, CancellationToken cancellationToken = default)
    {
        PathValidation.Validate(path, nameof(path));
        var r = Rent(OpCode.GetAcl, path);
        await Submit(r, cancellationToken).ConfigureAwait(false);
        var result = new AclResult(r.ResultAcl ?? [], r.Stat);
        Return(r);
        return result;
    }

    /// <summary>Replaces the node's ACL if its ACL version (<see cref="Stat.Aversion"/>) matches (-1: any); returns the new Stat.</summary>
    /// <exception cref="BadVersionException">The ACL version does not match.</exception>
    /// <exception cref="InvalidAclException">The ACL is invalid.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Stat> SetAclAsync(string path, IReadOnlyList<Acl> acl, int aclVersion = -1, CancellationToken cancellationToken = default)
    {
        PathValidation.Validate(path, nameof(path));
        var r = Rent(OpCode.SetAcl, path);
        r.Acl = ValidateAcl(acl);
        r.Version = aclVersion;
        await Submit(r, cancellationToken).ConfigureAwait(false);
        var stat = r.Stat;
        Return(r);
        return stat;
    }

    /// <summary>
    /// Runs the operations as one atomic transaction: all apply or none. Returns one result per operation. When one
    /// fails, throws the exception of its error code, with <see cref="ZooKeeperException.MultiResults"/> and
    /// <see cref="ZooKeeperException.FailedOperationIndex"/> set.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<IReadOnlyList<OpResult>> MultiAsync(IReadOnlyList<Op> operations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operations);
        if (operations.Count == 0)
        {
            return [];
        }

        foreach (var op in operations)
        {
            ArgumentNullException.ThrowIfNull(op, nameof(operations));
        }

        var r = Rent(OpCode.Multi, operations[0].Path);
        r.Ops = operations;
        await Submit(r, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<OpResult> results = r.ResultOps!;
        Return(r);
        return results;
    }

    /// <summary>
    /// Adds a persistent (optionally recursive) watch: <paramref name="watcher"/> gets every matching event until
    /// removed with <see cref="RemoveWatchesAsync"/>. The node need not exist. Events that happen while disconnected
    /// are not replayed: after a <see cref="EventType.None"/>/<see cref="KeeperState.SyncConnected"/> event, re-read.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask AddWatchAsync(string path, Action<WatchedEvent> watcher, AddWatchMode mode = AddWatchMode.PersistentRecursive, CancellationToken cancellationToken = default)
    {
        PathValidation.Validate(path, nameof(path));
        ArgumentNullException.ThrowIfNull(watcher);
        if (!Enum.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown watch mode.");
        }

        await EnsureServerSupportsAsync("addWatch", ServerFeatures.PersistentWatches, path, cancellationToken).ConfigureAwait(false);
        var r = Rent(OpCode.AddWatch, path);
        r.IntArgument = (int)mode;
        r.Watcher = watcher;
        r.Registration = mode == AddWatchMode.Persistent ? WatchRegistration.Persistent : WatchRegistration.PersistentRecursive;
        await Submit(r, cancellationToken).ConfigureAwait(false);
        Return(r);
    }

    /// <summary>
    /// Removes watches of <paramref name="type"/> on <paramref name="path"/>: only <paramref name="watcher"/>'s, or all
    /// of that type when null. Each removed watcher gets a DataWatchRemoved / ChildWatchRemoved /
    /// PersistentWatchRemoved event. The server's watch is removed too once no client watch on the path needs it
    /// (unless <paramref name="local"/>, which removes only the client-side registration, even while disconnected).
    /// </summary>
    /// <exception cref="NoWatcherException">No such watch is registered.</exception>
    public async ValueTask RemoveWatchesAsync(string path, WatcherType type, Action<WatchedEvent>? watcher = null, bool local = false, CancellationToken cancellationToken = default)
    {
        PathValidation.Validate(path, nameof(path));
        if (!Enum.IsDefined(type))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown watcher type.");
        }

        if (!local)
        {
            var persistent = type is WatcherType.Persistent or WatcherType.PersistentRecursive;
            await EnsureServerSupportsAsync("removeWatches", persistent ? ServerFeatures.PersistentWatches : ServerFeatures.RemoveWatches, path, cancellationToken).ConfigureAwait(false);
        }

        var removed = _watches.Remove(path, type, watcher, out var serverType) ?? throw new NoWatcherException(path);
        try
        {
            if (!local && serverType is { } t)
            {
                var r = Rent(OpCode.RemoveWatches, path);
                r.IntArgument = t;
                await Submit(r, cancellationToken).ConfigureAwait(false);
                Return(r);
            }
        }
        finally
        {
            foreach (var (w, evt) in removed)
            {
                Post(new DispatchItem(new WatchedEvent(evt, KeeperState.SyncConnected, path), w, null, null));
            }
        }
    }

    /// <summary>
    /// Adds an identity to the session (<c>addAuth</c>), such as <c>("digest", "user:password"u8)</c>; it is replayed
    /// on every later connection (even when this call fails with ConnectionLoss). An unknown scheme fails the client
    /// terminally (<see cref="ZooKeeperState.AuthFailed"/>), as the server closes the connection.
    /// </summary>
    /// <exception cref="AuthFailedException">The server rejected it.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask AddAuthAsync(string scheme, ReadOnlyMemory<byte> auth, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(scheme);
        var copy = auth.ToArray();
        lock (_auth)
        {
            _auth.Add(new(scheme, copy));
        }

        var r = Rent(OpCode.Auth, null);
        r.AuthScheme = scheme;
        r.Data = copy;
        await Submit(r, cancellationToken).ConfigureAwait(false);
        Return(r);
    }

    /// <summary>Closes the session (its ephemeral nodes go at once) and the client; see <see cref="DisposeAsync"/>.</summary>
    public ValueTask CloseAsync() => DisposeAsync();

    /// <summary>
    /// Sends <c>closeSession</c> when connected (the server deletes the session's ephemerals at once), stops every
    /// loop, fails queued requests and delivers <see cref="KeeperState.Closed"/> to watchers. Safe to call twice.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) != 0)
        {
            if (t_dispatching != this)
            {
                await _disposed.Task.ConfigureAwait(false);
            }

            return;
        }

        try
        {
            if (State is ZooKeeperState.Connected or ZooKeeperState.ConnectedReadOnly)
            {
                _closing = true;
                var r = Rent(OpCode.CloseSession, null);
                var timeout = TimeSpan.FromMilliseconds(Math.Max(100, Volatile.Read(ref _negotiatedTimeoutMs) * 2 / 3));
                using var deadline = new CancellationTokenSource(timeout, _time);
                try
                {
                    await Submit(r, deadline.Token).ConfigureAwait(false);
                    Log.Closed(_logger, SessionId);
                }
                catch (Exception ex)
                {
                    Log.CloseFailed(_logger, SessionId, ex);
                }
            }

            _closing = true;
            EnterTerminal(ZooKeeperState.Closed, new ObjectDisposedException(nameof(ZooKeeperClient), "The ZooKeeper client was closed."));
            try
            {
                await _sessionLoop.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The session loop reports through state changes; nothing to rethrow on close.
            }

            _events.Complete();
            if (t_dispatching != this)
            {
                await _dispatchLoop.ConfigureAwait(false);
            }

            _metrics.Dispose();
        }
        finally
        {
            _disposed.TrySetResult();
        }
    }

    /// <summary>The open connection, if any (tests inspect its receive thread).</summary>
    internal ZooKeeperConnection? CurrentConnection => _connection;

    /// <summary>The client's clock (recipes time leases with it).</summary>
    internal TimeProvider Time => _time;

    /// <summary>
    /// The <see cref="TimeProvider.GetTimestamp"/> of the last frame received from any server of this session: the
    /// open connection's last frame, else the last one recorded when a connection ended. Recipes bound leadership
    /// leases with it (the server expires the session no earlier than the session timeout after its last contact).
    /// </summary>
    internal long LastServerContactTimestamp
    {
        get
        {
            var recorded = Interlocked.Read(ref _lastContact);
            return _connection is { } c ? Math.Max(recorded, c.LastReceiveTimestamp) : recorded;
        }
    }

    internal void ObserveZxid(long zxid)
    {
        // Only the read loop writes, one connection at a time; readers use Interlocked.Read.
        if (zxid > _lastZxid)
        {
            Interlocked.Exchange(ref _lastZxid, zxid);
        }
    }

    internal void OnProtocolViolation(HostAndPort server, Exception exception) => Log.ProtocolViolation(_logger, server.ToString(), exception);

    internal void OnNotification(ref JuteReader reader) => OnNotification(ref reader, counted: 1);

    // `only` (a rehearsal): of the watchers the table yields, call that one alone.
    private void OnNotification(ref JuteReader reader, int counted, Action<WatchedEvent>? only = null)
    {
        var type = (EventType)reader.ReadInt();
        var state = (KeeperState)reader.ReadInt();
        var path = reader.ReadPath(_chrootBytes) ?? throw new ZooKeeperProtocolException("notification without a path");
        _metrics.WatchEvent(counted);
        var watchers = _watches.Materialize(type, path);
        if (only is not null && watchers is not null)
        {
            watchers = watchers.Contains(only) ? [only] : null;
        }

        if (watchers is not null)
        {
            Post(new DispatchItem(new WatchedEvent(type, state, path), null, watchers, null));
        }
    }

    /// <summary>
    /// Runs a <see cref="EventType.NodeDeleted"/> notification for <paramref name="path"/> through the code a server's
    /// notification runs (parse, watch table, dispatcher thread, <paramref name="watcher"/>), for a recipe's start-up
    /// warm-up: a process's first real notification otherwise pays for first-use work there (runtime type loads and
    /// method binding, measured up to ~1.5 ms on a cold process). The watch is registered locally only, so nothing is
    /// sent and no server watch exists for it; pass a path nothing else watches. Not counted as a watch event.
    /// </summary>
    internal void RehearseNotification(string path, Action<WatchedEvent> watcher) => Rehearse(path, EventType.NodeDeleted, watcher, alone: false);

    /// <summary>
    /// Like <see cref="RehearseNotification(string, Action{WatchedEvent})"/>, for a <see cref="EventType.NodeDataChanged"/>
    /// notification that reaches <paramref name="watcher"/> alone: the watch table is consulted as for a server
    /// notification (including its walk up the ancestors for persistent-recursive watches, which a subtree watcher's
    /// real notifications take), but the other watchers it finds there (an application's recursive watch on an
    /// ancestor, or <paramref name="watcher"/>'s own found twice) are not called, so the rehearsal reaches nobody else.
    /// Pass a unique path no one-shot watch is set on. Not counted as a watch event; nothing is sent.
    /// </summary>
    internal void RehearseDataChange(string path, Action<WatchedEvent> watcher) => Rehearse(path, EventType.NodeDataChanged, watcher, alone: true);

    private void Rehearse(string path, EventType type, Action<WatchedEvent> watcher, bool alone)
    {
        _watches.Add(WatchRegistration.Data, path, watcher);
        var serverPath = Encoding.UTF8.GetBytes(_chroot is null ? path : _chroot + path);
        var frame = new byte[12 + serverPath.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, (int)type);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(4), (int)KeeperState.SyncConnected);
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(8), serverPath.Length);
        serverPath.CopyTo(frame.AsSpan(12));
        var reader = new JuteReader(frame);
        OnNotification(ref reader, counted: 0, alone ? watcher : null);
    }

    internal void OnAuthReply(Request? waiter, ErrorCode error, ZooKeeperConnection connection)
    {
        if (error == ErrorCode.Ok)
        {
            waiter?.TryComplete();
            return;
        }

        var exception = ZooKeeperException.Create(error);
        waiter?.TryComplete(exception);
        if (error == ErrorCode.AuthFailed)
        {
            Log.AuthFailed(_logger, waiter?.AuthScheme ?? "(replayed)");
            EnterTerminal(ZooKeeperState.AuthFailed, new AuthFailedException(null, $"{connection.Server} rejected an authentication packet."));
        }
    }

    /// <summary>Parses a reply into its request and completes it. Runs on the read loop; a parse error propagates (protocol violation).</summary>
    internal void OnReply(Request r, ErrorCode error, ref JuteReader reader)
    {
        if (r.IsCompleted)
        {
            // Cancelled by its caller while outstanding: the reply is consumed and dropped, the stream stays in step.
            return;
        }

        if (r.StartTimestamp != 0)
        {
            _metrics.RecordDuration(r.OpCode, _time.GetElapsedTime(r.StartTimestamp));
        }

        if (error != ErrorCode.Ok)
        {
            if (error == ErrorCode.NoNode && r.OpCode == OpCode.Exists)
            {
                // exists() on a missing node arms a creation watch on the server.
                if (r.Watcher is not null)
                {
                    _watches.Add(WatchRegistration.Data, r.Path!, r.Watcher, exists: false);
                }

                r.TryComplete();
                return;
            }

            if (r.OpCode == OpCode.SetWatches2)
            {
                Log.SetWatchesFailed(_logger, error);
            }

            if (error == ErrorCode.Unimplemented && r.OpCode == OpCode.CreateTtl)
            {
                r.TryComplete(new UnimplementedException(r.Path, $"Creating TTL node {r.Path} failed: the server answered Unimplemented ({(int)error}); TTL nodes need a 3.5.3+ server started with -Dzookeeper.extendedTypesEnabled=true."));
                return;
            }

            r.TryComplete(ZooKeeperException.Create(error, r.Path));
            return;
        }

        switch (r.OpCode)
        {
            case OpCode.Create2:
            case OpCode.CreateContainer:
            case OpCode.CreateTtl:
                r.ResultPath = reader.ReadPath(_chrootBytes);
                r.Stat = reader.ReadStat();
                break;
            case OpCode.Exists:
            case OpCode.SetData:
            case OpCode.SetAcl:
                r.Stat = reader.ReadStat();
                r.HasStat = true;
                break;
            case OpCode.GetData:
                r.ResultData = reader.ReadBuffer();
                r.Stat = reader.ReadStat();
                break;
            case OpCode.GetChildren2:
                r.ResultStrings = reader.ReadStringVector();
                r.Stat = reader.ReadStat();
                break;
            case OpCode.GetAcl:
                r.ResultAcl = reader.ReadAclVector();
                r.Stat = reader.ReadStat();
                break;
            case OpCode.GetEphemerals:
                var ephemerals = reader.ReadStringVector() ?? [];
                if (_chrootBytes.Length > 0)
                {
                    for (var i = 0; i < ephemerals.Count; i++)
                    {
                        ephemerals[i] = StripChroot(ephemerals[i]);
                    }
                }

                r.ResultStrings = ephemerals;
                break;
            case OpCode.GetAllChildrenNumber:
                r.ResultInt = reader.ReadInt();
                break;
            case OpCode.Multi:
                if (!ParseMulti(r, ref reader))
                {
                    return;
                }

                break;
            default:
                // delete, sync, addWatch, removeWatches, setWatches2, closeSession: nothing the caller needs.
                break;
        }

        if (r.Watcher is not null && r.Registration != WatchRegistration.None)
        {
            _watches.Add(r.Registration, r.Path!, r.Watcher);
        }

        r.TryComplete();
    }

    private static bool IsTerminal(ZooKeeperState state) => state is ZooKeeperState.Expired or ZooKeeperState.AuthFailed or ZooKeeperState.Closed;

    private static IReadOnlyList<Acl> ValidateAcl(IReadOnlyList<Acl> acl)
    {
        ArgumentNullException.ThrowIfNull(acl);
        if (acl.Count == 0)
        {
            throw new ArgumentException("An ACL needs at least one entry.", nameof(acl));
        }

        return acl;
    }

    private bool ParseMulti(Request r, ref JuteReader reader)
    {
        var results = new List<OpResult>(r.Ops!.Count);
        var failed = -1;
        var failedCode = ErrorCode.Ok;
        while (true)
        {
            var type = (OpCode)reader.ReadInt();
            var done = reader.ReadBool();
            reader.ReadInt(); // header err; the error record carries the code
            if (done)
            {
                break;
            }

            switch (type)
            {
                case OpCode.Create:
                    results.Add(new OpResult.Create(reader.ReadPath(_chrootBytes)!, default));
                    break;
                case OpCode.Create2:
                case OpCode.CreateContainer:
                case OpCode.CreateTtl:
                    var path = reader.ReadPath(_chrootBytes)!;
                    results.Add(new OpResult.Create(path, reader.ReadStat()));
                    break;
                case OpCode.Delete:
                    results.Add(DeleteResult);
                    break;
                case OpCode.SetData:
                    results.Add(new OpResult.SetData(reader.ReadStat()));
                    break;
                case OpCode.Check:
                    results.Add(CheckResult);
                    break;
                case OpCode.Error:
                    var code = (ErrorCode)reader.ReadInt();
                    if (code != ErrorCode.Ok && failed < 0)
                    {
                        failed = results.Count;
                        failedCode = code;
                    }

                    results.Add(new OpResult.Failure(code));
                    break;
                default:
                    throw new ZooKeeperProtocolException($"unexpected result type {(int)type} in a multi reply");
            }
        }

        if (results.Count != r.Ops.Count)
        {
            throw new ZooKeeperProtocolException($"multi reply has {results.Count} results for {r.Ops.Count} operations");
        }

        if (failed >= 0)
        {
            var exception = ZooKeeperException.Create(failedCode, r.Ops[failed].Path);
            exception.MultiResults = results;
            exception.FailedOperationIndex = failed;
            r.TryComplete(exception);
            return false;
        }

        r.ResultOps = results;
        return true;
    }

    private string StripChroot(string serverPath)
    {
        if (_chroot is null || !serverPath.StartsWith(_chroot, StringComparison.Ordinal))
        {
            return serverPath;
        }

        if (serverPath.Length == _chroot.Length)
        {
            return "/";
        }

        return serverPath[_chroot.Length] == '/' ? serverPath[_chroot.Length..] : serverPath;
    }

    private Request Rent(OpCode op, string? path)
    {
        Request? r;
        lock (_pool)
        {
            _pool.TryPop(out r);
        }

        r ??= new Request { Pool = _pool };
        r.Reset();
        r.OpCode = op;
        r.Path = path;
        return r;
    }

    private void Return(Request r)
    {
        r.ReleaseCancellation();
        lock (_pool)
        {
            if (_pool.Count < Request.PoolLimit)
            {
                _pool.Push(r);
            }
        }
    }

    private ValueTask Submit(Request r, CancellationToken cancellationToken) =>
        Enqueue(r, cancellationToken) ? r.AsValueTask() : ValueTask.FromCanceled(cancellationToken);

    /// <summary>
    /// Sends the request on this thread when the connection's writer is idle, else queues it for the writer; false (and
    /// nothing sent or queued) when the token is already cancelled.
    /// </summary>
    private bool Enqueue(Request r, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return false;
        }

        if (_metrics.DurationEnabled)
        {
            r.StartTimestamp = _time.GetTimestamp();
        }

        r.RegisterCancellation(cancellationToken);

        // Sent right here when the writer is idle (one thread-pool hop less per request; see ZooKeeperConnection).
        if (_connection is { } connection && connection.TrySendInline(r))
        {
            return true;
        }

        if (!_outgoing.Writer.TryWrite(r))
        {
            r.TryComplete(TerminalException(r.Path));
        }

        return true;
    }

    private Exception TerminalException(string? path)
    {
        ZooKeeperState state;
        Exception? error;
        lock (_stateLock)
        {
            state = _state;
            error = _terminalError;
        }

        return state switch
        {
            ZooKeeperState.Expired => new SessionExpiredException(path, error?.Message),
            ZooKeeperState.AuthFailed => new AuthFailedException(path, error?.Message),
            ZooKeeperState.Closed => new ObjectDisposedException(nameof(ZooKeeperClient), "The ZooKeeper client was closed."),
            _ => new ConnectionLossException(path, requestSent: false, "The client is closing."),
        };
    }

    private void Post(in DispatchItem item) => _events.Post(item);
}
