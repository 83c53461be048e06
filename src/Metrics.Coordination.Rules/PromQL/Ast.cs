using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.PromQL;

/// <summary>A character range in the query text: <see cref="Start"/> inclusive, <see cref="End"/> exclusive.</summary>
internal readonly record struct PositionRange(int Start, int End)
{
    public static PositionRange Span(PositionRange a, PositionRange b) => new(Math.Min(a.Start, b.Start), Math.Max(a.End, b.End));
}

/// <summary>What an expression evaluates to.</summary>
public enum PromQLValueType
{
    /// <summary>No value (internal use).</summary>
    None,

    /// <summary>A single number.</summary>
    Scalar,

    /// <summary>One sample per series at the evaluation time.</summary>
    InstantVector,

    /// <summary>A window of samples per series.</summary>
    RangeVector,

    /// <summary>A string literal.</summary>
    String,
}

internal enum BinaryOp
{
    Or,
    And,
    Unless,
    Eql,
    Neq,
    Lte,
    Lss,
    Gte,
    Gtr,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Atan2,
    Pow,
}

internal enum AggregateOp
{
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    TopK,
    BottomK,
    CountValues,
    Quantile,
    LimitK,
    LimitRatio,
}

internal enum MatchKind
{
    /// <summary>No on/ignoring given: match on all labels but the name.</summary>
    Default,
    On,
    Ignoring,
}

internal enum Cardinality
{
    OneToOne,
    ManyToOne,
    OneToMany,
    ManyToMany,
}

/// <summary>Extended range selectors (Prometheus's <c>promql-extended-range-selectors</c>).</summary>
internal enum RangeMode
{
    None,

    /// <summary><c>x[5m] anchored</c>: the last sample at or before the window start joins the window.</summary>
    Anchored,

    /// <summary><c>x[5m] smoothed</c>, <c>x smoothed</c>: values interpolated at the window edges (or the evaluation time).</summary>
    Smoothed,
}

/// <summary>An <c>@ start()</c> / <c>@ end()</c> preprocessor, resolved to a timestamp per query.</summary>
internal enum AtKind
{
    None,
    Start,
    End,
}

internal static class OpInfo
{
    public static int Precedence(BinaryOp op) => op switch
    {
        BinaryOp.Or => 1,
        BinaryOp.And or BinaryOp.Unless => 2,
        BinaryOp.Eql or BinaryOp.Neq or BinaryOp.Lte or BinaryOp.Lss or BinaryOp.Gte or BinaryOp.Gtr => 3,
        BinaryOp.Add or BinaryOp.Sub => 4,
        BinaryOp.Mul or BinaryOp.Div or BinaryOp.Mod or BinaryOp.Atan2 => 5,
        _ => 6, // ^
    };

    /// <summary>Unary minus/plus bind like multiplication: <c>-2^2</c> is <c>-(2^2)</c>, <c>-a*b</c> is <c>(-a)*b</c>.</summary>
    public const int UnaryPrecedence = 5;

    public static bool IsRightAssociative(BinaryOp op) => op == BinaryOp.Pow;

    public static bool IsComparison(BinaryOp op) => op is BinaryOp.Eql or BinaryOp.Neq or BinaryOp.Lte or BinaryOp.Lss or BinaryOp.Gte or BinaryOp.Gtr;

    public static bool IsSetOperator(BinaryOp op) => op is BinaryOp.And or BinaryOp.Or or BinaryOp.Unless;

    public static string Text(BinaryOp op) => op switch
    {
        BinaryOp.Or => "or",
        BinaryOp.And => "and",
        BinaryOp.Unless => "unless",
        BinaryOp.Eql => "==",
        BinaryOp.Neq => "!=",
        BinaryOp.Lte => "<=",
        BinaryOp.Lss => "<",
        BinaryOp.Gte => ">=",
        BinaryOp.Gtr => ">",
        BinaryOp.Add => "+",
        BinaryOp.Sub => "-",
        BinaryOp.Mul => "*",
        BinaryOp.Div => "/",
        BinaryOp.Mod => "%",
        BinaryOp.Atan2 => "atan2",
        _ => "^",
    };

