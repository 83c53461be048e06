namespace Metrics.Coordination.ZooKeeper.Tests;

public class OperationTests : ServerFixture
{
    [Test]
    public async Task Create_EveryMode_ReturnsPathAndStat()
    {
        var zk = await ConnectAsync();
        var parent = UniquePath("modes");
        (await zk.CreateAsync(parent, Bytes("p"))).Path.Should().Be(parent);

        var persistent = await zk.CreateAsync(parent + "/persistent", Bytes("a"));
        persistent.Stat.Version.Should().Be(0);
        persistent.Stat.DataLength.Should().Be(1);
        persistent.Stat.EphemeralOwner.Should().Be(0);

        var ephemeral = await zk.CreateAsync(parent + "/ephemeral", Bytes("b"), CreateMode.Ephemeral);
        ephemeral.Stat.EphemeralOwner.Should().Be(zk.SessionId);

        var seq1 = await zk.CreateAsync(parent + "/seq-", Bytes("c"), CreateMode.PersistentSequential);
        var seq2 = await zk.CreateAsync(parent + "/seq-", Bytes("c"), CreateMode.EphemeralSequential);
        seq1.Path.Should().MatchRegex(@"/seq-\d{10}$");
        seq2.Path.Should().MatchRegex(@"/seq-\d{10}$");
        long.Parse(seq2.Path[^10..]).Should().BeGreaterThan(long.Parse(seq1.Path[^10..]));
        seq2.Stat.EphemeralOwner.Should().Be(zk.SessionId);

        var container = await zk.CreateAsync(parent + "/container", Bytes("d"), CreateMode.Container);
        container.Path.Should().Be(parent + "/container");
        container.Stat.EphemeralOwner.Should().Be(0, "the server masks the container marker");

        var ttl = await zk.CreateAsync(parent + "/ttl", Bytes("e"), CreateMode.PersistentWithTtl, ttl: TimeSpan.FromHours(1));
        ttl.Stat.EphemeralOwner.Should().Be(0, "the server masks the TTL marker");
        var ttlSeq = await zk.CreateAsync(parent + "/ttlseq-", Bytes("f"), CreateMode.PersistentSequentialWithTtl, ttl: TimeSpan.FromHours(1));
        ttlSeq.Path.Should().MatchRegex(@"/ttlseq-\d{10}$");

        var children = await zk.GetChildrenAsync(parent);
        children.Children.Should().HaveCount(7);
        children.Stat.NumChildren.Should().Be(7);
    }

    [Test]
    public async Task Create_ErrorPaths_ThrowTypedExceptions()
    {
        var zk = await ConnectAsync();
        var path = UniquePath();
        await zk.CreateAsync(path, Bytes("x"));

        var exists = await FluentActions.Awaiting(async () => await zk.CreateAsync(path, Bytes("x"))).Should().ThrowAsync<NodeExistsException>();
        exists.Which.Code.Should().Be(ErrorCode.NodeExists);
        exists.Which.Path.Should().Be(path);
        exists.Which.IsTransient.Should().BeFalse();

        await FluentActions.Awaiting(async () => await zk.CreateAsync(path + "/missing/child", Bytes("x")))
            .Should().ThrowAsync<NoNodeException>();

        var eph = UniquePath("eph");
        await zk.CreateAsync(eph, Bytes("x"), CreateMode.Ephemeral);
        await FluentActions.Awaiting(async () => await zk.CreateAsync(eph + "/child", Bytes("x")))
            .Should().ThrowAsync<NoChildrenForEphemeralsException>();

        await FluentActions.Awaiting(async () => await zk.CreateAsync("relative", Bytes("x"))).Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(async () => await zk.CreateAsync(path + "/", Bytes("x"))).Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(async () => await zk.CreateAsync(path + "/./x", Bytes("x"))).Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(async () => await zk.CreateAsync(path + "/t", Bytes("x"), CreateMode.PersistentWithTtl)).Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(async () => await zk.CreateAsync(path + "/t", Bytes("x"), acl: [])).Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(async () => await zk.CreateAsync(path + "/c", Bytes("x"), acl: Acls.CreatorAll)).Should().ThrowAsync<InvalidAclException>();
    }

