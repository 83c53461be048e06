using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.Hosting;

/// <summary>
/// Settings of <see cref="MetricsCoordinationServiceCollectionExtensions.AddMetricsCoordination(Microsoft.Extensions.DependencyInjection.IServiceCollection, Microsoft.Extensions.Configuration.IConfiguration)"/>,
/// usually bound from the <c>MetricsCoordination</c> section of <c>appsettings.json</c>. Every part is optional: the
/// TSDB runs unless <see cref="HostedTsdbOptions.Enabled"/> is false; rules run when rule files or a ZooKeeper rule
/// path are set; notifications go out when Alertmanager URLs are set; ZooKeeper (election, registration, rules from
/// ZooKeeper) is used only when <see cref="HostedZooKeeperOptions.ConnectionString"/> is set — without it this
/// instance is always the leader and needs no external server. Validated when the host starts.
/// </summary>
public sealed class MetricsCoordinationOptions
{
    /// <summary>The configuration section the settings are usually read from: <c>MetricsCoordination</c>.</summary>
    public const string SectionName = "MetricsCoordination";

    /// <summary>The embedded time-series database, self-collection and scrape targets.</summary>
    public HostedTsdbOptions Tsdb { get; set; } = new();

    /// <summary>Rule files and evaluation.</summary>
    public HostedRulesOptions Rules { get; set; } = new();

    /// <summary>Where alerts are sent.</summary>
    public HostedAlertingOptions Alerting { get; set; } = new();

    /// <summary>The ZooKeeper ensemble: leader election, service registration, rules stored in ZooKeeper.</summary>
    public HostedZooKeeperOptions ZooKeeper { get; set; } = new();
}

/// <summary>The embedded TSDB part (<see cref="Tsdb.TimeSeriesDatabase"/>).</summary>
public sealed class HostedTsdbOptions
{
    /// <summary>Whether the TSDB (and with it self-collection, scraping and rules) runs. Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The data directory (blocks and WAL); a relative path is relative to the host's content root. Null or empty (the
    /// default) keeps everything in memory: nothing survives a restart.
    /// </summary>
    public string? DataDirectory { get; set; }

    /// <summary>Blocks older than this behind the newest are deleted (<c>--storage.tsdb.retention.time</c>). Default: 15 days; zero turns it off.</summary>
    public TimeSpan RetentionTime { get; set; } = TimeSpan.FromDays(15);

    /// <summary>The oldest blocks are deleted while the data directory is larger than this many bytes. Default: 0 (off).</summary>
    public long RetentionSize { get; set; }

    /// <summary>Collection of this process's own <see cref="Registry.MetricRegistry"/> into the TSDB (no HTTP round trip).</summary>
    public HostedSelfCollectionOptions SelfCollection { get; set; } = new();

    /// <summary>Scrape jobs: <c>/metrics</c> endpoints of other processes scraped into the TSDB. Default: none.</summary>
    public IList<HostedScrapeJobOptions> ScrapeJobs { get; set; } = [];
}

/// <summary>Self-collection (<see cref="Tsdb.Ingestion.RegistryIngestion"/>).</summary>
public sealed class HostedSelfCollectionOptions
{
    /// <summary>Whether the registry is collected into the TSDB. Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often. Default: 15 s.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The <c>job</c> label. Default: <c>self</c>.</summary>
    public string Job { get; set; } = "self";

    /// <summary>The <c>instance</c> label. Default: <c>localhost</c>.</summary>
    public string Instance { get; set; } = "localhost";
}

/// <summary>One scrape job with static targets (a Prometheus <c>scrape_config</c> with <c>static_configs</c>).</summary>
public sealed class HostedScrapeJobOptions
{
    /// <summary>The job name (the <c>job</c> label). Required, unique.</summary>
    public string JobName { get; set; } = string.Empty;

    /// <summary>The targets as <c>host:port</c>. Required (at least one).</summary>
    public IList<string> Targets { get; set; } = [];

    /// <summary>Labels added to every target. Default: none.</summary>
    public IDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>How often each target is scraped. Default: 1 minute.</summary>
    public TimeSpan ScrapeInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a scrape may take; at most the interval. Default: 10 s or the interval when shorter.</summary>
    public TimeSpan? ScrapeTimeout { get; set; }

    /// <summary>The path scraped. Default: <c>/metrics</c>.</summary>
    public string MetricsPath { get; set; } = "/metrics";

    /// <summary><c>http</c> or <c>https</c>. Default: <c>http</c>.</summary>
    public string Scheme { get; set; } = "http";

    /// <summary>Keep scraped labels that clash with target labels. Default: false.</summary>
    public bool HonorLabels { get; set; }
}

/// <summary>The rules part (<see cref="Rules.RuleManager"/>). It runs when <see cref="Files"/> or <see cref="ZooKeeperPath"/> is set.</summary>
public sealed class HostedRulesOptions
{
    /// <summary>
    /// Rule files on disk, as paths or globs (<c>*</c> and <c>?</c> in the file name part, like
    /// <c>rules/*.yml</c>); relative paths are relative to the host's content root. Reloaded when a matching file is
    /// created, changed or deleted; a set with any broken file is refused and the last good set keeps running. Default: none.
    /// </summary>
    public IList<string> Files { get; set; } = [];

    /// <summary>
    /// A ZooKeeper node holding a rule file (<see cref="ZooKeeperMode"/> <see cref="ConfigWatchMode.Node"/>), or the
    /// root of a subtree whose every node with data is a rule file (<see cref="ConfigWatchMode.Subtree"/>). Reloaded on
    /// change on every replica; a broken version keeps that node's last good version. Needs
    /// <see cref="HostedZooKeeperOptions.ConnectionString"/>. Default: none.
    /// </summary>
    public string? ZooKeeperPath { get; set; }