    public static string Text(AggregateOp op) => op switch
    {
        AggregateOp.Sum => "sum",
        AggregateOp.Avg => "avg",
        AggregateOp.Count => "count",
        AggregateOp.Min => "min",
        AggregateOp.Max => "max",
        AggregateOp.Group => "group",
        AggregateOp.Stddev => "stddev",
        AggregateOp.Stdvar => "stdvar",
        AggregateOp.TopK => "topk",
        AggregateOp.BottomK => "bottomk",
        AggregateOp.CountValues => "count_values",
        AggregateOp.Quantile => "quantile",
        AggregateOp.LimitK => "limitk",
        _ => "limit_ratio",
    };

    public static bool HasParameter(AggregateOp op) =>
        op is AggregateOp.TopK or AggregateOp.BottomK or AggregateOp.CountValues or AggregateOp.Quantile or AggregateOp.LimitK or AggregateOp.LimitRatio;

    public static bool IsExperimental(AggregateOp op) => op is AggregateOp.LimitK or AggregateOp.LimitRatio;

    public static string TypeName(PromQLValueType t) => t switch
    {
        PromQLValueType.Scalar => "scalar",
        PromQLValueType.InstantVector => "instant vector",
        PromQLValueType.RangeVector => "range vector",
        PromQLValueType.String => "string",
        _ => "none",
    };
}

/// <summary>A node of the PromQL syntax tree. Positions are not part of structural equality (<see cref="AstEquality"/>).</summary>
internal abstract class Expr
{
    public PositionRange Position { get; set; }

    public abstract PromQLValueType Type { get; }

    public override string ToString() => Printer.Print(this);
}

internal sealed class NumberLiteral(double value, bool isDuration = false) : Expr
{
    public double Value { get; set; } = value;

    /// <summary>Written as a duration (<c>5m</c> = 300); printed back as one.</summary>
    public bool IsDuration { get; } = isDuration;

    public override PromQLValueType Type => PromQLValueType.Scalar;
}

internal sealed class StringLiteral(string value) : Expr
{
    public string Value { get; } = value;

    public override PromQLValueType Type => PromQLValueType.String;
}

internal sealed class ParenExpr(Expr inner) : Expr
{
    public Expr Inner { get; } = inner;

    public override PromQLValueType Type => Inner.Type;
}

internal sealed class UnaryExpr(bool negate, Expr operand) : Expr
{
    public bool Negate { get; } = negate;

    public Expr Operand { get; } = operand;

    public override PromQLValueType Type => Operand.Type;
}

internal sealed class VectorMatching
{
    public MatchKind Kind { get; set; }

    public Cardinality Card { get; set; }

    public IReadOnlyList<string> MatchingLabels { get; set; } = [];

    /// <summary>Labels copied from the "one" side (<c>group_left(a, b)</c>).</summary>
    public IReadOnlyList<string> Include { get; set; } = [];

    /// <summary><c>fill_left(v)</c>: the value of a missing left-hand sample, or null.</summary>
    public double? FillLeft { get; set; }

    /// <summary><c>fill_right(v)</c>: the value of a missing right-hand sample, or null.</summary>
    public double? FillRight { get; set; }
}

internal sealed class BinaryExpr(BinaryOp op, Expr lhs, Expr rhs, bool returnBool, VectorMatching matching) : Expr
{
    public BinaryOp Op { get; } = op;

    public Expr Lhs { get; set; } = lhs;

    public Expr Rhs { get; set; } = rhs;

    public bool ReturnBool { get; } = returnBool;

    public VectorMatching Matching { get; } = matching;

