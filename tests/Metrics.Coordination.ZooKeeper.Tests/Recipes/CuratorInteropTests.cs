using System.Text.RegularExpressions;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes;

/// <summary>Our LeaderLatch and Curator 5.4's (Debian's jars, driven by CuratorContender.java) contend on one path.</summary>
public class CuratorInteropTests : ElectionFixture
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Test]
    public async Task CuratorAndOurs_OnOnePath_ExactlyOneLeads_LeadershipPassesBothWays()
    {
        var path = ElectionPath();
        var curator1 = Own(ContenderProcess.StartCurator("curator-1", Ensemble.ConnectionString, path, 10000));
        await curator1.WaitForAsync("READY", Wait);
        var leader1 = await curator1.WaitForAsync("LEADER", Wait);

        var (ours, recorder) = await StartLatchAsync(await ConnectAsync(), path, "ours");
        var curator2 = Own(ContenderProcess.StartCurator("curator-2", Ensemble.ConnectionString, path, 4000));
        await curator2.WaitForAsync("READY", Wait);
        await Eventually(async () => (await ours.GetParticipantsAsync()).Count == 3, Wait, "three contenders queue");

        // Same names, same data, same order on both sides.
        var participants = await ours.GetParticipantsAsync();
        participants.Select(p => (p.Id, p.IsLeader)).Should().Equal(("curator-1", true), ("ours", false), ("curator-2", false));
        participants.Should().OnlyContain(p => Regex.IsMatch(p.NodeName, "^_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-latch-\\d{10}$"));
        ours.HasLeadership.Should().BeFalse();
        curator2.IsLeader.Should().BeFalse();

        // Curator -> ours.
        await curator1.SendAsync("close");
        var closing1 = await curator1.WaitForAsync("CLOSING", Wait);
        var term = await ours.WaitForLeadershipAsync().WaitAsync(Wait);
        await Eventually(() => recorder.Elected.Count == 1, Wait, "IsLeader is delivered");
        var oursElected = ContenderTime(recorder.Elected[0].Timestamp);
        oursElected.Should().BeGreaterThan(closing1.Time!.Value, "we lead only after Curator gave up");
        term.FencingToken.Should().BeGreaterThan(leader1.Token, "our node is newer than Curator's");
        curator2.IsLeader.Should().BeFalse();

        // Ours -> Curator.
        var closingOurs = ContenderProcess.Now();
        await ours.CloseAsync();
        var leader2 = await curator2.WaitForAsync("LEADER", Wait);
        leader2.Time!.Value.Should().BeGreaterThan(closingOurs, "Curator leads only after we gave up");
        term.IsActive.Should().BeFalse();
        leader2.Token.Should().BeGreaterThan(term.FencingToken);

        // Curator -> ours once more, this time because Curator's process dies (SIGKILL): its session expires (4 s).
        var (again, _) = await StartLatchAsync(await ConnectAsync(), path, "ours-2");
        again.HasLeadership.Should().BeFalse("Curator leads");
        await curator2.KillAsync();
        var term2 = await again.WaitForLeadershipAsync().WaitAsync(Wait);
        term2.FencingToken.Should().BeGreaterThan(leader2.Token);
    }

    /// <summary>Stopwatch ticks of this process to the contenders' nanosecond clock.</summary>
    private static long ContenderTime(long stopwatchTimestamp) =>
        (long)(stopwatchTimestamp * (1_000_000_000.0 / System.Diagnostics.Stopwatch.Frequency));
}
