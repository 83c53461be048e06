using System.Text;
using System.Threading.Channels;
using Metrics.Coordination.Shared;
using Metrics.Coordination.ZooKeeper.Recipes.Internal;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>
/// Group membership with key ownership: replicas of a service join a group (one protected ephemeral-sequential child
/// <c>_c_&lt;uuid&gt;-member-&lt;seq&gt;</c> of <see cref="ShardGroupOptions.Path"/> each, data = the member id), watch the
/// group's children, and split a key space (scrape targets, say) between the live members by consistent hashing
/// (<see cref="ShardAssignmentStrategy"/>). <see cref="Owns"/> answers for this member; <see cref="Changed"/> says when
/// to ask again.
/// </summary>
/// <remarks>
/// <para>
/// <b>At most one owner per key among members that know they are alive.</b> A member owns keys only while its node
/// exists, was created by its current session, appears in the latest children list read on that session, and the
/// connection is connected (the client suspends itself after two thirds of the session timeout without a frame from the server). On a suspension
/// (connection lost, session maybe alive) it drops every key at once: it cannot know the membership any more. Other
/// members take its keys only when its node is gone, i.e. after it closed or its session expired on the server — which
/// happens no earlier than one session timeout after the server last heard from it, while the member itself stopped
/// after two thirds of that. Keys that come to a member from a member that is still running (the new member's own
/// join; any change under <see cref="ShardAssignmentStrategy.HashMod"/>) wait <see cref="ShardGroupOptions.HandoverDelay"/>.
/// </para>
/// <para>
/// <b>The gap.</b> When a member dies, its keys have no owner until the server expires its session (at most the
/// session timeout after its last heartbeat, rounded up to the server's tick) plus one watch notification and re-list;
/// the consumer then needs its own reaction time (a scrape loop's first scrape comes within one interval). A partitioned
/// member stops at two thirds of the session timeout without server contact, so its keys are unowned for at least the
/// last third. A new session re-joins by itself (through <see cref="RecoveringZooKeeperClient"/>).
/// </para>
/// <para>
/// All membership work runs on one loop fed by a channel (connection changes, watch events, session replacement,
/// close); <see cref="Changed"/> is raised on a separate dispatcher, in order, coalesced, so a slow handler never
/// delays membership. <see cref="Owns"/> is cut at once by the ZooKeeper dispatcher on a suspension, before the loop
/// catches up.
/// </para>
/// </remarks>
public sealed class ZooKeeperShardGroup : IAsyncDisposable
{
    private const string MemberName = "member-";
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);

    private readonly RecoveringZooKeeperClient _holder;
    private readonly string _path;
    private readonly string _memberId;
    private readonly byte[] _data;
    private readonly ShardAssignmentStrategy _strategy;
    private readonly TimeSpan _handoverDelay;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<GroupEvent> _events = Channel.CreateUnbounded<GroupEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<bool> _notifications = Channel.CreateUnbounded<bool>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Action<WatchedEvent> _childrenWatcher;
    private readonly Dictionary<string, string> _ids = new(StringComparer.Ordinal);
    private Task _loop = Task.CompletedTask;
    private Task _dispatch = Task.CompletedTask;
    private int _started;
    private int _closed;
    private int _joins;
    private long _handlerErrors;

    // Read by Owns on any thread.
    private volatile View? _view;
    private volatile bool _connected;

    // Owned by the loop.
    private ZooKeeperClient? _client;
    private string? _ourPath;
    private Guid? _pendingId;
    private View? _lastView;
    private ITimer? _settleTimer;
    private bool _checkQueued;

    /// <summary>Creates a group member (not started) on <paramref name="client"/>.</summary>
    /// <exception cref="ArgumentException">The path or member id is missing or invalid, or the delay is negative.</exception>
    public ZooKeeperShardGroup(RecoveringZooKeeperClient client, ShardGroupOptions options)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.Path, nameof(options));
        ArgumentException.ThrowIfNullOrEmpty(options.MemberId, nameof(options));
        ArgumentNullException.ThrowIfNull(options.LoggerFactory);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        PathValidation.Validate(options.Path, nameof(options));
        if (!Enum.IsDefined(options.Strategy))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Strategy, "Unknown shard assignment strategy.");
        }

        if (options.HandoverDelay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.HandoverDelay, "HandoverDelay must not be negative.");
        }

        _holder = client;
        _path = options.Path;
        _memberId = options.MemberId;
        _data = Encoding.UTF8.GetBytes(options.MemberId);
        _strategy = options.Strategy;
        _handoverDelay = options.HandoverDelay;
        _time = options.TimeProvider;
        _logger = options.LoggerFactory.CreateLogger("Metrics.Coordination.ZooKeeper.Recipes.ZooKeeperShardGroup");
        _childrenWatcher = OnChildrenEvent;
    }

    /// <summary>
    /// Raised after <see cref="Owns"/> may have changed for some key (membership changed, this member became active or
    /// inactive, a hand-over delay ended). Raised on the group's dispatcher, in order; several changes in quick
    /// succession may be reported once. Handler exceptions are logged and counted (<see cref="HandlerErrors"/>).
    /// </summary>
    public event EventHandler? Changed;

    /// <summary>The group node.</summary>
    public string Path => _path;

    /// <summary>This member's id.</summary>
    public string MemberId => _memberId;

    /// <summary>The assignment strategy.</summary>
    public ShardAssignmentStrategy Strategy => _strategy;

    /// <summary>Whether this member knows the current membership and may own keys (see the remarks of the class).</summary>
    public bool IsActive => _view is { } view && LinkHealthy(view.Client);

    /// <summary>The live member ids (ordinal order) as last read while active; empty while inactive.</summary>
    public IReadOnlyList<string> Members => IsActive ? _view!.Members : [];

    /// <summary>Our member node's path, or null while we have none.</summary>
    public string? NodePath => Volatile.Read(ref _ourPath);

    /// <summary>How many member nodes this instance created (1 + re-joins after a session expiry or a lost node).</summary>
    public int JoinCount => Volatile.Read(ref _joins);

    /// <summary>How many <see cref="Changed"/> handlers threw.</summary>
    public long HandlerErrors => Interlocked.Read(ref _handlerErrors);

    /// <summary>Whether this member owns <paramref name="key"/> right now. Check it right before acting on the key.</summary>
    public bool Owns(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var view = _view;
        if (view is null || !LinkHealthy(view.Client) || !view.OwnsRaw(key))
        {
            return false;
        }

        if (view.Pending is { Done: false })
        {
            foreach (var restriction in view.Restrictions)
            {
                if (!restriction.OwnsRaw(key))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Joins the group (returns at once; the node is created in the background).</summary>
    /// <exception cref="InvalidOperationException">Already started, or closed.</exception>
    public void Start()
    {
        if (Volatile.Read(ref _closed) != 0 || Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The shard group was already started or closed.");
        }

        _holder.StateChanged += OnStateChanged;
        _holder.SessionReplaced += OnSessionReplaced;
        _dispatch = DispatchLoopAsync();
        _loop = RunAsync();
    }

    /// <summary>
    /// Leaves the group: owns nothing from now on (raises <see cref="Changed"/>), then deletes our node so the others
    /// take our keys at once. For a hand-over without overlap, stop acting on keys (e.g. stop the scrape manager) before
    /// closing: the others may start on our keys as soon as the node is gone.
    /// </summary>
    public async Task CloseAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            await _loop.ConfigureAwait(false);
            return;
        }

        if (Volatile.Read(ref _started) == 0)
        {
            return;
        }

        _holder.StateChanged -= OnStateChanged;
        _holder.SessionReplaced -= OnSessionReplaced;
        _events.Writer.TryWrite(new GroupEvent.Close());
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _notifications.Writer.TryComplete();
        await _dispatch.ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>Same as <see cref="CloseAsync"/>.</summary>
    public async ValueTask DisposeAsync() => await CloseAsync().ConfigureAwait(false);

    // The state only, not the time since the last frame (as LeaderLatch.HasLeadership does): consumers re-read on
    // Changed, and a silence that ends without a state change would raise none. The connection's own watchdog turns
    // two thirds of the session timeout without a frame into Suspended, which does raise Changed.
    private static bool LinkHealthy(ZooKeeperClient client) => client.State == ZooKeeperState.Connected;

    private void OnStateChanged(object? sender, ZooKeeperStateChange change)
    {
        // Runs on the ZooKeeper dispatcher: cut ownership at once, then let the loop do the rest in order.
        if (change.Current != ZooKeeperState.Connected)
        {
            _connected = false;
            _notifications.Writer.TryWrite(true);
        }

        _events.Writer.TryWrite(new GroupEvent.Connection(change));
    }

    private void OnSessionReplaced(object? sender, ZooKeeperSessionReplaced replaced) =>
        _events.Writer.TryWrite(new GroupEvent.NewSession(replaced.Client, replaced.ExpiredSessionId));

    private void OnChildrenEvent(WatchedEvent e)
    {
        if (e.Type is EventType.NodeChildrenChanged or EventType.NodeDeleted or EventType.NodeCreated)
        {
            PostCheckFromAnyThread();
        }
    }

    private void PostCheckFromAnyThread() => _events.Writer.TryWrite(new GroupEvent.Check());

    private void PostCheck()
    {
        if (!_checkQueued)
        {
            _checkQueued = true;
            _events.Writer.TryWrite(new GroupEvent.Check());
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
            PostCheck();
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
                    case GroupEvent.Close:
                        await CloseInLoopAsync().ConfigureAwait(false);
                        return;
                    case GroupEvent.Check:
                        _checkQueued = false;
                        await CheckAsync(token).ConfigureAwait(false);
                        break;
                    case GroupEvent.Connection c:
                        await OnConnectionAsync(c.Change, token).ConfigureAwait(false);
                        break;
                    case GroupEvent.NewSession n:
                        await OnNewSessionAsync(n.Client, n.ExpiredSessionId, token).ConfigureAwait(false);
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
        if (_client is null || change.SessionId != _client.SessionId)
        {
            return;
        }

        if (change.Current == ZooKeeperState.Connected)
        {
            // The live state, not the event's: a suspension may already be queued behind this event. Re-list: changes
            // made while we were away are not replayed.
            _connected = _client.State == ZooKeeperState.Connected;
            await CheckAsync(token).ConfigureAwait(false);
            return;
        }

        _connected = false;
        Publish(null, change.Current.ToString());
    }

    private async Task OnNewSessionAsync(ZooKeeperClient client, long expiredSession, CancellationToken token)
    {
        _client = client;
        _connected = client.State == ZooKeeperState.Connected;
        Publish(null, "session expired");
        ShardGroupLog.NewSession(_logger, _path, expiredSession, client.SessionId);
        _ids.Clear();

        // Our old node may outlive the old session on the server for a while (the client declares expiry itself after
        // a full timeout without contact); its id is ours, so delete it: the others must not count it as us.
        if (_ourPath is { } stale)
        {
            Volatile.Write(ref _ourPath, null);
            if (await ProtectedCreate.GuaranteedDeleteAsync(client, stale, token).ConfigureAwait(false))
            {
                ShardGroupLog.DeletedStaleNode(_logger, _path, stale);
            }
        }

        if (_pendingId is { } id)
        {
            _pendingId = null;
            await ProtectedCreate.DeleteByIdAsync(client, _path, id, _logger, token).ConfigureAwait(false);
        }

        PostCheck();
    }

    /// <summary>One membership step: make sure we have a node of this session, list the members, publish the view.</summary>
    private async Task CheckAsync(CancellationToken token)
    {
        var client = _client;
        if (client is null || !_connected || token.IsCancellationRequested)
        {
            return;
        }

        try
        {
            if (_ourPath is null)
            {
                var id = Guid.NewGuid();
                _pendingId = id;
                var created = await ProtectedCreate.CreateAsync(client, _path, MemberName, id, _data, CreateMode.EphemeralSequential, _logger, token).ConfigureAwait(false);
                _pendingId = null;
                Volatile.Write(ref _ourPath, created.Path);
                Interlocked.Increment(ref _joins);

                // A new node is a join: the keys coming to us are owned by running members until they learn of it.
                _lastView = null;
                ShardGroupLog.Joined(_logger, _path, _memberId, created.Path, client.SessionId);
            }

            var ourPath = _ourPath;
            var ourName = ContenderNames.NodeName(ourPath);
            var children = await client.GetChildrenAsync(_path, _childrenWatcher, token).ConfigureAwait(false);
            if (!children.Children.Contains(ourName, StringComparer.Ordinal))
            {
                ShardGroupLog.NodeVanished(_logger, _path, ourPath);
                Volatile.Write(ref _ourPath, null);
                Publish(null, "our node was deleted");
                PostCheck();
                return;
            }

            var live = new HashSet<string>(children.Children, StringComparer.Ordinal);
            foreach (var gone in _ids.Keys.Where(k => !live.Contains(k)).ToList())
            {
                _ids.Remove(gone);
            }

            foreach (var child in children.Children)
            {
                if (_ids.ContainsKey(child))
                {
                    continue;
                }

                try
                {
                    // Member nodes never change their data: read once per node.
                    var data = await client.GetDataAsync(ContenderNames.JoinPath(_path, child), cancellationToken: token).ConfigureAwait(false);
                    _ids[child] = data.Data.Length > 0 ? Encoding.UTF8.GetString(data.Data) : child;
                }
                catch (NoNodeException)
                {
                    // Left meanwhile; the children watch brings the next list.
                }
            }

            // One owner per id: the oldest node (Curator's order on the sequence) counts.
            var canonical = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var child in ContenderNames.Sort(_ids.Keys, MemberName))
            {
                canonical.TryAdd(_ids[child], child);
            }

            if (canonical.TryGetValue(_memberId, out var first) && !string.Equals(first, ourName, StringComparison.Ordinal))
            {
                ShardGroupLog.DuplicateId(_logger, _path, _memberId, first, ourName);
                Publish(null, "duplicate member id");
                return;
            }

            if (!_connected || client.State != ZooKeeperState.Connected)
            {
                return;
            }

            var members = canonical.Keys.Order(StringComparer.Ordinal).ToArray();
            Publish(new View(members, [.. members.Select(ShardMath.Hash)], Array.IndexOf(members, _memberId), _strategy, client, ourPath, []), null);
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
            ShardGroupLog.StepFailed(_logger, _path, RetryDelay.TotalMilliseconds, ex);
            _ = RetryLaterAsync(token);
        }
    }

    /// <summary>Publishes a new view (null: inactive) and notifies; a view equal to the current one changes nothing.</summary>
    private void Publish(View? next, string? reason)
    {
        var current = _view;
        if (next is null)
        {
            if (current is not null)
            {
                _view = null;
                ShardGroupLog.Inactive(_logger, _path, _memberId, reason ?? "inactive");
            }

            // Always notify: the dispatcher may have cut ownership already (Owns checks the link) and consumers re-read.
            _notifications.Writer.TryWrite(true);
            return;
        }

        if (current is not null && current.SameAs(next))
        {
            return;
        }

        // Gains from members still running wait for the hand-over delay (see ShardGroupOptions.HandoverDelay). The
        // delay ends when its timer sets Pending.Done and then notifies, so a consumer re-reading on that notification
        // always sees the gains (a clock comparison in Owns could still say "not yet" when the timer fires early).
        View[] restrictions = [];
        Settle? pending = null;
        var running = _lastView?.Pending is { Done: false } p ? p : null;
        if (_handoverDelay > TimeSpan.Zero)
        {
            if (_lastView is null || !string.Equals(_lastView.OurPath, next.OurPath, StringComparison.Ordinal))
            {
                restrictions = [View.Nobody];
                pending = new Settle();
            }
            else if (_strategy == ShardAssignmentStrategy.HashMod && !_lastView.SameAs(next))
            {
                restrictions = [_lastView with { Restrictions = [], Pending = null }, .. running is null ? [] : _lastView.Restrictions];
                pending = new Settle();
            }
            else if (running is not null)
            {
                // Back from a suspension (or a departure) within a running delay: the delay goes on.
                restrictions = _lastView.Restrictions;
                pending = running;
            }
        }

        var published = next with { Restrictions = restrictions, Pending = pending };
        _view = published;
        _lastView = published;
        ShardGroupLog.Membership(_logger, _path, _memberId, next.Members.Length, string.Join(",", next.Members));
        _notifications.Writer.TryWrite(true);
        if (pending is not null && !ReferenceEquals(pending, running))
        {
            _settleTimer?.Dispose();
            _settleTimer = _time.CreateTimer(
                _ =>
                {
                    pending.Done = true;
                    _notifications.Writer.TryWrite(true);
                },
                null,
                _handoverDelay,
                Timeout.InfiniteTimeSpan);
        }
    }

    private async Task RetryLaterAsync(CancellationToken token)
    {
        try
        {
            await Task.Delay(RetryDelay, _time, token).ConfigureAwait(false);
            PostCheckFromAnyThread();
        }
        catch (OperationCanceledException)
        {
            // Closed.
        }
    }

    private async Task CloseInLoopAsync()
    {
        Publish(null, "closing");
        _settleTimer?.Dispose();
        _settleTimer = null;
        var client = _client;
        if (client is not null)
        {
            // Bounded: a disconnected client either reconnects or expires within its session timeout.
            using var bound = new CancellationTokenSource(client.SessionTimeout * 2, _time);
            try
            {
                if (_ourPath is { } ours)
                {
                    await ProtectedCreate.GuaranteedDeleteAsync(client, ours, bound.Token).ConfigureAwait(false);
                }

                if (_pendingId is { } id)
                {
                    await ProtectedCreate.DeleteByIdAsync(client, _path, id, _logger, bound.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // The node goes with the session.
            }
        }

        Volatile.Write(ref _ourPath, null);
        _events.Writer.TryComplete();
        ShardGroupLog.Closed(_logger, _path, _memberId);
    }

    private async Task DispatchLoopAsync()
    {
        await Task.Yield();
        var reader = _notifications.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // Coalesce: one Changed for everything queued so far; handlers re-read Owns.
            while (reader.TryRead(out _))
            {
            }

            foreach (var handler in Changed?.GetInvocationList() ?? [])
            {
                try
                {
                    ((EventHandler)handler)(this, EventArgs.Empty);
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref _handlerErrors);
                    ShardGroupLog.HandlerFailed(_logger, _path, ex);
                }
            }
        }
    }

    /// <summary>One membership as read on one session: the member ids in ordinal order and our index among them.</summary>
    private sealed record View(string[] Members, ulong[] Hashes, int OurIndex, ShardAssignmentStrategy Strategy, ZooKeeperClient Client, string OurPath, View[] Restrictions, Settle? Pending = null)
    {
        /// <summary>A view that owns nothing (the restriction of a new member until its hand-over delay ends).</summary>
        public static View Nobody { get; } = new([], [], -1, ShardAssignmentStrategy.Rendezvous, null!, string.Empty, []);

        public bool OwnsRaw(string key)
        {
            if (OurIndex < 0)
            {
                return false;
            }

            var owner = Strategy == ShardAssignmentStrategy.HashMod
                ? ShardMath.HashModOwner(key, Members.Length)
                : ShardMath.RendezvousOwner(key, Hashes);
            return owner == OurIndex;
        }

        public bool SameAs(View other) =>
            ReferenceEquals(Client, other.Client)
            && string.Equals(OurPath, other.OurPath, StringComparison.Ordinal)
            && Members.AsSpan().SequenceEqual(other.Members);
    }

    /// <summary>A running hand-over delay; its timer sets <see cref="Done"/>.</summary>
    private sealed class Settle
    {
        private volatile bool _done;

        public bool Done
        {
            get => _done;
            set => _done = value;
        }
    }

    private abstract record GroupEvent
    {
        public sealed record Check : GroupEvent;

        public sealed record Connection(ZooKeeperStateChange Change) : GroupEvent;

        public sealed record NewSession(ZooKeeperClient Client, long ExpiredSessionId) : GroupEvent;

        public sealed record Close : GroupEvent;
    }
}
