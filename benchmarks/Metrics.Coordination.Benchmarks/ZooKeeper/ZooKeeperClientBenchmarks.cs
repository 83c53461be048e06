using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Metrics.Coordination.ZooKeeper;

namespace Metrics.Coordination.Benchmarks.ZooKeeper;

/// <summary>
/// Our client against a local standalone ZooKeeper 3.8 started by the benchmark. Sync = one request outstanding;
/// pipelined = 1,000 in flight (OperationsPerInvoke 1,000, so the reported time is per operation). Compare with the
/// issue's figures for the Java client (sync get 7,229/s; async get 20,515/s, set 19,553/s, create 14,347/s). The
/// server's CPU (cores busy) during each run is printed at cleanup, since on 2 cores the server may be the limit.
/// </summary>
[MemoryDiagnoser]
public class ZooKeeperClientBenchmarks
{
    private const int InFlight = 1000;

    private static readonly byte[] Payload = "0123456789"u8.ToArray();

    private readonly ValueTask<DataResult>[] _gets = new ValueTask<DataResult>[InFlight];
    private readonly ValueTask<Stat>[] _sets = new ValueTask<Stat>[InFlight];
    private readonly ValueTask<CreateResult>[] _creates = new ValueTask<CreateResult>[InFlight];
    private BenchmarkZooKeeperServer _server = null!;
    private ZooKeeperClient _client = null!;
    private string _node = null!;
    private string _parent = null!;

    [GlobalSetup]
    public void Setup()
    {
        _server = BenchmarkZooKeeperServer.Start();
        _client = ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = _server.ConnectionString, SessionTimeout = TimeSpan.FromSeconds(30) }).GetAwaiter().GetResult();
        _node = "/bench-node";
        _parent = "/bench-create";
        _client.CreateAsync(_node, Payload).AsTask().GetAwaiter().GetResult();
        _client.CreateAsync(_parent, ReadOnlyMemory<byte>.Empty).AsTask().GetAwaiter().GetResult();
        _server.MarkCpu();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine($"// ZooKeeper server CPU during this benchmark: {_server.CpuCoresSinceMark():0.00} cores (of 2)");
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server.Dispose();
    }

    /// <summary>getData with one request outstanding.</summary>
    [Benchmark]
    public async Task<int> SyncGet() => (await _client.GetDataAsync(_node).ConfigureAwait(false)).Data.Length;

    /// <summary>
    /// getData one at a time, 1,000 per invocation: the harness's own per-invocation allocations (the benchmark's
    /// task, the blocking wait on it) are spread over 1,000 operations, so Allocated is the client's cost per getData.
    /// </summary>
    [Benchmark(OperationsPerInvoke = InFlight)]
    public async Task<int> SyncGetLoop()
    {
        var total = 0;
        for (var i = 0; i < InFlight; i++)
        {
            total += (await _client.GetDataAsync(_node).ConfigureAwait(false)).Data.Length;
        }

        return total;
    }

    /// <summary>getData, 1,000 in flight (the ValueTasks are awaited in order, each once: no Task wrappers).</summary>
    [Benchmark(OperationsPerInvoke = InFlight)]
    public async Task PipelinedGet()
    {
        for (var i = 0; i < InFlight; i++)
        {
            _gets[i] = _client.GetDataAsync(_node);
        }

        for (var i = 0; i < InFlight; i++)
        {
            await _gets[i].ConfigureAwait(false);
        }
    }

    /// <summary>setData, 1,000 in flight.</summary>
    [Benchmark(OperationsPerInvoke = InFlight)]
    public async Task PipelinedSet()
    {
        for (var i = 0; i < InFlight; i++)
        {
            _sets[i] = _client.SetDataAsync(_node, Payload);
        }

        for (var i = 0; i < InFlight; i++)
        {
            await _sets[i].ConfigureAwait(false);
        }
    }

    /// <summary>Persistent-sequential create, 1,000 in flight.</summary>
    [Benchmark(OperationsPerInvoke = InFlight)]
    public async Task PipelinedCreate()
    {
        for (var i = 0; i < InFlight; i++)
        {
            _creates[i] = _client.CreateAsync(_parent + "/n-", Payload, CreateMode.PersistentSequential);
        }

        for (var i = 0; i < InFlight; i++)
        {
            await _creates[i].ConfigureAwait(false);
        }
    }
}

/// <summary>
/// Watch latency: setData on one client until the data watch fires on another (which re-arms it with getData for the
/// next round). BenchmarkDotNet reports the mean per round trip; every sample is also kept and the median and p99 are
/// printed at cleanup (BenchmarkDotNet has no p99 column). Target: p99 ≤ 3 ms on loopback.
/// </summary>
public class ZooKeeperWatchLatencyBenchmarks
{
    private readonly List<double> _samples = new(1 << 16);
    private BenchmarkZooKeeperServer _server = null!;
    private ZooKeeperClient _setter = null!;
    private ZooKeeperClient _watcher = null!;
    private TaskCompletionSource _fired = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Action<WatchedEvent> _onEvent = null!;
    private long _setAt;
    private int _round;

    [GlobalSetup]
    public void Setup()
    {
        _server = BenchmarkZooKeeperServer.Start();
        var options = new ZooKeeperClientOptions { ConnectionString = _server.ConnectionString, SessionTimeout = TimeSpan.FromSeconds(30) };
        _setter = ZooKeeperClient.ConnectAsync(options).GetAwaiter().GetResult();
        _watcher = ZooKeeperClient.ConnectAsync(options).GetAwaiter().GetResult();
        _setter.CreateAsync("/watched", "0"u8.ToArray()).AsTask().GetAwaiter().GetResult();
        _onEvent = _ =>
        {
            lock (_samples)
            {
                _samples.Add(Stopwatch.GetElapsedTime(_setAt).TotalMilliseconds);
            }

            _fired.TrySetResult();
        };
        _server.MarkCpu();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        lock (_samples)
        {
            // Skip the first 10% (warm-up rounds) for the percentiles.
            var sorted = _samples.Skip(_samples.Count / 10).Order().ToArray();
            if (sorted.Length > 0)
            {
                Console.WriteLine($"// Watch latency over {sorted.Length} rounds: median {sorted[sorted.Length / 2]:0.000} ms, p99 {sorted[(int)(sorted.Length * 0.99)]:0.000} ms, max {sorted[^1]:0.000} ms");
            }
        }

        Console.WriteLine($"// ZooKeeper server CPU during this benchmark: {_server.CpuCoresSinceMark():0.00} cores (of 2)");
        _watcher.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _setter.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _server.Dispose();
    }

    /// <summary>One round: arm a data watch, set the data from the other session, wait for the notification.</summary>
    [Benchmark]
    public async Task SetToWatchFired()
    {
        _fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _watcher.GetDataAsync("/watched", _onEvent).ConfigureAwait(false);
        _setAt = Stopwatch.GetTimestamp();
        await _setter.SetDataAsync("/watched", BitConverter.GetBytes(++_round)).ConfigureAwait(false);
        await _fired.Task.ConfigureAwait(false);
    }
}
