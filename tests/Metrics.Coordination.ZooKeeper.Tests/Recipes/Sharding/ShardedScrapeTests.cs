using System.Diagnostics;
using System.Globalization;
using Metrics.Coordination.Abstractions;
using MatchType = Metrics.Coordination.Abstractions.MatchType;
using Metrics.Coordination.Abstractions.Sharding;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb;
using Metrics.Coordination.Tsdb.Scrape;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes.Sharding;

/// <summary>
/// Target sharding end to end: 3 replicas (each its own ZooKeeper session through its own TCP proxy, its own TSDB and
/// ScrapeManager over a ShardedTargetProvider) and 30 loopback <c>/metrics</c> targets. Each target's <c>up</c> series
/// must come from one replica at a time; a killed replica's targets move within session timeout + one scrape interval
/// (+ the server's tick and slack for a loaded machine), and the scrape gap is measured.
/// </summary>
[Category("Integration")]
public class ShardedScrapeTests : ShardGroupFixture
{
    private const int TargetCount = 30;
    private static readonly TimeSpan SessionTimeout = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan ScrapeInterval = TimeSpan.FromSeconds(1);

    // The server expires a session on its tick (1 s in the fixture) after the timeout; a loaded 2-core machine adds
    // scheduling delays to the watch notification, the re-list, the reconcile and the first scrape.
    private static readonly TimeSpan ServerTick = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LoadSlack = TimeSpan.FromSeconds(5);

