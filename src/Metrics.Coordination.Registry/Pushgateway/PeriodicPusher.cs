using Metrics.Coordination.Abstractions;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Registry.Pushgateway;

/// <summary>What a <see cref="PeriodicPusher"/> pushes, where and how often. Validated and copied when the pusher is built.</summary>
public sealed class PeriodicPushOptions
{
    /// <summary>The <c>job</c> label of the group. Required (non-empty).</summary>
    public string Job { get; set; } = string.Empty;

    /// <summary>More labels identifying the group (such as <c>instance</c>). Default: none.</summary>
    public Labels GroupingLabels { get; set; } = Labels.Empty;

    /// <summary>The time between the end of one push and the start of the next. Default: 10 s.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether each push replaces the group (<c>PUT</c>) or only same-named metrics (<c>POST</c>). Default: <see cref="PushMode.Push"/>.</summary>
    public PushMode Mode { get; set; } = PushMode.Push;

    /// <summary>Whether stopping (or disposing) pushes once more, so the gateway holds the job's final values. Default: true.</summary>
    public bool PushOnStop { get; set; } = true;
}

/// <summary>
/// Pushes a registry to a Pushgateway every <see cref="PeriodicPushOptions.Interval"/> until stopped, then once
/// more: for batch jobs, <c>await using var pusher = new PeriodicPusher(...); await pusher.StartAsync();</c>. A failed
/// push (after the client's retries) is logged and counted in <see cref="FailedPushes"/>, and the loop goes on: no
/// exception ever leaves it, nor <see cref="StopAsync"/> or <see cref="DisposeAsync"/>. <see cref="StartAsync"/> and
/// <see cref="StopAsync"/> have the shape of <c>IHostedService</c>, so a hosted service can forward to them.
/// </summary>
public sealed class PeriodicPusher : IAsyncDisposable
{
    private readonly PushgatewayClient _client;
    private readonly MetricRegistry _registry;
    private readonly string _job;
    private readonly Labels _grouping;
    private readonly TimeSpan _interval;
    private readonly PushMode _mode;
    private readonly bool _pushOnStop;
    private readonly string _groupUrl;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private CancellationTokenSource? _stopping;
    private Task? _loop;
    private bool _stopped;
    private long _successes;
    private long _failures;
    private Exception? _lastFailure;

    /// <summary>Creates a pusher; nothing is sent before <see cref="StartAsync"/>.</summary>
    /// <param name="client">The client that pushes (its clock, logger factory and retry settings apply). Not disposed by the pusher.</param>
    /// <param name="registry">The metrics to push.</param>
    /// <param name="options">The group and the interval.</param>
    /// <exception cref="ArgumentException">The job is empty, a grouping label is invalid, or the interval is not positive.</exception>
    public PeriodicPusher(PushgatewayClient client, MetricRegistry registry, PeriodicPushOptions options)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Job, nameof(options.Job));
        ArgumentNullException.ThrowIfNull(options.GroupingLabels, nameof(options.GroupingLabels));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.Interval, TimeSpan.Zero, nameof(options.Interval));
        if (options.Mode is not (PushMode.Push or PushMode.PushAdd))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Mode, "Unknown push mode.");
        }

        _client = client;
        _registry = registry;
        _job = options.Job;
        _grouping = options.GroupingLabels;
        _interval = options.Interval;
        _mode = options.Mode;
        _pushOnStop = options.PushOnStop;

        // Validates the job and the grouping labels now rather than on the first push.
        _groupUrl = PushgatewayClient.Display(client.GetGroupUri(_job, _grouping));
        _logger = client.LoggerFactory.CreateLogger("Metrics.Coordination.Registry.Pushgateway");
    }

    /// <summary>How many pushes succeeded.</summary>
    public long SuccessfulPushes => Interlocked.Read(ref _successes);

    /// <summary>How many pushes failed (each after the client's retries), the final one included.</summary>
    public long FailedPushes => Interlocked.Read(ref _failures);

    /// <summary>The last push failure, or null.</summary>
    public Exception? LastFailure => Volatile.Read(ref _lastFailure);

    /// <summary>Starts pushing: the first push comes one interval from now. Returns at once.</summary>
    /// <exception cref="InvalidOperationException">Already started, or stopped.</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (_stopped)
            {
                throw new InvalidOperationException("The pusher was stopped; create a new one.");
            }

            if (_loop is not null)
            {
                throw new InvalidOperationException("The pusher is already started.");
            }

            _stopping = new CancellationTokenSource();
            _loop = RunAsync(_stopping.Token);
        }

        Log.PusherStarted(_logger, _job, _groupUrl, _interval);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops the loop (a push in flight is cancelled) and, with <see cref="PeriodicPushOptions.PushOnStop"/>, pushes
    /// once more. Never throws for push failures: they are logged and counted. Safe to call more than once.
    /// </summary>
    /// <param name="cancellationToken">Cuts the final push short (counted as a failure).</param>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        Task? loop;
        CancellationTokenSource? stopping;
        lock (_lock)
        {
            if (_stopped)
            {
                return;
            }

            _stopped = true;
            loop = _loop;
            stopping = _stopping;
        }

        if (loop is null)
        {
            return;
        }

        await stopping!.CancelAsync().ConfigureAwait(false);
        await loop.ConfigureAwait(false);
        stopping.Dispose();
        if (_pushOnStop)
        {
            await PushOnceAsync(final: true, cancellationToken).ConfigureAwait(false);
        }

        Log.PusherStopped(_logger, _job, _groupUrl, SuccessfulPushes, FailedPushes);
    }

    /// <summary>Stops, with the final push (see <see cref="StopAsync"/>).</summary>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private async Task RunAsync(CancellationToken stopping)
    {
        // Off the caller's stack: StartAsync returns before any work.
        await Task.Yield();
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_interval, _client.Time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            await PushOnceAsync(final: false, stopping).ConfigureAwait(false);
        }
    }

    private async Task PushOnceAsync(bool final, CancellationToken cancellationToken)
    {
        try
        {
            await _client.PushInModeAsync(_mode, _registry, _job, _grouping, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _successes);
        }
        catch (OperationCanceledException) when (!final && cancellationToken.IsCancellationRequested)
        {
            // Stopping cut this push short; the final push follows.
        }
        catch (Exception ex)
        {
            var failures = Interlocked.Increment(ref _failures);
            Volatile.Write(ref _lastFailure, ex);
            if (final)
            {
                Log.FinalPushFailed(_logger, _job, _groupUrl, ex);
            }
            else
            {
                Log.PeriodicPushFailed(_logger, _job, _groupUrl, failures, ex);
            }
        }
    }
}
