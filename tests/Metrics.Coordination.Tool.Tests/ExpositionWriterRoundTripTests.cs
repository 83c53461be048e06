using System.Buffers;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Tool.Tests.Support;

namespace Metrics.Coordination.Tool.Tests;

/// <summary>What our own writer produces must pass our own lint, in both formats.</summary>
[TestFixture]
public sealed class ExpositionWriterRoundTripTests
{
    private static IEnumerable<MetricFamily> WellNamedFamilies()
    {
        var requests = new MetricFamily("http_requests", MetricType.Counter, "Requests handled.");
        requests.Samples.Add(new MetricSample("http_requests_total", Labels.FromStrings("code", "200"), 10));
        requests.Samples.Add(new MetricSample("http_requests_created", Labels.FromStrings("code", "200"), 1.7e9));
        yield return requests;

        var latency = new MetricFamily("request_duration_seconds", MetricType.Histogram, "Latency.", "seconds");
        latency.Samples.Add(new MetricSample("request_duration_seconds_bucket", Labels.FromStrings("le", "0.5"), 3));
        latency.Samples.Add(new MetricSample("request_duration_seconds_bucket", Labels.FromStrings("le", "+Inf"), 4));
        latency.Samples.Add(new MetricSample("request_duration_seconds_sum", Labels.Empty, 1.25));
        latency.Samples.Add(new MetricSample("request_duration_seconds_count", Labels.Empty, 4));
        yield return latency;

        var memory = new MetricFamily("process_resident_memory_bytes", MetricType.Gauge, "Resident memory.", "bytes");
        memory.Samples.Add(new MetricSample("process_resident_memory_bytes", Labels.Empty, 2.5e7));
        yield return memory;
    }

    [TestCase(ExpositionFormat.PrometheusText)]
    [TestCase(ExpositionFormat.OpenMetrics)]
    public async Task CheckMetrics_OutputOfExpositionWriter_IsClean(ExpositionFormat format)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new ExpositionWriter(buffer, format);
        foreach (var family in WellNamedFamilies())
        {
            writer.WriteFamily(family);
        }

        writer.WriteEof();
        var text = Encoding.UTF8.GetString(buffer.WrittenSpan);

        var result = await ToolProcess.RunMctlAsync(text, "check", "metrics");

        result.ExitCode.Should().Be(0, $"{result}\n--- input\n{text}");
        result.StdOut.Should().BeEmpty();
    }
}
