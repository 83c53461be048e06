using System.Text;
using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.PromQL;

internal sealed partial class Evaluator
{
    private Value EvalBinary(BinaryExpr b, Grid g)
    {
        var lhs = Eval(b.Lhs, g);
        var rhs = Eval(b.Rhs, g);
        switch (lhs)
        {
            case ScalarValue ls when rhs is ScalarValue rs:
            {
                var r = new double[ls.Values.Length];
                for (var i = 0; i < r.Length; i++)
                {
                    var (v, keep) = ElemBinop(b.Op, ls.Values[i], rs.Values[i]);
                    r[i] = OpInfo.IsComparison(b.Op) ? (keep ? 1 : 0) : v;
                }

                return new ScalarValue(r);
            }

            case VectorValue lv when rhs is ScalarValue rs:
                return VectorScalar(b, lv, rs, swap: false, g);
            case ScalarValue ls when rhs is VectorValue rv:
                return VectorScalar(b, rv, ls, swap: true, g);
            case VectorValue lv when rhs is VectorValue rv:
                return b.Op switch
                {
                    BinaryOp.And => SetOp(b, lv, rv, g),
                    BinaryOp.Unless => SetOp(b, lv, rv, g),
                    BinaryOp.Or => SetOp(b, lv, rv, g),
                    _ => VectorVector(b, lv, rv, g),
                };
            default:
                throw ExecError("binary expression must contain only scalar and instant vector types");
        }
    }

    /// <summary>Applies a binary operator to two floats; for comparisons the value is the left side and keep says whether it holds.</summary>
    internal static (double Value, bool Keep) ElemBinop(BinaryOp op, double l, double r) => op switch
    {
        BinaryOp.Add => (l + r, true),
        BinaryOp.Sub => (l - r, true),
        BinaryOp.Mul => (l * r, true),
        BinaryOp.Div => (l / r, true),
        BinaryOp.Pow => (Math.Pow(l, r), true),
        BinaryOp.Mod => (l % r, true),
        BinaryOp.Atan2 => (Math.Atan2(l, r), true),
        BinaryOp.Eql => (l, l == r),
        BinaryOp.Neq => (l, l != r),
        BinaryOp.Gtr => (l, l > r),
        BinaryOp.Lss => (l, l < r),
        BinaryOp.Gte => (l, l >= r),
        BinaryOp.Lte => (l, l <= r),
        _ => throw ExecError($"operator \"{OpInfo.Text(op)}\" not allowed for float operations"),
    };

    private VectorValue VectorScalar(BinaryExpr b, VectorValue vec, ScalarValue sc, bool swap, Grid g)
    {
        var comparison = OpInfo.IsComparison(b.Op);
        var dropsName = !comparison || b.ReturnBool;
        var builder = new SeriesBuilder(g.Count);
        foreach (var s in vec.Series)
        {
            var (metric, drop) = dropsName ? DropNameOf(s.Metric, s.DropName) : (s.Metric, s.DropName);
            StepSeries? o = null;
            for (var i = 0; i < s.Values.Length; i++)
            {
                if (!s.Present[i])
                {
                    continue;
                }

                var lv = s.Values[i];
                var rv = sc.Values[i];
                if (swap)
                {
                    (lv, rv) = (rv, lv);
                }

                var (v, keep) = ElemBinop(b.Op, lv, rv);
                if (comparison && swap)
                {
                    v = rv;
                }

                if (b.ReturnBool)
                {
                    v = keep ? 1 : 0;
                    keep = true;
                }

                if (!keep)
                {
                    continue;
                }

                o ??= builder.Get(metric, drop);
                if (o.Present[i])
                {
                    throw ExecError("vector cannot contain metrics with the same labelset");
                }

                o.Set(i, v);
            }
        }

        return builder.ToValue();
    }

    /// <summary>The match signature of a series: its <c>on</c> labels, or all labels but the <c>ignoring</c> ones and the name.</summary>
    private Labels Signature(Labels metric, VectorMatching m)
    {
        if (m.Kind == MatchKind.On)
        {
            var kept = new List<Label>(m.MatchingLabels.Count);
            foreach (var l in metric)
            {
                if (m.MatchingLabels.Contains(l.Name))
                {
                    kept.Add(l);
                }
            }

            return kept.Count == metric.Count ? metric : Labels.From([.. kept]);
        }

        // Only __name__: with delayed removal __type__/__unit__ are still here and must match like any label.
        return metric.Without([Labels.MetricName, .. m.MatchingLabels]);
    }

