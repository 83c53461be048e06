using Metrics.Coordination.Rules;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Rules.PromQL;
using Metrics.Coordination.Tsdb;
using Metrics.Coordination.ZooKeeper;

namespace Metrics.Coordination.AspNetCore;

/// <summary>
/// Settings of the status page mapped by
/// <see cref="StatusPageEndpointRouteBuilderExtensions.MapMetricsStatusPage"/>. Every component is optional: one left
/// null is resolved on each request from the <see cref="Components"/> callback, then dependency injection, then the
/// registered <see cref="Abstractions.IMetricsCoordinationComponents"/> (what <c>AddMetricsCoordination</c> starts, so
/// an app using Metrics.Coordination.Hosting sets none of them); a section whose component is found nowhere says it is
/// not configured, or that the host is still starting. The options are copied when the page is mapped; later changes
/// have no effect.
/// </summary>
public sealed class StatusPageOptions
{
    /// <summary>The page heading and title. Default <c>Metrics.Coordination</c>.</summary>
    public string Title { get; set; } = "Metrics.Coordination";

    /// <summary>Rule groups and alerts come from this manager. Default null: the <see cref="Rules.RuleManager"/> registered in DI.</summary>
    public RuleManager? RuleManager { get; set; }

    /// <summary>The leadership shown (leader or not, fencing token). Default null: the <see cref="ILeadershipGate"/> registered in DI.</summary>
    public ILeadershipGate? LeadershipGate { get; set; }

    /// <summary>
    /// The ZooKeeper session shown. Default null: the <see cref="ZooKeeperClient"/> registered in DI, else the current
    /// client of a registered <see cref="ZooKeeper.Recipes.RecoveringZooKeeperClient"/>.
    /// </summary>
    public ZooKeeperClient? ZooKeeperClient { get; set; }

    /// <summary>The database whose head statistics are shown. Default null: the <see cref="TimeSeriesDatabase"/> registered in DI.</summary>
    public TimeSeriesDatabase? Database { get; set; }

    /// <summary>
    /// What the graph queries. Default null: <see cref="Database"/> (or the DI database), else the
    /// <see cref="IQueryable"/> registered in DI.
    /// </summary>
    public IQueryable? Queryable { get; set; }

    /// <summary>
    /// Called on every request for components that exist only once the host has started (a hosting layer that opens
    /// the TSDB and builds the rule manager in a hosted service, say). What it returns fills the properties above that
    /// are null; what it leaves null comes from DI. Default null. Not needed with <c>AddMetricsCoordination</c>
    /// (Metrics.Coordination.Hosting), whose components the page finds through <see cref="Abstractions.IMetricsCoordinationComponents"/>.
    /// </summary>
    public Func<IServiceProvider, StatusPageComponents?>? Components { get; set; }

    /// <summary>The engine that evaluates the graph's expression. Default null: the <see cref="PromQLEngine"/> registered in DI, else one with default options.</summary>
    public PromQLEngine? Engine { get; set; }

    /// <summary>The clock for "now" and the graph's end time. Default null: the <see cref="System.TimeProvider"/> registered in DI, else the system clock.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>The expression graphed when the request names none (no <c>expr</c> field). Default null: no graph until one is entered.</summary>
    public string? DefaultExpression { get; set; }

    /// <summary>The graph's time range when the request names none (no <c>range</c> field). Default 1 hour.</summary>
    public TimeSpan DefaultGraphRange { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The longest range a request may ask for; longer ones are refused with a message. Default 31 days.</summary>
    public TimeSpan MaxGraphRange { get; set; } = TimeSpan.FromDays(31);

    /// <summary>Points per series in the graph: the query step is the range divided by this. Default 240; 2 to 11,000 (Prometheus's per-series limit).</summary>
    public int GraphPoints { get; set; } = 240;

    /// <summary>At most this many series are drawn; the page says how many more the result held. Default 20; 1 to 1,000.</summary>
    public int MaxGraphSeries { get; set; } = 20;
}

/// <summary>The components a <see cref="StatusPageOptions.Components"/> callback hands the status page for one request; each may be null.</summary>
public sealed class StatusPageComponents
{
    /// <summary>Rule groups and alerts come from this manager.</summary>
    public RuleManager? RuleManager { get; init; }

    /// <summary>The leadership shown.</summary>
    public ILeadershipGate? LeadershipGate { get; init; }

    /// <summary>The ZooKeeper session shown.</summary>
    public ZooKeeperClient? ZooKeeperClient { get; init; }

    /// <summary>The database whose head statistics are shown (and which the graph queries unless <see cref="Queryable"/> is set).</summary>
    public TimeSeriesDatabase? Database { get; init; }

    /// <summary>What the graph queries.</summary>
    public IQueryable? Queryable { get; init; }
}
