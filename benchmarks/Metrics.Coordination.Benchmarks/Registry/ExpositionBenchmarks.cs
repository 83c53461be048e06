using System.Buffers;
using System.Buffers.Text;
using System.Text;
using BenchmarkDotNet.Attributes;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Registry;

namespace Metrics.Coordination.Benchmarks.Registry;

/// <summary>
/// Whole-registry text exposition of N counter series (2 labels each, in 100 families) into a reused buffer,
/// against a minimal hand-written UTF-8 writer over the same pre-encoded lines (the floor for this output).
/// </summary>
[MemoryDiagnoser]
public class ExpositionBenchmarks
{
    private MetricRegistry _registry = null!;
    private ArrayBufferWriter<byte> _buffer = null!;
    private byte[][] _prefixes = null!;
    private long[] _values = null!;

    [Params(10_000, 100_000)]
    public int Series { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _registry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false });
        const int families = 100;
        var perFamily = Series / families;
        _prefixes = new byte[Series][];
        _values = new long[Series];
        var n = 0;
        for (var f = 0; f < families; f++)
        {
            var counter = _registry.CreateCounter($"app_requests_{f}_total", "Requests handled, by route and status.", "route", "code");
            for (var i = 0; i < perFamily; i++)
            {
                var route = "/api/v1/items/" + i;
                var code = (200 + (i % 5)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                counter.WithLabels(route, code).Inc(i * 7);
                _prefixes[n] = Encoding.UTF8.GetBytes($"app_requests_{f}_total{{route=\"{route}\",code=\"{code}\"}} ");
                _values[n++] = i * 7;
            }
        }

        _buffer = new ArrayBufferWriter<byte>(64 * 1024 * 1024);
        _registry.WriteTo(_buffer, ExpositionFormat.PrometheusText); // warm the encodings
        _buffer.ResetWrittenCount();
        _registry.WriteTo(_buffer, ExpositionFormat.OpenMetrics);
        _buffer.ResetWrittenCount();
    }

    [Benchmark(Baseline = true, Description = "hand-written UTF-8 writer")]
    public int HandWritten()
    {
        _buffer.ResetWrittenCount();
        for (var i = 0; i < _prefixes.Length; i++)
        {
            var prefix = _prefixes[i];
            var span = _buffer.GetSpan(prefix.Length + 32);
            prefix.CopyTo(span);
            Utf8Formatter.TryFormat(_values[i], span[prefix.Length..], out var written);
            span[prefix.Length + written] = (byte)'\n';
            _buffer.Advance(prefix.Length + written + 1);
        }

        return _buffer.WrittenCount;
    }

    [Benchmark(Description = "registry text 0.0.4")]
    public int PrometheusText()
    {
        _buffer.ResetWrittenCount();
        _registry.WriteTo(_buffer, ExpositionFormat.PrometheusText);
        return _buffer.WrittenCount;
    }

    [Benchmark(Description = "registry OpenMetrics (+_created)")]
    public int OpenMetrics()
    {
        _buffer.ResetWrittenCount();
        _registry.WriteTo(_buffer, ExpositionFormat.OpenMetrics);
        return _buffer.WrittenCount;
    }
}
