using System.Globalization;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Registry.Tests;

/// <summary>The runtime's <c>System.Runtime</c> meter through the bridge: Prometheus names, groups, agreement with <see cref="GC"/>.</summary>
public class MeterBridgeRuntimeTests
{
    private static MetricRegistry NewRegistry() => new(new MetricRegistryOptions { ExposeSelfMetrics = false });

    [Test]
    public void AddRuntimeMetrics_All_PublishesPrometheusNames()
    {
        var registry = NewRegistry();
        using var runtime = registry.AddRuntimeMetrics();
        try
        {
            throw new InvalidOperationException("counted by dotnet.exceptions");
        }
        catch (InvalidOperationException)
        {
        }

        var text = registry.ToText();

        text.Should().Contain("# TYPE dotnet_gc_collections_total counter\n");
        text.Should().Contain("dotnet_gc_collections_total{gc_heap_generation=\"gen0\"} ");
        text.Should().Contain("dotnet_gc_collections_total{gc_heap_generation=\"gen2\"} ");
        text.Should().Contain("# TYPE dotnet_gc_heap_total_allocated_bytes_total counter\n");
        text.Should().Contain("# TYPE dotnet_gc_last_collection_heap_size_bytes gauge\n");
        text.Should().Contain("# TYPE dotnet_gc_pause_time_seconds_total counter\n");
        text.Should().Contain("# TYPE dotnet_thread_pool_thread_count_total counter\n");
        text.Should().Contain("# TYPE dotnet_thread_pool_queue_length_total counter\n");
        text.Should().Contain("# TYPE dotnet_monitor_lock_contentions_total counter\n");
        text.Should().Contain("# TYPE dotnet_jit_compilation_time_seconds_total counter\n");
        text.Should().Contain("# TYPE dotnet_jit_compiled_il_size_bytes_total counter\n");
        text.Should().Contain("dotnet_exceptions_total{error_type=\"InvalidOperationException\"} ");
        text.Should().Contain("# TYPE dotnet_process_cpu_time_seconds_total counter\n");
        text.Should().Contain("dotnet_process_cpu_time_seconds_total{cpu_mode=\"user\"} ");
        text.Should().Contain("# TYPE dotnet_process_memory_working_set_bytes gauge\n");
        text.Should().Contain("# TYPE dotnet_assembly_count gauge\n");
        text.Should().Contain("# TYPE dotnet_timer_count gauge\n");
        text.Should().NotContain("dotnet.", "every name is sanitized");
    }

    [Test]
    public void AddRuntimeMetrics_GcFigures_AgreeWithGc()
    {
        var registry = NewRegistry();
        using var runtime = registry.AddRuntimeMetrics(RuntimeMetricGroups.Gc);
        GC.Collect(0);
        var allocatedBefore = GC.GetTotalAllocatedBytes();
        var gen0Before = GC.CollectionCount(0);
        var gen1Before = GC.CollectionCount(1);

        var samples = Samples(registry);
        var allocatedAfter = GC.GetTotalAllocatedBytes();
        var gen0After = GC.CollectionCount(0);

        var allocated = samples.Single(s => s.Name == "dotnet_gc_heap_total_allocated_bytes_total").Value;
        allocated.Should().BeInRange(allocatedBefore, allocatedAfter);

        // The runtime reports each generation's own collections: gen0 counts the collections that stopped at gen0.
        var gen0 = samples.Single(s => s.Name == "dotnet_gc_collections_total" && s.Labels.Get("gc_heap_generation") == "gen0").Value;
        gen0.Should().BeInRange(gen0Before - gen1Before, gen0After);
        gen0.Should().BeGreaterThan(0);
    }

