using FsCheck;
using FsCheck.Fluent;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules.PromQL;
using MatchType = Metrics.Coordination.Abstractions.MatchType;

namespace Metrics.Coordination.Rules.Tests.PromQL;

/// <summary>
/// FsCheck generators of well-typed PromQL trees in the shape the parser produces: parentheses (ParenExpr) wherever
/// precedence needs them, sign folded into number literals, set operators many-to-many.
/// </summary>
internal static class AstGenerators
{
    private static readonly string[] MetricNames = ["up", "http_requests_total", "a", "foo:bar:rate5m", "my.metric", "名前", "b_c1", "x"];
    private static readonly string[] LabelNames = ["job", "instance", "le", "a_b", "__name__", "my.label", "ünï", "by", "sum", "and"];
    private static readonly string[] Values = ["", "api", "a\"b", "back\\slash", "new\nline", "tab\t", "é😀", "0.5", "`tick`", "'q'"];
    private static readonly string[] Regexes = ["a.*", "api|web", "[0-9]+", "(x|y)?z", ".+", "\\d{2}"];

    public static Gen<Expr> Any() => Gen.Sized(size => Gen.Elements(PromQLValueType.Scalar, PromQLValueType.InstantVector, PromQLValueType.RangeVector, PromQLValueType.String)
        .SelectMany(t => Of(t, Math.Min(size / 10, 4))));

    public static Gen<Expr> Of(PromQLValueType type, int depth) => type switch
    {
        PromQLValueType.Scalar => Scalar(depth),
        PromQLValueType.InstantVector => Vector(depth),
        PromQLValueType.RangeVector => Range(depth),
        _ => Str(),
    };

    private static Gen<Expr> Str() => Gen.Elements(Values).Select(v => (Expr)new StringLiteral(v));

    private static Gen<Expr> Number() => Gen.OneOf(
        Gen.Elements(0.0, 1.0, 2.5, 1e100, 1e-7, double.PositiveInfinity, double.NaN, 42.0, 0.1).Select(v => (Expr)new NumberLiteral(v)),
        Gen.Elements(-1.0, -0.0, double.NegativeInfinity, -3.25).Select(v => (Expr)new NumberLiteral(v)),
        Gen.Elements(1000L, 90_000L, 3_600_000L, 5_400_000L, 86_400_000L, 604_800_000L, 1500L, 1L).Select(ms => (Expr)new NumberLiteral(ms / 1000.0, isDuration: true)));

    private static Gen<Expr> Scalar(int depth)
    {
        if (depth <= 0)
        {
            return Number();
        }

        return Gen.Frequency(
            (3, Number()),
            (1, Gen.Elements("time", "pi").Select(f => (Expr)new Call(FunctionInfo.All[f], []))),
            (1, Vector(depth - 1).Select(v => (Expr)new Call(FunctionInfo.All["scalar"], [v]))),
            (2, Binary(PromQLValueType.Scalar, PromQLValueType.Scalar, depth)),
            (1, Scalar(depth - 1).Select(Paren)),
            (1, Scalar(depth - 1).Select(e => Unary(e))));
    }

    private static Gen<Expr> Vector(int depth)
    {
        if (depth <= 0)
        {
            return Selector().Select(v => (Expr)v);
        }

        return Gen.Frequency(
            (3, Selector().Select(v => (Expr)v)),
            (3, CallReturning(PromQLValueType.InstantVector, depth)),
            (2, Aggregate(depth)),
            (2, Binary(PromQLValueType.InstantVector, PromQLValueType.InstantVector, depth)),
            (1, Binary(PromQLValueType.InstantVector, PromQLValueType.Scalar, depth)),
            (1, Binary(PromQLValueType.Scalar, PromQLValueType.InstantVector, depth)),
            (1, Vector(depth - 1).Select(Paren)),
            (1, Vector(depth - 1).Select(e => Unary(e))));
    }

