using System.Diagnostics;
using Metrics.Coordination.Abstractions.Sharding;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes.Sharding;

/// <summary>A standalone server per fixture class; clients and groups opened by a test are closed after it.</summary>
[Category("Integration")]
public abstract class ShardGroupFixture
{
    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    protected static readonly string[] Keys = [.. Enumerable.Range(0, 300).Select(i => $"10.0.{i / 100}.{i % 100}:9100")];

    private readonly OwnedResources _owned = new();

    protected ZooKeeperServer Server { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartServer() => Server = await ZooKeeperServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopServer()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }

    [TearDown]
    public Task DisposeOwned() => _owned.DisposeAllAsync();

    protected static string GroupPath() => "/shards-" + Guid.NewGuid().ToString("N")[..10] + "/scrapers";

    protected T Own<T>(T disposable)
        where T : IAsyncDisposable => _owned.Own(disposable);

    protected async Task<RecoveringZooKeeperClient> ConnectAsync(string? connectionString = null, TimeSpan? sessionTimeout = null) =>
        Own(await RecoveringZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectionString = connectionString ?? Server.ConnectionString,
            SessionTimeout = sessionTimeout ?? TimeSpan.FromSeconds(10),
            ConnectTimeout = TimeSpan.FromSeconds(30),
        }));

    protected async Task<ZooKeeperShardGroup> JoinAsync(string path, string id, RecoveringZooKeeperClient? client = null, ShardAssignmentStrategy strategy = ShardAssignmentStrategy.Rendezvous, TimeSpan? handoverDelay = null)
    {
        var group = Own(new ZooKeeperShardGroup(client ?? await ConnectAsync(), new ShardGroupOptions
        {
            Path = path,
            MemberId = id,
            Strategy = strategy,
            HandoverDelay = handoverDelay ?? TimeSpan.Zero,
        }));
        group.Start();
        return group;
    }

    /// <summary>The owner of every key among <paramref name="groups"/>; fails if a key has two owners.</summary>
    protected static string?[] OwnerMap(IReadOnlyList<ZooKeeperShardGroup> groups)
    {
        var owners = new string?[Keys.Length];
        for (var k = 0; k < Keys.Length; k++)
        {
            foreach (var group in groups)
            {
                if (group.Owns(Keys[k]))
                {
                    owners[k].Should().BeNull($"{Keys[k]} is owned by {owners[k]} and {group.MemberId} at once");
                    owners[k] = group.MemberId;
                }
            }
        }

        return owners;
    }

    /// <summary>What every live member must own once they all see the same <paramref name="ids"/>.</summary>
    protected static string[] Expected(params string[] ids)
    {
        var sorted = ids.Order(StringComparer.Ordinal).ToArray();
        return [.. Keys.Select(k => sorted[ShardAssignment.RendezvousOwner(k, sorted)])];
    }

    /// <summary>
    /// Polls until every key has exactly its <paramref name="expected"/> owner among <paramref name="groups"/>. Not
    /// exclusive while waiting, for joins in groups with a zero hand-over delay: a joining member then owns its keys
    /// as soon as it lists the members, before the previous owner has learned of it (see
    /// <see cref="ShardGroupOptions.HandoverDelay"/>), so two owners may briefly coexist until the group agrees.
    /// </summary>
    protected static Task EventuallyAgree(IReadOnlyList<ZooKeeperShardGroup> groups, IReadOnlyList<string?> expected, string because) =>
        Eventually(
            () => Enumerable.Range(0, Keys.Length).All(k => groups.Where(g => g.Owns(Keys[k])).Select(g => g.MemberId).SequenceEqual([expected[k]])),
            because);

    /// <summary>Polls <paramref name="condition"/>; while waiting, every sample of ownership must have at most one owner per key.</summary>
    protected static async Task EventuallyExclusive(IReadOnlyList<ZooKeeperShardGroup> groups, Func<bool> condition, string because)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            OwnerMap(groups);
            if (condition())
            {
                return;
            }

            clock.Elapsed.Should().BeLessThan(Wait, because);
            await Task.Delay(10);
        }
    }

    protected static async Task Eventually(Func<bool> condition, string because)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            clock.Elapsed.Should().BeLessThan(Wait, because);
            await Task.Delay(10);
        }
    }

    protected static async Task Eventually(Func<bool> condition, Func<string> because)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Wait)
            {
                Assert.Fail($"Waited {Wait.TotalSeconds} s: {because()}");
            }

            await Task.Delay(10);
        }
    }
}

