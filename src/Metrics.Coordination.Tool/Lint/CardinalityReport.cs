using System.Globalization;
using System.Numerics;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Tool.Cli;

namespace Metrics.Coordination.Tool.Lint;

/// <summary>One row of the <c>--extended</c> table.</summary>
/// <param name="Metric">The family name as Prometheus text names it.</param>
/// <param name="Cardinality">The number of distinct series (sample name and labels) of the family.</param>
/// <param name="Percentage">The share of all series, 0 to 1.</param>
internal readonly record struct CardinalityStat(string Metric, int Cardinality, double Percentage);

/// <summary>
/// promtool's <c>check metrics --extended</c>: series per family, largest first, as an aligned table with a total.
/// </summary>
/// <remarks>
/// promtool 2.42 estimates a histogram or summary as (metrics × (2 + buckets of the first metric)); we count the
/// distinct series, which is the same for regular histograms and the true number when bucket layouts differ. Ties are
/// ordered by name (promtool leaves them in Go map order, that is at random).
/// </remarks>
internal static class CardinalityReport
{
    public static (List<CardinalityStat> Stats, int Total) Compute(IReadOnlyList<MetricFamily> families)
    {
        ArgumentNullException.ThrowIfNull(families);
        var counts = new List<(string Name, int Count)>();
        var total = 0;
        foreach (var family in families)
        {
            if (family.Samples.Count == 0)
            {
                continue;
            }

            var series = new HashSet<(string, Abstractions.Labels)>();
            foreach (var s in family.Samples)
            {
                series.Add((s.Name, s.Labels));
            }

            counts.Add((MetricsLinter.ExposedName(family), series.Count));
            total += series.Count;
        }

        var stats = counts
            .Select(c => new CardinalityStat(c.Name, c.Count, (double)c.Count / total))
            .OrderByDescending(s => s.Cardinality)
            .ThenBy(s => s.Metric, StringComparer.Ordinal)
            .ToList();
        return (stats, total);
    }

    /// <summary>Writes the table exactly as promtool lays it out (Go tabwriter: min width 4, padding 4, trailing cells padded).</summary>
    public static void Write(TextWriter output, IReadOnlyList<CardinalityStat> stats, int total)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(stats);
        var table = new ColumnWriter(minWidth: 4, padding: 4);
        table.AddRow("Metric", "Cardinality", "Percentage");
        foreach (var stat in stats)
        {
            table.AddRow(stat.Metric, stat.Cardinality.ToString(CultureInfo.InvariantCulture), FormatPercent(stat.Percentage * 100) + "%");
        }

        table.AddRow("Total", total.ToString(CultureInfo.InvariantCulture), "100%");
        table.WriteTo(output);
    }

    /// <summary>
    /// Formats a non-negative value with two decimals the way Go's <c>%.2f</c> does: the exact binary value rounded half
    /// to even. .NET's "F2" rounds an exact half away from zero, so 0.125 (1 series of 800) would print 0.13, not 0.12.
    /// </summary>
    internal static string FormatPercent(double value)
    {
        if (!double.IsFinite(value) || value < 0)
        {
            return value.ToString("F2", CultureInfo.InvariantCulture);
        }

        var bits = BitConverter.DoubleToInt64Bits(value);
        var exponent = (int)((bits >> 52) & 0x7FF);
        var mantissa = bits & 0xF_FFFF_FFFF_FFFFL;
        if (exponent == 0)
        {
            exponent = 1; // subnormal
        }
        else
        {
            mantissa |= 1L << 52;
        }

        // value = mantissa * 2^(exponent - 1075); hundredths = round(value * 100), half to even.
        var shift = exponent - 1075;
        BigInteger hundredths;
        if (shift >= 0)
        {
            hundredths = new BigInteger(mantissa) * 100 << shift;
        }
        else
        {
            var numerator = new BigInteger(mantissa) * 100;
            var denominator = BigInteger.One << -shift;
            hundredths = BigInteger.DivRem(numerator, denominator, out var remainder);
            var twice = remainder * 2;
            if (twice > denominator || (twice == denominator && !hundredths.IsEven))
            {
                hundredths += 1;
            }
        }

        var whole = BigInteger.DivRem(hundredths, 100, out var fraction);
        return whole.ToString(CultureInfo.InvariantCulture) + "." + ((int)fraction).ToString("D2", CultureInfo.InvariantCulture);
    }
}
