using System.Globalization;
using System.Text;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper.Recipes.Internal;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes;

/// <summary>
/// Failover times of our LeaderLatch and Curator 5.4's, measured in the same run on the same 3-member ensemble
/// (tickTime 1000 ms), 3 contender processes each: graceful close → next leader, and SIGKILL of the leader process →
/// next leader for 2 s and 10 s sessions (end to end, and from the server's deletion of the dead leader's node, as
/// seen by an independent watcher, to the next leader's callback). "ours-warm" processes run one hand-over on a private
/// path before joining, so the measured one does not include JIT-compiling the election code on first use (Curator's
/// JVM interprets cold code at once). A measurement, not a test: Explicit (outside the
/// CI budget; about 5 minutes). Run with
/// <c>dotnet test tests/Metrics.Coordination.ZooKeeper.Tests -c Release --filter FullyQualifiedName~FailoverMeasurement</c>
/// and copy the table into benchmarks/README.md.
/// </summary>
[Explicit("A measurement of several minutes; run by hand, figures go to benchmarks/README.md")]
[Category("Benchmark")]
[Category("Integration")]
public class FailoverMeasurement
{
    private const int Trials = 7;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Test]
    public async Task Failover_OursAndCurator_GracefulAndSigkill_PrintsTable()
    {
        await using var ensemble = await ZooKeeperEnsemble.StartAsync(3);
        await using var watcher = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = ensemble.ConnectionString });
        var table = Header();
        foreach (var impl in new[] { "ours", "ours-warm", "curator" })
        {
            var graceful = await MeasureAsync(ensemble, watcher, impl, 10000, kill: false);
            AppendGraceful(table, impl, graceful);
            foreach (var session in impl == "ours-warm" ? [2000] : new[] { 2000, 10000 })
            {
                var crash = await MeasureAsync(ensemble, watcher, impl, session, kill: true);
                table.AppendLine(Row(impl, "SIGKILL → next IsLeader (end to end)", $"{session / 1000} s", crash.EndToEnd));
                table.AppendLine(Row(impl, "node deleted (watcher) → next IsLeader", $"{session / 1000} s", crash.FromDeletion));
            }
        }

        TestContext.Out.WriteLine(table.ToString());
        await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "election-failover.md"), table.ToString());
    }

    /// <summary>
    /// The graceful hand-over alone, on an ensemble whose members do not fsync their transaction log
    /// (<c>forceSync=no</c>): the leader's delete commits at the speed of a fast log device, so what is left is the
    /// clients' share. The server's fsync of the delete is the same cost for every client library; this separates it.
    /// </summary>
    [Test]
    public async Task GracefulHandOver_WithoutServerFsync_PrintsTable()
    {
        await using var ensemble = await ZooKeeperEnsemble.StartAsync(3, new ZooKeeperServerOptions { ExtraConfig = ["forceSync=no"] });
        await using var watcher = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = ensemble.ConnectionString });
        var table = Header();
        foreach (var impl in new[] { "ours-warm", "curator" })
        {
            AppendGraceful(table, impl + " (forceSync=no)", await MeasureAsync(ensemble, watcher, impl, 10000, kill: false));
        }

        TestContext.Out.WriteLine(table.ToString());
        await File.WriteAllTextAsync(Path.Combine(Path.GetTempPath(), "election-failover-nofsync.md"), table.ToString());
    }

    private static StringBuilder Header()
    {
        var table = new StringBuilder();
        table.AppendLine("| implementation | scenario | session | trials | median ms | p99 (max) ms | min ms |");
        table.AppendLine("|---|---|---|---|---|---|---|");
        return table;
    }

    private static void AppendGraceful(StringBuilder table, string impl, (List<double> EndToEnd, List<double> FromDeletion, List<double> ToDeletion) graceful)
    {
        table.AppendLine(Row(impl, "graceful close → next IsLeader", "10 s", graceful.EndToEnd));
        table.AppendLine(Row(impl, "graceful: close → node deleted (watcher)", "10 s", graceful.ToDeletion));
        table.AppendLine(Row(impl, "graceful: node deleted (watcher) → next IsLeader", "10 s", graceful.FromDeletion));
    }

    private static string Row(string impl, string scenario, string session, List<double> ms)
    {
        var sorted = ms.Order().ToList();
        var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
        return string.Create(CultureInfo.InvariantCulture, $"| {impl} | {scenario} | {session} | {sorted.Count} | {median:0.0} | {sorted[^1]:0.0} | {sorted[0]:0.0} |");
    }

    private static async Task<(List<double> EndToEnd, List<double> FromDeletion, List<double> ToDeletion)> MeasureAsync(ZooKeeperEnsemble ensemble, ZooKeeperClient watcher, string impl, int sessionMs, bool kill)
    {
        var path = $"/failover-{impl}-{(kill ? "kill" : "close")}-{sessionMs}-{Guid.NewGuid().ToString("N")[..6]}";
        var generation = 0;
        ContenderProcess Spawn() => impl.StartsWith("ours", StringComparison.Ordinal)
            ? ContenderProcess.StartOurs($"{impl}-{generation++}", ensemble.ConnectionString, path, sessionMs, warmUp: impl == "ours-warm")
            : ContenderProcess.StartCurator($"{impl}-{generation++}", ensemble.ConnectionString, path, sessionMs);

        var live = new List<ContenderProcess>();
        var endToEnd = new List<double>();
        var fromDeletion = new List<double>();
        var toDeletion = new List<double>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var c = Spawn();
                await c.WaitForAsync("READY", Wait);
                live.Add(c);
            }

            for (var trial = 0; trial < Trials; trial++)
            {
                await WaitForQueueAsync(watcher, path, 3);
                var leader = await WaitForLeaderAsync(live);
                var others = live.Where(c => c != leader).ToList();
                var leadersBefore = others.ToDictionary(c => c, c => c.Events.Count(e => e.Kind == "LEADER"));

                // The independent watcher: an exists watch on the leader's node (first in Curator's order).
                var children = ContenderNames.Sort((await watcher.GetChildrenAsync(path)).Children, ContenderNames.LatchName);
                var deleted = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
                await watcher.ExistsAsync(path + "/" + children[0], e =>
                {
                    if (e.Type == EventType.NodeDeleted)
                    {
                        deleted.TrySetResult(ContenderProcess.Now());
                    }
                });

                long start;
                if (kill)
                {
                    start = ContenderProcess.Now();
                    await leader.KillAsync();
                }
                else
                {
                    await leader.SendAsync("close");
                    start = (await leader.WaitForAsync("CLOSING", Wait)).Time!.Value;
                }

                var next = await WaitForNewLeaderAsync(others, leadersBefore);
                var elected = next.Events.Last(e => e.Kind == "LEADER").Time!.Value;
                var deletedAt = await deleted.Task.WaitAsync(Wait);
                endToEnd.Add((elected - start) / 1e6);
                fromDeletion.Add((elected - deletedAt) / 1e6);
                toDeletion.Add((deletedAt - start) / 1e6);
                live.Remove(leader);
                await leader.DisposeAsync();
                var replacement = Spawn();
                await replacement.WaitForAsync("READY", Wait);
                live.Add(replacement);
            }
        }
        finally
        {
            foreach (var c in live)
            {
                await c.DisposeAsync();
            }
        }

        return (endToEnd, fromDeletion, toDeletion);
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

    private static async Task<ContenderProcess> WaitForLeaderAsync(List<ContenderProcess> live)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var leaders = live.Where(c => c.IsLeader).ToList();
            if (leaders.Count == 1)
            {
                return leaders[0];
            }

            clock.Elapsed.Should().BeLessThan(Wait, "one contender should lead: " + string.Join("; ", live.Select(c => c.Describe())));
            await Task.Delay(10);
        }
    }

    private static async Task<ContenderProcess> WaitForNewLeaderAsync(List<ContenderProcess> others, Dictionary<ContenderProcess, int> before)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if (others.FirstOrDefault(c => c.Events.Count(e => e.Kind == "LEADER") > before[c]) is { } next)
            {
                return next;
            }

            clock.Elapsed.Should().BeLessThan(Wait, "the next contender should lead");
            await Task.Delay(2);
        }
    }
}
