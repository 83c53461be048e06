using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.PromQL;

internal sealed partial class Evaluator
{
    private Value EvalAggregate(AggregateExpr a, Grid g)
    {
        ScalarValue? param = null;
        string? valueLabel = null;
        if (a.Param is not null)
        {
            var p = Eval(a.Param, g);
            if (p is StringValue sv)
            {
                valueLabel = sv.Text;
            }
            else
            {
                param = (ScalarValue)p;
            }
        }

        var saved = _currentFunction;
        _currentFunction = OpInfo.Text(a.Op);
        if (a.Op is AggregateOp.TopK or AggregateOp.BottomK)
        {
            var selected = TopKStreaming(a, param!, g);
            _currentFunction = saved;
            return selected;
        }

        if (a.Op is not (AggregateOp.LimitK or AggregateOp.LimitRatio or AggregateOp.CountValues or AggregateOp.Quantile))
        {
            var streamed = AggregateStreaming(a, g);
            _currentFunction = saved;
            return streamed;
        }

        var vec = (VectorValue)Eval(a.Expr, g);
        _currentFunction = saved;

        // Group each input series once.
        var groupOf = new int[vec.Series.Count];
        var groupLabels = new List<Labels>();
        var groupIndex = new Dictionary<Labels, int>();
        for (var s = 0; s < vec.Series.Count; s++)
        {
            var key = GroupLabels(vec.Series[s].Metric, a.Grouping, a.Without, NameLabels);
            if (!groupIndex.TryGetValue(key, out var gi))
            {
                gi = groupLabels.Count;
                groupIndex.Add(key, gi);
                groupLabels.Add(key);
            }

            groupOf[s] = gi;
        }

        switch (a.Op)
        {
            case AggregateOp.TopK or AggregateOp.BottomK or AggregateOp.LimitK or AggregateOp.LimitRatio:
                return SelectSeries(a, vec, param!, groupOf, groupLabels.Count, g);
            case AggregateOp.CountValues:
                return CountValues(a, vec, valueLabel!, groupOf, groupLabels, g);
        }

        var builder = new SeriesBuilder(g.Count);
        var outSeries = new StepSeries[groupLabels.Count];
        var groupDrop = new bool[groupLabels.Count];
        for (var s = 0; s < vec.Series.Count; s++)
        {
            groupDrop[groupOf[s]] |= vec.Series[s].DropName;
        }

        for (var gi = 0; gi < outSeries.Length; gi++)
        {
            outSeries[gi] = builder.Get(groupLabels[gi], groupDrop[gi]);
        }

        var acc = new Accumulator[groupLabels.Count];
        var values = a.Op == AggregateOp.Quantile ? new List<double>[groupLabels.Count] : null;
        for (var i = 0; i < g.Count; i++)
        {
            CheckCancelled();
            Array.Clear(acc);
            if (values is not null)
            {
                foreach (var l in values)
                {
                    l?.Clear();
                }
            }

            for (var s = 0; s < vec.Series.Count; s++)
            {
                var series = vec.Series[s];
                if (!series.Present[i])
                {
                    continue;
                }

                var gi = groupOf[s];
                var f = series.Values[i];
                if (values is not null)
                {
                    (values[gi] ??= []).Add(f);
                    acc[gi].Count++;
                    continue;
                }

                acc[gi].Add(a.Op, f);
            }

            double q = 0;
            if (a.Op == AggregateOp.Quantile)
            {
                q = param!.Values[i];
                if (!(q >= 0 && q <= 1))
                {
                    Warn($"quantile value should be between 0 and 1, got {FormatG(q)}", a.Param!.Position);
                }
            }

            for (var gi = 0; gi < acc.Length; gi++)
            {
                if (acc[gi].Count == 0)
                {
                    continue;
                }

                var result = a.Op == AggregateOp.Quantile ? Quantile(q, values![gi]) : acc[gi].Result(a.Op);
                outSeries[gi].Set(i, result);
            }
        }

        return builder.ToValue();
    }

