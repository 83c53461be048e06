// Quickstart: an ASP.NET Core service that instruments itself, keeps its own history and alerts on it, with no
// external server: instruments in a MetricRegistry, /metrics for Prometheus, an embedded TSDB that collects the
// registry every 5 s, one recording and one alerting rule (quickstart.rules.yml) evaluated against that history,
// local leadership (this single instance always leads), the status page at / (rules, alerts, leadership, TSDB head,
// a graph of any PromQL expression), and Prometheus's query API at /api/v1 over the same TSDB (Grafana's Prometheus
// data source and `promtool query` read it).
//
//   dotnet run --project samples/Quickstart                       # http://127.0.0.1:5099
//   dotnet run --project samples/Quickstart -- --urls http://127.0.0.1:6000
//   dotnet run --project samples/Quickstart -- --Quickstart:DataDirectory /tmp/qs-data   # keep history on disk (WAL, blocks)
//
// Then open http://127.0.0.1:5099/ or: curl http://127.0.0.1:5099/metrics
//   curl 'http://127.0.0.1:5099/api/v1/query?query=quickstart_queue_depth'
//   promtool query instant http://127.0.0.1:5099 'rate(quickstart_jobs_processed_total[1m])'
using Metrics.Coordination.AspNetCore;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Rules;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Tsdb;
using Metrics.Coordination.Tsdb.Ingestion;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

var builder = WebApplication.CreateBuilder(args);

// Loopback on 5099 unless --urls, ASPNETCORE_URLS / DOTNET_URLS or ASPNETCORE_HTTP_PORTS say otherwise.
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:5099");
}

// One registry for the whole app, from DI; MapMetrics and the status page find everything below there.
builder.Services.AddMetricRegistry();
builder.Services.AddSingleton<AppMetrics>();
builder.Services.AddHostedService<WorkSimulator>();

// The embedded TSDB: in memory unless Quickstart:DataDirectory names a directory (then WAL and blocks go there).
var dataDirectory = builder.Configuration["Quickstart:DataDirectory"];
builder.Services.AddSingleton(sp => TimeSeriesDatabase.Open(new TsdbOptions
{
    Directory = string.IsNullOrEmpty(dataDirectory) ? null : dataDirectory,
    LoggerFactory = sp.GetRequiredService<ILoggerFactory>(),
}));

// Local leadership: with no ZooKeeper this one instance always leads (alert notifications would always go out).
builder.Services.AddSingleton<ILeadershipGate>(AlwaysLeaderGate.Instance);

// The rule manager reads and writes the TSDB; without an Alertmanager configured its alerts are kept and shown, not sent.
builder.Services.AddSingleton(sp =>
{
    var database = sp.GetRequiredService<TimeSeriesDatabase>();
    return new RuleManager(new RuleManagerOptions
    {
        Queryable = database,
        Appendable = database,
        LeadershipGate = sp.GetRequiredService<ILeadershipGate>(),
        EvaluationInterval = TimeSpan.FromSeconds(5),
        MetricRegistry = sp.GetRequiredService<MetricRegistry>(),
        LoggerFactory = sp.GetRequiredService<ILoggerFactory>(),
    });
});
builder.Services.AddHostedService<SelfMonitoring>();

var app = builder.Build();
var metrics = app.Services.GetRequiredService<AppMetrics>();

// HTTP server metrics come from ASP.NET Core's own Meter instruments (http.server.request.duration, ...), published
// through the bridge with Prometheus names; process and .NET runtime metrics come from the default collectors.
var registry = app.Services.GetRequiredService<MetricRegistry>();
registry.AddDefaultCollectors();
registry.AddMeterBridge(new MeterBridgeOptions { Meters = ["Microsoft.AspNetCore.*", "System.Net.Http"] });

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

// Prometheus's HTTP API (query, query_range, series, labels, rules, alerts, ...) over the embedded TSDB. Open to anyone
// who can reach the loopback port; set PrometheusApiOptions.ApiKey or AuthorizationPolicy before exposing it further.
app.MapPrometheusApi("/api/v1", new PrometheusApiOptions { Queryable = app.Services.GetRequiredService<TimeSeriesDatabase>() });
app.Lifetime.ApplicationStarted.Register(() =>
{
    var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
    foreach (var address in addresses.Select(a => a.TrimEnd('/')))
    {
        Console.WriteLine($"Status page: {address}/");
        Console.WriteLine($"Metrics: {address}/metrics");
        Console.WriteLine($"Query API: {address}/api/v1/query?query=up");
    }

    Console.WriteLine(string.IsNullOrEmpty(dataDirectory) ? "TSDB: in memory" : $"TSDB: {Path.GetFullPath(dataDirectory)}");
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

/// <summary>
/// Collects the registry into the TSDB every 5 s (job="quickstart") and runs the rules on it. Stops in reverse:
/// rules first, then collection; the container then closes the TSDB (flushing its WAL when on disk).
/// </summary>
internal sealed class SelfMonitoring(MetricRegistry registry, TimeSeriesDatabase database, RuleManager rules, ILoggerFactory loggerFactory) : IHostedService
{
    private readonly RegistryIngestion _ingestion = new(registry, database, new RegistryIngestionOptions
    {
        Interval = TimeSpan.FromSeconds(5),
        Job = "quickstart",
        LoggerFactory = loggerFactory,
    });

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _ingestion.StartAsync(cancellationToken);
        await rules.LoadAsync([Path.Combine(AppContext.BaseDirectory, "quickstart.rules.yml")], cancellationToken);
        rules.Start();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await rules.DisposeAsync();
        await _ingestion.StopAsync(cancellationToken);
        await _ingestion.DisposeAsync();
    }
}
