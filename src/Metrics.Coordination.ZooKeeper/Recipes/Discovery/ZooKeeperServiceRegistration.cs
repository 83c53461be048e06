using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>
/// Keeps one service member registered: an ephemeral node in the serverset format (<c>member_&lt;seq&gt;</c>, what
/// Prometheus's <c>serverset_sd_configs</c> and Finagle read) or the Curator service-discovery format. The node lives as
/// long as the session; when the session expires (or someone deletes the node) the registration creates it again on
/// the next session. A create whose reply was lost to a connection drop is resolved by looking for this session's own
/// node with the same data before retrying, so no duplicate member is left behind. Deregister (or dispose) deletes it.
/// </summary>
public sealed class ZooKeeperServiceRegistration : IAsyncDisposable
{
    private const string MemberPrefix = "member_";

    private readonly RecoveringZooKeeperClient _source;
    private readonly ServiceFormat _format;
    private readonly string _parent;
    private readonly string _createPath;
    private readonly CreateMode _mode;
    private readonly Func<byte[]> _data;
    private readonly IReadOnlyList<Acl> _acl;
    private readonly TimeSpan _retryDelay = TimeSpan.FromMilliseconds(200);
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RecipeMetrics _metrics;
    private readonly RecipeEventDispatcher _dispatcher;
    private readonly Action<WatchedEvent> _watcher;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<string> _firstRegistered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private TaskCompletionSource _recheck = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _nodePath;
    private long _nodeSession;
    private ZooKeeperClient? _nodeClient;
    private int _registrations;
    private Task _loop = Task.CompletedTask;
    private int _deregistered;

    private ZooKeeperServiceRegistration(RecoveringZooKeeperClient source, ServiceRegistrationOptions options)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        PathValidation.Validate(options.Path, nameof(options));
        var endpoint = options.Endpoint ?? throw new ArgumentException("An endpoint is required.", nameof(options));
        ValidateEndpoint(endpoint, "Endpoint");
        foreach (var (name, e) in options.AdditionalEndpoints)
        {
            ArgumentException.ThrowIfNullOrEmpty(name, nameof(options));
            ValidateEndpoint(e, "AdditionalEndpoints." + name);
        }

