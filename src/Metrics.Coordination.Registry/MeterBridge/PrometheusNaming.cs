using System.Text;
using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Registry;

/// <summary>
/// OpenTelemetry-to-Prometheus name translation, as the OpenTelemetry "Prometheus and OpenMetrics compatibility"
/// specification defines it (section "OTLP Metric points to Prometheus"), with the unit table of the OpenTelemetry
/// Collector's Prometheus translator for the abbreviations the specification leaves open.
/// </summary>
internal static class PrometheusNaming
{
    /// <summary>UCUM abbreviations to Prometheus unit words (the Collector's table).</summary>
    private static readonly Dictionary<string, string> Units = new(StringComparer.Ordinal)
    {
        ["d"] = "days",
        ["h"] = "hours",
        ["min"] = "minutes",
        ["s"] = "seconds",
        ["ms"] = "milliseconds",
        ["us"] = "microseconds",
        ["ns"] = "nanoseconds",
        ["By"] = "bytes",
        ["KiBy"] = "kibibytes",
        ["MiBy"] = "mebibytes",
        ["GiBy"] = "gibibytes",
        ["TiBy"] = "tibibytes",
        ["KBy"] = "kilobytes",
        ["MBy"] = "megabytes",
        ["GBy"] = "gigabytes",
        ["TBy"] = "terabytes",
        ["m"] = "meters",
        ["V"] = "volts",
        ["A"] = "amperes",
        ["J"] = "joules",
        ["W"] = "watts",
        ["g"] = "grams",
        ["Cel"] = "celsius",
        ["Hz"] = "hertz",
        ["%"] = "percent",
    };

    /// <summary>Denominators of <c>foo/bar</c> units, in the singular (<c>By/s</c> → <c>bytes_per_second</c>).</summary>
    private static readonly Dictionary<string, string> PerUnits = new(StringComparer.Ordinal)
    {
        ["s"] = "second",
        ["m"] = "minute",
        ["h"] = "hour",
        ["d"] = "day",
        ["w"] = "week",
        ["mo"] = "month",
        ["y"] = "year",
    };

    /// <summary>
    /// The Prometheus family name of an instrument: the sanitized instrument name, then the unit suffix unless the name
    /// already ends with it. Counters come back without <c>_total</c> (the registry's family name; samples get it).
    /// </summary>
    /// <param name="instrumentName">The instrument name, such as <c>http.server.request.duration</c>.</param>
    /// <param name="unit">The instrument's UCUM unit, such as <c>s</c>, <c>By</c> or <c>{request}</c>; may be null.</param>
    /// <param name="type">The Prometheus type the instrument maps to.</param>
    /// <param name="unitWord">The unit word for OpenMetrics UNIT metadata (<c>seconds</c>), or null.</param>
    public static string FamilyName(string instrumentName, string? unit, MetricType type, out string? unitWord)
    {
        var name = SanitizeMetricName(instrumentName);
        if (type == MetricType.Counter && name.EndsWith("_total", StringComparison.Ordinal))
        {
            // The unit goes before the type suffix, and the registry adds _total back to the samples.
            name = name[..^"_total".Length];
            if (name.Length == 0)
            {
                name = "total";
            }
        }

        unitWord = UnitSuffix(unit, type);
        if (unitWord is not null && name != unitWord && !name.EndsWith("_" + unitWord, StringComparison.Ordinal))
        {
            name = CollapseUnderscores(name + "_" + unitWord);
        }

        // OpenMetrics UNIT metadata must be a valid name and a suffix of the family; a unit that is neither (one
        // starting with a digit, say) still names the metric but is left out of the metadata.
        if (unitWord is not null && !(MetricNames.IsValidLegacyLabelName(unitWord) && (name == unitWord || name.EndsWith("_" + unitWord, StringComparison.Ordinal))))
        {
            unitWord = null;
        }

        return name;
    }

