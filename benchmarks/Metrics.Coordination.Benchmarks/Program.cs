using BenchmarkDotNet.Running;

if (args is ["zk-latency", ..])
{
    // Not a BenchmarkDotNet job: see ZooKeeperLatencyFloor.
    await Metrics.Coordination.Benchmarks.ZooKeeper.ZooKeeperLatencyFloor.RunAsync(args);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