public class ShardGroupTests : ShardGroupFixture
{
    [Test]
    public async Task ThreeMembers_EachKeyOwnedByExactlyOne_LeaverMovesOnlyItsKeys()
    {
        var path = GroupPath();
        var a = await JoinAsync(path, "replica-a");
        var b = await JoinAsync(path, "replica-b");
        var c = await JoinAsync(path, "replica-c");
        ZooKeeperShardGroup[] all = [a, b, c];
        var changes = 0;
        a.Changed += (_, _) => Interlocked.Increment(ref changes);

        await EventuallyAgree(all, Expected("replica-a", "replica-b", "replica-c"), "the three members agree on the rendezvous assignment");
        a.Members.Should().Equal("replica-a", "replica-b", "replica-c");
        var before = OwnerMap(all);
        before.Should().OnlyContain(o => o != null, "every key has an owner");

        await b.CloseAsync();
        await EventuallyExclusive(all, () => OwnerMap([a, c]).SequenceEqual(Expected("replica-a", "replica-c")), "b's keys move to a and c");
        var after = OwnerMap([a, c]);
        for (var k = 0; k < Keys.Length; k++)
        {
            if (before[k] != "replica-b")
            {
                after[k].Should().Be(before[k], $"{Keys[k]} was not b's, so it must not move");
            }
        }

        b.Owns(Keys[0]).Should().BeFalse();
        b.NodePath.Should().BeNull();
        a.Members.Should().Equal("replica-a", "replica-c");
        changes.Should().BeGreaterThan(0);
        a.JoinCount.Should().Be(1);
    }