    [Test]
    public async Task GetSetDelete_WithVersions_BehaveLikeTheServer()
    {
        var zk = await ConnectAsync();
        var path = UniquePath();
        await zk.CreateAsync(path, Bytes("v0"));

        var data = await zk.GetDataAsync(path);
        data.Data.Should().Equal(Bytes("v0"));
        data.Stat.Version.Should().Be(0);

        var stat = await zk.SetDataAsync(path, Bytes("v1"), version: 0);
        stat.Version.Should().Be(1);
        stat.Mzxid.Should().BeGreaterThan(data.Stat.Mzxid);
        (await zk.SetDataAsync(path, Bytes("v2"))).Version.Should().Be(2);

        await FluentActions.Awaiting(async () => await zk.SetDataAsync(path, Bytes("v3"), version: 0)).Should().ThrowAsync<BadVersionException>();
        (await zk.GetDataAsync(path)).Data.Should().Equal(Bytes("v2"));

        await zk.SetDataAsync(path, ReadOnlyMemory<byte>.Empty);
        (await zk.GetDataAsync(path)).Data.Should().BeEmpty();

        await zk.CreateAsync(path + "/child", Bytes("c"));
        await FluentActions.Awaiting(async () => await zk.DeleteAsync(path)).Should().ThrowAsync<NotEmptyException>();
        await FluentActions.Awaiting(async () => await zk.DeleteAsync(path + "/child", version: 5)).Should().ThrowAsync<BadVersionException>();
        await zk.DeleteAsync(path + "/child", version: 0);
        await zk.DeleteAsync(path);
        await FluentActions.Awaiting(async () => await zk.DeleteAsync(path)).Should().ThrowAsync<NoNodeException>();
        await FluentActions.Awaiting(async () => await zk.GetDataAsync(path)).Should().ThrowAsync<NoNodeException>();
        await FluentActions.Awaiting(async () => await zk.SetDataAsync(path, Bytes("x"))).Should().ThrowAsync<NoNodeException>();
        await FluentActions.Awaiting(async () => await zk.GetChildrenAsync(path)).Should().ThrowAsync<NoNodeException>();
    }

    [Test]
    public async Task Exists_ReturnsStatOrNull()
    {
        var zk = await ConnectAsync();
        var path = UniquePath();
        (await zk.ExistsAsync(path)).Should().BeNull();
        var created = await zk.CreateAsync(path, Bytes("abc"));
        var stat = await zk.ExistsAsync(path);
        stat.Should().NotBeNull();
        stat!.Value.Should().Be(created.Stat);
        stat.Value.DataLength.Should().Be(3);
    }

    [Test]
    public async Task LargeData_RoundTripsUpToTheServerLimit()
    {
        var zk = await ConnectAsync();
        var path = UniquePath();
        var data = new byte[1000 * 1024];
        new Random(7).NextBytes(data);
        await zk.CreateAsync(path, data);
        (await zk.GetDataAsync(path)).Data.Should().Equal(data);

        var tooBig = new byte[ZooKeeperClientOptions.DefaultMaxFrameSize];
        await FluentActions.Awaiting(async () => await zk.SetDataAsync(path, tooBig)).Should().ThrowAsync<BadArgumentsException>();
        zk.State.Should().Be(ZooKeeperState.Connected, "an oversized request fails alone, before it is sent");
        (await zk.GetDataAsync(path)).Data.Length.Should().Be(data.Length);
    }

    [Test]
    public async Task GetAllChildrenNumber_AndGetEphemerals()
    {
        var zk = await ConnectAsync();
        var other = await ConnectAsync();
        var path = UniquePath("tree");
        await zk.CreateAsync(path, Bytes(""));
        await zk.CreateAsync(path + "/a", Bytes(""));
        await zk.CreateAsync(path + "/a/b", Bytes(""));
        await zk.CreateAsync(path + "/a/b/e1", Bytes(""), CreateMode.Ephemeral);
        await zk.CreateAsync(path + "/e2", Bytes(""), CreateMode.Ephemeral);
        await other.CreateAsync(path + "/other", Bytes(""), CreateMode.Ephemeral);

        (await zk.GetAllChildrenNumberAsync(path)).Should().Be(5);
        (await zk.GetAllChildrenNumberAsync(path + "/a")).Should().Be(2);

        (await zk.GetEphemeralsAsync(path)).Should().BeEquivalentTo(path + "/a/b/e1", path + "/e2");
        (await other.GetEphemeralsAsync(path)).Should().BeEquivalentTo(path + "/other");
    }

