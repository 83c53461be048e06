// One replica of an app whose alerts are highly available: every replica evaluates ha.rules.yml, the replica that
// holds the ZooKeeper leader latch sends to Alertmanager, and when it dies the next leader continues the alerts (same
// startsAt, for clocks not restarted) from the state the leader published in ZooKeeper.
//
//   dotnet run --project samples/HaAlerting -- <replica id> <ZooKeeper connection string> <Alertmanager URL>
//
// run.sh starts a 3-member ZooKeeper ensemble, an Alertmanager and three replicas on loopback, kills the leader and
// shows the alert continuing. Every alert's generatorURL ends with sender=<replica id>&term=<fencing token>.
using Metrics.Coordination.Hosting;
using Metrics.Coordination.Rules.Notifications;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var id = args.Length > 0 ? args[0] : "replica-1";
var zooKeeper = args.Length > 1 ? args[1] : "127.0.0.1:2181";
var alertmanager = args.Length > 2 ? args[2] : "http://127.0.0.1:9093";

var builder = Host.CreateApplicationBuilder();
builder.Logging.AddFilter("Metrics.Coordination", LogLevel.Information);
builder.Services.AddMetricsCoordination(o =>
{
    o.ZooKeeper.ConnectionString = zooKeeper;
    o.ZooKeeper.SessionTimeout = TimeSpan.FromSeconds(4);
    o.ZooKeeper.Election.Path = "/samples/ha-alerting/leader";
    o.ZooKeeper.Election.ParticipantId = id;
    o.ZooKeeper.Election.AlertStatePath = "/samples/ha-alerting/alert-state";
    o.Tsdb.SelfCollection.Enabled = false;
    o.Rules.Files.Add(Path.Combine(AppContext.BaseDirectory, "ha.rules.yml"));
    o.Rules.EvaluationInterval = TimeSpan.FromSeconds(1);
    o.Rules.ResendDelay = TimeSpan.FromSeconds(5);
    o.Alerting.Alertmanagers.Add(alertmanager);
});

using var host = builder.Build();
await host.StartAsync();
var gate = host.Services.GetRequiredService<ILeadershipGate>();
gate.Changed += (_, _) => Console.WriteLine($"[{id}] {(gate.IsLeader ? $"LEADER (term {gate.FencingToken})" : "not leader")}");
Console.WriteLine($"[{id}] {(gate.IsLeader ? $"LEADER (term {gate.FencingToken})" : "not leader")}");
Console.WriteLine($"[{id}] running: ZooKeeper {zooKeeper}, Alertmanager {alertmanager}; Ctrl+C stops");
await host.WaitForShutdownAsync();
