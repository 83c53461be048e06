using System.Diagnostics;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper.Recipes.Internal;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes;

/// <summary>Protected creation against the real server, with the reply of the create held back by a proxy.</summary>
public class ProtectedCreateTests : ServerFixture
{
    [Test]
    public async Task CreateAsync_MissingParents_CreatesContainersAndCuratorName()
    {
        var zk = await ConnectAsync();
        var parent = UniquePath("p") + "/deep/election";
        var id = Guid.NewGuid();
        var created = await ProtectedCreate.CreateAsync(zk, parent, "latch-", id, Bytes("alpha"), CreateMode.EphemeralSequential, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, CancellationToken.None);

        created.Path.Should().MatchRegex("^" + parent + "/_c_" + id + "-latch-\\d{10}$");
        created.Stat.EphemeralOwner.Should().Be(zk.SessionId);
        created.Stat.Czxid.Should().BeGreaterThan(0);
        (await zk.GetDataAsync(created.Path)).Data.Should().Equal(Bytes("alpha"));
    }

    [Test]
    public async Task CreateAsync_ReplyLostAfterServerCreatedNode_AdoptsItsOwnNode_NoOrphan()
    {
        await using var proxy = new TcpProxy(Server.ClientPort);
        var logs = new CapturingLoggerFactory();
        var zk = await ConnectAsync(proxy.Endpoint);
        var observer = await ConnectAsync();
        var parent = UniquePath("adopt");
        await observer.CreateAsync(parent, Bytes(""));

        // Every chunk waits 3 s in the proxy: the create reaches the server after 3 s, and its reply is still held
        // (for 3 s more) when we cut — generous, so a loaded machine's slow polling cannot miss the window.
        proxy.Delay = TimeSpan.FromSeconds(3);
        var id = Guid.NewGuid();
        var create = ProtectedCreate.CreateAsync(zk, parent, "latch-", id, Bytes("me"), CreateMode.EphemeralSequential, logs.CreateLogger("test"), CancellationToken.None);
        await WaitForChildAsync(observer, parent);
        proxy.CutAll();
        proxy.Delay = TimeSpan.Zero;

        var result = await create.WaitAsync(TimeSpan.FromSeconds(30));
        var children = (await observer.GetChildrenAsync(parent)).Children;
        children.Should().ContainSingle("the retry adopted the node the lost create made, instead of making a second one");
        result.Path.Should().Be(parent + "/" + children[0]);
        result.Stat.EphemeralOwner.Should().Be(zk.SessionId);
        logs.Entries.Should().Contain(e => e.EventId.Id == 4500, "the adoption is logged");
    }

    [Test]
    public async Task CreateAsync_CancelledAfterServerCreatedNode_DeletesIt()
    {
        await using var proxy = new TcpProxy(Server.ClientPort);
        var zk = await ConnectAsync(proxy.Endpoint);
        var observer = await ConnectAsync();
        var parent = UniquePath("cancel");
        await observer.CreateAsync(parent, Bytes(""));

        proxy.Delay = TimeSpan.FromSeconds(3);
        using var cts = new CancellationTokenSource();
        var create = ProtectedCreate.CreateAsync(zk, parent, "latch-", Guid.NewGuid(), Bytes("me"), CreateMode.EphemeralSequential, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, cts.Token);
        await WaitForChildAsync(observer, parent);
        await cts.CancelAsync();
        proxy.Delay = TimeSpan.Zero;

        await FluentActions.Awaiting(() => create.WaitAsync(TimeSpan.FromSeconds(30))).Should().ThrowAsync<OperationCanceledException>();
        (await observer.GetChildrenAsync(parent)).Children.Should().BeEmpty("a cancelled create leaves no orphan of our live session");
    }

    private static async Task WaitForChildAsync(ZooKeeperClient observer, string parent)
    {
        var clock = Stopwatch.StartNew();
        while ((await observer.GetChildrenAsync(parent)).Children.Count == 0)
        {
            clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20), "the create should reach the server");
            await Task.Delay(5);
        }
    }
}
