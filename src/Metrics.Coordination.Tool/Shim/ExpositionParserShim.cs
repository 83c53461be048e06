// TEMPORARY: stands in for Metrics.Coordination.Abstractions.Exposition.ExpositionParser until it lands; delete then.
using System.Globalization;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Tool.Shim;

internal sealed class ExpositionParseException(string message, int line, int column) : MetricsCoordinationException(message)
{
    public int Line { get; } = line;

    public int Column { get; } = column;
}

internal static class ExpositionParser
{
    public static ExpositionFormat DetectFormat(string? contentType) =>
        contentType is not null && contentType.Contains("application/openmetrics-text", StringComparison.OrdinalIgnoreCase)
            ? ExpositionFormat.OpenMetrics
            : ExpositionFormat.PrometheusText;

    public static IReadOnlyList<MetricFamily> Parse(ReadOnlySpan<byte> input, ExpositionFormat format, object? options = null)
    {
        _ = options;
        return Parse(Encoding.UTF8.GetString(input), format);
    }

    public static IReadOnlyList<MetricFamily> Parse(string input, ExpositionFormat format, object? options = null)
    {
        _ = options;
        var families = new List<MetricFamily>();
        var meta = new Dictionary<string, (MetricType Type, string? Help, string? Unit)>(StringComparer.Ordinal);
        MetricFamily? current = null;
        var lines = input.Split('\n');
        var eof = false;
        for (var n = 0; n < lines.Length; n++)
        {
            var line = lines[n];
            var lineNo = n + 1;
            if (n == lines.Length - 1 && line.Length == 0)
            {
                break;
            }

            if (eof)
            {
                throw new ExpositionParseException("unexpected content after # EOF", lineNo, 1);
            }

            if (line.Length == 0 || string.IsNullOrWhiteSpace(line))
            {
                if (format == ExpositionFormat.OpenMetrics)
                {
                    throw new ExpositionParseException("empty line", lineNo, 1);
                }

                continue;
            }

            if (line[0] == '#')
            {
                if (line == "# EOF" && format == ExpositionFormat.OpenMetrics)
                {
                    eof = true;
                    continue;
                }

                var parts = line.Split(' ', 4);
                if (parts.Length >= 3 && parts[1] is "HELP" or "TYPE" or "UNIT")
                {
                    var name = parts[2];
                    var rest = parts.Length > 3 ? parts[3] : string.Empty;
                    var m = meta.TryGetValue(name, out var x) ? x : (MetricType.Unknown, null, null);
                    if (parts[1] == "HELP")
                    {
                        m.Help = rest.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
                    }
                    else if (parts[1] == "UNIT")
                    {
                        m.Unit = rest;
                    }
                    else
                    {
                        m.Type = rest switch
                        {
                            "counter" => MetricType.Counter,
                            "gauge" => MetricType.Gauge,
                            "histogram" => MetricType.Histogram,
                            "summary" => MetricType.Summary,
                            "untyped" or "unknown" => MetricType.Unknown,
                            "info" => MetricType.Info,
                            "stateset" => MetricType.StateSet,
                            "gaugehistogram" => MetricType.GaugeHistogram,
                            _ => throw new ExpositionParseException($"unknown metric type \"{rest}\"", lineNo, line.Length - rest.Length + 1),
                        };
                    }

                    meta[name] = m;
                    if (current is null || current.Name != name)
                    {
                        current = new MetricFamily(name, m.Type, m.Help, m.Unit);
                        families.Add(current);
                    }
                    else
                    {
                        var replaced = new MetricFamily(name, m.Type, m.Help, m.Unit);
                        replaced.Samples.AddRange(current.Samples);
                        families[^1] = replaced;
                        current = replaced;
                    }
                }
                else if (format == ExpositionFormat.OpenMetrics)
                {
                    throw new ExpositionParseException("invalid comment", lineNo, 1);
                }

                continue;
            }

            var sample = ParseSample(line, lineNo, format);
            if (current is null || !BelongsTo(current, sample.Name))
            {
                current = new MetricFamily(sample.Name, MetricType.Unknown);
                families.Add(current);
            }

            current.Samples.Add(sample);
        }

        if (format == ExpositionFormat.OpenMetrics && !eof)
        {
            throw new ExpositionParseException("expected # EOF", lines.Length, 1);
        }

        return families;
    }