    public override PromQLValueType Type =>
        Lhs.Type == PromQLValueType.Scalar && Rhs.Type == PromQLValueType.Scalar ? PromQLValueType.Scalar : PromQLValueType.InstantVector;
}

internal sealed class AggregateExpr(AggregateOp op, Expr expr, Expr? param, IReadOnlyList<string> grouping, bool without) : Expr
{
    public AggregateOp Op { get; } = op;

    public Expr Expr { get; set; } = expr;

    public Expr? Param { get; set; } = param;

    public IReadOnlyList<string> Grouping { get; } = grouping;

    public bool Without { get; } = without;

    public override PromQLValueType Type => PromQLValueType.InstantVector;
}

internal sealed class Call(FunctionInfo function, IReadOnlyList<Expr> args) : Expr
{
    public FunctionInfo Function { get; } = function;

    public IReadOnlyList<Expr> Args { get; } = args;

    public override PromQLValueType Type => Function.ReturnType;
}

/// <summary>Offset and @ shared by selectors and subqueries.</summary>
internal interface ITimeModified
{
    long OffsetMs { get; set; }

    /// <summary>A duration expression (<c>offset (2 * step())</c>) evaluated per query; <see cref="OffsetMs"/> holds its value when constant.</summary>
    Expr? OffsetExpr { get; set; }

    long? AtMs { get; set; }

    AtKind AtKind { get; set; }
}

internal sealed class VectorSelector(string? name, IReadOnlyList<LabelMatcher> matchers) : Expr, ITimeModified
{
    /// <summary>The metric name when written as <c>name{...}</c> or <c>{"name", ...}</c>; null otherwise.</summary>
    public string? Name { get; } = name;

    /// <summary>The matchers in the braces, without the one implied by <see cref="Name"/>.</summary>
    public IReadOnlyList<LabelMatcher> Matchers { get; } = matchers;

    public long OffsetMs { get; set; }

    public Expr? OffsetExpr { get; set; }

    public long? AtMs { get; set; }

    public AtKind AtKind { get; set; }

    /// <summary>anchored/smoothed; for a range selector it sits on its vector selector, like offset and @.</summary>
    public RangeMode Mode { get; set; }

    public override PromQLValueType Type => PromQLValueType.InstantVector;

    /// <summary>All matchers for the storage, the name matcher first.</summary>
    public LabelMatcher[] AllMatchers()
    {
        if (Name is null)
        {
            return [.. Matchers];
        }

        var all = new LabelMatcher[Matchers.Count + 1];
        all[0] = new LabelMatcher(MatchType.Equal, Labels.MetricName, Name);
        for (var i = 0; i < Matchers.Count; i++)
        {
            all[i + 1] = Matchers[i];
        }

        return all;
    }
}

internal sealed class MatrixSelector(VectorSelector vector, long rangeMs) : Expr
{
    public VectorSelector Vector { get; } = vector;

    public long RangeMs { get; } = rangeMs;

    /// <summary>A duration expression for the range (<c>[5m+1m]</c>, <c>[step()]</c>), or null for a literal.</summary>
    public Expr? RangeExpr { get; init; }

    public override PromQLValueType Type => PromQLValueType.RangeVector;
}

internal sealed class SubqueryExpr(Expr expr, long rangeMs, long stepMs) : Expr, ITimeModified
{
    public Expr Expr { get; set; } = expr;

    public long RangeMs { get; } = rangeMs;

    /// <summary>The resolution, or 0 when omitted (<c>[5m:]</c>: the engine's default evaluation interval).</summary>
    public long StepMs { get; } = stepMs;

    public Expr? RangeExpr { get; init; }

    public Expr? StepExpr { get; init; }

    public long OffsetMs { get; set; }

    public Expr? OffsetExpr { get; set; }

    public long? AtMs { get; set; }

    public AtKind AtKind { get; set; }

    public override PromQLValueType Type => PromQLValueType.RangeVector;
}

