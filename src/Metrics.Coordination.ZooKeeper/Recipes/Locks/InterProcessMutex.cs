using Metrics.Coordination.ZooKeeper.Recipes.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>Settings of an <see cref="InterProcessMutex"/> or <see cref="InterProcessReadWriteLock"/>.</summary>
public sealed class InterProcessLockOptions
{
    /// <summary>The data of each lock node (Curator stores the client's address). Default: empty.</summary>
    public ReadOnlyMemory<byte> NodeData { get; set; }

    /// <summary>The clock for acquire timeouts. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the lock logs. Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;
}

/// <summary>
/// A distributed lock compatible with Curator's <c>InterProcessMutex</c>: protected ephemeral-sequential nodes
/// <c>_c_&lt;uuid&gt;-lock-&lt;seq&gt;</c> under the lock path (so ours and Curator's contend in one queue), the
/// first in Curator's order holds it, and every waiter watches only the node just before it (no herd). A create lost
/// to a connection drop is adopted by its UUID, never duplicated; a timed-out or cancelled acquire deletes its node.
/// </summary>
/// <remarks>
/// <para><b>Owner.</b> In async .NET code a thread is not an owner (continuations hop threads, and one thread serves
/// many logical flows), so ownership is the <see cref="InterProcessLockHandle"/> an acquire returns. Reentrancy is
/// explicit: <see cref="Reenter"/> with a held handle counts one more hold on it without touching ZooKeeper; the node
/// is deleted when every hold is released. Whoever has the handle owns the lock; do not share it between concurrent
/// flows that must exclude each other.</para>
/// <para><b>Safety.</b> A lock held through ZooKeeper is a lease: when the connection is suspended or the session
/// expires, another process may acquire it. The handle's <see cref="InterProcessLockHandle.LostToken"/> is cancelled
/// at the first sign of that (suspension, expiry, our node deleted); stop the guarded work then, and use
/// <see cref="InterProcessLockHandle.FencingToken"/> where the guarded resource can refuse a stale holder.</para>
/// </remarks>
public sealed class InterProcessMutex
{
    private readonly RecoveringZooKeeperClient _client;
    private readonly string _lockName;
    private readonly Func<IReadOnlyList<string>, string, (bool Acquired, string? Watch)> _decide;
    private readonly Func<IEnumerable<string>, List<string>> _sort;
    private readonly ReadOnlyMemory<byte> _data;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>A mutex on <paramref name="path"/> (created as a container when missing).</summary>
    /// <exception cref="ArgumentException">The path is invalid.</exception>
    public InterProcessMutex(RecoveringZooKeeperClient client, string path, InterProcessLockOptions? options = null)
        : this(client, path, ContenderNames.LockName, null, null, options)
    {
    }

    internal InterProcessMutex(
        RecoveringZooKeeperClient client,
        string path,
        string lockName,
        Func<IEnumerable<string>, List<string>>? sort,
        Func<IReadOnlyList<string>, string, (bool Acquired, string? Watch)>? decide,
        InterProcessLockOptions? options)
    {
        ArgumentNullException.ThrowIfNull(client);
        PathValidation.Validate(path, nameof(path));
        options ??= new InterProcessLockOptions();
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentNullException.ThrowIfNull(options.LoggerFactory);
        _client = client;
        Path = path;
        _lockName = lockName;
        _sort = sort ?? (children => ContenderNames.Sort(children, lockName));
        _decide = decide ?? StandardDecision;
        _data = options.NodeData.ToArray();
        _time = options.TimeProvider;
        _logger = options.LoggerFactory.CreateLogger("Metrics.Coordination.ZooKeeper.Recipes.InterProcessMutex");
    }

    /// <summary>The lock path (the parent of the contender nodes).</summary>
    public string Path { get; }

    /// <summary>Waits until the lock is acquired (or <paramref name="cancellationToken"/> fires: the node is deleted).</summary>
    /// <exception cref="OperationCanceledException">Cancelled; no node of ours is left in the queue.</exception>
    public async Task<InterProcessLockHandle> AcquireAsync(CancellationToken cancellationToken = default) =>
        (await AcquireCoreAsync(Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false))!;