    private static readonly string[] DurationTexts = ["5m + 1m", "step()", "2 * (1m + 30s)", "max_of(1m, step())", "1h / 2", "-5m + 35m", "range() ^ 1"];
    private static readonly string[] OffsetTexts = ["(1m * 2)", "-step()", "min_of(1m, range())", "(-(2 ^ 2))"];
    private static readonly PromQLParserOptions DurationOptions = new() { EnableExperimentalFunctions = true, EnableDurationExpressions = true };

    /// <summary>A duration expression as the parser builds it (range and value), or a plain literal.</summary>
    private static Gen<(long Ms, Expr? Expr)> DurationOperand(params long[] literals) => Gen.Frequency(
        (4, Gen.Elements(literals).Select(ms => (ms, (Expr?)null))),
        (1, Gen.Elements(DurationTexts).Select(text =>
        {
            var m = (MatrixSelector)PromQLExpression.Parse($"x[{text}]", DurationOptions).Root;
            return (m.RangeMs, m.RangeExpr);
        })));

    private static Gen<Expr?> OffsetExpression() => Gen.Frequency(
        (5, Gen.Constant<Expr?>(null)),
        (1, Gen.Elements(OffsetTexts).Select(text => ((VectorSelector)PromQLExpression.Parse($"x offset {text}", DurationOptions).Root).OffsetExpr)));

    private static Gen<Expr> Range(int depth)
    {
        var matrix = from vs in Selector(withModifiers: false)
                     from range in DurationOperand(1000L, 300_000L, 90_000L, 3_600_000L, 1L)
                     from mods in Modifiers()
                     from offsetExpr in OffsetExpression()
                     from mode in Gen.Frequency((6, Gen.Constant(RangeMode.None)), (1, Gen.Constant(RangeMode.Anchored)), (1, Gen.Constant(RangeMode.Smoothed)))
                     select (Expr)WithMode(WithOffsetExpr(Apply(new MatrixSelector(vs, range.Ms) { RangeExpr = range.Expr }, vs, mods), vs, offsetExpr), vs, mode);
        if (depth <= 0)
        {
            return matrix;
        }

        var subquery = from inner in Vector(depth - 1)
                       from range in DurationOperand(300_000L, 3_600_000L, 10_000L)
                       from step in DurationOperand(0L, 60_000L, 1000L)
                       from mods in Modifiers()
                       select (Expr)ApplySubquery(inner is BinaryExpr or UnaryExpr ? Paren(inner) : inner, range, step, mods);
        return Gen.Frequency((2, matrix), (1, subquery));
    }

    private static Expr ApplySubquery(Expr inner, (long Ms, Expr? Expr) range, (long Ms, Expr? Expr) step, (long Offset, long? At, AtKind Kind) mods)
    {
        var sq = new SubqueryExpr(inner, range.Ms, step.Ms) { RangeExpr = range.Expr, StepExpr = step.Expr };
        return Apply(sq, sq, mods);
    }

    private static Expr WithMode(Expr e, VectorSelector vs, RangeMode mode)
    {
        vs.Mode = mode;
        return e;
    }

    private static Expr WithOffsetExpr(Expr e, ITimeModified target, Expr? offsetExpr)
    {
        if (offsetExpr is not null)
        {
            target.OffsetExpr = offsetExpr;
            target.OffsetMs = DurationExprs.DependsOnQuery(offsetExpr) ? 0 : DurationExprs.ToMs(DurationExprs.Evaluate(offsetExpr, 0, 0))!.Value;
        }

        return e;
    }

    private static Expr Apply(Expr e, ITimeModified target, (long Offset, long? At, AtKind Kind) mods)
    {
        target.OffsetMs = mods.Offset;
        target.AtMs = mods.At;
        target.AtKind = mods.Kind;
        return e;
    }

    private static Gen<(long Offset, long? At, AtKind Kind)> Modifiers() =>
        from offset in Gen.Elements(0L, 0L, 300_000L, -60_000L, 1500L)
        from at in Gen.Frequency(
            (4, Gen.Constant<(long?, AtKind)>((null, AtKind.None))),
            (1, Gen.Elements(0L, 1_700_000_000_123L, -5000L).Select(t => ((long?)t, AtKind.None))),
            (1, Gen.Elements(AtKind.Start, AtKind.End).Select(k => ((long?)null, k))))
        select (offset, at.Item1, at.Item2);

