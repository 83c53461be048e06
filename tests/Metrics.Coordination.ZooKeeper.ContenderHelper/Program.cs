// A LeaderLatch contender in its own process.
//
// Arguments: <connectString> <latchPath> <participantId> <sessionTimeoutMs> [actLogFile]
// stdin: "close" (stop acting, close the latch: node deleted, then exit 0), "exit" (exit at once, session left to
// expire). EOF on stdin (the test host went away) exits like "exit". "handover" (failover measurement): read the
// clock, close the latch, then report that time as CLOSING (so the stdout write is not inside the measured interval)
// and CLOSED once the delete is done; the process and its session stay until "quit" (close the session, exit 0), so
// the session's closing and the process's exit do not share the machine with the hand-over being measured.
// Environment: CONTENDER_WARMUP=1 runs one hand-over on a private path first; CONTENDER_WATCH_AHEAD=1 sets
// LeaderLatchOptions.WatchTwoAhead; CONTENDER_TRACE=<dir> (diagnostics) records the runtime's JIT, type-load, R2R
// binding, GC and thread-pool events with marks at "handover" and at IsLeader, written to <dir>/<pid>.trace on "quit"
// (what a cold process does for the first time during a hand-over).
// stdout (one event per line; times are Stopwatch timestamps in ns = CLOCK_MONOTONIC, comparable across processes):
//   READY <sessionId-hex>
//   LEADER <ns> <fencingToken-hex>
//   NOTLEADER <ns> <fencingToken-hex> <reason>
//   CLOSING <ns> / CLOSED <ns>
// With actLogFile: every ~5 ms the contender "acts" if it leads: it reads the clock (before), checks
// latch.HasLeadership, reads the clock again (after) and appends "A <token-hex> <before> <after>" to the file (one
// write, flushed). A term's acting interval is [first before, last after]: the chaos test checks that no two overlap.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Metrics.Coordination.ZooKeeper;
using Metrics.Coordination.ZooKeeper.Recipes;

var connect = args[0];
var path = args[1];
var id = args[2];
var sessionMs = int.Parse(args[3], CultureInfo.InvariantCulture);
var actLog = args.Length > 4 ? args[4] : null;
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

RuntimeTrace.StartIfAsked();
var client = await RecoveringZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
{
    ConnectionString = connect,
    SessionTimeout = TimeSpan.FromMilliseconds(sessionMs),
    ConnectTimeout = TimeSpan.FromSeconds(30),
});
if (Environment.GetEnvironmentVariable("CONTENDER_WARMUP") == "1")
{
    // Optional: run one hand-over on a private path first, so the measured hand-over does not pay for JIT-compiling
    // the election code on first use (the failover measurement reports cold and warm processes separately).
    var warmPath = path + "-warmup-" + Guid.NewGuid().ToString("N");
    var first = new LeaderLatch(client, new LeaderLatchOptions { Path = warmPath, ParticipantId = "w1" });
    var second = new LeaderLatch(client, new LeaderLatchOptions { Path = warmPath, ParticipantId = "w2" });
    first.AddListener(new Listener(_ => { }));
    second.AddListener(new Listener(_ => { }));
    first.Start();
    await first.WaitForLeadershipAsync();
    second.Start();
    while (second.NodePath is null)
    {
        await Task.Delay(5);
    }

    await first.CloseAsync();
    await second.WaitForLeadershipAsync();
    await second.CloseAsync();
}

var latch = new LeaderLatch(client, new LeaderLatchOptions
{
    Path = path,
    ParticipantId = id,
    CloseMode = LeaderLatchCloseMode.NotifyLeader,
    WatchTwoAhead = Environment.GetEnvironmentVariable("CONTENDER_WATCH_AHEAD") == "1",
});
latch.AddListener(new Listener(Emit));
latch.Start();
Emit("READY " + client.Current.SessionId.ToString("x", CultureInfo.InvariantCulture));

using var stop = new CancellationTokenSource();
var acting = actLog is null ? Task.CompletedTask : ActAsync(actLog, stop.Token);

while (Console.In.ReadLine() is { } line)
{
    switch (line.Trim())
    {
        case "close":
            await stop.CancelAsync();
            await acting;
            Emit("CLOSING " + Now().ToString(CultureInfo.InvariantCulture));
            await latch.CloseAsync();
            Emit("CLOSED " + Now().ToString(CultureInfo.InvariantCulture));
            await client.DisposeAsync();
            return 0;
        case "handover":
            {
                await stop.CancelAsync();
                await acting;
                var before = Now();
                RuntimeTrace.Instance?.Mark("HANDOVER");
                var closing = latch.CloseAsync();
                Emit("CLOSING " + before.ToString(CultureInfo.InvariantCulture));
                await closing;
                Emit("CLOSED " + Now().ToString(CultureInfo.InvariantCulture));
                break;
            }

        case "mark":
            // Diagnostics: a method compiled only now marks this point in a JIT log (DOTNET_JitStdOutFile with
            // DOTNET_JitDisasmSummary=1), so what a later hand-over compiles for the first time can be listed.
            JitMarker();
            break;
        case "quit":
            RuntimeTrace.Instance?.Write();
            await client.DisposeAsync();
            return 0;
        case "exit":
            Environment.Exit(0);
            break;
        default:
            break;
    }
}

Environment.Exit(0);
return 0;

[System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
static void JitMarker()
{
}

async Task ActAsync(string file, CancellationToken token)
{
    await using var stream = new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
    var buffer = new byte[128];
    while (!token.IsCancellationRequested)
    {
        var before = Now();
        if (latch.HasLeadership && latch.CurrentTerm is { } term)
        {
            var after = Now();
            var n = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"A {term.FencingToken:x} {before} {after}\n"), buffer);
            stream.Write(buffer, 0, n);
            stream.Flush();
        }

        try
        {
            await Task.Delay(5, token);
        }
        catch (OperationCanceledException)
        {
            return;
        }
    }
}

internal sealed class Listener(Action<string> emit) : ILeaderLatchListener
{
    private static long Now() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

    public void IsLeader(LeaderTerm term)
    {
        RuntimeTrace.Instance?.Mark("LEADER");
        emit(string.Create(CultureInfo.InvariantCulture, $"LEADER {Now()} {term.FencingToken:x}"));
    }

    public void NotLeader(LeaderTerm term, LeadershipLossReason reason) => emit(string.Create(CultureInfo.InvariantCulture, $"NOTLEADER {Now()} {term.FencingToken:x} {reason}"));
}
