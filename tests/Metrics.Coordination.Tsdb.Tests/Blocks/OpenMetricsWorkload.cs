using System.Globalization;
using System.Text;
using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Tsdb.Tests.Blocks;

/// <summary>
/// A small deterministic workload in the shape of shared/workloads/gen_openmetrics.py: targets with phase offsets,
/// 15 s scrapes (optionally ±5 ms jitter), counters, two-decimal gauges and a few awkward values (NaN, ±Inf, -0.0),
/// written as OpenMetrics text that promtool's <c>create-blocks-from openmetrics</c> accepts, with the exact samples
/// promtool will store (timestamps converted as Prometheus 2.x does: int64(seconds × 1000)).
/// </summary>
internal sealed class OpenMetricsWorkload
{
    public const long Start = 1_699_999_200_000; // a 2 h boundary

    private OpenMetricsWorkload(string text, Dictionary<Labels, List<(long T, ulong V)>> samples)
    {
        Text = text;
        Samples = samples;
    }

    public string Text { get; }

    public Dictionary<Labels, List<(long T, ulong V)>> Samples { get; }

    public long SampleCount => Samples.Values.Sum(s => s.Count);

    public static OpenMetricsWorkload Generate(int seed, double hours, int targets = 6, bool jitter = false, long start = Start, bool weirdValues = true)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        var samples = new Dictionary<Labels, List<(long, ulong)>>();
        var scrapes = (int)(hours * 3600 / 15);
        var phases = Enumerable.Range(0, targets).Select(_ => random.Next(15_000)).ToArray();
        string[] families = weirdValues ? ["requests", "temperature_celsius", "queue_depth", "weird_values"] : ["requests", "temperature_celsius", "queue_depth"];
        foreach (var family in families)
        {
            text.Append("# TYPE ").Append(family).Append(" gauge\n");
            for (var target = 0; target < targets; target++)
            {
                for (var code = 0; code < (family == "requests" ? 3 : 1); code++)
                {
                    var labelText = $"instance=\"host-{target}:9100\",job=\"{(target % 2 == 0 ? "api" : "db")}\"" + (family == "requests" ? $",code=\"{200 + (code * 100)}\"" : string.Empty);
                    var labels = Labels.FromStrings("__name__", family, "instance", $"host-{target}:9100", "job", target % 2 == 0 ? "api" : "db");
                    if (family == "requests")
                    {
                        labels = labels.With("code", (200 + (code * 100)).ToString(CultureInfo.InvariantCulture));
                    }

                    var list = new List<(long, ulong)>();
                    double value = family == "requests" ? random.Next(1_000_000) : random.Next(10_000) / 100.0;
                    for (var i = 0; i < scrapes; i++)
                    {
                        var ms = start + phases[target] + (i * 15_000L) + (jitter ? random.Next(-5, 6) : 0);
                        var seconds = (ms / 1000).ToString(CultureInfo.InvariantCulture) + "." + (ms % 1000).ToString("D3", CultureInfo.InvariantCulture);
                        var t = (long)(double.Parse(seconds, CultureInfo.InvariantCulture) * 1000);
                        string valueText;
                        double stored;
                        switch (family)
                        {
                            case "requests":
                                value += random.Next(4) == 0 ? 0 : random.Next(1, 40);
                                stored = value;
                                valueText = value.ToString("R", CultureInfo.InvariantCulture);
                                break;
                            case "weird_values":
                                (valueText, stored) = random.Next(8) switch
                                {
                                    0 => ("NaN", BitConverter.UInt64BitsToDouble(0x7FF8000000000001)), // Go's math.NaN()
                                    1 => ("+Inf", double.PositiveInfinity),
                                    2 => ("-Inf", double.NegativeInfinity),
                                    3 => ("-0.0", -0.0),
                                    4 => ("1e-300", 1e-300),
                                    _ => ("0.1", 0.1),
                                };
                                break;
                            default:
                                value = Math.Round(value + ((random.NextDouble() - 0.5) * 3), 2);
                                stored = value;
                                valueText = value.ToString("R", CultureInfo.InvariantCulture);
                                break;
                        }

                        text.Append(family).Append('{').Append(labelText).Append("} ").Append(valueText).Append(' ').Append(seconds).Append('\n');
                        list.Add((t, BitConverter.DoubleToUInt64Bits(stored)));
                    }

                    samples.Add(labels, list);
                }
            }
        }

        text.Append("# EOF\n");
        return new OpenMetricsWorkload(text.ToString(), samples);
    }

    /// <summary>Parses promtool's <c>tsdb dump</c> output (<c>{a="b", c="d"} value timestamp</c> per line).</summary>
    public static Dictionary<string, List<(long T, double V)>> ParseDump(string dump)
    {
        var result = new Dictionary<string, List<(long, double)>>(StringComparer.Ordinal);
        foreach (var line in dump.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var lastSpace = line.LastIndexOf(' ');
            var valueSpace = line.LastIndexOf(' ', lastSpace - 1);
            var labels = line[..valueSpace];
            var value = line[(valueSpace + 1)..lastSpace] switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var v => double.Parse(v, CultureInfo.InvariantCulture),
            };
            var t = long.Parse(line[(lastSpace + 1)..], CultureInfo.InvariantCulture);
            if (!result.TryGetValue(labels, out var list))
            {
                result[labels] = list = [];
            }

            list.Add((t, value));
        }

        return result;
    }

    /// <summary>Go's <c>labels.Labels.String()</c> for plain ASCII values: <c>{a="b", c="d"}</c>.</summary>
    public static string GoString(Labels labels) => "{" + string.Join(", ", labels.Select(l => $"{l.Name}=\"{l.Value}\"")) + "}";
}
