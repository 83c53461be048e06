namespace Metrics.Coordination.ZooKeeper.Tests;

public class WatchTests : ServerFixture
{
    [Test]
    public async Task DataWatch_FiresOnceOnChange_AndOnDelete()
    {
        var zk = await ConnectAsync();
        var writer = await ConnectAsync();
        var path = UniquePath();
        await writer.CreateAsync(path, Bytes("0"));
        var events = new EventLog();
        await zk.GetDataAsync(path, events.Watcher);
        await writer.SetDataAsync(path, Bytes("1"));
        await writer.SetDataAsync(path, Bytes("2"));
        var fired = await events.WaitForAsync(e => e.Type == EventType.NodeDataChanged);
        fired.Should().Be(new WatchedEvent(EventType.NodeDataChanged, KeeperState.SyncConnected, path));
        await Task.Delay(200);
        events.Events.Should().HaveCount(1, "a standard watch is one-shot");

        await zk.GetDataAsync(path, events.Watcher);
        await writer.DeleteAsync(path);
        await events.WaitForAsync(e => e.Type == EventType.NodeDeleted);
    }

    [Test]
    public async Task ExistsWatch_OnMissingNode_FiresOnCreate()
    {
        var zk = await ConnectAsync();
        var writer = await ConnectAsync();
        var path = UniquePath();
        var events = new EventLog();
        (await zk.ExistsAsync(path, events.Watcher)).Should().BeNull();
        await writer.CreateAsync(path, Bytes(""));
        (await events.WaitForAsync(e => e.Type == EventType.NodeCreated)).Path.Should().Be(path);
    }

    [Test]
    public async Task ChildWatch_FiresOnChildChange()
    {
        var zk = await ConnectAsync();
        var writer = await ConnectAsync();
        var path = UniquePath();
        await writer.CreateAsync(path, Bytes(""));
        var events = new EventLog();
        await zk.GetChildrenAsync(path, events.Watcher);
        await writer.SetDataAsync(path, Bytes("data changes do not fire child watches"));
        await writer.CreateAsync(path + "/c", Bytes(""));
        (await events.WaitForAsync(e => e.Type == EventType.NodeChildrenChanged)).Path.Should().Be(path);
        events.Events.Should().ContainSingle();
    }

    [Test]
    public async Task SameWatcherTwice_FiresOnce_DifferentWatchersBothFire()
    {
        var zk = await ConnectAsync();
        var writer = await ConnectAsync();
        var path = UniquePath();
        await writer.CreateAsync(path, Bytes(""));
        var a = new EventLog();
        var b = new EventLog();
        await zk.GetDataAsync(path, a.Watcher);
        await zk.ExistsAsync(path, a.Watcher);
        await zk.GetDataAsync(path, b.Watcher);
        await writer.SetDataAsync(path, Bytes("x"));
        await a.WaitForAsync(e => e.Type == EventType.NodeDataChanged);
        await b.WaitForAsync(e => e.Type == EventType.NodeDataChanged);
        await Task.Delay(200);
        a.Events.Should().ContainSingle();
    }

    [Test]
    public async Task PersistentWatch_StaysArmed_AndSeesChildrenChanged()
    {
        var zk = await ConnectAsync();
        var writer = await ConnectAsync();
        var path = UniquePath();
        var events = new EventLog();
        await zk.AddWatchAsync(path, events.Watcher, AddWatchMode.Persistent);
        await writer.CreateAsync(path, Bytes(""));
        await writer.SetDataAsync(path, Bytes("1"));
        await writer.SetDataAsync(path, Bytes("2"));
        await writer.CreateAsync(path + "/child", Bytes(""));
        await writer.SetDataAsync(path + "/child", Bytes("not seen: persistent is not recursive"));
        await writer.DeleteAsync(path + "/child");
        await writer.DeleteAsync(path);
        await events.WaitForAsync(e => e.Type == EventType.NodeDeleted);
        events.Events.Select(e => e.Type).Should().Equal(
            EventType.NodeCreated, EventType.NodeDataChanged, EventType.NodeDataChanged,
            EventType.NodeChildrenChanged, EventType.NodeChildrenChanged, EventType.NodeDeleted);
        events.Events.Should().OnlyContain(e => e.Path == path);
    }