/// <summary>Engine-only wrapper: the inner expression gives the same result at every step (it is evaluated once).</summary>
internal sealed class StepInvariantExpr(Expr expr) : Expr
{
    public Expr Expr { get; } = expr;

    public override PromQLValueType Type => Expr.Type;
}

/// <summary>Structural equality of trees, ignoring positions; NaN literals equal each other.</summary>
internal static class AstEquality
{
    public static bool AreEqual(Expr? a, Expr? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        switch (a)
        {
            case NumberLiteral na when b is NumberLiteral nb:
                return na.Value.Equals(nb.Value) && na.IsDuration == nb.IsDuration &&
                       (na.Value != 0 || double.IsNegative(na.Value) == double.IsNegative(nb.Value));
            case StringLiteral sa when b is StringLiteral sb:
                return sa.Value == sb.Value;
            case ParenExpr pa when b is ParenExpr pb:
                return AreEqual(pa.Inner, pb.Inner);
            case UnaryExpr ua when b is UnaryExpr ub:
                return ua.Negate == ub.Negate && AreEqual(ua.Operand, ub.Operand);
            case BinaryExpr ba when b is BinaryExpr bb:
                return ba.Op == bb.Op && ba.ReturnBool == bb.ReturnBool &&
                       ba.Matching.Kind == bb.Matching.Kind && ba.Matching.Card == bb.Matching.Card &&
                       ba.Matching.MatchingLabels.SequenceEqual(bb.Matching.MatchingLabels) &&
                       ba.Matching.Include.SequenceEqual(bb.Matching.Include) &&
                       Nullable.Equals(ba.Matching.FillLeft, bb.Matching.FillLeft) && Nullable.Equals(ba.Matching.FillRight, bb.Matching.FillRight) &&
                       AreEqual(ba.Lhs, bb.Lhs) && AreEqual(ba.Rhs, bb.Rhs);
            case AggregateExpr aa when b is AggregateExpr ab:
                return aa.Op == ab.Op && aa.Without == ab.Without && aa.Grouping.SequenceEqual(ab.Grouping) &&
                       AreEqual(aa.Param, ab.Param) && AreEqual(aa.Expr, ab.Expr);
            case Call ca when b is Call cb:
                return ca.Function.Name == cb.Function.Name && ca.Args.Count == cb.Args.Count &&
                       ca.Args.Zip(cb.Args).All(p => AreEqual(p.First, p.Second));
            case VectorSelector va when b is VectorSelector vb:
                return va.Name == vb.Name && va.Mode == vb.Mode && Modifiers(va, vb) && va.Matchers.Count == vb.Matchers.Count &&
                       va.Matchers.Zip(vb.Matchers).All(p => p.First.Type == p.Second.Type && p.First.Name == p.Second.Name && p.First.Value == p.Second.Value);
            case MatrixSelector ma when b is MatrixSelector mb:
                return ma.RangeMs == mb.RangeMs && AreEqual(ma.RangeExpr, mb.RangeExpr) && AreEqual(ma.Vector, mb.Vector);
            case SubqueryExpr qa when b is SubqueryExpr qb:
                return qa.RangeMs == qb.RangeMs && qa.StepMs == qb.StepMs && AreEqual(qa.RangeExpr, qb.RangeExpr) && AreEqual(qa.StepExpr, qb.StepExpr) &&
                       Modifiers(qa, qb) && AreEqual(qa.Expr, qb.Expr);
            case StepInvariantExpr sa when b is StepInvariantExpr sb:
                return AreEqual(sa.Expr, sb.Expr);
            default:
                return false;
        }
    }

    private static bool Modifiers(ITimeModified a, ITimeModified b) =>
        a.OffsetMs == b.OffsetMs && AreEqual(a.OffsetExpr, b.OffsetExpr) && a.AtMs == b.AtMs && a.AtKind == b.AtKind;
}