    /// <summary>
    /// sum, avg, count, min, max, group, stddev, stdvar: series by series into one accumulator per group and step,
    /// so the input vector is never built when it can be streamed (memory grows with the groups, not the input).
    /// </summary>
    private VectorValue AggregateStreaming(AggregateExpr a, Grid g)
    {
        var steps = g.Count;
        var groups = new GroupIndex(a.Grouping, a.Without, NameLabels);
        var keys = groups.Keys;
        var accs = new List<Accumulator[]>();
        var drops = new List<bool>();
        StreamVector(a.Expr, g, (metric, dropName, removeName, values) =>
        {
            if (values.PresentCount == 0)
            {
                return;
            }

            CheckCancelled();
            var gi = groups.Find(metric, removeName);
            if (gi == accs.Count)
            {
                accs.Add(new Accumulator[steps]);
                drops.Add(false);
            }

            drops[gi] |= dropName;
            var acc = accs[gi];
            var present = values.Present;
            var v = values.Values;
            for (var i = 0; i < steps; i++)
            {
                if (present[i])
                {
                    acc[i].Add(a.Op, v[i]);
                }
            }
        });

        var result = new List<StepSeries>(keys.Count);
        for (var gi = 0; gi < keys.Count; gi++)
        {
            var o = new StepSeries(keys[gi], drops[gi], steps);
            var acc = accs[gi];
            for (var i = 0; i < steps; i++)
            {
                if (acc[i].Count > 0)
                {
                    o.Set(i, acc[i].Result(a.Op));
                }
            }

            result.Add(o);
        }

        return new VectorValue(result);
    }

    /// <summary>
    /// topk/bottomk: series by series into a bounded heap per group and step (O(n log k)), so only the selected
    /// series are kept. Instant results come group by group, best first.
    /// </summary>
    private VectorValue TopKStreaming(AggregateExpr a, ScalarValue param, Grid g)
    {
        var steps = g.Count;
        var ks = new long[steps];
        var anyK = false;
        for (var i = 0; i < steps; i++)
        {
            var p = param.Values[i];
            if (double.IsNaN(p))
            {
                throw ExecError("Parameter value is NaN");
            }

            if (p >= 9.2233720368547758e18 || p <= -9.2233720368547758e18)
            {
                throw ExecError($"Scalar value {FormatG(p)} overflows int64");
            }

            ks[i] = Math.Max(0, (long)p);
            anyK |= ks[i] > 0;
        }

        if (!anyK)
        {
            // As Prometheus: with k < 1 at every step the argument is not evaluated at all.
            return new VectorValue([]);
        }

        var top = a.Op == AggregateOp.TopK;
        var groups = new GroupIndex(a.Grouping, a.Without, NameLabels);
        var heaps = new List<TopKHeap?[]>();
        var refs = new List<(Labels Metric, bool Drop, bool Remove)>();
        StreamVector(a.Expr, g, (metric, dropName, removeName, values) =>
        {
            if (values.PresentCount == 0)
            {
                return;
            }

            CheckCancelled();
            var gi = groups.Find(metric, removeName);
            if (gi == heaps.Count)
            {
                heaps.Add(new TopKHeap?[steps]);
            }

            var id = -1;
            var groupHeaps = heaps[gi];
            for (var i = 0; i < steps; i++)
            {
                if (!values.Present[i] || ks[i] == 0)
                {
                    continue;
                }

                var v = values.Values[i];
                var heap = groupHeaps[i] ??= new TopKHeap(top);
                var candidateId = id < 0 ? refs.Count : id;
                if (!heap.WouldAccept(v, candidateId, ks[i]))
                {
                    continue;
                }

                if (id < 0)
                {
                    id = refs.Count;
                    refs.Add((metric, dropName, removeName));
                }

                heap.Offer(id, v, ks[i]);
            }
        });

        var outSeries = new StepSeries?[refs.Count];
        var result = new List<StepSeries>();
        for (var gi = 0; gi < heaps.Count; gi++)
        {
            for (var i = 0; i < steps; i++)
            {
                if (heaps[gi][i] is not { } heap)
                {
                    continue;
                }

                var entries = new List<(int Id, double Value)>(heap.Count);
                for (var e = 0; e < heap.Count; e++)
                {
                    entries.Add(heap[e]);
                }

                // Best first (the heap's order is worst first at the root).
                entries.Sort((x, y) => heap.Worse(x, y) ? 1 : heap.Worse(y, x) ? -1 : 0);
                foreach (var (id, v) in entries)
                {
                    if (outSeries[id] is null)
                    {
                        var r = refs[id];
                        outSeries[id] = new StepSeries(r.Remove ? RemoveName(r.Metric) : r.Metric, r.Drop, steps);
                        result.Add(outSeries[id]!);
                    }

                    outSeries[id]!.Set(i, v);
                }
            }
        }

        return new VectorValue(result);
    }