    /// <summary>Whether <see cref="ZooKeeperPath"/> is one node or a subtree. Default: <see cref="ConfigWatchMode.Node"/>.</summary>
    public ConfigWatchMode ZooKeeperMode { get; set; } = ConfigWatchMode.Node;

    /// <summary>The evaluation interval of groups that set none. Default: 1 minute.</summary>
    public TimeSpan EvaluationInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often a firing alert is re-sent. Default: 1 minute.</summary>
    public TimeSpan ResendDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How often rule files on disk are checked for changes besides file-system notifications (which can be missed,
    /// e.g. on network file systems). Default: 10 s; zero turns the check off.
    /// </summary>
    public TimeSpan FileCheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The URL alert templates see as <c>$externalURL</c> and generator URLs start with. Default: empty.</summary>
    public string ExternalUrl { get; set; } = string.Empty;

    /// <summary>Labels added to every alert sent and visible to templates as <c>$externalLabels</c>. Default: none.</summary>
    public IDictionary<string, string> ExternalLabels { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>Where alerts go (<see cref="Rules.Notifications.AlertmanagerNotifier"/>).</summary>
public sealed class HostedAlertingOptions
{
    /// <summary>Alertmanager base URLs such as <c>http://127.0.0.1:9093</c>. Default: none (alerts are evaluated, not sent).</summary>
    public IList<string> Alertmanagers { get; set; } = [];

    /// <summary>A path prefix before <c>api/v2/alerts</c> (Alertmanager's <c>--web.route-prefix</c>). Default: none.</summary>
    public string? PathPrefix { get; set; }

    /// <summary>How long queued notifications may still be delivered when the host stops. Default: 5 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Whether stopping the host sends the firing alerts as resolved (only while this instance is the leader). Default
    /// (null): yes without ZooKeeper, no with ZooKeeper.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Without ZooKeeper the instance is the only evaluator: its alerts end with it, and resolving them at once tells
    /// receivers so instead of leaving the alerts to expire at their <c>endsAt</c> (4 × the resend delay, or the evaluation interval when longer, after the last send).
    /// </para>
    /// <para>
    /// With ZooKeeper a replica usually stops while the others continue (a rolling deploy, a scale-in), and the next
    /// leader keeps firing the same alerts with the same <c>startsAt</c> from the handed-over state. A resolution from
    /// the stopping leader would reach Alertmanager first and be contradicted moments later by the next leader's firing
    /// notification: Alertmanager would flap the alert (resolved, then firing again, each sent to receivers), which
    /// the hand-over exists to prevent. When the whole fleet goes away, Alertmanager resolves the alerts by itself once
    /// no replica re-sends them. Set <c>true</c> with ZooKeeper only for fleets that are always stopped as a whole.
    /// </para>
    /// </remarks>
    public bool? ResolveOnStop { get; set; }
}

/// <summary>The ZooKeeper part: connection, leader election, service registration.</summary>
public sealed class HostedZooKeeperOptions
{
    /// <summary>
    /// The ensemble (<c>host:port,host:port/chroot</c>). Null or empty (the default): no ZooKeeper; this instance is
    /// always the leader (<see cref="Rules.Notifications.AlwaysLeaderGate"/>).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>The requested session timeout. Default: 10 s.</summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the host waits for the first session when starting. Default: 15 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Leader election gating notifications.</summary>
    public HostedElectionOptions Election { get; set; } = new();

    /// <summary>Registration of this instance as a serverset (or Curator) member.</summary>
    public HostedRegistrationOptions Registration { get; set; } = new();
}

/// <summary>Leader election (<see cref="LeaderLatch"/>): only the leader sends notifications.</summary>
public sealed class HostedElectionOptions
{
    /// <summary>Whether this instance contends. When false (with ZooKeeper configured) it never sends notifications. Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The election node; contenders are its children. Default: <c>/metrics-coordination/leader</c>.</summary>
    public string Path { get; set; } = "/metrics-coordination/leader";

    /// <summary>This contender's id as other replicas see it. Default: <c>&lt;machine name&gt;:&lt;process id&gt;</c>.</summary>
    public string? ParticipantId { get; set; }

    /// <summary>
    /// Where the leader publishes its alert state so that the next leader continues pending and firing alerts with the
    /// same <c>for</c> clocks and <c>startsAt</c> (<see cref="ZooKeeperAlertStateStore"/>: one znode per rule group,
    /// fenced by the term's token). Empty: no hand-over (a new leader starts from its own evaluation state). Every
    /// replica of a fleet must use the same path. Default: <c>/metrics-coordination/alert-state</c>.
    /// </summary>
    public string? AlertStatePath { get; set; } = ZooKeeperAlertStateStore.DefaultRootPath;
}

/// <summary>Service registration (<see cref="ZooKeeperServiceRegistration"/>). Runs when <see cref="Path"/> and <see cref="Port"/> are set.</summary>
public sealed class HostedRegistrationOptions
{
    /// <summary>The serverset path (or Curator base path). Default: none (no registration).</summary>
    public string? Path { get; set; }

    /// <summary>The host name or address other processes reach this instance at. Default: the machine name.</summary>
    public string? Host { get; set; }

    /// <summary>The port (e.g. of <c>/metrics</c>). Required when <see cref="Path"/> is set.</summary>
    public int Port { get; set; }

    /// <summary>Serverset (what Prometheus's <c>serverset_sd_configs</c> reads) or Curator. Default: serverset.</summary>
    public ServiceFormat Format { get; set; } = ServiceFormat.Serverset;

    /// <summary>Curator: the service name. Required for Curator.</summary>
    public string? ServiceName { get; set; }
}
