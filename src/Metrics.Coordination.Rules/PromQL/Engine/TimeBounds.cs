namespace Metrics.Coordination.Rules.PromQL;

/// <summary>The time range a query reads: from the earliest lookback or range window start to the latest step, through offsets, @ and subqueries.</summary>
internal static class TimeBounds
{
    public static (long Min, long Max) Compute(Expr root, in PromQLQuery query, EngineSettings settings)
    {
        var min = long.MaxValue;
        var max = long.MinValue;
        Walk(root, query.StartMs, query.EndMs, query, settings, ref min, ref max);
        if (min > max)
        {
            // No selectors: the querier is never used, any valid range will do.
            return (query.StartMs, query.EndMs);
        }

        return (min, max);
    }

    private static void Walk(Expr e, long start, long end, in PromQLQuery q, EngineSettings s, ref long min, ref long max)
    {
        switch (e)
        {
            case VectorSelector vs:
                Extend(vs, start, end, s.LookbackMs, q, ref min, ref max);
                if (vs.Mode == RangeMode.Smoothed)
                {
                    // Smoothed selectors interpolate towards the next sample, up to a lookback after the step.
                    max = checked(max + s.LookbackMs);
                }

                break;
            case MatrixSelector ms:
            {
                var range = DurationExprs.Range(ms, q.StepMs, q.EndMs - q.StartMs);
                Extend(ms.Vector, start, end, ms.Vector.Mode == RangeMode.None ? range : range + s.LookbackMs, q, ref min, ref max);
                if (ms.Vector.Mode == RangeMode.Smoothed)
                {
                    max = checked(max + s.LookbackMs);
                }

                break;
            }
            case SubqueryExpr sq:
            {
                var (a, b) = Refs(sq, start, end, q);
                Walk(sq.Expr, a - DurationExprs.Range(sq, q.StepMs, q.EndMs - q.StartMs), b, q, s, ref min, ref max);
                break;
            }

            case ParenExpr p:
                Walk(p.Inner, start, end, q, s, ref min, ref max);
                break;
            case StepInvariantExpr si:
                Walk(si.Expr, start, end, q, s, ref min, ref max);
                break;
            case UnaryExpr u:
                Walk(u.Operand, start, end, q, s, ref min, ref max);
                break;
            case BinaryExpr b:
                Walk(b.Lhs, start, end, q, s, ref min, ref max);
                Walk(b.Rhs, start, end, q, s, ref min, ref max);
                break;
            case AggregateExpr a:
                if (a.Param is not null)
                {
                    Walk(a.Param, start, end, q, s, ref min, ref max);
                }

                Walk(a.Expr, start, end, q, s, ref min, ref max);
                break;
            case Call { Function.Name: "info" } info:
                // The info selector is read at the first argument's reference times, inside its bounds.
                Walk(info.Args[0], start, end, q, s, ref min, ref max);
                break;
            case Call c:
                foreach (var arg in c.Args)
                {
                    Walk(arg, start, end, q, s, ref min, ref max);
                }

                break;
        }
    }

    private static (long, long) Refs(ITimeModified m, long start, long end, in PromQLQuery q)
    {
        long? at = m.AtKind switch { AtKind.Start => q.StartMs, AtKind.End => q.EndMs, _ => m.AtMs };
        var offset = DurationExprs.Offset(m, q.StepMs, q.EndMs - q.StartMs);
        return ((at ?? start) - offset, (at ?? end) - offset);
    }

    private static void Extend(VectorSelector vs, long start, long end, long window, in PromQLQuery q, ref long min, ref long max)
    {
        var (a, b) = Refs(vs, start, end, q);
        min = Math.Min(min, a - window + 1);
        max = Math.Max(max, b);
    }
}
