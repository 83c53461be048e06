using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.ZooKeeper;
using Metrics.Coordination.ZooKeeper.Recipes;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Hosting;

/// <summary>
/// The <see cref="ILeadershipGate"/> of a replica in a fleet: leader only while its <see cref="LeaderLatch"/> has
/// leadership and the ZooKeeper connection is <see cref="ZooKeeperState.Connected"/> — a suspended connection closes
/// the gate at once, before the server can expire the session and let another replica lead. The fencing token is the
/// running term's (the creation zxid of the election node), 0 when not leader. <see cref="Changed"/> is raised on a
/// pool thread after every term change and connection change. Before it is attached (and after it is detached) it is
/// closed.
/// </summary>
internal sealed class ZooKeeperLeadershipGate : ILeadershipGate, ILeaderLatchListener
{
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private LeaderLatch? _latch;
    private RecoveringZooKeeperClient? _client;
    private bool _lastIsLeader;
    private long _lastToken;

    public ZooKeeperLeadershipGate(ILogger logger)
    {
        _logger = logger;
    }

    /// <inheritdoc />
    public event EventHandler? Changed;

    /// <inheritdoc />
    public bool IsLeader => Read(out _);

    /// <inheritdoc />
    public long FencingToken
    {
        get
        {
            Read(out var token);
            return token;
        }
    }

    /// <summary>The latch's participant id, or null before it is attached.</summary>
    public string? ParticipantId => Volatile.Read(ref _latch)?.ParticipantId;

    /// <summary>The latch (null before attach and after detach).</summary>
    public LeaderLatch? Latch => Volatile.Read(ref _latch);

    public void Attach(RecoveringZooKeeperClient client, LeaderLatch latch)
    {
        lock (_lock)
        {
            _client = client;
            _latch = latch;
        }

        client.StateChanged += OnStateChanged;
        latch.AddListener(this);
        RaiseIfChanged();
    }

    public void Detach()
    {
        RecoveringZooKeeperClient? client;
        LeaderLatch? latch;
        lock (_lock)
        {
            client = _client;
            latch = _latch;
            _client = null;
            _latch = null;
        }

        if (client is not null)
        {
            client.StateChanged -= OnStateChanged;
        }

        latch?.RemoveListener(this);
        RaiseIfChanged();
    }

    void ILeaderLatchListener.IsLeader(LeaderTerm term) => RaiseIfChanged();

    void ILeaderLatchListener.NotLeader(LeaderTerm term, LeadershipLossReason reason) => RaiseIfChanged();

    private bool Read(out long token)
    {
        LeaderLatch? latch;
        RecoveringZooKeeperClient? client;
        lock (_lock)
        {
            latch = _latch;
            client = _client;
        }

        token = 0;
        if (latch is null || client is null || client.Current.State != ZooKeeperState.Connected || !latch.HasLeadership)
        {
            return false;
        }

        // The term can end between the two reads: then we are not leader (a token of 0 never matches a queued one).
        if (latch.CurrentTerm is not { } term)
        {
            return false;
        }

        token = term.FencingToken;
        return true;
    }

    private void OnStateChanged(object? sender, ZooKeeperStateChange change) => RaiseIfChanged();

    private void RaiseIfChanged()
    {
        var isLeader = Read(out var token);
        lock (_lock)
        {
            if (isLeader == _lastIsLeader && token == _lastToken)
            {
                return;
            }

            _lastIsLeader = isLeader;
            _lastToken = token;
        }

        HostingLog.LeadershipChanged(_logger, isLeader, token);

        // Handlers run on the pool, never on the ZooKeeper dispatcher or the latch's listener dispatcher.
        _ = Task.Run(() =>
        {
            try
            {
                Changed?.Invoke(this, EventArgs.Empty);
            }
            catch (Exception e)
            {
                HostingLog.LeadershipHandlerFailed(_logger, e);
            }
        });
    }
}
