using Metrics.Coordination.Registry;
using Metrics.Coordination.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.AspNetCore.Tests;

public class MetricsServiceCollectionExtensionsTests
{
    [Test]
    public void AddMetricRegistry_RegistersOneSingleton()
    {
        using var provider = new ServiceCollection().AddMetricRegistry().BuildServiceProvider();

        provider.GetRequiredService<MetricRegistry>().Should().BeSameAs(provider.GetRequiredService<MetricRegistry>());
    }

    [Test]
    public void AddMetricRegistry_UsesContainerClockAndLoggerFactory()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var logs = new CapturingLoggerFactory();
        using var provider = new ServiceCollection()
            .AddSingleton<TimeProvider>(clock)
            .AddSingleton<ILoggerFactory>(logs)
            .AddMetricRegistry()
            .BuildServiceProvider();

        var registry = provider.GetRequiredService<MetricRegistry>();
        registry.AddCollector("broken", () => throw new InvalidOperationException("boom"));
        registry.ToText();

        registry.Time.Should().BeSameAs(clock);
        logs.Entries.Should().Contain(e => e.EventId.Id == 1001);
    }

    [Test]
    public void AddMetricRegistry_ConfigureRunsAfterDefaults()
    {
        using var provider = new ServiceCollection()
            .AddMetricRegistry(o => o.ExposeSelfMetrics = false)
            .BuildServiceProvider();

        provider.GetRequiredService<MetricRegistry>().Metrics.Should().BeEmpty();
    }

    [Test]
    public void AddMetricRegistry_KeepsARegistryAlreadyRegistered()
    {
        var mine = new MetricRegistry();
        using var provider = new ServiceCollection().AddSingleton(mine).AddMetricRegistry().BuildServiceProvider();

        provider.GetRequiredService<MetricRegistry>().Should().BeSameAs(mine);
    }
}
