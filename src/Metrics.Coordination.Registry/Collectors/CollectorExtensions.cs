using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Registry;

/// <summary>The standard process and .NET runtime collectors.</summary>
public static class CollectorExtensions
{
    /// <summary>The name of the runtime's built-in meter.</summary>
    public const string RuntimeMeterName = "System.Runtime";

    /// <summary>
    /// Adds the <c>process_*</c> metrics of the Prometheus client guidelines: <c>process_cpu_seconds_total</c>,
    /// <c>process_resident_memory_bytes</c>, <c>process_virtual_memory_bytes</c>, <c>process_open_fds</c> and
    /// <c>process_max_fds</c> (Linux), <c>process_start_time_seconds</c>. They are read at the start of each scrape,
    /// on Linux from <c>/proc/self/statm</c>, <c>/proc/self/fd</c> and the descriptor limit without allocating.
    /// Dispose the result to remove them.
    /// </summary>
    /// <exception cref="MetricRegistrationException">One of the names is already registered (process metrics were added twice, say).</exception>
    public static IDisposable AddProcessMetrics(this MetricRegistry registry, ILoggerFactory? loggerFactory = null) =>
        new ProcessCollector(registry, loggerFactory ?? NullLoggerFactory.Instance);

    /// <summary>
    /// Publishes the .NET runtime's metrics (the built-in <c>System.Runtime</c> meter, .NET 9 and later) through a
    /// <see cref="MeterBridge"/>, limited to <paramref name="groups"/>: <c>dotnet_gc_collections_total{gc_heap_generation="gen0"}</c>,
    /// <c>dotnet_gc_heap_total_allocated_bytes_total</c>, <c>dotnet_gc_pause_time_seconds_total</c>,
    /// <c>dotnet_thread_pool_queue_length_total</c>, <c>dotnet_monitor_lock_contentions_total</c>,
    /// <c>dotnet_exceptions_total{error_type="..."}</c>, <c>dotnet_jit_compilation_time_seconds_total</c> and the rest.
    /// The runtime defines the instrument types (it publishes <c>dotnet.thread_pool.thread.count</c> and
    /// <c>queue.length</c> as observable counters, so they carry <c>_total</c>). Dispose the result to remove them.
    /// </summary>
    /// <remarks>
    /// A bridge over every meter (<see cref="MeterBridgeExtensions.AddMeterBridge"/> with the default options) would
    /// publish these too; whichever bridge sees an instrument first publishes it and the other skips it. To keep the
    /// group choice here authoritative, create this one first or exclude <c>System.Runtime</c> from the other.
    /// </remarks>
    public static MeterBridge AddRuntimeMetrics(this MetricRegistry registry, RuntimeMetricGroups groups = RuntimeMetricGroups.All, ILoggerFactory? loggerFactory = null) =>
        registry.AddMeterBridge(new MeterBridgeOptions
        {
            Meters = [RuntimeMeterName],
            InstrumentFilter = groups == RuntimeMetricGroups.All ? null : instrument => (GroupOf(instrument) & groups) != 0,
            LoggerFactory = loggerFactory ?? NullLoggerFactory.Instance,
        });

    /// <summary>
    /// Adds the process metrics (<see cref="AddProcessMetrics"/>) and the runtime metrics
    /// (<see cref="AddRuntimeMetrics"/>) that <paramref name="options"/> leaves on (default: all). Dispose the result
    /// to remove them.
    /// </summary>
    public static IDisposable AddDefaultCollectors(this MetricRegistry registry, DefaultCollectorsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        options ??= new DefaultCollectorsOptions();
        ArgumentNullException.ThrowIfNull(options.LoggerFactory);
        var parts = new List<IDisposable>(2);
        try
        {
            if (options.Process)
            {
                parts.Add(registry.AddProcessMetrics(options.LoggerFactory));
            }

            if (options.Runtime != RuntimeMetricGroups.None)
            {
                parts.Add(registry.AddRuntimeMetrics(options.Runtime, options.LoggerFactory));
            }
        }
        catch
        {
            parts.ForEach(p => p.Dispose());
            throw;
        }

        return new CompositeDisposable(parts);
    }

    /// <summary>The group of a <c>System.Runtime</c> instrument, by its name's prefix.</summary>
    internal static RuntimeMetricGroups GroupOf(Instrument instrument) => GroupOf(instrument.Name);

    internal static RuntimeMetricGroups GroupOf(string name) => name switch
    {
        _ when name.StartsWith("dotnet.gc.", StringComparison.Ordinal) => RuntimeMetricGroups.Gc,
        _ when name.StartsWith("dotnet.thread_pool.", StringComparison.Ordinal) => RuntimeMetricGroups.ThreadPool,
        _ when name.StartsWith("dotnet.jit.", StringComparison.Ordinal) => RuntimeMetricGroups.Jit,
        "dotnet.exceptions" => RuntimeMetricGroups.Exceptions,
        _ when name.StartsWith("dotnet.monitor.", StringComparison.Ordinal) => RuntimeMetricGroups.Locks,
        _ when name.StartsWith("dotnet.timer.", StringComparison.Ordinal) => RuntimeMetricGroups.Timers,
        _ when name.StartsWith("dotnet.assembly.", StringComparison.Ordinal) => RuntimeMetricGroups.Assemblies,
        _ when name.StartsWith("dotnet.process.", StringComparison.Ordinal) => RuntimeMetricGroups.Process,
        _ => RuntimeMetricGroups.Other,
    };

    private sealed class CompositeDisposable(List<IDisposable> parts) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                parts.ForEach(p => p.Dispose());
            }
        }
    }
}
