using System.Diagnostics;
using System.Globalization;
using System.Text;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.Benchmarks.ZooKeeper;

/// <summary>
/// Not a BenchmarkDotNet job: our watch and config-watcher latencies next to the floor the server and the machine allow,
/// measured round by round in the same run (<c>dotnet run -c Release -- zk-latency [config] [rounds]</c>; with
/// <c>config</c> only the config watcher's part). The floor is a client
/// with no machinery at all: blocking sockets read by the measuring thread itself (one thread wake-up per event), no
/// pipes, no thread pool, no dispatcher. Each of our rounds is followed by a floor round on the same server, so both
/// see the same load at the same moment; the difference between the two is what our client adds. kazoo (Python, its
/// own I/O and callback threads) runs against the same server as a second reference. The floor's session,
/// <see cref="BlockingZooKeeperSession"/>, is the test-support project's, compiled in from its source file (see the csproj).
/// </summary>
internal static class ZooKeeperLatencyFloor
{
    private const int WatcherCount = 3;

    public static async Task RunAsync(string[] args)
    {
        // zk-latency [rounds] runs everything; zk-latency config [rounds] only the config watcher's part.
        var configOnly = args.Length > 1 && args[1] == "config";
        var rest = configOnly ? args[1..] : args;
        var rounds = rest.Length > 1 ? int.Parse(rest[1], CultureInfo.InvariantCulture) : 3000;
        using var server = BenchmarkZooKeeperServer.Start();
        Console.WriteLine($"// ZooKeeper 3.8 standalone at {server.ConnectionString}; {rounds} rounds each (+10% warm-up); load average {LoadAverage()}");
        await WarmUpAsync(server);
        if (!configOnly)
        {
            await WatchAsync(server, rounds);
            Kazoo(server, rounds);
        }

        await ConfigWatcherAsync(server, rounds / WatcherCount);
        Console.WriteLine($"// .NET GCs during the run: gen0 {GC.CollectionCount(0)}, gen1 {GC.CollectionCount(1)}, gen2 {GC.CollectionCount(2)}, total pause {GC.GetTotalPauseDuration().TotalMilliseconds:0.0} ms; load average {LoadAverage()}");
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    private static void Print(string name, List<double> samples)
    {
        var sorted = samples.Order().ToArray();
        double P(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        Console.WriteLine($"{name,-62} n={sorted.Length,5}  p50 {P(0.50),7:0.000}  p90 {P(0.90),7:0.000}  p99 {P(0.99),7:0.000}  max {sorted[^1],7:0.000} ms");
    }

    /// <summary>The server's JIT compiles its request path in the first seconds: 40,000 pipelined operations first.</summary>
    private static async Task WarmUpAsync(BenchmarkZooKeeperServer server)
    {
        await using var client = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = server.ConnectionString });
        var path = "/warm-" + Guid.NewGuid().ToString("N");
        await client.CreateAsync(path, "0"u8.ToArray());
        var batch = new List<Task>(500);
        for (var b = 0; b < 80; b++)
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

    /// <summary>setData on one session until the data watch fires on another: ours, then the floor, alternately.</summary>
    private static async Task WatchAsync(BenchmarkZooKeeperServer server, int rounds)
    {
        var options = new ZooKeeperClientOptions { ConnectionString = server.ConnectionString, SessionTimeout = TimeSpan.FromSeconds(30) };
        await using var setter = await ZooKeeperClient.ConnectAsync(options);
        await using var watcher = await ZooKeeperClient.ConnectAsync(options);
        var path = "/latency-" + Guid.NewGuid().ToString("N");
        await setter.CreateAsync(path, "0"u8.ToArray());
        long firedAt = 0;
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Action<WatchedEvent> onEvent = _ =>
        {
            firedAt = Stopwatch.GetTimestamp();
            fired.TrySetResult();
        };
        using var rawWatcher = BlockingZooKeeperSession.Connect(server.Port);
        using var rawSetter = BlockingZooKeeperSession.Connect(server.Port);
        var ours = new List<double>(rounds);
        var floor = new List<double>(rounds);
        for (var i = 0; i < rounds + (rounds / 10); i++)
        {
            fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await watcher.GetDataAsync(path, onEvent);
            var start = Stopwatch.GetTimestamp();
            await setter.SetDataAsync(path, BitConverter.GetBytes(i));
            await fired.Task;
            var oursMs = Ms(start, firedAt);

            rawWatcher.GetData(path, watch: true);
            rawWatcher.ReadFrame();
            var rawStart = Stopwatch.GetTimestamp();
            rawSetter.SetData(path, i);
            var xid = rawWatcher.ReadFrame();
            var rawMs = Ms(rawStart, Stopwatch.GetTimestamp());
            if (xid != -1)
            {
                throw new InvalidOperationException($"expected a notification (xid -1), got xid {xid}");
            }

            rawSetter.ReadFrame();
            if (i >= rounds / 10)
            {
                ours.Add(oursMs);
                floor.Add(rawMs);
            }
        }

        Print("watch, ours (setData call -> watch handler)", ours);
        Print("watch, floor (setData sent -> notification read)", floor);
    }

    /// <summary>
    /// setData until the Changed handler of each of 3 config watchers (separate sessions) ran; the floor is 3 raw
    /// sessions read by one thread: notification, getData, reply (what a watcher must do to see the new value).
    /// </summary>
    private static async Task ConfigWatcherAsync(BenchmarkZooKeeperServer server, int rounds)
    {
        var options = new ZooKeeperClientOptions { ConnectionString = server.ConnectionString, SessionTimeout = TimeSpan.FromSeconds(30) };
        await using var writer = await ZooKeeperClient.ConnectAsync(options);
        var path = "/config-" + Guid.NewGuid().ToString("N");
        await writer.CreateAsync(path, "0"u8.ToArray());
        var sources = new List<RecoveringZooKeeperClient>();
        var watchers = new List<ZooKeeperConfigWatcher<string>>();
        var arrivals = new long[WatcherCount];
        var round = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var expected = -1;
        var remaining = 0;
        var raw = Enumerable.Range(0, WatcherCount).Select(_ => BlockingZooKeeperSession.Connect(server.Port)).ToArray();
        try
        {
            for (var w = 0; w < WatcherCount; w++)
            {
                var index = w;
                var source = await RecoveringZooKeeperClient.ConnectAsync(options);
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

            var ours = new List<double>(rounds * WatcherCount);
            var floor = new List<double>(rounds * WatcherCount);
            var version = 0;
            for (var i = 0; i < rounds + (rounds / 10); i++)
            {
                round = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref remaining, WatcherCount);
                Volatile.Write(ref expected, ++version);
                var start = Stopwatch.GetTimestamp();
                await writer.SetDataAsync(path, Encoding.UTF8.GetBytes(version.ToString(CultureInfo.InvariantCulture)));
                await round.Task.WaitAsync(TimeSpan.FromSeconds(30));
                var oursMs = arrivals.Select(a => Ms(start, a)).ToArray();

                // The floor round. Its change reaches our watchers too (their handlers ignore it: expected is -1);
                // wait until they have read it so their traffic does not overlap the next round.
                Volatile.Write(ref expected, -1);
                foreach (var session in raw)
                {
                    session.GetData(path, watch: true);
                    session.ReadFrame();
                }

                var rawStart = Stopwatch.GetTimestamp();
                var stat = await writer.SetDataAsync(path, Encoding.UTF8.GetBytes(i.ToString(CultureInfo.InvariantCulture)));
                foreach (var session in raw)
                {
                    session.ReadFrame();
                    session.GetData(path, watch: false);
                }

                var rawMs = raw.Select(session =>
                {
                    session.ReadFrame();
                    return Ms(rawStart, Stopwatch.GetTimestamp());
                }).ToArray();
                version = stat.Version;
                while (watchers.Any(w => w.Current?.Stat.Version != version))
                {
                    await Task.Delay(1);
                }

                if (i >= rounds / 10)
                {
                    ours.AddRange(oursMs);
                    floor.AddRange(rawMs);
                }
            }

            Print($"config watcher, ours (setData call -> Changed, {WatcherCount} watchers)", ours);
            Print($"config watcher, floor (setData -> getData reply, {WatcherCount} sessions)", floor);
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

            foreach (var session in raw)
            {
                session.Dispose();
            }
        }
    }

    /// <summary>kazoo's watch latency against the same server (its callbacks run on its own handler thread).</summary>
    private static void Kazoo(BenchmarkZooKeeperServer server, int rounds)
    {
        const string Script = """
            import sys, time, threading
            from kazoo.client import KazooClient
            hosts, n = sys.argv[1], int(sys.argv[2])
            a = KazooClient(hosts=hosts, timeout=30); a.start(timeout=15)
            b = KazooClient(hosts=hosts, timeout=30); b.start(timeout=15)
            path = "/kazoo-latency"
            a.ensure_path(path)
            fired = threading.Event(); start = [0.0]; lat = []
            def on_event(e):
                lat.append((time.perf_counter() - start[0]) * 1000); fired.set()
            for i in range(n + n // 10):
                fired.clear()
                b.get(path, watch=on_event)
                start[0] = time.perf_counter()
                a.set(path, str(i).encode())
                fired.wait(10)
                if i < n // 10:
                    lat.clear()
            print(" ".join(f"{x:.4f}" for x in lat))
            a.stop(); b.stop()
            """;
        var file = Path.Combine(Path.GetTempPath(), $"zk-kazoo-latency-{Environment.ProcessId}.py");
        File.WriteAllText(file, Script);
        try
        {
            var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(file);
            start.ArgumentList.Add(server.ConnectionString);
            start.ArgumentList.Add(rounds.ToString(CultureInfo.InvariantCulture));
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                Console.WriteLine($"kazoo failed (apt-get install -y --no-install-recommends python3-kazoo): {stderr.Result}");
                return;
            }

            var samples = stdout.Result.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToList();
            Print("watch, kazoo 2.8 (set call -> watch callback)", samples);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
