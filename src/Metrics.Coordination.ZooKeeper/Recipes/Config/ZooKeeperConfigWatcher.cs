using System.Collections.Immutable;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>
/// A typed cache of one znode (or a subtree) that stays current: level-triggered and coalescing, so a burst of writes
/// ends in one read of the latest version rather than a backlog of stale ones. After every reconnect and every new
/// session (the <see cref="RecoveringZooKeeperClient"/> replaces an expired one) it re-reads everything,
/// so changes made while it was disconnected are not lost. A version that fails to parse keeps the last good value and
/// is reported (<see cref="ParseFailed"/>, an Error log, the <c>zookeeper.recipe.parse_errors</c> counter and
/// <see cref="LastError"/>). <see cref="Changed"/> carries the old and new values with the node's Stat; events run in
/// order on the watcher's own loop (a thread-pool thread, never a ZooKeeper I/O loop or the client's event thread), and a
/// handler that throws is logged and counted.
/// </summary>
/// <typeparam name="T">The config type.</typeparam>
/// <remarks>
/// <para>
/// The contract is "eventually sees the latest version", not "sees every write": intermediate versions that were
/// overwritten before the watcher read them are skipped. A node deleted and re-created is noticed by its creation zxid,
/// even when its version is back to the old number.
/// </para>
/// <para>
/// Handlers run on the loop that reads the node, right after the read (no hand-off to another thread, which is what the
/// change-visible latency is made of). A handler that takes long holds up the next read: changes made meanwhile are
/// coalesced and read once it returns. A handler must not block waiting for this watcher's next change.
/// </para>
/// <para>
/// Once loaded, the watcher rehearses a change in the background (see <c>RehearseChange</c>): a notification runs
/// through the client's notification path and this watcher's, and the node is read again the way a real change reads
/// it. The read finds the version already held, so no event is raised, the parser is not called and nothing is
/// written; the server sees one more read. Without it, the first real change after start paid for first-use work on
/// the spot (30-55 methods compiled, about as many runtime types loaded and entry points bound; the first change took
/// 5-9 ms instead of 2-3 ms on a loaded 2-core machine, see benchmarks/README.md), and a config that rarely changes
/// sees little else.
/// </para>
/// </remarks>
public sealed class ZooKeeperConfigWatcher<T> : IAsyncDisposable
{
    private readonly RecoveringZooKeeperClient _source;
    private readonly string _path;
    private readonly ConfigWatchMode _mode;
    private readonly Func<ReadOnlyMemory<byte>, T> _parser;
    private readonly TimeSpan _retryDelay;
    private readonly Func<string, bool> _filter;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RecipeMetrics _metrics;
    private readonly string _recipeName;
    private readonly Action<WatchedEvent> _watcher;
    private readonly EventHandler<ZooKeeperStateChange> _stateHandler;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<bool> _wakeup = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly TaskCompletionSource _initialLoad = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _lock = new();
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);

    // Loop-owned state: last parsed Stat per path (also for versions that failed, so one bad version is reported once).
    private readonly Dictionary<string, Stat> _seen = new(StringComparer.Ordinal);
    // Values compared by reference: every version is a new ConfigNode, and SetItem's comparison of the old and the new
    // node then calls neither the record's member-wise Equals nor T's (user code, first compiled on the first update).
    private ImmutableDictionary<string, ConfigNode<T>> _nodes = ImmutableDictionary.Create<string, ConfigNode<T>>(StringComparer.Ordinal, ReferenceEqualityComparer.Instance);
    private ImmutableDictionary<string, ConfigParseError> _errors = ImmutableDictionary.Create<string, ConfigParseError>(StringComparer.Ordinal);
    private ConfigParseError? _lastError;
    private string? _resyncReason = "initial load";

    // Node mode: the re-read a notification starts at once on the client's event thread when the loop is idle
    // (OnWatch), so the getData round trip overlaps the loop's thread-pool wake-up instead of following it. Both are
    // guarded by _lock: a read is started only while the loop waits, and the loop takes it before issuing any read of
    // its own, so results are applied in the order the reads were sent (one session answers in order: never an older
    // version after a newer one). While the loop is busy, notifications only mark the node dirty (coalescing).
    private ValueTask<DataResult>? _prefetch;
    private bool _idle;
    private ZooKeeperClient? _client;
    private readonly Task _loop;

    // The start-up rehearsal (RehearseChange). _warmUpDue is the loop's; the rest is guarded by _lock: the notification
    // path that stands for a change of _rehearsalTarget until OnWatch has seen it, and whether the read it queued is
    // still to be taken by the loop (the round that takes it completes _warmedUp).
    private bool _warmUpDue = true;
    private string? _rehearsalPath;
    private string? _rehearsalTarget;
    private bool _rehearsalQueued;
    private readonly TaskCompletionSource _warmedUp = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates the watcher and starts loading; see <see cref="WaitForInitialLoadAsync(TimeSpan, CancellationToken)"/>.</summary>
    /// <param name="source">Where the watcher gets its (renewed) client.</param>
    /// <param name="options">The settings.</param>
    /// <exception cref="ArgumentException">The path is invalid or no parser was given.</exception>
    public ZooKeeperConfigWatcher(RecoveringZooKeeperClient source, ZooKeeperConfigWatcherOptions<T> options)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        PathValidation.Validate(options.Path, nameof(options));
        if (options.Parser is null)
        {
            throw new ArgumentException("A parser is required (see ConfigParsers for JSON and YAML).", nameof(options));
        }

        if (!Enum.IsDefined(options.Mode))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Mode, "Unknown watch mode.");
        }

        if (options.RetryDelay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.RetryDelay, "RetryDelay must not be negative.");
        }

        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentNullException.ThrowIfNull(options.LoggerFactory);
        _source = source;
        _path = options.Path;
        _mode = options.Mode;
        _parser = options.Parser;
        _retryDelay = options.RetryDelay;
        _filter = options.NodeFilter ?? (static _ => true);
        _time = options.TimeProvider;
        _logger = options.LoggerFactory.CreateLogger("Metrics.Coordination.ZooKeeper.Recipes.ZooKeeperConfigWatcher");
        _metrics = new RecipeMetrics(options.MeterFactory, options.RecipeName, _path);
        _recipeName = options.RecipeName;
        _watcher = OnWatch;
        _stateHandler = OnStateChanged;
        _loop = RunAsync();
    }

    /// <summary>A node changed (created, updated with a value that parsed, deleted). Raised in order on the watcher's loop.</summary>
    public event EventHandler<ConfigChange<T>>? Changed;

    /// <summary>A node version did not parse; the last good value stays. Raised on the watcher's loop.</summary>
    public event EventHandler<ConfigParseError>? ParseFailed;

    /// <summary>
    /// A full re-read finished (the initial load, and after each reconnect or new session): the cache matches the
    /// server as of that read. Raised on the watcher's loop after the changes it found; the argument says why.
    /// </summary>
    public event EventHandler<string>? Resynchronized;

    /// <summary>The watched path.</summary>
    public string Path => _path;

    /// <summary>The value of <see cref="Path"/> itself, or null when it is absent (or never parsed).</summary>
    public ConfigNode<T>? Current => _nodes.GetValueOrDefault(_path);

    /// <summary>Every cached node by path (in node mode at most one; in subtree mode every descendant with data that parsed).</summary>
    public IReadOnlyDictionary<string, ConfigNode<T>> Nodes => _nodes;

    /// <summary>The unresolved parse errors by path: versions that did not parse and were not since replaced or deleted.</summary>
    public IReadOnlyDictionary<string, ConfigParseError> Errors => _errors;

    /// <summary>The most recent parse error (kept after the node parses again; see <see cref="Errors"/> for the unresolved ones).</summary>
    public ConfigParseError? LastError => Volatile.Read(ref _lastError);

    /// <summary>Whether the initial load has finished.</summary>
    public bool IsLoaded => _initialLoad.Task.IsCompletedSuccessfully;

    /// <summary>Completes when the start-up rehearsal's read was applied (or the watcher was disposed first). For tests.</summary>
    internal Task WarmedUp => _warmedUp.Task;

    /// <summary>
    /// Waits until the first read of the node (or subtree) has finished and returns <see cref="Current"/> (null when
    /// the node does not exist).
    /// </summary>
    /// <exception cref="TimeoutException">Not loaded within <paramref name="timeout"/> (e.g. no server reachable).</exception>
    /// <exception cref="ZooKeeperConfigParseException">Node mode: the node exists but its first version does not parse.</exception>
    public async Task<ConfigNode<T>?> WaitForInitialLoadAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            await _initialLoad.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"The ZooKeeper config node {_path} was not loaded within {timeout.TotalSeconds:0.###} s.", ex);
        }

        var current = Current;
        if (current is null && _mode == ConfigWatchMode.Node && _errors.TryGetValue(_path, out var error))
        {
            throw new ZooKeeperConfigParseException(error);
        }

        return current;
    }

    /// <summary>Waits for the initial load without a timeout (until <paramref name="cancellationToken"/> fires).</summary>
    public Task<ConfigNode<T>?> WaitForInitialLoadAsync(CancellationToken cancellationToken = default) =>
        WaitForInitialLoadAsync(Timeout.InfiniteTimeSpan, cancellationToken);

    /// <summary>Stops watching: stops the loop (after a handler that is running returns) and removes the watch.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        _wakeup.Writer.TryComplete();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }

        if (_client is { } client)
        {
            client.StateChanged -= _stateHandler;
            if (client.State == ZooKeeperState.Connected)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2), _time);
                    await client.RemoveWatchesAsync(_path, _mode == ConfigWatchMode.Subtree ? WatcherType.PersistentRecursive : WatcherType.Any, _watcher, cancellationToken: timeout.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is ZooKeeperException or OperationCanceledException or ObjectDisposedException)
                {
                    // Best effort: a one-shot watch may have fired already; the session may be gone.
                }
            }
        }

        _initialLoad.TrySetCanceled();
        _warmedUp.TrySetResult();
        _metrics.Dispose();
    }

    private void OnWatch(WatchedEvent e)
    {
        if (e.Type == EventType.None)
        {
            // Connection changes come through StateChanged too; a None/SyncConnected after a gap asks for a re-read.
            if (e.State == KeeperState.SyncConnected && e.EventsMayHaveBeenMissed)
            {
                RequestResync("reconnected");
            }
            else if (e.State is KeeperState.Expired or KeeperState.Closed or KeeperState.AuthFailed)
            {
                RequestResync("session ended");
            }

            return;
        }

        if (e.Type is EventType.DataWatchRemoved or EventType.ChildWatchRemoved or EventType.PersistentWatchRemoved)
        {
            return;
        }

        lock (_lock)
        {
            var path = e.Path ?? _path;
            if (_rehearsalPath is not null && string.Equals(path, _rehearsalPath, StringComparison.Ordinal))
            {
                // The start-up rehearsal: it stands for a change of the node it names (RehearseChange).
                path = _rehearsalTarget!;
                _rehearsalPath = null;
                _rehearsalQueued = true;
            }

            if (_mode == ConfigWatchMode.Node && _idle && _resyncReason is null && _prefetch is null && !_stop.IsCancellationRequested
                && Volatile.Read(ref _client) is { State: ZooKeeperState.Connected } client)
            {
                // No user code under the lock. getData queues the request for the client's writer or, the writer being
                // idle, sends it right here on the event thread (a small frame into a socket buffer with room, bounded
                // by the send timeout: ZooKeeperConnection.TrySendInline); either way in submission order.
                _idle = false;
                _prefetch = client.GetDataAsync(_path, _watcher, _stop.Token);
            }
            else
            {
                _dirty.Add(_mode == ConfigWatchMode.Node ? _path : path);
            }
        }

        _wakeup.Writer.TryWrite(true);
    }

    private void OnStateChanged(object? sender, ZooKeeperStateChange change)
    {
        if (change.IsConnected && change.Previous == ZooKeeperState.Suspended)
        {
            RequestResync("reconnected");
        }
        else if (change.IsTerminal)
        {
            RequestResync("session ended");
        }
    }

    private void RequestResync(string reason)
    {
        lock (_lock)
        {
            _resyncReason ??= reason;
        }

        _wakeup.Writer.TryWrite(true);
    }

    private async Task RunAsync()
    {
        await Task.Yield();
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            string? resync;
            List<string>? dirty = null;
            ValueTask<DataResult>? prefetch;
            bool rehearsed;
            lock (_lock)
            {
                _idle = false;
                rehearsed = _rehearsalQueued;
                _rehearsalQueued = false;
                prefetch = _prefetch;
                _prefetch = null;
                resync = _resyncReason;
                _resyncReason = null;
                if (resync is null && _dirty.Count > 0)
                {
                    dirty = [.. _dirty];
                }

                _dirty.Clear();
            }

            try
            {
                if (prefetch is { } read && !await ApplyPrefetchAsync(read).ConfigureAwait(false) && resync is null)
                {
                    dirty = [_path];
                }

                var client = await CurrentClientAsync(token).ConfigureAwait(false);
                if (client is null)
                {
                    return;
                }

                if (!ReferenceEquals(client, _client))
                {
                    resync ??= "new session";
                    if (_client is { } previous)
                    {
                        previous.StateChanged -= _stateHandler;
                    }

                    Volatile.Write(ref _client, client);
                    client.StateChanged += _stateHandler;
                    _metrics.Session();
                    CoordinationRecipeLog.ConfigSessionStarted(_logger, _path, _mode, client.SessionId);
                    if (_mode == ConfigWatchMode.Subtree)
                    {
                        // Watch first, then read: a change between the two is seen twice at worst, never missed.
                        await client.AddWatchAsync(_path, _watcher, AddWatchMode.PersistentRecursive, token).ConfigureAwait(false);
                    }
                }

                if (resync is not null)
                {
                    await ResyncAsync(client, token).ConfigureAwait(false);
                    _metrics.Resync();
                    CoordinationRecipeLog.ConfigResynced(_logger, _path, resync, _nodes.Count);
                    _initialLoad.TrySetResult();
                    Raise(nameof(Resynchronized), Resynchronized, resync);
                }
                else if (dirty is not null)
                {
                    foreach (var path in dirty)
                    {
                        await RefreshAsync(client, path, token).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is ZooKeeperException or ObjectDisposedException)
            {
                // Connection loss or a session that ended mid-read: re-read everything once the client is usable again.
                CoordinationRecipeLog.ConfigConnectionProblem(_logger, _path, ex);
                RequeueAll(resync, dirty);
                if (!await WaitUsableAsync(token).ConfigureAwait(false))
                {
                    return;
                }

                continue;
            }
            catch (Exception ex)
            {
                CoordinationRecipeLog.ConfigLoopFailed(_logger, _path, _retryDelay.TotalMilliseconds, ex);
                RequeueAll(resync ?? "retry after failure", dirty);
                await Task.Delay(_retryDelay, _time, token).ConfigureAwait(false);
                continue;
            }
            finally
            {
                if (rehearsed)
                {
                    _warmedUp.TrySetResult();
                }
            }

            // Idle only when nothing is pending; a wake-up token left from work already done is dropped first.
            _wakeup.Reader.TryRead(out _);
            lock (_lock)
            {
                if (_resyncReason is not null || _dirty.Count > 0 || _prefetch is not null)
                {
                    continue;
                }

                _idle = true;
            }

            // Idle for the first time after the initial load: the moment a real change would find the loop in.
            if (_warmUpDue && _initialLoad.Task.IsCompletedSuccessfully && _client is { State: ZooKeeperState.Connected } loaded)
            {
                _warmUpDue = false;
                RehearseChange(loaded);
            }

            if (!await _wakeup.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    /// <summary>
    /// The start-up warm-up: a change notification for a node already held, run through the real code (the client's
    /// notification parse, watch table and dispatcher thread, <see cref="OnWatch"/>, in node mode the getData it starts
    /// at once with the watch re-armed, in subtree mode the loop's <see cref="RefreshAsync"/>, then
    /// <see cref="Apply"/>), so that the first real change does not pay for compiling and loading it. The notification
    /// is local (<see cref="ZooKeeperClient.RehearseDataChange"/>: nothing sent, no server watch, no other watcher
    /// called) and names a unique path below ours that <see cref="OnWatch"/> maps to the node it stands for: in node
    /// mode ours, in subtree mode a cached node (or ours). The read finds the version already held (Apply skips it: no
    /// event, no parse); a version written meanwhile is a real change and is reported as one. A node that is absent
    /// is read as absent (no event either). Re-arming the one-shot watch in node mode adds no server watch: the server
    /// keeps one per session and path.
    /// </summary>
    private void RehearseChange(ZooKeeperClient client)
    {
        var target = _mode == ConfigWatchMode.Node ? _path : _nodes.Keys.FirstOrDefault() ?? _path;
        var path = (_path == "/" ? string.Empty : _path) + "/.config-warm-up-" + Guid.NewGuid().ToString("N");
        lock (_lock)
        {
            _rehearsalPath = path;
            _rehearsalTarget = target;
        }

        client.RehearseDataChange(path, _watcher);
    }

    /// <summary>Applies a read started by <see cref="OnWatch"/>; false when the node was absent (the caller re-reads with an exists watch).</summary>
    private async ValueTask<bool> ApplyPrefetchAsync(ValueTask<DataResult> read)
    {
        try
        {
            var result = await read.ConfigureAwait(false);
            Apply(_path, result.Data, result.Stat);
            return true;
        }
        catch (NoNodeException)
        {
            return false;
        }
    }

    private void RequeueAll(string? resync, List<string>? dirty)
    {
        lock (_lock)
        {
            _resyncReason ??= resync ?? "reconnected";
            if (dirty is not null)
            {
                _dirty.UnionWith(dirty);
            }
        }
    }

    /// <summary>The client to use, or null when the holder was disposed.</summary>
    private async Task<ZooKeeperClient?> CurrentClientAsync(CancellationToken token)
    {
        try
        {
            return await RecipeClient.GetLiveClientAsync(_source, _time, token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ZooKeeperException or ObjectDisposedException && !token.IsCancellationRequested)
        {
            CoordinationRecipeLog.ConfigStopped(_logger, _path, ex);
            _initialLoad.TrySetException(ex);
            return null;
        }
    }

    /// <summary>After a failure: waits until the current client is connected again, or has ended (a new one comes next).</summary>
    private async Task<bool> WaitUsableAsync(CancellationToken token)
    {
        var client = _client;
        if (client is null || RecipeClient.IsTerminal(client.State))
        {
            return !token.IsCancellationRequested;
        }

        try
        {
            await client.WaitUntilConnectedAsync(token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ZooKeeperException or ObjectDisposedException)
        {
            // Ended: the next round takes a new client from the source.
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return false;
        }

        return true;
    }

    private async Task ResyncAsync(ZooKeeperClient client, CancellationToken token)
    {
        if (_mode == ConfigWatchMode.Node)
        {
            await RefreshAsync(client, _path, token).ConfigureAwait(false);
            return;
        }

        var found = new List<(string Path, byte[] Data, Stat Stat)>();
        await WalkAsync(client, _path, found, token).ConfigureAwait(false);

        // Applied after the walk, parents first, on this loop only (the walk's reads complete concurrently).
        found.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (path, data, stat) in found)
        {
            seen.Add(path);
            Apply(path, data, stat);
        }

        foreach (var path in _seen.Keys.Concat(_nodes.Keys).Where(p => !seen.Contains(p)).Distinct().ToList())
        {
            Absent(path);
        }
    }

    private async Task WalkAsync(ZooKeeperClient client, string path, List<(string Path, byte[] Data, Stat Stat)> found, CancellationToken token)
    {
        DataResult data;
        ChildrenResult children;
        try
        {
            data = await client.GetDataAsync(path, null, token).ConfigureAwait(false);
            children = await client.GetChildrenAsync(path, null, token).ConfigureAwait(false);
        }
        catch (NoNodeException)
        {
            return;
        }

        if (data.Data.Length > 0 && _filter(path))
        {
            lock (found)
            {
                found.Add((path, data.Data, data.Stat));
            }
        }

        if (children.Children.Count == 0)
        {
            return;
        }

        var prefix = path == "/" ? "/" : path + "/";
        var walks = new Task[children.Children.Count];
        for (var i = 0; i < walks.Length; i++)
        {
            walks[i] = WalkAsync(client, prefix + children.Children[i], found, token);
        }

        await Task.WhenAll(walks).ConfigureAwait(false);
    }

    /// <summary>Reads one node (node mode: re-arming the watch) and applies what it finds.</summary>
    private async Task RefreshAsync(ZooKeeperClient client, string path, CancellationToken token)
    {
        var watch = _mode == ConfigWatchMode.Node ? _watcher : null;
        while (true)
        {
            try
            {
                var result = await client.GetDataAsync(path, watch, token).ConfigureAwait(false);
                if (_mode == ConfigWatchMode.Subtree && (result.Data.Length == 0 || !_filter(path)))
                {
                    Absent(path);
                }
                else
                {
                    Apply(path, result.Data, result.Stat);
                }

                return;
            }
            catch (NoNodeException)
            {
                if (watch is not null && await client.ExistsAsync(path, watch, token).ConfigureAwait(false) is not null)
                {
                    // Created between the two reads: the exists watch is armed, read it now.
                    continue;
                }

                Absent(path);
                return;
            }
        }
    }

    private void Apply(string path, byte[] data, Stat stat)
    {
        if (_seen.TryGetValue(path, out var seen) && seen.Czxid == stat.Czxid && seen.Mzxid == stat.Mzxid)
        {
            return; // This version was handled already (parsed or reported).
        }

        _seen[path] = stat;
        _nodes.TryGetValue(path, out var old);
        T value;
        try
        {
            value = _parser(data);
        }
        catch (Exception ex)
        {
            var error = new ConfigParseError(path, stat, ex);
            ImmutableInterlocked.Update(ref _errors, (e, v) => e.SetItem(v.Path, v), error);
            Volatile.Write(ref _lastError, error);
            _metrics.ParseError();
            CoordinationRecipeLog.ConfigParseFailed(_logger, path, stat.Version, data.Length, old?.Stat.Version, ex);
            Raise(nameof(ParseFailed), ParseFailed, error);
            return;
        }

        var node = new ConfigNode<T>(path, value, stat);
        ImmutableInterlocked.Update(ref _nodes, (n, v) => n.SetItem(v.Path, v), node);
        ImmutableInterlocked.Update(ref _errors, (e, p) => e.Remove(p), path);
        var kind = old is null ? ConfigChangeKind.Created : ConfigChangeKind.Updated;
        Report(new ConfigChange<T>(path, kind, old, node));
    }

    private void Absent(string path)
    {
        _seen.Remove(path);
        ImmutableInterlocked.Update(ref _errors, (e, p) => e.Remove(p), path);
        if (_nodes.TryGetValue(path, out var old))
        {
            ImmutableInterlocked.Update(ref _nodes, (n, p) => n.Remove(p), path);
            Report(new ConfigChange<T>(path, ConfigChangeKind.Deleted, old, null));
        }
    }

    private void Report(ConfigChange<T> change)
    {
        _metrics.Change();
        var stat = (change.NewValue ?? change.OldValue)!.Stat;
        CoordinationRecipeLog.ConfigChanged(_logger, change.Path, change.Kind, stat.Version, stat.Mzxid);
        Raise(nameof(Changed), Changed, change);
    }

    /// <summary>
    /// Runs an event's handlers on the loop itself (the caller), after the state they describe is visible: no hop to
    /// another thread between the read and the handler. A handler that throws is logged and counted.
    /// </summary>
    private void Raise<TArgs>(string name, EventHandler<TArgs>? handler, TArgs args)
    {
        if (handler is null)
        {
            return;
        }

        try
        {
            handler(this, args);
        }
        catch (Exception ex)
        {
            _metrics.HandlerError();
            CoordinationRecipeLog.HandlerFailed(_logger, _recipeName, name, ex);
        }
    }
}
