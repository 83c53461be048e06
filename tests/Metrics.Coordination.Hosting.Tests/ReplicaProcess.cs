using System.Diagnostics;
using System.Globalization;

namespace Metrics.Coordination.Hosting.Tests;

/// <summary>
/// One app replica (<c>Metrics.Coordination.Hosting.ReplicaHelper</c>) in its own process, reporting <c>READY</c>,
/// <c>LEADER &lt;ns&gt; &lt;token&gt;</c> and <c>NOTLEADER &lt;ns&gt; &lt;token&gt;</c> on stdout (CLOCK_MONOTONIC ns,
/// comparable with <see cref="Now"/>). SIGKILLed by PID; it exits by itself when its stdin closes, so none outlives the
/// test host.
/// </summary>
public sealed class ReplicaProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<Event> _events = [];
    private readonly List<string> _stderr = [];
    private readonly Lock _lock = new();

    private ReplicaProcess(string id, Process process)
    {
        Id = id;
        _process = process;
    }

    public string Id { get; }

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

    /// <summary>The token of the term it leads in, or null when its last event is not LEADER (or it was killed).</summary>
    public long? CurrentToken
    {
        get
        {
            var last = Events.LastOrDefault(e => e.Kind is "LEADER" or "NOTLEADER");
            return last?.Kind == "LEADER" && !_process.HasExited ? long.Parse(last.Argument!, CultureInfo.InvariantCulture) : null;
        }
    }

    /// <summary>When its current term started (ns), or null.</summary>
    public long? LeaderSince => CurrentToken is null ? null : Events.Last(e => e.Kind == "LEADER").Time;

    public static long Now() => (long)(Stopwatch.GetTimestamp() * (1_000_000_000.0 / Stopwatch.Frequency));

    public static ReplicaProcess Start(string id, string connectionString, string electionPath, int sessionTimeoutMs, Uri alertmanager, string ruleFile, int intervalMs, int resendDelayMs)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Metrics.Coordination.Hosting.ReplicaHelper.dll");
        File.Exists(dll).Should().BeTrue($"{dll} is built with the tests (project reference)");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var info = new ProcessStartInfo(dotnet)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { dll, connectionString, electionPath, id, sessionTimeoutMs.ToString(CultureInfo.InvariantCulture), alertmanager.ToString(), ruleFile, intervalMs.ToString(CultureInfo.InvariantCulture), resendDelayMs.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(a);
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var replica = new ReplicaProcess(id, process);
        process.OutputDataReceived += (_, e) => replica.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => replica.OnError(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return replica;
    }

    public async Task<Event> WaitForAsync(string kind, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (Events.FirstOrDefault(e => e.Kind == kind) is { } found)
            {
                return found;
            }

            if (clock.Elapsed > timeout || _process.HasExited)
            {
                throw new AssertionException($"{Id}: no {kind} within {timeout.TotalSeconds:0} s. {Describe()}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>SIGKILL and wait for the exit; returns the time (ns) right after it was gone.</summary>
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

    public string Describe()
    {
        lock (_lock)
        {
            return $"replica {Id} pid {_process.Id}{(_process.HasExited ? $" exited {_process.ExitCode}" : string.Empty)}; events: {string.Join(" | ", _events.Select(e => e.Line))}; stderr tail:\n{string.Join("\n", _stderr.TakeLast(25))}";
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
            if (_stderr.Count > 300)
            {
                _stderr.RemoveAt(0);
            }
        }
    }

    /// <summary>One stdout line: kind, time (ns) and the next field (the token).</summary>
    public sealed record Event(string Kind, long? Time, string? Argument, string Line);
}