    [Test]
    public async Task RecursiveWatch_SeesDescendants_InOrder_NeverChildrenChanged()
    {
        var zk = await ConnectAsync();
        var writer = await ConnectAsync();
        var path = UniquePath();
        await writer.CreateAsync(path, Bytes(""));
        var events = new EventLog();
        await zk.AddWatchAsync(path, events.Watcher, AddWatchMode.PersistentRecursive);
        await writer.CreateAsync(path + "/a", Bytes(""));
        await writer.CreateAsync(path + "/a/deep", Bytes(""));
        for (var i = 0; i < 50; i++)
        {
            await writer.SetDataAsync(path + "/a/deep", Bytes(i.ToString()));
        }

        await writer.DeleteAsync(path + "/a/deep");
        await events.WaitForAsync(e => e.Type == EventType.NodeDeleted);
        var list = events.Events;
        list[0].Should().Be(new WatchedEvent(EventType.NodeCreated, KeeperState.SyncConnected, path + "/a"));
        list[1].Should().Be(new WatchedEvent(EventType.NodeCreated, KeeperState.SyncConnected, path + "/a/deep"));
        list.Skip(2).Take(50).Should().OnlyContain(e => e.Type == EventType.NodeDataChanged && e.Path == path + "/a/deep");
        list.Should().HaveCount(53);
        list.Should().NotContain(e => e.Type == EventType.NodeChildrenChanged);
    }

    [Test]
    public async Task RehearseNotification_RunsTheWatcherOnTheDispatcher_NoWatchOnTheServer()
    {
        var zk = await ConnectAsync();
        var path = UniquePath();
        var log = new EventLog();
        var thread = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var caller = Environment.CurrentManagedThreadId;
        zk.RehearseNotification(path, e =>
        {
            log.Watcher(e);
            thread.TrySetResult(Environment.CurrentManagedThreadId);
        });

        var seen = await log.WaitForAsync(e => e.Path == path);
        seen.Type.Should().Be(EventType.NodeDeleted);
        seen.State.Should().Be(KeeperState.SyncConnected);
        (await thread.Task.WaitAsync(TimeSpan.FromSeconds(10))).Should().NotBe(caller, "watchers run on the client's dispatcher thread, not inline");
        (await Server.FourLetterWordAsync("wchp")).Should().NotContain(path, "the rehearsal registers its watch locally only");

        // One-shot, like a server notification's: a real deletion of a node at that path later does not call it again.
        await zk.CreateAsync(path, Bytes(""));
        await zk.DeleteAsync(path);
        await Task.Delay(200);
        log.Events.Should().ContainSingle();
    }

    [Test]
    public async Task RemoveWatches_DeliversRemovedEvent_AndStopsFiring()
    {
        var zk = await ConnectAsync();
        var writer = await ConnectAsync();
        var path = UniquePath();
        await writer.CreateAsync(path, Bytes(""));
        var data = new EventLog();
        var child = new EventLog();
        var persistent = new EventLog();
        await zk.GetDataAsync(path, data.Watcher);
        await zk.GetChildrenAsync(path, child.Watcher);
        await zk.AddWatchAsync(path, persistent.Watcher, AddWatchMode.Persistent);

        await zk.RemoveWatchesAsync(path, WatcherType.Data);
        await data.WaitForAsync(e => e.Type == EventType.DataWatchRemoved);
        await zk.RemoveWatchesAsync(path, WatcherType.Children, child.Watcher);
        await child.WaitForAsync(e => e.Type == EventType.ChildWatchRemoved);
        await zk.RemoveWatchesAsync(path, WatcherType.Persistent);
        await persistent.WaitForAsync(e => e.Type == EventType.PersistentWatchRemoved);

        await writer.SetDataAsync(path, Bytes("x"));
        await writer.CreateAsync(path + "/c", Bytes(""));
        await Task.Delay(300);
        data.Events.Should().ContainSingle();
        child.Events.Should().ContainSingle();
        persistent.Events.Should().ContainSingle();
        (await Server.FourLetterWordAsync("wchs")).Should().Contain("0 paths", "the server-side watches went too");

        await FluentActions.Awaiting(async () => await zk.RemoveWatchesAsync(path, WatcherType.Any)).Should().ThrowAsync<NoWatcherException>();
    }

