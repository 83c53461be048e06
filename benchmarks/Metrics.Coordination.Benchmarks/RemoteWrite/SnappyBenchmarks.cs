using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Metrics.Coordination.RemoteWrite;
using Metrics.Coordination.RemoteWrite.Protocol;

namespace Metrics.Coordination.Benchmarks.RemoteWrite;

/// <summary>
/// Snappy block compression and decompression of a realistic remote-write payload (target ≥ 300 MB/s compressing):
/// a serialized WriteRequest of 2,000 series (5 labels each, as a scrape of an HTTP service produces) with one sample
/// each, as Prometheus sends them. MB/s = <see cref="PayloadBytes"/> / mean time.
/// </summary>
[MemoryDiagnoser]
public class SnappyBenchmarks
{
    private byte[] _payload = null!;
    private byte[] _compressed = null!;
    private byte[] _output = null!;
    private int _compressedLength;

    /// <summary>The uncompressed payload size, printed in the setup so MB/s can be computed.</summary>
    public int PayloadBytes => _payload.Length;

    [GlobalSetup]
    public void Setup()
    {
        _payload = BuildWriteRequest(2000, 1, new Random(1)).ToByteArray();
        _compressed = new byte[SnappyCodec.GetMaxCompressedLength(_payload.Length)];
        _output = new byte[_payload.Length];
        _compressedLength = SnappyCodec.Compress(_payload, _compressed);
        Console.WriteLine($"// payload {_payload.Length} bytes, compressed {_compressedLength} bytes ({100.0 * _compressedLength / _payload.Length:0.0} %)");
    }

    [Benchmark]
    public int Compress() => SnappyCodec.Compress(_payload, _compressed);

    [Benchmark]
    public int Decompress() => SnappyCodec.Decompress(_compressed.AsSpan(0, _compressedLength), _output);

    internal static WriteRequest BuildWriteRequest(int series, int samplesPerSeries, Random random)
    {
        var request = new WriteRequest();
        var methods = new[] { "GET", "POST", "PUT", "DELETE" };
        var codes = new[] { "200", "201", "404", "500" };
        var t = 1_700_000_000_000L;
        for (var i = 0; i < series; i++)
        {
            var ts = new TimeSeries();
            ts.Labels.Add(new Label { Name = "__name__", Value = "http_requests_total" });
            ts.Labels.Add(new Label { Name = "instance", Value = $"10.0.{i / 250}.{i % 250}:8080" });
            ts.Labels.Add(new Label { Name = "job", Value = "api-server" });
            ts.Labels.Add(new Label { Name = "method", Value = methods[i % methods.Length] });
            ts.Labels.Add(new Label { Name = "status", Value = codes[(i / 4) % codes.Length] });
            for (var s = 0; s < samplesPerSeries; s++)
            {
                ts.Samples.Add(new Sample { Timestamp = t + (s * 15_000) + random.Next(3), Value = Math.Round(random.NextDouble() * 100_000) });
            }

            request.Timeseries.Add(ts);
        }

        return request;
    }
}