    /// <summary>The output labels of a group: the <c>by</c> labels, or all but the <c>without</c> labels and the name.</summary>
    private static Labels GroupLabels(Labels metric, IReadOnlyList<string> grouping, bool without, string[] nameLabels)
    {
        if (without)
        {
            return metric.Without([.. nameLabels, .. grouping]);
        }

        if (grouping.Count == 0)
        {
            return Labels.Empty;
        }

        var kept = new List<Label>(grouping.Count);
        foreach (var l in metric)
        {
            if (grouping.Contains(l.Name))
            {
                kept.Add(l);
            }
        }

        return kept.Count == metric.Count ? metric : Labels.From([.. kept]);
    }

    /// <summary>Running state of one group at one step (sum and mean with Kahan/Neumaier compensation, as Prometheus).</summary>
    private struct Accumulator
    {
        public double Count;
        public double Value;
        public double Compensation;
        public double Mean;
        public bool IncrementalMean;

        public void Add(AggregateOp op, double f)
        {
            if (op is AggregateOp.Stddev or AggregateOp.Stdvar)
            {
                // Welford from the first sample on, so that a NaN or Inf anywhere makes the result NaN.
                Count++;
                var delta = f - Mean;
                Mean += delta / Count;
                Value += delta * (f - Mean);
                return;
            }

            if (Count == 0)
            {
                Count = 1;
                Value = f;
                Mean = f;
                Compensation = 0;
                return;
            }

            Count++;
            switch (op)
            {
                case AggregateOp.Sum:
                    (Value, Compensation) = KahanSumInc(f, Value, Compensation);
                    break;
                case AggregateOp.Avg:
                    if (!IncrementalMean)
                    {
                        var (nv, nc) = KahanSumInc(f, Value, Compensation);
                        if (!double.IsInfinity(nv))
                        {
                            (Value, Compensation) = (nv, nc);
                            break;
                        }

                        IncrementalMean = true;
                        Mean = Value / (Count - 1);
                        Compensation /= Count - 1;
                    }

                    var q = (Count - 1) / Count;
                    (Mean, Compensation) = KahanSumInc(f / Count, q * Mean, q * Compensation);
                    break;
                case AggregateOp.Min:
                    if (Value > f || double.IsNaN(Value))
                    {
                        Value = f;
                    }

                    break;
                case AggregateOp.Max:
                    if (Value < f || double.IsNaN(Value))
                    {
                        Value = f;
                    }

                    break;
            }
        }

        public readonly double Result(AggregateOp op) => op switch
        {
            AggregateOp.Sum => Value + Compensation,
            AggregateOp.Avg => IncrementalMean ? Mean + Compensation : (Value / Count) + (Compensation / Count),
            AggregateOp.Count => Count,
            AggregateOp.Group => 1,
            AggregateOp.Stdvar => Value / Count,
            AggregateOp.Stddev => Math.Sqrt(Value / Count),
            _ => Value,
        };
    }

    internal static (double Sum, double C) KahanSumInc(double inc, double sum, double c)
    {
        var t = sum + inc;
        if (double.IsInfinity(t))
        {
            c = 0;
        }
        else if (Math.Abs(sum) >= Math.Abs(inc))
        {
            c += (sum - t) + inc;
        }
        else
        {
            c += (inc - t) + sum;
        }

        return (t, c);
    }

    /// <summary>Prometheus's quantile: NaN for no values or a NaN q, ±Inf outside [0, 1], else linear interpolation between ranks (NaN sorts first).</summary>
    internal static double Quantile(double q, List<double> values)
    {
        if (values.Count == 0 || double.IsNaN(q))
        {
            return double.NaN;
        }

        if (q < 0)
        {
            return double.NegativeInfinity;
        }

        if (q > 1)
        {
            return double.PositiveInfinity;
        }

        values.Sort(static (x, y) => double.IsNaN(x) ? (double.IsNaN(y) ? 0 : -1) : double.IsNaN(y) ? 1 : x.CompareTo(y));
        var n = (double)values.Count;
        var rank = q * (n - 1);
        var lower = Math.Max(0, Math.Floor(rank));
        var upper = Math.Min(n - 1, lower + 1);
        var weight = rank - Math.Floor(rank);
        return (values[(int)lower] * (1 - weight)) + (values[(int)upper] * weight);
    }