    private static Gen<VectorSelector> Selector(bool withModifiers = true) =>
        from name in Gen.Frequency((4, Gen.Elements(MetricNames).Select(n => (string?)n)), (1, Gen.Constant<string?>(null)))
        from count in Gen.Choose(name is null ? 1 : 0, 3)
        from matchers in Gen.CollectToArray(Enumerable.Range(0, count).Select(_ => Matcher(name is not null)))
        from mods in withModifiers ? Modifiers() : Gen.Constant<(long, long?, AtKind)>((0, null, AtKind.None))
        from smoothed in withModifiers ? Gen.Frequency((8, Gen.Constant(false)), (1, Gen.Constant(true))) : Gen.Constant(false)
        where name is not null || matchers.Any(m => !m.Matches(string.Empty))
        select WithSmoothed(WithMods(new VectorSelector(name, matchers), mods), smoothed);

    private static VectorSelector WithSmoothed(VectorSelector vs, bool smoothed)
    {
        vs.Mode = smoothed ? RangeMode.Smoothed : RangeMode.None;
        return vs;
    }

    private static VectorSelector WithMods(VectorSelector vs, (long Offset, long? At, AtKind Kind) mods)
    {
        vs.OffsetMs = mods.Offset;
        vs.AtMs = mods.At;
        vs.AtKind = mods.Kind;
        return vs;
    }

    private static Gen<LabelMatcher> Matcher(bool hasName) =>
        from name in Gen.Elements(hasName ? LabelNames.Where(l => l != Labels.MetricName).ToArray() : LabelNames)
        from type in Gen.Elements(MatchType.Equal, MatchType.NotEqual, MatchType.Regex, MatchType.NotRegex)
        from value in type is MatchType.Regex or MatchType.NotRegex ? Gen.Elements(Regexes) : Gen.Elements(Values)
        select new LabelMatcher(type, name, value);

    private static Gen<Expr> CallReturning(PromQLValueType type, int depth)
    {
        // info() takes a selector as its second argument; it is generated on its own below.
        var candidates = FunctionInfo.All.Values.Where(f => f.ReturnType == type && f.ArgTypes.Length > 0 && f.Name != "info").OrderBy(f => f.Name, StringComparer.Ordinal).ToArray();
        if (type == PromQLValueType.InstantVector)
        {
            var info = from v in Vector(depth - 1)
                       from sel in Selector(withModifiers: false)
                       from withSelector in Gen.Elements(false, true)
                       select (Expr)new Call(FunctionInfo.All["info"], withSelector ? [v, sel] : [v]);
            return Gen.Frequency((12, CallsOf(candidates, depth)), (1, info));
        }

        return CallsOf(candidates, depth);
    }

    private static Gen<Expr> CallsOf(FunctionInfo[] candidates, int depth)
    {
        return from f in Gen.Elements(candidates)
               from extra in f.Variadic == 0 ? Gen.Constant(0) : Gen.Choose(f.Variadic < 0 ? 0 : -1, f.Variadic < 0 ? 2 : f.Variadic - 1)
               from args in Gen.CollectToArray(ArgTypes(f, extra).Select(t => Of(t, depth - 1)))
               select (Expr)new Call(f, args);
    }

    private static IEnumerable<PromQLValueType> ArgTypes(FunctionInfo f, int extra)
    {
        // Variadic: the last type may be omitted (extra = -1) or repeated.
        var fixedCount = f.Variadic == 0 ? f.ArgTypes.Length : f.ArgTypes.Length - 1;
        for (var i = 0; i < fixedCount; i++)
        {
            yield return f.ArgTypes[i];
        }

        if (f.Variadic != 0)
        {
            for (var i = 0; i < extra + 1; i++)
            {
                yield return f.ArgTypes[^1];
            }
        }
    }

