using BenchmarkDotNet.Running;
using Metrics.Coordination.Benchmarks.Tsdb;

if (args is ["zk-latency", ..])
{
    // Not a BenchmarkDotNet job: see ZooKeeperLatencyFloor.
    await Metrics.Coordination.Benchmarks.ZooKeeper.ZooKeeperLatencyFloor.RunAsync(args);
    return 0;
}

if (args is ["zk-cpu", ..])
{
    // Not a BenchmarkDotNet job: see ZooKeeperThroughputCpu.
    await Metrics.Coordination.Benchmarks.ZooKeeper.ZooKeeperThroughputCpu.RunAsync(args);
    return 0;
}

// Measurement programs that are not BenchmarkDotNet benchmarks (one process per measurement).
if (args is ["head-memory", .. var memoryArgs])
{
    return HeadMemoryMeasurement.Run(memoryArgs);
}

if (args is ["wal-open", .. var walOpenArgs])
{
    return WalOpenMeasurement.Run(walOpenArgs);
}

if (args is ["snapping-bytes", .. var snappingArgs])
{
    return SnappingBytesMeasurement.Run(snappingArgs);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