    [Test]
    public async Task ThrowingHandler_IsLoggedAndCounted_DispatchGoesOn()
    {
        var zk = await ConnectAsync();
        var writer = await ConnectAsync();
        var path = UniquePath();
        await writer.CreateAsync(path, Bytes(""));
        var events = new EventLog();
        await zk.GetDataAsync(path, _ => throw new InvalidOperationException("handler bug"));
        await zk.GetDataAsync(path, events.Watcher);
        await writer.SetDataAsync(path, Bytes("x"));
        await events.WaitForAsync(e => e.Type == EventType.NodeDataChanged);
        (await zk.GetDataAsync(path)).Data.Should().Equal(Bytes("x"));
    }

    [Test]
    public async Task Handlers_RunOnTheDispatcher_NotTheReadLoop()
    {
        var zk = await ConnectAsync();
        var writer = await ConnectAsync();
        var path = UniquePath();
        await writer.CreateAsync(path, Bytes(""));
        using var release = new ManualResetEventSlim();
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await zk.GetDataAsync(path, _ =>
        {
            blocked.TrySetResult();
            release.Wait(TimeSpan.FromSeconds(10));
        });
        await writer.SetDataAsync(path, Bytes("x"));
        await blocked.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // The handler blocks the dispatcher; replies must still flow.
        (await zk.GetDataAsync(path).AsTask().WaitAsync(TimeSpan.FromSeconds(5))).Data.Should().Equal(Bytes("x"));
        release.Set();
    }
}

public class MultiTests : ServerFixture
{
    [Test]
    public async Task Multi_AllSucceed_ReturnsPerOpResults()
    {
        var zk = await ConnectAsync();
        var path = UniquePath();
        await zk.CreateAsync(path, Bytes("0"));
        var results = await zk.MultiAsync(
        [
            Op.Check(path, 0),
            Op.Create(path + "/a", Bytes("a")),
            Op.Create(path + "/s-", Bytes("s"), CreateMode.EphemeralSequential),
            Op.Create(path + "/ctr", Bytes(""), CreateMode.Container),
            Op.Create(path + "/ttl", Bytes(""), CreateMode.PersistentWithTtl, ttl: TimeSpan.FromMinutes(5)),
            Op.SetData(path, Bytes("1"), 0),
            Op.Delete(path + "/a"),
        ]);
        results.Should().HaveCount(7);
        results[0].Should().BeOfType<OpResult.Check>();
        ((OpResult.Create)results[1]).Path.Should().Be(path + "/a");
        ((OpResult.Create)results[2]).Path.Should().MatchRegex(@"/s-\d{10}$");
        // Observed on 3.8.0: Stats inside multi results carry ephemeralOwner 0 even for ephemerals.
        (await zk.ExistsAsync(((OpResult.Create)results[2]).Path))!.Value.EphemeralOwner.Should().Be(zk.SessionId);
        ((OpResult.Create)results[3]).Path.Should().Be(path + "/ctr");
        ((OpResult.SetData)results[5]).Stat.Version.Should().Be(1);
        results[6].Should().BeOfType<OpResult.Delete>();
        results.Should().OnlyContain(r => r.Error == ErrorCode.Ok);
        var c3 = ((OpResult.Create)results[3]).Stat.Czxid;
        ((OpResult.Create)results[4]).Stat.Czxid.Should().Be(c3, "all ops of one multi share one zxid");
        ((OpResult.Create)results[1]).Stat.Should().Be(default(Stat), "plain creates in a multi return no Stat");
        (await zk.ExistsAsync(path))!.Value.Mzxid.Should().Be(c3);
        (await zk.GetChildrenAsync(path)).Children.Should().BeEquivalentTo(((OpResult.Create)results[2]).Path[(path.Length + 1)..], "ctr", "ttl");
    }

