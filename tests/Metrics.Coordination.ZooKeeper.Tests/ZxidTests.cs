using Metrics.Coordination.Testing;

namespace Metrics.Coordination.ZooKeeper.Tests;

[Category("Integration")]
public class ZxidTests
{
    [Test]
    public async Task ServerBehindOurLastZxid_IsNeverAttached_SessionEndsClientSide()
    {
        await using var server = await ZooKeeperServer.StartAsync();
        await using var zk = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = server.ConnectionString, SessionTimeout = TimeSpan.FromSeconds(3) });
        for (var i = 0; i < 20; i++)
        {
            await zk.CreateAsync($"/z{i}", Array.Empty<byte>());
        }

        var seen = zk.LastZxid;
        seen.Should().BeGreaterThan(20);
        var states = new List<ZooKeeperState>();
        zk.StateChanged += (_, c) =>
        {
            lock (states)
            {
                states.Add(c.Current);
            }
        };

        // The same port with a wiped data directory: a server that went back in time.
        await server.KillAsync();
        Directory.Delete(server.DataDirectory, recursive: true);
        Directory.CreateDirectory(server.DataDirectory);
        await server.RestartAsync();

        await Eventually(() => zk.State == ZooKeeperState.Expired, TimeSpan.FromSeconds(15));
        lock (states)
        {
            states.Should().NotContain(ZooKeeperState.Connected, "a server behind our last zxid refuses us, and we never attach to it");
        }

        zk.LastZxid.Should().Be(seen);
    }

    private static async Task Eventually(Func<bool> condition, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < timeout)
        {
            await Task.Delay(50);
        }

        condition().Should().BeTrue();
    }
}
