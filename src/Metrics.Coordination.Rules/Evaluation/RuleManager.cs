using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Rules.PromQL;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Rules;

/// <summary>Settings of a <see cref="RuleManager"/>. Defaults are Prometheus's server defaults.</summary>
public sealed class RuleManagerOptions
{
    /// <summary>Where rule expressions read from (usually the TSDB). Required.</summary>
    public IQueryable? Queryable { get; set; }

    /// <summary>Where recording rules and <c>ALERTS</c>/<c>ALERTS_FOR_STATE</c> series are written (usually the TSDB). Required.</summary>
    public IAppendable? Appendable { get; set; }

    /// <summary>The PromQL engine. Default: an engine with default options on this manager's clock and logger factory.</summary>
    public PromQLEngine? Engine { get; set; }

    /// <summary>Where alerts go (the Alertmanager notifier). Default null: alerts are evaluated and kept, not sent.</summary>
    public IAlertSender? AlertSender { get; set; }

    /// <summary>Whether this replica may send notifications now. Default <see cref="AlwaysLeaderGate.Instance"/>.</summary>
    public ILeadershipGate LeadershipGate { get; set; } = AlwaysLeaderGate.Instance;

    /// <summary>
    /// Where the leader publishes its alert state and a new leader loads it (alert state hand-over, see
    /// <see cref="IAlertStateStore"/>), or null for none: a new leader then starts from its own evaluation state (its own
    /// <c>for</c> clocks and <c>startsAt</c>). Default null.
    /// </summary>
    public IAlertStateStore? AlertStateStore { get; set; }

    /// <summary>This replica's id, recorded as the publisher of alert state. Default: the machine name and process id.</summary>
    public string InstanceId { get; set; } = Environment.MachineName + "/" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// How long one load or publication of alert state may take. A new leader that cannot load the published state
    /// sends nothing for that group and retries at the next evaluation; after <see cref="AlertStateLoadAttempts"/>
    /// failed attempts in a term it gives up and sends from its own state (logged as an error). Default 5 s.
    /// </summary>
    public TimeSpan AlertStateTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many evaluations in a row a new leader tries to load the published alert state before it sends from its own. Default 3.</summary>
    public int AlertStateLoadAttempts { get; set; } = 3;

