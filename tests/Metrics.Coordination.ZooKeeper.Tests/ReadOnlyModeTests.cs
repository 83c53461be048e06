using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.ZooKeeper.Tests;

/// <summary>
/// Read-only mode against a real 3-member ensemble whose members run with <c>readonlymode.enabled=true</c>: two
/// members are killed and the survivor serves reads to new clients with
/// <see cref="ZooKeeperClientOptions.CanBeReadOnly"/>. A session a read-write server created is not re-attached there:
/// ZooKeeper 3.8's read-only server refuses it ("Refusing global session reconnection in RO mode"), so that client
/// stays Suspended, as the Java client stays Disconnected, and resumes its session once the quorum is back.
/// </summary>
[Category("Integration")]
public class ReadOnlyModeTests
{
    // Generous: the survivor needs a few seconds to give up on an election and start its read-only server, and the
    // restarted members up to ~12 s to form a quorum; the machine may be loaded.
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Test]
    public async Task QuorumLost_NewClientServedReadOnly_ReadWriteSessionWaitsSuspended_QuorumBack_BothReadWrite()
    {
        // localSessionsEnabled: a 3.8 read-only server creates new sessions only as local sessions; without it the
        // handshake is answered by a bare error header (NotReadOnly). Sessions then start local and become global
        // ("upgraded", which needs localSessionsUpgradingEnabled) with their first ephemeral, as the read-write client's does.
        await using var ensemble = await ZooKeeperEnsemble.StartAsync(3, new ZooKeeperServerOptions
        {
            ReadOnlyModeEnabled = true,
            ExtraConfig = ["localSessionsEnabled=true", "localSessionsUpgradingEnabled=true"],
            JvmArguments = ["-Dorg.slf4j.simpleLogger.defaultLogLevel=info"],
        });

        // 60 s (the servers' maximum): the client-side timer must not expire the session during the outage.
        var timeout = TimeSpan.FromSeconds(60);
        using var logs = new CapturingLoggerFactory();
        await using var zk = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = ensemble.ConnectionString, SessionTimeout = timeout, CanBeReadOnly = true, LoggerFactory = logs });
        var states = new ConcurrentQueue<ZooKeeperStateChange>();
        zk.StateChanged += (_, c) => states.Enqueue(c);
        var session = zk.SessionId;
        var path = "/ro-" + Guid.NewGuid().ToString("N")[..8];
        await zk.CreateAsync(path, "before"u8.ToArray());
        await zk.CreateAsync(path + "/eph", Array.Empty<byte>(), CreateMode.Ephemeral); // also makes the session global
        var rwData = new EventLog();
        await zk.GetDataAsync(path, rwData.Watcher);

        // Kill the member we are connected to and one more: the survivor loses its quorum and turns read-only.
        var connected = ensemble.ByPort(int.Parse(zk.Server!.Split(':')[1], CultureInfo.InvariantCulture));
        var victims = new[] { connected, ensemble.Servers.First(s => s != connected) };
        var survivor = ensemble.Servers.Single(s => !victims.Contains(s));
        foreach (var victim in victims)
        {
            await victim.KillAsync();
        }

        await Eventually(() => survivor.GetModeAsync().GetAwaiter().GetResult() == "read-only", () => $"the survivor {survivor.ConnectionString} turns read-only");

        // A client that only ever saw the read-only server gets a read-only session of the server's own.
        using var freshLogs = new CapturingLoggerFactory();
        ZooKeeperClient fresh;
        try
        {
            fresh = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = ensemble.ConnectionString, SessionTimeout = timeout, CanBeReadOnly = true, ConnectTimeout = Generous, LoggerFactory = freshLogs });
        }
        catch (ConnectionLossException)
        {
            TestContext.Out.WriteLine(string.Join("\n", freshLogs.Entries));
            TestContext.Out.WriteLine(string.Join("\n", survivor.Process!.Output.Split('\n').TakeLast(40)));
            throw;
        }

        await using var freshScope = fresh;
        fresh.State.Should().Be(ZooKeeperState.ConnectedReadOnly);
        fresh.Server.Should().Be(survivor.ConnectionString);
        var freshReadOnlySession = fresh.SessionId;
        TestContext.Out.WriteLine($"read-only on {fresh.Server}: session 0x{freshReadOnlySession:x}");
        var freshData = new EventLog();
        (await fresh.GetDataAsync(path, freshData.Watcher)).Data.Should().Equal("before"u8.ToArray());
        (await fresh.GetChildrenAsync(path)).Children.Should().Equal(["eph"]);
        var write = await FluentActions.Awaiting(async () => await fresh.SetDataAsync(path, "during"u8.ToArray())).Should().ThrowAsync<NotReadOnlyException>();
        write.Which.Code.Should().Be(ErrorCode.NotReadOnly);
        ((int)write.Which.Code).Should().Be(-119);
        await FluentActions.Awaiting(async () => await fresh.CreateAsync(path + "/x", Array.Empty<byte>())).Should().ThrowAsync<NotReadOnlyException>();
        fresh.State.Should().Be(ZooKeeperState.ConnectedReadOnly, "a refused write does not break the connection");

        // The read-write session is refused by the read-only server (the client says why) and waits, Suspended.
        await Eventually(() => logs.Entries.Any(e => e.EventId.Id == 4017 && e.Message.Contains(survivor.ConnectionString, StringComparison.Ordinal)), () => $"the client logs that the read-only server refused its session; states {Describe(states)}\n{string.Join("\n", logs.Entries.TakeLast(12))}");
        zk.State.Should().Be(ZooKeeperState.Suspended);
        await Eventually(() => survivor.Process!.Output.Contains("Refusing global session reconnection in RO mode", StringComparison.Ordinal), "the server logs its reason for closing the handshake");

        // A client that does not accept read-only servers gets no connection from the survivor.
        await FluentActions.Awaiting(async () => await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectionString = survivor.ConnectionString,
            SessionTimeout = timeout,
            ConnectTimeout = TimeSpan.FromSeconds(2),
        })).Should().ThrowAsync<Exception>();

        var clock = Stopwatch.StartNew();
        foreach (var victim in victims)
        {
            victim.Launch();
        }

        await WaitForStateAsync(zk, ZooKeeperState.Connected);
        await WaitForStateAsync(fresh, ZooKeeperState.Connected);
        TestContext.Out.WriteLine($"read-write again after {clock.Elapsed.TotalMilliseconds:0} ms on {zk.Server} (session 0x{zk.SessionId:x}); fresh client 0x{freshReadOnlySession:x} -> 0x{fresh.SessionId:x}");
        zk.SessionId.Should().Be(session, "the read-write server resumes the session it knows");
        fresh.SessionId.Should().NotBe(freshReadOnlySession, "a session made on a read-only server is not carried over (the client sends session id 0)");

        await ZooKeeperRetry.ExecuteAsync(zk, ct => zk.SetDataAsync(path, "after"u8.ToArray(), cancellationToken: ct), idempotent: true, new ZooKeeperRetryOptions { MaxAttempts = 20 });
        (await zk.ExistsAsync(path + "/eph"))!.Value.EphemeralOwner.Should().Be(session, "the session and its ephemeral survived");
        (await rwData.WaitForAsync(e => e.Type == EventType.NodeDataChanged, TimeSpan.FromSeconds(15))).Path.Should().Be(path, "the read-write session's watch was re-registered");
        (await freshData.WaitForAsync(e => e.Type == EventType.NodeDataChanged, TimeSpan.FromSeconds(15))).Path.Should().Be(path, "the watch set while read-only was re-registered on the new session");

        await Eventually(() => states.Any(s => s.Current == ZooKeeperState.Connected), "the state changes reach the dispatcher");
        TestContext.Out.WriteLine(Describe(states));
        states.Select(s => s.Current).Should().ContainInOrder(ZooKeeperState.Suspended, ZooKeeperState.Connected);
        states.Should().NotContain(s => s.Current == ZooKeeperState.ConnectedReadOnly || s.Current == ZooKeeperState.Expired);
    }

    private static string Describe(IEnumerable<ZooKeeperStateChange> states) => string.Join(" -> ", states.Select(s => s.Current + "@" + s.Server));

    private static async Task WaitForStateAsync(ZooKeeperClient client, ZooKeeperState state)
    {
        await Eventually(() => client.State == state, () => $"the client reaches {state} (now {client.State} on {client.Server})");
    }

    private static Task Eventually(Func<bool> condition, string because) => Eventually(condition, () => because);

    private static async Task Eventually(Func<bool> condition, Func<string> because)
    {
        var clock = Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < Generous)
        {
            await Task.Delay(50);
        }

        condition().Should().BeTrue(because());
    }
}