    /// <summary>
    /// Tries to acquire within <paramref name="timeout"/>; null when it did not (the node is deleted, nothing stays
    /// queued). <see cref="TimeSpan.Zero"/> takes the lock only if it is free now.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled; no node of ours is left in the queue.</exception>
    public Task<InterProcessLockHandle?> TryAcquireAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must not be negative.");
        }

        return AcquireCoreAsync(timeout, cancellationToken);
    }

    /// <summary>
    /// Counts one more hold on <paramref name="held"/> (reentrancy for its owner): no ZooKeeper round trip; the lock
    /// is released when the handle has been released as many times as it was acquired and re-entered.
    /// </summary>
    /// <exception cref="ArgumentException">The handle belongs to another lock.</exception>
    /// <exception cref="InvalidOperationException">The handle was released or its lock was lost.</exception>
    public InterProcessLockHandle Reenter(InterProcessLockHandle held)
    {
        ArgumentNullException.ThrowIfNull(held);
        if (!ReferenceEquals(held.Lock, this))
        {
            throw new ArgumentException("The handle belongs to another lock.", nameof(held));
        }

        held.AddHold();
        return held;
    }

    internal static (bool Acquired, string? Watch) StandardDecision(IReadOnlyList<string> sorted, string ourName)
    {
        var (index, predecessor) = ContenderNames.FindPredecessor(sorted, ourName);
        return index switch
        {
            < 0 => throw new NoNodeException(ourName),
            0 => (true, null),
            _ => (false, predecessor),
        };
    }

    private async Task<InterProcessLockHandle?> AcquireCoreAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        TimeSpan Remaining() => timeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : timeout - _time.GetElapsedTime(started);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var client = await RecipeClient.GetLiveClientAsync(_client, _time, cancellationToken).ConfigureAwait(false);
            var id = Guid.NewGuid();
            CreateResult created;
            try
            {
                created = await ProtectedCreate.CreateAsync(client, Path, _lockName, id, _data, CreateMode.EphemeralSequential, _logger, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SessionExpiredException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
            {
                continue; // The session ended mid-create; its node (if any) died with it. Queue again on the next one.
            }

            var ourName = ContenderNames.NodeName(created.Path);
            var acquired = false;
            try
            {
                var outcome = await WaitInQueueAsync(client, ourName, Remaining, cancellationToken).ConfigureAwait(false);
                if (outcome is null)
                {
                    continue; // The session ended while queued: start over with a new one.
                }

                if (outcome == false)
                {
                    CoordinationRecipeLog.LockTimedOut(_logger, created.Path, timeout.TotalMilliseconds);
                    return null;
                }

                acquired = true;
                CoordinationRecipeLog.LockAcquired(_logger, created.Path, created.Stat.Czxid);
                return new InterProcessLockHandle(this, client, created.Path, created.Stat.Czxid, _logger);
            }
            finally
            {
                if (!acquired)
                {
                    // Timeout, cancellation or failure: leave nothing in the queue (retried while the session lives).
                    await ProtectedCreate.GuaranteedDeleteAsync(client, created.Path, CancellationToken.None).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>True: acquired. False: timed out. Null: the session ended (our node is gone with it).</summary>
    private async Task<bool?> WaitInQueueAsync(ZooKeeperClient client, string ourName, Func<TimeSpan> remaining, CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var children = await client.GetChildrenAsync(Path, cancellationToken: cancellationToken).ConfigureAwait(false);
                var sorted = _sort(children.Children);
                if (!sorted.Contains(ourName))
                {
                    // Our node vanished: our session expired (or someone deleted it). Not ours to hold.
                    return RecipeClient.IsTerminal(client.State) ? null : throw new NoNodeException(ContenderNames.JoinPath(Path, ourName));
                }

                var (gotIt, watch) = _decide(sorted, ourName);
                if (gotIt)
                {
                    return true;
                }

                var left = remaining();
                if (left != Timeout.InfiniteTimeSpan && left <= TimeSpan.Zero)
                {
                    return false;
                }

                // Watch only the node that must go before us; a getData watch (not exists) leaves nothing armed
                // when it is already gone (NoNode: re-list at once), as Curator does.
                var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                try
                {
                    await client.GetDataAsync(ContenderNames.JoinPath(Path, watch!), _ => gone.TrySetResult(), cancellationToken).ConfigureAwait(false);
                }
                catch (NoNodeException)
                {
                    continue;
                }

                try
                {
                    await gone.Task.WaitAsync(left, _time, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    return false;
                }
            }
            catch (ZooKeeperException ex) when (ex.IsTransient && !RecipeClient.IsTerminal(client.State))
            {
                try
                {
                    await client.WaitUntilConnectedAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception terminal) when (terminal is ZooKeeperException or ObjectDisposedException)
                {
                    return null;
                }
            }
            catch (Exception ex) when (ex is SessionExpiredException or ObjectDisposedException || (ex is ZooKeeperException && RecipeClient.IsTerminal(client.State)))
            {
                return null;
            }
        }
    }
}

/// <summary>
/// A held <see cref="InterProcessMutex"/> (or read/write lock side): the owner. Release it (or dispose it) once per
/// acquire and per <see cref="InterProcessMutex.Reenter"/>; the node is deleted at the last release.
/// </summary>
public sealed class InterProcessLockHandle : IAsyncDisposable
{
    private readonly ZooKeeperClient _client;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _lost = new();
    private readonly Lock _lock = new();
    private readonly EventHandler<ZooKeeperStateChange> _stateHandler;
    private int _holds = 1;
    private string? _lostReason;

    internal InterProcessLockHandle(InterProcessMutex owner, ZooKeeperClient client, string path, long fencingToken, ILogger logger)
    {
        Lock = owner;
        _client = client;
        NodePath = path;
        FencingToken = fencingToken;
        SessionId = client.SessionId;
        _logger = logger;
        _stateHandler = OnStateChanged;
        client.StateChanged += _stateHandler;
        if (client.State != ZooKeeperState.Connected || client.SessionId != SessionId)
        {
            MarkLost($"the client was {client.State} when the lock was granted");
        }
        else
        {
            _ = WatchNodeAsync();
        }
    }

    /// <summary>The lock this handle holds.</summary>
    public InterProcessMutex Lock { get; }

    /// <summary>The lock node's path.</summary>
    public string NodePath { get; }

    /// <summary>The lock node's creation zxid: increases with every new holder, so a resource can refuse an older one.</summary>
    public long FencingToken { get; }

    /// <summary>The session that holds the lock.</summary>
    public long SessionId { get; }

    /// <summary>How many holds are outstanding (1 + re-entries − releases).</summary>
    public int HoldCount
    {
        get
        {
            lock (_lock)
            {
                return _holds;
            }
        }
    }

    /// <summary>Whether the lock can no longer be trusted (see <see cref="LostToken"/>).</summary>
    public bool IsLost => _lost.IsCancellationRequested;

    /// <summary>Why the lock was lost, or null.</summary>
    public string? LostReason => Volatile.Read(ref _lostReason);

    /// <summary>
    /// Cancelled when the lock is no longer safe: the connection was suspended (another process may acquire it if the
    /// session then expires), the session expired, or the lock node was deleted. Guarded work should stop.
    /// </summary>
    public CancellationToken LostToken => _lost.Token;

    /// <summary>Releases one hold; at the last one deletes the lock node (retrying connection losses while the session lives).</summary>
    /// <exception cref="InvalidOperationException">Released more often than acquired.</exception>
    public async Task ReleaseAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (_holds == 0)
            {
                throw new InvalidOperationException($"The lock {NodePath} was already released.");
            }

            if (--_holds > 0)
            {
                return;
            }
        }

        _client.StateChanged -= _stateHandler;
        await ProtectedCreate.GuaranteedDeleteAsync(_client, NodePath, cancellationToken).ConfigureAwait(false);
        CoordinationRecipeLog.LockReleased(_logger, NodePath);

    }

    /// <summary>Releases every remaining hold (the lock node is deleted).</summary>
    public async ValueTask DisposeAsync()
    {
        int holds;
        lock (_lock)
        {
            holds = _holds;
            _holds = Math.Min(_holds, 1);
        }

        if (holds > 0)
        {
            await ReleaseAsync().ConfigureAwait(false);
        }
    }

    internal void AddHold()
    {
        lock (_lock)
        {
            if (_holds == 0)
            {
                throw new InvalidOperationException($"The lock {NodePath} was released.");
            }

            if (IsLost)
            {
                throw new InvalidOperationException($"The lock {NodePath} was lost: {LostReason}");
            }

            _holds++;
        }
    }

    private void OnStateChanged(object? sender, ZooKeeperStateChange change)
    {
        if (change.Current is ZooKeeperState.Suspended or ZooKeeperState.Expired or ZooKeeperState.Closed or ZooKeeperState.AuthFailed)
        {
            MarkLost($"the ZooKeeper client became {change.Current}");
        }
    }

    private async Task WatchNodeAsync()
    {
        try
        {
            var stat = await _client.ExistsAsync(NodePath, e =>
            {
                if (e.Type == EventType.NodeDeleted)
                {
                    MarkLost("the lock node was deleted");
                }
            }).ConfigureAwait(false);
            if (stat is null)
            {
                MarkLost("the lock node was deleted");
            }
        }
        catch (Exception ex) when (ex is ZooKeeperException or ObjectDisposedException)
        {
            // A connection problem is reported through the state change.
        }
    }

    private void MarkLost(string reason)
    {
        lock (_lock)
        {
            if (_holds == 0 || _lostReason is not null)
            {
                return;
            }

            _lostReason = reason;
        }

        CoordinationRecipeLog.LockLost(_logger, NodePath, reason);
        try
        {
            _lost.Cancel();
        }
        catch (AggregateException ex)
        {
            CoordinationRecipeLog.HandlerFailed(_logger, "lock", "LostToken", ex);
        }
    }
}
