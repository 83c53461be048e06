using System.Globalization;
using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.PromQL;

internal sealed partial class Evaluator
{
    /// <summary>The window of one series at one step, and what the function needs besides it.</summary>
    private readonly ref struct Window(ReadOnlySpan<long> t, ReadOnlySpan<double> f, long rangeStart, long rangeEnd, long rangeMs, long evalTime, double counterCorrection = double.NaN)
    {
        /// <summary>The sum of the values before each counter reset in the window, when precomputed (NaN: count it).</summary>
        public double CounterCorrection { get; } = counterCorrection;

        public ReadOnlySpan<long> T { get; } = t;

        public ReadOnlySpan<double> F { get; } = f;

        /// <summary>The exclusive window start in ms.</summary>
        public long RangeStart { get; } = rangeStart;

        /// <summary>The inclusive window end in ms.</summary>
        public long RangeEnd { get; } = rangeEnd;

        public long RangeMs { get; } = rangeMs;

        /// <summary>The step time (before offset/@).</summary>
        public long EvalTime { get; } = evalTime;
    }

    /// <summary>
    /// Receives the series of an instant-vector result one at a time. <paramref name="values"/> may be a scratch
    /// buffer reused for the next series. <paramref name="removeName"/>: the name is dropped by this step (without
    /// delayed name removal), so a consumer that keeps the labels must remove <c>__name__</c> itself.
    /// </summary>
    private delegate void SeriesSink(Labels metric, bool dropName, bool removeName, StepSeries values);

    private double[] _prefix = new double[256];

    private Value EvalRangeFunction(Call call, int matrixIndex, Grid g)
    {
        if (call.Function.Name == "absent_over_time")
        {
            return EvalAbsentOverTime(call, matrixIndex, g);
        }

        var builder = new SeriesBuilder(g.Count);
        StreamRangeFunction(call, matrixIndex, g, (metric, dropName, removeName, values) => CopyInto(builder, metric, dropName, removeName, values));
        return builder.ToValue();
    }

    private void CopyInto(SeriesBuilder builder, Labels metric, bool dropName, bool removeName, StepSeries values)
    {
        if (values.PresentCount == 0)
        {
            return;
        }

        var o = builder.Get(removeName ? RemoveName(metric) : metric, dropName);
        for (var i = 0; i < values.Values.Length; i++)
        {
            if (values.Present[i])
            {
                if (o.Present[i])
                {
                    throw ExecError("vector cannot contain metrics with the same labelset");
                }

                o.Set(i, values.Values[i]);
            }
        }
    }

    private Value EvalAbsentOverTime(Call call, int matrixIndex, Grid g)
    {
        var arg = call.Args[matrixIndex];
        var w = WindowOf(arg);
        var anyPresent = new bool[g.Count];
        ForEachRangeSeries(arg, g, (_, _, ts, _, count) =>
        {
            int lo = 0, hi = 0;
            for (var i = 0; i < g.Count; i++)
            {
                var r = w.Ref(g.Time(i));
                while (hi < count && ts[hi] <= r)
                {
                    hi++;
                }

                while (lo < hi && ts[lo] <= r - w.Range)
                {
                    lo++;
                }

                anyPresent[i] |= hi > lo;
            }
        });

        var o = new StepSeries(AbsentLabels(Unwrap(arg)), false, g.Count);
        for (var i = 0; i < g.Count; i++)
        {
            if (!anyPresent[i])
            {
                o.Set(i, 1);
            }
        }

        return new VectorValue(o.PresentCount > 0 ? [o] : []);
    }

