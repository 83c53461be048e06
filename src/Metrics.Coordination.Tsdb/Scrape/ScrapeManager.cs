using System.Net;
using Metrics.Coordination.Abstractions.Relabeling;
using Metrics.Coordination.Abstractions.Storage;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Tsdb.Scrape;

/// <summary>
/// Scrapes <c>/metrics</c> targets into storage as Prometheus does: jobs with static targets and/or a
/// <see cref="IScrapeTargetProvider"/>, target relabeling, one loop per target at the job's interval with a stable
/// per-target offset, the synthetic series (<c>up</c>, <c>scrape_duration_seconds</c>,
/// <c>scrape_samples_scraped</c>, <c>scrape_samples_post_metric_relabeling</c>, <c>scrape_series_added</c>),
/// metric relabeling, limits and staleness markers. Appends through <see cref="IAppendable"/>, so it feeds a
/// <see cref="TimeSeriesDatabase"/> or any other storage.
/// </summary>
public sealed class ScrapeManager : IAsyncDisposable
{
    // A scrape connection has no business living long when idle; targets come and go.
    private static readonly TimeSpan PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30);

    private readonly IAppendable _storage;
    private readonly ScrapeManagerOptions _options;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly JobState[] _jobs;
    private readonly SemaphoreSlim _reconcileLock = new(1, 1);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly List<Task> _pendingStaleness = [];
    private int _state; // 0 new, 1 running, 2 stopped

    /// <summary>Creates a manager; validates every job (relabel rules included). Call <see cref="StartAsync"/> to begin.</summary>
    /// <exception cref="ArgumentException">A job is invalid or two jobs share a name.</exception>
    /// <exception cref="RelabelConfigException">A relabel rule is invalid.</exception>
    public ScrapeManager(IAppendable storage, ScrapeManagerOptions options)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentNullException.ThrowIfNull(options.LoggerFactory);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.TimestampTolerance, TimeSpan.Zero);
        _storage = storage;
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<ScrapeManager>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var jobs = new List<JobState>();
        foreach (var job in options.Jobs)
        {
            ArgumentNullException.ThrowIfNull(job, nameof(options));
            job.Validate();
            if (!names.Add(job.JobName))
            {
                throw new ArgumentException($"Duplicate scrape job name '{job.JobName}'.", nameof(options));
            }

            jobs.Add(new JobState(job, new Relabeler(job.RelabelConfigs), new Relabeler(job.MetricRelabelConfigs)));
        }

        _jobs = [.. jobs];
        _http = options.HttpMessageHandler is { } handler
            ? new HttpClient(handler, disposeHandler: false)
            : new HttpClient(new SocketsHttpHandler
            {
                AutomaticDecompression = DecompressionMethods.GZip,
                UseProxy = false,
                UseCookies = false,
                AllowAutoRedirect = true,
                PooledConnectionIdleTimeout = PooledConnectionIdleTimeout,
            });
        _http.Timeout = Timeout.InfiniteTimeSpan;
    }

    /// <summary>Computes the targets and starts a loop for each; subscribes to the jobs' target providers.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The scrape manager was already started.");
        }

        foreach (var job in _jobs)
        {
            if (job.Options.TargetProvider is { } provider)
            {
                job.OnChanged = (_, _) => _ = ReconcileJobAsync(job);
                provider.Changed += job.OnChanged;
            }
        }

        foreach (var job in _jobs)
        {
            await ReconcileJobAsync(job, cancellationToken).ConfigureAwait(false);
        }

        ScrapeLog.Started(_logger, _jobs.Length, _jobs.Sum(j => j.Loops.Count));
    }

    /// <summary>The current targets of every job with their health, last error and counters.</summary>
    public IReadOnlyList<ScrapeTargetStatus> GetTargets()
    {
        var list = new List<ScrapeTargetStatus>();
        foreach (var job in _jobs)
        {
            lock (job.Loops)
            {
                list.AddRange(job.Loops.Values.Select(l => l.Status));
            }
        }

        return list;
    }

    /// <summary>
    /// Stops every loop and waits for in-flight scrapes to finish or be cancelled. Staleness markers are written
    /// only with <see cref="ScrapeManagerOptions.StalenessMarkersOnStop"/>.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _state, 2) != 1)
        {
            return;
        }

        await _reconcileLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var stops = new List<Task>();
            foreach (var job in _jobs)
            {
                if (job.Options.TargetProvider is { } provider && job.OnChanged is not null)
                {
                    provider.Changed -= job.OnChanged;
                }

                lock (job.Loops)
                {
                    stops.AddRange(job.Loops.Values.Select(l => l.StopAsync(_options.StalenessMarkersOnStop ? EndOfRunStaleness.Immediate : EndOfRunStaleness.None)));
                    job.Loops.Clear();
                }
            }

            // Removed targets still waiting to write their markers give up: Prometheus writes none at shutdown.
            await _shutdown.CancelAsync().ConfigureAwait(false);
            lock (_pendingStaleness)
            {
                stops.AddRange(_pendingStaleness);
                _pendingStaleness.Clear();
            }

            await Task.WhenAll(stops).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _reconcileLock.Release();
        }

        ScrapeLog.Stopped(_logger);
    }

    /// <summary>Stops (see <see cref="StopAsync"/>) and releases the HTTP client.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _http.Dispose();
        _reconcileLock.Dispose();
        _shutdown.Dispose();
    }

    private async Task ReconcileJobAsync(JobState job, CancellationToken cancellationToken = default)
    {
        try
        {
            await _reconcileLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        try
        {
            if (Volatile.Read(ref _state) != 1)
            {
                return;
            }

            var groups = job.Options.StaticTargets.Concat(job.Options.TargetProvider?.GetTargetGroups() ?? []);
            var errors = new List<string>();
            var targets = ScrapeTarget.Populate(job.Options, job.TargetRelabeler, groups, errors);
            foreach (var error in errors)
            {
                ScrapeLog.TargetError(_logger, job.Options.JobName, error);
            }

            var wanted = targets.ToDictionary(t => t.Key, StringComparer.Ordinal);
            var removed = new List<ScrapeLoop>();
            var added = 0;
            lock (job.Loops)
            {
                foreach (var key in job.Loops.Keys.Where(k => !wanted.ContainsKey(k)).ToList())
                {
                    removed.Add(job.Loops[key]);
                    job.Loops.Remove(key);
                }

                foreach (var (key, target) in wanted)
                {
                    if (!job.Loops.ContainsKey(key))
                    {
                        var loop = new ScrapeLoop(target, job.Options, job.MetricRelabeler, _storage, _http, _options.TimeProvider, _logger, _options.TimestampTolerance, _options.OffsetSeed);
                        job.Loops[key] = loop;
                        loop.Start();
                        added++;
                    }
                }
            }

            // A removed target's series end with staleness markers, written as Prometheus writes them (deferred, in
            // the background, so a target that comes straight back keeps its series).
            foreach (var loop in removed)
            {
                var stopping = loop.StopAsync(EndOfRunStaleness.Deferred, _shutdown.Token);
                lock (_pendingStaleness)
                {
                    _pendingStaleness.RemoveAll(t => t.IsCompleted);
                    _pendingStaleness.Add(stopping);
                }
            }
            if (added > 0 || removed.Count > 0)
            {
                ScrapeLog.TargetsChanged(_logger, job.Options.JobName, added, removed.Count, wanted.Count);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ScrapeLog.TargetError(_logger, job.Options.JobName, "target update failed: " + ex.Message);
        }
        finally
        {
            _reconcileLock.Release();
        }
    }

    private sealed class JobState(ScrapeJobOptions options, Relabeler targetRelabeler, Relabeler metricRelabeler)
    {
        public ScrapeJobOptions Options => options;

        public Relabeler TargetRelabeler => targetRelabeler;

        public Relabeler MetricRelabeler => metricRelabeler;

        public Dictionary<string, ScrapeLoop> Loops { get; } = new(StringComparer.Ordinal);

        public EventHandler? OnChanged { get; set; }
    }
}
