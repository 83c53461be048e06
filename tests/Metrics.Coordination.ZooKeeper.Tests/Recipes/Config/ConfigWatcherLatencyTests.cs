using System.Diagnostics;
using System.Globalization;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes.Config;

/// <summary>
/// Change-visible latency: setData on one client until each watcher's <c>Changed</c> handler runs (notification, re-read,
/// parse, dispatch), next to the floor the server and the machine allow, measured in the same run. A measurement, not a
/// speed assertion: figures go to the test output and benchmarks/README.md. Run with
/// <c>--filter "FullyQualifiedName~ConfigWatcherLatencyTests" --logger "console;verbosity=detailed"</c>; 5-15 s.
/// </summary>
/// <remarks>
/// <para>
/// The floor is 3 bare sessions on blocking sockets read by the test's own thread (and a 4th as the setter): the
/// notification, a getData that re-arms the watch as the watcher's does, its reply — no pipes, thread pool or
/// dispatcher. It watches its own node, so its rounds never wake our watchers and ours never wake it. Rounds run in
/// blocks (ours, then the floor's) so that both see the machine's load of the same moment while our rounds still follow
/// each other back to back, as a burst of config changes would.
/// </para>
/// <para>
/// Warm-up, 2,000 changes through the watchers (1-3 s): both ends are JIT-compiled at run time. With the 100 warm-up
/// changes this test had at first, the measured 1,000 changes met a server (a JVM) still compiling its watch path (loaded
/// runs: the floor's own p90 1.6-3.4 ms then, 0.6-0.7 ms warm) and our own process still in tiered compilation (1.1-1.3 ms
/// of CPU per round instead of 0.4-0.6 ms), which made the p90 of ~3 ms. 40,000 pipelined get/set operations first
/// (what zk-latency does) warm the server's request path and part of ours, but not the watch path: knobs for such
/// experiments (environment): CONFIG_LATENCY_WARMUP_OPS (0), CONFIG_LATENCY_WARMUP_FLOOR (floor rounds before ours, 0),
/// CONFIG_LATENCY_WARMUP_CHANGES (2000), CONFIG_LATENCY_ROUNDS (1000), CONFIG_LATENCY_BLOCK (rounds per block, 50; 1
/// alternates round by round), CONFIG_LATENCY_GAP_MS (a pause after each of our rounds, 0), CONFIG_LATENCY_IDLE_MS (a
/// pause before the first change, after the watchers' own start-up warm-up, 0).
/// </para>
/// <para>
/// The 2,000 warm-up changes stay the default after the watcher's start-up rehearsal (a change run through its real
/// path at start, see <see cref="ZooKeeperConfigWatcher{T}"/>): the rehearsal removed what a process's first change
/// paid for first use (first change of a fresh process on a warm server, slowest of the 3 watchers, 2.1-2.9 ms after
/// against 5.3-8.9 ms before in 7 interleaved runs each, load 3-7), but the p99 of 1,000 back-to-back changes right
/// after start is made by the process's tiered compilation (tier-0 code, background re-compilation on the same 2
/// cores, 0.7-0.9 ms of test-process CPU per round instead of 0.4-0.5) and by the server's: with 0 changes first (server
/// warmed by 2,000 floor rounds) it was 4.7-8.3 ms before and after alike (7 runs each), with 2,000 changes 1.9-4.1 ms
/// in the same hour (3 each). This test measures the steady state; benchmarks/README.md has the cold figures.
/// </para>
/// <para>
/// The floor is <see cref="BlockingConfigFloor"/> (tests/Metrics.Coordination.Testing, also compiled into the
/// benchmarks). The first 10 measured changes are printed separately: with CONFIG_LATENCY_WARMUP_CHANGES=0 they are
/// the changes a freshly started process sees (with CONFIG_LATENCY_WARMUP_FLOOR=2000 on a server whose watch path is
/// already compiled, as a long-running server's is).
/// </para>
/// </remarks>
[Category("LongRunning")]
public class ConfigWatcherLatencyTests : ServerFixture
{
    private const int WatcherCount = 3;