    private VectorValue SelectSeries(AggregateExpr a, VectorValue vec, ScalarValue param, int[] groupOf, int groups, Grid g)
    {
        var builder = new SeriesBuilder(g.Count);
        var outSeries = new StepSeries?[vec.Series.Count];
        var members = new List<int>[groups];
        for (var gi = 0; gi < groups; gi++)
        {
            members[gi] = [];
        }

        for (var s = 0; s < vec.Series.Count; s++)
        {
            members[groupOf[s]].Add(s);
        }

        double[]? ratioOffsets = null;
        if (a.Op == AggregateOp.LimitRatio)
        {
            ratioOffsets = new double[vec.Series.Count];
            for (var s = 0; s < ratioOffsets.Length; s++)
            {
                ratioOffsets[s] = PrometheusHash(vec.Series[s].Metric) / (double)ulong.MaxValue;
            }
        }

        // Instant results come group by group; the order of first selection decides the output order.
        var order = new List<(int Group, int Rank, int Series)>();
        var candidates = new List<int>();
        for (var i = 0; i < g.Count; i++)
        {
            CheckCancelled();
            var p = param.Values[i];
            long k = 0;
            double ratio = 0;
            if (a.Op == AggregateOp.LimitRatio)
            {
                if (double.IsNaN(p))
                {
                    throw ExecError("Ratio value is NaN");
                }

                ratio = p;
                if (ratio is > 1 or < -1)
                {
                    var capped = ratio > 1 ? 1 : -1;
                    Warn($"ratio value should be between -1 and 1, got {FormatG(ratio)}, capping to {capped}", a.Param!.Position);
                    ratio = capped;
                }
            }
            else
            {
                if (double.IsNaN(p))
                {
                    throw ExecError("Parameter value is NaN");
                }

                if (p >= 9.2233720368547758e18 || p <= -9.2233720368547758e18)
                {
                    throw ExecError($"Scalar value {FormatG(p)} overflows int64");
                }

                k = (long)p;
                if (k < 1)
                {
                    continue;
                }
            }

            for (var gi = 0; gi < groups; gi++)
            {
                candidates.Clear();
                foreach (var s in members[gi])
                {
                    if (vec.Series[s].Present[i])
                    {
                        candidates.Add(s);
                    }
                }

                if (candidates.Count == 0)
                {
                    continue;
                }

                switch (a.Op)
                {
                    case AggregateOp.LimitK:
                    {
                        var take = (int)Math.Min(k, candidates.Count);
                        for (var r = 0; r < take; r++)
                        {
                            Emit(candidates[r], i, gi, r);
                        }

                        break;
                    }

                    default:
                    {
                        var r = 0;
                        foreach (var s in candidates)
                        {
                            var offset = ratioOffsets![s];
                            if ((ratio >= 0 && offset < ratio) || (ratio < 0 && offset >= 1 + ratio))
                            {
                                Emit(s, i, gi, r++);
                            }
                        }

                        break;
                    }
                }
            }
        }

        if (g.Count == 1)
        {
            // Order an instant result group by group, each in rank order.
            order.Sort((x, y) => x.Group != y.Group ? x.Group.CompareTo(y.Group) : x.Rank.CompareTo(y.Rank));
            var ordered = new List<StepSeries>(order.Count);
            foreach (var (_, _, s) in order)
            {
                ordered.Add(outSeries[s]!);
            }

            return new VectorValue(ordered);
        }

        return builder.ToValue();

        void Emit(int s, int step, int group, int rank)
        {
            var src = vec.Series[s];
            if (outSeries[s] is null)
            {
                outSeries[s] = builder.Get(src.Metric, src.DropName);
                order.Add((group, rank, s));
            }

            outSeries[s]!.Set(step, src.Values[step]);
        }
    }

    /// <summary>Order for topk (descending) and bottomk (ascending); NaN always sorts last, as it never wins.</summary>
    private static int CompareForSelection(double x, double y, bool descending)
    {
        var xn = double.IsNaN(x);
        var yn = double.IsNaN(y);
        if (xn || yn)
        {
            return xn == yn ? 0 : xn ? 1 : -1;
        }

        return descending ? y.CompareTo(x) : x.CompareTo(y);
    }