    [Test]
    public async Task Sync_ThenRead_SeesWritesOfOtherSessions()
    {
        var writer = await ConnectAsync();
        var reader = await ConnectAsync();
        var path = UniquePath();
        await writer.CreateAsync(path, Bytes("1"));
        await reader.SyncAsync(path);
        (await reader.GetDataAsync(path)).Data.Should().Equal(Bytes("1"));
        await reader.SyncAsync();
    }

    [Test]
    public async Task Acl_GetSet_WithVersionsAndNoAuth()
    {
        var owner = await ConnectAsync();
        var stranger = await ConnectAsync();
        await owner.AddAuthAsync("digest", Bytes("alice:secret"));
        var path = UniquePath("acl");
        await owner.CreateAsync(path, Bytes("secret"), acl: Acls.CreatorAll);

        var acl = await owner.GetAclAsync(path);
        acl.Acl.Should().Equal(new Acl(Permissions.All, Id.Digest("alice", "secret")));
        acl.Acl[0].Id.Identity.Should().Be("alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=", "the digest the fact sheet observed for alice:secret");
        acl.Stat.Aversion.Should().Be(0);

        await FluentActions.Awaiting(async () => await stranger.GetDataAsync(path)).Should().ThrowAsync<NoAuthException>();
        await FluentActions.Awaiting(async () => await stranger.SetDataAsync(path, Bytes("x"))).Should().ThrowAsync<NoAuthException>();
        await FluentActions.Awaiting(async () => await stranger.GetAclAsync(path)).Should().ThrowAsync<NoAuthException>();

        await FluentActions.Awaiting(async () => await owner.SetAclAsync(path, Acls.OpenUnsafe, aclVersion: 3)).Should().ThrowAsync<BadVersionException>();
        var stat = await owner.SetAclAsync(path, [new Acl(Permissions.Read, Id.Anyone), new Acl(Permissions.All, Id.Digest("alice", "secret"))], aclVersion: 0);
        stat.Aversion.Should().Be(1);
        (await stranger.GetDataAsync(path)).Data.Should().Equal(Bytes("secret"));
        await FluentActions.Awaiting(async () => await stranger.SetDataAsync(path, Bytes("x"))).Should().ThrowAsync<NoAuthException>();

        var readOnly = await stranger.GetAclAsync(path);
        readOnly.Acl.Should().HaveCount(2);

        // Delete permission is checked on the parent: a parent without DELETE for us blocks deleting its child.
        var parent = UniquePath("nodelete");
        await owner.CreateAsync(parent, Bytes(""), acl: [new Acl(Permissions.All & ~Permissions.Delete, Id.Anyone)]);
        await stranger.CreateAsync(parent + "/c", Bytes(""));
        await FluentActions.Awaiting(async () => await stranger.DeleteAsync(parent + "/c")).Should().ThrowAsync<NoAuthException>();
    }

    [Test]
    public async Task Pipelining_ManyOutstandingRequests_AllAnsweredInOrder()
    {
        var zk = await ConnectAsync();
        var path = UniquePath("pipe");
        await zk.CreateAsync(path, Bytes(""));
        var creates = Enumerable.Range(0, 500).Select(i => zk.CreateAsync($"{path}/c{i:D4}", Bytes(i.ToString())).AsTask()).ToList();
        var results = await Task.WhenAll(creates);
        results.Select(r => r.Path).Should().Equal(Enumerable.Range(0, 500).Select(i => $"{path}/c{i:D4}"));
        results.Select(r => r.Stat.Czxid).Should().BeInAscendingOrder();
        var reads = await Task.WhenAll(Enumerable.Range(0, 500).Select(i => zk.GetDataAsync($"{path}/c{i:D4}").AsTask()));
        reads.Select(r => System.Text.Encoding.UTF8.GetString(r.Data)).Should().Equal(Enumerable.Range(0, 500).Select(i => i.ToString()));
        (await zk.GetChildrenAsync(path)).Children.Should().HaveCount(500);
    }

