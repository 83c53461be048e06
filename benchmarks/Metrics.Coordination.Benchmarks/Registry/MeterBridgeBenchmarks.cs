using System.Buffers;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Metrics.Coordination.Registry;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Metrics.Coordination.Benchmarks.Registry;

/// <summary>
/// <c>Counter&lt;long&gt;.Add</c> through the Meter bridge against the same call aggregated by OpenTelemetry's SDK (a
/// MeterProvider with a no-op exporter, as in <see cref="RecordingBenchmarks"/>), with 0, 1 and 3 tags, in the same
/// run; each listens to its own meter so neither pays for the other. And one scrape's worth of process and runtime
/// collection: the before-collect work alone, and a whole scrape into a reused buffer.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class MeterBridgeBenchmarks
{
    private static readonly KeyValuePair<string, object?> Method = new("http.request.method", "GET");
    private static readonly KeyValuePair<string, object?> Status = new("http.response.status_code", 200);
    private static readonly KeyValuePair<string, object?> Route = new("http.route", "/api/items/{id}");

    private MetricRegistry _registry = null!;
    private MeterBridge _bridge = null!;
    private Meter _bridgeMeter = null!;
    private Counter<long> _bridgeCounter = null!;
    private Meter _otelMeter = null!;
    private MeterProvider _provider = null!;
    private Counter<long> _otelCounter = null!;

    private MetricRegistry _collectRegistry = null!;
    private ProcessCollector _process = null!;
    private MeterBridge _runtime = null!;
    private MetricRegistry _scrapeRegistry = null!;
    private IDisposable _defaults = null!;
    private ArrayBufferWriter<byte> _buffer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _registry = new MetricRegistry();
        _bridge = _registry.AddMeterBridge(new MeterBridgeOptions { Meters = ["bench.bridge"] });
        _bridgeMeter = new Meter("bench.bridge");
        _bridgeCounter = _bridgeMeter.CreateCounter<long>("http.requests");

        _otelMeter = new Meter("bench.otel");
        _otelCounter = _otelMeter.CreateCounter<long>("http.requests");
        _provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter("bench.otel")
            .AddReader(new PeriodicExportingMetricReader(new NoopExporter(), exportIntervalMilliseconds: int.MaxValue))
            .Build()!;

        // Create every series once, so the measured calls find them.
        BridgeAdd0();
        BridgeAdd1();
        BridgeAdd3();
        OpenTelemetryAdd0();
        OpenTelemetryAdd1();
        OpenTelemetryAdd3();

        _collectRegistry = new MetricRegistry();
        _process = new ProcessCollector(_collectRegistry, NullLoggerFactory.Instance);
        _runtime = _collectRegistry.AddRuntimeMetrics();
        _scrapeRegistry = new MetricRegistry();
        _defaults = _scrapeRegistry.AddDefaultCollectors();
        _buffer = new ArrayBufferWriter<byte>(64 * 1024);
        CollectProcessAndRuntime();
        ScrapeProcessAndRuntime();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _defaults.Dispose();
        _runtime.Dispose();
        _process.Dispose();
        _provider.Dispose();
        _otelMeter.Dispose();
        _bridge.Dispose();
        _bridgeMeter.Dispose();
    }

    [Benchmark(Baseline = true, Description = "OTel SDK Add, 0 tags")]
    [BenchmarkCategory("0 tags")]
    public void OpenTelemetryAdd0() => _otelCounter.Add(1);

    [Benchmark(Description = "Bridge Add, 0 tags")]
    [BenchmarkCategory("0 tags")]
    public void BridgeAdd0() => _bridgeCounter.Add(1);

    [Benchmark(Baseline = true, Description = "OTel SDK Add, 1 tag")]
    [BenchmarkCategory("1 tag")]
    public void OpenTelemetryAdd1() => _otelCounter.Add(1, Method);

    [Benchmark(Description = "Bridge Add, 1 tag")]
    [BenchmarkCategory("1 tag")]
    public void BridgeAdd1() => _bridgeCounter.Add(1, Method);

    [Benchmark(Baseline = true, Description = "OTel SDK Add, 3 tags")]
    [BenchmarkCategory("3 tags")]
    public void OpenTelemetryAdd3() => _otelCounter.Add(1, Method, Status, Route);

    [Benchmark(Description = "Bridge Add, 3 tags")]
    [BenchmarkCategory("3 tags")]
    public void BridgeAdd3() => _bridgeCounter.Add(1, Method, Status, Route);

    [Benchmark(Description = "Collect process + runtime (before-collect work)")]
    [BenchmarkCategory("scrape")]
    public void CollectProcessAndRuntime()
    {
        _process.Collect();
        _runtime.RecordObservableInstruments();
    }

    [Benchmark(Description = "Scrape process + runtime (collect + Prometheus text)")]
    [BenchmarkCategory("scrape")]
    public int ScrapeProcessAndRuntime()
    {
        _buffer.ResetWrittenCount();
        _scrapeRegistry.WriteTo(_buffer);
        return _buffer.WrittenCount;
    }

    private sealed class NoopExporter : BaseExporter<OpenTelemetry.Metrics.Metric>
    {
        public override ExportResult Export(in Batch<OpenTelemetry.Metrics.Metric> batch) => ExportResult.Success;
    }
}