    /// <summary>
    /// Metric name sanitization: every character outside <c>[a-zA-Z0-9_:]</c> becomes <c>_</c> (one per code point),
    /// runs of <c>_</c> collapse to one (both as the specification requires), and a leading digit gets a <c>_</c> prefix
    /// so the name matches <c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>.
    /// </summary>
    public static string SanitizeMetricName(string name)
    {
        var s = Sanitize(name, allowColon: true);
        if (s.Length == 0)
        {
            return "_";
        }

        return char.IsAsciiDigit(s[0]) ? "_" + s : s;
    }

    /// <summary>
    /// Label name sanitization: every character outside <c>[a-zA-Z0-9_]</c> becomes <c>_</c>, runs of <c>_</c> collapse
    /// to one (the specification), and a leading digit gets a <c>key_</c> prefix (the Collector's rule), so the result
    /// matches <c>[a-zA-Z_][a-zA-Z0-9_]*</c>. Collapsing means no result starts with <c>__</c>, the prefix Prometheus
    /// reserves. Returns null for an empty key, which cannot name a label.
    /// </summary>
    public static string? SanitizeLabelName(string key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return null;
        }

        var s = Sanitize(key, allowColon: false);
        return char.IsAsciiDigit(s[0]) ? "key_" + s : s;
    }

    /// <summary>
    /// The Prometheus unit word for a UCUM unit: <c>{...}</c> annotations are dropped (a count of things is unitless),
    /// abbreviations become words (<c>ms</c> → <c>milliseconds</c>), <c>foo/bar</c> becomes <c>foo_per_bar</c>,
    /// <c>1</c> becomes <c>ratio</c> for gauges and nothing otherwise, and unknown units are sanitized as they are.
    /// Null when the metric gets no unit suffix.
    /// </summary>
    public static string? UnitSuffix(string? unit, MetricType type)
    {
        if (string.IsNullOrWhiteSpace(unit))
        {
            return null;
        }

        var stripped = StripAnnotations(unit).Trim();
        if (stripped.Length == 0)
        {
            return null;
        }

        if (stripped == "1")
        {
            return type == MetricType.Gauge ? "ratio" : null;
        }

        string word;
        var slash = stripped.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            var main = stripped[..slash].Trim();
            var per = stripped[(slash + 1)..].Trim();
            var mainWord = main is "" or "1" ? string.Empty : UnitWord(main, Units);
            var perWord = per.Length == 0 ? string.Empty : UnitWord(per, PerUnits);
            word = perWord.Length == 0 ? mainWord : mainWord.Length == 0 ? "per_" + perWord : mainWord + "_per_" + perWord;
        }
        else
        {
            word = UnitWord(stripped, Units);
        }

        word = CollapseUnderscores(word).Trim('_');
        return word.Length == 0 ? null : word;
    }

    private static string UnitWord(string unit, Dictionary<string, string> table) =>
        table.TryGetValue(unit, out var word) ? word : Sanitize(unit, allowColon: false).Trim('_');

    private static string StripAnnotations(string unit)
    {
        if (!unit.Contains('{', StringComparison.Ordinal))
        {
            return unit;
        }

        var sb = new StringBuilder(unit.Length);
        var depth = 0;
        foreach (var c in unit)
        {
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && depth > 0)
            {
                depth--;
            }
            else if (depth == 0)
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private static string Sanitize(string name, bool allowColon)
    {
        var sb = new StringBuilder(name.Length);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            var valid = char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':');
            if (!valid && char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
            {
                i++; // one underscore per code point
            }

            var ch = valid ? c : '_';
            if (ch == '_' && sb.Length > 0 && sb[^1] == '_')
            {
                continue;
            }

            sb.Append(ch);
        }

        return sb.ToString();
    }

    private static string CollapseUnderscores(string s) =>
        s.Contains("__", StringComparison.Ordinal) ? Sanitize(s, allowColon: true) : s;
}
