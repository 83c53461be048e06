using System.Text;
using System.Text.RegularExpressions;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Shared;

namespace Metrics.Coordination.Rules.PromQL;

internal sealed partial class Evaluator
{
    private bool _isRangeQuery;
    private long _queryStep;

    private Value EvalCall(Call call, Grid g)
    {
        var name = call.Function.Name;
        for (var i = 0; i < call.Args.Count; i++)
        {
            if (call.Function.ArgTypes[Math.Min(i, call.Function.ArgTypes.Length - 1)] == PromQLValueType.RangeVector)
            {
                return EvalRangeFunction(call, i, g);
            }
        }

        switch (name)
        {
            case "time":
            {
                var r = new double[g.Count];
                for (var i = 0; i < r.Length; i++)
                {
                    r[i] = g.Time(i) / 1000.0;
                }

                return new ScalarValue(r);
            }

            case "pi":
                return ScalarValue.Constant(Math.PI, g.Count);
            case "start":
                return ScalarValue.Constant(_queryStart / 1000.0, g.Count);
            case "end":
                return ScalarValue.Constant(_queryEnd / 1000.0, g.Count);
            case "range":
                return ScalarValue.Constant((_queryEnd - _queryStart) / 1000.0, g.Count);
            case "step":
                return ScalarValue.Constant(_queryStep / 1000.0, g.Count);
            case "min_of" or "max_of":
            {
                var a = (ScalarValue)Eval(call.Args[0], g);
                var b = (ScalarValue)Eval(call.Args[1], g);
                var r = new double[g.Count];
                for (var i = 0; i < r.Length; i++)
                {
                    r[i] = name == "min_of" ? Math.Min(a.Values[i], b.Values[i]) : Math.Max(a.Values[i], b.Values[i]);
                }

                return new ScalarValue(r);
            }

            case "vector":
            {
                var s = (ScalarValue)Eval(call.Args[0], g);
                var o = new StepSeries(Labels.Empty, false, g.Count);
                for (var i = 0; i < g.Count; i++)
                {
                    o.Set(i, s.Values[i]);
                }

                return new VectorValue([o]);
            }

            case "scalar":
            {
                var v = (VectorValue)Eval(call.Args[0], g);
                var r = new double[g.Count];
                for (var i = 0; i < r.Length; i++)
                {
                    var n = 0;
                    var value = double.NaN;
                    foreach (var s in v.Series)
                    {
                        if (s.Present[i])
                        {
                            n++;
                            value = s.Values[i];
                        }
                    }

                    r[i] = n == 1 ? value : double.NaN;
                }

                return new ScalarValue(r);
            }

            case "timestamp":
            {
                var arg = Unwrap(call.Args[0]);
                var v = arg is VectorSelector vs ? EvalVectorSelector(vs, g, timestamps: true) : (VectorValue)Eval(call.Args[0], g);
                var builder = new SeriesBuilder(g.Count);
                foreach (var s in v.Series)
                {
                    var (metric, drop) = DropNameOf(s.Metric, s.DropName);
                    var o = builder.Get(metric, drop);
                    for (var i = 0; i < g.Count; i++)
                    {
                        if (s.Present[i])
                        {
                            if (o.Present[i])
                            {
                                throw ExecError("vector cannot contain metrics with the same labelset");
                            }

                            o.Set(i, arg is VectorSelector ? s.Values[i] : g.Time(i) / 1000.0);
                        }
                    }
                }

                return builder.ToValue();
            }

            case "absent":
            {
                var v = (VectorValue)Eval(call.Args[0], g);
                var labels = AbsentLabels(call.Args[0]);
                var o = new StepSeries(labels, false, g.Count);
                for (var i = 0; i < g.Count; i++)
                {
                    if (!v.Series.Exists(s => s.Present[i]))
                    {
                        o.Set(i, 1);
                    }
                }

                return new VectorValue(o.PresentCount > 0 ? [o] : []);
            }

            case "sort" or "sort_desc" or "sort_by_label" or "sort_by_label_desc":
                return EvalSort(call, g);
            case "info":
                return EvalInfo(call, g);
            case "label_replace":
                return EvalLabelReplace(call, g);
            case "label_join":
                return EvalLabelJoin(call, g);
            case "histogram_quantile":
                return EvalHistogramQuantile(call, g);
            case "histogram_fraction":
                return EvalHistogramFraction(call, g);
            case "histogram_quantiles":
                return EvalHistogramQuantiles(call, g);
            case "histogram_count" or "histogram_sum" or "histogram_avg" or "histogram_stddev" or "histogram_stdvar":
                // These read native histograms only; float samples are ignored.
                _ = Eval(call.Args[0], g);
                return new VectorValue([]);
            case "days_in_month" or "day_of_month" or "day_of_week" or "day_of_year" or "hour" or "minute" or "month" or "year":
                return EvalDateFunction(call, g);
        }

        return EvalMathFunction(call, g);
    }