    private static Gen<Expr> Aggregate(int depth) =>
        from op in Gen.Elements(Enum.GetValues<AggregateOp>())
        from expr in Vector(depth - 1)
        from param in op == AggregateOp.CountValues ? Str().Select(s => (Expr?)s) : OpInfo.HasParameter(op) ? Scalar(depth - 1).Select(s => (Expr?)s) : Gen.Constant<Expr?>(null)
        from without in Gen.Elements(false, true)
        from grouping in Gen.Choose(0, 3).SelectMany(n => Gen.Elements(LabelNames).ArrayOf(n))
        select (Expr)new AggregateExpr(op, expr, param, grouping.Distinct().ToArray(), without);

    private static Gen<Expr> Binary(PromQLValueType left, PromQLValueType right, int depth)
    {
        var bothVectors = left == PromQLValueType.InstantVector && right == PromQLValueType.InstantVector;
        var ops = Enum.GetValues<BinaryOp>().Where(o => bothVectors || !OpInfo.IsSetOperator(o)).ToArray();
        return from op in Gen.Elements(ops)
               from lhs in Of(left, depth - 1)
               from rhs in Of(right, depth - 1)
               from returnBool in OpInfo.IsComparison(op) ? (left == PromQLValueType.Scalar && right == PromQLValueType.Scalar ? Gen.Constant(true) : Gen.Elements(false, true)) : Gen.Constant(false)
               from matching in bothVectors ? Matching(op) : Gen.Constant(new VectorMatching())
               select MakeBinary(op, lhs, rhs, returnBool, matching);
    }

    private static Gen<VectorMatching> Matching(BinaryOp op) =>
        from kind in Gen.Elements(MatchKind.Default, MatchKind.On, MatchKind.Ignoring)
        from labels in Gen.Choose(0, 2).SelectMany(n => Gen.Elements("job", "instance", "a.b", "x")!.ArrayOf(n))
        from card in OpInfo.IsSetOperator(op) || kind == MatchKind.Default
            ? Gen.Constant(OpInfo.IsSetOperator(op) ? Cardinality.ManyToMany : Cardinality.OneToOne)
            : Gen.Elements(Cardinality.OneToOne, Cardinality.ManyToOne, Cardinality.OneToMany)
        from include in card is Cardinality.ManyToOne or Cardinality.OneToMany ? Gen.Choose(0, 2).SelectMany(n => Gen.Elements("team", "owner", "z.z").ArrayOf(n)) : Gen.Constant(Array.Empty<string>())
        from fillLeft in OpInfo.IsSetOperator(op) ? Gen.Constant<double?>(null) : FillValue()
        from fillRight in OpInfo.IsSetOperator(op) ? Gen.Constant<double?>(null) : FillValue()
        select new VectorMatching
        {
            FillLeft = fillLeft,
            FillRight = fillRight,
            Kind = kind,
            Card = card,
            MatchingLabels = kind == MatchKind.Default ? [] : labels.Distinct().ToArray(),
            Include = include.Distinct().ToArray(),
        };

    private static Gen<double?> FillValue() => Gen.Frequency(
        (4, Gen.Constant<double?>(null)),
        (1, Gen.Elements(0.0, -1.5, double.NaN, double.NegativeInfinity, 1e100).Select(v => (double?)v)));

    private static Expr MakeBinary(BinaryOp op, Expr lhs, Expr rhs, bool returnBool, VectorMatching matching)
    {
        var prec = OpInfo.Precedence(op);
        var right = OpInfo.IsRightAssociative(op);
        if (Printer.NeedsParens(lhs, prec, isRight: false, right))
        {
            lhs = Paren(lhs);
        }

        if (Printer.NeedsParens(rhs, prec, isRight: true, right))
        {
            rhs = Paren(rhs);
        }

        return new BinaryExpr(op, lhs, rhs, returnBool, matching);
    }

    private static Expr Paren(Expr e) => new ParenExpr(e);

    private static Expr Unary(Expr operand) =>
        new UnaryExpr(true, Printer.NeedsParensAsUnaryOperand(operand) ? Paren(operand) : operand);
}
