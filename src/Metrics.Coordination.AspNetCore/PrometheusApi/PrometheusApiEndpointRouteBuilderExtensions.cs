using Metrics.Coordination.Abstractions;
using Metrics.Coordination.AspNetCore.PrometheusApi;
using Metrics.Coordination.Rules;
using Metrics.Coordination.Rules.PromQL;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.AspNetCore;

/// <summary>Maps a subset of Prometheus's HTTP API (v1) onto ASP.NET Core routing.</summary>
public static class PrometheusApiEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Serves Prometheus's HTTP API under <paramref name="prefix"/>, with its JSON shapes, error format and status codes,
    /// so that Grafana's Prometheus data source and <c>promtool query</c> can read the app's own storage:
    /// <c>query</c> and <c>query_range</c> (GET or urlencoded POST), <c>series</c>, <c>labels</c> (GET or POST),
    /// <c>label/{name}/values</c>, <c>rules</c>, <c>alerts</c> and <c>status/buildinfo</c> (GET); <c>metadata</c> and
    /// <c>query_exemplars</c> answer empty (the storage interface reads neither) so that Grafana's editor and exemplar
    /// queries work. Nothing is served unless
    /// the app calls this. Chain <c>RequireAuthorization</c>, <c>RequireHost</c> and the like on the result, or set
    /// <see cref="PrometheusApiOptions.ApiKey"/> or <see cref="PrometheusApiOptions.AuthorizationPolicy"/>.
    /// </summary>
    /// <param name="endpoints">The route builder (the <c>WebApplication</c>).</param>
    /// <param name="prefix">The route prefix. Default: <c>/api/v1</c>, where Prometheus clients look.</param>
    /// <param name="options">The settings; null takes everything from dependency injection and the defaults.</param>
    /// <returns>The convention builder of all the API's endpoints.</returns>
    /// <remarks>
    /// In an app that called <c>services.AddMetricsCoordination(...)</c> (Metrics.Coordination.Hosting), which opens the
    /// TSDB and builds the rule manager only when the host starts, <c>app.MapPrometheusApi()</c> needs no arguments: the
    /// storage and rules not given in <paramref name="options"/> nor registered in dependency injection are read on each
    /// request from the registered <see cref="IMetricsCoordinationComponents"/>. While those components are not running
    /// (starting, or stopping) the endpoints that read them answer 503 with Prometheus's error body and
    /// <c>errorType</c> <c>unavailable</c>; <c>status/buildinfo</c> always answers.
    /// </remarks>
    /// <exception cref="InvalidOperationException">No queryable storage was given, none is registered, and no <see cref="IMetricsCoordinationComponents"/> is registered.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static IEndpointConventionBuilder MapPrometheusApi(this IEndpointRouteBuilder endpoints, string prefix = "/api/v1", PrometheusApiOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        options ??= new PrometheusApiOptions();
        var settings = Validate(options, endpoints.ServiceProvider);
        var handler = new PrometheusApiHandler(settings);

        var group = endpoints.MapGroup(prefix);
        string[] getPost = [HttpMethods.Get, HttpMethods.Post];
        string[] get = [HttpMethods.Get];
        Map(group, "/query", getPost, handler, static (h, c) => h.QueryAsync(c));
        Map(group, "/query_range", getPost, handler, static (h, c) => h.QueryRangeAsync(c));
        Map(group, "/series", getPost, handler, static (h, c) => h.SeriesAsync(c));
        Map(group, "/labels", getPost, handler, static (h, c) => h.LabelNamesAsync(c));
        Map(group, "/label/{name}/values", get, handler, static (h, c) => h.LabelValuesAsync(c));
        Map(group, "/query_exemplars", getPost, handler, static (h, c) => h.QueryExemplarsAsync(c));
        Map(group, "/metadata", get, handler, static (h, c) => h.MetadataAsync(c));
        Map(group, "/rules", get, handler, static (h, c) => h.RulesAsync(c));
        Map(group, "/alerts", get, handler, static (h, c) => h.AlertsAsync(c));
        Map(group, "/status/buildinfo", get, handler, static (h, c) => h.BuildInfoAsync(c));

        if (options.AuthorizationPolicy is { } policy)
        {
            if (policy.Length == 0)
            {
                group.RequireAuthorization();
            }
            else
            {
                group.RequireAuthorization(policy);
            }
        }

        return group;
    }

    private static void Map(RouteGroupBuilder group, string pattern, string[] methods, PrometheusApiHandler handler, Func<PrometheusApiHandler, HttpContext, Task> endpoint) =>
        group.MapMethods(pattern, methods, context => handler.ServeAsync(context, endpoint))
            .WithDisplayName("Prometheus API " + pattern);

    private static PrometheusApiSettings Validate(PrometheusApiOptions options, IServiceProvider services)
    {
        if (options.MaxConcurrentQueries <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxConcurrentQueries, "MaxConcurrentQueries must be positive.");
        }

        if (options.QueryTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.QueryTimeout, "QueryTimeout must be positive.");
        }

        if (options.MaxPointsPerSeries <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxPointsPerSeries, "MaxPointsPerSeries must be positive.");
        }

        if (options.ApiKey is { Length: 0 })
        {
            throw new ArgumentOutOfRangeException(nameof(options), "ApiKey must not be empty; leave it null for no key.");
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(options.ApiKeyHeader, nameof(options));
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options));

        var loggerFactory = options.LoggerFactory ?? services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
        var queryable = options.Queryable ?? services.GetService<IQueryable>();
        var ruleManager = options.RuleManager ?? services.GetService<RuleManager>();

        // A host that creates the TSDB and rule manager when it starts (AddMetricsCoordination) hands them over per request.
        var components = queryable is not null && ruleManager is not null ? null : services.GetService<IMetricsCoordinationComponents>();
        if (queryable is null && components is null)
        {
            throw new InvalidOperationException(
                "MapPrometheusApi needs a queryable storage: call services.AddMetricsCoordination(...) (Metrics.Coordination.Hosting), " +
                "set PrometheusApiOptions.Queryable (for example the TimeSeriesDatabase) or register one as Metrics.Coordination.Abstractions.Storage.IQueryable.");
        }

        var engine = options.Engine ?? services.GetService<PromQLEngine>()
            ?? new PromQLEngine(new PromQLEngineOptions { LoggerFactory = loggerFactory, TimeProvider = options.TimeProvider });
        return new PrometheusApiSettings(
            queryable,
            engine,
            ruleManager,
            components,
            options.ApiKey,
            options.ApiKeyHeader,
            options.MaxConcurrentQueries,
            options.QueryTimeout,
            options.MaxPointsPerSeries,
            string.IsNullOrEmpty(options.Version) ? PrometheusApiHandler.PackageVersion : options.Version,
            options.TimeProvider,
            loggerFactory.CreateLogger("Metrics.Coordination.AspNetCore.PrometheusApi"));
    }
}
