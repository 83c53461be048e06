using System.Globalization;
using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.PromQL;

/// <summary>
/// Recursive-descent PromQL parser with Prometheus's precedence (or &lt; and/unless &lt; comparisons &lt; +,- &lt;
/// *,/,%,atan2 &lt; unary &lt; ^ (right-associative) &lt; offset/@/[range]) and its type checks, raised at parse time as
/// Prometheus raises them.
/// </summary>
internal sealed class Parser
{
    // Keywords Prometheus also accepts as metric names (its grammar's metric_identifier).
    private static readonly HashSet<string> KeywordsUsableAsMetricName = new(StringComparer.Ordinal)
    {
        "by", "without", "offset", "start", "end", "and", "or", "unless",
        "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk", "count_values", "quantile", "limitk", "limit_ratio",
    };

    private readonly string _query;
    private readonly List<Token> _tokens;
    private readonly bool _experimental;
    private readonly bool _durationExpressions;
    private readonly bool _fillModifiers;
    private readonly bool _extendedRanges;
    private bool _allowEmptySelector;
    private int _index;

    private Parser(string query, bool experimental, bool durationExpressions, bool fillModifiers, bool extendedRanges)
    {
        _extendedRanges = extendedRanges;
        _fillModifiers = fillModifiers;
        _query = query;
        _experimental = experimental;
        _durationExpressions = durationExpressions;
        _tokens = Lexer.Tokenize(query);
    }

    public static Expr Parse(
        string query, bool enableExperimentalFunctions = true, bool enableDurationExpressions = true, bool enableFillModifiers = true, bool enableExtendedRanges = true)
    {
        ArgumentNullException.ThrowIfNull(query);
        var p = new Parser(query, enableExperimentalFunctions, enableDurationExpressions, enableFillModifiers, enableExtendedRanges);
        if (p.Peek.Kind == TokenKind.Eof)
        {
            throw new PromQLParseException(query, 0, query.Length, "no expression found in input");
        }

        var e = p.ParseExpr(0);
        var t = p.Peek;
        if (t.Kind != TokenKind.Eof)
        {
            throw t.Kind switch
            {
                TokenKind.RightParen => p.Error(t.Range, "unexpected right parenthesis ')'"),
                TokenKind.RightBracket => p.Error(t.Range, "unexpected right bracket ']'"),
                _ => p.Error(t.Range, $"unexpected {t.Describe()}"),
            };
        }

        return e;
    }

    /// <summary>Parses a metric selector alone (<c>foo{a="b"}</c>), as the script language's load lines and the series API need.</summary>
    public static VectorSelector ParseSelector(string text)
    {
        var e = Parse(text);
        return e as VectorSelector ?? throw new PromQLParseException(text, 0, text.Length, "expected a metric selector");
    }

    private Token Peek => _tokens[_index];

    private Token PeekAt(int ahead) => _tokens[Math.Min(_index + ahead, _tokens.Count - 1)];

    private Token Next() => _tokens[_index++];

    private PromQLParseException Error(PositionRange range, string message) => new(_query, range.Start, range.End, message);

    private PromQLParseException Unexpected(string? context = null, string? expected = null)
    {
        var t = Peek;
        var msg = "unexpected " + t.Describe();
        if (context is not null)
        {
            msg += " in " + context;
        }

        if (expected is not null)
        {
            msg += ", expected " + expected;
        }

        return Error(t.Range, msg);
    }

    private Token Expect(TokenKind kind, string context, string expected)
    {
        if (Peek.Kind != kind)
        {
            throw Unexpected(context, expected);
        }

        return Next();
    }

