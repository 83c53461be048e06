using System.Collections.Concurrent;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes;

public class LeaderSelectorTests : ElectionFixture
{
    [Test]
    public async Task Work_RunsWhileLeader_CancelledOnSuspension_RunsAgainAfterReconnect_InterruptHandsOver()
    {
        var path = ElectionPath();
        await using var proxy = new TcpProxy(Ensemble.Servers[0].ClientPort);
        var runsA = new ConcurrentQueue<(LeaderTerm Term, bool Cancelled)>();
        var runsB = new ConcurrentQueue<LeaderTerm>();
        var a = Own(new LeaderSelector(await ConnectAsync(proxy.Endpoint, TimeSpan.FromSeconds(20)), new LeaderSelectorOptions { Path = path, ParticipantId = "a" }, async (term, ct) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            finally
            {
                runsA.Enqueue((term, ct.IsCancellationRequested));
            }
        }));
        a.Start();
        await Eventually(() => a.HasLeadership, TimeSpan.FromSeconds(30), "a runs its work");
        var b = Own(new LeaderSelector(await ConnectAsync(), new LeaderSelectorOptions { Path = path, ParticipantId = "b" }, async (term, ct) =>
        {
            runsB.Enqueue(term);
            await Task.Delay(Timeout.Infinite, ct);
        }));
        b.Start();
        await Eventually(async () => (await b.GetParticipantsAsync()).Count == 2, TimeSpan.FromSeconds(30), "b queues");
        (await b.GetParticipantsAsync())[0].NodeName.Should().MatchRegex("^_c_[0-9a-f-]{36}-lock-\\d{10}$", "Curator's LeaderSelector names");

        proxy.RefuseNewConnections = true;
        proxy.CutAll();
        await Eventually(() => runsA.Count == 1, TimeSpan.FromSeconds(10), "the work is cancelled on suspension");
        runsA.Single().Cancelled.Should().BeTrue();
        proxy.RefuseNewConnections = false;
        await Eventually(() => a.Runs == 2 && a.HasLeadership, TimeSpan.FromSeconds(30), "a leads and works again: its node stayed first");
        runsB.Should().BeEmpty();

        a.InterruptLeadership();
        await Eventually(() => runsB.Count == 1, TimeSpan.FromSeconds(30), "b takes over when a requeues");
        runsB.Single().FencingToken.Should().BeGreaterThan(runsA.First().Term.FencingToken);
        await Eventually(() => !a.HasLeadership && (a.GetParticipantsAsync().Result.LastOrDefault()?.Id == "a"), TimeSpan.FromSeconds(30), "a queued again at the back");
    }

    [Test]
    public async Task Work_ThatReturns_RequeuesAndTheNextContenderRuns()
    {
        var path = ElectionPath();
        var order = new ConcurrentQueue<string>();
        var selectors = new List<LeaderSelector>();
        foreach (var id in new[] { "x", "y", "z" })
        {
            var s = Own(new LeaderSelector(await ConnectAsync(), new LeaderSelectorOptions { Path = path, ParticipantId = id }, async (term, ct) =>
            {
                order.Enqueue(id);
                await Task.Delay(20, ct);
            }));
            selectors.Add(s);
        }

        foreach (var s in selectors)
        {
            s.Start();
        }

        await Eventually(() => order.Count >= 6, TimeSpan.FromSeconds(60), "leadership rotates as each run returns");
        order.Take(6).Distinct().Should().HaveCount(3, "every contender got its turn");
        selectors.Sum(s => s.WorkFailures).Should().Be(0);
    }
}
