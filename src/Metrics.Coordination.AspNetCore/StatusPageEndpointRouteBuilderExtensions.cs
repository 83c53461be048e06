using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Metrics.Coordination.AspNetCore;

/// <summary>Maps the built-in status page onto ASP.NET Core routing.</summary>
public static class StatusPageEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Serves a server-rendered HTML status page on <c>GET</c> and <c>HEAD</c> <paramref name="pattern"/>: rule groups
    /// with health and last error, active alerts with state and since when, leadership, the ZooKeeper session, TSDB head
    /// statistics, and a graph (inline SVG) of one PromQL expression over a range, from the query string's <c>expr</c>
    /// and <c>range</c> fields. No script and no external resource: the page's Content-Security-Policy forbids both.
    /// Each section shows what is configured (see <see cref="StatusPageOptions"/>); the others say they are not. In an
    /// app that called <c>services.AddMetricsCoordination(...)</c> (Metrics.Coordination.Hosting), <c>app.MapMetricsStatusPage()</c>
    /// shows the components that host starts with nothing else to wire, and says "Starting" until they run.
    /// The page reveals rule expressions and label values and runs the queries visitors enter: chain
    /// <c>RequireAuthorization</c>, <c>RequireHost</c> and the like on the result where that matters.
    /// </summary>
    /// <param name="endpoints">The route builder (the <c>WebApplication</c>).</param>
    /// <param name="pattern">The route pattern. Default: <c>/</c>.</param>
    /// <param name="options">The page's settings; null for the defaults (everything from DI).</param>
    /// <returns>The endpoint's convention builder.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of its documented range.</exception>
    public static IEndpointConventionBuilder MapMetricsStatusPage(this IEndpointRouteBuilder endpoints, string pattern = "/", StatusPageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        var page = new StatusPage(options ?? new StatusPageOptions(), endpoints.ServiceProvider);
        return endpoints
            .MapMethods(pattern, [HttpMethods.Get, HttpMethods.Head], page.HandleAsync)
            .WithDisplayName("Metrics status page " + pattern);
    }
}
