using Metrics.Coordination.Registry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.AspNetCore;

/// <summary>Registers a <see cref="MetricRegistry"/> in dependency injection.</summary>
public static class MetricsServiceCollectionExtensions
{
    /// <summary>
    /// Registers one singleton <see cref="MetricRegistry"/> (unless one is registered already), built with the
    /// container's <see cref="ILoggerFactory"/> and <see cref="TimeProvider"/> when present.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Adjusts the options after those defaults are filled in.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddMetricRegistry(this IServiceCollection services, Action<MetricRegistryOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(sp =>
        {
            var options = new MetricRegistryOptions
            {
                LoggerFactory = sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance,
                TimeProvider = sp.GetService<TimeProvider>() ?? TimeProvider.System,
            };
            configure?.Invoke(options);
            return new MetricRegistry(options);
        });
        return services;
    }
}
