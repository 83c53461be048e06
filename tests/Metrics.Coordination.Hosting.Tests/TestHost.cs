using System.Diagnostics;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Hosting.Tests;

/// <summary>A generic host with AddMetricsCoordination bound from in-memory settings (keys under <c>MetricsCoordination:</c>), logs captured.</summary>
internal sealed class TestHost : IAsyncDisposable
{
    private bool _stopped;

    private TestHost(IHost host, CapturingLoggerFactory logs)
    {
        Host = host;
        Logs = logs;
    }

    public IHost Host { get; }

    public CapturingLoggerFactory Logs { get; }

    public MetricsCoordinationStatus Status => Host.Services.GetRequiredService<MetricsCoordinationStatus>();

    public static TestHost Create(string contentRoot, IDictionary<string, string?> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ContentRootPath = contentRoot,
            EnvironmentName = "Test",
        });
        builder.Configuration.AddInMemoryCollection(settings.ToDictionary(kv => "MetricsCoordination:" + kv.Key, kv => kv.Value));
        var logs = new CapturingLoggerFactory();
        builder.Services.AddSingleton<ILoggerFactory>(logs);
        builder.Services.AddMetricsCoordination(builder.Configuration.GetSection(MetricsCoordinationOptions.SectionName));
        return new TestHost(builder.Build(), logs);
    }

    public static async Task<TestHost> StartAsync(string contentRoot, IDictionary<string, string?> settings)
    {
        var host = Create(contentRoot, settings);
        try
        {
            await host.Host.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch
        {
            TestContext.Out.WriteLine(string.Join('\n', host.Logs.Entries));
            host.Host.Dispose();
            throw;
        }

        return host;
    }

    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        await Host.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            Host.Dispose();
        }
    }

    /// <summary>Polls <paramref name="condition"/> every 20 ms until true or <paramref name="timeout"/>; fails with <paramref name="because"/>.</summary>
    public static async Task Eventually(Func<bool> condition, TimeSpan timeout, string because)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (condition())
            {
                return;
            }

            await Task.Delay(20);
        }

        condition().Should().BeTrue(because);
    }

    /// <summary>The samples of every series matching <paramref name="metricName"/> in <paramref name="storage"/>.</summary>
    public static List<(Labels Labels, List<(long T, double V)> Samples)> Query(Abstractions.Storage.IQueryable storage, string metricName)
    {
        using var querier = storage.Querier(long.MinValue / 2, long.MaxValue / 2);
        var result = new List<(Labels, List<(long, double)>)>();
        foreach (var series in querier.Select(true, new SelectHints { Start = long.MinValue / 2, End = long.MaxValue / 2 }, new LabelMatcher(Abstractions.MatchType.Equal, Labels.MetricName, metricName)))
        {
            var samples = new List<(long, double)>();
            var it = series.Iterator();
            while (it.Next())
            {
                samples.Add((it.Timestamp, it.Value));
            }

            result.Add((series.Labels, samples));
        }

        return result;
    }
}