    [Test]
    public void AddRuntimeMetrics_Groups_OptOut()
    {
        var registry = NewRegistry();
        using var runtime = registry.AddRuntimeMetrics(RuntimeMetricGroups.ThreadPool | RuntimeMetricGroups.Locks);

        var names = registry.Metrics.Select(m => m.Name).ToList();

        names.Should().Contain(["dotnet_thread_pool_thread_count", "dotnet_thread_pool_queue_length", "dotnet_monitor_lock_contentions"]);
        names.Should().OnlyContain(n => n.StartsWith("dotnet_thread_pool_", StringComparison.Ordinal) || n.StartsWith("dotnet_monitor_", StringComparison.Ordinal));
    }

    [Test]
    public void AddRuntimeMetrics_Dispose_RemovesFamilies()
    {
        var registry = NewRegistry();
        var runtime = registry.AddRuntimeMetrics();
        registry.Metrics.Should().NotBeEmpty();

        runtime.Dispose();

        registry.Metrics.Should().BeEmpty();
    }

    [TestCase("dotnet.gc.collections", RuntimeMetricGroups.Gc)]
    [TestCase("dotnet.thread_pool.queue.length", RuntimeMetricGroups.ThreadPool)]
    [TestCase("dotnet.jit.compiled_methods", RuntimeMetricGroups.Jit)]
    [TestCase("dotnet.exceptions", RuntimeMetricGroups.Exceptions)]
    [TestCase("dotnet.monitor.lock_contentions", RuntimeMetricGroups.Locks)]
    [TestCase("dotnet.timer.count", RuntimeMetricGroups.Timers)]
    [TestCase("dotnet.assembly.count", RuntimeMetricGroups.Assemblies)]
    [TestCase("dotnet.process.cpu.time", RuntimeMetricGroups.Process)]
    [TestCase("dotnet.something.new", RuntimeMetricGroups.Other)]
    public void GroupOf_RuntimeInstrument_IsItsPrefix(string instrument, RuntimeMetricGroups expected) =>
        CollectorExtensions.GroupOf(instrument).Should().Be(expected);

    [Test]
    public void AddDefaultCollectors_OptOuts_Apply()
    {
        var registry = NewRegistry();
        using (registry.AddDefaultCollectors(new DefaultCollectorsOptions { Process = false, Runtime = RuntimeMetricGroups.Jit }))
        {
            registry.Metrics.Select(m => m.Name).Should().OnlyContain(n => n.StartsWith("dotnet_jit_", StringComparison.Ordinal)).And.NotBeEmpty();
        }

        registry.Metrics.Should().BeEmpty();

        using (registry.AddDefaultCollectors())
        {
            var names = registry.Metrics.Select(m => m.Name).ToList();
            names.Should().Contain(["process_cpu_seconds", "process_resident_memory_bytes", "dotnet_gc_collections", "dotnet_exceptions"]);
        }

        registry.Metrics.Should().BeEmpty();
    }

    [Test]
    public void AddDefaultCollectors_OneScrape_IsCheap()
    {
        // The benchmark measures this precisely (about 30 µs); this guards against a regression by an order of
        // magnitude on a shared 2-core machine, and checks the process part allocates nothing.
        using var process = new ProcessCollector(NewRegistry(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        using var runtime = NewRegistry().AddRuntimeMetrics();
        for (var i = 0; i < 50; i++)
        {
            process.Collect();
            runtime.RecordObservableInstruments();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            process.Collect();
        }

        (GC.GetAllocatedBytesForCurrentThread() - before).Should().Be(0, "reading /proc reuses its buffers");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        const int Scrapes = 200;
        for (var i = 0; i < Scrapes; i++)
        {
            process.Collect();
            runtime.RecordObservableInstruments();
        }

        var perScrape = clock.Elapsed.TotalMicroseconds / Scrapes;
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"process + runtime collection: {perScrape:0.0} µs per scrape"));
        perScrape.Should().BeLessThan(500);
    }

    private static List<MetricSample> Samples(MetricRegistry registry) =>
        ExpositionParser.Parse(registry.ToText(), ExpositionFormat.PrometheusText).SelectMany(f => f.Samples).ToList();
}
