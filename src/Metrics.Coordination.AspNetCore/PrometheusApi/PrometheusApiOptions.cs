using Metrics.Coordination.Rules;
using Metrics.Coordination.Rules.PromQL;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.AspNetCore;

/// <summary>
/// Settings of the Prometheus HTTP API endpoints (<see cref="PrometheusApiEndpointRouteBuilderExtensions.MapPrometheusApi"/>).
/// The API is off unless the app maps it; every member is optional. Validated and copied when the endpoints are mapped.
/// </summary>
public sealed class PrometheusApiOptions
{
    /// <summary>
    /// The storage queries and the series and label endpoints read (the TSDB). Null takes the
    /// <see cref="IQueryable"/> registered in dependency injection, else on each request the running one of the
    /// registered <see cref="Abstractions.IMetricsCoordinationComponents"/> (what <c>AddMetricsCoordination</c> opens);
    /// mapping fails when there is neither.
    /// </summary>
    public IQueryable? Queryable { get; set; }

    /// <summary>
    /// The PromQL engine. Null takes the <see cref="PromQLEngine"/> registered in dependency injection, or creates one
    /// with default <see cref="PromQLEngineOptions"/> (and this <see cref="LoggerFactory"/> and <see cref="TimeProvider"/>).
    /// </summary>
    public PromQLEngine? Engine { get; set; }

    /// <summary>
    /// The rule manager behind <c>/rules</c> and <c>/alerts</c>. Null takes the <see cref="RuleManager"/> registered in
    /// dependency injection, else on each request the running one of the registered
    /// <see cref="Abstractions.IMetricsCoordinationComponents"/>; without one both endpoints answer with empty lists.
    /// </summary>
    public RuleManager? RuleManager { get; set; }

    /// <summary>
    /// When set, every request must present this key, or it is answered 401: as <c>Authorization: Bearer &lt;key&gt;</c>
    /// when <see cref="ApiKeyHeader"/> is <c>Authorization</c> (the default), else as the whole value of that header.
    /// Default null: no key. Combine with or replace by the host's authorization through <see cref="AuthorizationPolicy"/>
    /// or <c>RequireAuthorization()</c> on the returned builder.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>The header carrying <see cref="ApiKey"/>. Default <c>Authorization</c> (with the <c>Bearer</c> scheme).</summary>
    public string ApiKeyHeader { get; set; } = "Authorization";

    /// <summary>
    /// The name of an ASP.NET Core authorization policy every endpoint requires (<c>RequireAuthorization(policy)</c>); an
    /// empty string requires the default policy (an authenticated user). Default null: no policy. Needs the host's
    /// <c>AddAuthentication</c>/<c>AddAuthorization</c> and <c>UseAuthorization</c> middleware.
    /// </summary>
    public string? AuthorizationPolicy { get; set; }

    /// <summary>
    /// The most queries (<c>/query</c>, <c>/query_range</c>) evaluated at once; further ones wait, within their timeout
    /// (Prometheus's <c>--query.max-concurrency</c>). Default 20.
    /// </summary>
    public int MaxConcurrentQueries { get; set; } = 20;

    /// <summary>
    /// The longest a query may take, queueing included, when the request names no <c>timeout</c> or a longer one
    /// (Prometheus's <c>--query.timeout</c>); the engine's own <see cref="PromQLEngineOptions.Timeout"/> applies too.
    /// Default 2 minutes.
    /// </summary>
    public TimeSpan QueryTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The most points per series a range query may ask for, <c>(end - start) / step</c> (Prometheus refuses more than
    /// 11,000). Default 11,000.
    /// </summary>
    public int MaxPointsPerSeries { get; set; } = 11_000;

    /// <summary>
    /// The <c>version</c> that <c>/status/buildinfo</c> reports. Grafana reads it to pick query features, so a host that
    /// wants Grafana to treat it as a given Prometheus release can claim that release here. Default: this package's version.
    /// </summary>
    public string? Version { get; set; }

    /// <summary>The clock for queries without a <c>time</c> and for timeouts. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where internal errors and refused API keys are logged. Null takes the container's <see cref="ILoggerFactory"/>.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }
}
