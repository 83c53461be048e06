using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Abstractions.Tests.Exposition;

/// <summary>A generated exposition: the families, and the text the writer makes of them (shown when a property fails).</summary>
public sealed record GeneratedExposition(ExpositionFormat Format, IReadOnlyList<MetricFamily> Families, string Text)
{
    public override string ToString() => $"{Format}:\n{Text}\n--- families ---\n{FamilyAssertions.Describe(Families)}";
}

/// <summary>
/// FsCheck generators of metric families that are valid for a format: unique, non-clashing names (legacy or UTF-8),
/// label names and values with quotes, backslashes, newlines, NUL and non-BMP characters, values including NaN, ±Inf and
/// -0 where the type allows them, cumulative histograms, quantiles in [0, 1], timestamps, and OpenMetrics exemplars.
/// </summary>
internal static class ExpositionGenerators
{
    private static readonly string[] LegacyLabelChars = [.. "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789".Select(c => c.ToString())];
    private static readonly string[] LegacyMetricChars = [.. LegacyLabelChars, ":"];

    // Text fragments that stress escaping and UTF-8 handling; surrogate pairs stay whole.
    private static readonly string[] TextChars =
        ["a", "b", "Z", "0", "9", "_", " ", " ", "\t", "\"", "\\", "\n", "\r", "\0", "é", "ü", "🙂", "𝔘", "{", "}", ",", "=", "#", "\\n", "'", "."];

    private static readonly string[] Utf8NameChars = ["a", "z", "_", ".", "-", " ", "é", "🙂", "\"", "\\", "\n", "/", ":", "0"];

    public static Gen<GeneratedExposition> Exposition(ExpositionFormat format) =>
        from count in Gen.Choose(0, 4)
        from families in Gen.CollectToArray(Enumerable.Range(0, count).Select(i => Family(format, i)))
        select Build(format, [.. families]);

    public static GeneratedExposition Build(ExpositionFormat format, IReadOnlyList<MetricFamily> families) =>
        new(format, families, ExpositionWriterTests.Write(format, NameEscaping.AllowUtf8, [.. families]));

    private static Gen<MetricFamily> Family(ExpositionFormat format, int index)
    {
        var types = format == ExpositionFormat.OpenMetrics
            ? new[] { MetricType.Counter, MetricType.Gauge, MetricType.Histogram, MetricType.Summary, MetricType.Unknown, MetricType.Info, MetricType.StateSet, MetricType.GaugeHistogram }
            : new[] { MetricType.Counter, MetricType.Gauge, MetricType.Histogram, MetricType.Summary, MetricType.Unknown };
        return from type in Gen.Elements(types)
               from name in FamilyName(index, type, format)
               from unit in Unit(format, type)
               from help in Help(format)
               from seriesCount in Gen.Choose(0, 3)
               from series in Gen.CollectToArray(Enumerable.Range(0, seriesCount).Select(_ => LabelSet(Reserved(type, name))))
               from samples in Samples(format, type, unit is null ? name : name + "_" + unit, series.Distinct().ToList())
               select MakeFamily(unit is null ? name : name + "_" + unit, type, help, unit, samples);
    }

    private static MetricFamily MakeFamily(string name, MetricType type, string? help, string? unit, List<MetricSample> samples)
    {
        var family = new MetricFamily(name, type, help, unit);
        family.Samples.AddRange(samples);
        return family;
    }

