using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Rules;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Tsdb;
using Metrics.Coordination.Tsdb.Ingestion;
using Metrics.Coordination.Tsdb.Scrape;
using Metrics.Coordination.ZooKeeper;
using Metrics.Coordination.ZooKeeper.Recipes;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Metrics.Coordination.Hosting;

/// <summary>
/// Starts and stops every configured part in one fixed order, so the order does not depend on registration order:
/// start ZooKeeper session → service registration → leader election → TSDB (WAL replay) → self-collection and
/// scraping → notifier → rules (initial load, evaluation, file/node watching). Stop runs in reverse: rule sources and
/// evaluation stop (firing alerts sent as resolved first when configured and leader) → the notifier drains → scraping
/// and self-collection stop → the TSDB flushes its WAL and closes → the latch is closed (leadership released, its node
/// deleted) → the registration is removed → the ZooKeeper session is closed. A failing start stops what had started.
/// </summary>
internal sealed class MetricsCoordinationHostedService : IHostedService
{
    private readonly IOptions<MetricsCoordinationOptions> _options;
    private readonly MetricRegistry _registry;
    private readonly MetricsCoordinationStatus _status;
    private readonly ILeadershipGate _gate;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly string _contentRoot;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);

    private RecoveringZooKeeperClient? _zooKeeper;
    private ZooKeeperServiceRegistration? _registration;
    private LeaderLatch? _latch;
    private TimeSeriesDatabase? _database;
    private RegistryIngestion? _ingestion;
    private ScrapeManager? _scrape;
    private AlertmanagerNotifier? _notifier;
    private RuleManager? _rules;
    private FileRuleSource? _fileRules;
    private ZooKeeperRuleSource? _zooKeeperRules;
    private bool _resolveOnStop;

    public MetricsCoordinationHostedService(
        IOptions<MetricsCoordinationOptions> options,
        MetricRegistry registry,
        MetricsCoordinationStatus status,
        ILeadershipGate gate,
        TimeProvider time,
        ILoggerFactory loggerFactory,
        IHostEnvironment? environment = null)
    {
        _options = options;
        _registry = registry;
        _status = status;
        _gate = gate;
        _time = time;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Metrics.Coordination.Hosting");
        _contentRoot = environment?.ContentRootPath is { Length: > 0 } root ? root : Directory.GetCurrentDirectory();
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await StartPartsAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            var started = _time.GetTimestamp();
            await StopPartsAsync().ConfigureAwait(false);
            HostingLog.Stopped(_logger, (long)_time.GetElapsedTime(started).TotalMilliseconds);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task StartPartsAsync(CancellationToken cancellationToken)
    {
        var options = _options.Value;
        var started = _time.GetTimestamp();
        var zk = options.ZooKeeper;
        var tsdb = options.Tsdb;
        var rules = options.Rules;
        var alerting = options.Alerting;
        var participantId = string.IsNullOrEmpty(zk.Election.ParticipantId) ? $"{Environment.MachineName}:{Environment.ProcessId}" : zk.Election.ParticipantId;
        var tracker = new RuleSourceTracker(_time);
        _status.SetParts(MetricsCoordinationStatus.Parts.None);
        var step = "ZooKeeper session";
        try
        {
            if (!string.IsNullOrWhiteSpace(zk.ConnectionString))
            {
                _zooKeeper = await RecoveringZooKeeperClient.ConnectAsync(
                    new ZooKeeperClientOptions
                    {
                        ConnectionString = zk.ConnectionString,
                        SessionTimeout = zk.SessionTimeout,
                        ConnectTimeout = zk.ConnectTimeout,
                        TimeProvider = _time,
                        LoggerFactory = _loggerFactory,
                    },
                    cancellationToken).ConfigureAwait(false);
                HostingLog.ZooKeeperConnected(_logger, _zooKeeper.Current.SessionId, _zooKeeper.Current.Server);

                if (zk.Registration.Path is { Length: > 0 } registrationPath)
                {
                    step = "service registration";
                    _registration = await ZooKeeperServiceRegistration.RegisterAsync(
                        _zooKeeper,
                        new ServiceRegistrationOptions
                        {
                            Path = registrationPath,
                            Format = zk.Registration.Format,
                            Endpoint = new ServiceEndpoint(string.IsNullOrEmpty(zk.Registration.Host) ? Environment.MachineName : zk.Registration.Host, zk.Registration.Port),
                            ServiceName = zk.Registration.ServiceName,
                            TimeProvider = _time,
                            LoggerFactory = _loggerFactory,
                        },
                        cancellationToken).ConfigureAwait(false);
                    HostingLog.Registered(_logger, _registration.NodePath);
                }

                if (zk.Election.Enabled)
                {
                    step = "leader election";
                    _latch = new LeaderLatch(_zooKeeper, new LeaderLatchOptions
                    {
                        Path = zk.Election.Path,
                        ParticipantId = participantId,
                        SuspensionPolicy = LeaderSuspensionPolicy.DropOnSuspended,
                        TimeProvider = _time,
                        LoggerFactory = _loggerFactory,
                    });
                    (_gate as ZooKeeperLeadershipGate)?.Attach(_zooKeeper, _latch);
                    _latch.Start();
                }
            }

            if (tsdb.Enabled)
            {
                step = "TSDB";
                _database = TimeSeriesDatabase.Open(new TsdbOptions
                {
                    Directory = string.IsNullOrEmpty(tsdb.DataDirectory) ? null : Path.GetFullPath(tsdb.DataDirectory, _contentRoot),
                    RetentionTime = tsdb.RetentionTime,
                    RetentionSize = tsdb.RetentionSize,
                    TimeProvider = _time,
                    LoggerFactory = _loggerFactory,
                });

                if (tsdb.SelfCollection.Enabled)
                {
                    step = "self-collection";
                    _ingestion = new RegistryIngestion(_registry, _database, new RegistryIngestionOptions
                    {
                        Interval = tsdb.SelfCollection.Interval,
                        Job = tsdb.SelfCollection.Job,
                        Instance = tsdb.SelfCollection.Instance,
                        TimeProvider = _time,
                        LoggerFactory = _loggerFactory,
                    });
                    await _ingestion.StartAsync(cancellationToken).ConfigureAwait(false);
                }

                if (tsdb.ScrapeJobs.Count > 0)
                {
                    step = "scraping";
                    _scrape = new ScrapeManager(_database, new ScrapeManagerOptions
                    {
                        Jobs = [.. tsdb.ScrapeJobs.Select(ToScrapeJob)],
                        TimeProvider = _time,
                        LoggerFactory = _loggerFactory,
                    });
                    await _scrape.StartAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            var rulesWanted = _database is not null && (rules.Files.Count > 0 || !string.IsNullOrEmpty(rules.ZooKeeperPath));
            if (rulesWanted)
            {
                var externalLabels = Labels.From([.. rules.ExternalLabels.Select(kv => new Label(kv.Key, kv.Value))]);
                if (alerting.Alertmanagers.Count > 0)
                {
                    step = "Alertmanager notifier";
                    var notifierOptions = new AlertmanagerNotifierOptions
                    {
                        ExternalLabels = externalLabels,
                        LeadershipGate = _gate,

                        // In a fleet every alert names its sender and term in generatorURL (labels untouched).
                        SenderId = _latch is null ? null : participantId,
                        PathPrefix = alerting.PathPrefix ?? string.Empty,
                        DrainTimeout = alerting.DrainTimeout,
                        Registry = _registry,
                        TimeProvider = _time,
                        LoggerFactory = _loggerFactory,
                    };
                    foreach (var url in alerting.Alertmanagers)
                    {
                        notifierOptions.Alertmanagers.Add(new Uri(url, UriKind.Absolute));
                    }

                    _notifier = new AlertmanagerNotifier(notifierOptions);
                }

                step = "rule manager";
                _resolveOnStop = alerting.ResolveOnStop ?? _zooKeeper is null;
                _rules = new RuleManager(new RuleManagerOptions
                {
                    Queryable = _database!,
                    Appendable = _database!,
                    AlertSender = _notifier,
                    LeadershipGate = _gate,

                    // Alert state hand-over between leaders when leadership comes from the ZooKeeper election.
                    AlertStateStore = _latch is not null && !string.IsNullOrEmpty(zk.Election.AlertStatePath) ? new ZooKeeperAlertStateStore(_zooKeeper!, zk.Election.AlertStatePath) : null,
                    InstanceId = participantId,
                    EvaluationInterval = rules.EvaluationInterval,
                    ResendDelay = rules.ResendDelay,
                    ExternalLabels = externalLabels,
                    ExternalUrl = rules.ExternalUrl,
                    MetricRegistry = _registry,
                    TimeProvider = _time,
                    LoggerFactory = _loggerFactory,
                });
                var composer = new RuleSetComposer(_rules);
                tracker.ErrorsChanged = _rules.SetFileErrors;
                if (rules.Files.Count > 0)
                {
                    step = "rule files";
                    _fileRules = new FileRuleSource(
                        [.. rules.Files.Select(f => RuleFileGlob.Resolve(f, _contentRoot))],
                        composer,
                        tracker,
                        null,
                        rules.FileCheckInterval,
                        _time,
                        _loggerFactory.CreateLogger("Metrics.Coordination.Hosting.Rules"));
                    await _fileRules.StartAsync(cancellationToken).ConfigureAwait(false);
                }

                if (!string.IsNullOrEmpty(rules.ZooKeeperPath) && _zooKeeper is not null)
                {
                    step = "rules from ZooKeeper";
                    _zooKeeperRules = new ZooKeeperRuleSource(_zooKeeper, rules.ZooKeeperPath, rules.ZooKeeperMode, composer, tracker, null, _time, _loggerFactory);
                    await _zooKeeperRules.StartAsync(zk.ConnectTimeout, cancellationToken).ConfigureAwait(false);
                }

                _rules.Start();
            }

            _status.SetParts(new MetricsCoordinationStatus.Parts
            {
                State = MetricsCoordinationState.Running,
                StartedAt = _time.GetUtcNow(),
                Database = _database,
                RuleManager = _rules,
                Notifier = _notifier,
                Scrape = _scrape,
                ZooKeeper = _zooKeeper,
                Registration = _registration,
                RuleTracker = _rules is null ? null : tracker,
                ParticipantId = _zooKeeper is null ? null : participantId,
                ElectionPath = _latch?.Path,
            });

            HostingLog.Started(
                _logger,
                (long)_time.GetElapsedTime(started).TotalMilliseconds,
                _database is null ? "off" : _database.Directory ?? "in memory",
                _ingestion is null ? "off" : tsdb.SelfCollection.Interval.ToString(),
                _scrape is null ? 0 : tsdb.ScrapeJobs.Count,
                _rules is null ? "off" : string.Join(", ", new[] { rules.Files.Count > 0 ? $"{rules.Files.Count} file patterns" : null, _zooKeeperRules?.Path }.Where(s => s is not null)),
                _notifier is null ? 0 : alerting.Alertmanagers.Count,
                _zooKeeper is null ? "local (always leader)" : _latch is null ? "not contending" : $"ZooKeeper {zk.Election.Path} as '{participantId}'");
        }
        catch (Exception e)
        {
            HostingLog.StartFailed(_logger, step, e);
            await StopPartsAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task StopPartsAsync()
    {
        var parts = _status.Current;
        _status.SetParts(parts with { State = MetricsCoordinationState.Stopping });

        // Rules: stop reloading, optionally resolve what fires, stop evaluating.
        await StepAsync("rules from ZooKeeper", async () =>
        {
            if (_zooKeeperRules is { } z)
            {
                _zooKeeperRules = null;
                await z.DisposeAsync().ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
        await StepAsync("rule files", async () =>
        {
            if (_fileRules is { } f)
            {
                _fileRules = null;
                await f.DisposeAsync().ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
        await StepAsync("rule manager", async () =>
        {
            if (_rules is { } r)
            {
                _rules = null;
                await r.DisposeAsync().ConfigureAwait(false);
                if (_resolveOnStop && _notifier is { } n)
                {
                    ResolveFiring(r, n);
                }
            }
        }).ConfigureAwait(false);
        await StepAsync("Alertmanager notifier", async () =>
        {
            if (_notifier is { } n)
            {
                _notifier = null;
                await n.DisposeAsync().ConfigureAwait(false);
            }
        }).ConfigureAwait(false);

        // Ingestion, then the TSDB (Dispose flushes and fsyncs the WAL).
        await StepAsync("scraping", async () =>
        {
            if (_scrape is { } s)
            {
                _scrape = null;
                await s.DisposeAsync().ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
        await StepAsync("self-collection", async () =>
        {
            if (_ingestion is { } i)
            {
                _ingestion = null;
                await i.DisposeAsync().ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
        await StepAsync("TSDB", () =>
        {
            var db = _database;
            _database = null;
            db?.Dispose();
            return Task.CompletedTask;
        }).ConfigureAwait(false);

        // ZooKeeper: release leadership, deregister, close the session.
        await StepAsync("leader election", async () =>
        {
            if (_latch is { } l)
            {
                _latch = null;
                (_gate as ZooKeeperLeadershipGate)?.Detach();
                await l.CloseAsync().ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
        await StepAsync("service registration", async () =>
        {
            if (_registration is { } r)
            {
                _registration = null;
                await r.DisposeAsync().ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
        await StepAsync("ZooKeeper session", async () =>
        {
            if (_zooKeeper is { } z)
            {
                _zooKeeper = null;
                await z.DisposeAsync().ConfigureAwait(false);
            }
        }).ConfigureAwait(false);

        _status.SetParts(MetricsCoordinationStatus.Parts.Stopped);
    }

    private async Task StepAsync(string part, Func<Task> stop)
    {
        try
        {
            await stop().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // One part failing to stop must not keep the WAL unflushed or the session open.
            HostingLog.StopStepFailed(_logger, part, e);
        }
    }

    /// <summary>Sends the firing alerts as resolved now, when this instance is the leader (the notifier re-checks the gate before posting).</summary>
    private void ResolveFiring(RuleManager rules, AlertmanagerNotifier notifier)
    {
        if (!_gate.IsLeader)
        {
            return;
        }

        var now = _time.GetUtcNow();
        var externalUrl = _options.Value.Rules.ExternalUrl.TrimEnd('/');
        var batch = new List<NotificationAlert>();
        foreach (var rule in rules.GetRuleGroups().SelectMany(g => g.Rules))
        {
            var generatorUrl = externalUrl + "/graph?g0.expr=" + Uri.EscapeDataString(rule.Query) + "&g0.tab=1";
            foreach (var alert in rule.Alerts.Where(a => a.State == AlertState.Firing))
            {
                batch.Add(new NotificationAlert
                {
                    Labels = alert.Labels,
                    Annotations = alert.Annotations,
                    StartsAt = alert.FiredAt ?? alert.ActiveAt ?? now,
                    EndsAt = now,
                    GeneratorUrl = generatorUrl,
                });
            }
        }

        if (batch.Count > 0)
        {
            notifier.Send(batch);
            HostingLog.ResolvedOnStop(_logger, batch.Count, _gate.FencingToken);
        }
    }

    private static ScrapeJobOptions ToScrapeJob(HostedScrapeJobOptions job) => new()
    {
        JobName = job.JobName,
        ScrapeInterval = job.ScrapeInterval,
        ScrapeTimeout = job.ScrapeTimeout,
        MetricsPath = job.MetricsPath,
        Scheme = job.Scheme,
        HonorLabels = job.HonorLabels,
        TargetProvider = new StaticTargetProvider(
        [
            new ScrapeTargetGroup
            {
                Targets = [.. job.Targets],
                Labels = new Dictionary<string, string>(job.Labels, StringComparer.Ordinal),
            },
        ]),
    };
}
