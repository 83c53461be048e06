using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Registry.Tests;

/// <summary>The process collector against /proc, read independently here, and against <see cref="Environment"/>.</summary>
public class ProcessCollectorTests
{
    // USER_HZ: the unit of /proc/<pid>/stat times, 100 on every Linux architecture .NET runs on.
    private const double ClockTicksPerSecond = 100;

    private static MetricRegistry NewRegistry() => new(new MetricRegistryOptions { ExposeSelfMetrics = false });

    [Test]
    public void AddProcessMetrics_Exposition_HasGuidelineNamesAndTypes()
    {
        var registry = NewRegistry();
        using var process = registry.AddProcessMetrics();

        var text = registry.ToText();
        var openMetrics = registry.ToText(ExpositionFormat.OpenMetrics);

        var metadata = text.Split('\n').Where(l => l.StartsWith('#')).ToList();
        var expected = new List<string>
        {
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
            "# TYPE process_cpu_seconds_total counter",
        };
        if (OperatingSystem.IsLinux())
        {
            expected.AddRange(["# HELP process_max_fds Maximum number of open file descriptors.", "# TYPE process_max_fds gauge", "# HELP process_open_fds Number of open file descriptors.", "# TYPE process_open_fds gauge"]);
        }

        expected.AddRange(
        [
            "# HELP process_resident_memory_bytes Resident memory size in bytes.",
            "# TYPE process_resident_memory_bytes gauge",
            "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
            "# TYPE process_start_time_seconds gauge",
            "# HELP process_virtual_memory_bytes Virtual memory size in bytes.",
            "# TYPE process_virtual_memory_bytes gauge",
        ]);
        metadata.Should().Equal(expected);
        openMetrics.Should().Contain("# UNIT process_cpu_seconds seconds\nprocess_cpu_seconds_total ");
        openMetrics.Should().Contain("# UNIT process_resident_memory_bytes bytes\n");
    }

    [Test]
    [Platform("Linux")]
    public void CpuSeconds_AgreesWithProcStatAndEnvironment()
    {
        var registry = NewRegistry();
        using var process = registry.AddProcessMetrics();
        Burn(TimeSpan.FromMilliseconds(200));

        var statBefore = StatCpuSeconds();
        var usageBefore = Environment.CpuUsage.TotalTime.TotalSeconds;
        var cpu = Value(registry, "process_cpu_seconds_total");
        var usageAfter = Environment.CpuUsage.TotalTime.TotalSeconds;
        var statAfter = StatCpuSeconds();

        cpu.Should().BeInRange(usageBefore, usageAfter);
        cpu.Should().BeInRange(statBefore - 0.05, statAfter + 0.05, "/proc/self/stat counts 10 ms ticks");
        cpu.Should().BeGreaterThan(0.2);
    }

    [Test]
    [Platform("Linux")]
    public void Memory_AgreesWithStatmAndEnvironment()
    {
        var registry = NewRegistry();
        using var process = registry.AddProcessMetrics();

        var samples = Samples(registry);
        var (sizePages, residentPages) = Statm();
        var resident = samples["process_resident_memory_bytes"];
        var virtualBytes = samples["process_virtual_memory_bytes"];
        double page = Environment.SystemPageSize;

        // Parallel tests allocate meanwhile; 64 MiB is far above what a scrape's worth of time allocates here.
        const double Slack = 64 * 1024 * 1024;
        resident.Should().BeApproximately(residentPages * page, Slack);
        resident.Should().BeApproximately(Environment.WorkingSet, Slack);
        virtualBytes.Should().BeApproximately(sizePages * page, 4 * Slack);
        virtualBytes.Should().BeGreaterThan(resident);
    }

    [Test]
    [Platform("Linux")]
    public void OpenFds_AgreesWithProcSelfFd()
    {
        var registry = NewRegistry();
        using var process = registry.AddProcessMetrics();
        using var extra = Enumerable.Range(0, 20).Select(_ => File.OpenRead("/proc/self/stat")).ToArray().AsDisposable();

        var open = Value(registry, "process_open_fds");
        var listed = Directory.GetFileSystemEntries("/proc/self/fd").Length - 1; // minus the listing's own descriptor

        // Other fixtures open and close sockets and files in parallel.
        open.Should().BeApproximately(listed, 8);
        open.Should().BeGreaterThanOrEqualTo(23);
    }

    [Test]
    [Platform("Linux")]
    public void OpenFds_ListingFallback_AgreesWithStatx()
    {
        using var stats = new LinuxProcessStats();

        stats.TryCountOpenFds(out var viaStatx).Should().BeTrue();
        stats.TryCountByListing(out var viaListing).Should().BeTrue();

        viaListing.Should().BeApproximately(viaStatx, 8);
    }

    [Test]
    [Platform("Linux")]
    public void MaxFds_IsTheSoftLimitInProcSelfLimits()
    {
        var registry = NewRegistry();
        using var process = registry.AddProcessMetrics();

        var max = Value(registry, "process_max_fds");
        var line = File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var soft = Regex.Split(line["Max open files".Length..].Trim(), @"\s+")[0];

        max.Should().Be(soft == "unlimited" ? ulong.MaxValue : double.Parse(soft, CultureInfo.InvariantCulture));
    }

