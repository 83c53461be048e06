using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Tool.Lint;

/// <summary>
/// The lint rules of promtool's <c>check metrics</c> (client_golang's <c>promlint</c>, as vendored by Prometheus 2.42),
/// with promtool's wording, over the exposition object model. Problems come back sorted by metric, then text, and
/// repeat where promtool repeats them (a camelCase label is reported once per series that carries it).
/// </summary>
/// <remarks>
/// Two deliberate differences from promtool 2.42:
/// <list type="bullet">
/// <item>When a name holds two unit words (<c>x_milliseconds_kilobytes</c>) promtool picks one at random (Go map
/// order); we take the first in the name, as later client_golang releases do.</item>
/// <item>promtool reads OpenMetrics as if it were Prometheus text; we lint the families OpenMetrics defines, naming an
/// OpenMetrics counter <c>foo</c> by its series name <c>foo_total</c>, which is what the text rules expect.</item>
/// </list>
/// </remarks>
internal static class MetricsLinter
{
    internal const string NoHelp = "no help text";
    internal const string CounterWithoutTotal = "counter metrics should have \"_total\" suffix";
    internal const string NonCounterWithTotal = "non-counter metrics should not have \"_total\" suffix";
    internal const string BucketSuffix = "non-histogram metrics should not have \"_bucket\" suffix";
    internal const string CountSuffix = "non-histogram and non-summary metrics should not have \"_count\" suffix";
    internal const string SumSuffix = "non-histogram and non-summary metrics should not have \"_sum\" suffix";
    internal const string LeLabel = "non-histogram metrics should not have \"le\" label";
    internal const string QuantileLabel = "non-summary metrics should not have \"quantile\" label";
    internal const string ReservedColon = "metric names should not contain ':'";
    internal const string CamelCaseName = "metric names should be written in 'snake_case' not 'camelCase'";
    internal const string CamelCaseLabel = "label names should be written in 'snake_case' not 'camelCase'";
    internal const string AbbreviatedUnit = "metric names should not contain abbreviated units";

    // promlint's map from unit word to base unit; a word equal to its base is already fine.
    private static readonly Dictionary<string, string> Units = new(StringComparer.Ordinal)
    {
        // Base units (Celsius is allowed because it is common in Prometheus use; kelvin for colour temperature).
        ["amperes"] = "amperes",
        ["bytes"] = "bytes",
        ["celsius"] = "celsius",
        ["grams"] = "grams",
        ["joules"] = "joules",
        ["kelvin"] = "kelvin",
        ["meters"] = "meters",
        ["metres"] = "metres",
        ["seconds"] = "seconds",
        ["volts"] = "volts",

        // Non-base units.
        ["minutes"] = "seconds",
        ["hours"] = "seconds",
        ["days"] = "seconds",
        ["weeks"] = "seconds",
        ["kelvins"] = "kelvin",
        ["fahrenheit"] = "celsius",
        ["rankine"] = "celsius",
        ["inches"] = "meters",
        ["yards"] = "meters",
        ["miles"] = "meters",
        ["bits"] = "bytes",
        ["calories"] = "joules",
        ["pounds"] = "grams",
        ["ounces"] = "grams",
    };

    // Prefixes promlint recognises in front of a unit word ("mibi" is promlint's spelling; "mebi" is not in its list).
    private static readonly string[] UnitPrefixes =
    [
        "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi",
        "mega", "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi",
    ];

    // Abbreviations promlint discourages as a whole name segment (checked against promtool 2.42: min, hr, kib are not in it).
    private static readonly string[] UnitAbbreviations =
        ["s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d"];

    // dto.MetricType names other than UNTYPED, lower-cased, as promlint iterates them.
    private static readonly string[] TypeNames = ["counter", "gauge", "summary", "histogram", "gauge_histogram"];

