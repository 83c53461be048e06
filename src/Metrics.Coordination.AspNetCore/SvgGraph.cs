using System.Globalization;
using System.Text;
using Metrics.Coordination.Rules.PromQL;

namespace Metrics.Coordination.AspNetCore;

/// <summary>
/// Draws a range-query result as inline SVG: a plot with a value axis and a time axis (ticks, grid, labels), one
/// <c>polyline</c> per unbroken run of each series (a step with no value, or a non-finite one, breaks the line; a lone
/// point becomes a dot), and a legend row per series. Series labels reach the SVG only through
/// <see cref="StatusPage.Encode"/>.
/// </summary>
internal static class SvgGraph
{
    private const int Width = 960;
    private const int PlotLeft = 72;
    private const int PlotRight = 16;
    private const int PlotTop = 12;
    private const int PlotHeight = 280;
    private const int AxisBand = 34;
    private const int LegendRow = 18;
    private const int TimeTicks = 6;
    private const int PlotWidth = Width - PlotLeft - PlotRight;

    // Ten colours distinguishable on white (the common categorical palette); series beyond ten reuse them in order.
    private static readonly string[] Palette =
        ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    public static void Render(StringBuilder sb, IReadOnlyList<PromQLSeries> result, long startMs, long endMs, long stepMs, int maxSeries)
    {
        var series = result.Count > maxSeries ? result.Take(maxSeries).ToList() : result;
        var min = double.PositiveInfinity;
        var max = double.NegativeInfinity;
        foreach (var s in series)
        {
            foreach (var p in s.Points)
            {
                if (double.IsFinite(p.Value))
                {
                    min = Math.Min(min, p.Value);
                    max = Math.Max(max, p.Value);
                }
            }
        }

        if (double.IsInfinity(min))
        {
            sb.Append("<p id=\"graph-empty\" class=\"muted\">The expression returned no finite values in this range.</p>");
            return;
        }

        var (low, high, tick) = ValueAxis(min, max);
        var height = PlotTop + PlotHeight + AxisBand + (series.Count * LegendRow) + 8;
        sb.Append("<svg id=\"graph-svg\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").Append(Width).Append("\" height=\"").Append(height)
            .Append("\" viewBox=\"0 0 ").Append(Width).Append(' ').Append(height).Append("\" role=\"img\" aria-label=\"Graph of the expression\">");

        // Value axis: gridlines and labels at round values.
        // Halves and fractions rather than differences, so values near the ends of the double range do not overflow.
        var ticks = Math.Clamp((int)Math.Round((high / tick) - (low / tick)), 1, 20);
        for (var k = 0; k <= ticks; k++)
        {
            var f = (double)k / ticks;
            var v = (low * (1 - f)) + (high * f);
            var y = Y(v, low, high);
            sb.Append("<line class=\"grid\" x1=\"").Append(PlotLeft).Append("\" x2=\"").Append(PlotLeft + PlotWidth).Append("\" y1=\"").Append(N(y)).Append("\" y2=\"").Append(N(y)).Append("\"/>");
            sb.Append("<text x=\"").Append(PlotLeft - 6).Append("\" y=\"").Append(N(y + 4)).Append("\" text-anchor=\"end\">")
                .Append(StatusPage.Encode(TickLabel(Math.Abs(v) < tick / 1e6 ? 0 : v))).Append("</text>");
        }

        // Time axis: evenly spaced ticks, labelled in UTC; dates only when the range spans more than a day.
        var withDate = endMs - startMs > 86_400_000;
        for (var i = 0; i <= TimeTicks; i++)
        {
            var t = startMs + ((endMs - startMs) * i / TimeTicks);
            var x = X(t, startMs, endMs);
            sb.Append("<line class=\"grid\" x1=\"").Append(N(x)).Append("\" x2=\"").Append(N(x)).Append("\" y1=\"").Append(PlotTop).Append("\" y2=\"").Append(PlotTop + PlotHeight).Append("\"/>");
            var time = DateTimeOffset.FromUnixTimeMilliseconds(t).UtcDateTime;
            sb.Append("<text x=\"").Append(N(x)).Append("\" y=\"").Append(PlotTop + PlotHeight + 16).Append("\" text-anchor=\"")
                .Append(i == 0 ? "start" : i == TimeTicks ? "end" : "middle").Append("\">")
                .Append(time.ToString(withDate ? "MM-dd HH:mm" : "HH:mm:ss", CultureInfo.InvariantCulture)).Append("</text>");
        }

        sb.Append("<line class=\"axis\" x1=\"").Append(PlotLeft).Append("\" x2=\"").Append(PlotLeft).Append("\" y1=\"").Append(PlotTop).Append("\" y2=\"").Append(PlotTop + PlotHeight).Append("\"/>");
        sb.Append("<line class=\"axis\" x1=\"").Append(PlotLeft).Append("\" x2=\"").Append(PlotLeft + PlotWidth).Append("\" y1=\"").Append(PlotTop + PlotHeight).Append("\" y2=\"").Append(PlotTop + PlotHeight).Append("\"/>");
        sb.Append("<text x=\"").Append(PlotLeft + PlotWidth).Append("\" y=\"").Append(PlotTop + PlotHeight + 30).Append("\" text-anchor=\"end\">time (UTC)</text>");

        // A gap of more than one and a half steps between points means steps without a value.
        var gapMs = stepMs + (stepMs / 2);
        for (var i = 0; i < series.Count; i++)
        {
            var colour = Palette[i % Palette.Length];
            var name = StatusPage.Encode(series[i].Metric.ToString());
            sb.Append("<g class=\"series\"><title>").Append(name).Append("</title>");
            var run = new List<PromQLPoint>();
            long? previous = null;
            foreach (var p in series[i].Points)
            {
                if (!double.IsFinite(p.Value) || (previous is { } prev && p.TimestampMs - prev > gapMs))
                {
                    Flush(sb, run, colour, startMs, endMs, low, high);
                }

                if (double.IsFinite(p.Value))
                {
                    run.Add(p);
                }

                previous = p.TimestampMs;
            }

            Flush(sb, run, colour, startMs, endMs, low, high);
            sb.Append("</g>");
        }

        // Legend under the axis: a swatch and the series' labels per row.
        var legendTop = PlotTop + PlotHeight + AxisBand;
        sb.Append("<g class=\"legend\">");
        for (var i = 0; i < series.Count; i++)
        {
            var y = legendTop + (i * LegendRow);
            sb.Append("<rect x=\"").Append(PlotLeft).Append("\" y=\"").Append(y + 2).Append("\" width=\"12\" height=\"12\" fill=\"").Append(Palette[i % Palette.Length]).Append("\"/>");
            sb.Append("<text x=\"").Append(PlotLeft + 18).Append("\" y=\"").Append(y + 12).Append("\">").Append(StatusPage.Encode(series[i].Metric.ToString())).Append("</text>");
        }

        sb.Append("</g></svg>");
        if (result.Count > series.Count)
        {
            sb.Append("<p id=\"graph-truncated\" class=\"muted\">").Append((result.Count - series.Count).ToString(CultureInfo.InvariantCulture))
                .Append(" more series not drawn (the page draws ").Append(series.Count.ToString(CultureInfo.InvariantCulture)).Append(").</p>");
        }
    }

