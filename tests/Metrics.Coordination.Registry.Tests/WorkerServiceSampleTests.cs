using System.Diagnostics;
using System.Reflection;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Registry.Tests;

/// <summary>Runs samples/WorkerService as its own process against a real Pushgateway.</summary>
[Category("Integration")]
public class WorkerServiceSampleTests
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    [Test]
    public async Task WorkerService_BatchEnds_PushesItsFinalCountsToThePushgateway()
    {
        await using var gateway = await PushgatewayServer.StartAsync();

        var (exitCode, output, error) = await RunAsync("--pushgateway", gateway.BaseUrl.ToString(), "--items", "100");

        exitCode.Should().Be(0, error);
        output.Should().MatchRegex(@"Metrics: http://127\.0\.0\.1:\d+/metrics").And.Contain("Processed 100 items").And.Contain("Pushed to ");
        var processed = await gateway.GetSamplesAsync("worker_items_processed_total");
        processed.Should().HaveCount(2);
        processed.Should().OnlyContain(s => s.Labels.Get("job") == "worker_batch" && s.Labels.Get("instance") == Environment.MachineName);
        processed.Single(s => s.Labels.Get("outcome") == "ok").Value.Should().Be(98);
        processed.Single(s => s.Labels.Get("outcome") == "failed").Value.Should().Be(2);
        (await gateway.GetSamplesAsync("worker_item_duration_seconds_count")).Single().Value.Should().Be(100);
        (await gateway.GetSamplesAsync("worker_last_success_timestamp_seconds")).Single().Value
            .Should().BeApproximately(TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0, 120);
    }

    [Test]
    public async Task WorkerService_PushgatewayUnreachable_ExitsWithOneAndSaysWhy()
    {
        var closed = $"http://127.0.0.1:{FreePort.Get()}/";

        var (exitCode, _, error) = await RunAsync("--pushgateway", closed, "--items", "3");

        exitCode.Should().Be(1);
        error.Should().Contain("Push to " + closed + " failed");
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(WorkerServiceAssembly());
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(RunTimeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"WorkerService did not finish within {RunTimeout}: {await output}\n{await error}");
        }

        return (process.ExitCode, await output, await error);
    }

    private static string WorkerServiceAssembly()
    {
        var path = typeof(WorkerServiceSampleTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(a => a.Key == "WorkerServiceAssembly")?.Value;
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            Assert.Fail($"WorkerService.dll not found at '{path}'. The test project builds samples/WorkerService through a ProjectReference; rebuild it.");
        }

        return path!;
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
}
