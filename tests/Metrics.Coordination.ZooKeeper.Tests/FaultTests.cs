using System.Collections.Concurrent;
using System.Diagnostics;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.ZooKeeper.Tests;

/// <summary>Connection faults injected by a <see cref="TcpProxy"/> in front of the fixture's real server.</summary>
public class FaultTests : ServerFixture
{
    [Test]
    public async Task Cut_With1000Outstanding_EveryRequestCompletesOrFailsWithConnectionLoss_SessionResumesElsewhere_WatchesFire()
    {
        await using var proxyA = new TcpProxy(Server.ClientPort);
        await using var proxyB = new TcpProxy(Server.ClientPort);
        var zk = await ConnectAsync($"{proxyA.Endpoint},{proxyB.Endpoint}", TimeSpan.FromSeconds(10));
        var writer = await ConnectAsync();
        var states = new ConcurrentQueue<ZooKeeperStateChange>();
        zk.StateChanged += (_, change) => states.Enqueue(change);
        var session = zk.SessionId;
        var path = UniquePath("cut");
        await zk.CreateAsync(path, Bytes("0"));
        await zk.CreateAsync(path + "/eph", Bytes(""), CreateMode.Ephemeral);
        var events = new EventLog();
        await zk.GetDataAsync(path, events.Watcher);
        var persistent = new EventLog();
        await zk.AddWatchAsync(path, persistent.Watcher, AddWatchMode.PersistentRecursive);

        var (connected, other) = zk.Server == proxyA.Endpoint ? (proxyA, proxyB) : (proxyB, proxyA);
        var tasks = new List<Task>(1000);
        for (var i = 0; i < 1000; i++)
        {
            tasks.Add((i % 3) switch
            {
                0 => zk.GetDataAsync(path).AsTask(),
                1 => zk.SetDataAsync(path + "/eph", Bytes(i.ToString())).AsTask(),
                _ => zk.CreateAsync(path + "/c-", Bytes(""), CreateMode.PersistentSequential).AsTask(),
            });
        }

        // Mid-stream: once the first replies are in, most of the rest are on the wire or queued.
        var clock = Stopwatch.StartNew();
        while (tasks.Count(t => t.IsCompleted) < 50 && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(1);
        }

        connected.RefuseNewConnections = true;
        connected.CutAll();

        var all = Task.WhenAll(tasks).ContinueWith(_ => { }, TaskScheduler.Default);
        (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(30)))).Should().BeSameAs(all, "no request may hang");
        var failures = tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).ToList();
        failures.Should().AllBeOfType<ConnectionLossException>();
        tasks.Should().OnlyContain(t => t.IsCompletedSuccessfully || t.IsFaulted);
        TestContext.Out.WriteLine($"{tasks.Count(t => t.IsCompletedSuccessfully)} succeeded, {failures.Count} ConnectionLoss ({failures.Count(f => !((ConnectionLossException)f).RequestSent)} unsent)");
        failures.Should().NotBeEmpty("the cut happened with requests outstanding");

        await zk.WaitUntilConnectedAsync().WaitAsync(TimeSpan.FromSeconds(10));
        zk.SessionId.Should().Be(session, "the session resumes");
        zk.Server.Should().Be(other.Endpoint, "the refused endpoint is skipped");
        await Eventually(() => Task.FromResult(states.Count >= 2), TimeSpan.FromSeconds(5), "state changes reach the dispatcher");
        states.Select(s => s.Current).Should().ContainInOrder(ZooKeeperState.Suspended, ZooKeeperState.Connected);
        (await writer.ExistsAsync(path + "/eph"))!.Value.EphemeralOwner.Should().Be(session);

        await events.WaitForAsync(e => e.Type == EventType.None && e.State == KeeperState.Disconnected);
        var reconnected = await events.WaitForAsync(e => e.Type == EventType.None && e.State == KeeperState.SyncConnected);
        reconnected.EventsMayHaveBeenMissed.Should().BeTrue();

        // Watches fire afterwards: the data watch was re-armed by SetWatches2 (or fired at once if a set landed).
        await writer.SetDataAsync(path, Bytes("after"));
        (await events.WaitForAsync(e => e.Type == EventType.NodeDataChanged)).Path.Should().Be(path);
        await writer.CreateAsync(path + "/late", Bytes(""));
        await persistent.WaitForAsync(e => e.Type == EventType.NodeCreated && e.Path == path + "/late");
    }

    [Test]
    public async Task Reconnect_ChangeWhileDisconnected_FiresReArmedWatch_AndAuthIsReplayed()
    {
        await using var proxy = new TcpProxy(Server.ClientPort);
        var zk = await ConnectAsync(proxy.Endpoint, TimeSpan.FromSeconds(10));
        var writer = await ConnectAsync();
        await zk.AddAuthAsync("digest", Bytes("bob:pw"));
        var path = UniquePath("rearm");
        await zk.CreateAsync(path, Bytes("0"), acl: Acls.CreatorAll);
        await writer.AddAuthAsync("digest", Bytes("bob:pw"));
        var data = new EventLog();
        var exist = new EventLog();
        var child = new EventLog();
        await zk.GetDataAsync(path, data.Watcher);
        await zk.ExistsAsync(path + "/later", exist.Watcher);
        await zk.GetChildrenAsync(path, child.Watcher);

        proxy.RefuseNewConnections = true;
        proxy.CutAll();
        await Eventually(() => Task.FromResult(zk.State == ZooKeeperState.Suspended), TimeSpan.FromSeconds(5), "the cut is noticed");
        await writer.SetDataAsync(path, Bytes("changed while disconnected"));
        await writer.CreateAsync(path + "/later", Bytes(""));
        proxy.RefuseNewConnections = false;

        await zk.WaitUntilConnectedAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await data.WaitForAsync(e => e.Type == EventType.NodeDataChanged);
        await exist.WaitForAsync(e => e.Type == EventType.NodeCreated);
        await child.WaitForAsync(e => e.Type == EventType.NodeChildrenChanged);

        // The digest identity was re-sent on the new connection: the CreatorAll node is still ours.
        (await zk.GetDataAsync(path)).Data.Should().Equal(Bytes("changed while disconnected"));
    }

    [Test]
    public async Task BlackHole_PastTheTimeout_ReportsExpired_EphemeralsGone()
    {
        await using var proxy = new TcpProxy(Server.ClientPort);
        var zk = await ConnectAsync(proxy.Endpoint, TimeSpan.FromSeconds(2));
        zk.SessionTimeout.Should().Be(TimeSpan.FromSeconds(2));
        var observer = await ConnectAsync();
        var path = UniquePath("expire");
        await zk.CreateAsync(path, Bytes(""), CreateMode.Ephemeral);
        var events = new EventLog();
        await zk.ExistsAsync(path, events.Watcher);
        var expired = new TaskCompletionSource<ZooKeeperStateChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        zk.StateChanged += (_, c) =>
        {
            if (c.Current == ZooKeeperState.Expired)
            {
                expired.TrySetResult(c);
            }
        };

        var clock = Stopwatch.StartNew();
        proxy.BlackHole = true;
        var change = await expired.Task.WaitAsync(TimeSpan.FromSeconds(15));
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(6), "expiry is declared about one session timeout after the last server contact");
        change.Reason.Should().BeOfType<SessionExpiredException>();
        zk.State.Should().Be(ZooKeeperState.Expired);
        await events.WaitForAsync(e => e.Type == EventType.None && e.State == KeeperState.Expired);
        await FluentActions.Awaiting(async () => await zk.GetDataAsync(path)).Should().ThrowAsync<SessionExpiredException>();
        await Eventually(async () => await observer.ExistsAsync(path) is null, TimeSpan.FromSeconds(5), "the server expired the session and deleted its ephemeral");
    }

    [Test]
    public async Task StalledWhileTheServerExpiresTheSession_ReconnectIsAnsweredWithTimeoutZero_ReportsServerReportedExpiry()
    {
        // The client-side timer path is covered above. Here the server expires the session while the client's own
        // timer is far from due (10 s): the link is stalled, the session is closed server-side (as Curator's
        // KillSession does: re-attach with the id and password, then closeSession), then the link heals. The server
        // dropped our connection, so the client reconnects and the server answers the handshake with timeOut 0.
        await using var proxy = new TcpProxy(Server.ClientPort);
        var zk = await ConnectAsync(proxy.Endpoint, TimeSpan.FromSeconds(10));
        var observer = await ConnectAsync();
        var path = UniquePath("server-expired");
        await zk.CreateAsync(path, Bytes(""), CreateMode.Ephemeral);
        var events = new EventLog();
        await zk.ExistsAsync(path, events.Watcher);
        var expired = new TaskCompletionSource<ZooKeeperStateChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        zk.StateChanged += (_, c) =>
        {
            if (c.Current == ZooKeeperState.Expired)
            {
                expired.TrySetResult(c);
            }
        };

        var clock = Stopwatch.StartNew();
        proxy.Stall();
        var pending = zk.GetDataAsync(path).AsTask();
        await RawSession.CloseAsync(Server.ClientPort, zk.SessionId, zk.SessionPassword.ToArray());
        await Eventually(async () => await observer.ExistsAsync(path) is null, TimeSpan.FromSeconds(10), "the server closed the session and deleted its ephemeral");
        proxy.Resume();

        var change = await expired.Task.WaitAsync(TimeSpan.FromSeconds(15));
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "the server reported the expiry before the client's own timer could");
        change.Reason.Should().BeOfType<SessionExpiredException>();
        change.Reason!.Message.Should().Contain("reported the session").And.NotContain("declared by the client");
        zk.State.Should().Be(ZooKeeperState.Expired);
        await FluentActions.Awaiting(() => pending.WaitAsync(TimeSpan.FromSeconds(10))).Should().ThrowAsync<ZooKeeperException>()
            .Where(e => e is SessionExpiredException || e is ConnectionLossException, "a request issued while the link was stalled fails with the connection (sent or not: the server closed it) or with the expiry");
        await events.WaitForAsync(e => e.Type == EventType.None && e.State == KeeperState.Expired);
        await FluentActions.Awaiting(async () => await zk.GetDataAsync(path)).Should().ThrowAsync<SessionExpiredException>();
        await FluentActions.Awaiting(async () => await zk.CreateAsync(path, Bytes(""))).Should().ThrowAsync<SessionExpiredException>();
    }

    [Test]
    public async Task Stall_ShorterThanTheTimeout_KeepsTheSession()
    {
        await using var proxy = new TcpProxy(Server.ClientPort);
        var zk = await ConnectAsync(proxy.Endpoint, TimeSpan.FromSeconds(4));
        var path = UniquePath();
        await zk.CreateAsync(path, Bytes("x"), CreateMode.Ephemeral);
        proxy.Stall();
        var read = zk.GetDataAsync(path).AsTask();
        await Task.Delay(1000);
        read.IsCompleted.Should().BeFalse();
        proxy.Resume();
        (await read.WaitAsync(TimeSpan.FromSeconds(5))).Data.Should().Equal(Bytes("x"));
        zk.State.Should().Be(ZooKeeperState.Connected);
    }

    [Test]
    public async Task Delay_AddsLatency_PingsKeepAnIdleSessionAlive()
    {
        await using var proxy = new TcpProxy(Server.ClientPort);
        var zk = await ConnectAsync(proxy.Endpoint, TimeSpan.FromSeconds(1.5));
        var lost = 0;
        zk.StateChanged += (_, c) => lost += c.Current == ZooKeeperState.Suspended ? 1 : 0;
        proxy.Delay = TimeSpan.FromMilliseconds(50);
        var clock = Stopwatch.StartNew();
        await zk.ExistsAsync("/");
        clock.Elapsed.Should().BeGreaterThan(TimeSpan.FromMilliseconds(90));
        proxy.Delay = TimeSpan.Zero;
        await Task.Delay(TimeSpan.FromSeconds(4));
        lost.Should().Be(0, "pings at a third of the timeout keep the connection alive");
        (await zk.ExistsAsync("/")).Should().NotBeNull();
    }

    [Test]
    public async Task UnknownAuthScheme_IsTerminal()
    {
        var zk = await ZooKeeperClient.ConnectAsync(Options(Server.ConnectionString));
        try
        {
            await FluentActions.Awaiting(async () => await zk.AddAuthAsync("nosuch", Bytes("x"))).Should().ThrowAsync<AuthFailedException>();
            await Eventually(() => Task.FromResult(zk.State == ZooKeeperState.AuthFailed), TimeSpan.FromSeconds(5), "auth failure is terminal");
            await FluentActions.Awaiting(async () => await zk.ExistsAsync("/")).Should().ThrowAsync<AuthFailedException>();
        }
        finally
        {
            await zk.DisposeAsync();
        }
    }
}
