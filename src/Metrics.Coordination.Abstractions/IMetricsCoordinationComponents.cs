namespace Metrics.Coordination.Abstractions;

/// <summary>
/// The running components of a host that creates them when it starts (the TSDB, the rule manager, the ZooKeeper
/// session, ...) and closes them when it stops, for consumers that are wired before that: HTTP endpoints mapped at
/// build time, health checks. <c>Metrics.Coordination.Hosting</c> registers one in dependency injection
/// (<c>AddMetricsCoordination</c>); <c>Metrics.Coordination.AspNetCore</c>'s Prometheus API and status page read it
/// on every request, so neither package depends on the other. Implementations are thread-safe and cheap to call.
/// </summary>
/// <remarks>
/// Defined here, in the package every other one references, because its consumers and its implementer share no other
/// package; the components themselves are typed by the consumer (<c>GetComponent&lt;RuleManager&gt;()</c>), in the
/// way ASP.NET Core's feature collections are.
/// </remarks>
public interface IMetricsCoordinationComponents
{
    /// <summary>Where the host is in its life: only <see cref="MetricsCoordinationState.Running"/> means the components are usable.</summary>
    MetricsCoordinationState State { get; }

    /// <summary>
    /// The component assignable to <typeparamref name="T"/> (a class or an interface such as the storage's
    /// <c>IQueryable</c>), or null when the host has none: not configured, not started yet, or already stopped. A
    /// component returned while <see cref="State"/> is not <see cref="MetricsCoordinationState.Running"/> may be
    /// closing; read <see cref="State"/> first.
    /// </summary>
    /// <typeparam name="T">The component's type.</typeparam>
    /// <returns>The component, or null.</returns>
    T? GetComponent<T>()
        where T : class;
}

/// <summary>Where a host's components are in their life (<see cref="IMetricsCoordinationComponents.State"/>).</summary>
public enum MetricsCoordinationState
{
    /// <summary>Not started yet, or starting (opening the TSDB, connecting to ZooKeeper, loading rules).</summary>
    Starting = 0,

    /// <summary>Every configured component has started and none has stopped.</summary>
    Running,

    /// <summary>The host is stopping its components.</summary>
    Stopping,

    /// <summary>The components are closed (the host stopped, or its start failed).</summary>
    Stopped,
}