    [Test]
    public async Task Multi_OneFails_NothingApplied_ErrorsPerOp()
    {
        var zk = await ConnectAsync();
        var path = UniquePath();
        await zk.CreateAsync(path, Bytes("0"));
        var thrown = await FluentActions.Awaiting(async () => await zk.MultiAsync(
        [
            Op.Create(path + "/m1", Bytes("")),
            Op.Check(path, 42),
            Op.SetData(path, Bytes("x")),
        ])).Should().ThrowAsync<BadVersionException>();
        thrown.Which.FailedOperationIndex.Should().Be(1);
        thrown.Which.Path.Should().Be(path);
        thrown.Which.MultiResults!.Select(r => r.Error).Should().Equal(ErrorCode.Ok, ErrorCode.BadVersion, ErrorCode.RuntimeInconsistency);
        (await zk.ExistsAsync(path + "/m1")).Should().BeNull("a failed multi applies nothing");
        (await zk.GetDataAsync(path)).Data.Should().Equal(Bytes("0"));

        await FluentActions.Awaiting(async () => await zk.MultiAsync([Op.Delete(path + "/none")])).Should().ThrowAsync<NoNodeException>();
        await FluentActions.Awaiting(async () => await zk.MultiAsync([Op.Create(path, Bytes(""))])).Should().ThrowAsync<NodeExistsException>();
        (await zk.MultiAsync([])).Should().BeEmpty();
        zk.State.Should().Be(ZooKeeperState.Connected);
    }
}

public class ReaperTests : ServerFixture
{
    [Test]
    public async Task TtlNode_IsReapedAfterItsTtl()
    {
        var zk = await ConnectAsync();
        var path = UniquePath("ttl");
        await zk.CreateAsync(path, Bytes("x"), CreateMode.PersistentWithTtl, ttl: TimeSpan.FromMilliseconds(1500));
        var seq = await zk.CreateAsync(path + "-s-", Bytes("x"), CreateMode.PersistentSequentialWithTtl, ttl: TimeSpan.FromMilliseconds(1500));
        var events = new EventLog();
        (await zk.ExistsAsync(path, events.Watcher)).Should().NotBeNull();
        await events.WaitForAsync(e => e.Type == EventType.NodeDeleted, TimeSpan.FromSeconds(10));
        await Eventually(async () => await zk.ExistsAsync(seq.Path) is null, TimeSpan.FromSeconds(5), "the sequential TTL node is reaped too");
    }

    [Test]
    public async Task Container_IsReapedOnceEmptiedAfterHavingChildren()
    {
        var zk = await ConnectAsync();
        var path = UniquePath("ctr");
        await zk.CreateAsync(path, Bytes(""), CreateMode.Container);
        await zk.CreateAsync(path + "/child", Bytes(""));
        await Task.Delay(1500);
        (await zk.ExistsAsync(path)).Should().NotBeNull("a container with a child stays");
        await zk.DeleteAsync(path + "/child");
        await Eventually(async () => await zk.ExistsAsync(path) is null, TimeSpan.FromSeconds(10), "the emptied container is reaped");
    }

    [Test]
    public async Task Ttl_WithoutExtendedTypes_IsUnimplemented_WithAClearMessage()
    {
        await using var server = await Testing.ZooKeeperServer.StartAsync(new Testing.ZooKeeperServerOptions { ExtendedTypesEnabled = false });
        var zk = await ConnectAsync(server.ConnectionString);
        var e = await FluentActions.Awaiting(async () => await zk.CreateAsync("/ttl", Bytes(""), CreateMode.PersistentWithTtl, ttl: TimeSpan.FromSeconds(5)))
            .Should().ThrowAsync<UnimplementedException>();
        e.Which.Code.Should().Be(ErrorCode.Unimplemented);
        e.Which.Path.Should().Be("/ttl");
        e.Which.Message.Should().Contain("TTL node /ttl").And.Contain("zookeeper.extendedTypesEnabled=true");
        zk.State.Should().Be(ZooKeeperState.Connected, "the server answered with an error code; the connection stays");
        (await zk.ExistsAsync("/ttl")).Should().BeNull();
        await zk.DisposeAsync();
    }
}
