using BenchmarkDotNet.Attributes;
using Metrics.Coordination.Rules.Templating;

namespace Metrics.Coordination.Benchmarks.Rules;

/// <summary>
/// Alert templates are parsed once per rule load and expanded per alert and evaluation: the cost of a typical
/// annotation (labels, humanized value, printf) and of parsing it.
/// </summary>
[MemoryDiagnoser]
public class AlertTemplateBenchmarks
{
    private const string Summary = "Instance {{ $labels.instance }} of {{ $labels.job }} is at {{ humanize $value }} ({{ printf \"%.2f\" $value }})";
    private const string Plain = "Disk almost full";

    private AlertTemplate _summary = null!;
    private AlertTemplate _plain = null!;
    private AlertTemplateData _data = null!;

    [GlobalSetup]
    public void Setup()
    {
        _summary = AlertTemplate.Parse("HighLatency", Summary);
        _plain = AlertTemplate.Parse("DiskFull", Plain);
        _data = new AlertTemplateData
        {
            Labels = new Dictionary<string, string> { ["instance"] = "api-1:9090", ["job"] = "api", ["severity"] = "page" },
            Value = 1234567.891,
        };
    }

    [Benchmark]
    public AlertTemplate ParseSummary() => AlertTemplate.Parse("HighLatency", Summary);

    [Benchmark(Baseline = true)]
    public string ExpandSummary() => _summary.Expand(_data, out _);

    [Benchmark]
    public string ExpandPlainText() => _plain.Expand(_data, out _);
}
