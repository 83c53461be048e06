// Quickstart: an ASP.NET Core service that exposes Prometheus metrics on /metrics.
//
//   dotnet run --project samples/Quickstart                       # http://127.0.0.1:5099
//   dotnet run --project samples/Quickstart -- --urls http://127.0.0.1:6000
//   ASPNETCORE_URLS=http://127.0.0.1:6000 dotnet run --project samples/Quickstart
//
// Then: curl http://127.0.0.1:5099/metrics   (or with -H 'Accept: application/openmetrics-text' for OpenMetrics)
using Metrics.Coordination.AspNetCore;
using Metrics.Coordination.Registry;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

var builder = WebApplication.CreateBuilder(args);

// Loopback on 5099 unless --urls, ASPNETCORE_URLS / DOTNET_URLS or ASPNETCORE_HTTP_PORTS say otherwise.
if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
{
    builder.WebHost.UseUrls("http://127.0.0.1:5099");
}

// One registry for the whole app, from DI; MapMetrics below finds it there.
builder.Services.AddMetricRegistry();
builder.Services.AddSingleton<AppMetrics>();
builder.Services.AddHostedService<WorkSimulator>();

var app = builder.Build();
var metrics = app.Services.GetRequiredService<AppMetrics>();

// HTTP server metrics come from ASP.NET Core's own Meter instruments (http.server.request.duration, ...), published
// through the bridge with Prometheus names; process and .NET runtime metrics come from the default collectors.
var registry = app.Services.GetRequiredService<MetricRegistry>();
registry.AddDefaultCollectors();
registry.AddMeterBridge(new MeterBridgeOptions { Meters = ["Microsoft.AspNetCore.*", "System.Net.Http"] });

app.MapGet("/", () => "Hello from the Metrics.Coordination quickstart. Metrics are at /metrics.\n");
app.MapGet("/work/{size:int}", async (int size) =>
{
    await Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp(size, 0, 1000)));
    metrics.PayloadSize.Observe(size);
    return Results.Ok(new { size });
});
app.MapMetrics("/metrics");

app.Lifetime.ApplicationStarted.Register(() =>
{
    var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
    foreach (var address in addresses)
    {
        Console.WriteLine($"Metrics: {address.TrimEnd('/')}/metrics");
    }
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