    private Expr ParseExpr(int minPrecedence)
    {
        var lhs = ParseUnary();
        while (true)
        {
            var opToken = Peek;
            if (!TryBinaryOp(opToken, out var op))
            {
                return lhs;
            }

            var prec = OpInfo.Precedence(op);
            if (prec < minPrecedence)
            {
                return lhs;
            }

            Next();
            var returnBool = false;
            var matching = new VectorMatching();
            if (Peek.IsKeyword("bool"))
            {
                Next();
                returnBool = true;
            }

            if (Peek.IsKeyword("on") || Peek.IsKeyword("ignoring"))
            {
                matching.Kind = Next().Text == "on" ? MatchKind.On : MatchKind.Ignoring;
                matching.MatchingLabels = ParseLabelList("grouping opts");
                if (Peek.IsKeyword("group_left") || Peek.IsKeyword("group_right"))
                {
                    matching.Card = Next().Text == "group_left" ? Cardinality.ManyToOne : Cardinality.OneToMany;
                    if (Peek.Kind == TokenKind.LeftParen)
                    {
                        matching.Include = ParseLabelList("grouping opts");
                    }
                }
            }

            while (_fillModifiers && Peek.Kind == TokenKind.Identifier && PeekAt(1).Kind == TokenKind.LeftParen &&
                   Peek.Text.ToLowerInvariant() is "fill" or "fill_left" or "fill_right")
            {
                var which = Next();
                Next();
                var negative = false;
                if (Peek.Kind is TokenKind.Sub or TokenKind.Add)
                {
                    negative = Next().Kind == TokenKind.Sub;
                }

                if (Peek.Kind != TokenKind.Number)
                {
                    throw Unexpected("fill modifier", "number");
                }

                var value = ParseNumber(Next());
                value = negative ? -value : value;
                var close = Expect(TokenKind.RightParen, "fill modifier", "\")\"");
                var kind = which.Text.ToLowerInvariant();
                var setLeft = kind is "fill" or "fill_left";
                var setRight = kind is "fill" or "fill_right";
                if ((setLeft && matching.FillLeft is not null) || (setRight && matching.FillRight is not null))
                {
                    throw Error(new PositionRange(which.Start, close.End), "fill modifier may not be set multiple times");
                }

                matching.FillLeft = setLeft ? value : matching.FillLeft;
                matching.FillRight = setRight ? value : matching.FillRight;
            }

            var rhs = ParseExpr(OpInfo.IsRightAssociative(op) ? prec : prec + 1);
            lhs = MakeBinary(op, opToken.Range, lhs, rhs, returnBool, matching);
        }
    }

    private static bool TryBinaryOp(Token t, out BinaryOp op)
    {
        op = t.Kind switch
        {
            TokenKind.Add => BinaryOp.Add,
            TokenKind.Sub => BinaryOp.Sub,
            TokenKind.Mul => BinaryOp.Mul,
            TokenKind.Div => BinaryOp.Div,
            TokenKind.Mod => BinaryOp.Mod,
            TokenKind.Pow => BinaryOp.Pow,
            TokenKind.EqlC => BinaryOp.Eql,
            TokenKind.Neq => BinaryOp.Neq,
            TokenKind.Lss => BinaryOp.Lss,
            TokenKind.Lte => BinaryOp.Lte,
            TokenKind.Gtr => BinaryOp.Gtr,
            TokenKind.Gte => BinaryOp.Gte,
            TokenKind.Keyword when t.Text == "and" => BinaryOp.And,
            TokenKind.Keyword when t.Text == "or" => BinaryOp.Or,
            TokenKind.Keyword when t.Text == "unless" => BinaryOp.Unless,
            TokenKind.Keyword when t.Text == "atan2" => BinaryOp.Atan2,
            _ => (BinaryOp)(-1),
        };
        return (int)op >= 0;
    }

    private BinaryExpr MakeBinary(BinaryOp op, PositionRange opRange, Expr lhs, Expr rhs, bool returnBool, VectorMatching matching)
    {
        var lt = lhs.Type;
        var rt = rhs.Type;
        var whole = PositionRange.Span(lhs.Position, rhs.Position);
        if (returnBool && !OpInfo.IsComparison(op))
        {
            throw Error(opRange, "bool modifier can only be used on comparison operators");
        }

        if (OpInfo.IsComparison(op) && !returnBool && lt == PromQLValueType.Scalar && rt == PromQLValueType.Scalar)
        {
            throw Error(opRange, "comparisons between scalars must use BOOL modifier");
        }

        if (OpInfo.IsSetOperator(op) && matching.Card == Cardinality.OneToOne)
        {
            matching.Card = Cardinality.ManyToMany;
        }

        if (matching.Kind == MatchKind.On)
        {
            foreach (var l in matching.MatchingLabels)
            {
                if (matching.Include.Contains(l))
                {
                    throw Error(opRange, $"label \"{l}\" must not occur in ON and GROUP clause at once");
                }
            }
        }

        if (lt is not (PromQLValueType.Scalar or PromQLValueType.InstantVector))
        {
            throw Error(lhs.Position, "binary expression must contain only scalar and instant vector types");
        }

        if (rt is not (PromQLValueType.Scalar or PromQLValueType.InstantVector))
        {
            throw Error(rhs.Position, "binary expression must contain only scalar and instant vector types");
        }

        if (lt != PromQLValueType.InstantVector || rt != PromQLValueType.InstantVector)
        {
            if (matching.Kind != MatchKind.Default || matching.Card is Cardinality.ManyToOne or Cardinality.OneToMany || matching.FillLeft is not null || matching.FillRight is not null)
            {
                throw Error(whole, "vector matching only allowed between instant vectors");
            }
        }
        else if (OpInfo.IsSetOperator(op) && matching.Card is Cardinality.ManyToOne or Cardinality.OneToMany)
        {
            throw Error(whole, $"no grouping allowed for \"{OpInfo.Text(op)}\" operation");
        }
        else if (OpInfo.IsSetOperator(op) && (matching.FillLeft is not null || matching.FillRight is not null))
        {
            throw Error(whole, $"fill modifiers are not allowed for the set operator \"{OpInfo.Text(op)}\"");
        }

        if ((lt == PromQLValueType.Scalar || rt == PromQLValueType.Scalar) && OpInfo.IsSetOperator(op))
        {
            throw Error(whole, $"set operator \"{OpInfo.Text(op)}\" not allowed in binary scalar expression");
        }

        return new BinaryExpr(op, lhs, rhs, returnBool, matching) { Position = whole };
    }

