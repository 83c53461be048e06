using System.Diagnostics;
using System.Text;

namespace Metrics.Coordination.Tool.Tests.Support;

/// <summary>What a run of a command-line program produced.</summary>
internal sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StdOut}--- stderr\n{StdErr}";
}

/// <summary>
/// Runs the built <c>mctl</c> (<c>dotnet Metrics.Coordination.Tool.dll</c>) or another program as a child process.
/// The tool's dll, runtimeconfig and deps files are copied next to the tests by the ProjectReference to the Exe
/// project, so this works from a clean clone after <c>dotnet test</c>'s build.
/// </summary>
internal static class ToolProcess
{
    // A cold `dotnet` start of a small tool takes 0.1–0.5 s; CI machines under load can be ten times slower.
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static string ToolDll
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "Metrics.Coordination.Tool.dll");
            File.Exists(path).Should().BeTrue($"the built tool should sit next to the tests at {path}");
            File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json")).Should().BeTrue("dotnet needs the tool's runtimeconfig to run it");
            return path;
        }
    }

    /// <summary>The dotnet host that runs the tests, so the tool runs on the same runtime.</summary>
    public static string DotnetHost
    {
        get
        {
            var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk))
            {
                return fromSdk;
            }

            var self = Environment.ProcessPath;
            if (self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            {
                return self;
            }

            return "dotnet";
        }
    }

    /// <summary>Runs <c>mctl</c> with <paramref name="args"/>, feeding <paramref name="stdin"/> (closed at once when null).</summary>
    public static Task<ProcessResult> RunMctlAsync(string? stdin, params string[] args) =>
        RunAsync(DotnetHost, [ToolDll, .. args], stdin);

    public static async Task<ProcessResult> RunAsync(string fileName, IReadOnlyList<string> args, string? stdin)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        // The child must not try to talk to the terminal or print first-run banners.
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            if (stdin is not null)
            {
                var bytes = new UTF8Encoding(false).GetBytes(stdin);
                await process.StandardInput.BaseStream.WriteAsync(bytes);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The program may exit before reading its input (usage errors); that is its business.
        }

        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{fileName} {string.Join(' ', args)} did not exit within {Timeout.TotalSeconds} s");
        }

        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }
}
