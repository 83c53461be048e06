using System.Diagnostics.Metrics;

namespace Metrics.Coordination.ZooKeeper;

/// <summary>
/// The client's instruments on the <c>Metrics.Coordination.ZooKeeper</c> meter: any <see cref="MeterListener"/>
/// (OpenTelemetry, dotnet-counters, our registry's Meter bridge) can publish them; the package depends on no registry.
/// Every measurement is tagged <c>zookeeper.client.name</c>.
/// </summary>
internal sealed class ClientMetrics : IDisposable
{
    public const string MeterName = "Metrics.Coordination.ZooKeeper";

    private static readonly string[] OperationNames = BuildOperationNames();

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly KeyValuePair<string, object?> _clientTag;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _reconnects;
    private readonly Counter<long> _expirations;
    private readonly Counter<long> _watchEvents;
    private readonly Counter<long> _handlerErrors;
    private readonly Counter<long> _connectionLosses;

    public ClientMetrics(IMeterFactory? factory, string clientName, Func<int> outstanding, Func<int> watches, Func<ZooKeeperState> state)
    {
        _ownsMeter = factory is null;
        _meter = factory?.Create(new MeterOptions(MeterName)) ?? new Meter(MeterName);
        _clientTag = new KeyValuePair<string, object?>("zookeeper.client.name", clientName);
        _duration = _meter.CreateHistogram<double>("zookeeper.client.request.duration", "s", "Time from submitting a request to its reply, by operation.");
        _reconnects = _meter.CreateCounter<long>("zookeeper.client.reconnects", "{connection}", "Connections re-established for an existing session.");
        _expirations = _meter.CreateCounter<long>("zookeeper.client.session.expirations", "{session}", "Sessions that expired (server-reported or client-side timer).");
        _watchEvents = _meter.CreateCounter<long>("zookeeper.client.watch.events", "{event}", "Watch notifications received from the server.");
        _handlerErrors = _meter.CreateCounter<long>("zookeeper.client.watch.handler_errors", "{error}", "Exceptions thrown by watch or state handlers (caught and logged).");
        _connectionLosses = _meter.CreateCounter<long>("zookeeper.client.connection.losses", "{connection}", "Connections that dropped.");
        var tag = _clientTag;
        _meter.CreateObservableGauge("zookeeper.client.requests.outstanding", () => new Measurement<int>(outstanding(), tag), "{request}", "Requests sent and not yet answered.");
        _meter.CreateObservableGauge("zookeeper.client.watches", () => new Measurement<int>(watches(), tag), "{watch}", "Registered client-side watches.");
        _meter.CreateObservableGauge("zookeeper.client.connected", () => new Measurement<int>(state() is ZooKeeperState.Connected or ZooKeeperState.ConnectedReadOnly ? 1 : 0, tag), "{connection}", "1 while connected, else 0.");
        _meter.CreateObservableGauge("zookeeper.client.state", () => new Measurement<int>((int)state(), tag), null, "The client state (0 Connecting, 1 Connected, 2 ConnectedReadOnly, 3 Suspended, 4 Expired, 5 AuthFailed, 6 Closed).");
    }

    public bool DurationEnabled => _duration.Enabled;

    public void RecordDuration(OpCode op, TimeSpan elapsed)
    {
        var index = (int)op;
        var name = index >= 0 && index < OperationNames.Length ? OperationNames[index] : "other";
        _duration.Record(elapsed.TotalSeconds, _clientTag, new KeyValuePair<string, object?>("zookeeper.operation", name));
    }

    public void Reconnected() => _reconnects.Add(1, _clientTag);

    public void SessionExpired() => _expirations.Add(1, _clientTag);

    /// <summary>Counts <paramref name="count"/> watch events (0: a warm-up of the path, which changes nothing).</summary>
    public void WatchEvent(int count = 1) => _watchEvents.Add(count, _clientTag);

    public void HandlerError() => _handlerErrors.Add(1, _clientTag);

    public void ConnectionLost() => _connectionLosses.Add(1, _clientTag);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static string[] BuildOperationNames()
    {
        var names = new string[108];
        Array.Fill(names, "other");
        names[(int)OpCode.Create] = "create";
        names[(int)OpCode.Create2] = "create";
        names[(int)OpCode.CreateContainer] = "create";
        names[(int)OpCode.CreateTtl] = "create";
        names[(int)OpCode.Delete] = "delete";
        names[(int)OpCode.Exists] = "exists";
        names[(int)OpCode.GetData] = "get_data";
        names[(int)OpCode.SetData] = "set_data";
        names[(int)OpCode.GetAcl] = "get_acl";
        names[(int)OpCode.SetAcl] = "set_acl";
        names[(int)OpCode.GetChildren] = "get_children";
        names[(int)OpCode.GetChildren2] = "get_children";
        names[(int)OpCode.Sync] = "sync";
        names[(int)OpCode.Multi] = "multi";
        names[(int)OpCode.RemoveWatches] = "remove_watches";
        names[(int)OpCode.GetEphemerals] = "get_ephemerals";
        names[(int)OpCode.GetAllChildrenNumber] = "get_all_children_number";
        names[(int)OpCode.AddWatch] = "add_watch";
        names[(int)OpCode.SetWatches2] = "set_watches";
        return names;
    }
}