    private Expr ParseUnary()
    {
        var t = Peek;
        if (t.Kind is TokenKind.Add or TokenKind.Sub)
        {
            Next();
            var operand = ParseExpr(OpInfo.UnaryPrecedence + 1);
            var range = new PositionRange(t.Start, operand.Position.End);
            if (operand is NumberLiteral nl)
            {
                if (t.Kind == TokenKind.Sub)
                {
                    nl.Value = -nl.Value;
                }

                nl.Position = range;
                return nl;
            }

            if (operand.Type is not (PromQLValueType.Scalar or PromQLValueType.InstantVector))
            {
                throw Error(range, $"unary expression only allowed on expressions of type scalar or instant vector, got \"{OpInfo.TypeName(operand.Type)}\"");
            }

            return new UnaryExpr(t.Kind == TokenKind.Sub, operand) { Position = range };
        }

        return ParsePostfix(ParsePrimary());
    }

    private Expr ParsePostfix(Expr expr)
    {
        while (true)
        {
            var t = Peek;
            if (t.Kind == TokenKind.LeftBracket)
            {
                expr = ParseRangeOrSubquery(expr);
            }
            else if (t.IsKeyword("offset"))
            {
                Next();
                var target = TimeTarget(expr, t.Range, "offset");
                var negative = false;
                var literal = Peek.Kind is TokenKind.Number or TokenKind.Duration ||
                              (Peek.Kind is TokenKind.Sub or TokenKind.Add && PeekAt(1).Kind is TokenKind.Number or TokenKind.Duration);
                long ms;
                Expr? offsetExpr = null;
                int end;
                if (literal || !_durationExpressions)
                {
                    if (Peek.Kind is TokenKind.Sub or TokenKind.Add)
                    {
                        negative = Next().Kind == TokenKind.Sub;
                    }

                    (ms, end) = ParseDuration("offset", allowZero: true);
                    ms = negative ? -ms : ms;
                }
                else
                {
                    // offset (expr), offset step(), offset -min_of(...): a primary duration expression; operators after it
                    // apply to the selector ("x offset 1m + 2" adds 2 to the value).
                    offsetExpr = ParseDurationUnary(primaryOnly: true);
                    end = offsetExpr.Position.End;
                    ms = DurationExprs.DependsOnQuery(offsetExpr) ? 0 : DurationExprs.ToMs(DurationExprs.Evaluate(offsetExpr, 0, 0)) ??
                        throw Error(offsetExpr.Position, "offset is not a finite duration");
                }

                if (target.OffsetMs != 0 || target.OffsetExpr is not null)
                {
                    throw Error(new PositionRange(t.Start, end), "offset may not be set multiple times");
                }

                target.OffsetMs = ms;
                target.OffsetExpr = offsetExpr;
                expr.Position = new PositionRange(expr.Position.Start, end);
            }
            else if (t.Kind == TokenKind.At)
            {
                Next();
                var target = TimeTarget(expr, t.Range, "@");
                int end;
                long? at = null;
                var kind = AtKind.None;
                if ((Peek.IsKeyword("start") || Peek.IsKeyword("end")) && PeekAt(1).Kind == TokenKind.LeftParen)
                {
                    kind = Next().Text == "start" ? AtKind.Start : AtKind.End;
                    Next();
                    end = Expect(TokenKind.RightParen, "@ modifier", "\")\"").End;
                }
                else
                {
                    var negative = false;
                    if (Peek.Kind is TokenKind.Sub or TokenKind.Add)
                    {
                        negative = Next().Kind == TokenKind.Sub;
                    }

                    var n = Peek;
                    double seconds;
                    if (n.Kind == TokenKind.Number)
                    {
                        seconds = ParseNumber(n);
                    }
                    else if (n.Kind == TokenKind.Duration)
                    {
                        Durations.TryParse(n.Text, out var dms);
                        seconds = dms / 1000.0;
                    }
                    else
                    {
                        throw Unexpected("@", "timestamp");
                    }

                    Next();
                    end = n.End;
                    if (negative)
                    {
                        seconds = -seconds;
                    }

                    var ms = seconds * 1000;
                    if (double.IsNaN(ms) || double.IsInfinity(ms) || ms >= long.MaxValue || ms <= long.MinValue)
                    {
                        throw Error(new PositionRange(t.Start, end), string.Create(CultureInfo.InvariantCulture, $"timestamp out of bounds for @ modifier: {seconds:F6}"));
                    }

                    at = (long)Math.Round(ms);
                }

                if (target.AtMs is not null || target.AtKind != AtKind.None)
                {
                    throw Error(new PositionRange(t.Start, end), "@ <timestamp> may not be set multiple times");
                }

                target.AtMs = at;
                target.AtKind = kind;
                expr.Position = new PositionRange(expr.Position.Start, end);
            }
            else if (_extendedRanges && t.Kind == TokenKind.Identifier && t.Text.ToLowerInvariant() is "anchored" or "smoothed")
            {
                Next();
                var mode = t.Text.ToLowerInvariant() == "anchored" ? RangeMode.Anchored : RangeMode.Smoothed;
                var target = expr switch
                {
                    MatrixSelector m => m.Vector,
                    VectorSelector v when mode == RangeMode.Smoothed => v,
                    VectorSelector => throw Error(t.Range, "anchored modifier can only be used with range vector selectors"),
                    _ => throw Error(t.Range, $"{t.Text.ToLowerInvariant()} modifier must be preceded by a vector selector or a range vector selector"),
                };
                if (target.Mode != RangeMode.None)
                {
                    throw Error(t.Range, "anchored or smoothed may not be set multiple times");
                }

                target.Mode = mode;
                expr.Position = new PositionRange(expr.Position.Start, t.End);
            }
            else
            {
                return expr;
            }
        }
    }

