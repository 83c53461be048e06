using Metrics.Coordination.Shared;
using Metrics.Coordination.ZooKeeper.Recipes.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>The session of a <see cref="RecoveringZooKeeperClient"/> was replaced after it expired.</summary>
/// <param name="ExpiredSessionId">The session that expired.</param>
/// <param name="Client">The new client, connected with a new session.</param>
public sealed record ZooKeeperSessionReplaced(long ExpiredSessionId, ZooKeeperClient Client);

/// <summary>
/// Holds one <see cref="ZooKeeperClient"/> at a time and replaces it with a new one (a new session) when its session
/// expires — a <see cref="ZooKeeperClient"/> is terminal after expiry. Recipes (<see cref="LeaderLatch"/>,
/// <see cref="LeaderSelector"/>, ...) take this holder so they recover by themselves: on
/// <see cref="SessionReplaced"/> they re-create their nodes with the new session. Replacement is retried with a
/// jittered backoff (50 ms doubling to 2 s) until it succeeds or the holder is disposed.
/// </summary>
public sealed class RecoveringZooKeeperClient : IAsyncDisposable
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);

    private readonly Func<CancellationToken, Task<ZooKeeperClient>> _factory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _disposing = new();
    private readonly Lock _lock = new();
    private ZooKeeperClient _current;
    private TaskCompletionSource<ZooKeeperClient> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _replacing = Task.CompletedTask;
    private int _sessions = 1;
    private int _disposed;
    private int _rehearsalClaimed;

    private RecoveringZooKeeperClient(ZooKeeperClient first, Func<CancellationToken, Task<ZooKeeperClient>> factory, ILoggerFactory loggerFactory, TimeProvider time)
    {
        _factory = factory;
        _logger = loggerFactory.CreateLogger("Metrics.Coordination.ZooKeeper.Recipes.RecoveringZooKeeperClient");
        _time = time;
        _current = first;
        _connected.TrySetResult(first);
        first.StateChanged += OnStateChanged;
    }

    /// <summary>
    /// A state change of the current client (raised on that client's dispatcher, in order with its watch events).
    /// The <c>Expired</c> change of a session is followed, once a new session is up, by <see cref="SessionReplaced"/>.
    /// </summary>
    public event EventHandler<ZooKeeperStateChange>? StateChanged;

    /// <summary>Raised (on a pool thread) after a new session replaced an expired one.</summary>
    public event EventHandler<ZooKeeperSessionReplaced>? SessionReplaced;

    /// <summary>
    /// Claims the start-up hand-over rehearsal of the leader latches on this client (one is enough: what it compiles and
    /// loads is the process's); false when another latch has it. <see cref="ReleaseRehearsal"/> gives it back when it
    /// could not run (not connected), so a later latch tries again.
    /// </summary>
    internal bool TryClaimRehearsal() => Interlocked.Exchange(ref _rehearsalClaimed, 1) == 0;

    /// <summary>Gives back the rehearsal claimed with <see cref="TryClaimRehearsal"/>.</summary>
    internal void ReleaseRehearsal() => Volatile.Write(ref _rehearsalClaimed, 0);

    /// <summary>The current client (its session may be suspended, or expired while a replacement is being opened).</summary>
    public ZooKeeperClient Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    /// <summary>How many sessions were opened so far (1 + replacements).</summary>
    public int SessionCount => Volatile.Read(ref _sessions);

    /// <summary>
    /// Connects with <paramref name="options"/>; every replacement session uses the same options.
    /// </summary>
    /// <exception cref="ConnectionLossException">No server accepted a connection within the connect timeout.</exception>
    public static Task<RecoveringZooKeeperClient> ConnectAsync(ZooKeeperClientOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return ConnectAsync(ct => ZooKeeperClient.ConnectAsync(options, ct), options.LoggerFactory, options.TimeProvider, cancellationToken);
    }

    /// <summary>Connects with <paramref name="factory"/>, which is called again for every replacement session.</summary>
    /// <param name="factory">Opens a connected client.</param>
    /// <param name="loggerFactory">Where replacements are logged. Default: none.</param>
    /// <param name="timeProvider">The clock for retry delays. Default: <see cref="TimeProvider.System"/>.</param>
    /// <param name="cancellationToken">Cancels the first connection.</param>
    public static async Task<RecoveringZooKeeperClient> ConnectAsync(Func<CancellationToken, Task<ZooKeeperClient>> factory, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var first = await factory(cancellationToken).ConfigureAwait(false);
        return new RecoveringZooKeeperClient(first, factory, loggerFactory ?? NullLoggerFactory.Instance, timeProvider ?? TimeProvider.System);
    }

    /// <summary>The current client once its session is usable (waits through a replacement after expiry; not through a suspension).</summary>
    /// <exception cref="ObjectDisposedException">The holder was disposed.</exception>
    public Task<ZooKeeperClient> GetClientAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        Task<ZooKeeperClient> task;
        lock (_lock)
        {
            task = _connected.Task;
        }

        return task.WaitAsync(cancellationToken);
    }

    /// <summary>Stops replacing sessions and closes the current client (its ephemeral nodes go at once).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _disposing.CancelAsync().ConfigureAwait(false);
        try
        {
            await _replacing.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Disposed while replacing.
        }

        ZooKeeperClient current;
        lock (_lock)
        {
            current = _current;
            _connected.TrySetException(new ObjectDisposedException(nameof(RecoveringZooKeeperClient)));
        }

        current.StateChanged -= OnStateChanged;
        await current.DisposeAsync().ConfigureAwait(false);
        _disposing.Dispose();
    }

    private void OnStateChanged(object? sender, ZooKeeperStateChange change)
    {
        if (!ReferenceEquals(sender, Current))
        {
            return;
        }

        StateChanged?.Invoke(this, change);
        if (change.Current == ZooKeeperState.Expired && Volatile.Read(ref _disposed) == 0)
        {
            lock (_lock)
            {
                if (_connected.Task.IsCompleted)
                {
                    _connected = new TaskCompletionSource<ZooKeeperClient>(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                RecipeLog.SessionExpiredReplacing(_logger, change.SessionId);
                _replacing = ReplaceAsync((ZooKeeperClient)sender!, change.SessionId);
            }
        }
    }

    private async Task ReplaceAsync(ZooKeeperClient expired, long expiredSession)
    {
        await Task.Yield();
        var token = _disposing.Token;
        for (var attempt = 1; ; attempt++)
        {
            ZooKeeperClient fresh;
            try
            {
                fresh = await _factory(token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!token.IsCancellationRequested)
            {
                var delay = Backoff.Delay(FirstRetryDelay, MaxRetryDelay, attempt);
                RecipeLog.SessionReplaceFailed(_logger, attempt, delay.TotalMilliseconds, ex);
                await Task.Delay(delay, _time, token).ConfigureAwait(false);
                continue;
            }

            if (token.IsCancellationRequested)
            {
                await fresh.DisposeAsync().ConfigureAwait(false);
                return;
            }

            TaskCompletionSource<ZooKeeperClient> connected;
            lock (_lock)
            {
                _current = fresh;
                connected = _connected;
            }

            expired.StateChanged -= OnStateChanged;
            fresh.StateChanged += OnStateChanged;
            Interlocked.Increment(ref _sessions);
            RecipeLog.SessionReplaced(_logger, fresh.SessionId, expiredSession, attempt);
            await expired.DisposeAsync().ConfigureAwait(false);
            connected.TrySetResult(fresh);
            var replaced = new ZooKeeperSessionReplaced(expiredSession, fresh);
            foreach (var handler in SessionReplaced?.GetInvocationList() ?? [])
            {
                try
                {
                    ((EventHandler<ZooKeeperSessionReplaced>)handler)(this, replaced);
                }
                catch (Exception ex)
                {
                    RecipeLog.SessionHandlerFailed(_logger, ex);
                }
            }

            // The new session may have expired already (a very short timeout): its Expired change was ignored while
            // it was not current, so check once more.
            if (fresh.State == ZooKeeperState.Expired)
            {
                OnStateChanged(fresh, new ZooKeeperStateChange(ZooKeeperState.Expired, ZooKeeperState.Expired, fresh.SessionId, null, null));
            }

            return;
        }
    }
}
