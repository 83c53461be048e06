using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Registry;

/// <summary>
/// An OpenMetrics info metric: constant 1 with its information in labels (<c>build_info{version="1.2.3"} 1</c>).
/// Written as <c>name_info</c>; a gauge in Prometheus text.
/// </summary>
public sealed class Info : Metric<InfoSeries>
{
    internal Info(MetricRegistry registry, string name, string help, MetricOptions options)
        : base(registry, name, help, MetricType.Info, options, string.Empty)
    {
    }

    /// <summary>Replaces the info with one label set (values in <see cref="Metric.LabelNames"/> order).</summary>
    public void Set(params ReadOnlySpan<string> labelValues)
    {
        var keep = WithLabels(labelValues);
        foreach (var s in GetSeries())
        {
            if (!ReferenceEquals(s, keep))
            {
                RemoveLabels([.. s.LabelValues]);
            }
        }
    }

    internal override IEnumerable<string> ReservedNames => [Name, Name + "_info"];

    private protected override InfoSeries CreateSeries(string[] labelValues, int hash, bool isOverflow) => new(this, labelValues, hash, isOverflow);

    private protected override FamilyEncoding BuildEncoding(ExpositionFormat format, NameEscaping escaping) => new()
    {
        MetadataName = Encode(format == ExpositionFormat.PrometheusText ? Name + "_info" : Name, escaping),
        SampleName = Encode(Name + "_info", escaping),
    };
}

/// <summary>One label set of an <see cref="Info"/> metric.</summary>
public sealed class InfoSeries : MetricSeries
{
    internal InfoSeries(Info metric, string[] labelValues, int hash, bool isOverflow)
        : base(metric, labelValues, hash, isOverflow)
    {
    }

    internal override long ChangeStamp => 1;

    internal override void Write(ExpositionWriter writer, FamilyEncoding encoding) =>
        writer.WriteSample(encoding.SampleName, EncodedPairs(writer.Escaping), default, 1);
}