    /// <summary>Evaluates a range-vector function series by series, handing each result to <paramref name="sink"/> in a reused buffer.</summary>
    private void StreamRangeFunction(Call call, int matrixIndex, Grid g, SeriesSink sink)
    {
        var name = call.Function.Name;
        var arg = call.Args[matrixIndex];
        var scalars = new ScalarValue?[call.Args.Count];
        for (var a = 0; a < call.Args.Count; a++)
        {
            if (a != matrixIndex)
            {
                scalars[a] = Eval(call.Args[a], g) as ScalarValue;
            }
        }

        if (name == "double_exponential_smoothing")
        {
            for (var i = 0; i < g.Count; i++)
            {
                var sf = scalars[1]!.Values[i];
                var tf = scalars[2]!.Values[i];
                if (!(sf > 0 && sf < 1))
                {
                    throw ExecError(string.Create(CultureInfo.InvariantCulture, $"invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:F6}"));
                }

                if (!(tf > 0 && tf < 1))
                {
                    throw ExecError(string.Create(CultureInfo.InvariantCulture, $"invalid trend factor. Expected: 0 < tf < 1, got: {tf:F6}"));
                }
            }
        }

        if (name == "quantile_over_time")
        {
            foreach (var q in scalars[0]!.Values)
            {
                if (!(q >= 0 && q <= 1))
                {
                    Warn($"quantile value should be between 0 and 1, got {FormatG(q)}", call.Args[0].Position);
                    break;
                }
            }
        }

        var w = WindowOf(arg);
        var mode = Unwrap(arg) is MatrixSelector { Vector.Mode: var m } ? m : RangeMode.None;
        if (mode == RangeMode.Smoothed && name is not ("delta" or "increase" or "rate"))
        {
            throw ExecError($"smoothed modifier can only be used with: delta, increase, rate - not with {name}");
        }

        if (mode == RangeMode.Anchored && name is not ("changes" or "delta" or "increase" or "rate" or "resets"))
        {
            throw ExecError($"anchored modifier can only be used with: changes, delta, increase, rate, resets - not with {name}");
        }

        var extended = new List<double>();

        // Resolved once: a string switch per window would cost as much as the function itself.
        var fn = Enum.Parse<RangeFn>(name.Replace("_", string.Empty, StringComparison.Ordinal), ignoreCase: true);
        var keepName = name is "last_over_time" or "first_over_time";
        var counterCheck = name is "rate" or "increase";
        string? lastNamedNonCounter = null;
        var values = new List<double>();
        var scratch = new StepSeries(Labels.Empty, false, g.Count);
        var saved = _currentFunction;
        _currentFunction = name;
        ForEachRangeSeries(arg, g, (metric, dropName, ts, fs, count) =>
        {
            if (counterCheck && count > 0)
            {
                var metricName = metric.Name;
                if (metricName.Length > 0 && !ReferenceEquals(metricName, lastNamedNonCounter) && !metricName.EndsWith("_total", StringComparison.Ordinal) &&
                    !metricName.EndsWith("_sum", StringComparison.Ordinal) && !metricName.EndsWith("_count", StringComparison.Ordinal) &&
                    !metricName.EndsWith("_bucket", StringComparison.Ordinal))
                {
                    // Once per name: series of one metric usually share the name string.
                    lastNamedNonCounter = metricName;
                    Info($"metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {Parser.GoQuote(metricName)}", call.Args[matrixIndex].Position);
                }
            }

            scratch.Reset();

            // rate/increase: counter-reset corrections as prefix sums, so that each window costs O(1) instead of
            // a scan (at a 15 s interval a 5 m window holds 20 samples; a 1 h range query has 241 of them).
            double[]? prefix = null;
            if (fn is RangeFn.Rate or RangeFn.Increase && count > 2 && g.Count > 1)
            {
                prefix = CounterPrefix(fs, count);
            }

            int lo = 0, hi = 0;
            for (var i = 0; i < g.Count; i++)
            {
                var r = w.Ref(g.Time(i));
                while (hi < count && ts[hi] <= r)
                {
                    hi++;
                }

                while (lo < hi && ts[lo] <= r - w.Range)
                {
                    lo++;
                }

                if (mode != RangeMode.None)
                {
                    if (ExtendedWindow(mode, fn, ts, fs, count, lo, hi, r - w.Range, r, extended) &&
                        ApplyExtended(fn, extended, w.Range, out var ev))
                    {
                        scratch.Set(i, ev);
                    }

                    continue;
                }

                if (hi == lo)
                {
                    continue;
                }

                var correction = prefix is null ? double.NaN : prefix[hi - 1] - prefix[lo];
                var window = new Window(ts.AsSpan(lo, hi - lo), fs.AsSpan(lo, hi - lo), r - w.Range, r, w.Range, g.Time(i), correction);
                if (ApplyRangeFunction(fn, window, scalars, i, values, out var v))
                {
                    scratch.Set(i, v);
                }
            }

            if (keepName)
            {
                sink(metric, dropName, false, scratch);
            }
            else
            {
                sink(metric, _s.DelayedNameRemoval || dropName, !_s.DelayedNameRemoval, scratch);
            }
        });
        _currentFunction = saved;
    }