    [Test]
    public async Task Join_NewMemberWaitsTheHandoverDelay_PreviousOwnerStopsFirst()
    {
        var path = GroupPath();
        var a = await JoinAsync(path, "replica-a", handoverDelay: TimeSpan.FromSeconds(5));
        await Eventually(() => Keys.All(a.Owns), "alone, a owns every key once its own delay ended");

        var b = await JoinAsync(path, "replica-b", handoverDelay: TimeSpan.FromSeconds(5));
        var joined = Stopwatch.StartNew();

        // What a consumer sees when it re-reads on each Changed (the scrape manager does exactly that).
        var seenOnChanged = new System.Collections.Concurrent.ConcurrentQueue<int>();
        b.Changed += (_, _) => seenOnChanged.Enqueue(Keys.Count(b.Owns));
        await Eventually(() => b.IsActive && b.Members.Count == 2, "b sees both members");
        await Eventually(() => a.Members.Count == 2, "a sees b");
        if (joined.Elapsed < TimeSpan.FromSeconds(4))
        {
            // Checked only while the delay surely runs (a loaded machine may take longer to get here).
            Keys.Where(b.Owns).Should().BeEmpty("b's keys stay with a, which is running, until the delay ends");
        }

        await EventuallyExclusive([a, b], () => OwnerMap([a, b]).SequenceEqual(Expected("replica-a", "replica-b")), "after the delay b owns its share");
        joined.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(5));
        var share = Keys.Count(b.Owns);
        await Eventually(() => seenOnChanged.LastOrDefault() == share, () => $"the Changed raised when the delay ends must already show the gains; seen {string.Join(",", seenOnChanged)}, share {share}");
    }

    [Test]
    public async Task Suspended_OwnsNothingAtOnce_SameSessionOwnsItsKeysAgain()
    {
        var path = GroupPath();
        await using var proxy = new TcpProxy(Server.ClientPort);
        var viaProxy = await ConnectAsync(proxy.Endpoint, TimeSpan.FromSeconds(20));
        var a = await JoinAsync(path, "replica-a", viaProxy);
        var b = await JoinAsync(path, "replica-b");
        await EventuallyAgree([a, b], Expected("replica-a", "replica-b"), "both own their share");
        var node = a.NodePath;

        proxy.RefuseNewConnections = true;
        proxy.CutAll();
        await Eventually(() => !a.IsActive, "a is suspended");
        Keys.Where(a.Owns).Should().BeEmpty("a suspended member cannot know the membership and owns nothing");
        b.Members.Should().Equal(["replica-a", "replica-b"], "a's session lives on: b must not take a's keys (a gap, never a double owner)");
        OwnerMap([a, b]).Count(o => o is null).Should().BeGreaterThan(0);

        proxy.RefuseNewConnections = false;
        await EventuallyExclusive([a, b], () => OwnerMap([a, b]).SequenceEqual(Expected("replica-a", "replica-b")), "a owns its share again after reconnecting");
        a.NodePath.Should().Be(node, "the same session keeps the same node");
        a.JoinCount.Should().Be(1);
    }

    [Test]
    public async Task SessionExpired_SurvivorTakesAllKeys_ThenTheMemberRejoinsWithANewNodeAndGetsItsKeysBack()
    {
        var path = GroupPath();
        await using var proxy = new TcpProxy(Server.ClientPort);
        var viaProxy = await ConnectAsync(proxy.Endpoint, TimeSpan.FromSeconds(2));
        var a = await JoinAsync(path, "replica-a", viaProxy);
        var b = await JoinAsync(path, "replica-b");
        await EventuallyAgree([a, b], Expected("replica-a", "replica-b"), "both own their share");
        var node = a.NodePath;
        var sharedBefore = OwnerMap([a, b]);

        proxy.RefuseNewConnections = true;
        proxy.CutAll();
        await EventuallyExclusive([a, b], () => Keys.All(b.Owns), "the server expires a's session and b takes every key");

        proxy.RefuseNewConnections = false;
        await EventuallyAgree([a, b], sharedBefore, "a re-joins with a new session and, with the same id, gets the same keys");
        a.JoinCount.Should().Be(2);
        a.NodePath.Should().NotBe(node);
        viaProxy.SessionCount.Should().Be(2);
    }

    [Test]
    public async Task HashMod_EachMemberOwnsWhatPrometheusHashmodKeepsForItsIndex()
    {
        var path = GroupPath();
        ZooKeeperShardGroup[] groups =
        [
            await JoinAsync(path, "r2", strategy: ShardAssignmentStrategy.HashMod),
            await JoinAsync(path, "r0", strategy: ShardAssignmentStrategy.HashMod),
            await JoinAsync(path, "r1", strategy: ShardAssignmentStrategy.HashMod),
        ];
        await Eventually(() => groups.All(g => g.Members.Count == 3), "all see three members");
        foreach (var group in groups)
        {
            var index = int.Parse(group.MemberId[1..], System.Globalization.CultureInfo.InvariantCulture);
            Keys.Where(group.Owns).Should().Equal(Keys.Where(k => ShardAssignment.HashModOwner(k, 3) == index), group.MemberId);
        }
    }

    [Test]
    public async Task DuplicateId_NewerNodeOwnsNothingUntilTheOlderOneLeaves()
    {
        var path = GroupPath();
        var first = await JoinAsync(path, "replica-a");
        await Eventually(() => Keys.All(first.Owns), "the first owns everything");
        var second = await JoinAsync(path, "replica-a");
        await Eventually(() => second.NodePath is not null, "the second created its node");
        await Eventually(() => first.Members.Count == 1 && Keys.All(first.Owns), "the first still owns everything");
        Keys.Where(second.Owns).Should().BeEmpty("two members with the same id would own the same keys");

        await first.CloseAsync();
        await Eventually(() => Keys.All(second.Owns), "the second takes over once the first left");
    }

    [Test]
    public async Task Changed_HandlerThrows_CountedAndDeliveryGoesOn()
    {
        var path = GroupPath();
        var a = await JoinAsync(path, "replica-a");
        var delivered = 0;
        a.Changed += (_, _) => throw new InvalidOperationException("boom");
        a.Changed += (_, _) => Interlocked.Increment(ref delivered);
        await Eventually(() => Keys.All(a.Owns), "a owns everything");
        await JoinAsync(path, "replica-b");
        await Eventually(() => a.Members.Count == 2 && Volatile.Read(ref delivered) > 0 && a.HandlerErrors > 0, "changes reach the second handler");
    }

    [Test]
    public async Task Constructor_BadOptions_Throw()
    {
        var client = await ConnectAsync();
        var noPath = () => new ZooKeeperShardGroup(client, new ShardGroupOptions { MemberId = "a" });
        noPath.Should().Throw<ArgumentException>();
        var badPath = () => new ZooKeeperShardGroup(client, new ShardGroupOptions { Path = "no-slash", MemberId = "a" });
        badPath.Should().Throw<ArgumentException>();
        var noId = () => new ZooKeeperShardGroup(client, new ShardGroupOptions { Path = "/g" });
        noId.Should().Throw<ArgumentException>();
        var negative = () => new ZooKeeperShardGroup(client, new ShardGroupOptions { Path = "/g", MemberId = "a", HandoverDelay = TimeSpan.FromSeconds(-1) });
        negative.Should().Throw<ArgumentOutOfRangeException>();
        var group = new ZooKeeperShardGroup(client, new ShardGroupOptions { Path = "/g", MemberId = "a" });
        group.Owns("x:1").Should().BeFalse("not started");
        await group.CloseAsync();
        var start = () => group.Start();
        start.Should().Throw<InvalidOperationException>();
    }
}
