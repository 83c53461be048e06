using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Rules;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Tsdb;
using Metrics.Coordination.Tsdb.Scrape;
using Metrics.Coordination.ZooKeeper;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.Hosting;

/// <summary>
/// The running parts of <c>AddMetricsCoordination</c> and read-only snapshots of their state, for a status page, an
/// HTTP API or health checks. Registered as a singleton; inject it. The parts are null until the host has started them
/// (an ASP.NET Core server may take requests a moment before) and after they stopped, and always null when disabled.
/// Every <c>Get*</c> method is cheap, thread-safe and returns a snapshot. Also registered as
/// <see cref="IMetricsCoordinationComponents"/>, through which <c>Metrics.Coordination.AspNetCore</c>'s
/// <c>MapPrometheusApi()</c> and <c>MapMetricsStatusPage()</c> find the parts with no further wiring.
/// </summary>
public sealed class MetricsCoordinationStatus : IMetricsCoordinationComponents
{
    private readonly TimeProvider _time;
    private volatile Parts _parts = Parts.None;

    internal MetricsCoordinationStatus(MetricRegistry registry, ILeadershipGate leadership, TimeProvider time)
    {
        Registry = registry;
        Leadership = leadership;
        _time = time;
    }

    /// <summary>The metric registry (always present).</summary>
    public MetricRegistry Registry { get; }

    /// <summary>The gate that decides whether this instance sends notifications (<see cref="AlwaysLeaderGate"/> without ZooKeeper).</summary>
    public ILeadershipGate Leadership { get; }

    /// <summary>Whether every configured part has started and none has stopped yet.</summary>
    public bool IsRunning => _parts.State == MetricsCoordinationState.Running;

    /// <summary>Where the parts are in their life: starting (or not started yet), running, stopping or stopped.</summary>
    public MetricsCoordinationState State => _parts.State;

    /// <summary>When the parts finished starting, or null.</summary>
    public DateTimeOffset? StartedAt => _parts.StartedAt;

    /// <summary>The embedded TSDB (implements the storage <c>IQueryable</c> and <c>IAppendable</c>), or null.</summary>
    public TimeSeriesDatabase? Database => _parts.Database;

    /// <summary>The rule manager, or null.</summary>
    public RuleManager? RuleManager => _parts.RuleManager;

    /// <summary>The Alertmanager notifier, or null when no Alertmanager is configured.</summary>
    public AlertmanagerNotifier? Notifier => _parts.Notifier;

    /// <summary>The scrape manager, or null when no scrape job is configured.</summary>
    public ScrapeManager? ScrapeManager => _parts.Scrape;

    /// <summary>The ZooKeeper session holder, or null without ZooKeeper.</summary>
    public RecoveringZooKeeperClient? ZooKeeper => _parts.ZooKeeper;

    /// <summary>The rule groups with health, last error and alerts (<see cref="RuleManager.GetRuleGroups"/>); empty without rules.</summary>
    public IReadOnlyList<RuleGroupSnapshot> GetRuleGroups() => _parts.RuleManager?.GetRuleGroups() ?? [];

    /// <summary>The pending and firing alerts (<see cref="RuleManager.GetAlerts"/>); empty without rules.</summary>
    public IReadOnlyList<AlertSnapshot> GetAlerts() => _parts.RuleManager?.GetAlerts() ?? [];

    /// <summary>Where the rules came from and the last reload error, if any.</summary>
    public RuleSourceStatus GetRuleSources() => _parts.RuleTracker?.Current ?? new RuleSourceStatus();

