using System.Globalization;
using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.PromQL;

/// <summary>Classic histograms: <c>le</c>-labelled cumulative bucket series grouped by their other labels.</summary>
internal sealed partial class Evaluator
{
    private const string BucketLabel = "le";

    private readonly record struct BucketGroups(int[] GroupOf, double[] UpperBound, List<Labels> GroupLabels);

    /// <summary>Groups bucket series by their labels without <c>le</c> and the name; series with a bad <c>le</c> are warned about and left out (group -1).</summary>
    private BucketGroups GroupBuckets(VectorValue v, Expr vectorArg)
    {
        var groupOf = new int[v.Series.Count];
        var upper = new double[v.Series.Count];
        var labels = new List<Labels>();
        var index = new Dictionary<Labels, int>();
        for (var s = 0; s < v.Series.Count; s++)
        {
            var metric = v.Series[s].Metric;
            var le = metric.Get(BucketLabel);
            if (!TryParseGoFloat(le, out var ub))
            {
                Warn($"bucket label \"le\" is missing or has a malformed value of {Parser.GoQuote(le)} for metric name {Parser.GoQuote(metric.Name)}", vectorArg.Position);
                groupOf[s] = -1;
                continue;
            }

            // With delayed name removal the name stays in the key (and goes at the end), as Prometheus does.
            var key = _s.DelayedNameRemoval ? metric.Without(BucketLabel) : metric.Without(BucketLabel, Labels.MetricName);
            if (!index.TryGetValue(key, out var gi))
            {
                gi = labels.Count;
                index.Add(key, gi);
                labels.Add(key);
            }

            groupOf[s] = gi;
            upper[s] = ub;
        }

        return new BucketGroups(groupOf, upper, labels);
    }

