using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Registry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Rules.Notifications;

/// <summary>Options of an <see cref="AlertmanagerNotifier"/>. Validated and copied when the notifier is built.</summary>
public sealed class AlertmanagerNotifierOptions
{
    /// <summary>
    /// The Alertmanagers' base URLs, such as <c>http://alertmanager-1:9093/</c>; every alert goes to each of them
    /// (Alertmanager deduplicates within its cluster). A path in the URL is kept, then <see cref="PathPrefix"/> and
    /// <c>api/v2/alerts</c> are appended. At least one is required; no duplicates, query, fragment or user info
    /// (use <see cref="BasicAuthUsername"/>).
    /// </summary>
    public IList<Uri> Alertmanagers { get; set; } = [];

    /// <summary>
    /// A path prefix inserted before <c>/api/v2/alerts</c> (Prometheus's <c>path_prefix</c>), for an Alertmanager
    /// served under a sub-path (its <c>--web.route-prefix</c>). Default: empty.
    /// </summary>
    public string PathPrefix { get; set; } = string.Empty;

    /// <summary>
    /// Labels added to every alert, as Prometheus adds its <c>external_labels</c>: a label is added only when the alert
    /// has no label of that name (or has it with an empty value), so the alert's own labels win. Names must be valid
    /// label names for Alertmanager 0.25 (<c>[a-zA-Z_][a-zA-Z0-9_]*</c>). Default: none.
    /// </summary>
    public Labels ExternalLabels { get; set; } = Labels.Empty;

    /// <summary>
    /// How many alerts wait for each Alertmanager at most. When a <see cref="AlertmanagerNotifier.Send"/> would
    /// exceed it, the oldest queued alerts are dropped and counted (reason <c>queue_full</c>), as Prometheus does.
    /// Default: 10,000 (Prometheus's <c>--alertmanager.notification-queue-capacity</c>).
    /// </summary>
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>The most alerts in one <c>POST</c>. Default: 64 (Prometheus's batch size).</summary>
    public int MaxBatchSize { get; set; } = 64;

    /// <summary>How long one <c>POST</c> may take before it counts as failed (and is retried). Default: 10 s (Prometheus's Alertmanager <c>timeout</c>).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The delay before the first retry of a batch that failed with 5xx, 429, a timeout or a connection error; it
    /// doubles per attempt up to <see cref="MaxRetryDelay"/>, drawn at random from its upper half (jitter). A
    /// <c>Retry-After</c> in seconds on a 429 or 503 lengthens it, up to <see cref="MaxRetryDelay"/>. Default: 500 ms.
    /// </summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest delay between two attempts of a batch. Default: 5 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long one batch is retried, counted from its first attempt: an attempt that would start later is not made
    /// and the batch is dropped and counted (reason <c>retries_exhausted</c>), so an Alertmanager that stays down does
    /// not hold newer alerts back for ever (the rule manager resends firing alerts anyway). Zero: no retries.
    /// Default: 30 s.
    /// </summary>
    public TimeSpan MaxRetryDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long <see cref="AlertmanagerNotifier.DisposeAsync"/> keeps delivering what is queued (with retries) before
    /// it gives up; what is left is dropped and counted (reason <c>shutdown</c>). Zero: drop at once. Default: 5 s.
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// This replica's id, or null (the default) for none. When set, every alert's <c>generatorURL</c> gets
    /// <c>sender=&lt;id&gt;&amp;term=&lt;fencing token&gt;</c> added to its query (an empty generator URL becomes just that
    /// query): the replica and the leadership term (<see cref="ILeadershipGate.FencingToken"/> when the alert was queued)
    /// that sent it. Alertmanager identifies alerts by their labels only, so this neither splits nor duplicates an alert
    /// when another replica takes over; it shows in Alertmanager's API and UI, so an operator (or a test) can tell which
    /// replica sent what and check that terms never interleave.
    /// </summary>
    public string? SenderId { get; set; }

    /// <summary>The user name for HTTP basic authentication, or null for none. Cannot be combined with <see cref="BearerToken"/>.</summary>
    public string? BasicAuthUsername { get; set; }

    /// <summary>The password for HTTP basic authentication (with <see cref="BasicAuthUsername"/>).</summary>
    public string? BasicAuthPassword { get; set; }

    /// <summary>A bearer token sent as <c>Authorization: Bearer ...</c>, or null for none.</summary>
    public string? BearerToken { get; set; }

    /// <summary>
    /// Whether this replica may notify. Checked when alerts are queued (a non-leader's alerts are dropped at once) and
    /// again right before every <c>POST</c>, including retries: a batch is sent only while the gate is leader with the
    /// same <see cref="ILeadershipGate.FencingToken"/> as when it was queued, so a replica that lost leadership (even
    /// if it regained it since) never sends what it queued before. Dropped alerts are counted (reason
    /// <c>not_leader</c>). Default: <see cref="AlwaysLeaderGate.Instance"/>.
    /// </summary>
    public ILeadershipGate LeadershipGate { get; set; } = AlwaysLeaderGate.Instance;

    /// <summary>
    /// Where the notifier's self-metrics go (<c>metrics_coordination_notifications_*</c>: sent, errors, dropped by
    /// reason, queue length and capacity, latency, Alertmanagers), or null for none. Default: null.
    /// </summary>
    public MetricRegistry? Registry { get; set; }

    /// <summary>
    /// The handler requests go through (tests, proxies, custom TLS); not disposed by the notifier. Default: null (a
    /// <see cref="SocketsHttpHandler"/> is created and owned).
    /// </summary>
    public HttpMessageHandler? HttpMessageHandler { get; set; }

    /// <summary>The clock for retry delays, timeouts and latency. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where delivery problems are logged (event IDs 3500–3599). Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;
}
