using System.Diagnostics;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes;

public class LeaderLatchTests : ElectionFixture
{
    // watchTwoAhead false (default): c is not told when a leaves, so it lists again when b goes before leading; true: it
    // was woken by a's deletion and takes over from b without a list.
    [TestCase(false)]
    [TestCase(true)]
    public async Task ThreeLatches_OneLeadsAtATime_HandOverInQueueOrderWithGrowingFencingTokens(bool watchTwoAhead)
    {
        var path = ElectionPath();
        var (a, ra) = await StartLatchAsync(await ConnectAsync(), path, "a", watchTwoAhead: watchTwoAhead);
        var (b, rb) = await StartLatchAsync(await ConnectAsync(), path, "b", watchTwoAhead: watchTwoAhead);
        var (c, _) = await StartLatchAsync(await ConnectAsync(), path, "c", watchTwoAhead: watchTwoAhead);

        var termA = await a.WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        a.HasLeadership.Should().BeTrue();
        b.HasLeadership.Should().BeFalse();
        c.HasLeadership.Should().BeFalse();
        (await b.GetParticipantsAsync()).Select(p => (p.Id, p.IsLeader)).Should().Equal(("a", true), ("b", false), ("c", false));
        (await c.GetLeaderAsync())!.Id.Should().Be("a");
        termA.NodePath.Should().MatchRegex(path + "/_c_[0-9a-f-]{36}-latch-\\d{10}$");

        await a.CloseAsync();
        termA.IsActive.Should().BeFalse();
        var termB = await b.WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        termB.FencingToken.Should().BeGreaterThan(termA.FencingToken);
        c.HasLeadership.Should().BeFalse();
        ra.Entries.Select(e => (e.IsLeader, e.Reason)).Should().Equal((true, null), (false, LeadershipLossReason.Closed));

        await b.CloseAsync();
        var termC = await c.WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        termC.FencingToken.Should().BeGreaterThan(termB.FencingToken);
        rb.Elected.Should().ContainSingle();
    }