    private Labels[] Signatures(List<StepSeries> series, VectorMatching m)
    {
        var sigs = new Labels[series.Count];
        for (var i = 0; i < sigs.Length; i++)
        {
            sigs[i] = Signature(series[i].Metric, m);
        }

        return sigs;
    }

    private VectorValue SetOp(BinaryExpr b, VectorValue lhs, VectorValue rhs, Grid g)
    {
        var m = b.Matching;
        var lsigs = Signatures(lhs.Series, m);
        var rsigs = Signatures(rhs.Series, m);
        var builder = new SeriesBuilder(g.Count);
        var set = new HashSet<Labels>();
        for (var i = 0; i < g.Count; i++)
        {
            CheckCancelled();
            set.Clear();
            switch (b.Op)
            {
                case BinaryOp.And:
                case BinaryOp.Unless:
                    for (var r = 0; r < rhs.Series.Count; r++)
                    {
                        if (rhs.Series[r].Present[i])
                        {
                            set.Add(rsigs[r]);
                        }
                    }

                    for (var l = 0; l < lhs.Series.Count; l++)
                    {
                        var s = lhs.Series[l];
                        if (s.Present[i] && set.Contains(lsigs[l]) == (b.Op == BinaryOp.And))
                        {
                            builder.Add(s.Metric, s.DropName, i, s.Values[i]);
                        }
                    }

                    break;
                default: // or
                    for (var l = 0; l < lhs.Series.Count; l++)
                    {
                        var s = lhs.Series[l];
                        if (s.Present[i])
                        {
                            set.Add(lsigs[l]);
                            builder.Add(s.Metric, s.DropName, i, s.Values[i]);
                        }
                    }

                    for (var r = 0; r < rhs.Series.Count; r++)
                    {
                        var s = rhs.Series[r];
                        if (s.Present[i] && !set.Contains(rsigs[r]))
                        {
                            builder.Add(s.Metric, s.DropName, i, s.Values[i]);
                        }
                    }

                    break;
            }
        }

        return builder.ToValue();
    }

