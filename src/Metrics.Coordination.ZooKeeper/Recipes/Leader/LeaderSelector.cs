using Metrics.Coordination.ZooKeeper.Recipes.Internal;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>
/// Runs user work while this contender leads (Curator's <c>LeaderSelector</c> shape, built on <see cref="LeaderLatch"/>
/// with Curator's <c>_c_&lt;uuid&gt;-lock-&lt;seq&gt;</c> node names). The work gets the <see cref="LeaderTerm"/> (with its
/// fencing token) and a token that is cancelled the moment leadership ends (suspension, expiry, node loss) or the
/// selector closes; it must stop acting then. When the work returns while still leader, leadership is given up: with
/// <see cref="LeaderSelectorOptions.AutoRequeue"/> (default) the contender queues again at the back, otherwise it
/// leaves the election. Only one run of the work is active at a time: a new term waits for the previous run to finish.
/// </summary>
public sealed class LeaderSelector : IAsyncDisposable
{
    private readonly LeaderLatch _latch;
    private readonly Func<LeaderTerm, CancellationToken, Task> _work;
    private readonly bool _autoRequeue;
    private readonly ILogger _logger;
    private readonly string _path;
    private readonly CancellationTokenSource _closing = new();
    private readonly Lock _lock = new();
    private Task _running = Task.CompletedTask;
    private long _workFailures;
    private long _runs;
    private int _closed;
    private volatile bool _working;

    /// <summary>Creates a selector (not started).</summary>
    public LeaderSelector(RecoveringZooKeeperClient client, LeaderSelectorOptions options, Func<LeaderTerm, CancellationToken, Task> work)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(work);
        ArgumentException.ThrowIfNullOrEmpty(options.Path, nameof(options));
        _latch = new LeaderLatch(client, options.Path, options.ParticipantId, ContenderNames.LockName, LeaderLatchCloseMode.NotifyLeader, options.SuspensionPolicy, options.LoggerFactory, options.TimeProvider);
        _latch.AddListener(new Listener(this));
        _work = work;
        _autoRequeue = options.AutoRequeue;
        _path = options.Path;
        _logger = options.LoggerFactory.CreateLogger("Metrics.Coordination.ZooKeeper.Recipes.LeaderSelector");
    }

    /// <summary>Whether the work runs right now under a live term (see <see cref="LeaderLatch.HasLeadership"/>).</summary>
    public bool HasLeadership => _working && _latch.HasLeadership;

    /// <summary>The running term, or null.</summary>
    public LeaderTerm? CurrentTerm => _latch.CurrentTerm;

    /// <summary>How many times the work was started.</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>How many runs of the work threw (other than by cancellation).</summary>
    public long WorkFailures => Interlocked.Read(ref _workFailures);

    /// <summary>Starts contending.</summary>
    public void Start() => _latch.Start();

    /// <summary>The contenders in queue order (the first leads).</summary>
    public Task<IReadOnlyList<LeaderParticipant>> GetParticipantsAsync(CancellationToken cancellationToken = default) => _latch.GetParticipantsAsync(cancellationToken);

    /// <summary>Gives up leadership now (the work's token is cancelled) and queues again at the back.</summary>
    public void InterruptLeadership() => _latch.Requeue();

    /// <summary>Cancels the work, waits for it to return, and leaves the election (our node is deleted).</summary>
    public async Task CloseAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        await _closing.CancelAsync().ConfigureAwait(false);
        await _latch.CloseAsync().ConfigureAwait(false);
        Task running;
        lock (_lock)
        {
            running = _running;
        }

        await running.ConfigureAwait(false);
        _closing.Dispose();
    }

    /// <summary>Same as <see cref="CloseAsync"/>.</summary>
    public async ValueTask DisposeAsync() => await CloseAsync().ConfigureAwait(false);

    private void OnLeader(LeaderTerm term)
    {
        lock (_lock)
        {
            var previous = _running;
            _running = RunAsync(previous, term);
        }
    }


    private async Task RunAsync(Task previous, LeaderTerm term)
    {
        await previous.ConfigureAwait(false);
        if (!term.IsActive || Volatile.Read(ref _closed) != 0)
        {
            return;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(term.LeadershipLost, _closing.Token);
        Interlocked.Increment(ref _runs);
        _working = true;
        try
        {
            await Task.Yield();
            await _work(term, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            // Leadership ended or closing: the expected way out.
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _workFailures);
            LeaderLog.WorkFailed(_logger, _path, ex);
        }
        finally
        {
            _working = false;
        }

        if (Volatile.Read(ref _closed) != 0)
        {
            return;
        }

        if (_autoRequeue)
        {
            if (term.IsActive)
            {
                // Returned while still leader: hand leadership on and queue again at the back.
                _latch.Requeue();
            }
        }
        else
        {
            _ = Task.Run(CloseAsync);
        }
    }

    private sealed class Listener(LeaderSelector owner) : ILeaderLatchListener
    {
        public void IsLeader(LeaderTerm term) => owner.OnLeader(term);

        public void NotLeader(LeaderTerm term, LeadershipLossReason reason)
        {
            // The term's token is already cancelled; the run notices through it.
        }
    }
}