    private static bool BelongsTo(MetricFamily family, string sampleName)
    {
        if (sampleName == family.Name)
        {
            return true;
        }

        if (!sampleName.StartsWith(family.Name, StringComparison.Ordinal))
        {
            return false;
        }

        var suffix = sampleName[family.Name.Length..];
        return family.Type switch
        {
            MetricType.Counter => suffix is "_total" or "_created",
            MetricType.Histogram => suffix is "_bucket" or "_sum" or "_count" or "_created",
            MetricType.GaugeHistogram => suffix is "_bucket" or "_gsum" or "_gcount",
            MetricType.Summary => suffix is "_sum" or "_count" or "_created",
            MetricType.Info => suffix is "_info",
            _ => false,
        };
    }

    private static MetricSample ParseSample(string line, int lineNo, ExpositionFormat format)
    {
        var i = 0;
        while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] is '_' or ':'))
        {
            i++;
        }

        if (i == 0 || char.IsAsciiDigit(line[0]))
        {
            throw new ExpositionParseException($"invalid metric name", lineNo, 1);
        }

        var name = line[..i];
        var labels = new List<Label>();
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                if (i >= line.Length)
                {
                    throw new ExpositionParseException("unexpected end of label set", lineNo, i + 1);
                }

                if (line[i] == '}')
                {
                    i++;
                    break;
                }

                var start = i;
                while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] == '_'))
                {
                    i++;
                }

                if (i == start || char.IsAsciiDigit(line[start]))
                {
                    throw new ExpositionParseException($"invalid label name", lineNo, start + 1);
                }

                var labelName = line[start..i];
                if (i >= line.Length || line[i] != '=')
                {
                    throw new ExpositionParseException("expected '=' after label name", lineNo, i + 1);
                }

                i++;
                if (i >= line.Length || line[i] != '"')
                {
                    throw new ExpositionParseException("expected '\"' to start the label value", lineNo, i + 1);
                }

                i++;
                var value = new StringBuilder();
                while (true)
                {
                    if (i >= line.Length)
                    {
                        throw new ExpositionParseException("unexpected end of label value", lineNo, i + 1);
                    }

                    var c = line[i++];
                    if (c == '"')
                    {
                        break;
                    }

                    if (c == '\\' && i < line.Length)
                    {
                        var e = line[i++];
                        value.Append(e switch { 'n' => '\n', _ => e });
                    }
                    else
                    {
                        value.Append(c);
                    }
                }

                labels.Add(new Label(labelName, value.ToString()));
                if (i < line.Length && line[i] == ',')
                {
                    i++;
                }
            }
        }

        if (i >= line.Length || line[i] != ' ')
        {
            throw new ExpositionParseException("expected a space before the value", lineNo, i + 1);
        }

        i++;
        var rest = line[i..];
        string? exemplar = null;
        var hash = rest.IndexOf(" # ", StringComparison.Ordinal);
        if (hash >= 0 && format == ExpositionFormat.OpenMetrics)
        {
            exemplar = rest[(hash + 3)..];
            rest = rest[..hash];
        }

        _ = exemplar;
        var fields = rest.Split(' ');
        if (fields.Length > 2 || fields[0].Length == 0 || !TryParseFloat(fields[0], out var v))
        {
            throw new ExpositionParseException($"invalid value \"{rest}\"", lineNo, i + 1);
        }

        long? ts = null;
        if (fields.Length == 2)
        {
            if (!long.TryParse(fields[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var t))
            {
                throw new ExpositionParseException($"invalid timestamp \"{fields[1]}\"", lineNo, i + fields[0].Length + 2);
            }

            ts = t;
        }

        return new MetricSample(name, Labels.From([.. labels]), v, ts);
    }

    private static bool TryParseFloat(string s, out double v)
    {
        switch (s)
        {
            case "+Inf" or "Inf":
                v = double.PositiveInfinity;
                return true;
            case "-Inf":
                v = double.NegativeInfinity;
                return true;
            case "NaN":
                v = double.NaN;
                return true;
            default:
                return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out v);
        }
    }
}