    private Value EvalMathFunction(Call call, Grid g)
    {
        var name = call.Function.Name;
        var v = (VectorValue)Eval(call.Args[0], g);
        var p1 = call.Args.Count > 1 ? (ScalarValue)Eval(call.Args[1], g) : null;
        var p2 = call.Args.Count > 2 ? (ScalarValue)Eval(call.Args[2], g) : null;
        Func<double, int, (double, bool)> f = name switch
        {
            "abs" => (x, _) => (Math.Abs(x), true),
            "ceil" => (x, _) => (Math.Ceiling(x), true),
            "floor" => (x, _) => (Math.Floor(x), true),
            "exp" => (x, _) => (Math.Exp(x), true),
            "sqrt" => (x, _) => (Math.Sqrt(x), true),
            "ln" => (x, _) => (Math.Log(x), true),
            "log2" => (x, _) => (Math.Log2(x), true),
            "log10" => (x, _) => (Math.Log10(x), true),
            "sgn" => (x, _) => (x < 0 ? -1 : x > 0 ? 1 : x, true),
            "deg" => (x, _) => (x * 180 / Math.PI, true),
            "rad" => (x, _) => (x * Math.PI / 180, true),
            "acos" => (x, _) => (Math.Acos(x), true),
            "acosh" => (x, _) => (Math.Acosh(x), true),
            "asin" => (x, _) => (Math.Asin(x), true),
            "asinh" => (x, _) => (Math.Asinh(x), true),
            "atan" => (x, _) => (Math.Atan(x), true),
            "atanh" => (x, _) => (Math.Atanh(x), true),
            "cos" => (x, _) => (Math.Cos(x), true),
            "cosh" => (x, _) => (Math.Cosh(x), true),
            "sin" => (x, _) => (Math.Sin(x), true),
            "sinh" => (x, _) => (Math.Sinh(x), true),
            "tan" => (x, _) => (Math.Tan(x), true),
            "tanh" => (x, _) => (Math.Tanh(x), true),
            "round" => (x, i) =>
            {
                var inv = 1.0 / (p1?.Values[i] ?? 1.0);
                return (Math.Floor((x * inv) + 0.5) / inv, true);
            },
            "clamp" => (x, i) => p2!.Values[i] < p1!.Values[i] ? (0, false) : (Math.Max(p1.Values[i], Math.Min(p2.Values[i], x)), true),
            "clamp_max" => (x, i) => (Math.Min(p1!.Values[i], x), true),
            "clamp_min" => (x, i) => (Math.Max(p1!.Values[i], x), true),
            _ => throw ExecError($"function \"{name}\" is not implemented"),
        };

        var builder = new SeriesBuilder(g.Count);
        foreach (var s in v.Series)
        {
            var (metric, drop) = DropNameOf(s.Metric, s.DropName);
            StepSeries? o = null;
            for (var i = 0; i < g.Count; i++)
            {
                if (!s.Present[i])
                {
                    continue;
                }

                var (r, keep) = f(s.Values[i], i);
                if (!keep)
                {
                    continue;
                }

                o ??= builder.Get(metric, drop);
                if (o.Present[i])
                {
                    throw ExecError("vector cannot contain metrics with the same labelset");
                }

                o.Set(i, r);
            }
        }

        return builder.ToValue();
    }

    private Value EvalDateFunction(Call call, Grid g)
    {
        VectorValue v;
        if (call.Args.Count == 0)
        {
            var o = new StepSeries(Labels.Empty, false, g.Count);
            for (var i = 0; i < g.Count; i++)
            {
                o.Set(i, g.Time(i) / 1000.0);
            }

            v = new VectorValue([o]);
        }
        else
        {
            v = (VectorValue)Eval(call.Args[0], g);
        }

        var name = call.Function.Name;
        var builder = new SeriesBuilder(g.Count);
        foreach (var s in v.Series)
        {
            var (metric, drop) = DropNameOf(s.Metric, s.DropName);
            StepSeries? o = null;
            for (var i = 0; i < g.Count; i++)
            {
                if (!s.Present[i])
                {
                    continue;
                }

                var (year, month, day, dayOfWeek, dayOfYear, hour, minute) = CivilTime.FromUnixSeconds(s.Values[i]);
                double r = name switch
                {
                    "days_in_month" => CivilTime.DaysInMonth(year, month),
                    "day_of_month" => day,
                    "day_of_week" => dayOfWeek,
                    "day_of_year" => dayOfYear,
                    "hour" => hour,
                    "minute" => minute,
                    "month" => month,
                    _ => year,
                };
                o ??= builder.Get(metric, drop);
                if (o.Present[i])
                {
                    throw ExecError("vector cannot contain metrics with the same labelset");
                }

                o.Set(i, r);
            }
        }

        return builder.ToValue();
    }