    /// <summary>Leadership: whether this instance leads, its fencing token and participant id.</summary>
    public LeadershipStatus GetLeadership()
    {
        var parts = _parts;
        var isLeader = Leadership.IsLeader;
        var token = Leadership.FencingToken;
        if (Leadership is ZooKeeperLeadershipGate zk)
        {
            return new LeadershipStatus
            {
                Mode = LeadershipMode.ZooKeeper,
                IsLeader = isLeader,
                FencingToken = token,
                ParticipantId = zk.ParticipantId ?? parts.ParticipantId,
                ElectionPath = zk.Latch?.Path ?? parts.ElectionPath,
                ElectionNode = zk.Latch?.NodePath,
                TermStartedAt = zk.Latch?.CurrentTerm?.StartedAt,
            };
        }

        return new LeadershipStatus
        {
            Mode = parts.ZooKeeper is null ? LeadershipMode.Local : LeadershipMode.NotContending,
            IsLeader = isLeader,
            FencingToken = token,
            ParticipantId = parts.ParticipantId,
        };
    }

    /// <summary>The ZooKeeper session, or null without ZooKeeper (or before start).</summary>
    public ZooKeeperSessionStatus? GetZooKeeperSession()
    {
        if (_parts.ZooKeeper is not { } holder)
        {
            return null;
        }

        var client = holder.Current;
        return new ZooKeeperSessionStatus
        {
            State = client.State,
            SessionId = client.SessionId,
            Server = client.Server,
            SessionTimeout = client.SessionTimeout,
            Sessions = holder.SessionCount,
            RegistrationNode = _parts.Registration?.NodePath,
        };
    }

    /// <summary>The TSDB head and counters, or null without the TSDB (or before start).</summary>
    public TsdbStatus? GetTsdb()
    {
        if (_parts.Database is not { } db)
        {
            return null;
        }

        TsdbStatistics stats;
        try
        {
            stats = db.GetStatistics();
        }
        catch (ObjectDisposedException)
        {
            return null;
        }

        return new TsdbStatus
        {
            Directory = db.Directory,
            HeadSeries = stats.HeadSeries,
            HeadMinTime = stats.HeadMinTime == long.MaxValue ? null : DateTimeOffset.FromUnixTimeMilliseconds(stats.HeadMinTime),
            HeadMaxTime = stats.HeadMaxTime == long.MinValue ? null : DateTimeOffset.FromUnixTimeMilliseconds(stats.HeadMaxTime),
            SamplesAppended = stats.SamplesAppended,
            Blocks = stats.Blocks,
            Statistics = stats,
        };
    }

    /// <summary>The scrape targets with health and last error; empty without scrape jobs.</summary>
    public IReadOnlyList<ScrapeTargetStatus> GetScrapeTargets() => _parts.Scrape?.GetTargets() ?? [];

    /// <summary>Each Alertmanager's queue and counts; empty without Alertmanagers.</summary>
    public IReadOnlyList<AlertmanagerTargetStatus> GetAlertmanagers() => _parts.Notifier?.GetStatus() ?? [];

    /// <summary>
    /// The running part assignable to <typeparamref name="T"/>: the <see cref="TimeSeriesDatabase"/> (also as the
    /// storage's <c>IQueryable</c> and <c>IAppendable</c>), the <see cref="Rules.RuleManager"/>, the
    /// <see cref="AlertmanagerNotifier"/>, the <see cref="Tsdb.Scrape.ScrapeManager"/>, the
    /// <see cref="RecoveringZooKeeperClient"/> and its current <see cref="ZooKeeperClient"/>, the service registration,
    /// and for the host's whole life the <see cref="ILeadershipGate"/>, the <see cref="MetricRegistry"/> and this object.
    /// Null for a part that is not configured, not started yet or stopped.
    /// </summary>
    /// <typeparam name="T">The part's type.</typeparam>
    /// <returns>The part, or null.</returns>
    public T? GetComponent<T>()
        where T : class
    {
        var parts = _parts;
        return parts.Database as T
            ?? parts.RuleManager as T
            ?? parts.Notifier as T
            ?? parts.Scrape as T
            ?? parts.ZooKeeper as T
            ?? parts.ZooKeeper?.Current as T
            ?? parts.Registration as T
            ?? Leadership as T
            ?? Registry as T
            ?? this as T;
    }

