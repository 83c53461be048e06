using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Registry;

namespace Metrics.Coordination.Registry.Tests;

/// <summary>Randomly generated registries, written by the registry and read back by our parser, in both formats.</summary>
public class RoundTripTests
{
    private static readonly string[] Kinds = ["counter", "gauge", "histogram", "summary", "info", "stateset", "untyped"];

    // Label values stress escaping: quotes, backslashes, newlines, multi-byte and astral UTF-8.
    private static readonly Gen<string> LabelValue = Gen.OneOf(
        Gen.Elements("", "GET", "a\"b", "back\\slash", "line\nbreak", "ü€🙂", "{}=,", "trailing\\"),
        Gen.ArrayOf(Gen.Elements('a', 'Z', '"', '\\', '\n', ' ', 'é', '#', '{', '}')).Select(cs => new string(cs)));

    private static readonly Gen<double> Value = Gen.OneOf(
        Gen.Choose(-1000, 1000).Select(i => (double)i),
        Gen.Choose(-1_000_000, 1_000_000).Select(i => i / 997.0),
        Gen.Elements(0.1, 1e-9, 123456789.123, double.PositiveInfinity, double.NegativeInfinity, double.NaN, -0.0, double.MaxValue, double.Epsilon));

    private sealed record MetricSpec(string Kind, string[] LabelNames, string[][] LabelValues, double[] Values);

    private static readonly Gen<MetricSpec> Spec =
        from kind in Gen.Elements(Kinds)
        from labelCount in Gen.Choose(0, 3)
        from seriesCount in labelCount == 0 ? Gen.Constant(1) : Gen.Choose(1, 4)
        from values in Gen.ArrayOf(LabelValue, labelCount * seriesCount)
        from numbers in Gen.ArrayOf(Value, 6)
        select new MetricSpec(
            kind,
            Enumerable.Range(0, labelCount).Select(i => "l" + i).ToArray(),
            Enumerable.Range(0, seriesCount).Select(s => values.Skip(s * labelCount).Take(labelCount).ToArray()).ToArray(),
            numbers);

