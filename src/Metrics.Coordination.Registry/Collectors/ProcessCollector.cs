using System.Diagnostics;
using Metrics.Coordination.Abstractions;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Registry;

/// <summary>
/// The process metrics the Prometheus client guidelines define, refreshed at the start of every scrape:
/// <c>process_cpu_seconds_total</c> (user + system CPU time, from <see cref="Environment.CpuUsage"/>, which is
/// <c>getrusage</c> on Unix: microsecond resolution where <c>/proc/self/stat</c> has 10 ms ticks),
/// <c>process_resident_memory_bytes</c> and <c>process_virtual_memory_bytes</c>, <c>process_open_fds</c> and
/// <c>process_max_fds</c> (Linux only; see <see cref="LinuxProcessStats"/>), and <c>process_start_time_seconds</c>
/// (read once). Off Linux, memory comes from <see cref="Process"/> (refreshed per scrape) and the descriptor metrics
/// are not registered. A source that fails to read is logged once and its metrics keep their last values.
/// </summary>
internal sealed class ProcessCollector : IDisposable
{
    private readonly MetricRegistry _registry;
    private readonly ILogger _logger;
    private readonly List<BridgeMetric> _metrics = [];
    private readonly GaugeSeries _cpu;
    private readonly GaugeSeries _resident;
    private readonly GaugeSeries _virtual;
    private readonly GaugeSeries? _openFds;
    private readonly GaugeSeries? _maxFds;
    private readonly LinuxProcessStats? _linux;
    private readonly Process? _process;
    private readonly IDisposable _callback;
    private int _failedSources;

    public ProcessCollector(MetricRegistry registry, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _registry = registry;
        _logger = loggerFactory.CreateLogger("Metrics.Coordination.Registry.ProcessCollector");
        try
        {
            _cpu = Register("process_cpu_seconds", "Total user and system CPU time spent in seconds.", MetricType.Counter, "seconds");
            _resident = Register("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType.Gauge, "bytes");
            _virtual = Register("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType.Gauge, "bytes");
            if (OperatingSystem.IsLinux())
            {
                _linux = new LinuxProcessStats();
                _openFds = Register("process_open_fds", "Number of open file descriptors.", MetricType.Gauge, null);
                _maxFds = Register("process_max_fds", "Maximum number of open file descriptors.", MetricType.Gauge, null);
            }
            else
            {
                _process = Process.GetCurrentProcess();
            }

            var start = Register("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", MetricType.Gauge, "seconds");
            using (var current = Process.GetCurrentProcess())
            {
                start.Set(new DateTimeOffset(current.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0);
            }

            _callback = registry.AddBeforeCollectCallback("process", Collect);
        }
        catch
        {
            Unregister();
            throw;
        }
    }

    // The sources read per scrape, each failing on its own: statm, the descriptor count, the descriptor limit, and
    // off Linux the Process object.
    private static readonly string[] SourceNames = ["/proc/self/statm", "/proc/self/fd", "RLIMIT_NOFILE", "System.Diagnostics.Process"];

    /// <summary>Reads every source into the series. Runs at the start of each scrape; allocates nothing on Linux.</summary>
    internal void Collect()
    {
        _cpu.Set(Environment.CpuUsage.TotalTime.TotalSeconds);
        for (var source = _linux is null ? 3 : 0; source < (_linux is null ? 4 : 3); source++)
        {
            try
            {
                ReadSource(source);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or NotSupportedException or PlatformNotSupportedException)
            {
                var bit = 1 << source;
                if ((Interlocked.Or(ref _failedSources, bit) & bit) == 0)
                {
                    MeterBridgeLog.ProcessSourceFailed(_logger, SourceNames[source], ex);
                }
            }
        }
    }

    private void ReadSource(int source)
    {
        switch (source)
        {
            case 0:
                if (_linux!.TryReadMemory(out var virtualBytes, out var residentBytes))
                {
                    _virtual.Set(virtualBytes);
                    _resident.Set(residentBytes);
                }

                break;
            case 1:
                if (_linux!.TryCountOpenFds(out var open))
                {
                    _openFds!.Set(open);
                }

                break;
            case 2:
                if (_linux!.TryReadMaxFds(out var max))
                {
                    _maxFds!.Set(max);
                }

                break;
            default:
                _process!.Refresh();
                _resident.Set(_process.WorkingSet64);
                _virtual.Set(_process.VirtualMemorySize64);
                break;
        }
    }

    public void Dispose()
    {
        _callback.Dispose();
        Unregister();
        _linux?.Dispose();
        _process?.Dispose();
    }

    private GaugeSeries Register(string name, string help, MetricType type, string? unit)
    {
        var (metric, series) = BridgeMetric.RegisterMirror(_registry, name, help, type, unit);
        _metrics.Add(metric);
        return series;
    }

    private void Unregister()
    {
        foreach (var metric in _metrics)
        {
            if (_registry.Metrics.Any(m => ReferenceEquals(m, metric)))
            {
                _registry.Unregister(metric.Name);
            }
        }

        _metrics.Clear();
    }
}
