namespace Metrics.Coordination.Registry;

/// <summary>
/// Groups of the .NET runtime's <c>System.Runtime</c> meter instruments, for opting out of some. Instrument names
/// shown are the runtime's; their Prometheus names follow <see cref="MeterBridge"/>'s rules
/// (<c>dotnet.gc.collections</c> → <c>dotnet_gc_collections_total</c>).
/// </summary>
[Flags]
public enum RuntimeMetricGroups
{
    /// <summary>No runtime metrics.</summary>
    None = 0,

    /// <summary>
    /// <c>dotnet.gc.*</c>: collections by generation, total allocated bytes, heap size and fragmentation by generation
    /// and committed memory after the last collection, and total pause time.
    /// </summary>
    Gc = 1 << 0,

    /// <summary><c>dotnet.thread_pool.*</c>: thread count, completed work items, queue length.</summary>
    ThreadPool = 1 << 1,

    /// <summary><c>dotnet.jit.*</c>: compiled IL bytes, compiled methods, compilation time.</summary>
    Jit = 1 << 2,

    /// <summary><c>dotnet.exceptions</c>: exceptions thrown, by <c>error.type</c>.</summary>
    Exceptions = 1 << 3,

    /// <summary><c>dotnet.monitor.*</c>: lock contentions.</summary>
    Locks = 1 << 4,

    /// <summary><c>dotnet.timer.*</c>: active timers.</summary>
    Timers = 1 << 5,

    /// <summary><c>dotnet.assembly.*</c>: loaded assemblies.</summary>
    Assemblies = 1 << 6,

    /// <summary>
    /// <c>dotnet.process.*</c>: the runtime's view of the process (CPU count, CPU time by mode, working set). These
    /// overlap the <c>process_*</c> metrics of <see cref="CollectorExtensions.AddProcessMetrics"/>.
    /// </summary>
    Process = 1 << 7,

    /// <summary>Instruments of the <c>System.Runtime</c> meter in none of the groups above (ones later runtimes add).</summary>
    Other = 1 << 8,

    /// <summary>Every group.</summary>
    All = Gc | ThreadPool | Jit | Exceptions | Locks | Timers | Assemblies | Process | Other,
}
