// One replica of an app using Metrics.Coordination.Hosting, in its own process.
//
// Arguments: <zkConnect> <electionPath> <replicaId> <sessionTimeoutMs> <alertmanagerUrl> <ruleFile> <evalIntervalMs> <resendDelayMs>
// The app: in-memory TSDB, the rule file, Alertmanager notification gated by the ZooKeeper election, alert state
// hand-over through ZooKeeper, sender tag = the replica id.
// stdout (one event per line; times are CLOCK_MONOTONIC ns, comparable across processes):
//   READY <ns>                      the host started
//   LEADER <ns> <fencingToken>      the leadership gate opened (polled every 5 ms)
//   NOTLEADER <ns> <fencingToken>   it closed (the token of the term that ended)
// stdin: "exit" or EOF (the test host went away) exits at once. The test SIGKILLs it to simulate a crash.
// Logs go to stderr.
using System.Diagnostics;
using System.Globalization;
using Metrics.Coordination.Hosting;
using Metrics.Coordination.Rules.Notifications;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var connect = args[0];
var electionPath = args[1];
var id = args[2];
var sessionMs = int.Parse(args[3], CultureInfo.InvariantCulture);
var alertmanager = args[4];
var ruleFile = args[5];
var intervalMs = int.Parse(args[6], CultureInfo.InvariantCulture);
var resendMs = int.Parse(args[7], CultureInfo.InvariantCulture);
var stdoutLock = new Lock();

void Emit(string line)
{
    lock (stdoutLock)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }
}

static long Now() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
builder.Logging.ClearProviders();
builder.Logging.SetMinimumLevel(LogLevel.Information);
builder.Logging.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff ");
builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Services.AddMetricsCoordination(o =>
{
    o.ZooKeeper.ConnectionString = connect;
    o.ZooKeeper.SessionTimeout = TimeSpan.FromMilliseconds(sessionMs);
    o.ZooKeeper.ConnectTimeout = TimeSpan.FromSeconds(30);
    o.ZooKeeper.Election.Path = electionPath;
    o.ZooKeeper.Election.ParticipantId = id;
    o.Tsdb.SelfCollection.Enabled = false;
    o.Rules.Files.Add(ruleFile);
    o.Rules.EvaluationInterval = TimeSpan.FromMilliseconds(intervalMs);
    o.Rules.ResendDelay = TimeSpan.FromMilliseconds(resendMs);
    o.Rules.ExternalUrl = "http://" + id + ".replicas.test";
    o.Alerting.Alertmanagers.Add(alertmanager);
});

using var host = builder.Build();
await host.StartAsync();
Emit("READY " + Now().ToString(CultureInfo.InvariantCulture));

var gate = host.Services.GetRequiredService<ILeadershipGate>();
using var stop = new CancellationTokenSource();
var watch = Task.Run(async () =>
{
    var wasLeader = false;
    long token = 0;
    while (!stop.IsCancellationRequested)
    {
        var t = gate.FencingToken;
        var leader = gate.IsLeader && t != 0;
        if (leader != wasLeader || (leader && t != token))
        {
            if (wasLeader)
            {
                Emit(string.Create(CultureInfo.InvariantCulture, $"NOTLEADER {Now()} {token}"));
            }

            if (leader)
            {
                Emit(string.Create(CultureInfo.InvariantCulture, $"LEADER {Now()} {t}"));
            }

            wasLeader = leader;
            token = t;
        }

        await Task.Delay(5);
    }
});

while (Console.In.ReadLine() is { } line)
{
    if (line.Trim() == "exit")
    {
        break;
    }
}

// The test host went away (or asked us to go): exit without a graceful stop, as a crash would.
Environment.Exit(0);
