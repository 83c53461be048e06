using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace Metrics.Coordination.Testing;

/// <summary>The outcome of a process run to completion.</summary>
/// <param name="ExitCode">The exit code.</param>
/// <param name="Stdout">Everything written to standard output.</param>
/// <param name="Stderr">Everything written to standard error.</param>
public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    /// <inheritdoc />
    public override string ToString() => $"exit code {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// A long-running peer process (a server) started by a test: its output is kept (the last <see cref="OutputLimit"/>
/// characters) for failure messages, and it is stopped by PID with its whole process tree on dispose, or when the
/// test host exits, so no server outlives the run.
/// </summary>
public sealed class PeerProcess : IAsyncDisposable
{
    /// <summary>How much output is kept, from the end: enough for a startup failure and the last errors.</summary>
    public const int OutputLimit = 64 * 1024;

    /// <summary>
    /// The guard <see cref="Start"/> runs peers under, for <c>/bin/sh -c GUARD peer-guard HOSTPID COMMAND ARGS...</c>:
    /// runs the command, kills it when HOSTPID is gone (polling each second), exits with the command's status.
    /// </summary>
    public const string GuardScript =
        "host=$1; shift; \"$@\" & child=$!; " +
        "( while kill -0 \"$host\" 2>/dev/null; do sleep 1; done; kill -9 \"$child\" 2>/dev/null ) </dev/null >/dev/null 2>&1 & " +
        "watcher=$!; wait \"$child\"; status=$?; kill \"$watcher\" 2>/dev/null; exit \"$status\"";

    private const string GuardShell = "/bin/sh";

    private static readonly ConcurrentDictionary<int, Process> Live = new();
    private static int _exitHookInstalled;

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _outputLock = new();
    private int? _exitCode;
    private int _pid;

    private PeerProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    /// <summary>A short name for messages (the executable's file name by default).</summary>
    public string Name { get; }

    /// <summary>The operating-system process ID.</summary>
    public int Pid => _pid;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _exitCode is not null || RefreshExit();

    /// <summary>The exit code, once exited.</summary>
    public int? ExitCode => HasExited ? _exitCode : null;

    /// <summary>The captured stdout and stderr lines, interleaved as they arrived (the tail, when long).</summary>
    public string Output
    {
        get
        {
            lock (_outputLock)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts <paramref name="fileName"/> with <paramref name="arguments"/>, capturing its output. Unless
    /// <paramref name="dieWithTestHost"/> is false, the peer runs under a small <c>/bin/sh</c> guard that kills it
    /// within a second of the test host vanishing: a host that crashes (stack overflow) or is killed by the hang
    /// detector runs no exit handlers, and would otherwise leave servers holding ports and temp dirs. The guard
    /// passes the peer's exit code through; <see cref="Pid"/> is the guard's, and stopping kills the whole tree.
    /// </summary>
    public static PeerProcess Start(string fileName, IEnumerable<string> arguments, string? workingDirectory = null, string? name = null, IReadOnlyDictionary<string, string>? environment = null, bool dieWithTestHost = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        var argumentList = arguments.ToList();
        var displayName = name ?? Path.GetFileName(fileName);
        if (dieWithTestHost && File.Exists(GuardShell))
        {
            // $1 = the test host's PID, then the command. The watcher's output goes to /dev/null so that, once
            // killed, its last `sleep` cannot hold our pipes open.
            argumentList = ["-c", GuardScript, "peer-guard", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), fileName, .. argumentList];
            fileName = GuardShell;
        }

        var startInfo = CreateStartInfo(fileName, argumentList, workingDirectory, environment);
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var peer = new PeerProcess(displayName, process);
        process.OutputDataReceived += (_, e) => peer.Append(e.Data);
        process.ErrorDataReceived += (_, e) => peer.Append(e.Data);
        InstallExitHook();
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {fileName}.");
        }

        peer._pid = process.Id;
        Live[process.Id] = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return peer;
    }

    /// <summary>Runs a command to completion (a CLI such as promtool), feeding <paramref name="stdin"/> and killing it after <paramref name="timeout"/>.</summary>
    /// <exception cref="TimeoutException">The process did not exit in time (it is killed).</exception>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, string? stdin = null, TimeSpan? timeout = null, string? workingDirectory = null, CancellationToken cancellationToken = default)
    {
        var startInfo = CreateStartInfo(fileName, arguments, workingDirectory, null);
        startInfo.RedirectStandardInput = true;
        using var process = new Process { StartInfo = startInfo };
        InstallExitHook();
        process.Start();
        Live[process.Id] = process;
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin.AsMemory(), cancellationToken);
            }

            process.StandardInput.Close();
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout ?? TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                KillTree(process);
                throw new TimeoutException($"{startInfo.FileName} {string.Join(' ', startInfo.ArgumentList)} did not exit within {timeout ?? TimeSpan.FromSeconds(60)}.");
            }

            return new ProcessResult(process.ExitCode, await stdout, await stderr);
        }
        finally
        {
            KillTree(process);
            Live.TryRemove(process.Id, out _);
        }
    }

    /// <summary>Kills the process and its children by PID and waits for it to exit.</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        KillTree(_process);
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} (pid {Pid}) did not exit within {timeout ?? TimeSpan.FromSeconds(10)} of being killed.");
        }
        finally
        {
            Live.TryRemove(_pid, out _);
        }

        RefreshExit();
    }

    /// <summary>Stops the process (see <see cref="StopAsync"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <summary>A failure description: name, PID, exit state and the captured output.</summary>
    public string Describe() =>
        $"{Name} (pid {Pid}, {(HasExited ? $"exited with {ExitCode}" : "running")}); its output:\n{Output}";

    private bool RefreshExit()
    {
        try
        {
            if (_process.HasExited)
            {
                // Wait for the asynchronous output readers to drain, so Output holds the last lines.
                _process.WaitForExit(2000);
                _exitCode = _process.ExitCode;
                return true;
            }

            return false;
        }
        catch (InvalidOperationException)
        {
            // Disposed before the exit was observed (Dispose kills and waits first, so this is only a race).
            _exitCode ??= -1;
            return true;
        }
    }

    private static ProcessStartInfo CreateStartInfo(string fileName, IEnumerable<string> arguments, string? workingDirectory, IReadOnlyDictionary<string, string>? environment)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
            WorkingDirectory = workingDirectory ?? string.Empty,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                startInfo.Environment[key] = value;
            }
        }

        return startInfo;
    }

    private static void KillTree(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill, or never started.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Exiting already; WaitForExit will see it.
        }
    }

    private static void InstallExitHook()
    {
        if (Interlocked.Exchange(ref _exitHookInstalled, 1) == 0)
        {
            // A crashed or cancelled test run must not leave servers holding ports and temp dirs.
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                foreach (var process in Live.Values)
                {
                    KillTree(process);
                }
            };
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_outputLock)
        {
            _output.Append(line).Append('\n');
            if (_output.Length > OutputLimit)
            {
                _output.Remove(0, _output.Length - OutputLimit);
            }
        }
    }
}
