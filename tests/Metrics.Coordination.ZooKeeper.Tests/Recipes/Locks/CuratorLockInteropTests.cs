using System.Diagnostics;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes.Locks;

/// <summary>
/// Our <see cref="InterProcessMutex"/> and Curator 5.4's (Debian's jars, driven by CuratorContender.java in lock mode)
/// on one path. Every holder appends <c>ENTER &lt;who&gt;</c> right after acquiring and <c>EXIT &lt;who&gt;</c> right before
/// releasing to one shared file, so mutual exclusion shows as strictly alternating ENTER/EXIT pairs of one holder.
/// </summary>
[Category("Integration")]
public class CuratorLockInteropTests : ServerFixture
{
    private const string NodeName = "^_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-lock-[0-9]{10}$";
    private const int Rounds = 15;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    [Test]
    public async Task CuratorAndOurs_OnOnePath_OneHolderAtATime_LockPassesBothWays()
    {
        var path = UniquePath("curator-lock");
        using var directory = new TempDirectory("lock-log");
        var log = directory.Combine("holders.log");
        var curator = Own(ContenderProcess.StartCuratorLock("curator", Server.ConnectionString, path, 10000, log));
        await curator.WaitForAsync("READY", Wait);
        var mutex = new InterProcessMutex(Own(await RecoveringZooKeeperClient.ConnectAsync(Options(Server.ConnectionString))), path);
        var observer = await ConnectAsync();

        // Ours -> Curator: Curator queues behind our node (same naming on both sides) and gets the lock only after we
        // released it.
        var ours = await mutex.AcquireAsync().WaitAsync(Wait);
        Append(log, "ENTER ours");
        await curator.SendAsync("acquire");
        await Eventually(async () => (await observer.GetChildrenAsync(path)).Children.Count == 2, "Curator's contender node appears");
        (await observer.GetChildrenAsync(path)).Children.Should().OnlyContain(name => System.Text.RegularExpressions.Regex.IsMatch(name, NodeName));
        curator.Events.Should().NotContain(e => e.Kind == "ACQUIRED", "we hold the lock");
        Append(log, "EXIT ours");
        var released = ContenderProcess.Now();
        await ours.ReleaseAsync();
        var curatorAcquired = await curator.WaitForAsync("ACQUIRED", Wait);
        curatorAcquired.Time!.Value.Should().BeGreaterThan(released, "Curator acquires only after our release");

        // Curator -> ours: our waiter queues behind Curator's node and gets the lock once Curator released it.
        var pending = mutex.AcquireAsync();
        await Eventually(async () => (await observer.GetChildrenAsync(path)).Children.Count == 2, "our contender node appears");
        pending.IsCompleted.Should().BeFalse("Curator holds the lock");
        await curator.SendAsync("release");
        await curator.WaitForAsync("RELEASED", Wait);
        var second = await pending.WaitAsync(Wait);
        Append(log, "ENTER ours");
        Append(log, "EXIT ours");
        await second.ReleaseAsync();

        // Contention: both sides loop acquire/hold/release on the same path at the same time.
        await curator.SendAsync($"loop {Rounds} 3");
        for (var i = 0; i < Rounds; i++)
        {
            var handle = await mutex.AcquireAsync().WaitAsync(Wait);
            Append(log, "ENTER ours");
            await Task.Delay(3);
            Append(log, "EXIT ours");
            await handle.ReleaseAsync();
        }

        await curator.WaitForAsync("LOOPED", Wait);

        var lines = File.ReadAllLines(log).Where(l => l.Length > 0).ToList();
        lines.Should().HaveCount(2 * ((2 + Rounds) + (1 + Rounds)), "every ENTER and EXIT of both sides is in the log (none overwritten)");
        for (var i = 0; i < lines.Count; i += 2)
        {
            var enter = lines[i].Split(' ');
            var exit = lines[i + 1].Split(' ');
            (enter[0], exit[0], exit[1]).Should().Be(("ENTER", "EXIT", enter[1]), $"line {i + 1}: a holder's EXIT follows its ENTER with nobody in between\n{string.Join("\n", lines)}");
        }

        var handOvers = lines.Where((_, i) => i % 2 == 0).Select(l => l.Split(' ')[1]).Zip(lines.Where((_, i) => i % 2 == 0).Select(l => l.Split(' ')[1]).Skip(1)).Count(p => p.First != p.Second);
        TestContext.Out.WriteLine($"{lines.Count / 2} holds, {handOvers} hand-overs between Curator and ours");
        (await observer.GetChildrenAsync(path)).Children.Should().BeEmpty("both sides deleted their nodes on release");
    }

    private static void Append(string log, string line) => File.AppendAllText(log, line + "\n");

    private static async Task Eventually(Func<Task<bool>> condition, string because)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition() && clock.Elapsed < Wait)
        {
            await Task.Delay(20);
        }

        (await condition()).Should().BeTrue(because);
    }
}