    private VectorValue VectorVector(BinaryExpr b, VectorValue lhsValue, VectorValue rhsValue, Grid g)
    {
        var m = b.Matching;
        var oneToMany = m.Card == Cardinality.OneToMany;

        // The right side is always the "one" side; for group_right swap them (and swap the values back for the op).
        var many = oneToMany ? rhsValue.Series : lhsValue.Series;
        var one = oneToMany ? lhsValue.Series : rhsValue.Series;
        var manySigs = Signatures(many, m);
        var oneSigs = Signatures(one, m);
        var comparison = OpInfo.IsComparison(b.Op);
        var dropsName = !comparison || b.ReturnBool;
        var builder = new SeriesBuilder(g.Count);
        var oneBySig = new Dictionary<Labels, int>();
        var matched = new Dictionary<Labels, HashSet<Labels>?>();
        var resultCache = new Dictionary<(int, int), Labels>();

        // fill modifiers, seen from the matching's sides: the value standing in for a missing "one" or "many" sample.
        var fillOne = oneToMany ? m.FillLeft : m.FillRight;
        var fillMany = oneToMany ? m.FillRight : m.FillLeft;
        var oneMatched = new bool[one.Count];
        for (var i = 0; i < g.Count; i++)
        {
            CheckCancelled();
            oneBySig.Clear();
            matched.Clear();
            Array.Clear(oneMatched);
            for (var r = 0; r < one.Count; r++)
            {
                if (!one[r].Present[i])
                {
                    continue;
                }

                if (oneBySig.TryGetValue(oneSigs[r], out var dup))
                {
                    var side = oneToMany ? "left" : "right";
                    var pair = new[] { one[r].Metric, one[dup].Metric };
                    Array.Sort(pair, LabelsComparer.Instance);
                    throw ExecError(
                        $"found duplicate series for the match group {FormatLabels(oneSigs[r])} on the {side} hand-side of the operation: " +
                        $"[{FormatLabels(pair[0])}, {FormatLabels(pair[1])}];many-to-many matching not allowed: matching labels must be unique on one side");
                }

                oneBySig.Add(oneSigs[r], r);
            }

            for (var l = 0; l < many.Count; l++)
            {
                var ls = many[l];
                if (!ls.Present[i])
                {
                    continue;
                }

                if (!oneBySig.TryGetValue(manySigs[l], out var r))
                {
                    if (fillOne is { } missingOne)
                    {
                        var (fv, fkeep) = oneToMany ? ElemBinop(b.Op, missingOne, ls.Values[i]) : ElemBinop(b.Op, ls.Values[i], missingOne);
                        if (b.ReturnBool || fkeep)
                        {
                            builder.Add(ResultMetric(ls.Metric, Labels.Empty, m, dropsName), ls.DropName || (dropsName && _s.DelayedNameRemoval), i, b.ReturnBool ? (fkeep ? 1 : 0) : fv);
                        }
                    }

                    continue;
                }

                oneMatched[r] = true;
                var rs = one[r];
                var fl = ls.Values[i];
                var fr = rs.Values[i];
                if (oneToMany)
                {
                    (fl, fr) = (fr, fl);
                }

                if (!resultCache.TryGetValue((l, r), out var metric))
                {
                    metric = ResultMetric(ls.Metric, rs.Metric, m, dropsName);
                    resultCache[(l, r)] = metric;
                }

                var sig = manySigs[l];
                if (m.Card == Cardinality.OneToOne)
                {
                    if (!matched.TryAdd(sig, null))
                    {
                        throw ExecError("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
                    }
                }
                else
                {
                    if (!matched.TryGetValue(sig, out var inserted) || inserted is null)
                    {
                        inserted = [];
                        matched[sig] = inserted;
                    }

                    if (!inserted.Add(metric))
                    {
                        throw ExecError("multiple matches for labels: grouping labels must ensure unique results");
                    }
                }

                var (v, keep) = ElemBinop(b.Op, fl, fr);
                if (b.ReturnBool)
                {
                    v = keep ? 1 : 0;
                }
                else if (!keep)
                {
                    continue;
                }

                builder.Add(metric, ls.DropName || (dropsName && _s.DelayedNameRemoval), i, v);
            }

            if (fillMany is { } missingMany)
            {
                // A "one" sample nobody matched: one result, labelled with the match group.
                for (var r = 0; r < one.Count; r++)
                {
                    var rs = one[r];
                    if (!rs.Present[i] || oneMatched[r])
                    {
                        continue;
                    }

                    var (fv, fkeep) = oneToMany ? ElemBinop(b.Op, rs.Values[i], missingMany) : ElemBinop(b.Op, missingMany, rs.Values[i]);
                    if (b.ReturnBool || fkeep)
                    {
                        builder.Add(oneSigs[r], dropsName && _s.DelayedNameRemoval, i, b.ReturnBool ? (fkeep ? 1 : 0) : fv);
                    }
                }
            }
        }

        return builder.ToValue();
    }

    private Labels ResultMetric(Labels lhs, Labels rhs, VectorMatching m, bool dropsName)
    {
        var labels = new List<Label>(lhs.Count + m.Include.Count);
        foreach (var l in lhs)
        {
            if (dropsName && !_s.DelayedNameRemoval && Array.IndexOf(NameLabels, l.Name) >= 0)
            {
                continue;
            }

            if (m.Card == Cardinality.OneToOne)
            {
                var listed = m.MatchingLabels.Contains(l.Name);
                if (m.Kind == MatchKind.On ? !listed : listed)
                {
                    continue;
                }
            }

            if (m.Include.Contains(l.Name))
            {
                continue;
            }

            labels.Add(l);
        }

        foreach (var name in m.Include)
        {
            var v = rhs.Get(name);
            if (v.Length > 0)
            {
                labels.Add(new Label(name, v));
            }
        }

        return labels.Count == lhs.Count && m.Include.Count == 0 ? lhs : Labels.From([.. labels]);
    }

    /// <summary>Prometheus's <c>labels.String()</c>: <c>{__name__="x", a="b"}</c>.</summary>
    internal static string FormatLabels(Labels labels)
    {
        var sb = new StringBuilder("{");
        var first = true;
        foreach (var l in labels)
        {
            if (!first)
            {
                sb.Append(", ");
            }

            first = false;
            sb.Append(MetricNames.IsValidLegacyLabelName(l.Name) ? l.Name : Parser.GoQuote(l.Name)).Append('=').Append(Parser.GoQuote(l.Value));
        }

        return sb.Append('}').ToString();
    }
}