    private static bool ApplyRangeFunction(RangeFn fn, Window w, ScalarValue?[] scalars, int step, List<double> scratch, out double result)
    {
        var f = w.F;
        var t = w.T;
        result = 0;
        switch (fn)
        {
            case RangeFn.Rate:
                return ExtrapolatedRate(w, isCounter: true, isRate: true, out result);
            case RangeFn.Increase:
                return ExtrapolatedRate(w, isCounter: true, isRate: false, out result);
            case RangeFn.Delta:
                return ExtrapolatedRate(w, isCounter: false, isRate: false, out result);
            case RangeFn.Irate:
            case RangeFn.Idelta:
            {
                if (f.Length < 2)
                {
                    return false;
                }

                var last = f[^1];
                var prev = f[^2];
                var interval = t[^1] - t[^2];
                if (interval == 0)
                {
                    return false;
                }

                if (fn == RangeFn.Irate)
                {
                    result = last < prev ? last : last - prev;
                    result /= interval / 1000.0;
                }
                else
                {
                    result = last - prev;
                }

                return true;
            }

            case RangeFn.Deriv:
            {
                if (f.Length < 2)
                {
                    return false;
                }

                (result, _) = LinearRegression(t, f, t[0]);
                return true;
            }

            case RangeFn.PredictLinear:
            {
                if (f.Length < 2)
                {
                    return false;
                }

                var (slope, intercept) = LinearRegression(t, f, w.EvalTime);
                result = (slope * scalars[1]!.Values[step]) + intercept;
                return true;
            }

            case RangeFn.Resets:
            case RangeFn.Changes:
            {
                var n = 0;
                for (var i = 1; i < f.Length; i++)
                {
                    var cur = f[i];
                    var prev = f[i - 1];
                    if (fn == RangeFn.Resets ? cur < prev : !(cur == prev || (double.IsNaN(cur) && double.IsNaN(prev))))
                    {
                        n++;
                    }
                }

                result = n;
                return true;
            }

            case RangeFn.SumOverTime:
            {
                double sum = 0, c = 0;
                foreach (var v in f)
                {
                    (sum, c) = KahanSumInc(v, sum, c);
                }

                result = sum + c;
                return true;
            }

            case RangeFn.AvgOverTime:
                result = AverageOf(f);
                return true;
            case RangeFn.CountOverTime:
                result = f.Length;
                return true;
            case RangeFn.MinOverTime:
            case RangeFn.MaxOverTime:
            {
                var m = f[0];
                foreach (var v in f[1..])
                {
                    if ((fn == RangeFn.MinOverTime ? v < m : v > m) || double.IsNaN(m))
                    {
                        m = v;
                    }
                }

                result = m;
                return true;
            }

            case RangeFn.LastOverTime:
                result = f[^1];
                return true;
            case RangeFn.FirstOverTime:
                result = f[0];
                return true;
            case RangeFn.PresentOverTime:
                result = 1;
                return true;
            case RangeFn.TsOfLastOverTime:
                result = t[^1] / 1000.0;
                return true;
            case RangeFn.TsOfFirstOverTime:
                result = t[0] / 1000.0;
                return true;
            case RangeFn.TsOfMinOverTime:
            case RangeFn.TsOfMaxOverTime:
            {
                var m = f[0];
                var at = t[0];
                for (var i = 1; i < f.Length; i++)
                {
                    var v = f[i];
                    if ((fn == RangeFn.TsOfMinOverTime ? v <= m : v >= m) || double.IsNaN(m))
                    {
                        m = v;
                        at = t[i];
                    }
                }

                result = at / 1000.0;
                return true;
            }

            case RangeFn.StddevOverTime:
            case RangeFn.StdvarOverTime:
            {
                double count = 0, mean = 0, cMean = 0, aux = 0, cAux = 0;
                foreach (var v in f)
                {
                    count++;
                    var delta = v - (mean + cMean);
                    (mean, cMean) = KahanSumInc(delta / count, mean, cMean);
                    (aux, cAux) = KahanSumInc(delta * (v - (mean + cMean)), aux, cAux);
                }

                var variance = (aux + cAux) / count;
                result = fn == RangeFn.StdvarOverTime ? variance : Math.Sqrt(variance);
                return true;
            }

            case RangeFn.QuantileOverTime:
                scratch.Clear();
                foreach (var v in f)
                {
                    scratch.Add(v);
                }

                result = Quantile(scalars[0]!.Values[step], scratch);
                return true;
            case RangeFn.MadOverTime:
            {
                scratch.Clear();
                foreach (var v in f)
                {
                    scratch.Add(v);
                }

                var median = Quantile(0.5, scratch);
                scratch.Clear();
                foreach (var v in f)
                {
                    scratch.Add(Math.Abs(v - median));
                }

                result = Quantile(0.5, scratch);
                return true;
            }

            case RangeFn.DoubleExponentialSmoothing:
            {
                if (f.Length < 2)
                {
                    return false;
                }

                var sf = scalars[1]!.Values[step];
                var tf = scalars[2]!.Values[step];
                double s0 = 0, s1 = f[0], b = f[1] - f[0];
                for (var i = 1; i < f.Length; i++)
                {
                    var x = sf * f[i];
                    if (i > 1)
                    {
                        b = (tf * (s1 - s0)) + ((1 - tf) * b);
                    }

                    var y = (1 - sf) * (s1 + b);
                    s0 = s1;
                    s1 = x + y;
                }

                result = s1;
                return true;
            }

            default:
                throw ExecError($"function \"{fn}\" is not implemented");
        }
    }

