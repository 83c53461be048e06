using System.Diagnostics;
using System.Globalization;
using Metrics.Coordination.ZooKeeper;

namespace Metrics.Coordination.Benchmarks.ZooKeeper;

/// <summary>
/// Not a BenchmarkDotNet job: the client's throughput workloads (as in <see cref="ZooKeeperClientBenchmarks"/>) with
/// this process's CPU time per operation next to the wall-clock rate (<c>dotnet run -c Release -- zk-cpu [scale]</c>).
/// On a machine loaded by other work the wall-clock rate mostly measures the scheduler's share; CPU time per operation
/// (the server is another process, not counted) compares two builds of the client fairly. Each workload runs in
/// several rounds; the figures are the medians over rounds.
/// </summary>
internal static class ZooKeeperThroughputCpu
{
    private const int InFlight = 1000;

    public static async Task RunAsync(string[] args)
    {
        var scale = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;
        using var server = BenchmarkZooKeeperServer.Start();
        await using var client = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = server.ConnectionString, SessionTimeout = TimeSpan.FromSeconds(30) });
        var payload = "0123456789"u8.ToArray();
        await client.CreateAsync("/cpu-node", payload);
        await client.CreateAsync("/cpu-create", ReadOnlyMemory<byte>.Empty);
        Console.WriteLine($"// zk-cpu: ZooKeeper 3.8 standalone at {server.ConnectionString}; load average {LoadAverage()}");

        // Warm-up: JIT of both sides.
        await PipelinedAsync(20_000, () => client.GetDataAsync("/cpu-node"));
        await PipelinedAsync(10_000, () => client.SetDataAsync("/cpu-node", payload));

        await MeasureAsync("sync get (one outstanding)", 5_000 * scale, async n =>
        {
            for (var i = 0; i < n; i++)
            {
                await client.GetDataAsync("/cpu-node");
            }
        });
        await MeasureAsync("pipelined get (1,000 in flight)", 50_000 * scale, n => PipelinedAsync(n, () => client.GetDataAsync("/cpu-node")));
        await MeasureAsync("pipelined set (1,000 in flight)", 30_000 * scale, n => PipelinedAsync(n, () => client.SetDataAsync("/cpu-node", payload)));
        await MeasureAsync("pipelined create (1,000 in flight)", 10_000 * scale, n => PipelinedAsync(n, () => client.CreateAsync("/cpu-create/n-", payload, CreateMode.PersistentSequential)));
        Console.WriteLine($"// load average {LoadAverage()}");
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static async Task PipelinedAsync<T>(int n, Func<ValueTask<T>> start)
    {
        var inFlight = new ValueTask<T>[InFlight];
        for (var done = 0; done < n; done += InFlight)
        {
            for (var i = 0; i < InFlight; i++)
            {
                inFlight[i] = start();
            }

            for (var i = 0; i < InFlight; i++)
            {
                await inFlight[i];
            }
        }
    }

    private static async Task MeasureAsync(string name, int operations, Func<int, Task> workload)
    {
        const int Rounds = 5;
        var rates = new List<double>();
        var cpus = new List<double>();
        using var self = Process.GetCurrentProcess();
        for (var r = 0; r < Rounds; r++)
        {
            self.Refresh();
            var cpu0 = self.TotalProcessorTime;
            var t0 = Stopwatch.GetTimestamp();
            await workload(operations / Rounds);
            var wall = Stopwatch.GetElapsedTime(t0);
            self.Refresh();
            var cpu = self.TotalProcessorTime - cpu0;
            rates.Add(operations / Rounds / wall.TotalSeconds);
            cpus.Add(cpu.TotalMicroseconds / (operations / Rounds));
        }

        rates.Sort();
        cpus.Sort();
        Console.WriteLine($"{name,-36} {rates[Rounds / 2],9:0} ops/s (rounds {rates[0]:0}-{rates[^1]:0})   client CPU {cpus[Rounds / 2],6:0.0} us/op (rounds {cpus[0]:0.0}-{cpus[^1]:0.0})");
    }
}