/// <summary>
/// Duration expressions (Prometheus's <c>promql-duration-expr</c>): arithmetic over numbers and durations in seconds,
/// <c>step()</c>, <c>range()</c>, <c>min_of</c>, <c>max_of</c>, evaluated once per query.
/// </summary>
internal static class DurationExprs
{
    /// <summary>The value in seconds; <paramref name="stepMs"/> and <paramref name="rangeMs"/> are the query's.</summary>
    public static double Evaluate(Expr e, long stepMs, long rangeMs) => e switch
    {
        NumberLiteral n => n.Value,
        ParenExpr p => Evaluate(p.Inner, stepMs, rangeMs),
        UnaryExpr u => u.Negate ? -Evaluate(u.Operand, stepMs, rangeMs) : Evaluate(u.Operand, stepMs, rangeMs),
        BinaryExpr b => Evaluator.ElemBinop(b.Op, Evaluate(b.Lhs, stepMs, rangeMs), Evaluate(b.Rhs, stepMs, rangeMs)).Value,
        Call { Function.Name: "step" } => stepMs / 1000.0,
        Call { Function.Name: "range" } => rangeMs / 1000.0,
        Call { Function.Name: "min_of" } c => Math.Min(Evaluate(c.Args[0], stepMs, rangeMs), Evaluate(c.Args[1], stepMs, rangeMs)),
        Call { Function.Name: "max_of" } c => Math.Max(Evaluate(c.Args[0], stepMs, rangeMs), Evaluate(c.Args[1], stepMs, rangeMs)),
        _ => throw new InvalidOperationException("not a duration expression: " + e),
    };

    /// <summary>Whether the expression needs the query (step() or range()).</summary>
    public static bool DependsOnQuery(Expr e) => e switch
    {
        ParenExpr p => DependsOnQuery(p.Inner),
        UnaryExpr u => DependsOnQuery(u.Operand),
        BinaryExpr b => DependsOnQuery(b.Lhs) || DependsOnQuery(b.Rhs),
        Call c => c.Function.Name is "step" or "range" || c.Args.Any(DependsOnQuery),
        _ => false,
    };

    /// <summary>Seconds to whole milliseconds, or null when the value is not finite or out of range.</summary>
    public static long? ToMs(double seconds)
    {
        var ms = Math.Round(seconds * 1000);
        return double.IsFinite(ms) && Math.Abs(ms) < 9e15 ? (long)ms : null;
    }

    public static long Offset(ITimeModified m, long stepMs, long rangeMs) =>
        m.OffsetExpr is null ? m.OffsetMs : Checked(m.OffsetExpr, stepMs, rangeMs, allowNonPositive: true, "offset");

    public static long Range(MatrixSelector m, long stepMs, long rangeMs) =>
        m.RangeExpr is null ? m.RangeMs : Checked(m.RangeExpr, stepMs, rangeMs, allowNonPositive: false, "range");

    public static long Range(SubqueryExpr s, long stepMs, long rangeMs) =>
        s.RangeExpr is null ? s.RangeMs : Checked(s.RangeExpr, stepMs, rangeMs, allowNonPositive: false, "subquery range");

    public static long Step(SubqueryExpr s, long stepMs, long rangeMs) =>
        s.StepExpr is null ? s.StepMs : Checked(s.StepExpr, stepMs, rangeMs, allowNonPositive: false, "subquery step");

    private static long Checked(Expr e, long stepMs, long rangeMs, bool allowNonPositive, string what)
    {
        var seconds = Evaluate(e, stepMs, rangeMs);
        if (ToMs(seconds) is not { } ms || (!allowNonPositive && ms <= 0))
        {
            throw new PromQLQueryException(PromQLErrorKind.Execution, $"{what} duration must be a positive finite number of seconds, got {Printer.FormatFloat(seconds)} from {e}");
        }

        return ms;
    }
}