    /// <summary>
    /// The points an anchored or smoothed window hands to its function. anchored: the last sample within the lookback
    /// at or before the window start, then the samples in the window (none: no result). smoothed: the values at the
    /// window start and end, interpolated between the samples around each edge (for counters, a reset between them
    /// is modelled as a restart from zero), with the samples in the window between them; without a sample before the
    /// start the first sample in the window stands in, without one after the end the last one before it.
    /// </summary>
    private bool ExtendedWindow(RangeMode mode, RangeFn fn, long[] ts, double[] fs, int count, int lo, int hi, long start, long end, List<double> points)
    {
        points.Clear();
        var lookback = _s.LookbackMs;
        var prevStart = lo > 0 && ts[lo - 1] > start - lookback ? lo - 1 : -1;
        if (mode == RangeMode.Anchored)
        {
            if (hi == lo)
            {
                return false;
            }

            if (prevStart >= 0)
            {
                points.Add(fs[prevStart]);
            }

            for (var k = lo; k < hi; k++)
            {
                points.Add(fs[k]);
            }

            return true;
        }

        var counter = fn is RangeFn.Rate or RangeFn.Increase;
        double left;
        if (prevStart >= 0)
        {
            left = ts[prevStart] == start || lo >= count ? fs[prevStart] : Interpolate(ts, fs, prevStart, lo, start, counter);
        }
        else if (hi > lo)
        {
            left = fs[lo];
        }
        else
        {
            return false;
        }

        var prevEnd = hi > 0 && ts[hi - 1] > end - lookback ? hi - 1 : -1;
        if (prevEnd < 0)
        {
            return false;
        }

        var nextEnd = hi < count && ts[hi] <= end + lookback ? hi : -1;
        var right = ts[prevEnd] == end || nextEnd < 0 ? fs[prevEnd] : Interpolate(ts, fs, prevEnd, nextEnd, end, counter);
        points.Add(left);
        for (var k = lo; k < hi; k++)
        {
            points.Add(fs[k]);
        }

        points.Add(right);
        return true;
    }

