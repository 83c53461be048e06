using System.Diagnostics;
using System.Globalization;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes;

/// <summary>
/// A leader-election contender in its own process — ours (<c>Metrics.Coordination.ZooKeeper.ContenderHelper</c>) or
/// Curator's (<c>CuratorContender.java</c>) — driven over stdin and reporting one event per line on stdout
/// (<c>READY</c>, <c>LEADER &lt;ns&gt; &lt;token&gt;</c>, <c>NOTLEADER &lt;ns&gt;</c>, <c>CLOSING &lt;ns&gt;</c>, ...; times are
/// CLOCK_MONOTONIC nanoseconds, comparable with <see cref="Now"/>). Killed with SIGKILL by PID; both programs exit
/// when their stdin closes, so none outlives the test host.
/// </summary>
public sealed class ContenderProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<Event> _events = [];
    private readonly Lock _lock = new();
    private readonly List<string> _stderr = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ContenderProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public IReadOnlyList<Event> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>The session id (hex) from the READY line, or empty before it.</summary>
    public string SessionId => Events.FirstOrDefault(e => e.Kind == "READY")?.Line.Split(' ') is [_, var id, ..] ? id : string.Empty;

    /// <summary>Whether the last LEADER/NOTLEADER event says it leads.</summary>
    public bool IsLeader => Events.LastOrDefault(e => e.Kind is "LEADER" or "NOTLEADER")?.Kind == "LEADER";

    /// <summary>CLOCK_MONOTONIC in ns (Stopwatch on Linux), the clock both contender programs report.</summary>
    public static long Now() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

    /// <summary>
    /// Starts our contender: <c>dotnet ContenderHelper.dll connect path id sessionMs [actLog]</c>, from the test's own
    /// build or from <paramref name="helperDirectory"/> (another build's output, for an A/B in one run).
    /// </summary>
    public static ContenderProcess StartOurs(string name, string connectionString, string path, int sessionTimeoutMs, string? actLog = null, bool warmUp = false, bool watchTwoAhead = false, string? helperDirectory = null)
    {
        var dll = Path.Combine(helperDirectory ?? AppContext.BaseDirectory, "Metrics.Coordination.ZooKeeper.ContenderHelper.dll");
        File.Exists(dll).Should().BeTrue($"{dll} is built with the tests (project reference)");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        List<string> args = [dll, connectionString, path, name, sessionTimeoutMs.ToString(CultureInfo.InvariantCulture)];
        if (actLog is not null)
        {
            args.Add(actLog);
        }

        var environment = new Dictionary<string, string>();
        if (warmUp)
        {
            environment["CONTENDER_WARMUP"] = "1";
        }

        if (watchTwoAhead)
        {
            environment["CONTENDER_WATCH_AHEAD"] = "1";
        }

        return Start(name, dotnet, args, environment);
    }

    /// <summary>Starts Curator's LeaderLatch driver (compiled by <see cref="CuratorDriver"/>).</summary>
    public static ContenderProcess StartCurator(string name, string connectionString, string path, int sessionTimeoutMs) =>
        Start(name, CuratorDriver.Java, ["-Xms16m", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", CuratorDriver.ClassPath, "CuratorContender", connectionString, path, name, sessionTimeoutMs.ToString(CultureInfo.InvariantCulture)]);

    /// <summary>Starts the Curator driver in lock mode: an <c>InterProcessMutex</c> on <paramref name="path"/> appending to <paramref name="sharedLog"/>.</summary>
    public static ContenderProcess StartCuratorLock(string name, string connectionString, string path, int sessionTimeoutMs, string sharedLog) =>
        Start(name, CuratorDriver.Java, ["-Xms16m", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", CuratorDriver.ClassPath, "CuratorContender", connectionString, path, name, sessionTimeoutMs.ToString(CultureInfo.InvariantCulture), "lock", sharedLog]);

    public async Task<Event> WaitForAsync(string kind, TimeSpan timeout, int occurrence = 1)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                var matches = _events.Where(e => e.Kind == kind).ToList();
                if (matches.Count >= occurrence)
                {
                    return matches[occurrence - 1];
                }

                changed = _changed.Task;
            }

            var left = timeout - clock.Elapsed;
            if (left <= TimeSpan.Zero || await Task.WhenAny(changed, Task.Delay(left)) != changed)
            {
                throw new AssertionException($"{Name}: no {kind} #{occurrence} within {timeout.TotalSeconds:0.#} s. {Describe()}");
            }
        }
    }

    public async Task SendAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>SIGKILL (the whole tree) and wait for the exit; returns the time right after it was gone.</summary>
    public async Task<long> KillAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited already.
        }

        await _process.WaitForExitAsync();
        return Now();
    }

    public async Task WaitForExitAsync(TimeSpan timeout) => await _process.WaitForExitAsync().WaitAsync(timeout);

    public string Describe()
    {
        lock (_lock)
        {
            return $"pid {_process.Id}{(_process.HasExited ? $", exited {_process.ExitCode}" : string.Empty)}; events: {string.Join(" | ", _events.Select(e => e.Line))}; stderr tail: {string.Join("\n", _stderr.TakeLast(30))}";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }

    private static ContenderProcess Start(string name, string fileName, IEnumerable<string> arguments, Dictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        foreach (var (key, value) in environment ?? [])
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var contender = new ContenderProcess(name, process);
        process.OutputDataReceived += (_, e) => contender.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => contender.OnError(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return contender;
    }

    private void OnLine(string? line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return;
        }

        var parts = line.Trim().Split(' ');
        long? time = parts.Length > 1 && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var t) ? t : null;
        lock (_lock)
        {
            _events.Add(new Event(parts[0], time, parts.Length > 2 ? parts[2] : null, line));
            _changed.TrySetResult();
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private void OnError(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _stderr.Add(line);
            if (_stderr.Count > 200)
            {
                _stderr.RemoveAt(0);
            }
        }
    }

    /// <summary>One stdout line: its kind, the time (ns) when it has one, and the next field (token, session).</summary>
    public sealed record Event(string Kind, long? Time, string? Argument, string Line)
    {
        public long Token => long.Parse(Argument!, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// Compiles <c>CuratorContender.java</c> (kept next to the tests) once per run with <c>javac</c> against Debian's
/// Curator 5.4 jars into a temp directory. Fails with the install hint when javac or a jar is missing; never skips.
/// </summary>
public static class CuratorDriver
{
    private const string InstallHint = "apt-get install -y --no-install-recommends default-jdk-headless libcurator-recipes-java libcurator-framework-java libcurator-client-java libguava-java zookeeper libslf4j-java";

    private static readonly Lazy<string> Compiled = new(Compile);
    private static TempDirectory? s_directory;

    public static string Java => PeerBinary.Find("java", InstallHint);

    /// <summary>The runtime class path: the compiled driver plus the jars.</summary>
    public static string ClassPath => Compiled.Value;

    private static string[] Jars =>
    [
        "curator-recipes", "curator-framework", "curator-client", "guava", "zookeeper", "zookeeper-jute", "slf4j-api", "slf4j-nop",
    ];

    private static string Compile()
    {
        var javac = PeerBinary.Find("javac", InstallHint);
        var jars = Jars.Select(j => $"/usr/share/java/{j}.jar").ToList();
        foreach (var jar in jars)
        {
            if (!File.Exists(jar))
            {
                throw new AssertionException($"{jar} is missing: the Curator interop tests need Debian's Curator 5.4 (they fail rather than skip). Install: sudo {InstallHint}");
            }
        }

        s_directory = new TempDirectory("curator-driver");
        AppDomain.CurrentDomain.ProcessExit += (_, _) => s_directory.Dispose();
        var source = Path.Combine(AppContext.BaseDirectory, "Recipes", "Java", "CuratorContender.java");
        var classes = s_directory.Combine("classes");
        Directory.CreateDirectory(classes);
        var classPath = string.Join(':', jars);
        var result = PeerProcess.RunAsync(javac, ["-d", classes, "-cp", classPath, source], timeout: TimeSpan.FromMinutes(3)).GetAwaiter().GetResult();
        result.ExitCode.Should().Be(0, "javac must compile the Curator driver: " + result);
        return classes + ":" + classPath;
    }
}