    [Test]
    public async Task Cancellation_DoesNotDesynchronizeTheConnection()
    {
        var zk = await ConnectAsync();
        var path = UniquePath();
        await zk.CreateAsync(path, Bytes("x"));
        for (var round = 0; round < 20; round++)
        {
            using var cts = new CancellationTokenSource();
            var tasks = Enumerable.Range(0, 50).Select(_ => zk.GetDataAsync(path, cancellationToken: cts.Token).AsTask()).ToList();
            cts.Cancel();
            foreach (var task in tasks)
            {
                try
                {
                    (await task).Data.Should().Equal(Bytes("x"));
                }
                catch (OperationCanceledException)
                {
                }
            }
        }

        (await zk.GetDataAsync(path)).Data.Should().Equal(Bytes("x"));
        var preCancelled = new CancellationToken(true);
        await FluentActions.Awaiting(async () => await zk.GetDataAsync(path, cancellationToken: preCancelled)).Should().ThrowAsync<OperationCanceledException>();
        zk.State.Should().Be(ZooKeeperState.Connected);
    }

    [Test]
    public async Task Chroot_PrefixesPathsAndStripsThemFromResults()
    {
        var direct = await ConnectAsync();
        var chroot = UniquePath("chroot");
        await direct.CreateAsync(chroot, Bytes("root"));
        var zk = await ConnectAsync(Server.ConnectionString + chroot);
        zk.Chroot.Should().Be(chroot);

        (await zk.GetDataAsync("/")).Data.Should().Equal(Bytes("root"));
        var created = await zk.CreateAsync("/a", Bytes("1"));
        created.Path.Should().Be("/a");
        var seq = await zk.CreateAsync("/a/s-", Bytes("2"), CreateMode.EphemeralSequential);
        seq.Path.Should().StartWith("/a/s-");
        (await direct.GetDataAsync(chroot + "/a")).Data.Should().Equal(Bytes("1"));
        (await zk.GetEphemeralsAsync()).Should().Equal(seq.Path);

        var results = await zk.MultiAsync([Op.Create("/m", Bytes("m")), Op.SetData("/a", Bytes("3"))]);
        ((OpResult.Create)results[0]).Path.Should().Be("/m");

        var events = new EventLog();
        await zk.GetDataAsync("/a", events.Watcher);
        await direct.SetDataAsync(chroot + "/a", Bytes("4"));
        (await events.WaitForAsync(e => e.Type == EventType.NodeDataChanged)).Path.Should().Be("/a");

        var rootEvents = new EventLog();
        await zk.GetChildrenAsync("/", rootEvents.Watcher);
        await direct.CreateAsync(chroot + "/b", Bytes(""));
        (await rootEvents.WaitForAsync(e => e.Type == EventType.NodeChildrenChanged)).Path.Should().Be("/");
    }

    [Test]
    public async Task Close_DeletesEphemeralsAtOnce_AndLaterCallsThrow()
    {
        var observer = await ConnectAsync();
        var path = UniquePath("eph");
        var zk = await ZooKeeperClient.ConnectAsync(Options(Server.ConnectionString));
        await zk.CreateAsync(path, Bytes(""), CreateMode.Ephemeral);
        var events = new EventLog();
        (await observer.ExistsAsync(path, events.Watcher)).Should().NotBeNull();

        await zk.DisposeAsync();
        zk.State.Should().Be(ZooKeeperState.Closed);
        (await events.WaitForAsync(e => e.Type == EventType.NodeDeleted, TimeSpan.FromSeconds(2))).Path.Should().Be(path);
        (await observer.ExistsAsync(path)).Should().BeNull();
        await FluentActions.Awaiting(async () => await zk.GetDataAsync(path)).Should().ThrowAsync<ObjectDisposedException>();
        await zk.DisposeAsync();
    }

    [Test]
    public async Task Connect_NoServer_FailsWithConnectionLossWithinTheTimeout()
    {
        var options = Options("127.0.0.1:" + Testing.FreePort.Get());
        options.ConnectTimeout = TimeSpan.FromSeconds(1);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var thrown = await FluentActions.Awaiting(() => ZooKeeperClient.ConnectAsync(options)).Should().ThrowAsync<ConnectionLossException>();
        thrown.Which.RequestSent.Should().BeFalse();
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5));
    }
}
