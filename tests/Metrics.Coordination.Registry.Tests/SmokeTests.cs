using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Registry;

namespace Metrics.Coordination.Registry.Tests;

public class SmokeTests
{
    [Test]
    public void ToText_AllTypes_Prints()
    {
        var r = new MetricRegistry();
        r.CreateCounter("http_requests_total", "Requests.", "method", "code").WithLabels("GET", "200").Inc(3);
        r.CreateGauge("temp_celsius", "T.").Set(21.5);
        var h = r.CreateHistogram("lat_seconds", "Latency.", new HistogramOptions { Buckets = [0.1, 1] });
        h.Observe(0.05); h.Observe(0.5); h.Observe(5);
        var s = r.CreateSummary("sz_bytes", "Size.", new SummaryOptions { Objectives = [new(0.5, 0.05), new(0.99, 0.001)] });
        for (var i = 1; i <= 1000; i++) s.Observe(i);
        r.CreateInfo("build_info", "Build.", "version").Set("1.2.3");
        r.CreateStateSet("state", "S.", ["a", "b"]).SetState("b");
        TestContext.Out.WriteLine(r.ToText());
        TestContext.Out.WriteLine(r.ToText(ExpositionFormat.OpenMetrics));
        s.Quantile(0.5).Should().BeInRange(450, 550);
        s.Quantile(0.99).Should().BeInRange(989, 991);
    }
}
