using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

/// <summary>
/// Diagnostics (CONTENDER_TRACE=dir): records the runtime's JIT, loader, type-load, R2R entry point, GC, thread-pool
/// and contention events with their times, and writes them to dir/&lt;pid&gt;.trace at exit, so what a cold hand-over
/// does for the first time can be listed between the notification and the callback.
/// </summary>
internal sealed class RuntimeTrace : EventListener
{
    private readonly ConcurrentQueue<string> _lines = new();

    public static RuntimeTrace? Instance { get; private set; }

    public static void StartIfAsked()
    {
        if (Environment.GetEnvironmentVariable("CONTENDER_TRACE") is { Length: > 0 })
        {
            Instance = new RuntimeTrace();
        }
    }

    public void Mark(string what) =>
        _lines.Enqueue(string.Create(CultureInfo.InvariantCulture, $"{TimeProvider.System.GetUtcNow().UtcTicks} MARK {what} {(long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency))}"));

    public void Write()
    {
        var dir = Environment.GetEnvironmentVariable("CONTENDER_TRACE")!;
        var sb = new StringBuilder();
        foreach (var line in _lines)
        {
            sb.AppendLine(line);
        }

        File.WriteAllText(Path.Combine(dir, Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".trace"), sb.ToString());
    }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            // GC 0x1, Loader 0x8, Jit 0x10, Contention 0x4000, ThreadPool 0x10000, CompilationDiagnostic 0x2000000000,
            // TypeDiagnostic 0x8000000000, JitTracing 0x1000.
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)(0x1 | 0x8 | 0x10 | 0x4000 | 0x10000 | 0x2000000000 | 0x8000000000));
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        var sb = new StringBuilder();
        sb.Append(e.TimeStamp.Ticks.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(e.EventName).Append(" tid=").Append(e.OSThreadId);
        if (e.Payload is { } payload && e.PayloadNames is { } names)
        {
            for (var i = 0; i < payload.Count && i < names.Count; i++)
            {
                var n = names[i];
                if (n is "MethodNamespace" or "MethodName" or "MethodSignature" or "TypeName" or "MethodTier" or "Reason" or "Count" or "Depth" or "ModuleILPath" or "AssemblyName" or "FullyQualifiedAssemblyName" or "ActiveWorkerThreadCount" or "NewWorkerThreadCount")
                {
                    sb.Append(' ').Append(n).Append('=').Append(payload[i]);
                }
            }
        }

        _lines.Enqueue(sb.ToString());
    }
}