    private static void Flush(StringBuilder sb, List<PromQLPoint> run, string colour, long startMs, long endMs, double low, double high)
    {
        if (run.Count == 1)
        {
            sb.Append("<circle cx=\"").Append(N(X(run[0].TimestampMs, startMs, endMs))).Append("\" cy=\"").Append(N(Y(run[0].Value, low, high)))
                .Append("\" r=\"2\" fill=\"").Append(colour).Append("\"/>");
        }
        else if (run.Count > 1)
        {
            sb.Append("<polyline fill=\"none\" stroke=\"").Append(colour).Append("\" stroke-width=\"1.5\" points=\"");
            for (var i = 0; i < run.Count; i++)
            {
                if (i > 0)
                {
                    sb.Append(' ');
                }

                sb.Append(N(X(run[i].TimestampMs, startMs, endMs))).Append(',').Append(N(Y(run[i].Value, low, high)));
            }

            sb.Append("\"/>");
        }

        run.Clear();
    }

    /// <summary>The axis bounds widened to round ticks (steps of 1, 2 or 5 times a power of ten), about five of them.</summary>
    internal static (double Low, double High, double Tick) ValueAxis(double min, double max)
    {
        if (max - min < Math.Abs(max) * 1e-9 || max == min)
        {
            // A flat line: give it room above and below.
            var pad = Math.Abs(min) > 0 ? Math.Abs(min) * 0.1 : 1;
            min -= pad;
            max += pad;
        }

        var raw = (max - min) / 5;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var fraction = raw / magnitude;
        var tick = (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
        var low = Math.Floor(min / tick) * tick;
        var high = Math.Ceiling(max / tick) * tick;
        if (!double.IsFinite(low) || !double.IsFinite(high) || !(tick > 0) || !(high > low) || (high - low) / tick > 20)
        {
            // Values near the ends of the double range (or subnormal spans): plain bounds, one interval.
            return (min, max, (max / 2) - (min / 2) is var half && double.IsFinite(half) && half > 0 ? half * 2 : 1);
        }

        return (low, high, tick);
    }

    private static double X(long t, long startMs, long endMs) =>
        PlotLeft + (endMs == startMs ? 0 : (double)(t - startMs) / (endMs - startMs) * PlotWidth);

    private static double Y(double v, double low, double high) => PlotTop + (((high / 2) - (v / 2)) / ((high / 2) - (low / 2)) * PlotHeight);

    private static string N(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    private static string TickLabel(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
}