    /// <summary>Go's ParseFloat for <c>le</c> values: decimals, exponents, Inf/Infinity/NaN in any case, optional sign, hex floats aside.</summary>
    internal static bool TryParseGoFloat(string s, out double value)
    {
        value = 0;
        if (s.Length == 0)
        {
            return false;
        }

        var body = s.TrimStart('+', '-');
        if (s.Length - body.Length > 1)
        {
            return false;
        }

        var negative = s[0] == '-';
        switch (body.ToLowerInvariant())
        {
            case "inf" or "infinity":
                value = negative ? double.NegativeInfinity : double.PositiveInfinity;
                return true;
            case "nan":
                value = double.NaN;
                return true;
        }

        if (body.Length == 0 || !(char.IsAsciiDigit(body[0]) || body[0] == '.'))
        {
            return false;
        }

        foreach (var c in body)
        {
            if (!(char.IsAsciiDigit(c) || c is '.' or 'e' or 'E' or '+' or '-' or '_'))
            {
                return false;
            }
        }

        return double.TryParse(s.Replace("_", string.Empty, StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    private Value EvalHistogramQuantile(Call call, Grid g)
    {
        var q = (ScalarValue)Eval(call.Args[0], g);
        var v = (VectorValue)Eval(call.Args[1], g);
        WarnQuantiles(q, call.Args[0]);
        return EvalBuckets(v, call.Args[1], g, (buckets, i, metricName) =>
        {
            var (result, forced) = BucketQuantile(q.Values[i], buckets);
            if (forced)
            {
                Info(
                    $"input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {Parser.GoQuote(metricName)}",
                    call.Args[1].Position);
            }

            return result;
        });
    }

    private Value EvalHistogramQuantiles(Call call, Grid g)
    {
        var v = (VectorValue)Eval(call.Args[0], g);
        var label = ((StringValue)Eval(call.Args[1], g)).Text;
        var builder = new SeriesBuilder(g.Count);
        for (var a = 2; a < call.Args.Count; a++)
        {
            var q = (ScalarValue)Eval(call.Args[a], g);
            WarnQuantiles(q, call.Args[a]);
            var one = (VectorValue)EvalBuckets(v, call.Args[0], g, (buckets, i, metricName) =>
            {
                var (result, forced) = BucketQuantile(q.Values[i], buckets);
                if (forced)
                {
                    Info(
                        $"input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {Parser.GoQuote(metricName)}",
                        call.Args[0].Position);
                }

                return result;
            });
            foreach (var s in one.Series)
            {
                for (var i = 0; i < g.Count; i++)
                {
                    if (s.Present[i])
                    {
                        builder.Add(s.Metric.With(label, FormatQuantileLabel(q.Values[i])), s.DropName, i, s.Values[i]);
                    }
                }
            }
        }

        return builder.ToValue();
    }

    private static string FormatQuantileLabel(double q)
    {
        var s = FormatFloatPlain(q);
        return double.IsFinite(q) && !s.Contains('.', StringComparison.Ordinal) ? s + ".0" : s;
    }

    private void WarnQuantiles(ScalarValue q, Expr position)
    {
        foreach (var x in q.Values)
        {
            if (!(x >= 0 && x <= 1))
            {
                Warn($"quantile value should be between 0 and 1, got {FormatG(x)}", position.Position);
                return;
            }
        }
    }

    private Value EvalHistogramFraction(Call call, Grid g)
    {
        var lower = (ScalarValue)Eval(call.Args[0], g);
        var upper = (ScalarValue)Eval(call.Args[1], g);
        var v = (VectorValue)Eval(call.Args[2], g);
        return EvalBuckets(v, call.Args[2], g, (buckets, i, _) => BucketFraction(lower.Values[i], upper.Values[i], buckets));
    }

    private Value EvalBuckets(VectorValue v, Expr vectorArg, Grid g, Func<List<(double Upper, double Count)>, int, string, double> compute)
    {
        var groups = GroupBuckets(v, vectorArg);
        var builder = new SeriesBuilder(g.Count);
        var buckets = new List<(double, double)>[groups.GroupLabels.Count];
        var names = new string[groups.GroupLabels.Count];
        for (var i = 0; i < g.Count; i++)
        {
            CheckCancelled();
            foreach (var b in buckets)
            {
                b?.Clear();
            }

            for (var s = 0; s < v.Series.Count; s++)
            {
                var gi = groups.GroupOf[s];
                if (gi < 0 || !v.Series[s].Present[i])
                {
                    continue;
                }

                (buckets[gi] ??= []).Add((groups.UpperBound[s], v.Series[s].Values[i]));
                names[gi] ??= v.Series[s].Metric.Name;
            }

            for (var gi = 0; gi < buckets.Length; gi++)
            {
                if (buckets[gi] is not { Count: > 0 } list)
                {
                    continue;
                }

                builder.Add(groups.GroupLabels[gi], _s.DelayedNameRemoval, i, compute(list, i, names[gi] ?? string.Empty));
            }
        }

        return builder.ToValue();
    }

    /// <summary>Sorts buckets by bound, merges equal bounds, and forces cumulative counts to be monotonic.</summary>
    private static (bool ForcedMonotonic, bool Ok) PrepareBuckets(List<(double Upper, double Count)> buckets)
    {
        buckets.Sort(static (a, b) => a.Upper.CompareTo(b.Upper));
        if (buckets.Count == 0 || !double.IsPositiveInfinity(buckets[^1].Upper))
        {
            return (false, false);
        }

        // Coalesce buckets with the same upper bound.
        var w = 0;
        for (var r = 1; r < buckets.Count; r++)
        {
            if (buckets[r].Upper == buckets[w].Upper)
            {
                buckets[w] = (buckets[w].Upper, buckets[w].Count + buckets[r].Count);
            }
            else
            {
                buckets[++w] = buckets[r];
            }
        }

        buckets.RemoveRange(w + 1, buckets.Count - w - 1);

        // Differences within floating-point noise are silently evened out; real decreases are forced up.
        var forced = false;
        var prev = buckets[0].Count;
        for (var i = 1; i < buckets.Count; i++)
        {
            var cur = buckets[i].Count;
            if (cur == prev)
            {
                continue;
            }

            if (AlmostEqual(prev, cur, 1e-12))
            {
                buckets[i] = (buckets[i].Upper, prev);
                continue;
            }

            if (cur < prev)
            {
                buckets[i] = (buckets[i].Upper, prev);
                forced = true;
                continue;
            }

            prev = cur;
        }

        return (forced, true);
    }

    private static bool AlmostEqual(double a, double b, double epsilon)
    {
        const double MinNormal = 2.2250738585072014e-308;
        if (a == b)
        {
            return true;
        }

        var absSum = Math.Abs(a) + Math.Abs(b);
        var diff = Math.Abs(a - b);
        if (a == 0 || b == 0 || absSum < MinNormal)
        {
            return diff < epsilon * MinNormal;
        }

        return diff / Math.Min(absSum, double.MaxValue) < epsilon;
    }

    /// <summary>
    /// The q-quantile of classic buckets: linear interpolation inside the bucket holding rank q·count; the first
    /// bucket starts at 0 when its bound is positive; a rank in the +Inf bucket gives the highest finite bound.
    /// </summary>
    internal static (double Value, bool ForcedMonotonic) BucketQuantile(double q, List<(double Upper, double Count)> buckets)
    {
        if (double.IsNaN(q))
        {
            return (double.NaN, false);
        }

        if (q < 0)
        {
            return (double.NegativeInfinity, false);
        }

        if (q > 1)
        {
            return (double.PositiveInfinity, false);
        }

        var (forced, ok) = PrepareBuckets(buckets);
        if (!ok)
        {
            return (double.NaN, false);
        }

        if (buckets.Count < 2)
        {
            return (double.NaN, forced);
        }

        var observations = buckets[^1].Count;
        if (observations == 0 || double.IsNaN(observations))
        {
            return (double.NaN, forced);
        }

        var rank = q * observations;

        // The first bucket (among all but +Inf) whose cumulative count reaches the rank.
        var b = buckets.Count - 1;
        for (var i = 0; i < buckets.Count - 1; i++)
        {
            if (buckets[i].Count >= rank)
            {
                b = i;
                break;
            }
        }

        if (b == buckets.Count - 1)
        {
            return (buckets[^2].Upper, forced);
        }

        if (b == 0 && buckets[0].Upper <= 0)
        {
            return (buckets[0].Upper, forced);
        }

        double bucketStart = 0;
        var bucketEnd = buckets[b].Upper;
        var count = buckets[b].Count;
        if (b > 0)
        {
            bucketStart = buckets[b - 1].Upper;
            count -= buckets[b - 1].Count;
            rank -= buckets[b - 1].Count;
        }

        return (bucketStart + ((bucketEnd - bucketStart) * (rank / count)), forced);
    }

    /// <summary>
    /// The share of observations in [lower, upper] for classic buckets: the difference of the interpolated ranks of
    /// the two bounds over the total. Inside finite buckets observations are taken as evenly spread; those of the
    /// first bucket (when it reaches down to -Inf) sit at -Inf and those of the +Inf bucket at +Inf.
    /// </summary>
    internal static double BucketFraction(double lower, double upper, List<(double Upper, double Count)> buckets)
    {
        if (double.IsNaN(lower) || double.IsNaN(upper))
        {
            return double.NaN;
        }

        var (_, ok) = PrepareBuckets(buckets);
        if (!ok)
        {
            return double.NaN;
        }

        var total = buckets[^1].Count;
        if (total == 0 || double.IsNaN(total))
        {
            return double.NaN;
        }

        if (lower >= upper)
        {
            return 0;
        }

        return (Rank(upper, buckets) - Rank(lower, buckets)) / total;
    }

    private static double Rank(double x, List<(double Upper, double Count)> buckets)
    {
        for (var i = 0; i < buckets.Count; i++)
        {
            var ub = buckets[i].Upper;
            if (x >= ub)
            {
                continue;
            }

            var lb = i == 0 ? (ub > 0 ? 0 : double.NegativeInfinity) : buckets[i - 1].Upper;
            var below = i == 0 ? 0 : buckets[i - 1].Count;
            if (x <= lb)
            {
                return below;
            }

            if (double.IsNegativeInfinity(lb))
            {
                return buckets[i].Count;
            }

            if (double.IsPositiveInfinity(ub))
            {
                return below;
            }

            return below + ((buckets[i].Count - below) * (x - lb) / (ub - lb));
        }

        return buckets[^1].Count;
    }
}