    private static double Interpolate(long[] ts, double[] fs, int a, int b, long t, bool counter)
    {
        var fraction = (double)(t - ts[a]) / (ts[b] - ts[a]);
        return counter && fs[b] < fs[a] ? fs[b] * fraction : fs[a] + ((fs[b] - fs[a]) * fraction);
    }

    /// <summary>Functions over anchored/smoothed points: no extrapolation, the edges are already at the window bounds.</summary>
    private static bool ApplyExtended(RangeFn fn, List<double> p, long rangeMs, out double result)
    {
        result = 0;
        switch (fn)
        {
            case RangeFn.Rate or RangeFn.Increase:
            {
                var value = p[^1] - p[0];
                for (var k = 1; k < p.Count; k++)
                {
                    if (p[k] < p[k - 1])
                    {
                        value += p[k - 1];
                    }
                }

                result = fn == RangeFn.Rate ? value / (rangeMs / 1000.0) : value;
                return true;
            }

            case RangeFn.Delta:
                result = p[^1] - p[0];
                return true;
            case RangeFn.Changes or RangeFn.Resets:
            {
                var n = 0;
                for (var k = 1; k < p.Count; k++)
                {
                    if (fn == RangeFn.Resets ? p[k] < p[k - 1] : !(p[k] == p[k - 1] || (double.IsNaN(p[k]) && double.IsNaN(p[k - 1]))))
                    {
                        n++;
                    }
                }

                result = n;
                return true;
            }

            default:
                return false;
        }
    }

    /// <summary>
    /// prefix[j]: the sum of f[k − 1] over the resets k ≤ j (f[k] &lt; f[k − 1]). A window [lo, hi) corrects by
    /// prefix[hi − 1] − prefix[lo]; an infinite prefix makes the difference NaN, and the window is then scanned.
    /// </summary>
    private double[] CounterPrefix(double[] f, int count)
    {
        if (_prefix.Length < count)
        {
            _prefix = new double[Math.Max(count, _prefix.Length * 2)];
        }

        var prefix = _prefix;
        prefix[0] = 0;
        for (var j = 1; j < count; j++)
        {
            prefix[j] = prefix[j - 1] + (f[j] < f[j - 1] ? f[j - 1] : 0);
        }

        return prefix;
    }

    /// <summary>The mean with Kahan summation, switching to an incremental mean if the sum would overflow (as Prometheus's avg).</summary>
    private static double AverageOf(ReadOnlySpan<double> f)
    {
        double sum = f[0], count = 1, mean = 0, c = 0;
        var incremental = false;
        for (var i = 1; i < f.Length; i++)
        {
            count = i + 1;
            if (!incremental)
            {
                var (ns, nc) = KahanSumInc(f[i], sum, c);
                if (!double.IsInfinity(ns))
                {
                    (sum, c) = (ns, nc);
                    continue;
                }

                incremental = true;
                mean = sum / (count - 1);
                c /= count - 1;
            }

            var q = (count - 1) / count;
            (mean, c) = KahanSumInc(f[i] / count, q * mean, q * c);
        }

        return incremental ? mean + c : (sum / count) + (c / count);
    }