    private ITimeModified TimeTarget(Expr expr, PositionRange at, string what) => expr switch
    {
        VectorSelector vs => vs,
        MatrixSelector ms => ms.Vector,
        SubqueryExpr sq => sq,
        _ => throw Error(at, what == "offset"
            ? "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"
            : "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery"),
    };

    private Expr ParseRangeOrSubquery(Expr expr)
    {
        var open = Next();
        if (Peek.Kind == TokenKind.Eof)
        {
            throw Error(open.Range, "unclosed left bracket");
        }

        var (range, rangeExpr) = ParseDurationOperand("range");
        if (Peek.Kind == TokenKind.Colon)
        {
            Next();
            long step = 0;
            Expr? stepExpr = null;
            if (Peek.Kind != TokenKind.RightBracket)
            {
                (step, stepExpr) = ParseDurationOperand("subquery step");
            }

            var close = ExpectClose();
            if (expr.Type != PromQLValueType.InstantVector)
            {
                throw Error(new PositionRange(expr.Position.Start, close.End), $"subquery is only allowed on instant vector, got {OpInfo.TypeName(expr.Type)}");
            }

            return new SubqueryExpr(expr, range, step) { RangeExpr = rangeExpr, StepExpr = stepExpr, Position = new PositionRange(expr.Position.Start, close.End) };
        }

        var end = ExpectClose();
        var whole = new PositionRange(expr.Position.Start, end.End);
        if (expr is not VectorSelector vs)
        {
            throw Error(whole, "ranges only allowed for vector selectors");
        }

        if (vs.OffsetMs != 0)
        {
            throw Error(whole, "no offset modifiers allowed before range");
        }

        if (vs.AtMs is not null || vs.AtKind != AtKind.None)
        {
            throw Error(whole, "no @ modifiers allowed before range");
        }

        if (vs.Mode != RangeMode.None)
        {
            throw Error(whole, "no smoothed modifier allowed before range");
        }

        return new MatrixSelector(vs, range) { RangeExpr = rangeExpr, Position = whole };
    }

    /// <summary>A range or step: a literal, or (with duration expressions) arithmetic over literals, step(), range(), min_of, max_of.</summary>
    private (long Ms, Expr? Expr) ParseDurationOperand(string context)
    {
        if (!_durationExpressions || (Peek.Kind is TokenKind.Number or TokenKind.Duration && PeekAt(1).Kind is TokenKind.Colon or TokenKind.RightBracket))
        {
            return (ParseDuration(context, allowZero: false).Ms, null);
        }

        var e = ParseDurationExpr(0);
        if (DurationExprs.DependsOnQuery(e))
        {
            return (0, e);
        }

        var ms = DurationExprs.ToMs(DurationExprs.Evaluate(e, 0, 0));
        if (ms is not > 0)
        {
            throw Error(e.Position, "duration must be greater than 0");
        }

        return (ms.Value, e);
    }

