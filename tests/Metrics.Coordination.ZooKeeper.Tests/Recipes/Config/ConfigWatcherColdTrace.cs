using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes.Config;

/// <summary>
/// Diagnostics, not a test of behaviour: what a config watcher's first changes after start do for the first time.
/// A runtime event listener (JIT compilations, type loads, ReadyToRun entry-point binding, GC, thread-pool changes)
/// records between two marks per change (the setData call, the <c>Changed</c> handler), for the first changes of a
/// fresh watcher, with a pause between them so that each is "cold" the way a rarely changed config is. Run it alone in
/// a fresh process so the process is as cold as an application's:
/// <c>dotnet test tests/Metrics.Coordination.ZooKeeper.Tests -c Release --no-build --filter "FullyQualifiedName~ConfigWatcherColdTrace&amp;Name~Node" --logger "console;verbosity=detailed"</c>
/// (or <c>Name~Subtree</c>). CONFIG_TRACE_CHANGES (3) sets the number of changes traced.
/// </summary>
[Explicit("diagnostics: run alone in a fresh process")]
[Category("Benchmark")]
public class ConfigWatcherColdTrace : ServerFixture
{
    [TestCase(ConfigWatchMode.Node)]
    [TestCase(ConfigWatchMode.Subtree)]
    public async Task FirstChanges_RuntimeEventsBetweenSetAndChanged(ConfigWatchMode mode)
    {
        var changes = int.TryParse(Environment.GetEnvironmentVariable("CONFIG_TRACE_CHANGES"), CultureInfo.InvariantCulture, out var n) ? n : 3;
        var path = UniquePath("cold");
        var writer = await ConnectAsync();
        await writer.CreateAsync(path, Bytes("0"));
        var nodePath = path;
        if (mode == ConfigWatchMode.Subtree)
        {
            nodePath = path + "/a";
            await writer.CreateAsync(nodePath, Bytes("0"));
        }

        // The server's watch path warmed by a bare client (a server runs long; this fixture's JVM is fresh), and the
        // writer's setData run once: neither is this process's watcher path.
        var floorPath = UniquePath("floor");
        await writer.CreateAsync(floorPath, Bytes("0"));
        await writer.SetDataAsync(floorPath, Bytes("1"));
        using (var floor = BlockingConfigFloor.Connect(Server.ClientPort, floorPath, 3))
        {
            await Task.Factory.StartNew(() => floor.Rounds(1000), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        // Everything the test itself does on the measured path runs once before the trace (its handler, TCS, marks).
        using var trace = new RuntimeEventTrace();
        trace.Mark("warm-test");
        var arrived = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        arrived.TrySetResult(Stopwatch.GetTimestamp());
        await arrived.Task;

        var watcher = Own(new ZooKeeperConfigWatcher<string>(await RecoveringClientAsync(), new() { Path = path, Mode = mode, Parser = ConfigParsers.Utf8 }));
        watcher.Changed += (_, c) =>
        {
            var now = Stopwatch.GetTimestamp();
            trace.Mark("CHANGED " + c.Path + " v" + c.NewValue?.Stat.Version.ToString(CultureInfo.InvariantCulture));
            arrived.TrySetResult(now);
        };
        await watcher.WaitForInitialLoadAsync(TimeSpan.FromSeconds(30));
        if (Environment.GetEnvironmentVariable("CONFIG_TRACE_NO_WAIT") is null)
        {
            await watcher.WarmedUp.WaitAsync(TimeSpan.FromSeconds(30));
        }

        // Give a start-up warm-up (if any) and the background tier-up time to finish: this test is about what is left.
        await Task.Delay(1500);
        var times = new List<double>();
        for (var i = 1; i <= changes; i++)
        {
            arrived = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            trace.Mark("SET " + i.ToString(CultureInfo.InvariantCulture));
            var start = Stopwatch.GetTimestamp();
            await writer.SetDataAsync(nodePath, Bytes(i.ToString(CultureInfo.InvariantCulture)));
            var end = await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
            times.Add(Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
            await Task.Delay(500);
        }

        trace.Mark("END");
        TestContext.Out.WriteLine($"{mode} mode: setData -> Changed, first {changes} changes: {string.Join(", ", times.Select(t => t.ToString("0.000", CultureInfo.InvariantCulture)))} ms");
        TestContext.Out.WriteLine(trace.Report());
        times.Should().HaveCount(changes);
    }

    /// <summary>
    /// An in-process listener on the runtime's event source: JIT (method jitting started and loaded, with tier), type
    /// loads, R2R entry points, GC, thread pool; marks interleave with them so a report can be cut by change.
    /// </summary>
    private sealed class RuntimeEventTrace : EventListener
    {
        private readonly ConcurrentQueue<(long Ticks, string Line)> _events = new();

        // Runtime events reach a listener late (batched by the runtime's event pipe), so both carry the time they happened.
        public void Mark(string what) => _events.Enqueue((TimeProvider.System.GetUtcNow().UtcTicks, "MARK " + what));

        public string Report()
        {
            var sb = new StringBuilder();
            long? since = null;
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var (ticks, line) in _events.OrderBy(e => e.Ticks))
            {
                if (line.StartsWith("MARK ", StringComparison.Ordinal))
                {
                    if (counts.Count > 0)
                    {
                        sb.Append("    counts: ").AppendJoin(", ", counts.Select(c => c.Key + " " + c.Value)).AppendLine();
                        counts.Clear();
                    }

                    since ??= ticks;
                    sb.Append(CultureInfo.InvariantCulture, $"{(ticks - since.Value) / 10_000.0,10:0.000} ").AppendLine(line);
                    continue;
                }

                var kind = line[..line.IndexOf(' ', StringComparison.Ordinal)];
                counts[kind] = counts.GetValueOrDefault(kind) + 1;
                if (kind is "TypeLoadStop" or "R2RGetEntryPoint" or "GCStart" or "ThreadPoolWorkerThreadStart" or "ThreadPoolWorkerThreadAdjustmentAdjustment" or "MethodLoadVerbose")
                {
                    sb.Append(CultureInfo.InvariantCulture, $"{(ticks - (since ?? ticks)) / 10_000.0,10:0.000}   ").AppendLine(line);
                }
            }

            return sb.ToString();
        }

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
            {
                // GC 0x1, Loader 0x8, Jit 0x10, ThreadPool 0x10000, CompilationDiagnostic 0x2000000000, TypeDiagnostic 0x8000000000.
                EnableEvents(source, EventLevel.Verbose, (EventKeywords)(0x1 | 0x8 | 0x10 | 0x10000 | 0x2000000000 | 0x8000000000));
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            var ticks = e.TimeStamp.ToUniversalTime().Ticks;
            var name = e.EventName ?? "?";
            if (name.StartsWith("MethodLoadVerbose", StringComparison.Ordinal))
            {
                name = "MethodLoadVerbose";
            }
            else if (name.StartsWith("MethodJittingStarted", StringComparison.Ordinal))
            {
                name = "MethodJittingStarted";
            }
            else if (name.StartsWith("GCStart", StringComparison.Ordinal))
            {
                name = "GCStart";
            }
            else if (name is not ("TypeLoadStop" or "R2RGetEntryPoint" or "ThreadPoolWorkerThreadStart" or "ThreadPoolWorkerThreadAdjustmentAdjustment"))
            {
                return;
            }

            var sb = new StringBuilder(name).Append(" tid=").Append(e.OSThreadId);
            if (e.Payload is { } payload && e.PayloadNames is { } names)
            {
                for (var i = 0; i < payload.Count && i < names.Count; i++)
                {
                    if (names[i] is "MethodNamespace" or "MethodName" or "TypeName" or "OptimizationTier" or "Reason" or "Depth")
                    {
                        sb.Append(' ').Append(names[i]).Append('=').Append(payload[i]);
                    }
                }
            }

            _events.Enqueue((ticks, sb.ToString()));
        }
    }
}