    internal void SetParts(Parts parts) => _parts = parts;

    internal Parts Current => _parts;

    internal DateTimeOffset Now() => _time.GetUtcNow();

    /// <summary>An immutable set of references, swapped as a whole.</summary>
    internal sealed record Parts
    {
        public static readonly Parts None = new();

        public static readonly Parts Stopped = new() { State = MetricsCoordinationState.Stopped };

        public MetricsCoordinationState State { get; init; }

        public DateTimeOffset? StartedAt { get; init; }

        public TimeSeriesDatabase? Database { get; init; }

        public RuleManager? RuleManager { get; init; }

        public AlertmanagerNotifier? Notifier { get; init; }

        public ScrapeManager? Scrape { get; init; }

        public RecoveringZooKeeperClient? ZooKeeper { get; init; }

        public ZooKeeperServiceRegistration? Registration { get; init; }

        public RuleSourceTracker? RuleTracker { get; init; }

        public string? ParticipantId { get; init; }

        public string? ElectionPath { get; init; }
    }
}

/// <summary>How leadership is decided.</summary>
public enum LeadershipMode
{
    /// <summary>No ZooKeeper: this single instance always leads.</summary>
    Local = 0,

    /// <summary>ZooKeeper leader election.</summary>
    ZooKeeper,

    /// <summary>ZooKeeper is configured but election is off: this instance never leads.</summary>
    NotContending,
}

/// <summary>A snapshot of this instance's leadership.</summary>
public sealed record LeadershipStatus
{
    /// <summary>How leadership is decided.</summary>
    public LeadershipMode Mode { get; init; }

    /// <summary>Whether this instance may send notifications now.</summary>
    public bool IsLeader { get; init; }

    /// <summary>The term's fencing token (creation zxid of the election node); 0 when not leader or without terms.</summary>
    public long FencingToken { get; init; }

    /// <summary>This instance's participant id, or null.</summary>
    public string? ParticipantId { get; init; }

    /// <summary>The election path, or null.</summary>
    public string? ElectionPath { get; init; }

    /// <summary>This instance's election node, or null while it has none.</summary>
    public string? ElectionNode { get; init; }

    /// <summary>When the running term started, or null when not leader.</summary>
    public DateTimeOffset? TermStartedAt { get; init; }
}

/// <summary>A snapshot of the ZooKeeper session.</summary>
public sealed record ZooKeeperSessionStatus
{
    /// <summary>The connection/session state.</summary>
    public ZooKeeperState State { get; init; }

    /// <summary>The session id.</summary>
    public long SessionId { get; init; }

    /// <summary>The server connected to (<c>host:port</c>), or null while not connected.</summary>
    public string? Server { get; init; }

    /// <summary>The negotiated session timeout.</summary>
    public TimeSpan SessionTimeout { get; init; }

    /// <summary>Sessions opened so far (1 + replacements after expiry).</summary>
    public int Sessions { get; init; }

    /// <summary>This instance's service registration node, or null.</summary>
    public string? RegistrationNode { get; init; }
}

/// <summary>A snapshot of the TSDB head.</summary>
public sealed record TsdbStatus
{
    /// <summary>The data directory, or null when in memory.</summary>
    public string? Directory { get; init; }

    /// <summary>Series in the head.</summary>
    public long HeadSeries { get; init; }

    /// <summary>The oldest sample in the head, or null when empty.</summary>
    public DateTimeOffset? HeadMinTime { get; init; }

    /// <summary>The newest sample in the head, or null when empty.</summary>
    public DateTimeOffset? HeadMaxTime { get; init; }

    /// <summary>Samples appended since the database opened (WAL replay not included).</summary>
    public long SamplesAppended { get; init; }

    /// <summary>Persisted blocks.</summary>
    public int Blocks { get; init; }

    /// <summary>Every counter the database keeps.</summary>
    public required TsdbStatistics Statistics { get; init; }
}
