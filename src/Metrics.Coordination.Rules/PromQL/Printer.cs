using System.Globalization;
using System.Text;
using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.PromQL;

/// <summary>
/// Prints a tree back to PromQL. Parentheses from the source are kept (<see cref="ParenExpr"/>); where a tree built in
/// code needs more for precedence, they are added. So for every tree the parser can produce,
/// <c>Parse(Print(t))</c> equals <c>t</c>.
/// </summary>
internal static class Printer
{
    public static string Print(Expr e) => Print(e, null);

    /// <summary>Prints the tree; with <paramref name="forceAtMs"/>, every selector and subquery without an @ gets <c>@ forceAtMs</c> (the test runner's @ variants).</summary>
    public static string Print(Expr e, long? forceAtMs)
    {
        var sb = new StringBuilder();
        Write(sb, e, forceAtMs);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, Expr e, long? at)
    {
        switch (e)
        {
            case NumberLiteral n:
                sb.Append(FormatNumber(n));
                break;
            case StringLiteral s:
                sb.Append(Parser.GoQuote(s.Value));
                break;
            case ParenExpr p:
                sb.Append('(');
                Write(sb, p.Inner, at);
                sb.Append(')');
                break;
            case UnaryExpr u:
                sb.Append(u.Negate ? '-' : '+');
                WriteOperand(sb, u.Operand, NeedsParensAsUnaryOperand(u.Operand), at);
                break;
            case BinaryExpr b:
                WriteBinary(sb, b, at);
                break;
            case AggregateExpr a:
                sb.Append(OpInfo.Text(a.Op));
                if (a.Without || a.Grouping.Count > 0)
                {
                    sb.Append(a.Without ? " without (" : " by (");
                    WriteLabelList(sb, a.Grouping);
                    sb.Append(") ");
                }

                sb.Append('(');
                if (a.Param is not null)
                {
                    Write(sb, a.Param, at);
                    sb.Append(", ");
                }

                Write(sb, a.Expr, at);
                sb.Append(')');
                break;
            case Call c:
                sb.Append(c.Function.Name).Append('(');
                for (var i = 0; i < c.Args.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(", ");
                    }

                    Write(sb, c.Args[i], at);
                }

                sb.Append(')');
                break;
            case VectorSelector v:
                WriteSelector(sb, v);
                WriteModifiers(sb, v, at);
                WriteMode(sb, v);
                break;
            case MatrixSelector m:
                WriteSelector(sb, m.Vector);
                sb.Append('[');
                WriteDuration(sb, m.RangeMs, m.RangeExpr);
                sb.Append(']');
                WriteModifiers(sb, m.Vector, at);
                WriteMode(sb, m.Vector);
                break;
            case SubqueryExpr q:
                // Upstream's @ variants leave selectors inside a subquery alone (the subquery itself gets the @).
                WriteOperand(sb, q.Expr, q.Expr is BinaryExpr or UnaryExpr || (q.Expr is NumberLiteral nl && (nl.Value < 0 || double.IsNegative(nl.Value))), null);
                sb.Append('[');
                WriteDuration(sb, q.RangeMs, q.RangeExpr);
                sb.Append(':');
                if (q.StepMs != 0 || q.StepExpr is not null)
                {
                    WriteDuration(sb, q.StepMs, q.StepExpr);
                }

                sb.Append(']');
                WriteModifiers(sb, q, at);
                break;
            case StepInvariantExpr s:
                Write(sb, s.Expr, at);
                break;
            default:
                throw new InvalidOperationException("Unknown node " + e.GetType().Name);
        }
    }

    private static void WriteBinary(StringBuilder sb, BinaryExpr b, long? at)
    {
        var prec = OpInfo.Precedence(b.Op);
        var rightAssoc = OpInfo.IsRightAssociative(b.Op);
        WriteOperand(sb, b.Lhs, NeedsParens(b.Lhs, prec, isRight: false, rightAssoc), at);
        sb.Append(' ').Append(OpInfo.Text(b.Op));
        if (b.ReturnBool)
        {
            sb.Append(" bool");
        }

        var m = b.Matching;
        if (m.Kind != MatchKind.Default)
        {
            sb.Append(m.Kind == MatchKind.On ? " on (" : " ignoring (");
            WriteLabelList(sb, m.MatchingLabels);
            sb.Append(')');
            if (m.Card is Cardinality.ManyToOne or Cardinality.OneToMany)
            {
                // Always with parentheses: "group_left (x)" with a parenthesised right side would read x as labels.
                sb.Append(m.Card == Cardinality.ManyToOne ? " group_left (" : " group_right (");
                WriteLabelList(sb, m.Include);
                sb.Append(')');
            }
        }

        if (m.FillLeft is { } fl && m.FillRight is { } fr && fl.Equals(fr))
        {
            sb.Append(" fill(").Append(FormatFloat(fl)).Append(')');
        }
        else
        {
            if (m.FillLeft is { } left)
            {
                sb.Append(" fill_left(").Append(FormatFloat(left)).Append(')');
            }

            if (m.FillRight is { } right)
            {
                sb.Append(" fill_right(").Append(FormatFloat(right)).Append(')');
            }
        }

        sb.Append(' ');
        WriteOperand(sb, b.Rhs, NeedsParens(b.Rhs, prec, isRight: true, rightAssoc), at);
    }

    private static void WriteOperand(StringBuilder sb, Expr e, bool parens, long? at)
    {
        if (parens)
        {
            sb.Append('(');
        }

        Write(sb, e, at);
        if (parens)
        {
            sb.Append(')');
        }
    }

    internal static bool NeedsParens(Expr child, int parentPrec, bool isRight, bool parentRightAssoc)
    {
        switch (child)
        {
            case BinaryExpr cb:
                var cp = OpInfo.Precedence(cb.Op);
                if (cp != parentPrec)
                {
                    return cp < parentPrec;
                }

                // Equal precedence: only the associative side goes without parentheses.
                return isRight != parentRightAssoc;
            case UnaryExpr:
                // Unary binds like *, so "-a ^ b" would mean "-(a ^ b)".
                return !isRight && parentPrec > OpInfo.UnaryPrecedence;
            case NumberLiteral n:
                return !isRight && parentPrec > OpInfo.UnaryPrecedence && (n.Value < 0 || double.IsNegative(n.Value));
            default:
                return false;
        }
    }

    internal static bool NeedsParensAsUnaryOperand(Expr operand) => operand switch
    {
        BinaryExpr b => OpInfo.Precedence(b.Op) <= OpInfo.UnaryPrecedence,
        NumberLiteral => true, // "-1" would fold into the literal
        _ => false,
    };

    private static void WriteModifiers(StringBuilder sb, ITimeModified m, long? forceAt)
    {
        if (m.AtKind == AtKind.Start)
        {
            sb.Append(" @ start()");
        }
        else if (m.AtKind == AtKind.End)
        {
            sb.Append(" @ end()");
        }
        else if ((m.AtMs ?? forceAt) is { } at)
        {
            sb.Append(" @ ").Append(FormatSeconds(at));
        }

        if (m.OffsetExpr is not null)
        {
            sb.Append(" offset ");
            Write(sb, m.OffsetExpr, null);
        }
        else if (m.OffsetMs != 0)
        {
            sb.Append(" offset ").Append(Durations.Format(m.OffsetMs));
        }
    }

    private static void WriteMode(StringBuilder sb, VectorSelector v) => sb.Append(v.Mode switch
    {
        RangeMode.Anchored => " anchored",
        RangeMode.Smoothed => " smoothed",
        _ => string.Empty,
    });

    private static void WriteDuration(StringBuilder sb, long ms, Expr? expr)
    {
        if (expr is null)
        {
            sb.Append(Durations.Format(ms));
        }
        else
        {
            Write(sb, expr, null);
        }
    }

    private static void WriteSelector(StringBuilder sb, VectorSelector v)
    {
        var legacyName = v.Name is not null && MetricNames.IsValidLegacyMetricName(v.Name);
        if (legacyName)
        {
            sb.Append(v.Name);
            if (v.Matchers.Count == 0)
            {
                return;
            }
        }

        sb.Append('{');
        var first = true;
        if (v.Name is not null && !legacyName)
        {
            sb.Append(Parser.GoQuote(v.Name));
            first = false;
        }

        foreach (var m in v.Matchers)
        {
            if (!first)
            {
                sb.Append(", ");
            }

            first = false;
            sb.Append(MetricNames.IsValidLegacyLabelName(m.Name) ? m.Name : Parser.GoQuote(m.Name));
            sb.Append(m.Type switch { MatchType.Equal => "=", MatchType.NotEqual => "!=", MatchType.Regex => "=~", _ => "!~" });
            sb.Append(Parser.GoQuote(m.Value));
        }

        sb.Append('}');
    }

    private static void WriteLabelList(StringBuilder sb, IReadOnlyList<string> labels)
    {
        for (var i = 0; i < labels.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            var l = labels[i];
            sb.Append(MetricNames.IsValidLegacyLabelName(l) ? l : Parser.GoQuote(l));
        }
    }

    private static string FormatNumber(NumberLiteral n)
    {
        var v = n.Value;
        if (n.IsDuration && double.IsFinite(v))
        {
            var ms = v * 1000;
            if (ms == Math.Round(ms) && Math.Abs(ms) < 9e15)
            {
                return Durations.Format((long)ms);
            }
        }

        return FormatFloat(v);
    }

    /// <summary>Shortest round-trip text of a float in PromQL syntax (<c>Inf</c>, <c>-Inf</c>, <c>NaN</c>, <c>1e+100</c>).</summary>
    internal static string FormatFloat(double v)
    {
        if (double.IsNaN(v))
        {
            return "NaN";
        }

        if (double.IsPositiveInfinity(v))
        {
            return "Inf";
        }

        if (double.IsNegativeInfinity(v))
        {
            return "-Inf";
        }

        if (v == 0 && double.IsNegative(v))
        {
            return "-0";
        }

        return v.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e", StringComparison.Ordinal);
    }

    private static string FormatSeconds(long ms)
    {
        var sign = ms < 0 ? "-" : string.Empty;
        var abs = Math.Abs((decimal)ms);
        return sign + (abs / 1000m).ToString("0.000", CultureInfo.InvariantCulture);
    }
}
