// WorkerService: a batch job without ASP.NET Core. It serves its metrics on a standalone MetricServer while it runs
// (so a Prometheus can scrape a long batch), and pushes the final values to a Pushgateway when the batch ends (so
// the result outlives the process).
//
//   dotnet run --project samples/WorkerService -- --pushgateway http://127.0.0.1:9091 [--items 500] [--port 0]
//
// Exit code 0 when the batch ran and the push was accepted; 1 when the push failed (the error is printed).
using System.Diagnostics;
using System.Globalization;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Registry.Pushgateway;

var pushgateway = new Uri(Argument("--pushgateway") ?? Environment.GetEnvironmentVariable("PUSHGATEWAY_URL") ?? "http://127.0.0.1:9091");
var items = int.Parse(Argument("--items") ?? "500", CultureInfo.InvariantCulture);
var port = int.Parse(Argument("--port") ?? "0", CultureInfo.InvariantCulture);

var registry = new MetricRegistry();
var processed = registry.CreateCounter("worker_items_processed_total", "Items the batch processed, by outcome.", "outcome");
var duration = registry.CreateHistogram("worker_item_duration_seconds", "Time to process one item.");
var batchSeconds = registry.CreateGauge("worker_batch_duration_seconds", "Wall time of the last batch.");
var lastSuccess = registry.CreateGauge("worker_last_success_timestamp_seconds", "When the last batch finished (Unix seconds).");

await using var server = new MetricServer(registry, new MetricServerOptions { Host = "127.0.0.1", Port = port });
await server.StartAsync();
Console.WriteLine($"Metrics: {server.Url}");

var batch = Stopwatch.StartNew();
for (var i = 0; i < items; i++)
{
    var item = Stopwatch.StartNew();
    await Task.Delay(TimeSpan.FromMilliseconds(i % 3));

    // Every 50th item fails: the outcome label keeps both counts.
    processed.WithLabels(i % 50 == 49 ? "failed" : "ok").Inc();
    duration.Observe(item.Elapsed.TotalSeconds);
}

batchSeconds.Set(batch.Elapsed.TotalSeconds);
lastSuccess.SetToCurrentTime();
Console.WriteLine($"Processed {items} items in {batch.Elapsed.TotalSeconds:0.000} s");

using var client = new PushgatewayClient(new PushgatewayOptions { Address = pushgateway });
var grouping = Labels.FromStrings("instance", Environment.MachineName);
try
{
    // PUT: the group holds exactly this batch's metrics, replacing the previous batch's.
    await client.PushAsync(registry, "worker_batch", grouping);
    Console.WriteLine($"Pushed to {client.GetGroupUri("worker_batch", grouping)}");
    return 0;
}
catch (PushgatewayException e)
{
    Console.Error.WriteLine($"Push to {pushgateway} failed: {e.Message}");
    return 1;
}

string? Argument(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}