    /// <summary>The interval of groups that set none (Prometheus's global <c>evaluation_interval</c>). Default 1 minute.</summary>
    public TimeSpan EvaluationInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The query offset of groups that set none (Prometheus's global <c>rule_query_offset</c>). Default 0.</summary>
    public TimeSpan QueryOffset { get; set; } = TimeSpan.Zero;

    /// <summary>How often a firing alert is re-sent (<c>--rules.alert.resend-delay</c>). Default 1 minute.</summary>
    public TimeSpan ResendDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long an outage may last for <c>for</c> state to be restored (<c>--rules.alert.for-outage-tolerance</c>). Default 1 hour.</summary>
    public TimeSpan OutageTolerance { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The least time a restored alert waits before firing (<c>--rules.alert.for-grace-period</c>). Default 10 minutes.</summary>
    public TimeSpan ForGracePeriod { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Labels templates see as <c>$externalLabels</c>. Default empty.</summary>
    public Labels ExternalLabels { get; set; } = Labels.Empty;

    /// <summary>The URL templates see as <c>$externalURL</c> and generator URLs start with. Default empty.</summary>
    public string ExternalUrl { get; set; } = "";

    /// <summary>Rule file parsing settings. Default: Prometheus's.</summary>
    public RuleFileParserOptions? ParserOptions { get; set; }

    /// <summary>The clock evaluation is scheduled by. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the manager logs. Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Where the manager's self-metrics are registered; null for none. Default null.</summary>
    public MetricRegistry? MetricRegistry { get; set; }
}

/// <summary>
/// Runs rule groups: each on its own interval at a stable offset derived from its file and name, rules in order,
/// recording results and alert series in storage and alerts through the <see cref="IAlertSender"/> while the
/// <see cref="ILeadershipGate"/> says so. <see cref="LoadAsync"/> (re)loads rule files: a failed load keeps the running set,
/// a successful one carries alert state over for rules that did not change. Dispose stops the loops and awaits them.
/// </summary>
public sealed class RuleManager : IAsyncDisposable
{
    private readonly RuleEnvironment _env;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _defaultInterval;
    private readonly TimeSpan _defaultQueryOffset;
    private readonly RuleFileParserOptions? _parserOptions;
    private readonly SemaphoreSlim _updateLock = new(1, 1);
    private readonly Lock _lock = new();
    private List<GroupRunner> _groups = [];
    private bool _started;
    private bool _restored;
    private bool _disposed;
    private string? _lastReloadError;
    private IReadOnlyDictionary<string, string> _fileErrors = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Creates a manager; the options are validated and copied. Nothing runs until <see cref="Start"/>.</summary>
    public RuleManager(RuleManagerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Queryable, nameof(options.Queryable));
        ArgumentNullException.ThrowIfNull(options.Appendable, nameof(options.Appendable));
        ArgumentNullException.ThrowIfNull(options.LeadershipGate, nameof(options.LeadershipGate));
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options.TimeProvider));
        ArgumentNullException.ThrowIfNull(options.LoggerFactory, nameof(options.LoggerFactory));
        ArgumentNullException.ThrowIfNull(options.ExternalLabels, nameof(options.ExternalLabels));
        ArgumentNullException.ThrowIfNull(options.ExternalUrl, nameof(options.ExternalUrl));
        ArgumentNullException.ThrowIfNull(options.InstanceId, nameof(options.InstanceId));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.AlertStateTimeout, TimeSpan.Zero, nameof(options.AlertStateTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.AlertStateLoadAttempts, 1, nameof(options.AlertStateLoadAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.EvaluationInterval, TimeSpan.FromMilliseconds(1), nameof(options.EvaluationInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.QueryOffset, TimeSpan.Zero, nameof(options.QueryOffset));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ResendDelay, TimeSpan.Zero, nameof(options.ResendDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.OutageTolerance, TimeSpan.Zero, nameof(options.OutageTolerance));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ForGracePeriod, TimeSpan.Zero, nameof(options.ForGracePeriod));
        _time = options.TimeProvider;
        _logger = options.LoggerFactory.CreateLogger("Metrics.Coordination.Rules.RuleManager");
        _defaultInterval = options.EvaluationInterval;
        _defaultQueryOffset = options.QueryOffset;
        _parserOptions = options.ParserOptions;
        _env = new RuleEnvironment
        {
            Engine = options.Engine ?? new PromQLEngine(new PromQLEngineOptions { TimeProvider = options.TimeProvider, LoggerFactory = options.LoggerFactory }),
            Queryable = options.Queryable,
            Appendable = options.Appendable,
            AlertSender = options.AlertSender,
            LeadershipGate = options.LeadershipGate,
            AlertStateStore = options.AlertStateStore,
            InstanceId = options.InstanceId,
            AlertStateTimeout = options.AlertStateTimeout,
            AlertStateLoadAttempts = options.AlertStateLoadAttempts,
            ResendDelayMs = (long)options.ResendDelay.TotalMilliseconds,
            OutageToleranceMs = (long)options.OutageTolerance.TotalMilliseconds,
            ForGracePeriodMs = (long)options.ForGracePeriod.TotalMilliseconds,
            ExternalLabels = options.ExternalLabels,
            ExternalUrl = options.ExternalUrl,
            TimeProvider = options.TimeProvider,
            Logger = _logger,
            Metrics = options.MetricRegistry is { } registry ? new RuleMetrics(registry) : null,
        };
    }

    /// <summary>Why the last <see cref="LoadAsync"/> failed, or null when it succeeded (or none ran yet).</summary>
    public string? LastReloadError
    {
        get
        {
            lock (_lock)
            {
                return _lastReloadError;
            }
        }
    }

    /// <summary>
    /// The rule files whose current content is refused, by file (as <see cref="RuleFile.Path"/> names it), with why
    /// (file, line and column, message). Groups of such a file that loaded before keep running their last good
    /// definition and carry the error in <see cref="RuleGroupSnapshot.FileError"/>; a file that never loaded has no
    /// groups, only this entry. Set by <see cref="LoadAsync"/> (a refused load lists its files, a good one clears them)
    /// or, when files are loaded elsewhere and handed over with <see cref="UpdateAsync"/>, by <see cref="SetFileErrors"/>.
    /// Empty when everything loaded.
    /// </summary>
    public IReadOnlyDictionary<string, string> FileErrors
    {
        get
        {
            lock (_lock)
            {
                return _fileErrors;
            }
        }
    }

    /// <summary>
    /// Replaces <see cref="FileErrors"/>: for a loader that parses rule files itself (from ZooKeeper, say), refuses
    /// broken ones, keeps their last good version in the set it hands to <see cref="UpdateAsync"/> and reports here
    /// what it refused, so that the rules API and status pages show it next to the groups it concerns.
    /// </summary>
    /// <param name="errors">The refused files and why; empty when none is refused. Copied.</param>
    public void SetFileErrors(IReadOnlyDictionary<string, string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var copy = new Dictionary<string, string>(errors, StringComparer.Ordinal);
        lock (_lock)
        {
            _fileErrors = copy;
        }
    }

    /// <summary>
    /// Loads <paramref name="files"/> and replaces the running rule set with them. When any file has a problem, throws
    /// <see cref="RuleFileException"/> listing every problem of every file and keeps the previous set running
    /// (<see cref="LastReloadError"/> says why). Rules whose name, expression and labels did not change keep their alerts.
    /// </summary>
    public async Task LoadAsync(IEnumerable<string> files, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(files);
        var loaded = new List<RuleFile>();
        var problems = new List<RuleFileProblem>();
        foreach (var file in files)
        {
            try
            {
                loaded.Add(RuleFileParser.Load(file, _parserOptions));
            }
            catch (RuleFileException e)
            {
                problems.AddRange(e.Problems);
            }
        }

        if (problems.Count > 0)
        {
            var error = new RuleFileException(problems);
            var byFile = problems.GroupBy(p => p.File, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => new RuleFileException([.. g]).Message, StringComparer.Ordinal);
            lock (_lock)
            {
                _lastReloadError = error.Message;
                _fileErrors = byFile;
            }

            Log.ReloadFailed(_logger, error.Message);
            throw error;
        }

        await UpdateAsync(loaded, cancellationToken).ConfigureAwait(false);
        SetFileErrors(new Dictionary<string, string>());
    }

    /// <summary>Replaces the running rule set with the groups of <paramref name="files"/> (already parsed), carrying alert state over for unchanged rules.</summary>
    public async Task UpdateAsync(IReadOnlyList<RuleFile> files, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(files);
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _updateLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            List<GroupRunner> old;
            lock (_lock)
            {
                old = _groups;
            }

            var oldByKey = old.ToDictionary(g => g.Group.Key);
            var shouldRestore = !_restored;
            var next = new List<GroupRunner>();
            foreach (var file in files)
            {
                foreach (var definition in file.Groups)
                {
                    var group = new RuleGroup(definition, _defaultInterval, _defaultQueryOffset);
                    var runner = new GroupRunner(group) { ShouldRestore = shouldRestore };
                    if (oldByKey.Remove(group.Key, out var previous))
                    {
                        await previous.StopAsync().ConfigureAwait(false);
                        group.CopyStateFrom(previous.Group);
                        runner.ShouldRestore = previous.ShouldRestore;
                    }

                    if (runner.ShouldRestore)
                    {
                        foreach (var rule in group.Rules.OfType<AlertingRule>())
                        {
                            rule.Restored = false;
                        }
                    }

                    next.Add(runner);
                }
            }

            // Groups that went away: stop them and mark their series stale, as Prometheus does.
            foreach (var removed in oldByKey.Values)
            {
                await removed.StopAsync().ConfigureAwait(false);
                removed.Group.MarkAllStale(_env, NowMs());
                _env.Metrics?.Remove(removed.Group.Key);
            }

            lock (_lock)
            {
                _groups = next;
                _lastReloadError = null;
                _restored = true;
                if (_started)
                {
                    foreach (var runner in next)
                    {
                        runner.Start(this);
                    }
                }
            }

            foreach (var runner in next)
            {
                _env.Metrics?.Rules.WithLabels(runner.Group.Key).Set(runner.Group.Rules.Count);
            }

            Log.Reloaded(_logger, next.Count, next.Sum(g => g.Group.Rules.Count));
        }
        finally
        {
            _updateLock.Release();
        }
    }

