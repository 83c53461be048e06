using System.Collections.Concurrent;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes.Locks;

public class LockTests : ServerFixture
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    [Test]
    public async Task Mutex_ContendedBySeveralClients_OneHolderAtATime_FencingTokensIncrease()
    {
        var path = UniquePath("mutex");
        var inside = 0;
        var maxInside = 0;
        var tokens = new ConcurrentQueue<long>();
        async Task Worker(InterProcessMutex mutex)
        {
            for (var i = 0; i < 8; i++)
            {
                await using var handle = await mutex.AcquireAsync().WaitAsync(Wait);
                var now = Interlocked.Increment(ref inside);
                InterlockedMax(ref maxInside, now);
                tokens.Enqueue(handle.FencingToken);
                await Task.Delay(2);
                Interlocked.Decrement(ref inside);
            }
        }

        var workers = new List<Task>();
        for (var w = 0; w < 4; w++)
        {
            workers.Add(Worker(new InterProcessMutex(await RecoveringClientAsync(Server.ConnectionString), path)));
        }

        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(90));
        maxInside.Should().Be(1, "a mutex admits one holder at a time");
        tokens.Should().HaveCount(32).And.BeInAscendingOrder().And.OnlyHaveUniqueItems("each holder's node was created after the previous holder's");
        var client = await ConnectAsync();
        (await client.GetChildrenAsync(path)).Children.Should().BeEmpty("every node was deleted on release");
    }

    [Test]
    public async Task Mutex_NodeNamedAsCurator_ReentrantPerHandle()
    {
        var path = UniquePath("reentrant");
        var mutex = new InterProcessMutex(await RecoveringClientAsync(Server.ConnectionString), path);
        var other = new InterProcessMutex(await RecoveringClientAsync(Server.ConnectionString), path);
        var handle = await mutex.AcquireAsync();
        ZooKeeperPathName(handle.NodePath).Should().MatchRegex("^_c_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-lock-[0-9]{10}$");

        mutex.Reenter(handle).Should().BeSameAs(handle);
        handle.HoldCount.Should().Be(2);
        await handle.ReleaseAsync();
        handle.HoldCount.Should().Be(1);
        var client = await ConnectAsync();
        (await client.ExistsAsync(handle.NodePath)).Should().NotBeNull("one hold is left");
        (await other.TryAcquireAsync(TimeSpan.Zero)).Should().BeNull("still held by the first handle");

        await handle.ReleaseAsync();
        (await client.ExistsAsync(handle.NodePath)).Should().BeNull("the last release deletes the node");
        FluentActions.Invoking(() => mutex.Reenter(handle)).Should().Throw<InvalidOperationException>();
        await using var second = await other.TryAcquireAsync(TimeSpan.FromSeconds(10));
        second.Should().NotBeNull();
        FluentActions.Invoking(() => mutex.Reenter(second!)).Should().Throw<ArgumentException>("a handle belongs to its own lock object");
    }

    [Test]
    public async Task Mutex_TimeoutAndCancellation_LeaveNoNodeBehind()
    {
        var path = UniquePath("timeout");
        var holder = new InterProcessMutex(await RecoveringClientAsync(Server.ConnectionString), path);
        var waiter = new InterProcessMutex(await RecoveringClientAsync(Server.ConnectionString), path);
        await using var held = await holder.AcquireAsync();
        var client = await ConnectAsync();

        (await waiter.TryAcquireAsync(TimeSpan.FromMilliseconds(300))).Should().BeNull("the lock is held");
        (await client.GetChildrenAsync(path)).Children.Should().ContainSingle("the timed-out waiter deleted its node");

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await FluentActions.Awaiting(() => waiter.AcquireAsync(cts.Token)).Should().ThrowAsync<OperationCanceledException>();
        (await client.GetChildrenAsync(path)).Children.Should().ContainSingle("the cancelled waiter deleted its node");

        await held.ReleaseAsync();
        await using var next = await waiter.TryAcquireAsync(TimeSpan.FromSeconds(10));
        next.Should().NotBeNull("the lock is free after the release");
    }

    [Test]
    public async Task Mutex_WaiterGetsLockWhenPredecessorLeaves_InQueueOrder()
    {
        var path = UniquePath("queue");
        var a = await new InterProcessMutex(await RecoveringClientAsync(Server.ConnectionString), path).AcquireAsync();
        var order = new ConcurrentQueue<string>();
        var b = Acquire("b", await RecoveringClientAsync(Server.ConnectionString));
        var client = await ConnectAsync();
        await Eventually(async () => (await client.GetChildrenAsync(path)).Children.Count == 2, Wait, "b is queued");
        var c = Acquire("c", await RecoveringClientAsync(Server.ConnectionString));
        await Eventually(async () => (await client.GetChildrenAsync(path)).Children.Count == 3, Wait, "c is queued");
        await a.ReleaseAsync();
        await Task.WhenAll(b, c).WaitAsync(Wait);
        order.Should().Equal("b", "c");

        async Task Acquire(string name, RecoveringZooKeeperClient holder)
        {
            await using var handle = await new InterProcessMutex(holder, path).AcquireAsync();
            order.Enqueue(name);
            await Task.Delay(50);
        }
    }

    [Test]
    public async Task ReadWrite_ReadersShare_WriterExcludes_ReaderBehindWaitingWriterWaits()
    {
        var path = UniquePath("rw");
        var rw1 = new InterProcessReadWriteLock(await RecoveringClientAsync(Server.ConnectionString), path);
        var rw2 = new InterProcessReadWriteLock(await RecoveringClientAsync(Server.ConnectionString), path);
        var rw3 = new InterProcessReadWriteLock(await RecoveringClientAsync(Server.ConnectionString), path);
        var client = await ConnectAsync();

        var r1 = await rw1.ReadLock.AcquireAsync();
        var r2 = await rw2.ReadLock.TryAcquireAsync(TimeSpan.FromSeconds(10));
        r2.Should().NotBeNull("readers share the lock");
        ZooKeeperPathName(r1.NodePath).Should().MatchRegex("^_c_[0-9a-f-]{36}-__READ__[0-9]{10}$");
        (await rw3.WriteLock.TryAcquireAsync(TimeSpan.FromMilliseconds(300))).Should().BeNull("readers hold it");
        await r2!.ReleaseAsync();

        // A writer queues behind r1; a reader arriving after the writer waits for it (no writer starvation).
        var writer = rw3.WriteLock.AcquireAsync();
        await Eventually(async () => (await client.GetChildrenAsync(path)).Children.Any(c => c.Contains("__WRIT__", StringComparison.Ordinal)), Wait, "the writer is queued");
        (await rw2.ReadLock.TryAcquireAsync(TimeSpan.FromMilliseconds(300))).Should().BeNull("a writer is ahead of this reader");
        writer.IsCompleted.Should().BeFalse("r1 still reads");

        await r1.ReleaseAsync();
        var w = await writer.WaitAsync(Wait);
        ZooKeeperPathName(w.NodePath).Should().MatchRegex("^_c_[0-9a-f-]{36}-__WRIT__[0-9]{10}$");
        (await rw1.ReadLock.TryAcquireAsync(TimeSpan.FromMilliseconds(300))).Should().BeNull("the writer excludes readers");
        (await rw2.WriteLock.TryAcquireAsync(TimeSpan.Zero)).Should().BeNull("and other writers");
        await w.ReleaseAsync();
        await using var r3 = await rw1.ReadLock.TryAcquireAsync(TimeSpan.FromSeconds(10));
        r3.Should().NotBeNull();
        (await client.GetChildrenAsync(path)).Children.Should().ContainSingle("timed-out contenders left nothing");
    }

    [Test]
    public void ReadWrite_ReaderDecision_WatchesNearestPrecedingWriterOnly()
    {
        string[] sorted = ["_c_a-__READ__0000000001", "_c_b-__WRIT__0000000002", "_c_c-__READ__0000000003", "_c_d-__WRIT__0000000004", "_c_e-__READ__0000000005"];
        InterProcessReadWriteLock.ReaderDecision(sorted, sorted[0]).Should().Be((true, (string?)null));
        InterProcessReadWriteLock.ReaderDecision(sorted, sorted[2]).Should().Be((false, sorted[1]));
        InterProcessReadWriteLock.ReaderDecision(sorted, sorted[4]).Should().Be((false, sorted[3]));
        InterProcessMutex.StandardDecision(sorted, sorted[3]).Should().Be((false, sorted[2]), "a writer watches the node just before it");
        InterProcessReadWriteLock.Sort(["_c_x-__WRIT__0000000009", "_c_y-__READ__0000000002", "foreign"]).Should().Equal("_c_y-__READ__0000000002", "_c_x-__WRIT__0000000009", "foreign");
    }

    [Test]
    public async Task Mutex_HolderSessionExpires_HolderToldLost_OtherClientAcquires()
    {
        await using var proxy = new TcpProxy(Server.ClientPort);
        var path = UniquePath("expire");
        var holderClient = Own(await RecoveringZooKeeperClient.ConnectAsync(Options(proxy.Endpoint, TimeSpan.FromSeconds(2))));
        var handle = await new InterProcessMutex(holderClient, path).AcquireAsync();
        handle.IsLost.Should().BeFalse();
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        handle.LostToken.Register(() => lost.TrySetResult());

        proxy.BlackHole = true;
        await lost.Task.WaitAsync(Wait);
        handle.LostReason.Should().Contain("Suspended", "the holder is warned at the first sign, before the session is gone");

        var other = new InterProcessMutex(await RecoveringClientAsync(Server.ConnectionString), path);
        await using var next = await other.TryAcquireAsync(Wait);
        next.Should().NotBeNull("the expired holder's node was deleted by the server");
        next!.FencingToken.Should().BeGreaterThan(handle.FencingToken);
        proxy.BlackHole = false;
        proxy.CutAll();
        await handle.ReleaseAsync(); // Harmless: the node is gone with the old session.
    }

    private static string ZooKeeperPathName(string path) => path[(path.LastIndexOf('/') + 1)..];

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

}
