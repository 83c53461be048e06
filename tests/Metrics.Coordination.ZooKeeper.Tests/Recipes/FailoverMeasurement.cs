using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper.Recipes.Internal;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes;

/// <summary>
/// Failover times of our LeaderLatch and Curator 5.4's, measured in the same run, 3 contender processes per group:
/// graceful close → next leader (3-member ensemble and a standalone server), and SIGKILL of the leader process → next
/// leader for 2 s and 10 s sessions (end to end, and from the server's deletion of the dead leader's node, as seen by
/// an independent watcher, to the next leader's callback). "ours-warm" processes run one hand-over on a private path
/// before joining (what a service that already went through an election looks like); "ours-warm-ahead" are warm
/// processes with <see cref="LeaderLatchOptions.WatchTwoAhead"/>. A measurement, not a test: Explicit (outside the CI
/// budget; about 6 minutes, the graceful part alone about 3). Run with
/// <c>dotnet test tests/Metrics.Coordination.ZooKeeper.Tests -c Release --filter FullyQualifiedName~FailoverMeasurement</c>
/// (or <c>~FailoverMeasurement.GracefulHandOver</c>; environment <c>FAILOVER_SERVERS=standalone</c> or
/// <c>3-member</c>, <c>FAILOVER_TRIALS</c>, <c>FAILOVER_GROUPS=ours,curator,...</c>; <c>ours-base</c> is our contender
/// from another build, <c>FAILOVER_BASELINE_DIR</c>, for an A/B in one run; <c>FAILOVER_SIGKILL_SESSIONS</c>,
/// <c>FAILOVER_SIGKILL_TRIALS</c>; <c>FAILOVER_LOAD=N</c> runs N CPU-bound processes throughout, see <see cref="CpuLoad"/>)
/// and copy the tables into benchmarks/README.md. Every graceful trial is also appended to <c>$TMPDIR/election-handover-trials.tsv</c> (times
/// and session ids, to line up with a packet capture).
/// </summary>
/// <remarks>
/// SIGKILL trials are paired: ours and Curator's leaders are killed in the same trial at the same phase of the
/// server's expiry tick (the server expires sessions on multiples of tickTime of CLOCK_MONOTONIC, so the second kill
/// is exactly a whole number of ticks after the first, far enough apart that the two expiries never share a tick), at a
/// random instant (uniform over two ticks) so neither the tick phase nor the leaders' ping phase follows from the
/// harness's own rhythm. The per-trial difference ours − Curator is reported with a bootstrap interval of its mean.
/// </remarks>
[Explicit("A measurement of several minutes; run by hand, figures go to benchmarks/README.md")]
[Category("Benchmark")]
[Category("Integration")]
public class FailoverMeasurement
{
    private const int GracefulTrials = 15;

