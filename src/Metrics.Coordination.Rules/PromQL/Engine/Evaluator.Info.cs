using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;

namespace Metrics.Coordination.Rules.PromQL;

/// <summary>
/// info(v, {selector}): enrich each series with the data labels of the info series that share its identifying
/// labels (instance, job), as of the time the series was read (its @ and offset apply).
/// </summary>
internal sealed partial class Evaluator
{
    private static readonly string[] IdentifyingLabels = ["instance", "job"];

    private sealed record InfoSeries(Labels Labels, long[] T, double[] F, int Count);

    private Value EvalInfo(Call call, Grid g)
    {
        var baseValue = (VectorValue)Eval(call.Args[0], g);
        var all = call.Args.Count > 1 ? ((VectorSelector)Unwrap(call.Args[1])).AllMatchers() : [];
        var nameMatchers = all.Where(m => m.Name == Labels.MetricName).ToList();
        var dataMatchers = all.Where(m => m.Name != Labels.MetricName).ToList();

        // No name matcher: target_info. Only negative ones: among the *_info metrics.
        if (nameMatchers.Count == 0)
        {
            nameMatchers.Add(new LabelMatcher(MatchType.Equal, Labels.MetricName, "target_info"));
        }
        else if (!nameMatchers.Exists(m => m.Type is MatchType.Equal or MatchType.Regex))
        {
            nameMatchers.Add(new LabelMatcher(MatchType.Regex, Labels.MetricName, ".+_info"));
        }

        var dropUnmatched = dataMatchers.Exists(m => !m.Matches(string.Empty));
        var refs = new long[g.Count];
        for (var i = 0; i < refs.Length; i++)
        {
            refs[i] = InfoRefTime(call.Args[0], g.Time(i));
        }

        var lookback = _s.LookbackMs;
        var lo = refs.Min() - lookback + 1;
        var hi = refs.Max();
        var byIdentity = new Dictionary<(string, string), List<InfoSeries>>();
        var selector = new VectorSelector(null, [.. nameMatchers, .. dataMatchers]);
        foreach (var series in Select(selector, lo, hi, 0, 0))
        {
            CheckCancelled();
            var buf = Fill(series, lo, hi, keepStale: true);
            var key = (series.Labels.Get(IdentifyingLabels[0]), series.Labels.Get(IdentifyingLabels[1]));
            if (!byIdentity.TryGetValue(key, out var list))
            {
                list = [];
                byIdentity.Add(key, list);
            }

            list.Add(new InfoSeries(series.Labels, buf.T[..buf.Count], buf.F[..buf.Count], buf.Count));
        }

        var dataLabelNames = dataMatchers.Count == 0 ? null : dataMatchers.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var builder = new SeriesBuilder(g.Count);
        var chosen = new Dictionary<string, (InfoSeries Series, long T)>(StringComparer.Ordinal);
        foreach (var s in baseValue.Series)
        {
            // Info series themselves pass through: the name matches every name matcher.
            var isInfo = nameMatchers.TrueForAll(m => m.Matches(s.Metric));
            byIdentity.TryGetValue((s.Metric.Get(IdentifyingLabels[0]), s.Metric.Get(IdentifyingLabels[1])), out var candidates);
            for (var i = 0; i < g.Count; i++)
            {
                if (!s.Present[i])
                {
                    continue;
                }

                if (isInfo || candidates is null)
                {
                    if (isInfo || !dropUnmatched)
                    {
                        builder.Add(s.Metric, s.DropName, i, s.Values[i]);
                    }

                    continue;
                }

                // Per info metric, the series with the latest sample at the reference time (a churned series loses).
                chosen.Clear();
                foreach (var c in candidates)
                {
                    var t = LatestSampleTime(c, refs[i], lookback);
                    if (t is { } ts)
                    {
                        var name = c.Labels.Name;
                        if (!chosen.TryGetValue(name, out var current) || ts > current.T)
                        {
                            chosen[name] = (c, ts);
                        }
                    }
                }

                if (chosen.Count == 0)
                {
                    if (!dropUnmatched)
                    {
                        builder.Add(s.Metric, s.DropName, i, s.Values[i]);
                    }

                    continue;
                }

                builder.Add(Enrich(s.Metric, chosen.Values.Select(c => c.Series.Labels), dataLabelNames), s.DropName, i, s.Values[i]);
            }
        }

        return builder.ToValue();
    }

    private static Labels Enrich(Labels metric, IEnumerable<Labels> infos, HashSet<string>? dataLabelNames)
    {
        var added = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var info in infos)
        {
            foreach (var l in info)
            {
                if (l.Name == Labels.MetricName || (dataLabelNames is null && IdentifyingLabels.Contains(l.Name)) ||
                    (dataLabelNames is not null && !dataLabelNames.Contains(l.Name)) || metric.Has(l.Name))
                {
                    continue;
                }

                if (added.TryGetValue(l.Name, out var existing) && existing != l.Value)
                {
                    throw ExecError($"conflicting label: \"{l.Name}\" has the values \"{existing}\" and \"{l.Value}\" in different info series");
                }

                added[l.Name] = l.Value;
            }
        }

        if (added.Count == 0)
        {
            return metric;
        }

        return Labels.From([.. metric, .. added.Select(kv => new Label(kv.Key, kv.Value))]);
    }

    /// <summary>The time of the latest sample in (t − lookback, t], unless it is a staleness marker.</summary>
    private static long? LatestSampleTime(InfoSeries s, long t, long lookback)
    {
        var idx = Array.BinarySearch(s.T, 0, s.Count, t);
        var j = idx >= 0 ? idx : ~idx - 1;
        if (j < 0 || s.T[j] <= t - lookback || StaleMarker.IsStale(s.F[j]))
        {
            return null;
        }

        return s.T[j];
    }

    /// <summary>When the first argument's samples were read at step time t: through its selector's or subquery's @ and offset.</summary>
    private long InfoRefTime(Expr e, long t)
    {
        switch (e)
        {
            case VectorSelector vs:
                return (ResolveAt(vs) ?? t) - OffsetOf(vs);
            case MatrixSelector ms:
                return InfoRefTime(ms.Vector, t);
            case SubqueryExpr sq:
                return InfoRefTime(sq.Expr, (ResolveAt(sq) ?? t) - OffsetOf(sq));
            case ParenExpr p:
                return InfoRefTime(p.Inner, t);
            case StepInvariantExpr si:
                return InfoRefTime(si.Expr, t);
            case UnaryExpr u:
                return InfoRefTime(u.Operand, t);
            case AggregateExpr a:
                return InfoRefTime(a.Expr, t);
            case BinaryExpr b:
                return InfoRefTime(b.Lhs.Type == PromQLValueType.InstantVector ? b.Lhs : b.Rhs, t);
            case Call c:
                foreach (var arg in c.Args)
                {
                    if (arg.Type is PromQLValueType.InstantVector or PromQLValueType.RangeVector)
                    {
                        return InfoRefTime(arg, t);
                    }
                }

                return t;
            default:
                return t;
        }
    }
}