    [Test]
    public async Task ThreeReplicas_ThirtyTargets_EachUpFromOneReplica_KilledReplicasTargetsMoveWithinBound()
    {
        var targets = new List<LoopbackHttpServer>();
        try
        {
            for (var i = 0; i < TargetCount; i++)
            {
                var body = $"# TYPE demo_value gauge\ndemo_value{{target=\"{i}\"}} {i}\n";
                targets.Add(new LoopbackHttpServer(_ => new LoopbackHttpReply(200, body, "text/plain; version=0.0.4; charset=utf-8")));
            }

            var addresses = targets.Select(t => "127.0.0.1:" + t.Port.ToString(CultureInfo.InvariantCulture)).ToArray();
            var path = GroupPath();
            var replicas = new List<Replica>();
            foreach (var name in new[] { "replica-a", "replica-b", "replica-c" })
            {
                replicas.Add(await StartReplicaAsync(name, path, addresses));
            }

            // Settled: every replica sees all three, each target is scraped by its rendezvous owner and no other.
            var ids = replicas.Select(r => r.Name).Order(StringComparer.Ordinal).ToArray();
            string OwnerOf(string address, string[] members) => members[ShardAssignment.RendezvousOwner(address, members)];
            await Eventually(
                () => replicas.All(r => r.Group.Members.Count == 3 && r.ScrapedAddresses().SetEquals(addresses.Where(a => OwnerOf(a, ids) == r.Name))),
                () => "every replica scrapes exactly its rendezvous share; " + string.Join("; ", replicas.Select(r =>
                    $"{r.Name}: members [{string.Join(",", r.Group.Members)}], scraping {r.ScrapedAddresses().Count} ({string.Join(",", r.ScrapedAddresses().Take(3))}...), owns {addresses.Count(r.Group.Owns)}, expected {addresses.Count(a => OwnerOf(a, ids) == r.Name)}")));
            var settledMs = NowMs();
            await Eventually(() => addresses.All(a => replicas.Any(r => r.UpSamples(a).Count(s => s.T > settledMs) >= 2)), "two scrapes of every target after settling");

            // Kill the replica owning the most targets: its scrapes stop and its ZooKeeper link goes silent (the
            // server expires the session after the timeout; nothing is closed cleanly).
            var victim = replicas.OrderByDescending(r => r.ScrapedAddresses().Count).First();
            var survivors = replicas.Where(r => r != victim).ToList();
            var moved = addresses.Where(a => OwnerOf(a, ids) == victim.Name).ToArray();
            moved.Should().NotBeEmpty();
            var killedMs = NowMs();
            var killClock = Stopwatch.StartNew();
            victim.Proxy.BlackHole = true;
            await victim.Scrape.StopAsync();
            var survivorIds = survivors.Select(r => r.Name).Order(StringComparer.Ordinal).ToArray();
            await Eventually(
                () => moved.All(a => survivors.Any(r => r.UpSamples(a).Any(s => s.T > killedMs))),
                "every target of the killed replica is scraped by a survivor");
            var allMovedAfter = killClock.Elapsed;
            await Eventually(() => addresses.All(a => survivors.Any(r => r.UpSamples(a).Count(s => s.T > killedMs) >= 2)), "two more scrapes of every target");

            // Exactly one replica at any time: per target, the up samples of all replicas (staleness markers aside)
            // in time order form runs, one per owner; an owner never comes back after handing over.
            var takeovers = new List<double>();
            var gaps = new List<double>();
            foreach (var address in addresses)
            {
                var merged = replicas.SelectMany(r => r.UpSamples(address).Select(s => (s.T, Replica: r.Name))).OrderBy(s => s.T).ToList();
                var runs = new List<(string Replica, long First, long Last)>();
                foreach (var (t, replica) in merged)
                {
                    if (runs.Count > 0 && runs[^1].Replica == replica)
                    {
                        runs[^1] = (replica, runs[^1].First, t);
                    }
                    else
                    {
                        runs.Add((replica, t, t));
                    }
                }

                runs.Select(r => r.Replica).Should().OnlyHaveUniqueItems($"{address} must never go back to a replica that handed it over (two replicas scraping it at once would interleave): {string.Join(" ", merged.Select(m => m.Replica[^1]))}");
                var afterSettle = runs.Where(r => r.Last > settledMs).ToList();
                if (moved.Contains(address))
                {
                    afterSettle.Select(r => r.Replica).Should().Equal([victim.Name, OwnerOf(address, survivorIds)], $"{address} moves once, from the killed replica to its rendezvous owner among the survivors");
                    takeovers.Add(afterSettle[1].First - killedMs);
                    gaps.Add(afterSettle[1].First - afterSettle[0].Last);
                }
                else
                {
                    afterSettle.Select(r => r.Replica).Should().Equal([OwnerOf(address, ids)], $"{address} was not the killed replica's: minimal movement keeps it where it was");
                }
            }

            takeovers.Sort();
            gaps.Sort();
            var bound = SessionTimeout + ScrapeInterval;
            TestContext.Out.WriteLine(
                $"sharding: {moved.Length} of {TargetCount} targets moved after SIGKILL-like death; session timeout {SessionTimeout.TotalSeconds} s, scrape interval {ScrapeInterval.TotalSeconds} s (bound {bound.TotalSeconds} s)");
            TestContext.Out.WriteLine(
                $"sharding: kill -> first scrape by the new owner: min {takeovers[0] / 1000:F2} s, median {takeovers[takeovers.Count / 2] / 1000:F2} s, max {takeovers[^1] / 1000:F2} s (all moved {allMovedAfter.TotalSeconds:F2} s after the kill)");
            TestContext.Out.WriteLine(
                $"sharding: up-series gap (last sample of the dead owner -> first of the new): min {gaps[0] / 1000:F2} s, median {gaps[gaps.Count / 2] / 1000:F2} s, max {gaps[^1] / 1000:F2} s");
            TimeSpan.FromMilliseconds(takeovers[^1]).Should().BeLessThan(bound + ServerTick + LoadSlack, "targets move within session timeout + one scrape interval (+ server tick, + slack for a loaded machine)");

            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
        finally
        {
            foreach (var target in targets)
            {
                await target.DisposeAsync();
            }
        }
    }

    private static long NowMs() => TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();

    private async Task<Replica> StartReplicaAsync(string name, string path, string[] addresses)
    {
        var proxy = new TcpProxy(Server.ClientPort);
        var client = await RecoveringZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectionString = proxy.Endpoint,
            SessionTimeout = SessionTimeout,
            ConnectTimeout = TimeSpan.FromSeconds(30),
        });
        var group = new ZooKeeperShardGroup(client, new ShardGroupOptions { Path = path, MemberId = name });
        var provider = new ShardedTargetProvider(
            [new ScrapeTargetGroup { Targets = addresses }],
            ShardOwnership.Create(group.Owns, h => group.Changed += h, h => group.Changed -= h));
        var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var scrape = new ScrapeManager(db, new ScrapeManagerOptions
        {
            Jobs = [new ScrapeJobOptions { JobName = "sharded", ScrapeInterval = ScrapeInterval, TargetProvider = provider }],
        });
        await scrape.StartAsync();
        group.Start();
        var replica = new Replica(name, proxy, client, group, provider, db, scrape);
        Own(replica);
        return replica;
    }

    private sealed class Replica(string name, TcpProxy proxy, RecoveringZooKeeperClient client, ZooKeeperShardGroup group, ShardedTargetProvider provider, TimeSeriesDatabase db, ScrapeManager scrape) : IAsyncDisposable
    {
        private int _disposed;

        public string Name => name;

        public TcpProxy Proxy => proxy;

        public ZooKeeperShardGroup Group => group;

        public ScrapeManager Scrape => scrape;

        public HashSet<string> ScrapedAddresses() =>
            [.. scrape.GetTargets().Select(t => t.Labels.Get("instance"))];

        /// <summary>This replica's <c>up</c> samples for <paramref name="address"/> (staleness markers left out).</summary>
        public List<(long T, double V)> UpSamples(string address)
        {
            using var querier = db.Querier(long.MinValue, long.MaxValue);
            var result = new List<(long, double)>();
            foreach (var series in querier.Select(false, default, new LabelMatcher(MatchType.Equal, Labels.MetricName, "up"), new LabelMatcher(MatchType.Equal, "instance", address)))
            {
                var it = series.Iterator();
                while (it.Next())
                {
                    if (!double.IsNaN(it.Value))
                    {
                        result.Add((it.Timestamp, it.Value));
                    }
                }
            }

            return result;
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            await scrape.DisposeAsync();
            provider.Dispose();
            await group.DisposeAsync();
            await client.DisposeAsync();
            await proxy.DisposeAsync();
            db.Dispose();
        }
    }
}