    /// <summary>"f{index}x" keeps families apart: no family name or sample name can be another family's plus a suffix.</summary>
    private static Gen<string> FamilyName(int index, MetricType type, ExpositionFormat format) =>
        from utf8 in Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true)))
        from tail in Gen.Choose(0, 6).SelectMany(n => Gen.Elements(utf8 ? Utf8NameChars : LegacyMetricChars).ArrayOf(n))
        let name = $"f{index}x" + string.Concat(tail)
        where !(format == ExpositionFormat.OpenMetrics && (name.EndsWith("_total", StringComparison.Ordinal) || name.EndsWith("_info", StringComparison.Ordinal)))
        select format == ExpositionFormat.PrometheusText && type == MetricType.Counter ? name + "_total" : name;

    private static Gen<string?> Unit(ExpositionFormat format, MetricType type) =>
        format == ExpositionFormat.OpenMetrics && type is not (MetricType.Info or MetricType.StateSet)
            ? Gen.Frequency(
                (3, Gen.Constant<string?>(null)),
                (1, Gen.Choose(1, 5).SelectMany(n => Gen.Elements("s", "e", "c", "o", "n", "d", "b", "y", "t", "_", "0").ArrayOf(n)).Select(a => (string?)("u" + string.Concat(a)))))
            : Gen.Constant<string?>(null);

    private static Gen<string?> Help(ExpositionFormat format) =>
        Gen.Frequency(
            (1, Gen.Constant<string?>(null)),
            (3, Text(0, 12).Select(h => (string?)(format == ExpositionFormat.PrometheusText ? h.TrimStart(' ', '\t') : (h.Length == 0 ? "h" : h)))));

    private static HashSet<string> Reserved(MetricType type, string familyName) => type switch
    {
        MetricType.Histogram or MetricType.GaugeHistogram => ["le"],
        MetricType.Summary => ["quantile"],
        MetricType.StateSet => [familyName],
        _ => [],
    };

    private static Gen<Labels> LabelSet(HashSet<string> reserved) =>
        from count in Gen.Choose(0, 3)
        from pairs in Gen.CollectToArray(Enumerable.Range(0, count).Select(_ => from n in LabelName() from v in Text(0, 8) select new Label(n, v)))
        select Labels.From([.. pairs.Where(p => !reserved.Contains(p.Name)).DistinctBy(p => p.Name)]);

    private static Gen<string> LabelName() =>
        Gen.Frequency(
            (3, from first in Gen.Elements("a", "b", "job", "_", "Le", "x") from rest in Gen.Choose(0, 4).SelectMany(n => Gen.Elements(LegacyLabelChars).ArrayOf(n)) select first + string.Concat(rest)),
            (1, Gen.Choose(1, 5).SelectMany(n => Gen.Elements(Utf8NameChars).ArrayOf(n)).Select(string.Concat)))
        .Where(n => n != Labels.MetricName);

    private static Gen<string> Text(int min, int max) => Gen.Choose(min, max).SelectMany(n => Gen.Elements(TextChars).ArrayOf(n)).Select(string.Concat);

    private static Gen<List<MetricSample>> Samples(ExpositionFormat format, MetricType type, string name, List<Labels> series)
    {
        var om = format == ExpositionFormat.OpenMetrics;
        return Gen.CollectToArray(series.Select(labels => Series(om, type, name, labels))).Select(all => all.SelectMany(s => s).ToList());
    }

    private static Gen<List<MetricSample>> Series(bool om, MetricType type, string name, Labels labels) => type switch
    {
        MetricType.Counter when om =>
            from total in NonNegative()
            from ts in Timestamp()
            from exemplar in OptionalExemplar()
            from created in Gen.Frequency((1, Gen.Constant<double?>(null)), (1, AnyDouble().Select(d => (double?)d)))
            select created is { } c
                ? new List<MetricSample> { new(name + "_total", labels, total, ts, exemplar), new(name + "_created", labels, c) }
                : [new(name + "_total", labels, total, ts, exemplar)],
        MetricType.Histogram or MetricType.GaugeHistogram => Histogram(om, type, name, labels),
        MetricType.Summary => Summary(om, name, labels),
        MetricType.Info =>
            from ts in Timestamp()
            select new List<MetricSample> { new(name + "_info", labels, 1, ts) },
        MetricType.StateSet =>
            from states in Gen.Choose(1, 3).SelectMany(n => Text(0, 4).ArrayOf(n))
            from values in Gen.Elements(0.0, 1.0).ArrayOf(states.Length)
            select states.Distinct().Select((s, i) => new MetricSample(name, labels.With(name, s).Has(name) ? labels.With(name, s) : Labels.From([.. labels, new Label(name, s)]), values[i])).ToList(),
        _ =>
            from value in AnyDouble()
            from ts in Timestamp()
            select new List<MetricSample> { new(name, labels, value, ts) },
    };

    private static Gen<List<MetricSample>> Histogram(bool om, MetricType type, string name, Labels labels) =>
        from bounds in Finite().ArrayOf().Select(b => b.Where(x => !double.IsInfinity(x)).Distinct().Order().Take(5).Append(double.PositiveInfinity).ToArray())
        from increments in Gen.Choose(0, 5).ArrayOf(bounds.Length)
        from exemplars in (om ? OptionalExemplar() : Gen.Constant<Exemplar?>(null)).ArrayOf(bounds.Length)
        from sum in Gen.Frequency((1, Gen.Constant<double?>(null)), (3, AnyDouble().Select(d => (double?)d)))
        from created in Gen.Frequency((2, Gen.Constant<double?>(null)), (1, Finite().Select(d => (double?)d)))
        from ts in Timestamp()
        select HistogramSamples(om, type, name, labels, bounds, increments, exemplars, sum, created, ts);

    private static List<MetricSample> HistogramSamples(bool om, MetricType type, string name, Labels labels, double[] bounds, int[] increments, Exemplar?[] exemplars, double? sum, double? created, long? ts)
    {
        var format = om ? ExpositionFormat.OpenMetrics : ExpositionFormat.PrometheusText;
        var gauge = type == MetricType.GaugeHistogram;
        var samples = new List<MetricSample>();
        var cumulative = 0.0;
        for (var i = 0; i < bounds.Length; i++)
        {
            cumulative += increments[i];
            samples.Add(new MetricSample(name + "_bucket", labels.With("le", Bound(bounds[i], format)), cumulative, ts, exemplars[i]));
        }

        samples.Add(new MetricSample(name + (gauge ? "_gcount" : "_count"), labels, cumulative, ts));
        if (sum is { } s)
        {
            samples.Add(new MetricSample(name + (gauge ? "_gsum" : "_sum"), labels, s, ts));
        }

        if (om && !gauge && created is { } c)
        {
            samples.Add(new MetricSample(name + "_created", labels, c, ts));
        }

        return samples;
    }

    private static Gen<List<MetricSample>> Summary(bool om, string name, Labels labels) =>
        from quantiles in Gen.Choose(0, 1000).Select(q => q / 1000.0).ArrayOf().Select(q => q.Distinct().Order().Take(4).ToArray())
        from values in AnyDouble().ArrayOf(quantiles.Length)
        from sum in AnyDouble()
        from count in Gen.Choose(0, 1000)
        from created in Gen.Frequency((2, Gen.Constant<double?>(null)), (1, Finite().Select(d => (double?)d)))
        select SummarySamples(om, name, labels, quantiles, values, sum, count, created);

    private static List<MetricSample> SummarySamples(bool om, string name, Labels labels, double[] quantiles, double[] values, double sum, int count, double? created)
    {
        var format = om ? ExpositionFormat.OpenMetrics : ExpositionFormat.PrometheusText;
        var samples = quantiles.Select((q, i) => new MetricSample(name, labels.With("quantile", Bound(q, format)), values[i])).ToList();
        samples.Add(new MetricSample(name + "_sum", labels, sum));
        samples.Add(new MetricSample(name + "_count", labels, count));
        if (om && created is { } c)
        {
            samples.Add(new MetricSample(name + "_created", labels, c));
        }

        return samples;
    }

    /// <summary>The canonical label value the writer produces for a bound (it re-formats le and quantile).</summary>
    private static string Bound(double value, ExpositionFormat format)
    {
        var pair = Encoding.UTF8.GetString(ExpositionWriter.EncodeBoundPair("x", value, format));
        return pair[3..^1];
    }

    private static Gen<Exemplar?> OptionalExemplar() =>
        Gen.Frequency(
            (2, Gen.Constant<Exemplar?>(null)),
            (1, from labels in LabelSet([])
                from value in AnyDouble()
                from ts in Timestamp()
                select (Exemplar?)new Exemplar(labels, value, ts)));

    private static Gen<long?> Timestamp() =>
        Gen.Frequency(
            (3, Gen.Constant<long?>(null)),
            (1, Gen.Choose(-2_000_000, 2_000_000).Select(ms => (long?)ms)),
            (1, Bits().Select(b => (long?)b)),
            (1, Gen.Elements<long?>(long.MinValue, long.MaxValue, 0, -1, 1_700_000_000_123)));

    public static Gen<double> AnyDouble() =>
        Gen.Frequency(
            (1, Gen.Elements(double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, 0.0, 1.0, -1.0, 0.1, 1e-300, double.MaxValue, double.Epsilon, 1e15, 1e16)),
            (3, Finite()));

    private static Gen<double> NonNegative() => AnyDouble().Where(d => !double.IsNaN(d)).Select(Math.Abs);

    private static Gen<double> Finite() =>
        Gen.Frequency(
            (2, Bits().Select(BitConverter.Int64BitsToDouble).Where(double.IsFinite)),
            (2, Gen.Choose(-1000, 1000).Select(i => (double)i)),
            (1, Gen.Choose(-100000, 100000).Select(i => i / 1000.0)));

    private static Gen<long> Bits() =>
        from a in Gen.Choose(0, 0xFFFF)
        from b in Gen.Choose(0, 0xFFFF)
        from c in Gen.Choose(0, 0xFFFF)
        from d in Gen.Choose(0, 0xFFFF)
        select ((long)a << 48) | ((long)b << 32) | ((long)c << 16) | (long)d;
}
