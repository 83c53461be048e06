using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Rules.Notifications;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Metrics.Coordination.Hosting;

/// <summary>Registers Metrics.Coordination in a .NET generic host (worker services and ASP.NET Core apps alike).</summary>
public static class MetricsCoordinationServiceCollectionExtensions
{
    /// <summary>
    /// Registers the parts configured in <paramref name="configuration"/> (usually
    /// <c>builder.Configuration.GetSection("MetricsCoordination")</c>, see <see cref="MetricsCoordinationOptions"/>),
    /// validated when the host starts.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section the options are bound from.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <remarks>See <see cref="AddMetricsCoordination(IServiceCollection, Action{MetricsCoordinationOptions})"/> for what is registered.</remarks>
    public static IServiceCollection AddMetricsCoordination(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<MetricsCoordinationOptions>().Bind(configuration);
        return AddCore(services);
    }

    /// <summary>
    /// Registers the parts configured by <paramref name="configure"/>, validated when the host starts. Registered: a
    /// singleton <see cref="MetricRegistry"/> (unless one is registered already, e.g. by ASP.NET Core's
    /// <c>AddMetricRegistry</c>), the <see cref="ILeadershipGate"/> (ZooKeeper election when a connection string is
    /// set, else <see cref="AlwaysLeaderGate"/>), <see cref="MetricsCoordinationStatus"/> (the running parts and their
    /// state), the same object as <see cref="IMetricsCoordinationComponents"/> (so that ASP.NET Core's
    /// <c>app.MapPrometheusApi()</c> and <c>app.MapMetricsStatusPage()</c> serve the parts with no arguments), and one
    /// hosted service that starts and stops the parts in order. Calling it again only adds configuration.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddMetricsCoordination(this IServiceCollection services, Action<MetricsCoordinationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<MetricsCoordinationOptions>().Configure(configure);
        return AddCore(services);
    }

    private static IServiceCollection AddCore(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(MetricsCoordinationHostedService)))
        {
            return services;
        }

        services.AddOptions<MetricsCoordinationOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MetricsCoordinationOptions>, MetricsCoordinationOptionsValidator>());

        services.TryAddSingleton(sp => new MetricRegistry(new MetricRegistryOptions
        {
            LoggerFactory = LoggerFactoryOf(sp),
            TimeProvider = TimeOf(sp),
        }));

        services.TryAddSingleton<ILeadershipGate>(sp =>
            UsesZooKeeper(sp)
                ? new ZooKeeperLeadershipGate(LoggerFactoryOf(sp).CreateLogger("Metrics.Coordination.Hosting.Leadership"))
                : AlwaysLeaderGate.Instance);

        services.TryAddSingleton(sp => new MetricsCoordinationStatus(sp.GetRequiredService<MetricRegistry>(), sp.GetRequiredService<ILeadershipGate>(), TimeOf(sp)));

        // How ASP.NET Core's MapPrometheusApi() and MapMetricsStatusPage() find the parts, which exist only once started.
        services.TryAddSingleton<IMetricsCoordinationComponents>(sp => sp.GetRequiredService<MetricsCoordinationStatus>());

        services.AddSingleton(sp => new MetricsCoordinationHostedService(
            sp.GetRequiredService<IOptions<MetricsCoordinationOptions>>(),
            sp.GetRequiredService<MetricRegistry>(),
            sp.GetRequiredService<MetricsCoordinationStatus>(),
            sp.GetRequiredService<ILeadershipGate>(),
            TimeOf(sp),
            LoggerFactoryOf(sp),
            sp.GetService<IHostEnvironment>()));
        services.AddHostedService(sp => sp.GetRequiredService<MetricsCoordinationHostedService>());
        return services;
    }

    private static bool UsesZooKeeper(IServiceProvider sp)
    {
        try
        {
            return !string.IsNullOrWhiteSpace(sp.GetRequiredService<IOptions<MetricsCoordinationOptions>>().Value.ZooKeeper.ConnectionString);
        }
        catch (OptionsValidationException)
        {
            // The host will not start (ValidateOnStart reports why); a closed gate keeps the status object usable meanwhile.
            return true;
        }
    }

    private static TimeProvider TimeOf(IServiceProvider sp) => sp.GetService<TimeProvider>() ?? TimeProvider.System;

    private static ILoggerFactory LoggerFactoryOf(IServiceProvider sp) => sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
}