    /// <summary>Starts the evaluation loops of the loaded groups (and of groups loaded later).</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_lock)
        {
            if (_started)
            {
                return;
            }

            _started = true;
            foreach (var runner in _groups)
            {
                runner.Start(this);
            }
        }
    }

    /// <summary>The state of every group and rule (like Prometheus's <c>/api/v1/rules</c>), in load order.</summary>
    public IReadOnlyList<RuleGroupSnapshot> GetRuleGroups()
    {
        List<GroupRunner> groups;
        IReadOnlyDictionary<string, string> fileErrors;
        lock (_lock)
        {
            groups = _groups;
            fileErrors = _fileErrors;
        }

        return [.. groups.Select(g => fileErrors.TryGetValue(g.Group.File, out var error) ? g.Group.Snapshot() with { FileError = error } : g.Group.Snapshot())];
    }

    /// <summary>The pending and firing alerts of every alerting rule (like Prometheus's <c>/api/v1/alerts</c>).</summary>
    public IReadOnlyList<AlertSnapshot> GetAlerts() =>
        [.. GetRuleGroups().SelectMany(g => g.Rules).SelectMany(r => r.Alerts)];

    /// <summary>Stops every loop and waits for it to finish its current evaluation.</summary>
    public async ValueTask DisposeAsync()
    {
        List<GroupRunner> groups;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            groups = _groups;
        }

        foreach (var g in groups)
        {
            await g.StopAsync().ConfigureAwait(false);
        }

        _updateLock.Dispose();
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private async Task RunGroupAsync(GroupRunner runner, CancellationToken cancellationToken)
    {
        var group = runner.Group;
        var interval = group.IntervalMs;
        var evalTs = group.EvalTimestamp(NowMs()) + interval;
        try
        {
            await DelayUntilAsync(evalTs, cancellationToken).ConfigureAwait(false);
            await IterateAsync(group, evalTs, cancellationToken).ConfigureAwait(false);
            if (runner.ShouldRestore)
            {
                // Restore after a second evaluation, so recording rules the alerts depend on have fresh values (as Prometheus does).
                evalTs = await NextTickAsync(group, evalTs, cancellationToken).ConfigureAwait(false);
                await IterateAsync(group, evalTs, cancellationToken).ConfigureAwait(false);
                group.RestoreForState(_env, NowMs());
                runner.ShouldRestore = false;
            }

            while (true)
            {
                evalTs = await NextTickAsync(group, evalTs, cancellationToken).ConfigureAwait(false);
                await IterateAsync(group, evalTs, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped.
        }
        catch (Exception e)
        {
            Log.GroupLoopFailed(_logger, group.Key, e);
        }
    }

    /// <summary>Waits for the slot after <paramref name="lastTs"/>; slots that passed meanwhile are counted as missed, not run.</summary>
    private async Task<long> NextTickAsync(RuleGroup group, long lastTs, CancellationToken cancellationToken)
    {
        var interval = group.IntervalMs;
        await DelayUntilAsync(lastTs + interval, cancellationToken).ConfigureAwait(false);
        var missed = ((NowMs() - lastTs) / interval) - 1;
        if (missed > 0)
        {
            Log.IterationsMissed(_logger, group.Key, missed);
            _env.Metrics?.IterationsMissed.WithLabels(group.Key).Inc(missed);
            _env.Metrics?.Iterations.WithLabels(group.Key).Inc(missed);
        }
        else
        {
            missed = 0;
        }

        return lastTs + ((missed + 1) * interval);
    }

    private async Task DelayUntilAsync(long targetMs, CancellationToken cancellationToken)
    {
        while (true)
        {
            var wait = targetMs - NowMs();
            if (wait <= 0)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(wait), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One evaluation with the alert state hand-over around it: a leader in a term it has not adopted state for loads
    /// the published state first (sending waits for that), and after the evaluation a leader publishes what changed.
    /// </summary>
    private async Task IterateAsync(RuleGroup group, long tsMs, CancellationToken cancellationToken)
    {
        if (_env.AlertStateStore is not null)
        {
            await group.AdoptPublishedStateAsync(_env, cancellationToken).ConfigureAwait(false);
        }

        Iterate(group, tsMs, cancellationToken);
        if (_env.AlertStateStore is not null)
        {
            await group.PublishStateAsync(_env, NowMs(), cancellationToken).ConfigureAwait(false);
        }
    }

    private void Iterate(RuleGroup group, long tsMs, CancellationToken cancellationToken)
    {
        var failures = group.Evaluate(_env, tsMs, cancellationToken);
        if (_env.Metrics is { } m)
        {
            var (_, duration) = group.LastRun;
            m.Iterations.WithLabels(group.Key).Inc();
            m.EvaluationDuration.Observe(duration.TotalSeconds);
            m.LastDuration.WithLabels(group.Key).Set(duration.TotalSeconds);
            m.LastEvaluation.WithLabels(group.Key).Set(tsMs / 1000.0);
            m.Healthy.WithLabels(group.Key).Set(failures == 0 ? 1 : 0);
        }
    }

    /// <summary>A group and its loop.</summary>
    private sealed class GroupRunner(RuleGroup group)
    {
        private CancellationTokenSource? _cts;
        private Task? _loop;

        public RuleGroup Group { get; } = group;

        public bool ShouldRestore { get; set; }

        public void Start(RuleManager manager)
        {
            if (_loop is not null)
            {
                return;
            }

            _cts = new CancellationTokenSource();
            var token = _cts.Token;
            _loop = Task.Run(() => manager.RunGroupAsync(this, token), CancellationToken.None);
        }

        public async Task StopAsync()
        {
            if (_cts is null || _loop is null)
            {
                return;
            }

            await _cts.CancelAsync().ConfigureAwait(false);
            await _loop.ConfigureAwait(false);
            _cts.Dispose();
            _cts = null;
            _loop = null;
        }
    }
}
