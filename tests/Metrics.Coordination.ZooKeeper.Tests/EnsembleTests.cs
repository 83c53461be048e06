using System.Diagnostics;
using System.Globalization;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.ZooKeeper.Tests;

[Category("Integration")]
public class EnsembleTests
{
    private ZooKeeperEnsemble _ensemble = null!;

    [OneTimeSetUp]
    public async Task StartEnsemble() => _ensemble = await ZooKeeperEnsemble.StartAsync(3);

    [OneTimeTearDown]
    public async Task StopEnsemble()
    {
        if (_ensemble is not null)
        {
            await _ensemble.DisposeAsync();
        }
    }

    [Test]
    public async Task SigkillOfTheConnectedServer_ClientMovesWithinTheTimeout_KeepsSessionAndWatches()
    {
        var timeout = TimeSpan.FromSeconds(6);
        await using var zk = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = _ensemble.ConnectionString, SessionTimeout = timeout });
        await using var writer = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = _ensemble.ConnectionString, SessionTimeout = timeout });
        var session = zk.SessionId;
        var path = "/ens-" + Guid.NewGuid().ToString("N")[..8];
        await zk.CreateAsync(path, "0"u8.ToArray());
        await zk.CreateAsync(path + "/eph", Array.Empty<byte>(), CreateMode.Ephemeral);
        var data = new EventLog();
        var recursive = new EventLog();
        await zk.GetDataAsync(path, data.Watcher);
        await zk.AddWatchAsync(path, recursive.Watcher, AddWatchMode.PersistentRecursive);

        var port = int.Parse(zk.Server!.Split(':')[1], CultureInfo.InvariantCulture);
        var victim = _ensemble.ByPort(port);
        var clock = Stopwatch.StartNew();
        await victim.KillAsync();
        await zk.WaitUntilConnectedAsync().WaitAsync(timeout);
        var moved = clock.Elapsed;
        TestContext.Out.WriteLine($"moved from {victim.ConnectionString} to {zk.Server} in {moved.TotalMilliseconds:0} ms");
        moved.Should().BeLessThan(timeout);
        zk.Server.Should().NotBe(victim.ConnectionString);
        zk.SessionId.Should().Be(session);

        // Writes may pause while a new leader is elected (when the victim led); retry only what is safe.
        await ZooKeeperRetry.ExecuteAsync(writer, ct => writer.SetDataAsync(path, "1"u8.ToArray(), cancellationToken: ct), idempotent: true, new ZooKeeperRetryOptions { MaxAttempts = 20 });
        (await data.WaitForAsync(e => e.Type == EventType.NodeDataChanged)).Path.Should().Be(path);
        await ZooKeeperRetry.ExecuteAsync(writer, ct => writer.CreateAsync(path + "/after", Array.Empty<byte>(), cancellationToken: ct), idempotent: true);
        await recursive.WaitForAsync(e => e.Type == EventType.NodeCreated && e.Path == path + "/after");
        (await writer.ExistsAsync(path + "/eph"))!.Value.EphemeralOwner.Should().Be(session, "the session and its ephemeral survive the move");

        await victim.RestartAsync();
    }
}