    // A replacement contender joins this long before the next close, so its start-up (JIT and class loading, the
    // latch's warm-up) does not share the 2 cores with the hand-over being measured (same for both implementations).
    // FAILOVER_SETTLE_MS overrides it (0: the earlier harness, which closed as soon as the queue was full again).
    private static int SettleMs() =>
        Environment.GetEnvironmentVariable("FAILOVER_SETTLE_MS") is { Length: > 0 } ms ? int.Parse(ms, CultureInfo.InvariantCulture) : 500;
    private const int TickMs = 1000; // ZooKeeperServerOptions' default tickTime
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Test]
    public async Task Failover_OursAndCurator_GracefulAndSigkill_PrintsTable()
    {
        var table = Header();
        var paired = PairedHeader();
        var random = new Random(8);
        await using (var ensemble = await ZooKeeperEnsemble.StartAsync(3))
        {
            await using var watcher = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = ensemble.ConnectionString });
            await GracefulAsync(table, "3-member", ensemble.ConnectionString, watcher, GracefulGroups());
            await SigkillAsync(table, paired, ensemble.ConnectionString, watcher, 2000, trials: 20, spacingTicks: 3, random);
            await SigkillAsync(table, paired, ensemble.ConnectionString, watcher, 10000, trials: 7, spacingTicks: 6, random);
        }

        await using (var server = await ZooKeeperServer.StartAsync())
        {
            await using var watcher = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = server.ConnectionString });
            await GracefulAsync(table, "standalone", server.ConnectionString, watcher, GracefulGroups());
        }

        var output = table + Environment.NewLine + paired;
        TestContext.Out.WriteLine(output);
        await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "election-failover.md"), output);
    }

    /// <summary>The SIGKILL trials alone (3-member ensemble, 2 s and 10 s sessions; about 4 minutes).</summary>
    [Test]
    public async Task SigkillHandOver_OursAndCurator_PrintsTable()
    {
        using var load = CpuLoad.StartIfAsked();
        var table = Header();
        var paired = PairedHeader();
        var random = new Random(8);
        await using (var ensemble = await ZooKeeperEnsemble.StartAsync(3, ServerOptions()))
        {
            await using var watcher = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = ensemble.ConnectionString });
            foreach (var (sessionMs, trials, spacingTicks) in SigkillRuns())
            {
                await SigkillAsync(table, paired, ensemble.ConnectionString, watcher, sessionMs, trials, spacingTicks, random);
            }
        }

        var output = table + Environment.NewLine + paired + Environment.NewLine + load.Describe();
        TestContext.Out.WriteLine(output);
        await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "election-sigkill.md"), output);
    }

    /// <summary>The graceful hand-over alone (both servers unless <c>FAILOVER_SERVERS</c> names one).</summary>
    [Test]
    public async Task GracefulHandOver_OursAndCurator_PrintsTable()
    {
        using var load = CpuLoad.StartIfAsked();
        var table = Header();
        var servers = (Environment.GetEnvironmentVariable("FAILOVER_SERVERS") is { Length: > 0 } s ? s : "3-member,standalone").Split(',');
        if (servers.Contains("3-member"))
        {
            await using var ensemble = await ZooKeeperEnsemble.StartAsync(3, ServerOptions());
            await using var watcher = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = ensemble.ConnectionString });
            await GracefulAsync(table, "3-member", ensemble.ConnectionString, watcher, GracefulGroups());
        }

        if (servers.Contains("standalone"))
        {
            await using var server = await ZooKeeperServer.StartAsync(ServerOptions());
            await using var watcher = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = server.ConnectionString });
            await GracefulAsync(table, "standalone", server.ConnectionString, watcher, GracefulGroups());
        }

        table.AppendLine().AppendLine(load.Describe());
        TestContext.Out.WriteLine(table.ToString());
        await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "election-handover.md"), table.ToString());
    }

    /// <summary>
    /// How often an idle contender (the leader, after its election) sends anything to the server, which is when the
    /// server's expiry countdown restarts: ours and Curator's, 2 s and 10 s sessions, seen by a byte-counting TCP
    /// forwarder in front of one standalone server. The mean age of the last contact at a random crash is half the
    /// interval, so this decides which session the server expires first after a SIGKILL.
    /// </summary>
    [Test]
    public async Task PingCadence_OursAndCurator_PrintsIntervals()
    {
        await using var server = await ZooKeeperServer.StartAsync();
        var runs = new List<(string Impl, int SessionMs, SendRecorder Recorder, ContenderProcess Process)>();
        try
        {
            foreach (var sessionMs in new[] { 2000, 10000 })
            {
                foreach (var impl in new[] { "ours", "curator" })
                {
                    var recorder = new SendRecorder(server.ClientPort);
                    var path = $"/cadence-{impl}-{sessionMs}";
                    var process = impl == "ours"
                        ? ContenderProcess.StartOurs(impl, recorder.Endpoint, path, sessionMs)
                        : ContenderProcess.StartCurator(impl, recorder.Endpoint, path, sessionMs);
                    runs.Add((impl, sessionMs, recorder, process));
                }
            }

            foreach (var run in runs)
            {
                await run.Process.WaitForAsync("LEADER", Wait);
            }

            // 25 s idle as leader: 7+ pings at 10 s, 30+ at 2 s. The first 2 s (election traffic) are skipped.
            await Task.Delay(TimeSpan.FromSeconds(27));
            var table = new StringBuilder();
            table.AppendLine("| implementation | session | sends | median interval ms | min ms | max ms | interval / session |");
            table.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var run in runs)
            {
                var leaderAt = run.Process.Events.First(e => e.Kind == "LEADER").Time!.Value;
                var sends = run.Recorder.Sends.Where(t => t > leaderAt + 2_000_000_000L).ToList();
                var intervals = sends.Zip(sends.Skip(1), (a, b) => (b - a) / 1e6).Order().ToList();
                intervals.Should().NotBeEmpty($"{run.Impl} should ping while idle");
                var median = Median(intervals);
                table.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {run.Impl} | {run.SessionMs / 1000} s | {sends.Count} | {median:0.0} | {intervals[0]:0.0} | {intervals[^1]:0.0} | {median / run.SessionMs:0.000} |"));
            }

            TestContext.Out.WriteLine(table.ToString());
            await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "election-ping-cadence.md"), table.ToString());
        }
        finally
        {
            foreach (var run in runs)
            {
                await run.Process.DisposeAsync();
                run.Recorder.Dispose();
            }
        }
    }

    /// <summary>The fixture's defaults (tickTime 1000 ms, the server's own fsync, preallocation and snapshot settings), plus
    /// <c>FAILOVER_ZOO_CONFIG</c> lines (';'-separated, e.g. <c>forceSync=no</c>) for diagnosis only.</summary>
    private static ZooKeeperServerOptions ServerOptions() => new()
    {
        ExtraConfig = [.. (Environment.GetEnvironmentVariable("FAILOVER_ZOO_CONFIG") ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries)],
    };

    /// <summary>
    /// The SIGKILL runs: <c>FAILOVER_SIGKILL_SESSIONS</c> (ms, default <c>2000,10000</c>) with <c>FAILOVER_SIGKILL_TRIALS</c>
    /// paired trials each (default 20 for 2 s, 7 for longer sessions).
    /// </summary>
    private static IEnumerable<(int SessionMs, int Trials, int SpacingTicks)> SigkillRuns()
    {
        var sessions = Environment.GetEnvironmentVariable("FAILOVER_SIGKILL_SESSIONS") is { Length: > 0 } s ? s : "2000,10000";
        var trials = Environment.GetEnvironmentVariable("FAILOVER_SIGKILL_TRIALS") is { Length: > 0 } t ? int.Parse(t, CultureInfo.InvariantCulture) : 0;
        foreach (var session in sessions.Split(','))
        {
            var ms = int.Parse(session, CultureInfo.InvariantCulture);
            yield return ms <= 2000 ? (ms, trials > 0 ? trials : 20, 3) : (ms, trials > 0 ? trials : 7, 6);
        }
    }

    private static string[] GracefulGroups() =>
        (Environment.GetEnvironmentVariable("FAILOVER_GROUPS") is { Length: > 0 } g ? g : "ours,ours-warm,ours-warm-ahead,curator").Split(',');

    private static int GracefulTrialCount() =>
        Environment.GetEnvironmentVariable("FAILOVER_TRIALS") is { Length: > 0 } t ? int.Parse(t, CultureInfo.InvariantCulture) : GracefulTrials;

    private static StringBuilder Header()
    {
        var table = new StringBuilder();
        table.AppendLine("| implementation | server | scenario | session | trials | median ms | p99 (max) ms | min ms |");
        table.AppendLine("|---|---|---|---|---|---|---|---|");
        return table;
    }

    private static StringBuilder PairedHeader()
    {
        var table = new StringBuilder();
        table.AppendLine("| SIGKILL → next IsLeader, ours − Curator, paired | session | pairs | median ms | mean ms | 95% CI of mean ms | ours a tick earlier / same tick / a tick later | deletion ms after a tick boundary (median) |");
        table.AppendLine("|---|---|---|---|---|---|---|---|");
        return table;
    }

    private static async Task GracefulAsync(StringBuilder table, string serverKind, string connection, ZooKeeperClient watcher, string[] impls)
    {
        var groups = new List<Group>();
        try
        {
            await WarmUpServerAsync(connection);
            foreach (var impl in impls)
            {
                groups.Add(await Group.StartAsync(impl, connection, 10000));
            }

            var results = groups.ToDictionary(g => g, _ => new List<Trial>());
            var log = Path.Combine(Path.GetTempPath(), "election-handover-trials.tsv");
            for (var trial = 0; trial < GracefulTrialCount(); trial++)
            {
                // Rotated order, so a slow phase of the machine does not always hit the same implementation.
                for (var k = 0; k < groups.Count; k++)
                {
                    var group = groups[(trial + k) % groups.Count];
                    var prepared = await group.PrepareAsync(watcher);
                    await Task.Delay(SettleMs());

                    // "handover": the contender reads the clock right before closing its latch and reports it after the
                    // call (outside the interval); it keeps its session until the trial is over (see CompleteAsync).
                    await prepared.Leader.SendAsync("handover");
                    var start = (await prepared.Leader.WaitForAsync("CLOSING", Wait)).Time!.Value;
                    if (Environment.GetEnvironmentVariable("FAILOVER_LEADER_EXIT") == "1")
                    {
                        // Diagnosis: the earlier harness's leader closed its session and exited right after close.
                        await prepared.Leader.SendAsync("quit");
                    }

                    var result = await group.CompleteAsync(prepared, start);
                    results[group].Add(result);
                    await File.AppendAllTextAsync(log, string.Create(CultureInfo.InvariantCulture, $"{group.Impl}\t{serverKind}\t{trial}\t{result.LeaderSession}\t{result.NextSession}\t{start}\t{result.DeletedAt}\t{result.ElectedAt}\n"));
                }
            }

            foreach (var group in groups)
            {
                var r = results[group];
                table.AppendLine(Row(group.Impl, serverKind, "graceful close → next IsLeader", "10 s", r.ConvertAll(t => t.EndToEnd)));
                table.AppendLine(Row(group.Impl, serverKind, "graceful: close → node deleted (watcher)", "10 s", r.ConvertAll(t => t.ToDeletion)));
                table.AppendLine(Row(group.Impl, serverKind, "graceful: node deleted (watcher) → next IsLeader", "10 s", r.ConvertAll(t => t.FromDeletion)));
            }
        }
        finally
        {
            foreach (var group in groups)
            {
                await group.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Before the graceful trials, <c>FAILOVER_SERVER_WARMUP</c> (default 10,000) rounds of create (ephemeral sequential)
    /// → exists-watch → delete → getChildren on a scratch path, through one client per server, so every server's JVM has
    /// compiled its write, watch and notification paths: a fresh server ran the first trials' requests in the
    /// interpreter (measured: the server's delete → notification took 3.5–8.8 ms instead of 1.7–2.5 ms in the same
    /// loaded minutes), which no long-running ensemble does. Same for both implementations; 0 measures a fresh server.
    /// </summary>
    private static async Task WarmUpServerAsync(string connection)
    {
        var rounds = Environment.GetEnvironmentVariable("FAILOVER_SERVER_WARMUP") is { Length: > 0 } n ? int.Parse(n, CultureInfo.InvariantCulture) : 10_000;
        if (rounds == 0)
        {
            return;
        }

        const string Scratch = "/failover-server-warmup";
        await Task.WhenAll(connection.Split(',').Select(async server =>
        {
            await using var client = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = server });
            try
            {
                await client.CreateAsync(Scratch, Array.Empty<byte>());
            }
            catch (NodeExistsException)
            {
                // Another server's client, or an earlier part of the run.
            }

            for (var done = 0; done < rounds; done += 50)
            {
                await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => RoundAsync(client)));
            }
        }));

        static async Task RoundAsync(ZooKeeperClient client)
        {
            var created = await client.CreateAsync(Scratch + "/n-", Array.Empty<byte>(), CreateMode.EphemeralSequential);
            await client.ExistsAsync(created.Path, _ => { });
            await client.DeleteAsync(created.Path);
            await client.GetChildrenAsync(Scratch);
        }
    }

    private static async Task SigkillAsync(StringBuilder table, StringBuilder paired, string connection, ZooKeeperClient watcher, int sessionMs, int trials, int spacingTicks, Random random)
    {
        await using var ours = await Group.StartAsync("ours", connection, sessionMs);
        await using var curator = await Group.StartAsync("curator", connection, sessionMs);

        // With FAILOVER_BASELINE_DIR, a third group of our contender from that build, killed in the same trials.
        await using var baseline = Environment.GetEnvironmentVariable("FAILOVER_BASELINE_DIR") is { Length: > 0 }
            ? await Group.StartAsync("ours-base", connection, sessionMs)
            : null;
        List<Group> groups = baseline is null ? [ours, curator] : [ours, curator, baseline];
        var results = groups.ToDictionary(g => g, _ => new List<Trial>());
        for (var trial = 0; trial < trials; trial++)
        {
            // Rotated kill order; a random instant, then each further kill a whole number of ticks later: the same phase
            // of the server's expiry tick for all, and expiries far enough apart never to share a tick (no CPU contention
            // between the hand-overs).
            var order = Enumerable.Range(0, groups.Count).Select(k => groups[(trial + k) % groups.Count]).ToList();
            var prepared = new List<Prepared>();
            foreach (var group in order)
            {
                prepared.Add(await group.PrepareAsync(watcher));
            }

            var firstKill = ContenderProcess.Now() + (long)(random.NextDouble() * 2 * TickMs * 1e6);
            var killed = new List<long>();
            for (var k = 0; k < order.Count; k++)
            {
                await SpinUntilAsync(firstKill + (k * spacingTicks * TickMs * 1_000_000L));
                killed.Add(ContenderProcess.Now());
                await prepared[k].Leader.KillAsync();
            }

            for (var k = 0; k < order.Count; k++)
            {
                results[order[k]].Add(await order[k].CompleteAsync(prepared[k], killed[k]));
            }
        }

        var oursTrials = results[ours];
        var curatorTrials = results[curator];
        var session = $"{sessionMs / 1000} s";
        foreach (var group in groups)
        {
            var r = results[group];
            table.AppendLine(Row(group.Impl, "3-member", "SIGKILL → next IsLeader (end to end)", session, r.ConvertAll(t => t.EndToEnd)));
            table.AppendLine(Row(group.Impl, "3-member", "node deleted (watcher) → next IsLeader", session, r.ConvertAll(t => t.FromDeletion)));
        }

        var differences = oursTrials.Zip(curatorTrials, (o, c) => o.EndToEnd - c.EndToEnd).ToList();
        var earlier = differences.Count(d => d < -TickMs / 2.0);
        var later = differences.Count(d => d > TickMs / 2.0);
        var (low, high) = BootstrapMeanInterval(differences, new Random(1));
        var phases = oursTrials.Concat(curatorTrials).Select(t => (t.DeletedAt / 1e6) % TickMs).Order().ToList();
        paired.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| ours − curator | {session} | {differences.Count} | {Median(differences.Order().ToList()):0.0} | {differences.Average():0.0} | {low:0} … {high:0} | {earlier} / {differences.Count - earlier - later} / {later} | {Median(phases):0.0} |"));
    }

    private static async Task SpinUntilAsync(long monotonicNs)
    {
        while (monotonicNs - ContenderProcess.Now() > 20_000_000L)
        {
            await Task.Delay(10);
        }

        while (ContenderProcess.Now() < monotonicNs)
        {
            Thread.SpinWait(100);
        }
    }

    private static (double Low, double High) BootstrapMeanInterval(List<double> values, Random random)
    {
        var means = new List<double>();
        for (var i = 0; i < 10000; i++)
        {
            var sum = 0.0;
            for (var j = 0; j < values.Count; j++)
            {
                sum += values[random.Next(values.Count)];
            }

            means.Add(sum / values.Count);
        }

        means.Sort();
        return (means[250], means[9749]);
    }

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;

    private static string Row(string impl, string serverKind, string scenario, string session, List<double> ms)
    {
        var sorted = ms.Order().ToList();
        return string.Create(CultureInfo.InvariantCulture, $"| {impl} | {serverKind} | {scenario} | {session} | {sorted.Count} | {Median(sorted):0.0} | {sorted[^1]:0.0} | {sorted[0]:0.0} |");
    }

    private static async Task WaitForQueueAsync(ZooKeeperClient watcher, string path, int count)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if ((await watcher.GetChildrenAsync(path)).Children.Count == count)
                {
                    return;
                }
            }
            catch (NoNodeException)
            {
                // Not created yet.
            }

            clock.Elapsed.Should().BeLessThan(Wait, $"{count} contenders should queue on {path}");
            await Task.Delay(20);
        }
    }

    private sealed record Trial(double EndToEnd, double FromDeletion, double ToDeletion, long DeletedAt, long ElectedAt, string LeaderSession, string NextSession);

    private sealed record Prepared(ContenderProcess Leader, List<ContenderProcess> Others, Dictionary<ContenderProcess, int> LeadersBefore, TaskCompletionSource<long> Deleted);

    /// <summary>Three contender processes of one implementation on one election path; a killed or closed leader is replaced.</summary>
    private sealed class Group : IAsyncDisposable
    {
        private readonly List<ContenderProcess> _live = [];
        private readonly string _connection;
        private readonly string _path;
        private readonly int _sessionMs;
        private int _generation;

        private Group(string impl, string connection, int sessionMs)
        {
            Impl = impl;
            _connection = connection;
            _sessionMs = sessionMs;
            _path = $"/failover-{impl}-{sessionMs}-{Guid.NewGuid().ToString("N")[..6]}";
        }

        public string Impl { get; }

        public static async Task<Group> StartAsync(string impl, string connection, int sessionMs)
        {
            var group = new Group(impl, connection, sessionMs);
            for (var i = 0; i < 3; i++)
            {
                await group.SpawnAsync();
            }

            return group;
        }

        /// <summary>Waits for a full queue and one leader, and arms an independent exists-watch on the leader's node.</summary>
        public async Task<Prepared> PrepareAsync(ZooKeeperClient watcher)
        {
            await WaitForQueueAsync(watcher, _path, 3);
            var leader = await WaitForLeaderAsync();
            var others = _live.Where(c => c != leader).ToList();
            var before = others.ToDictionary(c => c, c => c.Events.Count(e => e.Kind == "LEADER"));
            var children = ContenderNames.Sort((await watcher.GetChildrenAsync(_path)).Children, ContenderNames.LatchName);
            var deleted = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            await watcher.ExistsAsync(_path + "/" + children[0], e =>
            {
                if (e.Type == EventType.NodeDeleted)
                {
                    deleted.TrySetResult(ContenderProcess.Now());
                }
            });
            return new Prepared(leader, others, before, deleted);
        }

        /// <summary>After the leader was closed or killed at <paramref name="start"/>: waits for the next leader, replaces the old one.</summary>
        public async Task<Trial> CompleteAsync(Prepared prepared, long start)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            ContenderProcess next;
            while (true)
            {
                if (prepared.Others.FirstOrDefault(c => c.Events.Count(e => e.Kind == "LEADER") > prepared.LeadersBefore[c]) is { } found)
                {
                    next = found;
                    break;
                }

                clock.Elapsed.Should().BeLessThan(Wait, $"the next {Impl} contender should lead");
                await Task.Delay(2);
            }

            var elected = next.Events.Last(e => e.Kind == "LEADER").Time!.Value;
            var deletedAt = await prepared.Deleted.Task.WaitAsync(Wait);
            _live.Remove(prepared.Leader);
            if (!prepared.Leader.HasExited)
            {
                // A gracefully closed leader closes its session now (a killed one would leave it to expire during a later
                // trial, a server write at a random moment).
                await prepared.Leader.WaitForAsync("CLOSED", Wait);
                try
                {
                    await prepared.Leader.SendAsync("quit");
                    await prepared.Leader.WaitForExitAsync(TimeSpan.FromSeconds(20));
                }
                catch (Exception ex) when (ex is TimeoutException or IOException)
                {
                    // Still running (killed below), or already gone (it was told to quit earlier).
                }
            }

            await prepared.Leader.DisposeAsync();
            await SpawnAsync();
            return new Trial((elected - start) / 1e6, (elected - deletedAt) / 1e6, (deletedAt - start) / 1e6, deletedAt, elected, prepared.Leader.SessionId, next.SessionId);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var c in _live)
            {
                await c.DisposeAsync();
            }
        }

        private async Task SpawnAsync()
        {
            var name = $"{Impl}-{_generation++}";
            // "ours-base": our contender from another build (FAILOVER_BASELINE_DIR, a copy of an earlier build's test
            // output directory), interleaved with this build's in the same run.
            var helperDirectory = Impl.StartsWith("ours-base", StringComparison.Ordinal)
                ? Environment.GetEnvironmentVariable("FAILOVER_BASELINE_DIR") ?? throw new InvalidOperationException("ours-base needs FAILOVER_BASELINE_DIR")
                : null;
            var c = Impl.StartsWith("ours", StringComparison.Ordinal)
                ? ContenderProcess.StartOurs(name, _connection, _path, _sessionMs, warmUp: Impl.StartsWith("ours-warm", StringComparison.Ordinal), watchTwoAhead: Impl.EndsWith("-ahead", StringComparison.Ordinal), helperDirectory: helperDirectory)
                : ContenderProcess.StartCurator(name, _connection, _path, _sessionMs);
            await c.WaitForAsync("READY", Wait);
            _live.Add(c);
        }

        private async Task<ContenderProcess> WaitForLeaderAsync()
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                var leaders = _live.Where(c => c.IsLeader).ToList();
                if (leaders.Count == 1)
                {
                    return leaders[0];
                }

                clock.Elapsed.Should().BeLessThan(Wait, "one contender should lead: " + string.Join("; ", _live.Select(c => c.Describe())));
                await Task.Delay(10);
            }
        }
    }

    /// <summary>
    /// <c>FAILOVER_LOAD=N</c>: N CPU-bound processes (<c>/bin/sh -c 'while :; do :; done'</c>, normal priority, no I/O)
    /// for the whole measurement, so the hand-overs run on a machine as busy as one shared with other engineers'
    /// builds (load average ~N above the baseline), the same for both implementations; stopped by PID at the end.
    /// </summary>
    private sealed class CpuLoad : IDisposable
    {
        private readonly List<System.Diagnostics.Process> _burners = [];
        private readonly long _startedAt = ContenderProcess.Now();

        private CpuLoad(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var info = new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", "while :; do :; done"]) { UseShellExecute = false };
                _burners.Add(System.Diagnostics.Process.Start(info)!);
            }
        }

        public static CpuLoad StartIfAsked() =>
            new(Environment.GetEnvironmentVariable("FAILOVER_LOAD") is { Length: > 0 } n ? int.Parse(n, CultureInfo.InvariantCulture) : 0);

        /// <summary>The load and the burners' CPU share (their CPU time over wall time, from /proc), for the record.</summary>
        public string Describe()
        {
            var wall = (ContenderProcess.Now() - _startedAt) / 1e9;
            var cpu = 0.0;
            foreach (var burner in _burners)
            {
                burner.Refresh();
                cpu += burner.TotalProcessorTime.TotalSeconds;
            }

            var loadAverage = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "?";
            return string.Create(CultureInfo.InvariantCulture, $"Load: {_burners.Count} CPU burners (sh busy loops, nice 0) for {wall:0} s, {cpu / Math.Max(wall, 1e-9):0.00} CPUs used by them; /proc/loadavg at the end: {loadAverage}; {Environment.ProcessorCount} CPUs.");
        }

        public void Dispose()
        {
            foreach (var burner in _burners)
            {
                try
                {
                    burner.Kill();
                }
                catch (InvalidOperationException)
                {
                    // Already gone.
                }

                burner.Dispose();
            }
        }
    }

    /// <summary>A one-connection TCP forwarder that records when the client sent something (CLOCK_MONOTONIC ns).</summary>
    private sealed class SendRecorder : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly List<long> _sends = [];
        private readonly CancellationTokenSource _stop = new();

        public SendRecorder(int upstreamPort)
        {
            _listener.Start();
            _ = RunAsync(upstreamPort);
        }

        public string Endpoint => "127.0.0.1:" + ((IPEndPoint)_listener.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);

        public List<long> Sends
        {
            get
            {
                lock (_sends)
                {
                    return [.. _sends];
                }
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }

        private async Task RunAsync(int upstreamPort)
        {
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    var upstream = new TcpClient { NoDelay = true };
                    await upstream.ConnectAsync(IPAddress.Loopback, upstreamPort, _stop.Token);
                    client.NoDelay = true;
                    _ = PumpAsync(client.GetStream(), upstream.GetStream(), record: true, client, upstream);
                    _ = PumpAsync(upstream.GetStream(), client.GetStream(), record: false, client, upstream);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }

        private async Task PumpAsync(NetworkStream from, NetworkStream to, bool record, TcpClient a, TcpClient b)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    var n = await from.ReadAsync(buffer, _stop.Token);
                    if (n == 0)
                    {
                        break;
                    }

                    if (record)
                    {
                        lock (_sends)
                        {
                            _sends.Add(ContenderProcess.Now());
                        }
                    }

                    await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
                // Closed.
            }
            finally
            {
                a.Dispose();
                b.Dispose();
            }
        }
    }
}