    [Test]
    public async Task ChangeVisibleLatency_1000Changes3Watchers_MeasuredNextToFloor()
    {
        var warmupOps = Knob("CONFIG_LATENCY_WARMUP_OPS", 0);
        var warmupChanges = Knob("CONFIG_LATENCY_WARMUP_CHANGES", 2000);
        var rounds = Knob("CONFIG_LATENCY_ROUNDS", 1000);
        var block = Math.Max(1, Knob("CONFIG_LATENCY_BLOCK", 50));
        var gap = Knob("CONFIG_LATENCY_GAP_MS", 0);
        var floorWarmup = Knob("CONFIG_LATENCY_WARMUP_FLOOR", 0);
        var idle = Knob("CONFIG_LATENCY_IDLE_MS", 0);
        var path = UniquePath("latency");
        var floorPath = UniquePath("floor");
        var writer = await ConnectAsync();
        await writer.CreateAsync(path, Bytes("0"));
        await writer.CreateAsync(floorPath, Bytes("0"));

        // The writer's own first setData (test machinery, not the watcher's path) is not part of any measured round.
        await writer.SetDataAsync(floorPath, Bytes("0"));
        var warmupClock = Stopwatch.StartNew();
        await WarmUpServerAsync(writer, floorPath, warmupOps);
        var warmupSeconds = warmupClock.Elapsed.TotalSeconds;

        var watchers = new List<ZooKeeperConfigWatcher<string>>();
        var arrivals = new long[WatcherCount];
        TaskCompletionSource round = new(TaskCreationOptions.RunContinuationsAsynchronously);
        var expected = 0;
        var remaining = 0;
        for (var w = 0; w < WatcherCount; w++)
        {
            var index = w;
            var watcher = Own(new ZooKeeperConfigWatcher<string>(await RecoveringClientAsync(), new() { Path = path, Parser = ConfigParsers.Utf8 }));
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

        using var floor = BlockingConfigFloor.Connect(Server.ClientPort, floorPath, WatcherCount);
        if (floorWarmup > 0)
        {
            await Task.Factory.StartNew(() => floor.Rounds(floorWarmup), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        // The watchers' start-up warm-up has run (an application's first change comes later than its start); then
        // optionally a pause, as if the process had been idle.
        foreach (var watcher in watchers)
        {
            await watcher.WarmedUp.WaitAsync(TimeSpan.FromSeconds(30));
        }

        if (idle > 0)
        {
            await Task.Delay(idle);
        }

        var ours = new List<double>(rounds * WatcherCount);
        var afterFloor = new List<double>();
        var firstTen = new List<double>();
        var floors = new List<double>(rounds * WatcherCount);
        var version = 0;
        var clock = Stopwatch.StartNew();
        var cpu = TimeSpan.Zero;
        for (int done = -warmupChanges, count; done < rounds; done += count)
        {
            if (done == 0)
            {
                clock.Restart();
                cpu = Process.GetCurrentProcess().TotalProcessorTime;
            }

            count = done < 0 ? Math.Min(block, -done) : Math.Min(block, rounds - done);
            for (var i = 0; i < count; i++)
            {
                round = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref remaining, WatcherCount);
                Volatile.Write(ref expected, ++version);
                var start = Stopwatch.GetTimestamp();
                await writer.SetDataAsync(path, Bytes(version.ToString(CultureInfo.InvariantCulture)));
                await round.Task.WaitAsync(TimeSpan.FromSeconds(30));
                if (done >= 0)
                {
                    var samples = arrivals.Select(a => Stopwatch.GetElapsedTime(start, a).TotalMilliseconds).ToArray();
                    ours.AddRange(samples);
                    if (done + i < 10)
                    {
                        firstTen.AddRange(samples);
                    }

                    if (i == 0 && done > 0)
                    {
                        // The first change after a floor block follows 25-50 ms in which our threads had nothing to do.
                        afterFloor.AddRange(samples);
                    }
                }

                if (gap > 0)
                {
                    await Task.Delay(gap);
                }
            }

            // The floor's rounds block the calling thread on its sockets (by design: one thread wake-up per frame).
            var floorSamples = await Task.Factory.StartNew(() => floor.Rounds(count), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (done >= 0)
            {
                floors.AddRange(floorSamples);
            }
        }

        var elapsed = clock.Elapsed;
        var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
        var gcs = $"gen0 {GC.CollectionCount(0)} gen1 {GC.CollectionCount(1)} gen2 {GC.CollectionCount(2)}";
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        TestContext.Out.WriteLine($"config watcher change-visible latency, {rounds} changes x {WatcherCount} watchers (node mode), server warm-up {warmupOps} ops ({warmupSeconds:0.0} s) + {floorWarmup} floor rounds + {warmupChanges} changes, blocks of {block}, gap {gap} ms; loadavg {load}");
        TestContext.Out.WriteLine($"  ours  (setData call -> Changed):          {Summary(ours)}");
        TestContext.Out.WriteLine($"  ours, first 10 measured changes:          {Summary(firstTen)}; in order (slowest watcher): {string.Join(' ', firstTen.Chunk(WatcherCount).Select(c => c.Max().ToString("0.00", CultureInfo.InvariantCulture)))}");
        if (afterFloor.Count > 0)
        {
            TestContext.Out.WriteLine($"  ours, first change of each block (after the floor's): {Summary(afterFloor)}");
        }

        TestContext.Out.WriteLine($"  floor (setData sent -> getData reply read): {Summary(floors)}");
        TestContext.Out.WriteLine($"  measured blocks (ours and the floor's): {elapsed.TotalSeconds:0.00} s, test process CPU {cpuMs:0} ms ({cpuMs / rounds:0.000} ms per round of each); .NET GCs since start {gcs}");
        ours.Should().HaveCount(rounds * WatcherCount);
        floors.Should().HaveCount(rounds * WatcherCount);
        watchers.Should().OnlyContain(w => w.Current!.Value == version.ToString(CultureInfo.InvariantCulture));
    }

    private static int Knob(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;

    private static string Summary(List<double> samples)
    {
        var sorted = samples.Order().ToArray();
        double P(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"n={sorted.Length} p50 {P(0.50):0.000} p90 {P(0.90):0.000} p99 {P(0.99):0.000} max {sorted[^1]:0.000} ms");
    }

    /// <summary>Pipelined setData/getData pairs, 500 in flight, so that the server's JIT has compiled its request path.</summary>
    private static async Task WarmUpServerAsync(ZooKeeperClient client, string path, int operations)
    {
        var batch = new List<Task>(500);
        for (var done = 0; done < operations; done += batch.Count)
        {
            batch.Clear();
            for (var i = 0; i < 250; i++)
            {
                batch.Add(client.SetDataAsync(path, BitConverter.GetBytes(i)).AsTask());
                batch.Add(client.GetDataAsync(path).AsTask());
            }

            await Task.WhenAll(batch);
        }
    }
}