    private static Labels AbsentLabels(Expr arg)
    {
        IReadOnlyList<LabelMatcher> matchers = arg switch
        {
            VectorSelector vs => vs.AllMatchers(),
            MatrixSelector ms => ms.Vector.AllMatchers(),
            _ => [],
        };
        var set = new Dictionary<string, string>(StringComparer.Ordinal);
        var has = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in matchers)
        {
            if (m.Name == Labels.MetricName)
            {
                continue;
            }

            if (m.Type == MatchType.Equal && has.Add(m.Name))
            {
                set[m.Name] = m.Value;
            }
            else
            {
                set.Remove(m.Name);
            }
        }

        return Labels.From([.. set.Where(kv => kv.Value.Length > 0).Select(kv => new Label(kv.Key, kv.Value))]);
    }

    private Value EvalSort(Call call, Grid g)
    {
        var v = (VectorValue)Eval(call.Args[0], g);
        if (_isRangeQuery)
        {
            Warn("sort is ineffective for range queries since results are always ordered by labels", call.Position);
            return v;
        }

        var name = call.Function.Name;
        var series = v.Series.Where(s => s.Present[0]).ToList();
        if (name is "sort" or "sort_desc")
        {
            var desc = name == "sort_desc";
            var indexed = series.Select((s, i) => (s, i)).ToList();
            indexed.Sort((a, b) =>
            {
                var c = CompareForSelection(a.s.Values[0], b.s.Values[0], desc);
                return c != 0 ? c : a.i.CompareTo(b.i);
            });
            return new VectorValue(indexed.ConvertAll(x => x.s));
        }

        var labels = new List<string>();
        for (var i = 1; i < call.Args.Count; i++)
        {
            labels.Add(((StringValue)Eval(call.Args[i], g)).Text);
        }

        var descending = name == "sort_by_label_desc";
        series.Sort((a, b) =>
        {
            foreach (var l in labels)
            {
                var x = a.Metric.Get(l);
                var y = b.Metric.Get(l);
                if (x == y)
                {
                    continue;
                }

                var c = NaturalCompare(x, y);
                return descending ? -c : c;
            }

            var full = LabelsComparer.Instance.Compare(a.Metric, b.Metric);
            return descending ? -full : full;
        });
        return new VectorValue(series);
    }

    /// <summary>Natural order: runs of digits compare by numeric value, everything else by character.</summary>
    internal static int NaturalCompare(string a, string b)
    {
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            if (char.IsAsciiDigit(a[i]) && char.IsAsciiDigit(b[j]))
            {
                var si = i;
                var sj = j;
                while (i < a.Length && char.IsAsciiDigit(a[i]))
                {
                    i++;
                }

                while (j < b.Length && char.IsAsciiDigit(b[j]))
                {
                    j++;
                }

                var na = a.AsSpan(si, i - si).TrimStart('0');
                var nb = b.AsSpan(sj, j - sj).TrimStart('0');
                if (na.Length != nb.Length)
                {
                    return na.Length.CompareTo(nb.Length);
                }

                var c = na.SequenceCompareTo(nb);
                if (c != 0)
                {
                    return c;
                }

                continue;
            }

            if (a[i] != b[j])
            {
                return a[i].CompareTo(b[j]);
            }

            i++;
            j++;
        }

        return (a.Length - i).CompareTo(b.Length - j);
    }

    private Value EvalLabelReplace(Call call, Grid g)
    {
        var v = (VectorValue)Eval(call.Args[0], g);
        var dst = ((StringValue)Eval(call.Args[1], g)).Text;
        var repl = ((StringValue)Eval(call.Args[2], g)).Text;
        var src = ((StringValue)Eval(call.Args[3], g)).Text;
        var pattern = ((StringValue)Eval(call.Args[4], g)).Text;
        GoRegex regex;
        try
        {
            regex = new GoRegex(pattern, anchored: true, dotAll: true, TimeSpan.FromSeconds(10));
        }
        catch (GoRegexSyntaxException ex)
        {
            throw ExecError($"invalid regular expression in label_replace(): {pattern}: {ex.Message}");
        }

        if (!MetricNames.IsValidUtf8Name(dst))
        {
            throw ExecError($"invalid destination label name in label_replace(): {dst}");
        }

        return RelabelEach(v, g, dst, metric =>
        {
            var match = regex.Match(metric.Get(src));
            if (!match.Success)
            {
                return metric;
            }

            return metric.With(dst, regex.Expand(repl, match));
        });
    }

    private Value EvalLabelJoin(Call call, Grid g)
    {
        var v = (VectorValue)Eval(call.Args[0], g);
        var dst = ((StringValue)Eval(call.Args[1], g)).Text;
        var sep = ((StringValue)Eval(call.Args[2], g)).Text;
        var srcs = new List<string>();
        for (var i = 3; i < call.Args.Count; i++)
        {
            var s = ((StringValue)Eval(call.Args[i], g)).Text;
            if (!MetricNames.IsValidUtf8Name(s))
            {
                throw ExecError($"invalid source label name in label_join(): {s}");
            }

            srcs.Add(s);
        }

        if (!MetricNames.IsValidUtf8Name(dst))
        {
            throw ExecError($"invalid destination label name in label_join(): {dst}");
        }

        return RelabelEach(v, g, dst, metric =>
        {
            var sb = new StringBuilder();
            for (var i = 0; i < srcs.Count; i++)
            {
                if (i > 0)
                {
                    sb.Append(sep);
                }

                sb.Append(metric.Get(srcs[i]));
            }

            return metric.With(dst, sb.ToString());
        });
    }

    private VectorValue RelabelEach(VectorValue v, Grid g, string dst, Func<Labels, Labels> relabel)
    {
        var builder = new SeriesBuilder(g.Count);
        foreach (var s in v.Series)
        {
            var metric = relabel(s.Metric);
            var drop = s.DropName && dst != Labels.MetricName;
            StepSeries? o = null;
            for (var i = 0; i < g.Count; i++)
            {
                if (!s.Present[i])
                {
                    continue;
                }

                o ??= builder.Get(metric, drop);
                if (o.Present[i])
                {
                    throw ExecError("vector cannot contain metrics with the same labelset");
                }

                o.Set(i, s.Values[i]);
            }

            if (o is not null && !drop)
            {
                o.DropName = false;
            }
        }

        return builder.ToValue();
    }
}