    private Expr ParseDurationExpr(int minPrecedence)
    {
        var lhs = ParseDurationUnary(primaryOnly: false);
        while (true)
        {
            var opToken = Peek;
            if (!TryBinaryOp(opToken, out var op) || op is not (BinaryOp.Add or BinaryOp.Sub or BinaryOp.Mul or BinaryOp.Div or BinaryOp.Mod or BinaryOp.Pow))
            {
                return lhs;
            }

            var prec = OpInfo.Precedence(op);
            if (prec < minPrecedence)
            {
                return lhs;
            }

            Next();
            var rhs = ParseDurationExpr(OpInfo.IsRightAssociative(op) ? prec : prec + 1);
            lhs = new BinaryExpr(op, lhs, rhs, false, new VectorMatching()) { Position = PositionRange.Span(lhs.Position, rhs.Position) };
        }
    }

    private Expr ParseDurationUnary(bool primaryOnly)
    {
        var t = Peek;
        if (t.Kind is TokenKind.Add or TokenKind.Sub)
        {
            Next();
            var operand = primaryOnly ? ParseDurationPrimary() : ParseDurationExpr(OpInfo.UnaryPrecedence + 1);
            var range = new PositionRange(t.Start, operand.Position.End);
            if (operand is NumberLiteral nl)
            {
                if (t.Kind == TokenKind.Sub)
                {
                    nl.Value = -nl.Value;
                }

                nl.Position = range;
                return nl;
            }

            return new UnaryExpr(t.Kind == TokenKind.Sub, operand) { Position = range };
        }

        return ParseDurationPrimary();
    }

    private Expr ParseDurationPrimary()
    {
        var t = Peek;
        switch (t.Kind)
        {
            case TokenKind.Number:
                Next();
                return new NumberLiteral(ParseNumber(t)) { Position = t.Range };
            case TokenKind.Duration:
                Next();
                Durations.TryParse(t.Text, out var ms);
                return new NumberLiteral(ms / 1000.0, isDuration: true) { Position = t.Range };
            case TokenKind.LeftParen:
            {
                Next();
                var inner = ParseDurationExpr(0);
                var close = Expect(TokenKind.RightParen, "duration expression", "\")\"");
                return new ParenExpr(inner) { Position = new PositionRange(t.Start, close.End) };
            }

            case TokenKind.Identifier or TokenKind.Keyword when PeekAt(1).Kind == TokenKind.LeftParen:
            {
                // Names are case-insensitive here, as Prometheus lexes step/range as keywords.
                var name = _query[t.Start..t.End].ToLowerInvariant();
                if (name is not ("step" or "range" or "min_of" or "max_of"))
                {
                    throw Error(t.Range, $"unexpected function \"{_query[t.Start..t.End]}\" in duration expression");
                }

                Next();
                Next();
                var args = new List<Expr>();
                while (Peek.Kind != TokenKind.RightParen)
                {
                    args.Add(ParseDurationExpr(0));
                    if (Peek.Kind == TokenKind.Comma)
                    {
                        Next();
                    }
                    else if (Peek.Kind != TokenKind.RightParen)
                    {
                        throw Unexpected("duration expression", "\",\" or \")\"");
                    }
                }

                var close = Next();
                var call = new Call(FunctionInfo.All[name], args) { Position = new PositionRange(t.Start, close.End) };
                if (args.Count != call.Function.ArgTypes.Length)
                {
                    throw Error(call.Position, $"expected {call.Function.ArgTypes.Length} argument(s) in call to \"{name}\", got {args.Count}");
                }

                return call;
            }

            default:
                throw Unexpected("duration expression", "number, duration or \"(\"");
        }
    }

    private Token ExpectClose()
    {
        if (Peek.Kind == TokenKind.RightBracket)
        {
            return Next();
        }

        if (Peek.Kind == TokenKind.Eof)
        {
            throw Error(Peek.Range, "unclosed left bracket");
        }

        throw Unexpected("subquery or range selector", "\"]\"");
    }

