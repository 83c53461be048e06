// Quickstart: an ASP.NET Core service that instruments itself, keeps its own history and alerts on it, with no
// external server. Everything but the app's own instruments comes from one call, AddMetricsCoordination, configured
// by the MetricsCoordination section of appsettings.json: an embedded TSDB that collects the registry every 5 s
// (job="quickstart"), one recording and one alerting rule (quickstart.rules.yml) evaluated against that history, and
// local leadership (no ZooKeeper: this single instance always leads). The app maps /metrics for Prometheus, the status
// page at / (rules, alerts, leadership, TSDB head, a graph of any PromQL expression) and Prometheus's query API at
// /api/v1 over the same TSDB (Grafana's Prometheus data source and `promtool query` read it); both find the hosted
// TSDB and rules by themselves.
//
//   dotnet run --project samples/Quickstart                       # http://127.0.0.1:5099
//   dotnet run --project samples/Quickstart -- --urls http://127.0.0.1:6000
//   dotnet run --project samples/Quickstart -- --MetricsCoordination:Tsdb:DataDirectory /tmp/qs-data   # keep history on disk (WAL, blocks)
//
// Then open http://127.0.0.1:5099/ or: curl http://127.0.0.1:5099/metrics
//   curl 'http://127.0.0.1:5099/api/v1/query?query=quickstart:jobs_processed:rate1m'
//   promtool query instant http://127.0.0.1:5099 'rate(quickstart_jobs_processed_total[1m])'
using Metrics.Coordination.AspNetCore;
using Metrics.Coordination.Hosting;
using Metrics.Coordination.Registry;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

// The content root is the build output, where appsettings.json and the rule file are copied, so the sample finds
// both from whatever directory it is started in (`dotnet run --project ...` from the repository root, say).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

// Loopback on 5099 unless --urls, ASPNETCORE_URLS / DOTNET_URLS or ASPNETCORE_HTTP_PORTS say otherwise.
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:5099");
}

// The registry, the TSDB with self-collection, the rules and local leadership, started and stopped in order by one
// hosted service; MapMetrics, the status page and the query API below find all of it through DI.
builder.Services.AddMetricsCoordination(builder.Configuration.GetSection(MetricsCoordinationOptions.SectionName));
builder.Services.AddSingleton<AppMetrics>();
builder.Services.AddHostedService<WorkSimulator>();

var app = builder.Build();
var metrics = app.Services.GetRequiredService<AppMetrics>();

// HTTP server metrics come from ASP.NET Core's own Meter instruments (http.server.request.duration, ...), published
// through the bridge with Prometheus names; process and .NET runtime metrics come from the default collectors.
var registry = app.Services.GetRequiredService<MetricRegistry>();
registry.AddDefaultCollectors();
registry.AddMeterBridge(new MeterBridgeOptions { Meters = ["Microsoft.AspNetCore.*", "System.Net.Http"] });

// Only the page's look is set here; its rules, alerts, leadership and TSDB come from AddMetricsCoordination.
app.MapMetricsStatusPage("/", new StatusPageOptions
{
    Title = "Metrics.Coordination quickstart",
    DefaultExpression = "quickstart_queue_depth",
    DefaultGraphRange = TimeSpan.FromMinutes(15),
});
app.MapGet("/work/{size:int}", async (int size) =>
{
    await Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp(size, 0, 1000)));
    metrics.PayloadSize.Observe(size);
    return Results.Ok(new { size });
});
app.MapMetrics("/metrics");

// Prometheus's HTTP API (query, query_range, series, labels, rules, alerts, ...) over the hosted TSDB and rules. Open to
// anyone who can reach the loopback port; set PrometheusApiOptions.ApiKey or AuthorizationPolicy before exposing it further.
app.MapPrometheusApi();

app.Lifetime.ApplicationStarted.Register(() =>
{
    var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
    foreach (var address in addresses.Select(a => a.TrimEnd('/')))
    {
        Console.WriteLine($"Status page: {address}/");
        Console.WriteLine($"Metrics: {address}/metrics");
        Console.WriteLine($"Query API: {address}/api/v1/query?query=up");
    }

    var tsdb = app.Services.GetRequiredService<MetricsCoordinationStatus>().GetTsdb();
    Console.WriteLine(tsdb is null ? "TSDB: off" : $"TSDB: {tsdb.Directory ?? "in memory"}");
});

app.Run();

/// <summary>The quickstart's instruments, created once from the registry.</summary>
internal sealed class AppMetrics(MetricRegistry registry)
{
    public Summary PayloadSize { get; } = registry.CreateSummary(
        "quickstart_payload_size_bytes",
        "Sizes of simulated work items.",
        new SummaryOptions { Unit = "bytes", Objectives = [new(0.5, 0.05), new(0.9, 0.01), new(0.99, 0.001)] });

    public Counter JobsProcessed { get; } = registry.CreateCounter("quickstart_jobs_processed_total", "Background jobs processed.", "outcome");

    public Gauge QueueDepth { get; } = registry.CreateGauge("quickstart_queue_depth", "Simulated jobs waiting.");
}

/// <summary>A background loop that pretends to process jobs, so the metrics move without any traffic.</summary>
internal sealed class WorkSimulator(AppMetrics metrics) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var depth = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            depth = Math.Max(0, depth + Random.Shared.Next(-3, 4));
            metrics.QueueDepth.Set(depth);
            metrics.JobsProcessed.WithLabels(Random.Shared.Next(20) == 0 ? "failed" : "ok").Inc();
            metrics.PayloadSize.Observe(Random.Shared.Next(100, 10_000));
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