/// <summary>UTC calendar fields from Unix seconds, for any int64 second count (no DateTime range limits).</summary>
internal static class CivilTime
{
    public static (long Year, int Month, int Day, int DayOfWeek, int DayOfYear, int Hour, int Minute) FromUnixSeconds(double seconds)
    {
        // Go converts with int64(f); out-of-range floats have no defined value there, saturate here.
        long s = double.IsNaN(seconds) ? long.MinValue : seconds >= 9.2233720368547758e18 ? long.MaxValue : seconds <= -9.2233720368547758e18 ? long.MinValue : (long)seconds;
        var days = FloorDiv(s, 86400);
        var secOfDay = s - (days * 86400);
        var hour = (int)(secOfDay / 3600);
        var minute = (int)(secOfDay % 3600 / 60);

        // 1970-01-01 was a Thursday (4).
        var dow = (int)FloorMod(days + 4, 7);

        // Howard Hinnant's civil_from_days.
        var z = days + 719468;
        var era = FloorDiv(z, 146097);
        var doe = z - (era * 146097);
        var yoe = (doe - (doe / 1460) + (doe / 36524) - (doe / 146096)) / 365;
        var y = yoe + (era * 400);
        var doy = doe - ((365 * yoe) + (yoe / 4) - (yoe / 100));
        var mp = ((5 * doy) + 2) / 153;
        var d = (int)(doy - (((153 * mp) + 2) / 5) + 1);
        var m = (int)(mp < 10 ? mp + 3 : mp - 9);
        if (m <= 2)
        {
            y++;
        }

        var dayOfYear = d;
        for (var mm = 1; mm < m; mm++)
        {
            dayOfYear += DaysInMonth(y, mm);
        }

        return (y, m, d, dow, dayOfYear, hour, minute);
    }

    public static int DaysInMonth(long year, int month) => month switch
    {
        2 => IsLeap(year) ? 29 : 28,
        4 or 6 or 9 or 11 => 30,
        _ => 31,
    };

    private static bool IsLeap(long y) => (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    private static long FloorDiv(long a, long b) => (a / b) - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);

    private static long FloorMod(long a, long b) => a - (FloorDiv(a, b) * b);
}