    private (long Ms, int End) ParseDuration(string context, bool allowZero)
    {
        var t = Peek;
        long ms;
        if (t.Kind == TokenKind.Duration)
        {
            Durations.TryParse(t.Text, out ms);
        }
        else if (t.Kind == TokenKind.Number)
        {
            var seconds = ParseNumber(t);
            if (double.IsNaN(seconds) || double.IsInfinity(seconds) || Math.Abs(seconds * 1000) > long.MaxValue / 2)
            {
                throw Error(t.Range, $"invalid duration: \"{t.Text}\"");
            }

            ms = (long)Math.Round(seconds * 1000);
        }
        else
        {
            throw Unexpected(context, context == "offset" ? "duration" : "number or duration");
        }

        Next();
        if (!allowZero && ms <= 0)
        {
            throw Error(t.Range, $"duration must be greater than 0");
        }

        return (ms, t.End);
    }

    private Expr ParsePrimary()
    {
        var t = Peek;
        switch (t.Kind)
        {
            case TokenKind.Number:
                Next();
                return new NumberLiteral(ParseNumber(t)) { Position = t.Range };
            case TokenKind.Duration:
                Next();
                Durations.TryParse(t.Text, out var ms);
                return new NumberLiteral(ms / 1000.0, isDuration: true) { Position = t.Range };
            case TokenKind.String:
                Next();
                return new StringLiteral(t.Text) { Position = t.Range };
            case TokenKind.LeftParen:
            {
                Next();
                if (Peek.Kind == TokenKind.RightParen)
                {
                    throw Unexpected("paren expression");
                }

                var inner = ParseExpr(0);
                if (Peek.Kind == TokenKind.Eof)
                {
                    throw Error(t.Range, "unclosed left parenthesis");
                }

                var close = Expect(TokenKind.RightParen, "paren expression", "\")\"");
                return new ParenExpr(inner) { Position = new PositionRange(t.Start, close.End) };
            }

            case TokenKind.LeftBrace:
                return ParseSelector(null, t.Start);
            case TokenKind.Identifier:
                Next();
                if (Peek.Kind == TokenKind.LeftParen)
                {
                    return ParseCall(t);
                }

                return ParseSelector(t.Text, t.Start, t.End);
            case TokenKind.MetricIdentifier:
                Next();
                return ParseSelector(t.Text, t.Start, t.End);
            case TokenKind.Keyword when Lexer.AggregateKeywords.Contains(t.Text) &&
                                        (PeekAt(1).Kind == TokenKind.LeftParen || PeekAt(1).IsKeyword("by") || PeekAt(1).IsKeyword("without")):
                return ParseAggregate();
            case TokenKind.Keyword when t.Text is "start" or "end" && PeekAt(1).Kind == TokenKind.LeftParen:
                Next();
                return ParseCall(t);
            case TokenKind.Keyword when KeywordsUsableAsMetricName.Contains(t.Text):
                Next();
                return ParseSelector(_query[t.Start..t.End], t.Start, t.End);
            case TokenKind.RightParen:
                throw Error(t.Range, "unexpected right parenthesis ')'");
            case TokenKind.RightBracket:
                throw Error(t.Range, "unexpected right bracket ']'");
            case TokenKind.Eof:
                throw Error(t.Range, "unexpected end of input");
            default:
                throw Unexpected();
        }
    }

    private Call ParseCall(Token name)
    {
        var fn = FunctionInfo.Lookup(name.Text) ?? throw Error(name.Range, $"unknown function with name \"{name.Text}\"");
        if (fn.Experimental && !_experimental)
        {
            throw Error(name.Range, $"function \"{fn.Name}\" is not enabled");
        }

        var (args, end) = ParseArgs("function call", infoSelectorArg: fn.Name == "info" ? 1 : -1);
        var call = new Call(fn, args) { Position = new PositionRange(name.Start, end) };
        CheckCall(call);
        if (fn.Name == "info" && args.Count > 1 && args[1] is not VectorSelector)
        {
            throw Error(args[1].Position, $"expected label selectors as the second argument to \"info\" function, got {args[1]}");
        }

        return call;
    }

    /// <summary>The argument list; <paramref name="infoSelectorArg"/> is the index whose selector may match empty label values (info()'s data-label selector).</summary>
    private (List<Expr> Args, int End) ParseArgs(string context, int infoSelectorArg = -1)
    {
        var open = Expect(TokenKind.LeftParen, context, "\"(\"");
        var args = new List<Expr>();
        while (true)
        {
            if (Peek.Kind == TokenKind.RightParen)
            {
                return (args, Next().End);
            }

            if (Peek.Kind == TokenKind.Eof)
            {
                throw Error(open.Range, "unclosed left parenthesis");
            }

            _allowEmptySelector = args.Count == infoSelectorArg;
            try
            {
                args.Add(ParseExpr(0));
            }
            finally
            {
                _allowEmptySelector = false;
            }

            if (Peek.Kind == TokenKind.Comma)
            {
                Next();
            }
            else if (Peek.Kind != TokenKind.RightParen)
            {
                if (Peek.Kind == TokenKind.Eof)
                {
                    throw Error(open.Range, "unclosed left parenthesis");
                }

                throw Unexpected(context, "\",\" or \")\"");
            }
        }
    }

