using System.Diagnostics;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes.Config;

/// <summary>
/// Change-visible latency: setData on one client until each watcher's <c>Changed</c> handler runs (notification, re-read,
/// parse, dispatch). A measurement, not a speed assertion: figures go to the test output and benchmarks/README.md.
/// Run with <c>--filter Category=LongRunning</c>; about 10 s.
/// </summary>
[Category("LongRunning")]
public class ConfigWatcherLatencyTests : ServerFixture
{
    [Test]
    public async Task ChangeVisibleLatency_1000Changes3Watchers_Measured()
    {
        const int Warmup = 100;
        const int Rounds = 1000;
        const int WatcherCount = 3;
        var path = UniquePath("latency");
        var writer = await ConnectAsync();
        await writer.CreateAsync(path, Bytes("0"));
        var sources = new List<RecoveringZooKeeperClient>();
        var watchers = new List<ZooKeeperConfigWatcher<string>>();
        var seen = new long[WatcherCount];
        var arrivals = new long[WatcherCount];
        TaskCompletionSource round = new(TaskCreationOptions.RunContinuationsAsynchronously);
        var expected = 0;
        var remaining = 0;
        try
        {
            for (var w = 0; w < WatcherCount; w++)
            {
                var index = w;
                var source = await RecoveringZooKeeperClient.ConnectAsync(Options(Server.ConnectionString));
                sources.Add(source);
                var watcher = new ZooKeeperConfigWatcher<string>(source, new() { Path = path, Parser = ConfigParsers.Utf8 });
                watcher.Changed += (_, c) =>
                {
                    var now = Stopwatch.GetTimestamp();
                    if (c.NewValue!.Stat.Version == Volatile.Read(ref expected))
                    {
                        arrivals[index] = now;
                        if (Interlocked.Decrement(ref remaining) == 0)
                        {
                            round.TrySetResult();
                        }
                    }
                };
                watchers.Add(watcher);
                await watcher.WaitForInitialLoadAsync(TimeSpan.FromSeconds(30));
            }

            var latencies = new List<double>(Rounds * WatcherCount);
            for (var i = 1; i <= Warmup + Rounds; i++)
            {
                round = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref remaining, WatcherCount);
                Volatile.Write(ref expected, i);
                var start = Stopwatch.GetTimestamp();
                await writer.SetDataAsync(path, Bytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                await round.Task.WaitAsync(TimeSpan.FromSeconds(30));
                if (i > Warmup)
                {
                    latencies.AddRange(arrivals.Select(a => Stopwatch.GetElapsedTime(start, a).TotalMilliseconds));
                }
            }

            latencies.Sort();
            double P(double q) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
            var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
            TestContext.Out.WriteLine($"config watcher change-visible latency over {Rounds} changes x {WatcherCount} watchers ({latencies.Count} samples): p50 {P(0.50):0.000} ms, p90 {P(0.90):0.000} ms, p99 {P(0.99):0.000} ms, max {latencies[^1]:0.000} ms; loadavg {load}");
            latencies.Should().HaveCount(Rounds * WatcherCount);
            watchers.Should().OnlyContain(w => w.Current!.Value == (Warmup + Rounds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        finally
        {
            foreach (var watcher in watchers)
            {
                await watcher.DisposeAsync();
            }

            foreach (var source in sources)
            {
                await source.DisposeAsync();
            }
        }
    }
}
