using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Metrics.Coordination.Registry;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Metrics.Coordination.Benchmarks.Registry;

/// <summary>
/// The recording hot path against two baselines measured in the same run: a bare Interlocked.Increment (the floor
/// for any thread-safe counter) and OpenTelemetry's Counter&lt;long&gt;.Add with 3 tags, aggregated by a real MeterProvider.
/// </summary>
[MemoryDiagnoser]
public class RecordingBenchmarks
{
    private long _raw;
    private MetricRegistry _registry = null!;
    private CounterSeries _counter = null!;
    private GaugeSeries _gauge = null!;
    private HistogramSeries _histogram = null!;
    private SummarySeries _summary = null!;
    private Counter _labelled = null!;
    private Counter _labelled3 = null!;
    private Meter _meter = null!;
    private MeterProvider _provider = null!;
    private Counter<long> _otelCounter = null!;
    private double _observation;

    [GlobalSetup]
    public void Setup()
    {
        _registry = new MetricRegistry();
        _counter = _registry.CreateCounter("bench_counter_total", "c", "a").WithLabels("x");
        _gauge = _registry.CreateGauge("bench_gauge", "g", "a").WithLabels("x");
        _histogram = _registry.CreateHistogram("bench_histogram_seconds", "h", "a").WithLabels("x");
        _summary = _registry.CreateSummary("bench_summary_seconds", "s", new SummaryOptions
        {
            LabelNames = ["a"],
            Objectives = [new(0.5, 0.05), new(0.9, 0.01), new(0.99, 0.001)],
        }).WithLabels("x");
        _labelled = _registry.CreateCounter("bench_labelled_total", "l", "method", "code");
        _labelled.WithLabels("GET", "200").Inc();
        _labelled3 = _registry.CreateCounter("bench_labelled3_total", "l", "method", "code", "route");
        _labelled3.WithLabels("GET", "200", "/api").Inc();

        _meter = new Meter("bench");
        _otelCounter = _meter.CreateCounter<long>("otel_counter");
        _provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter("bench")
            .AddReader(new PeriodicExportingMetricReader(new NoopExporter(), exportIntervalMilliseconds: int.MaxValue))
            .Build()!;
        _otelCounter.Add(1, new("method", "GET"), new("code", "200"), new("route", "/api"));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _provider.Dispose();
        _meter.Dispose();
    }

    [Benchmark(Baseline = true, Description = "Interlocked.Increment")]
    public long InterlockedIncrement() => Interlocked.Increment(ref _raw);

    [Benchmark(Description = "counter.Inc() cached handle")]
    public void CounterInc() => _counter.Inc();

    [Benchmark(Description = "gauge.Set()")]
    public void GaugeSet() => _gauge.Set(42.5);

    [Benchmark(Description = "histogram.Observe() 11 buckets")]
    public void HistogramObserve()
    {
        _observation += 0.013;
        if (_observation > 12)
        {
            _observation = 0;
        }

        _histogram.Observe(_observation);
    }

    [Benchmark(Description = "summary.Observe() 3 objectives")]
    public void SummaryObserve()
    {
        _observation += 0.013;
        if (_observation > 12)
        {
            _observation = 0;
        }

        _summary.Observe(_observation);
    }

    [Benchmark(Description = "WithLabels(2) existing + Inc()")]
    public void WithLabels2Inc() => _labelled.WithLabels("GET", "200").Inc();

    [Benchmark(Description = "WithLabels(3) existing + Inc()")]
    public void WithLabels3Inc() => _labelled3.WithLabels("GET", "200", "/api").Inc();

    [Benchmark(Description = "OTel Counter<long>.Add 3 tags")]
    public void OpenTelemetryAdd3Tags() => _otelCounter.Add(1, new("method", "GET"), new("code", "200"), new("route", "/api"));

    private sealed class NoopExporter : BaseExporter<OpenTelemetry.Metrics.Metric>
    {
        public override ExportResult Export(in Batch<OpenTelemetry.Metrics.Metric> batch) => ExportResult.Success;
    }
}