    private void CheckCall(Call call)
    {
        var fn = call.Function;
        var nargs = fn.ArgTypes.Length;
        var got = call.Args.Count;
        if (fn.Variadic == 0)
        {
            if (nargs != got)
            {
                throw Error(call.Position, $"expected {nargs} argument(s) in call to \"{fn.Name}\", got {got}");
            }
        }
        else
        {
            var min = nargs - 1;
            if (min > got)
            {
                throw Error(call.Position, $"expected at least {min} argument(s) in call to \"{fn.Name}\", got {got}");
            }

            if (fn.Variadic > 0 && min + fn.Variadic < got)
            {
                throw Error(call.Position, $"expected at most {min + fn.Variadic} argument(s) in call to \"{fn.Name}\", got {got}");
            }
        }

        for (var i = 0; i < got; i++)
        {
            var ti = i;
            if (ti >= nargs)
            {
                if (fn.Variadic == 0)
                {
                    break;
                }

                ti = nargs - 1;
            }

            ExpectType(call.Args[i], fn.ArgTypes[ti], $"call to function \"{fn.Name}\"");
        }
    }

    private void ExpectType(Expr e, PromQLValueType want, string context)
    {
        if (e.Type != want)
        {
            throw Error(e.Position, $"expected type {OpInfo.TypeName(want)} in {context}, got {OpInfo.TypeName(e.Type)}");
        }
    }

    private AggregateExpr ParseAggregate()
    {
        var opToken = Next();
        var op = Enum.GetValues<AggregateOp>().First(o => OpInfo.Text(o) == opToken.Text);
        if (OpInfo.IsExperimental(op) && !_experimental)
        {
            throw Error(opToken.Range, $"limitk() and limit_ratio() are experimental and must be enabled with --enable-feature=promql-experimental-functions");
        }

        IReadOnlyList<string>? grouping = null;
        var without = false;
        if (Peek.IsKeyword("by") || Peek.IsKeyword("without"))
        {
            without = Next().Text == "without";
            grouping = ParseLabelList("grouping opts");
        }

        if (Peek.Kind != TokenKind.LeftParen)
        {
            throw Unexpected("aggregation", "\"(\"");
        }

        var (args, end) = ParseArgs("aggregation");
        if (Peek.IsKeyword("by") || Peek.IsKeyword("without"))
        {
            if (grouping is not null)
            {
                throw Unexpected("aggregation");
            }

            without = Next().Text == "without";
            grouping = ParseLabelList("grouping opts");
            end = _tokens[_index - 1].End;
        }

        var range = new PositionRange(opToken.Start, end);
        if (args.Count == 0)
        {
            throw Error(range, "no arguments for aggregate expression provided");
        }

        var desired = OpInfo.HasParameter(op) ? 2 : 1;
        if (args.Count != desired)
        {
            throw Error(range, $"wrong number of arguments for aggregate expression provided, expected {desired}, got {args.Count}");
        }

        var expr = args[desired - 1];
        var param = desired == 2 ? args[0] : null;
        ExpectType(expr, PromQLValueType.InstantVector, "aggregation expression");
        if (param is not null)
        {
            ExpectType(param, op == AggregateOp.CountValues ? PromQLValueType.String : PromQLValueType.Scalar, "aggregation parameter");
        }

        return new AggregateExpr(op, expr, param, grouping ?? [], without) { Position = range };
    }

    private List<string> ParseLabelList(string context)
    {
        var open = Peek;
        if (open.Kind != TokenKind.LeftParen)
        {
            throw Unexpected(context, "\"(\"");
        }

        Next();
        var labels = new List<string>();
        while (true)
        {
            var t = Peek;
            if (t.Kind == TokenKind.RightParen)
            {
                Next();
                return labels;
            }

            if (t.Kind is TokenKind.Identifier or TokenKind.Keyword)
            {
                labels.Add(_query[t.Start..t.End]);
            }
            else if (t.Kind == TokenKind.String)
            {
                if (!MetricNames.IsValidUtf8Name(t.Text))
                {
                    throw Error(t.Range, $"invalid label name {GoQuote(t.Text)}");
                }

                labels.Add(t.Text);
            }
            else if (t.Kind == TokenKind.Eof)
            {
                throw Error(open.Range, "unclosed left parenthesis");
            }
            else
            {
                throw Unexpected(context, "label");
            }

            Next();
            if (Peek.Kind == TokenKind.Comma)
            {
                Next();
            }
            else if (Peek.Kind != TokenKind.RightParen)
            {
                throw Unexpected(context, "\",\" or \")\"");
            }
        }
    }

