using System.Diagnostics;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.ZooKeeper.Tests;

/// <summary>Bounded chaos: repeated cuts under load. Run with <c>--filter Category=LongRunning</c>.</summary>
[Category("LongRunning")]
public class ChaosTests : ServerFixture
{
    [Test]
    public async Task RepeatedCutsUnderLoad_NoHang_OnlyConnectionLoss_SessionKept_VersionsAccountedFor()
    {
        var duration = TimeSpan.FromSeconds(20);
        await using var proxy = new TcpProxy(Server.ClientPort);
        var zk = await ConnectAsync(proxy.Endpoint, TimeSpan.FromSeconds(10));
        var session = zk.SessionId;
        var path = UniquePath("chaos");
        await zk.CreateAsync(path, Bytes("0"));
        var succeeded = 0;
        var unknown = 0;
        var unsent = 0;
        var longest = TimeSpan.Zero;
        using var stop = new CancellationTokenSource(duration);
        var rng = new Random(42);

        var chaos = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(rng.Next(200, 700));
                proxy.CutAll();
            }
        });

        async Task Worker()
        {
            var batch = new List<(Task Task, Stopwatch Clock)>();
            while (!stop.IsCancellationRequested)
            {
                batch.Clear();
                for (var i = 0; i < 50; i++)
                {
                    batch.Add((zk.SetDataAsync(path, Bytes("x")).AsTask(), Stopwatch.StartNew()));
                }

                foreach (var (task, clock) in batch)
                {
                    try
                    {
                        await task.WaitAsync(TimeSpan.FromSeconds(15));
                        Interlocked.Increment(ref succeeded);
                    }
                    catch (ConnectionLossException loss)
                    {
                        if (loss.RequestSent)
                        {
                            Interlocked.Increment(ref unknown);
                        }
                        else
                        {
                            Interlocked.Increment(ref unsent);
                        }
                    }

                    lock (batch)
                    {
                        longest = clock.Elapsed > longest ? clock.Elapsed : longest;
                    }
                }

                if (zk.State != ZooKeeperState.Connected)
                {
                    await zk.WaitUntilConnectedAsync().WaitAsync(TimeSpan.FromSeconds(10));
                }
            }
        }

        await Task.WhenAll(Worker(), Worker(), chaos);
        await zk.WaitUntilConnectedAsync().WaitAsync(TimeSpan.FromSeconds(10));

        // The last cut can land just before this read, while the client still reports Connected: a read is
        // idempotent, so retry it as a user would.
        var version = (await ZooKeeperRetry.ExecuteAsync(zk, ct => zk.GetDataAsync(path, cancellationToken: ct), idempotent: true)).Stat.Version;
        TestContext.Out.WriteLine($"{proxy.AcceptedConnections} connections; {succeeded} sets ok, {unknown} unknown outcome, {unsent} unsent; final version {version}; slowest {longest.TotalMilliseconds:0} ms");
        zk.SessionId.Should().Be(session);
        succeeded.Should().BeGreaterThan(100);
        proxy.AcceptedConnections.Should().BeGreaterThan(10);
        version.Should().BeInRange(succeeded, succeeded + unknown, "every applied set is a success or an unknown outcome; unsent ones never apply");
    }
}