    /// <summary>Lints every family that has samples (promtool's text parser drops families without any).</summary>
    public static List<LintProblem> Lint(IReadOnlyList<MetricFamily> families)
    {
        ArgumentNullException.ThrowIfNull(families);
        var problems = new List<LintProblem>();
        foreach (var family in families)
        {
            if (family.Samples.Count > 0)
            {
                LintFamily(family, problems);
            }
        }

        // promlint sorts by metric, then text; a stable sort keeps repeats together.
        var sorted = problems
            .Select((p, i) => (p, i))
            .OrderBy(x => x.p.Metric, StringComparer.Ordinal)
            .ThenBy(x => x.p.Text, StringComparer.Ordinal)
            .ThenBy(x => x.i)
            .Select(x => x.p)
            .ToList();
        return sorted;
    }

    /// <summary>
    /// The name a Prometheus text exposition gives the family, which is what promtool lints: an OpenMetrics counter
    /// family <c>foo</c> whose samples are <c>foo_total</c> is <c>foo_total</c>; everything else keeps its name.
    /// </summary>
    public static string ExposedName(MetricFamily family)
    {
        ArgumentNullException.ThrowIfNull(family);
        if (family.Type == MetricType.Counter && !family.Name.EndsWith("_total", StringComparison.Ordinal))
        {
            var total = family.Name + "_total";
            foreach (var s in family.Samples)
            {
                if (string.Equals(s.Name, total, StringComparison.Ordinal))
                {
                    return total;
                }
            }
        }

        return family.Name;
    }

    private static void LintFamily(MetricFamily family, List<LintProblem> problems)
    {
        var name = ExposedName(family);
        var groups = LabelGroups(family);
        LintHelp(family, name, problems);
        LintMetricUnits(name, problems);
        LintCounter(family.Type, name, problems);
        LintHistogramSummaryReserved(family.Type, name, groups, problems);
        LintMetricTypeInName(name, problems);
        LintReservedChars(name, problems);
        LintCamelCase(name, groups, problems);
        LintUnitAbbreviations(name, problems);
    }

    private static void LintHelp(MetricFamily family, string name, List<LintProblem> problems)
    {
        // promtool reports an empty "# HELP foo" line the same as a missing one.
        if (string.IsNullOrWhiteSpace(family.Help))
        {
            problems.Add(new LintProblem(name, NoHelp));
        }
    }

    private static void LintMetricUnits(string name, List<LintProblem> problems)
    {
        if (TryFindUnit(name, out var unit, out var baseUnit) && !string.Equals(unit, baseUnit, StringComparison.Ordinal))
        {
            problems.Add(new LintProblem(name, $"use base unit \"{baseUnit}\" instead of \"{unit}\""));
        }
    }

    /// <summary>The first underscore-separated word of <paramref name="name"/> that is a known unit, with or without a prefix.</summary>
    internal static bool TryFindUnit(string name, out string unit, out string baseUnit)
    {
        foreach (var word in name.Split('_'))
        {
            if (Units.TryGetValue(word, out var b))
            {
                (unit, baseUnit) = (word, b);
                return true;
            }

            foreach (var prefix in UnitPrefixes)
            {
                if (word.StartsWith(prefix, StringComparison.Ordinal) && Units.TryGetValue(word[prefix.Length..], out b))
                {
                    (unit, baseUnit) = (word, b);
                    return true;
                }
            }
        }

        (unit, baseUnit) = (string.Empty, string.Empty);
        return false;
    }

    private static void LintCounter(MetricType type, string name, List<LintProblem> problems)
    {
        var hasTotal = name.EndsWith("_total", StringComparison.Ordinal);
        if (type == MetricType.Counter && !hasTotal)
        {
            problems.Add(new LintProblem(name, CounterWithoutTotal));
        }
        else if (type != MetricType.Unknown && type != MetricType.Counter && hasTotal)
        {
            problems.Add(new LintProblem(name, NonCounterWithTotal));
        }
    }