    private VectorSelector ParseSelector(string? name, int start, int nameEnd = -1)
    {
        var matchers = new List<LabelMatcher>();
        var end = nameEnd;
        if (Peek.Kind == TokenKind.LeftBrace)
        {
            Next();
            while (true)
            {
                var t = Peek;
                if (t.Kind == TokenKind.RightBrace)
                {
                    end = Next().End;
                    break;
                }

                if (t.Kind == TokenKind.String && PeekAt(1).Kind is TokenKind.Comma or TokenKind.RightBrace)
                {
                    // {"metric.name", ...}: a quoted metric name.
                    Next();
                    if (name is not null)
                    {
                        throw Error(t.Range, $"metric name must not be set twice: {GoQuote(name)} or {GoQuote(t.Text)}");
                    }

                    name = t.Text;
                }
                else if (t.Kind is TokenKind.Identifier or TokenKind.String)
                {
                    Next();
                    var labelName = t.Text;
                    var opTok = Peek;
                    var type = opTok.Kind switch
                    {
                        TokenKind.Eql => MatchType.Equal,
                        TokenKind.Neq => MatchType.NotEqual,
                        TokenKind.EqlRegex => MatchType.Regex,
                        TokenKind.NeqRegex => MatchType.NotRegex,
                        _ => throw Unexpected("label matching", "label matching operator"),
                    };
                    Next();
                    var value = Peek;
                    if (value.Kind != TokenKind.String)
                    {
                        throw Unexpected("label matching", "string");
                    }

                    Next();
                    if (t.Kind == TokenKind.String && !MetricNames.IsValidUtf8Name(labelName))
                    {
                        throw Error(t.Range, $"invalid label name {GoQuote(labelName)}");
                    }

                    try
                    {
                        matchers.Add(new LabelMatcher(type, labelName, value.Text));
                    }
                    catch (ArgumentException ex)
                    {
                        throw Error(new PositionRange(t.Start, value.End), $"error parsing regexp: {ex.InnerException?.Message ?? ex.Message}");
                    }
                }
                else
                {
                    throw Unexpected("label matching", "identifier or \"}\"");
                }

                if (Peek.Kind == TokenKind.Comma)
                {
                    Next();
                }
                else if (Peek.Kind != TokenKind.RightBrace)
                {
                    throw Unexpected("label matching", "\",\" or \"}\"");
                }
            }
        }

        var range = new PositionRange(start, end);
        if (name is not null)
        {
            foreach (var m in matchers)
            {
                if (m.Name == Labels.MetricName)
                {
                    throw Error(range, $"metric name must not be set twice: {GoQuote(name)} or {GoQuote(m.Value)}");
                }
            }
        }
        else if (!_allowEmptySelector && matchers.TrueForAll(m => m.Matches(string.Empty)))
        {
            throw Error(range, "vector selector must contain at least one non-empty matcher");
        }

        return new VectorSelector(name, matchers) { Position = range };
    }

    internal static double ParseNumber(Token t) => ParseNumber(t.Text);

    internal static double ParseNumber(string text)
    {
        var lower = text.ToLowerInvariant();
        switch (lower)
        {
            case "inf" or "+inf": return double.PositiveInfinity;
            case "-inf": return double.NegativeInfinity;
            case "nan": return double.NaN;
        }

        if (lower.StartsWith("0x", StringComparison.Ordinal))
        {
            return (double)ulong.Parse(lower.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        }

        // Like Go's ParseInt with base 0: a leading 0 means octal.
        if (lower.Length > 1 && lower[0] == '0' && lower.AsSpan().IndexOfAnyExcept("01234567") < 0)
        {
            return Convert.ToInt64(lower, 8);
        }

        return double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>Quotes like Go's %q: escapes, and \xNN for bytes that are not valid UTF-8 (kept as lone surrogates U+DC80..U+DCFF).</summary>
    internal static string GoQuote(string s)
    {
        var sb = new System.Text.StringBuilder(s.Length + 2).Append('"');
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\a': sb.Append("\\a"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\v': sb.Append("\\v"); break;
                default:
                    if (c is >= '\uDC80' and <= '\uDCFF' && (i == 0 || !char.IsHighSurrogate(s[i - 1])))
                    {
                        sb.Append("\\x").Append(((int)c - 0xDC00).ToString("x2", CultureInfo.InvariantCulture));
                    }
                    else if (c < ' ' || c == '\x7f')
                    {
                        sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        return sb.Append('"').ToString();
    }
}