    private VectorValue CountValues(AggregateExpr a, VectorValue vec, string label, int[] groupOf, List<Labels> groupLabels, Grid g)
    {
        if (!MetricNames.IsValidUtf8Name(label))
        {
            throw ExecError($"invalid label name {Parser.GoQuote(label)}");
        }

        var builder = new SeriesBuilder(g.Count);
        var counts = new Dictionary<(int Group, string Value), int>();
        var keys = new List<(int Group, string Value)>();
        var labelCache = new Dictionary<(int, string), Labels>();
        for (var i = 0; i < g.Count; i++)
        {
            CheckCancelled();
            counts.Clear();
            keys.Clear();
            for (var s = 0; s < vec.Series.Count; s++)
            {
                if (!vec.Series[s].Present[i])
                {
                    continue;
                }

                var key = (groupOf[s], FormatFloatPlain(vec.Series[s].Values[i]));
                if (counts.TryGetValue(key, out var n))
                {
                    counts[key] = n + 1;
                }
                else
                {
                    counts[key] = 1;
                    keys.Add(key);
                }
            }

            foreach (var key in keys)
            {
                if (!labelCache.TryGetValue(key, out var metric))
                {
                    metric = groupLabels[key.Group].With(label, key.Value);
                    labelCache[key] = metric;
                }

                builder.Add(metric, false, i, counts[key]);
            }
        }

        _ = a;
        return builder.ToValue();
    }

    /// <summary>Prometheus's label-set hash (xxHash64 of name 0xFF value 0xFF ...), which limit_ratio samples by.</summary>
    internal static ulong PrometheusHash(Labels labels)
    {
        var hasher = new XxHash64();
        Span<byte> sep = [0xFF];
        foreach (var l in labels)
        {
            hasher.Append(Encoding.UTF8.GetBytes(l.Name));
            hasher.Append(sep);
            hasher.Append(Encoding.UTF8.GetBytes(l.Value));
            hasher.Append(sep);
        }

        return hasher.GetCurrentHashAsUInt64();
    }

    /// <summary>Go's <c>%g</c> for annotation texts: shortest representation.</summary>
    internal static string FormatG(double v)
    {
        if (double.IsNaN(v))
        {
            return "NaN";
        }

        if (double.IsInfinity(v))
        {
            return v > 0 ? "+Inf" : "-Inf";
        }

        var r = v.ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOf('E', StringComparison.Ordinal);
        if (e < 0)
        {
            // Go's %g switches to exponent form for exponents < -4 or ≥ 21 (shortest precision).
            var abs = Math.Abs(v);
            if (abs != 0 && (abs < 1e-4 || abs >= 1e21))
            {
                return FormatG(v, forceExponent: true);
            }

            return r;
        }

        return FormatG(v, forceExponent: true);
    }

    private static string FormatG(double v, bool forceExponent)
    {
        _ = forceExponent;
        var s = v.ToString("E16", CultureInfo.InvariantCulture);

        // Shortest round-trip mantissa.
        var r = v.ToString("R", CultureInfo.InvariantCulture);
        var digits = r.TrimStart('-').Replace(".", string.Empty, StringComparison.Ordinal);
        var eIdx = digits.IndexOf('E', StringComparison.Ordinal);
        if (eIdx >= 0)
        {
            digits = digits[..eIdx];
        }

        digits = digits.TrimStart('0').TrimEnd('0');
        if (digits.Length == 0)
        {
            digits = "0";
        }

        var exp = int.Parse(s[(s.IndexOf('E', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);
        var mantissa = digits.Length > 1 ? digits[0] + "." + digits[1..] : digits;
        return (v < 0 ? "-" : string.Empty) + mantissa + "e" + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
    }

    /// <summary>Go's <c>strconv.FormatFloat(v, 'f', -1, 64)</c>: shortest round-trip digits, never an exponent.</summary>
    internal static string FormatFloatPlain(double v)
    {
        if (double.IsNaN(v))
        {
            return "NaN";
        }

        if (double.IsInfinity(v))
        {
            return v > 0 ? "+Inf" : "-Inf";
        }

        var r = v.ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOf('E', StringComparison.Ordinal);
        if (e < 0)
        {
            return r;
        }

        var negative = r[0] == '-';
        var mantissa = r[(negative ? 1 : 0)..e];
        var exp = int.Parse(r[(e + 1)..], CultureInfo.InvariantCulture);
        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = dot < 0 ? mantissa : mantissa.Remove(dot, 1);
        var pointPos = (dot < 0 ? mantissa.Length : dot) + exp;
        string result;
        if (pointPos <= 0)
        {
            result = "0." + new string('0', -pointPos) + digits;
        }
        else if (pointPos >= digits.Length)
        {
            result = digits + new string('0', pointPos - digits.Length);
        }
        else
        {
            result = digits[..pointPos] + "." + digits[pointPos..];
        }

        return (negative ? "-" : string.Empty) + result;
    }
}