        ArgumentNullException.ThrowIfNull(options.Acl);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentNullException.ThrowIfNull(options.LoggerFactory);
        _source = source;
        _format = options.Format;
        _acl = options.Acl;
        _time = options.TimeProvider;
        var prefix = options.Path == "/" ? string.Empty : options.Path;
        switch (options.Format)
        {
            case ServiceFormat.Serverset:
                ArgumentException.ThrowIfNullOrEmpty(options.Status, nameof(options));
                _parent = options.Path;
                _createPath = prefix + "/" + MemberPrefix;
                _mode = CreateMode.EphemeralSequential;
                var additional = options.AdditionalEndpoints.ToArray();
                var status = options.Status;
                var shard = options.Shard;
                var bytes = ServiceJson.WriteServerset(endpoint, additional, status, shard);
                _data = () => bytes;
                Member = new ServiceMember { Endpoint = endpoint, AdditionalEndpoints = additional.ToDictionary(StringComparer.Ordinal), Status = status, Shard = shard };
                break;
            case ServiceFormat.Curator:
                var name = options.ServiceName;
                ArgumentException.ThrowIfNullOrEmpty(name, nameof(options));
                var id = options.InstanceId ?? Guid.NewGuid().ToString();
                if (name.Contains('/', StringComparison.Ordinal) || id.Contains('/', StringComparison.Ordinal))
                {
                    throw new ArgumentException("ServiceName and InstanceId must not contain '/'.", nameof(options));
                }

                if (options.PayloadJson is { } payload)
                {
                    using var check = System.Text.Json.JsonDocument.Parse(payload);
                }

                if (options.UriSpec is { } spec)
                {
                    ServiceJson.ParseUriSpec(spec);
                }

                _parent = prefix + "/" + name;
                _createPath = _parent + "/" + id;
                PathValidation.Validate(_createPath, nameof(options));
                _mode = options.Sequential ? CreateMode.EphemeralSequential : CreateMode.Ephemeral;
                var (ssl, payloadJson, uri, sequential, time) = (options.SslPort, options.PayloadJson, options.UriSpec, options.Sequential, options.TimeProvider);

                // registrationTimeUTC is the time of each (re-)registration, as Curator writes it.
                _data = () => ServiceJson.WriteCurator(name, id, endpoint, ssl, payloadJson, time.GetUtcNow().ToUnixTimeMilliseconds(), sequential, uri);
                Member = new ServiceMember { Id = id, ServiceName = name, Endpoint = endpoint, SslPort = ssl, PayloadJson = payloadJson, UriSpec = uri, ServiceType = sequential ? "DYNAMIC_SEQUENTIAL" : "DYNAMIC" };
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Format, "Unknown service format.");
        }

        _logger = options.LoggerFactory.CreateLogger("Metrics.Coordination.ZooKeeper.Recipes.ZooKeeperServiceRegistration");
        _metrics = new RecipeMetrics(options.MeterFactory, "registration", _parent);
        _dispatcher = new RecipeEventDispatcher(_logger, "service registration", _metrics.HandlerError);
        _watcher = OnWatch;
    }

    /// <summary>The member node was (re-)created: its path. Raised on the registration's dispatcher.</summary>
    public event EventHandler<string>? Registered;

    /// <summary>
    /// The member node is gone without a deregistration (session expired, node deleted by someone else); a new one is
    /// being created. The argument is the lost path. Raised on the registration's dispatcher.
    /// </summary>
    public event EventHandler<string>? RegistrationLost;

    /// <summary>What is registered (path, id and Stat are those of the first registration's request, not filled).</summary>
    public ServiceMember Member { get; }

    /// <summary>The current member node's path, or null while (re-)registering.</summary>
    public string? NodePath
    {
        get
        {
            lock (_lock)
            {
                return _nodePath;
            }
        }
    }

    /// <summary>How many times the member node was created (1 + re-registrations).</summary>
    public int RegistrationCount => Volatile.Read(ref _registrations);

    /// <summary>
    /// Registers the member and returns once its node exists; the registration then keeps it registered until
    /// <see cref="DeregisterAsync"/> or <see cref="DisposeAsync"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="OperationCanceledException">Cancelled before the first registration (nothing stays registered).</exception>
    public static async Task<ZooKeeperServiceRegistration> RegisterAsync(RecoveringZooKeeperClient source, ServiceRegistrationOptions options, CancellationToken cancellationToken = default)
    {
        var registration = new ZooKeeperServiceRegistration(source, options);
        registration._loop = registration.RunAsync();
        try
        {
            await registration._firstRegistered.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            return registration;
        }
        catch
        {
            await registration.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops re-registering and deletes the member node (its watchers, e.g. Prometheus, see it leave at once).</summary>
    public async Task DeregisterAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _deregistered, 1) != 0)
        {
            return;
        }

        _stop.Cancel();
        Signal();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        string? path;
        ZooKeeperClient? client;
        lock (_lock)
        {
            path = _nodePath;
            client = _nodeClient;
            _nodePath = null;
        }

        if (path is not null && client is not null && client.SessionId == _nodeSession && !RecipeClient.IsTerminal(client.State))
        {
            // Delete is idempotent here: a retry after a lost reply finds NoNode.
            for (var attempt = 0; attempt < 3; attempt++)
            {
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(client.SessionTimeout);
                    await client.WaitUntilConnectedAsync(timeout.Token).ConfigureAwait(false);
                    await client.DeleteAsync(path, -1, timeout.Token).ConfigureAwait(false);
                    CoordinationRecipeLog.Deregistered(_logger, path);
                    break;
                }
                catch (NoNodeException)
                {
                    break;
                }
                catch (Exception ex) when (ex is ZooKeeperException { IsTransient: true } or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    CoordinationRecipeLog.DeregisterRetry(_logger, path, ex);
                }
                catch (Exception ex) when (ex is ZooKeeperException or ObjectDisposedException)
                {
                    // The session ended: its ephemeral node goes with it.
                    break;
                }
            }
        }

        _firstRegistered.TrySetCanceled();
        await _dispatcher.DisposeAsync().ConfigureAwait(false);
        _metrics.Dispose();
    }

    /// <summary>Deregisters (see <see cref="DeregisterAsync"/>).</summary>
    public async ValueTask DisposeAsync() => await DeregisterAsync().ConfigureAwait(false);

    private static void ValidateEndpoint(ServiceEndpoint endpoint, string what)
    {
        ArgumentNullException.ThrowIfNull(endpoint, what);
        if (string.IsNullOrEmpty(endpoint.Host) || endpoint.Port is < 0 or > 65535)
        {
            throw new ArgumentException($"{what} needs a host and a port in 0-65535 (got '{endpoint.Host}', {endpoint.Port}).", what);
        }
    }

    private void OnWatch(WatchedEvent e)
    {
        if (e.Type is EventType.NodeDeleted or EventType.NodeCreated or EventType.NodeDataChanged
            || (e.Type == EventType.None && (e.State != KeeperState.Disconnected || e.EventsMayHaveBeenMissed)))
        {
            Signal();
        }
    }

    private void Signal()
    {
        lock (_lock)
        {
            _recheck.TrySetResult();
        }
    }

    private async Task RunAsync()
    {
        await Task.Yield();
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            ZooKeeperClient client;
            try
            {
                client = await RecipeClient.GetLiveClientAsync(_source, _time, token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ZooKeeperException or ObjectDisposedException && !token.IsCancellationRequested)
            {
                CoordinationRecipeLog.RegistrationStopped(_logger, _parent, ex);
                _firstRegistered.TrySetException(ex);
                return;
            }

            try
            {
                await client.WaitUntilConnectedAsync(token).ConfigureAwait(false);
                Task recheck;
                lock (_lock)
                {
                    _recheck = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    recheck = _recheck.Task;
                }

                string path;
                lock (_lock)
                {
                    path = _nodePath is not null && _nodeSession == client.SessionId ? _nodePath : string.Empty;
                }

                if (path.Length > 0)
                {
                    // Still ours? (exists also re-arms the watch that wakes us on deletion or a session change)
                    var stat = await client.ExistsAsync(path, _watcher, token).ConfigureAwait(false);
                    if (stat is { } s && s.EphemeralOwner == client.SessionId)
                    {
                        await recheck.WaitAsync(token).ConfigureAwait(false);
                        continue;
                    }

                    Lost(path, "the member node was deleted");
                    continue;
                }

                string? previous;
                lock (_lock)
                {
                    previous = _nodePath;
                }

                if (previous is not null)
                {
                    Lost(previous, "the session that owned it ended");
                }

                var created = await CreateAsync(client, token).ConfigureAwait(false);
                lock (_lock)
                {
                    _nodePath = created;
                    _nodeSession = client.SessionId;
                    _nodeClient = client;
                }

                var count = Interlocked.Increment(ref _registrations);
                _metrics.Session();
                CoordinationRecipeLog.Registered(_logger, created, client.SessionId, count);
                _dispatcher.Post("Registered", () => Registered?.Invoke(this, created));
                _firstRegistered.TrySetResult(created);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is ZooKeeperException or ObjectDisposedException)
            {
                // Connection loss: the next round waits for the reconnect. Session ended: the next round gets a new one.
                CoordinationRecipeLog.RegistrationRetry(_logger, _parent, ex);
                if (ex is ZooKeeperException { IsTransient: true } && !RecipeClient.IsTerminal(client.State))
                {
                    await Task.Delay(_retryDelay, _time, token).ConfigureAwait(false);
                }
            }
        }
    }

    private void Lost(string path, string reason)
    {
        lock (_lock)
        {
            _nodePath = null;
        }

        CoordinationRecipeLog.RegistrationLost(_logger, path, reason);
        _dispatcher.Post("RegistrationLost", () => RegistrationLost?.Invoke(this, path));
    }

    /// <summary>
    /// Creates the member node. The create itself is never abandoned by cancellation: its reply (or its connection
    /// loss) is awaited, so a stop never leaves a node this object does not know about.
    /// </summary>
    private async Task<string> CreateAsync(ZooKeeperClient client, CancellationToken token)
    {
        var data = _data();
        var ambiguous = false;
        while (true)
        {
            token.ThrowIfCancellationRequested();
            if (ambiguous)
            {
                await client.WaitUntilConnectedAsync(token).ConfigureAwait(false);
                if (await FindOwnAsync(client, data).ConfigureAwait(false) is { } adopted)
                {
                    CoordinationRecipeLog.Adopted(_logger, adopted);
                    return adopted;
                }

                ambiguous = false;
            }

            try
            {
                var result = await client.CreateAsync(_createPath, data, _mode, _acl, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                return result.Path;
            }
            catch (NoNodeException)
            {
                await EnsureParentsAsync(client, _parent).ConfigureAwait(false);
            }
            catch (NodeExistsException) when (_mode == CreateMode.Ephemeral)
            {
                // Curator deletes and re-creates an existing instance node so that watchers see the registration.
                var stat = await client.ExistsAsync(_createPath, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                if (stat is { } s && s.EphemeralOwner == client.SessionId)
                {
                    await client.SetDataAsync(_createPath, data, -1, CancellationToken.None).ConfigureAwait(false);
                    return _createPath;
                }

                try
                {
                    await client.DeleteAsync(_createPath, -1, CancellationToken.None).ConfigureAwait(false);
                }
                catch (NoNodeException)
                {
                    // Gone already.
                }
            }
            catch (ConnectionLossException ex) when (ex.RequestSent)
            {
                // The create may have happened: look for our node before creating another one.
                ambiguous = true;
            }
        }
    }

    /// <summary>This session's member node carrying exactly <paramref name="data"/>, if a lost create made one.</summary>
    private async Task<string?> FindOwnAsync(ZooKeeperClient client, byte[] data)
    {
        if (_mode == CreateMode.Ephemeral)
        {
            var stat = await client.ExistsAsync(_createPath, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            return stat is { } s && s.EphemeralOwner == client.SessionId ? _createPath : null;
        }

        var prefix = _createPath;
        foreach (var path in await client.GetEphemeralsAsync(_parent, CancellationToken.None).ConfigureAwait(false))
        {
            if (!path.StartsWith(prefix, StringComparison.Ordinal) || path.IndexOf('/', prefix.Length) >= 0)
            {
                continue;
            }

            try
            {
                var existing = await client.GetDataAsync(path, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                if (existing.Data.AsSpan().SequenceEqual(data))
                {
                    return path;
                }
            }
            catch (NoNodeException)
            {
                // Deleted meanwhile.
            }
        }

        return null;
    }

    /// <summary>Creates every missing ancestor of <paramref name="path"/> and the path itself as containers (Curator's creatingParentContainersIfNeeded).</summary>
    private static async Task EnsureParentsAsync(ZooKeeperClient client, string path)
    {
        var index = 0;
        while (index < path.Length)
        {
            var next = path.IndexOf('/', index + 1);
            var current = next < 0 ? path : path[..next];
            try
            {
                await client.CreateAsync(current, ReadOnlyMemory<byte>.Empty, CreateMode.Container, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            }
            catch (NodeExistsException)
            {
                // Already there.
            }

            if (next < 0)
            {
                break;
            }

            index = next;
        }
    }
}