    [Test]
    [Platform("Linux")]
    public void StartTime_AgreesWithProcStatAndProcess()
    {
        var registry = NewRegistry();
        using var process = registry.AddProcessMetrics();

        var start = Value(registry, "process_start_time_seconds");
        var fields = StatFields();
        var bootTime = double.Parse(File.ReadAllLines("/proc/stat").Single(l => l.StartsWith("btime ", StringComparison.Ordinal))[6..], CultureInfo.InvariantCulture);
        var fromStat = bootTime + (double.Parse(fields[19], CultureInfo.InvariantCulture) / ClockTicksPerSecond);
        using var current = Process.GetCurrentProcess();
        var fromProcess = new DateTimeOffset(current.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds() / 1000.0;

        start.Should().BeApproximately(fromStat, 1.5, "btime has whole seconds");
        start.Should().BeApproximately(fromProcess, 0.01);
        start.Should().BeLessThan(TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0);
    }

    [Test]
    public void AddProcessMetrics_Twice_Throws()
    {
        var registry = NewRegistry();
        using var process = registry.AddProcessMetrics();

        var again = () => registry.AddProcessMetrics();

        again.Should().Throw<MetricRegistrationException>();
        registry.Metrics.Count(m => m.Name.StartsWith("process_", StringComparison.Ordinal)).Should().Be(OperatingSystem.IsLinux() ? 6 : 4);
    }

    [Test]
    public void AddProcessMetrics_Dispose_RemovesFamilies()
    {
        var registry = NewRegistry();
        var process = registry.AddProcessMetrics();

        process.Dispose();

        registry.Metrics.Should().BeEmpty();
        using var again = registry.AddProcessMetrics();
        registry.Metrics.Should().NotBeEmpty();
    }

    [Test]
    public void AddProcessMetrics_NameTakenByAnotherMetric_ThrowsAndLeavesNothing()
    {
        var registry = NewRegistry();
        registry.CreateGauge("process_open_fds", "Mine.");
        registry.CreateGauge("process_start_time_seconds", "Mine.");

        var add = () => registry.AddProcessMetrics();

        add.Should().Throw<MetricRegistrationException>();
        registry.Metrics.Select(m => m.Name).Should().BeEquivalentTo("process_open_fds", "process_start_time_seconds");
    }

    [TestCase("13094744 6086 5550 12 0 14301 0\n", 13094744L, 6086L)]
    [TestCase("1 2 3 4 5 6 7", 1L, 2L)]
    public void TryParseStatm_ValidText_ReadsSizeAndResident(string text, long size, long resident)
    {
        LinuxProcessStats.TryParseStatm(Encoding.ASCII.GetBytes(text), out var s, out var r).Should().BeTrue();

        (s, r).Should().Be((size, resident));
    }

    [TestCase("")]
    [TestCase("x 1")]
    [TestCase("12")]
    public void TryParseStatm_Garbage_Fails(string text) =>
        LinuxProcessStats.TryParseStatm(Encoding.ASCII.GetBytes(text), out _, out _).Should().BeFalse();

    [TestCase("Max processes             96364                96364                processes \nMax open files            20000                40000                files     \n", 20000d)]
    [TestCase("Max open files            unlimited            unlimited            files     \n", 18446744073709551615d)]
    public void TryParseMaxOpenFiles_LimitsText_ReadsSoftLimit(string text, double expected)
    {
        LinuxProcessStats.TryParseMaxOpenFiles(Encoding.ASCII.GetBytes(text), out var max).Should().BeTrue();

        max.Should().Be(expected);
    }

    private static void Burn(TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        var x = 0.0;
        while (clock.Elapsed < duration)
        {
            x = Math.Sqrt(x + clock.ElapsedTicks);
        }

        GC.KeepAlive(x);
    }

    private static string[] StatFields()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }

    private static double StatCpuSeconds()
    {
        var fields = StatFields();
        return (double.Parse(fields[11], CultureInfo.InvariantCulture) + double.Parse(fields[12], CultureInfo.InvariantCulture)) / ClockTicksPerSecond;
    }

    private static (long Size, long Resident) Statm()
    {
        var parts = File.ReadAllText("/proc/self/statm").Split(' ');
        return (long.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    private static double Value(MetricRegistry registry, string sample) => Samples(registry)[sample];

    private static Dictionary<string, double> Samples(MetricRegistry registry) =>
        ExpositionParser.Parse(registry.ToText(), ExpositionFormat.PrometheusText)
            .SelectMany(f => f.Samples)
            .ToDictionary(s => s.Name, s => s.Value);
}

internal static class DisposableArrayExtensions
{
    public static IDisposable AsDisposable(this IDisposable[] items) => new All(items);

    private sealed class All(IDisposable[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }
}