    [Test]
    public async Task FiveLatches_EachWatchesOnlyItsPredecessor_NoHerd()
    {
        var path = ElectionPath();
        var latches = new List<LeaderLatch>();
        for (var i = 0; i < 5; i++)
        {
            latches.Add((await StartLatchAsync(await ConnectAsync(), path, "c" + i)).Latch);
        }

        await latches[0].WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));

        // The leader watches its own node; the second in line its predecessor and its own node (it takes over without
        // re-listing); every later contender only its predecessor: 1 + 2 + 3. A herd would put 5 child watches on the
        // parent and wake everyone on every change.
        await Eventually(async () => await TotalWatchesAsync() == 6, TimeSpan.FromSeconds(20), "one watch per contender on another node, none on the parent");

        // The deletion wakes only the next (its watch on c0 and c0's own watch fire); c2, now second, is not told.
        await latches[0].CloseAsync();
        await latches[1].WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await Eventually(async () => await TotalWatchesAsync() == 4, TimeSpan.FromSeconds(20), "the deletion woke only the next");

        // A middle contender leaving re-links the queue: its successor lists again and watches the one before it.
        await latches[3].CloseAsync();
        await Eventually(async () => await TotalWatchesAsync() == 3, TimeSpan.FromSeconds(20), "the successor of the leaver re-armed on its new predecessor");
        latches[1].HasLeadership.Should().BeTrue();
        latches[4].HasLeadership.Should().BeFalse();
        (await latches[4].GetParticipantsAsync()).Select(p => p.Id).Should().Equal("c1", "c2", "c4");

        // c2 moved up to second without being told: it lists again when c1 goes, then leads; c4 follows it.
        await latches[1].CloseAsync();
        var term2 = await latches[2].WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await latches[2].CloseAsync();
        (await latches[4].WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30))).FencingToken.Should().BeGreaterThan(term2.FencingToken);
    }

    [Test]
    public async Task Start_WarmUpRehearsesAHandOver_LeavesNoTraceOnTheServerOrTheListeners()
    {
        var path = ElectionPath();
        var client = await ConnectAsync();
        var (latch, recorder) = await StartLatchAsync(client, path, "solo");
        var term = await latch.WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await Eventually(() => latch.Rehearsed == true, TimeSpan.FromSeconds(30), "the first latch of a client rehearses a hand-over after its first check");
        await latch.WarmedUp.WaitAsync(TimeSpan.FromSeconds(30));

        // The rehearsal latch led and closed (its delete named a node that never existed): one child ever created under
        // the election path, ours; the leader's own-node watch is the only watch; our listener heard one term.
        var zk = client.Current;
        (await zk.GetChildrenAsync(path)).Children.Should().Equal(term.NodePath[(path.Length + 1)..]);
        (await zk.ExistsAsync(path))!.Value.Cversion.Should().Be(1, "no node other than ours was created or deleted under the election path");
        await Eventually(async () => await TotalWatchesAsync() == 1, TimeSpan.FromSeconds(20), "the leader watches its own node, nothing else is watched");
        recorder.Entries.Select(e => (e.IsLeader, e.Term.FencingToken)).Should().Equal((true, term.FencingToken));
        latch.HasLeadership.Should().BeTrue();
        latch.CurrentTerm.Should().BeSameAs(term);

        // Once per client: a second latch on the same client does not rehearse again.
        var (sibling, _) = await StartLatchAsync(client, ElectionPath(), "sibling");
        await sibling.WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await Eventually(() => sibling.Rehearsed is not null, TimeSpan.FromSeconds(30), "its warm-up ends");
        sibling.Rehearsed.Should().BeFalse();

        // And it still works: a second contender (its own client, so it rehearses too) takes over on close.
        var (next, _) = await StartLatchAsync(await ConnectAsync(), path, "next");
        await Eventually(() => next.Rehearsed == true, TimeSpan.FromSeconds(30), "a latch on another client rehearses");
        await latch.CloseAsync();
        (await next.WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30))).FencingToken.Should().BeGreaterThan(term.FencingToken);
        recorder.Entries.Select(e => (e.IsLeader, e.Reason)).Should().Equal((true, null), (false, LeadershipLossReason.Closed));
    }

    [Test]
    public async Task FiveLatches_WatchTwoAhead_EveryContenderReadyToTakeOver_TwoWatchesAtMost()
    {
        var path = ElectionPath();
        var latches = new List<LeaderLatch>();
        for (var i = 0; i < 5; i++)
        {
            latches.Add((await StartLatchAsync(await ConnectAsync(), path, "c" + i, watchTwoAhead: true)).Latch);
        }

        await latches[0].WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));

        // The leader watches its own node; the second in line its predecessor and its own node; every later contender its
        // predecessor and the node two ahead (whose deletion makes it second): 1 + 2 + 3 × 2.
        await Eventually(async () => await TotalWatchesAsync() == 9, TimeSpan.FromSeconds(20), "at most two watches per contender, none on the parent");

        await latches[0].CloseAsync();
        await latches[1].WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await Eventually(async () => await TotalWatchesAsync() == 7, TimeSpan.FromSeconds(20), "the deletion woke only the next two, and the new second re-armed");

        // A middle contender leaving re-links the queue: its successor now watches the one before it and the leader.
        await latches[3].CloseAsync();
        await Eventually(async () => await TotalWatchesAsync() == 5, TimeSpan.FromSeconds(20), "the successor of the leaver re-armed on its new predecessor");
        latches[1].HasLeadership.Should().BeTrue();
        latches[4].HasLeadership.Should().BeFalse();
        (await latches[4].GetParticipantsAsync()).Select(p => p.Id).Should().Equal("c1", "c2", "c4");
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task SecondInLine_OwnNodeDeletedRightBeforeItsPredecessor_NeverLeadsOnTheDeletedNode(bool watchTwoAhead)
    {
        // The second in line takes over on its predecessor's deletion without listing again; that is only right while
        // its own node exists. Here another client deletes b's node and then a's, back to back: b must see its own
        // deletion first (notifications arrive in zxid order) and not lead; c leads (woken by b's deletion, it lists;
        // with WatchTwoAhead it also watched a).
        var path = ElectionPath();
        var admin = (await ConnectAsync()).Current;
        var (a, _) = await StartLatchAsync(await ConnectAsync(), path, "a", watchTwoAhead: watchTwoAhead);
        var (b, rb) = await StartLatchAsync(await ConnectAsync(), path, "b", watchTwoAhead: watchTwoAhead);
        var (c, rc) = await StartLatchAsync(await ConnectAsync(), path, "c", watchTwoAhead: watchTwoAhead);
        await a.WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var watches = watchTwoAhead ? 5 : 4;
        await Eventually(async () => await TotalWatchesAsync() == watches, TimeSpan.FromSeconds(20), "a watches its node, b its node and a, c b (and a with WatchTwoAhead)");
        var bNode = b.NodePath!;
        var aNode = a.NodePath!;

        var deleteB = admin.DeleteAsync(bNode);
        var deleteA = admin.DeleteAsync(aNode);
        await deleteB;
        await deleteA;

        await c.WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await Eventually(() => b.NodePath is { } p && p != bNode, TimeSpan.FromSeconds(30), "b queues again with a new node");
        (await c.GetLeaderAsync())!.Id.Should().Be("c");
        rb.Elected.Should().BeEmpty("b's node was gone before its predecessor was");
        b.HasLeadership.Should().BeFalse();
        rc.Elected.Should().ContainSingle();
    }

    [Test]
    public async Task Suspended_DropsLeadershipAtOnce_RegainsWithTheSameNodeOnReconnect()
    {
        var path = ElectionPath();
        await using var proxy = new TcpProxy(Ensemble.Servers[0].ClientPort);
        var viaProxy = await ConnectAsync(proxy.Endpoint, TimeSpan.FromSeconds(20));
        var (a, ra) = await StartLatchAsync(viaProxy, path, "a");
        var (b, rb) = await StartLatchAsync(await ConnectAsync(), path, "b");
        var term = await a.WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));

        proxy.RefuseNewConnections = true;
        proxy.CutAll();
        await Eventually(() => term.LeadershipLost.IsCancellationRequested, TimeSpan.FromSeconds(10), "the term token is cancelled on suspension");
        a.HasLeadership.Should().BeFalse();
        await Eventually(() => ra.Lost.Count == 1, TimeSpan.FromSeconds(10), "NotLeader is delivered");
        ra.Lost[0].Reason.Should().Be(LeadershipLossReason.ConnectionSuspended);

        proxy.RefuseNewConnections = false;
        await Eventually(() => ra.Elected.Count == 2, TimeSpan.FromSeconds(30), "a leads again after reconnecting: its node stayed first");
        ra.Elected[1].Term.FencingToken.Should().Be(term.FencingToken, "same node, and no one else led in between");
        ra.Elected[1].Term.SessionId.Should().Be(term.SessionId);
        rb.Elected.Should().BeEmpty();
        b.HasLeadership.Should().BeFalse();
    }

    [Test]
    public async Task SessionExpiry_NewSessionContendsWithANewNode_FencingTokenGrows()
    {
        var path = ElectionPath();
        await using var proxy = new TcpProxy(Ensemble.Servers[1].ClientPort);
        var viaProxy = await ConnectAsync(proxy.Endpoint, TimeSpan.FromSeconds(2));
        var (a, ra) = await StartLatchAsync(viaProxy, path, "a");
        var (b, rb) = await StartLatchAsync(await ConnectAsync(), path, "b");
        var first = await a.WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var firstSession = viaProxy.Current.SessionId;

        proxy.RefuseNewConnections = true;
        proxy.CutAll();
        var termB = await b.WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        termB.FencingToken.Should().BeGreaterThan(first.FencingToken);
        await Eventually(() => ra.Lost.Count >= 1 && rb.Elected.Count == 1, TimeSpan.FromSeconds(10), "callbacks are delivered");
        ra.Lost.Select(e => e.Reason).Should().StartWith(LeadershipLossReason.ConnectionSuspended);
        var aLost = ra.Lost[0].Timestamp;
        rb.Elected[0].Timestamp.Should().BeGreaterThan(aLost, "b leads only after a stopped");

        proxy.RefuseNewConnections = false;
        await Eventually(() => viaProxy.SessionCount == 2 && a.NodePath is not null && a.NodePath != first.NodePath, TimeSpan.FromSeconds(30), "a new session re-joins with a new node");
        viaProxy.Current.SessionId.Should().NotBe(firstSession);
        a.HasLeadership.Should().BeFalse("b leads now; a queues behind it");

        await b.CloseAsync();
        var second = await a.WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        second.SessionId.Should().Be(viaProxy.Current.SessionId);
        second.FencingToken.Should().BeGreaterThan(termB.FencingToken);
        second.NodePath.Should().NotBe(first.NodePath);
    }

    [Test]
    public async Task KeepUntilSessionTimeout_KeepsLeadershipWhileSuspended_NeverPastTheTimeoutSinceLastContact()
    {
        var path = ElectionPath();
        var timeout = TimeSpan.FromSeconds(4);
        await using var proxy = new TcpProxy(Ensemble.Servers[2].ClientPort);
        var viaProxy = await ConnectAsync(proxy.Endpoint, timeout);
        var (a, ra) = await StartLatchAsync(viaProxy, path, "a", LeaderSuspensionPolicy.KeepUntilSessionTimeout);
        var (b, rb) = await StartLatchAsync(await ConnectAsync(), path, "b");
        var term = await a.WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var client = viaProxy.Current;

        // Silence: the connection stays open but no byte passes; reconnects through the proxy fail the same way.
        proxy.BlackHole = true;
        var keptWhileSuspended = false;
        var clock = Stopwatch.StartNew();
        while (term.IsActive && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            var silentBefore = client.Time.GetElapsedTime(client.LastServerContactTimestamp);
            var has = a.HasLeadership;
            if (has)
            {
                silentBefore.Should().BeLessThan(timeout, "leadership never outlives the session timeout since the last server contact");
                keptWhileSuspended |= client.State == ZooKeeperState.Suspended;
            }

            await Task.Delay(5);
        }

        term.IsActive.Should().BeFalse();
        keptWhileSuspended.Should().BeTrue("the policy keeps leadership through the suspension");
        await Eventually(() => ra.Lost.Count >= 1, TimeSpan.FromSeconds(10), "NotLeader is delivered");
        ra.Lost[0].Reason.Should().Be(LeadershipLossReason.SessionTimeoutElapsed);
        var termB = await b.WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await Eventually(() => rb.Elected.Count == 1, TimeSpan.FromSeconds(10), "IsLeader is delivered");
        rb.Elected[0].Timestamp.Should().BeGreaterThan(ra.Lost[0].Timestamp);
        termB.FencingToken.Should().BeGreaterThan(term.FencingToken);
        proxy.BlackHole = false;
    }

    [Test]
    public async Task ListenerThatThrows_IsCountedAndLogged_OthersStillCalledInOrder()
    {
        var path = ElectionPath();
        var client = await ConnectAsync();
        var latch = Own(new LeaderLatch(client, new LeaderLatchOptions { Path = path, ParticipantId = "x", CloseMode = LeaderLatchCloseMode.NotifyLeader }));
        latch.AddListener(new Throwing());
        var recorder = new Recorder();
        latch.AddListener(recorder);
        latch.Start();
        await latch.WaitForLeadershipAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await latch.CloseAsync();
        recorder.Entries.Select(e => e.IsLeader).Should().Equal(true, false);
        latch.ListenerErrors.Should().Be(2);
        await FluentActions.Awaiting(() => latch.WaitForLeadershipAsync()).Should().ThrowAsync<ObjectDisposedException>();
    }

    private sealed class Throwing : ILeaderLatchListener
    {
        public void IsLeader(LeaderTerm term) => throw new InvalidOperationException("listener bug");

        public void NotLeader(LeaderTerm term, LeadershipLossReason reason) => throw new InvalidOperationException("listener bug");
    }
}
