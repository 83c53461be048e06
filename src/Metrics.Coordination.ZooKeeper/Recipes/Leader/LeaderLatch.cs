using System.Text;
using System.Threading.Channels;
using Metrics.Coordination.ZooKeeper.Recipes.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>
/// Leader election compatible with Curator's <c>LeaderLatch</c>: each contender creates a protected
/// ephemeral-sequential child <c>_c_&lt;uuid&gt;-latch-&lt;seq&gt;</c> of <see cref="LeaderLatchOptions.Path"/> (data =
/// participant id); the first in Curator's order leads; every other contender watches only its predecessor (and the
/// leader and the second in line their own node, which wakes no one else), so a deletion wakes one contender.
/// </summary>
/// <remarks>
/// <para>
/// Leadership holds only while our node exists, was created by the current session, is first, and the connection is
/// connected (or, with <see cref="LeaderSuspensionPolicy.KeepUntilSessionTimeout"/>, suspended for less than the
/// session timeout since the last server contact). It is never carried across a session change: after expiry a new
/// session (see <see cref="RecoveringZooKeeperClient"/>) contends with a new node and a new fencing token.
/// </para>
/// <para>
/// All election work runs on one loop per latch fed by a channel (connection changes, watch events, session
/// replacement, close), so a reconnect and a children list can never interleave (the cause of Curator's
/// double-leader reports CURATOR-504/620/644). <see cref="HasLeadership"/> is also cut at once by the ZooKeeper
/// dispatcher on a suspension, before the loop catches up. Listener callbacks are delivered in order on a separate
/// dispatcher, so a slow listener never delays the election.
/// </para>
/// <para>
/// After its first check the first latch of a client rehearses a hand-over once, in the background, so that the process's first real
/// take-over or close does not pay for first-use work (JIT compiling, type loading) on the spot: the next contender
/// and the server would otherwise wait for it. The rehearsal sends one <c>exists</c> of the election path and one
/// delete of a node under it that does not exist (the server answers NoNode); it creates nothing, leaves no watch and
/// calls no listener.
/// </para>
/// </remarks>
public sealed class LeaderLatch : IAsyncDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);

    private readonly RecoveringZooKeeperClient _holder;
    private readonly string _path;
    private readonly string _lockName;
    private readonly string _participantId;
    private readonly byte[] _data;
    private readonly LeaderLatchCloseMode _closeMode;
    private readonly LeaderSuspensionPolicy _policy;
    private readonly bool _watchTwoAhead;

    // A rehearsal latch (see WarmUpAsync) never contends: it takes over from an imaginary predecessor and closes.
    private readonly bool _rehearsal;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    // Synchronous continuations: an event posted while the loop waits runs the loop inline on the posting thread (the
    // ZooKeeper dispatcher for a watch event) up to its first await, which saves a thread hop on the hand-over path
    // (a predecessor's deletion → our getChildren is sent from the dispatcher). Events posted by the loop itself never
    // run inline (the loop is not waiting then). Listener callbacks keep their own asynchronous dispatcher.
    private readonly Channel<LatchEvent> _events = Channel.CreateUnbounded<LatchEvent>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = true });
    private readonly Channel<Callback> _callbacks = Channel.CreateUnbounded<Callback>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private readonly List<TaskCompletionSource<LeaderTerm>> _waiters = [];
    private readonly Action<WatchedEvent> _nodeWatcher;
    private ILeaderLatchListener[] _listeners = [];
    private Task _loop = Task.CompletedTask;
    private Task _dispatch = Task.CompletedTask;
    private int _started;
    private int _closed;
    private long _listenerErrors;

    // Read by HasLeadership on any thread.
    private volatile LeaderTerm? _term;
    private volatile ZooKeeperClient? _termClient;
    private volatile bool _connected;

    // Owned by the loop.
    private ZooKeeperClient? _client;
    private string? _ourPath;
    private long _ourCzxid;
    private Guid? _pendingId;
    private string? _watchedPredecessor;

    // Only with LeaderLatchOptions.WatchTwoAhead: the node two places ahead (watched from the third place back); its
    // deletion makes us second in line, and a check then arms the take-over (see TakeOverFrom) before our predecessor
    // leaves. By default a contender watches only its predecessor and learns that it moved up when that one goes.
    private string? _watchedAhead;
    private TakeOver? _takeOver;
    private ITimer? _leaseTimer;

    // The term whose suspension lease ran out (set by the lease timer). The client's own expiry timer runs out at about
    // the same instant and its event can reach the loop first; the term still ended because its lease elapsed.
    private volatile LeaderTerm? _leaseElapsedTerm;
    private bool _checkQueued;

    /// <summary>Creates a latch (not started) on <paramref name="client"/>.</summary>
    /// <exception cref="ArgumentException">The path is missing or invalid.</exception>
    public LeaderLatch(RecoveringZooKeeperClient client, LeaderLatchOptions options)
        : this(client, CheckOptions(options).Path, options.ParticipantId, ContenderNames.LatchName, options.CloseMode, options.SuspensionPolicy, options.LoggerFactory, options.TimeProvider, options.WatchTwoAhead)
    {
    }

    internal LeaderLatch(RecoveringZooKeeperClient client, string path, string participantId, string lockName, LeaderLatchCloseMode closeMode, LeaderSuspensionPolicy policy, ILoggerFactory loggerFactory, TimeProvider time, bool watchTwoAhead = false, bool rehearsal = false)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(participantId);
        PathValidation.Validate(path, nameof(path));
        if (!Enum.IsDefined(closeMode) || !Enum.IsDefined(policy))
        {
            throw new ArgumentOutOfRangeException(nameof(policy), "Unknown close mode or suspension policy.");
        }

        _holder = client;
        _path = path;
        _lockName = lockName;
        _participantId = participantId;
        _data = Encoding.UTF8.GetBytes(participantId);
        _closeMode = closeMode;
        _policy = policy;
        _watchTwoAhead = watchTwoAhead;
        _rehearsal = rehearsal;
        _time = time;
        _logger = loggerFactory.CreateLogger("Metrics.Coordination.ZooKeeper.Recipes.LeaderLatch");
        _nodeWatcher = OnNodeEvent;
    }

    /// <summary>The election path.</summary>
    public string Path => _path;

    /// <summary>The start-up warm-up (see <see cref="WarmUpAsync"/>) once it has begun; never faults. For tests.</summary>
    internal Task WarmedUp { get; private set; } = Task.CompletedTask;

    /// <summary>
    /// Once this latch's warm-up ended: whether it ran the hand-over rehearsal (the first latch of its client does);
    /// null before. For tests.
    /// </summary>
    internal bool? Rehearsed { get; private set; }

    /// <summary>The participant id.</summary>
    public string ParticipantId => _participantId;

    /// <summary>
    /// Whether this contender leads right now: a term is running, and the connection is connected with a server heard
    /// from within two thirds of the session timeout (the client's own liveness bound), or — with
    /// <see cref="LeaderSuspensionPolicy.KeepUntilSessionTimeout"/> — suspended for less than the session timeout since
    /// the last server contact. Check it right before acting; protect the resource itself with <see cref="FencingToken"/>.
    /// </summary>
    public bool HasLeadership
    {
        get
        {
            var term = _term;
            var client = _termClient;
            if (term is null || client is null || !term.IsActive)
            {
                return false;
            }

            var silent = client.Time.GetElapsedTime(client.LastServerContactTimestamp);
            if (_connected && client.State == ZooKeeperState.Connected)
            {
                return silent < client.SessionTimeout * 2 / 3;
            }

            return _policy == LeaderSuspensionPolicy.KeepUntilSessionTimeout
                && client.State == ZooKeeperState.Suspended
                && silent < client.SessionTimeout;
        }
    }

    /// <summary>The running term, or null when not leader.</summary>
    public LeaderTerm? CurrentTerm => _term is { IsActive: true } t ? t : null;

    /// <summary>The fencing token of the running term, or null when not leader.</summary>
    public long? FencingToken => CurrentTerm?.FencingToken;

    /// <summary>Our election node's path, or null while we have none.</summary>
    public string? NodePath => Volatile.Read(ref _ourPath);

    /// <summary>How many listener callbacks threw.</summary>
    public long ListenerErrors => Interlocked.Read(ref _listenerErrors);

    /// <summary>Adds a listener; callbacks arrive in order on the latch's dispatcher.</summary>
    public void AddListener(ILeaderLatchListener listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        lock (_lock)
        {
            _listeners = [.. _listeners, listener];
        }
    }

    /// <summary>Removes a listener.</summary>
    public void RemoveListener(ILeaderLatchListener listener)
    {
        lock (_lock)
        {
            _listeners = [.. _listeners.Where(l => !ReferenceEquals(l, listener))];
        }
    }

    /// <summary>Starts contending (returns at once; the node is created in the background).</summary>
    /// <exception cref="InvalidOperationException">Already started, or closed.</exception>
    public void Start()
    {
        if (Volatile.Read(ref _closed) != 0 || Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The latch was already started or closed.");
        }

        _holder.StateChanged += OnStateChanged;
        _holder.SessionReplaced += OnSessionReplaced;
        _dispatch = DispatchLoopAsync();
        _loop = RunAsync();
    }

    /// <summary>Waits until this contender leads and returns the term.</summary>
    /// <exception cref="ObjectDisposedException">The latch was closed (also while waiting).</exception>
    public Task<LeaderTerm> WaitForLeadershipAsync(CancellationToken cancellationToken = default)
    {
        TaskCompletionSource<LeaderTerm> waiter;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed) != 0, this);
            if (CurrentTerm is { } term)
            {
                return Task.FromResult(term);
            }

            waiter = new TaskCompletionSource<LeaderTerm>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add(waiter);
        }

        return waiter.Task.WaitAsync(cancellationToken);
    }

    /// <summary>The contenders in queue order (participant ids from the nodes' data; the first leads).</summary>
    public Task<IReadOnlyList<LeaderParticipant>> GetParticipantsAsync(CancellationToken cancellationToken = default) =>
        QueryParticipantsAsync(_holder, _path, _lockName, cancellationToken);

    /// <summary>The current leader (first contender), or null when there is none.</summary>
    public async Task<LeaderParticipant?> GetLeaderAsync(CancellationToken cancellationToken = default) =>
        (await GetParticipantsAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault();

    /// <summary>Closes with <see cref="LeaderLatchOptions.CloseMode"/>: ends leadership, deletes our node (the next contender takes over at once).</summary>
    public Task CloseAsync() => CloseAsync(_closeMode);

    /// <summary>Closes with <paramref name="mode"/>.</summary>
    public Task CloseAsync(LeaderLatchCloseMode mode)
    {
        // Not async up to the Close event: posting it runs the loop inline (synchronous continuations), which ends the
        // term and puts the delete on the wire before this returns. Keeping this part a plain method (rehearsed at
        // start, see WarmUpAsync) keeps first-use JIT off the hand-over.
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return _loop;
        }

        if (Volatile.Read(ref _started) == 0)
        {
            FailWaiters();
            return Task.CompletedTask;
        }

        _holder.StateChanged -= OnStateChanged;
        _holder.SessionReplaced -= OnSessionReplaced;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _events.Writer.TryWrite(new LatchEvent.Close(mode, done));
        return FinishCloseAsync();
    }

    /// <summary>Same as <see cref="CloseAsync()"/>.</summary>
    public async ValueTask DisposeAsync() => await CloseAsync().ConfigureAwait(false);

    private async Task FinishCloseAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _callbacks.Writer.TryComplete();
        await _dispatch.ConfigureAwait(false);
        FailWaiters();
        _stopping.Dispose();
    }

    /// <summary>Gives up leadership (or our place) and queues again at the back with a new node.</summary>
    internal void Requeue() => _events.Writer.TryWrite(new LatchEvent.Requeue());

    internal static async Task<IReadOnlyList<LeaderParticipant>> QueryParticipantsAsync(RecoveringZooKeeperClient holder, string path, string lockName, CancellationToken cancellationToken)
    {
        var client = await holder.GetClientAsync(cancellationToken).ConfigureAwait(false);
        ChildrenResult children;
        try
        {
            children = await client.GetChildrenAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (NoNodeException)
        {
            return [];
        }

        var result = new List<LeaderParticipant>();
        foreach (var child in ContenderNames.Sort(children.Children, lockName))
        {
            try
            {
                var data = await client.GetDataAsync(ContenderNames.JoinPath(path, child), cancellationToken: cancellationToken).ConfigureAwait(false);
                result.Add(new LeaderParticipant(Encoding.UTF8.GetString(data.Data), child, result.Count == 0));
            }
            catch (NoNodeException)
            {
                // Left meanwhile.
            }
        }

        return result;
    }

    private static LeaderLatchOptions CheckOptions(LeaderLatchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Path, nameof(options));
        return options;
    }

    private void OnStateChanged(object? sender, ZooKeeperStateChange change)
    {
        // Runs on the ZooKeeper dispatcher: cut leadership at once, then let the loop do the rest in order.
        if (change.Current != ZooKeeperState.Connected)
        {
            _connected = false;
            if (_policy == LeaderSuspensionPolicy.DropOnSuspended || change.IsTerminal)
            {
                _term?.End();
            }
        }

        _events.Writer.TryWrite(new LatchEvent.Connection(change));
    }

    private void OnSessionReplaced(object? sender, ZooKeeperSessionReplaced replaced) =>
        _events.Writer.TryWrite(new LatchEvent.NewSession(replaced.Client, replaced.ExpiredSessionId));

    private void OnNodeEvent(WatchedEvent e)
    {
        if (e.Type is EventType.NodeDeleted or EventType.NodeDataChanged or EventType.NodeCreated)
        {
            _events.Writer.TryWrite(new LatchEvent.Node(e));
        }
    }

    private void PostCheck()
    {
        if (!_checkQueued)
        {
            _checkQueued = true;
            _events.Writer.TryWrite(new LatchEvent.Check());
        }
    }

    private async Task RunAsync()
    {
        await Task.Yield();
        var token = _stopping.Token;
        try
        {
            _client = await _holder.GetClientAsync(token).ConfigureAwait(false);
            _connected = _client.State == ZooKeeperState.Connected;
            if (_rehearsal)
            {
                RehearseTakeOver(_client);
            }
            else
            {
                PostCheck();

                // After the first check (our node and place in the queue come first).
                _events.Writer.TryWrite(new LatchEvent.WarmUp());
            }
        }
        catch (OperationCanceledException)
        {
            // Closed before the first session.
        }

        await foreach (var e in _events.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            try
            {
                switch (e)
                {
                    case LatchEvent.Close close:
                        // BeginClose runs (and queues the delete) before CloseInLoopAsync is first called.
                        await CloseInLoopAsync(BeginClose(close.Mode)).ConfigureAwait(false);
                        close.Done.TrySetResult();
                        return;
                    case LatchEvent.WarmUp:
                        // In the background: the loop stays free for the election.
                        if (_client is { } warmClient)
                        {
                            WarmedUp = WarmUpAsync(warmClient, token);
                        }

                        break;
                    case LatchEvent.Check:
                        _checkQueued = false;
                        await CheckAsync(token).ConfigureAwait(false);
                        break;
                    case LatchEvent.Connection c:
                        await OnConnectionAsync(c.Change, token).ConfigureAwait(false);
                        break;
                    case LatchEvent.NewSession n:
                        await OnNewSessionAsync(n.Client, n.ExpiredSessionId, token).ConfigureAwait(false);
                        break;
                    case LatchEvent.Node n:
                        if (n.Event.Path is { } p && (p == _watchedPredecessor || p == _watchedAhead || p == _ourPath))
                        {
                            // Directly, not through the queue: this is the hand-over path.
                            if (n.Event.Type == EventType.NodeDeleted && _takeOver is { } t && t.Predecessor == p)
                            {
                                TakeOverFrom(t);
                            }
                            else
                            {
                                await CheckAsync(token).ConfigureAwait(false);
                            }
                        }

                        break;
                    case LatchEvent.LeaseExpired l:
                        if (ReferenceEquals(_term, l.Term) && !_connected)
                        {
                            EndTerm(LeadershipLossReason.SessionTimeoutElapsed, notify: true);
                        }

                        break;
                    case LatchEvent.Requeue:
                        _takeOver = null;
                        EndTerm(LeadershipLossReason.Requeued, notify: true);
                        if (_ourPath is { } old && _client is { } client)
                        {
                            _ourPath = null;
                            await ProtectedCreate.GuaranteedDeleteAsync(client, old, token).ConfigureAwait(false);
                        }

                        PostCheck();
                        break;
                    default:
                        break;
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Closing: the Close event is next.
            }
        }
    }

    private async Task OnConnectionAsync(ZooKeeperStateChange change, CancellationToken token)
    {
        // Any connection change: a reconnect re-arms watches with SetWatches2, whose catch-up notifications are not in
        // zxid order across watches, so the ordering TakeOverFrom relies on no longer holds for the list we kept.
        _takeOver = null;
        if (_client is null || change.SessionId != _client.SessionId)
        {
            return;
        }

        LeaderLog.ConnectionState(_logger, _path, change.Current);
        switch (change.Current)
        {
            case ZooKeeperState.Connected:
                // The live state, not the event's: a suspension may already be queued behind this event.
                _connected = _client.State == ZooKeeperState.Connected;
                _leaseTimer?.Dispose();
                _leaseTimer = null;
                if (_term is { IsActive: false })
                {
                    // Cut by the dispatcher while suspended: report it now, then re-check (usually leader again).
                    EndTerm(LeadershipLossReason.ConnectionSuspended, notify: true);
                }

                await CheckAsync(token).ConfigureAwait(false);
                break;
            case ZooKeeperState.Suspended:
                _connected = false;
                if (_term is { } term)
                {
                    if (_policy == LeaderSuspensionPolicy.DropOnSuspended)
                    {
                        EndTerm(LeadershipLossReason.ConnectionSuspended, notify: true);
                    }
                    else
                    {
                        var remaining = _client.SessionTimeout - _client.Time.GetElapsedTime(_client.LastServerContactTimestamp);
                        LeaderLog.KeepingWhileSuspended(_logger, _path, Math.Max(0, remaining.TotalMilliseconds));
                        if (remaining <= TimeSpan.Zero)
                        {
                            EndTerm(LeadershipLossReason.SessionTimeoutElapsed, notify: true);
                        }
                        else
                        {
                            _leaseTimer?.Dispose();
                            _leaseTimer = _client.Time.CreateTimer(
                                _ =>
                                {
                                    _leaseElapsedTerm = term;
                                    term.End();
                                    _events.Writer.TryWrite(new LatchEvent.LeaseExpired(term));
                                },
                                null,
                                remaining,
                                Timeout.InfiniteTimeSpan);
                        }
                    }
                }

                break;
            default:
                // Expired, closed, auth failed: the session (and with it our node) is gone for us.
                _connected = false;
                EndTerm(LeadershipLossReason.SessionExpired, notify: true);
                break;
        }
    }

    private async Task OnNewSessionAsync(ZooKeeperClient client, long expiredSession, CancellationToken token)
    {
        var old = _client;
        _client = client;
        _takeOver = null;
        _connected = client.State == ZooKeeperState.Connected;
        _leaseTimer?.Dispose();
        _leaseTimer = null;
        EndTerm(LeadershipLossReason.SessionExpired, notify: true);
        LeaderLog.NewSession(_logger, _path, expiredSession, client.SessionId);
        _watchedPredecessor = null;
        _watchedAhead = null;

        // Our old node may outlive the old session on the server for a while (the client declares expiry itself after
        // a full timeout without contact). Its name carries our UUID, so it is ours: delete it so it blocks no one.
        if (_ourPath is { } stale)
        {
            _ourPath = null;
            if (await ProtectedCreate.GuaranteedDeleteAsync(client, stale, token).ConfigureAwait(false))
            {
                LeaderLog.DeletedStaleNode(_logger, _path, stale);
            }
        }

        if (_pendingId is { } id)
        {
            _pendingId = null;
            await ProtectedCreate.DeleteByIdAsync(client, _path, id, _logger, token).ConfigureAwait(false);
        }

        _ = old;
        PostCheck();
    }

    /// <summary>One election step: make sure we have a node of this session, list, lead or watch the predecessor.</summary>
    private async Task CheckAsync(CancellationToken token)
    {
        _takeOver = null;
        var client = _client;
        if (client is null || !_connected || token.IsCancellationRequested || _rehearsal)
        {
            return;
        }

        try
        {
            if (_ourPath is null)
            {
                var id = Guid.NewGuid();
                _pendingId = id;
                var created = await ProtectedCreate.CreateAsync(client, _path, _lockName, id, _data, CreateMode.EphemeralSequential, _logger, token).ConfigureAwait(false);
                _pendingId = null;
                Volatile.Write(ref _ourPath, created.Path);
                _ourCzxid = created.Stat.Czxid;
                LeaderLog.NodeCreated(_logger, _path, created.Path, created.Stat.Czxid, client.SessionId);
            }

            var ourPath = _ourPath;
            var ourName = ContenderNames.NodeName(ourPath);
            var children = await client.GetChildrenAsync(_path, cancellationToken: token).ConfigureAwait(false);
            var sorted = ContenderNames.Sort(children.Children, _lockName);
            var (index, predecessor) = ContenderNames.FindPredecessor(sorted, ourName);
            if (index < 0)
            {
                LeaderLog.NodeVanished(_logger, _path, ourPath);
                EndTerm(LeadershipLossReason.NodeDeleted, notify: true);
                _ourPath = null;
                PostCheck();
                return;
            }

            if (index == 0)
            {
                // No RemoveWatches for the predecessor we watched: it is not in the list, so it was deleted and its
                // watch has fired (or its notification is on the way and is ignored), so there is nothing left to
                // remove on the server. Sending one anyway put a round trip (and, on a connection's first gated
                // operation, the server-version probe) in front of the leadership callback. The same holds for the
                // node two ahead.
                _watchedPredecessor = null;
                _watchedAhead = null;

                if (_term is { IsActive: true })
                {
                    return;
                }

                // The list came from this session's connection and holds our node, which this session created (the
                // client's session id never changes): lead, unless the connection dropped while we listed.
                if (!_connected || client.State != ZooKeeperState.Connected)
                {
                    return;
                }

                BeginTerm(client, ourPath);

                // Watch our own node: if anyone deletes it, leadership ends at once. Queued now, not awaited here: the
                // loop stays free, and the reply is handled by a method the warm-up ran (see WatchOwnNodeAsync).
                _ = WatchOwnNodeAsync(client, ourPath, _nodeWatcher, token);
                return;
            }

            EndTerm(LeadershipLossReason.NotFirst, notify: true);
            var predecessorPath = ContenderNames.JoinPath(_path, predecessor!);
            var aheadPath = _watchTwoAhead && index >= 2 ? ContenderNames.JoinPath(_path, sorted[index - 2]) : null;

            // Watches on nodes we no longer watch, and which still exist (a deleted node's watch has fired).
            foreach (var previous in (ReadOnlySpan<string?>)[_watchedPredecessor, _watchedAhead])
            {
                if (previous is not null && previous != predecessorPath && previous != aheadPath && sorted.Contains(ContenderNames.NodeName(previous)))
                {
                    ForgetWatch(client, previous);
                }
            }

            _watchedPredecessor = predecessorPath;
            _watchedAhead = aheadPath;
            LeaderLog.WatchingPredecessor(_logger, _path, index, predecessorPath);
            if (index == 1 && await client.ExistsAsync(ourPath, _nodeWatcher, token).ConfigureAwait(false) is null)
            {
                // Second in line: our own node is watched too (see TakeOverFrom). Gone already: start over.
                PostCheck();
                return;
            }

            try
            {
                // getData (not exists), like Curator: a predecessor already gone leaves no dangling watch behind.
                await client.GetDataAsync(predecessorPath, _nodeWatcher, token).ConfigureAwait(false);
                if (index == 1)
                {
                    // Our own list says the predecessor is first: its deletion makes us leader without a new list.
                    _takeOver = new TakeOver(client, ourPath, predecessorPath);
                }
                else if (aheadPath is not null)
                {
                    await client.GetDataAsync(aheadPath, _nodeWatcher, token).ConfigureAwait(false);
                }
            }
            catch (NoNodeException)
            {
                PostCheck();
            }
        }
        catch (ZooKeeperException ex) when (ex is ConnectionLossException or SessionExpiredException || ProtectedCreate.IsTerminal(client))
        {
            // The state change (reconnect, or a new session) triggers the next step.
        }
        catch (ObjectDisposedException)
        {
            // The client was replaced and closed; the new session triggers the next step.
        }
        catch (ZooKeeperException ex)
        {
            LeaderLog.StepFailed(_logger, _path, RetryDelay.TotalMilliseconds, ex);
            _ = RetryLaterAsync(token);
        }
    }

    /// <summary>
    /// The predecessor of a contender second in line was deleted: lead at once, without listing the children again
    /// (one round trip less on every hand-over). <see cref="TakeOver"/> is recorded only by a check whose list (read by
    /// this session after our node was created) had exactly one node before ours, the predecessor, and after both our
    /// node and the predecessor were watched; it is dropped by any later check, connection change, new session,
    /// requeue or close. Why our node is then first at the deletion's zxid <c>z</c>, i.e. what a fresh list would say:
    /// <list type="number">
    /// <item>Nothing that sorts before us was missing from the list: a node created before ours got a smaller sequence
    /// and was applied by our server before our create, hence before our list; nodes created after ours get larger
    /// sequences (the parent's cversion only grows), so under Curator's key (the 10 digits after <c>latch-</c>) they
    /// sort after us. (Two exceptions hold for the standard re-list too, whose leader never re-lists: the 32-bit
    /// sequence wrapping negative after 2^31 child changes under one parent, and foreign, explicitly named children.)
    /// So at <c>z</c> the only node before ours could have been the predecessor, which <c>z</c> deleted.</item>
    /// <item>Our node still exists at <c>z</c>: our exists-watch on it was armed while it existed, and the server sends
    /// one session's notifications in zxid order, which the client dispatches in order and this loop handles in order;
    /// a deletion of our node before <c>z</c> would have reached this loop first (and run a check, dropping this).
    /// Catch-up notifications after a reconnect are not in zxid order, but any connection change drops this first (the
    /// state change is dispatched before the catch-up notifications). Our session cannot have expired before
    /// <c>z</c>: an expired session receives no notifications.</item>
    /// <item>The node was created by this session (<see cref="TakeOver.Client"/> is the current client) and the
    /// connection is Connected right now, checked here as in <see cref="CheckAsync"/>.</item>
    /// </list>
    /// A check is queued right after as a safety net (it finds us first and changes nothing).
    /// </summary>
    private void TakeOverFrom(TakeOver takeOver)
    {
        _takeOver = null;
        _watchedPredecessor = null;
        _watchedAhead = null;
        var client = takeOver.Client;
        if (!ReferenceEquals(client, _client) || _ourPath != takeOver.OurPath || _term is { IsActive: true }
            || !_connected || client.State != ZooKeeperState.Connected)
        {
            PostCheck();
            return;
        }

        BeginTerm(client, takeOver.OurPath);
        PostCheck();
    }

    /// <summary>
    /// Removes our watch on a node we no longer care about (a predecessor that was passed over, or on close), so the
    /// server keeps no watch per departed contender. Best effort, not awaited: a leftover watch only costs one
    /// notification, which the loop ignores.
    /// </summary>
    private void ForgetWatch(ZooKeeperClient client, string path)
    {
        _ = RemoveAsync();

        async Task RemoveAsync()
        {
            try
            {
                await client.RemoveWatchesAsync(path, WatcherType.Data, _nodeWatcher).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ZooKeeperException or ObjectDisposedException)
            {
                // Already fired or gone, or not connected: nothing to clean.
            }
        }
    }

    private async Task RetryLaterAsync(CancellationToken token)
    {
        try
        {
            await Task.Delay(RetryDelay, _time, token).ConfigureAwait(false);
            _events.Writer.TryWrite(new LatchEvent.Check());
        }
        catch (OperationCanceledException)
        {
            // Closed.
        }
    }

    private void BeginTerm(ZooKeeperClient client, string ourPath)
    {
        var term = new LeaderTerm(_ourCzxid, ourPath, _participantId, client.SessionId, _time.GetUtcNow(), new CancellationTokenSource());
        _termClient = client;
        _term = term;
        _callbacks.Writer.TryWrite(new Callback(term, true, default));
        ReleaseWaiters(term);

        // After the listeners and waiters were released: an application logger's first message of a kind can cost a
        // first-use formatting path, which should not delay them.
        LeaderLog.BecameLeader(_logger, _path, _participantId, ourPath, term.FencingToken, client.SessionId);
    }

    private void ReleaseWaiters(LeaderTerm term)
    {
        TaskCompletionSource<LeaderTerm>[] waiters;
        lock (_lock)
        {
            if (_waiters.Count == 0)
            {
                return;
            }

            waiters = _waiters.ToArray();
            _waiters.Clear();
        }

        foreach (var waiter in waiters)
        {
            waiter.TrySetResult(term);
        }
    }

    /// <summary>
    /// Arms the exists-watch on our own node (a leader's, or with <paramref name="watcher"/> null, the warm-up's plain
    /// exists). A node already gone queues a check; a failed request is left to the connection change that follows, or
    /// retried later like a failed step.
    /// </summary>
    private async Task WatchOwnNodeAsync(ZooKeeperClient client, string path, Action<WatchedEvent>? watcher, CancellationToken token)
    {
        try
        {
            if (await client.ExistsAsync(path, watcher, token).ConfigureAwait(false) is null && watcher is not null)
            {
                _events.Writer.TryWrite(new LatchEvent.Check());
            }
        }
        catch (ZooKeeperException ex) when (ex is ConnectionLossException or SessionExpiredException || ProtectedCreate.IsTerminal(client))
        {
            // The state change (reconnect, or a new session) triggers the next step.
        }
        catch (Exception ex) when (ex is ObjectDisposedException or OperationCanceledException)
        {
            // Replaced or closing.
        }
        catch (ZooKeeperException ex) when (watcher is not null)
        {
            LeaderLog.StepFailed(_logger, _path, RetryDelay.TotalMilliseconds, ex);
            await RetryLaterAsync(token).ConfigureAwait(false);
        }
    }

    /// <summary>Ends the running term (if any) and returns the reason it ended with (null: there was none).</summary>
    private LeadershipLossReason? EndTerm(LeadershipLossReason reason, bool notify)
    {
        if (_term is not { } term)
        {
            return null;
        }

        if (ReferenceEquals(_leaseElapsedTerm, term))
        {
            reason = LeadershipLossReason.SessionTimeoutElapsed;
        }
        else if (reason == LeadershipLossReason.SessionExpired && LeaseRanOut(term))
        {
            // The client declares the session expired at the same instant the kept lease runs out (both measure the
            // session timeout from the last server contact); whichever timer fires first, the cause is the lease.
            reason = LeadershipLossReason.SessionTimeoutElapsed;
        }

        term.End();
        _term = null;
        LeaderLog.LostLeadership(_logger, _path, _participantId, reason, term.FencingToken);
        if (notify)
        {
            _callbacks.Writer.TryWrite(new Callback(term, false, reason));
        }

        return reason;
    }

    private bool LeaseRanOut(LeaderTerm term)
    {
        var client = _termClient;
        return _policy == LeaderSuspensionPolicy.KeepUntilSessionTimeout
            && client is not null
            && client.Time.GetElapsedTime(client.LastServerContactTimestamp) >= client.SessionTimeout;
    }

    /// <summary>
    /// The first half of closing, a plain method so nothing needs compiling before the delete is on the wire: the term
    /// ends before the node goes (the next contender may lead as soon as the deletion commits), then the delete is
    /// queued at once (GuaranteedDeleteAsync runs synchronously up to queueing the request); the term's bookkeeping,
    /// its log message and the listeners come after that.
    /// </summary>
    private (Task<bool> Deleting, CancellationTokenSource? Bound) BeginClose(LeaderLatchCloseMode mode)
    {
        _takeOver = null;
        var term = _term;

        // Not leader any more from here on (HasLeadership and the term's token), before the delete can commit.
        term?.End();
        var client = _client;

        // Bounded: a disconnected client either reconnects or expires within its session timeout.
        var bound = client is null ? null : new CancellationTokenSource(client.SessionTimeout * 2, _time);
        var deleting = client is not null && _ourPath is { } ours
            ? ProtectedCreate.GuaranteedDeleteAsync(client, ours, bound!.Token)
            : Task.FromResult(true);
        var reason = EndTerm(LeadershipLossReason.Closed, notify: false);

        // Listeners hear about it after the delete is queued (their dispatcher and the writer would otherwise compete).
        if (term is not null && reason is { } r && mode == LeaderLatchCloseMode.NotifyLeader)
        {
            _callbacks.Writer.TryWrite(new Callback(term, false, r));
        }

        return (deleting, bound);
    }

    /// <summary>The rest of closing, while the delete is in flight.</summary>
    private async Task CloseInLoopAsync((Task<bool> Deleting, CancellationTokenSource? Bound) closing)
    {
        using var bound = closing.Bound;
        _leaseTimer?.Dispose();
        _leaseTimer = null;
        if (_client is { } client)
        {
            foreach (var watched in (ReadOnlySpan<string?>)[_watchedPredecessor, _watchedAhead])
            {
                if (watched is not null)
                {
                    ForgetWatch(client, watched);
                }
            }

            _watchedPredecessor = null;
            _watchedAhead = null;

            try
            {
                await closing.Deleting.ConfigureAwait(false);
                if (_pendingId is { } id)
                {
                    await ProtectedCreate.DeleteByIdAsync(client, _path, id, _logger, bound!.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // The node goes with the session.
            }
        }

        Volatile.Write(ref _ourPath, null);
        _events.Writer.TryComplete();
        LeaderLog.Closed(_logger, _path);
    }

    /// <summary>
    /// Runs once, at start and in the background, what a hand-over runs for the first time in a process, so that a
    /// contender's first take-over (in a long-running service usually its only one) and a leader's close do not pay for
    /// first use on the spot: just-in-time compiling (async state machines and their generic instantiations, which
    /// exist only once an await really waits), runtime type loads and the binding of precompiled framework methods.
    /// Measured on cold contender processes: about 1 ms before a notification reached the latch, 1 ms before the
    /// callback, and a closing leader compiling about 60 methods (several ms of CPU) while the server and the next
    /// contender did the hand-over on the same cores. Done for real but without effect on the election: the leader's
    /// own-node exists request (without a watch, on the election path), then a rehearsal latch on the same client,
    /// which never contends: it takes over from an imaginary predecessor whose deletion is run through the client's
    /// notification path locally (<see cref="ZooKeeperClient.RehearseNotification"/>), leads without listeners of
    /// ours, and closes, deleting a node that does not exist (one delete the server answers with NoNode; the tree and
    /// its watches are unchanged). The library cannot choose the application's ReadyToRun or tiering settings.
    /// </summary>
    private async Task WarmUpAsync(ZooKeeperClient client, CancellationToken token)
    {
        // Once per client: what the rehearsal compiles and loads serves every latch of the process.
        if (!_holder.TryClaimRehearsal())
        {
            Rehearsed = false;
            return;
        }

        var ran = false;
        try
        {
            await WatchOwnNodeAsync(client, _path, watcher: null, token).ConfigureAwait(false);
            var rehearsal = new LeaderLatch(_holder, _path, _participantId, _lockName, LeaderLatchCloseMode.NotifyLeader, _policy, NullLoggerFactory.Instance, _time, _watchTwoAhead, rehearsal: true);
            rehearsal.AddListener(RehearsalListener.Instance);
            rehearsal.Start();
            try
            {
                // Not connected: no term, the close still runs (its delete waits for a connection, bounded).
                await rehearsal.WaitForLeadershipAsync(token).WaitAsync(client.SessionTimeout, _time, token).ConfigureAwait(false);
                ran = true;
            }
            finally
            {
                await rehearsal.CloseAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException or ZooKeeperException or ObjectDisposedException)
        {
            // Closing, or not connected: the warm-up only ever saves time.
        }
        finally
        {
            Rehearsed = ran;
            if (!ran)
            {
                _holder.ReleaseRehearsal();
            }
        }
    }

    /// <summary>
    /// The rehearsal latch's start (<see cref="WarmUpAsync"/>): second in line behind an imaginary predecessor, whose
    /// deletion reaches this loop through the client's notification path and takes over (<see cref="TakeOverFrom"/>).
    /// </summary>
    private void RehearseTakeOver(ZooKeeperClient client)
    {
        var name = ContenderNames.JoinPath(_path, "_warm-up-" + Guid.NewGuid().ToString("N"));
        var predecessor = name + "-a";
        _ourPath = name + "-b";
        _watchedPredecessor = predecessor;
        _takeOver = new TakeOver(client, _ourPath, predecessor);
        client.RehearseNotification(predecessor, _nodeWatcher);
    }

    private void FailWaiters()
    {
        List<TaskCompletionSource<LeaderTerm>> waiters;
        lock (_lock)
        {
            waiters = [.. _waiters];
            _waiters.Clear();
        }

        foreach (var waiter in waiters)
        {
            waiter.TrySetException(new ObjectDisposedException(nameof(LeaderLatch), "The leader latch was closed."));
        }
    }

    private async Task DispatchLoopAsync()
    {
        await Task.Yield();
        await foreach (var callback in _callbacks.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (callback.Term is not { } term)
            {
                continue;
            }

            foreach (var listener in Volatile.Read(ref _listeners))
            {
                try
                {
                    if (callback.IsLeader)
                    {
                        listener.IsLeader(term);
                    }
                    else
                    {
                        listener.NotLeader(term, callback.Reason);
                    }
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref _listenerErrors);
                    LeaderLog.ListenerFailed(_logger, _path, callback.IsLeader ? nameof(ILeaderLatchListener.IsLeader) : nameof(ILeaderLatchListener.NotLeader), ex);
                }
            }
        }
    }

    /// <summary>The rehearsal latch's listener (the dispatcher's way to a listener, with nothing behind it).</summary>
    private sealed class RehearsalListener : ILeaderLatchListener
    {
        public static readonly RehearsalListener Instance = new();

        public void IsLeader(LeaderTerm term)
        {
        }

        public void NotLeader(LeaderTerm term, LeadershipLossReason reason)
        {
        }
    }

    /// <summary>What a check of a contender second in line saw: its client, its node, the predecessor it watches.</summary>
    private sealed record TakeOver(ZooKeeperClient Client, string OurPath, string Predecessor);

    /// <summary>A listener notification (an item without a term reaches no listener).</summary>
    private readonly record struct Callback(LeaderTerm? Term, bool IsLeader, LeadershipLossReason Reason);

    private abstract record LatchEvent
    {
        public sealed record Check : LatchEvent;

        public sealed record Connection(ZooKeeperStateChange Change) : LatchEvent;

        public sealed record NewSession(ZooKeeperClient Client, long ExpiredSessionId) : LatchEvent;

        public sealed record Node(WatchedEvent Event) : LatchEvent;

        public sealed record LeaseExpired(LeaderTerm Term) : LatchEvent;

        public sealed record Requeue : LatchEvent;

        public sealed record WarmUp : LatchEvent;

        public sealed record Close(LeaderLatchCloseMode Mode, TaskCompletionSource Done) : LatchEvent;
    }
}