    [Test]
    public void WriteThenParse_RandomRegistries_SameFamiliesSamplesAndMetadata()
    {
        var gen = Gen.Choose(1, 6).SelectMany(n => Gen.ArrayOf(Spec, n));
        Prop.ForAll(gen.ToArbitrary(), specs =>
        {
            var registry = Build(specs);
            foreach (var format in new[] { ExpositionFormat.PrometheusText, ExpositionFormat.OpenMetrics })
            {
                var text = registry.ToText(format);
                var parsed = ExpositionParser.Parse(text, format);
                var expected = Expected(registry, format);
                var actual = parsed.Select(Normalize).ToList();
                actual.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering(), $"format {format}, exposition:\n{text}");
            }
        }).QuickCheckThrowOnFailure();
    }

    private static MetricRegistry Build(MetricSpec[] specs)
    {
        var registry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false });
        for (var i = 0; i < specs.Length; i++)
        {
            var spec = specs[i];
            var name = $"m{i}_{spec.Kind}";
            var help = $"Help for {spec.Kind} \"{i}\" with \\ and\nnewline ü";
            var seen = new HashSet<string>();
            foreach (var values in spec.LabelValues)
            {
                if (!seen.Add(string.Join("\u0001", values)))
                {
                    continue;
                }

                switch (spec.Kind)
                {
                    case "counter":
                        var c = registry.CreateCounter(name, help, spec.LabelNames).WithLabels(values);
                        c.Inc(Math.Abs(spec.Values[0]) is var a && double.IsFinite(a) ? a : 1);
                        break;
                    case "gauge":
                        registry.CreateGauge(name, help, spec.LabelNames).WithLabels(values).Set(spec.Values[1]);
                        break;
                    case "untyped":
                        registry.CreateUntyped(name, help, spec.LabelNames).WithLabels(values).Set(spec.Values[2]);
                        break;
                    case "histogram":
                        var h = registry.CreateHistogram(name, help, new HistogramOptions { LabelNames = spec.LabelNames, Buckets = [-1, 0, 0.25, 1, 100] }).WithLabels(values);
                        foreach (var v in spec.Values)
                        {
                            if (!double.IsNaN(v))
                            {
                                h.Observe(v);
                            }
                        }

                        break;
                    case "summary":
                        var s = registry.CreateSummary(name, help, new SummaryOptions { LabelNames = spec.LabelNames, Objectives = [new(0.5, 0.05), new(0.99, 0.001)] }).WithLabels(values);
                        foreach (var v in spec.Values)
                        {
                            if (double.IsFinite(v))
                            {
                                s.Observe(v);
                            }
                        }

                        break;
                    case "info":
                        registry.CreateInfo(name, help, spec.LabelNames).WithLabels(values);
                        break;
                    case "stateset":
                        registry.CreateStateSet(name, help, ["on", "off"], spec.LabelNames).WithLabels(values).SetState(spec.Values[0] > 0 ? "on" : "off");
                        break;
                }
            }
        }

        return registry;
    }

    private sealed record Family(string Name, string Type, string? Help, List<Sample> Samples);

    private sealed record Sample(string Name, string Labels, long ValueBits);

    private static string LabelKey(IEnumerable<Label> labels) =>
        string.Join(",", labels.Select(l => l.Name is "le" or "quantile"
            ? $"{l.Name}={ParseBound(l.Value).ToString("R", CultureInfo.InvariantCulture)}"
            : $"{l.Name}={l.Value}").Order(StringComparer.Ordinal));

    private static double ParseBound(string s) => s switch
    {
        "+Inf" => double.PositiveInfinity,
        "Infinity" => double.PositiveInfinity,
        _ => double.Parse(s, CultureInfo.InvariantCulture),
    };

    private static long Bits(double v) => double.IsNaN(v) ? BitConverter.DoubleToInt64Bits(double.NaN) : BitConverter.DoubleToInt64Bits(v);

    private static Family Normalize(MetricFamily f) => new(
        f.Name,
        f.Type.ToString(),
        f.Help,
        f.Samples.Where(s => !s.Name.EndsWith("_created", StringComparison.Ordinal))
            .Select(s => new Sample(s.Name, LabelKey(s.Labels), Bits(s.Value))).ToList());

    private static List<Family> Expected(MetricRegistry registry, ExpositionFormat format)
    {
        var om = format == ExpositionFormat.OpenMetrics;
        var result = new List<Family>();
        foreach (var metric in registry.Metrics)
        {
            var samples = new List<Sample>();
            Labels LabelsOf(MetricSeries s) => s.ToLabels();
            switch (metric)
            {
                case Counter c:
                    foreach (var s in c.GetSeries())
                    {
                        samples.Add(new(c.Name + "_total", LabelKey(LabelsOf(s)), Bits(s.Value)));
                    }

                    result.Add(new(om ? c.Name : c.Name + "_total", nameof(MetricType.Counter), c.Help, samples));
                    break;
                case Gauge g:
                    foreach (var s in g.GetSeries())
                    {
                        samples.Add(new(g.Name, LabelKey(LabelsOf(s)), Bits(s.Value)));
                    }

                    result.Add(new(g.Name, g.Type.ToString(), g.Help, samples));
                    break;
                case Histogram h:
                    foreach (var s in h.GetSeries())
                    {
                        var counts = s.GetCumulativeCounts();
                        for (var i = 0; i < counts.Length; i++)
                        {
                            var le = i < h.Buckets.Count ? h.Buckets[i] : double.PositiveInfinity;
                            samples.Add(new(h.Name + "_bucket", LabelKey(LabelsOf(s).With("le", le.ToString("R", CultureInfo.InvariantCulture))), Bits(counts[i])));
                        }

                        samples.Add(new(h.Name + "_sum", LabelKey(LabelsOf(s)), Bits(s.Sum)));
                        samples.Add(new(h.Name + "_count", LabelKey(LabelsOf(s)), Bits(s.Count)));
                    }

                    result.Add(new(h.Name, nameof(MetricType.Histogram), h.Help, samples));
                    break;
                case Summary sm:
                    foreach (var s in sm.GetSeries())
                    {
                        foreach (var q in new[] { 0.5, 0.99 })
                        {
                            samples.Add(new(sm.Name, LabelKey(LabelsOf(s).With("quantile", q.ToString("R", CultureInfo.InvariantCulture))), Bits(s.Quantile(q))));
                        }

                        samples.Add(new(sm.Name + "_sum", LabelKey(LabelsOf(s)), Bits(s.Sum)));
                        samples.Add(new(sm.Name + "_count", LabelKey(LabelsOf(s)), Bits(s.Count)));
                    }

                    result.Add(new(sm.Name, nameof(MetricType.Summary), sm.Help, samples));
                    break;
                case Info info:
                    foreach (var s in info.GetSeries())
                    {
                        samples.Add(new(info.Name + "_info", LabelKey(LabelsOf(s)), Bits(1)));
                    }

                    result.Add(new(om ? info.Name : info.Name + "_info", om ? nameof(MetricType.Info) : nameof(MetricType.Gauge), info.Help, samples));
                    break;
                case StateSet st:
                    foreach (var s in st.GetSeries())
                    {
                        foreach (var state in st.States)
                        {
                            samples.Add(new(st.Name, LabelKey(LabelsOf(s).With(st.Name, state)), Bits(s.IsActive(state) ? 1 : 0)));
                        }
                    }

                    result.Add(new(st.Name, om ? nameof(MetricType.StateSet) : nameof(MetricType.Gauge), st.Help, samples));
                    break;
            }
        }

        return result;
    }
}