    /// <summary>
    /// rate/increase/delta: the change over the window, corrected for counter resets, extrapolated to the window
    /// edges unless the first/last sample is more than 1.1 average intervals away from them (then by half an interval),
    /// and for counters not below zero.
    /// </summary>
    private static bool ExtrapolatedRate(Window w, bool isCounter, bool isRate, out double result)
    {
        result = 0;
        var f = w.F;
        var t = w.T;
        if (f.Length < 2)
        {
            return false;
        }

        var value = f[^1] - f[0];
        if (isCounter && double.IsFinite(w.CounterCorrection))
        {
            value += w.CounterCorrection;
        }
        else if (isCounter)
        {
            var prev = f[0];
            for (var i = 1; i < f.Length; i++)
            {
                if (f[i] < prev)
                {
                    value += prev;
                }

                prev = f[i];
            }
        }

        var durationToStart = (t[0] - w.RangeStart) / 1000.0;
        var durationToEnd = (w.RangeEnd - t[^1]) / 1000.0;
        var sampledInterval = (t[^1] - t[0]) / 1000.0;
        var averageInterval = sampledInterval / (f.Length - 1);
        var threshold = averageInterval * 1.1;
        if (durationToStart >= threshold)
        {
            durationToStart = averageInterval / 2;
        }

        if (isCounter && value > 0 && f[0] >= 0)
        {
            var durationToZero = sampledInterval * (f[0] / value);
            if (durationToZero < durationToStart)
            {
                durationToStart = durationToZero;
            }
        }

        if (durationToEnd >= threshold)
        {
            durationToEnd = averageInterval / 2;
        }

        var factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
        if (isRate)
        {
            factor /= w.RangeMs / 1000.0;
        }

        result = value * factor;
        return true;
    }

    /// <summary>Least-squares slope and intercept (at <paramref name="interceptTime"/>), with compensated sums.</summary>
    internal static (double Slope, double Intercept) LinearRegression(ReadOnlySpan<long> t, ReadOnlySpan<double> f, long interceptTime)
    {
        double n = 0, sumX = 0, cX = 0, sumY = 0, cY = 0, sumXY = 0, cXY = 0, sumX2 = 0, cX2 = 0;
        var initY = f[0];
        var constY = true;
        for (var i = 0; i < f.Length; i++)
        {
            if (constY && i > 0 && f[i] != initY)
            {
                constY = false;
            }

            n++;
            var x = (t[i] - interceptTime) / 1e3;
            (sumX, cX) = KahanSumInc(x, sumX, cX);
            (sumY, cY) = KahanSumInc(f[i], sumY, cY);
            (sumXY, cXY) = KahanSumInc(x * f[i], sumXY, cXY);
            (sumX2, cX2) = KahanSumInc(x * x, sumX2, cX2);
        }

        if (constY)
        {
            return double.IsInfinity(initY) ? (double.NaN, double.NaN) : (0, initY);
        }

        sumX += cX;
        sumY += cY;
        sumXY += cXY;
        sumX2 += cX2;
        var covXY = sumXY - (sumX * sumY / n);
        var varX = sumX2 - (sumX * sumX / n);
        var slope = covXY / varX;
        var intercept = (sumY / n) - (slope * sumX / n);
        return (slope, intercept);
    }

    /// <summary>The range-vector functions (names without underscores, matched case-insensitively).</summary>
    private enum RangeFn
    {
        Rate,
        Increase,
        Delta,
        Irate,
        Idelta,
        Deriv,
        PredictLinear,
        Resets,
        Changes,
        SumOverTime,
        AvgOverTime,
        CountOverTime,
        MinOverTime,
        MaxOverTime,
        LastOverTime,
        FirstOverTime,
        PresentOverTime,
        TsOfLastOverTime,
        TsOfFirstOverTime,
        TsOfMinOverTime,
        TsOfMaxOverTime,
        StddevOverTime,
        StdvarOverTime,
        QuantileOverTime,
        MadOverTime,
        DoubleExponentialSmoothing,
    }
}