    private static void LintHistogramSummaryReserved(MetricType type, string name, List<Labels> groups, List<LintProblem> problems)
    {
        if (type == MetricType.Unknown)
        {
            return;
        }

        // An OpenMetrics gauge histogram has buckets and le by definition; treat it as a histogram here.
        var isHistogram = type is MetricType.Histogram or MetricType.GaugeHistogram;
        var isSummary = type == MetricType.Summary;
        if (!isHistogram && name.EndsWith("_bucket", StringComparison.Ordinal))
        {
            problems.Add(new LintProblem(name, BucketSuffix));
        }

        if (!isHistogram && !isSummary && name.EndsWith("_count", StringComparison.Ordinal))
        {
            problems.Add(new LintProblem(name, CountSuffix));
        }

        if (!isHistogram && !isSummary && name.EndsWith("_sum", StringComparison.Ordinal))
        {
            problems.Add(new LintProblem(name, SumSuffix));
        }

        foreach (var labels in groups)
        {
            foreach (var label in labels.AsSpan())
            {
                if (!isHistogram && label.Name == "le")
                {
                    problems.Add(new LintProblem(name, LeLabel));
                }

                if (!isSummary && label.Name == "quantile")
                {
                    problems.Add(new LintProblem(name, QuantileLabel));
                }
            }
        }
    }

    private static void LintMetricTypeInName(string name, List<LintProblem> problems)
    {
        var lower = name.ToLowerInvariant();
        foreach (var typeName in TypeNames)
        {
            if (ContainsSegment(lower, typeName))
            {
                problems.Add(new LintProblem(name, $"metric name should not include type '{typeName}'"));
            }
        }
    }

    private static void LintReservedChars(string name, List<LintProblem> problems)
    {
        if (name.Contains(':', StringComparison.Ordinal))
        {
            problems.Add(new LintProblem(name, ReservedColon));
        }
    }

    private static void LintCamelCase(string name, List<Labels> groups, List<LintProblem> problems)
    {
        if (IsCamelCase(name))
        {
            problems.Add(new LintProblem(name, CamelCaseName));
        }

        foreach (var labels in groups)
        {
            foreach (var label in labels.AsSpan())
            {
                if (IsCamelCase(label.Name))
                {
                    problems.Add(new LintProblem(name, CamelCaseLabel));
                }
            }
        }
    }

    private static void LintUnitAbbreviations(string name, List<LintProblem> problems)
    {
        var lower = name.ToLowerInvariant();
        foreach (var abbreviation in UnitAbbreviations)
        {
            if (ContainsSegment(lower, abbreviation))
            {
                problems.Add(new LintProblem(name, AbbreviatedUnit));
            }
        }
    }

    /// <summary>promlint's test: <c>_word_</c> inside the name or <c>_word</c> at its end.</summary>
    private static bool ContainsSegment(string name, string word) =>
        name.Contains("_" + word + "_", StringComparison.Ordinal) || name.EndsWith("_" + word, StringComparison.Ordinal);

    /// <summary>promlint's <c>[a-z][A-Z]</c>.</summary>
    internal static bool IsCamelCase(string name)
    {
        for (var i = 1; i < name.Length; i++)
        {
            if (char.IsAsciiLetterLower(name[i - 1]) && char.IsAsciiLetterUpper(name[i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The label sets of the family's metrics as Go's client model groups them: one per series, except that a
    /// histogram's buckets, sum and count (le removed) and a summary's quantiles, sum and count (quantile removed) are
    /// one metric. Label rules are applied once per such group, so their repeats match promtool's.
    /// </summary>
    private static List<Labels> LabelGroups(MetricFamily family)
    {
        string? lifted = family.Type switch
        {
            MetricType.Histogram or MetricType.GaugeHistogram => "le",
            MetricType.Summary => "quantile",
            _ => null,
        };
        var seen = new HashSet<Labels>();
        var groups = new List<Labels>();
        foreach (var sample in family.Samples)
        {
            var labels = lifted is null ? sample.Labels : sample.Labels.Without(lifted);
            if (seen.Add(labels))
            {
                groups.Add(labels);
            }
        }

        return groups;
    }
}
