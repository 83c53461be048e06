using BenchmarkDotNet.Attributes;
using Metrics.Coordination.Registry;

namespace Metrics.Coordination.Benchmarks.Registry;

/// <summary>Cost of a label set seen for the first time: lookup miss, series construction and table growth (amortised).</summary>
[MemoryDiagnoser]
public class SeriesCreationBenchmarks
{
    private const int SeriesPerInvoke = 1000;
    private string[] _values = null!;
    private int _round;

    [GlobalSetup]
    public void Setup() => _values = Enumerable.Range(0, SeriesPerInvoke).Select(i => "value-" + i).ToArray();

    [Benchmark(OperationsPerInvoke = SeriesPerInvoke, Description = "new series via WithLabels(2)")]
    public Counter CreateSeries()
    {
        // A fresh metric per invocation so every lookup misses; its own cost is spread over 1000 series.
        var registry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false });
        var counter = registry.CreateCounter("bench_new_total", "n", "a", "b");
        var b = (_round++ & 1) == 0 ? "x" : "y";
        foreach (var v in _values)
        {
            counter.WithLabels(v, b);
        }

        return counter;
    }
}
