using Metrics.Coordination.Rules.PromQL.Testing;
using Metrics.Coordination.Rules.PromQL;

namespace Metrics.Coordination.Rules.Tests.PromQL;

public class ParserTests
{
    private static PromQLExpression Parse(string q) => PromQLExpression.Parse(q, new PromQLParserOptions { EnableExperimentalFunctions = true });

    [TestCase("1", "1")]
    [TestCase("1e3", "1000")]
    [TestCase("12.34e-6", "1.234e-05")]
    [TestCase(".5", "0.5")]
    [TestCase("2.", "2")]
    [TestCase("0x1F", "31")]
    [TestCase("0X1f", "31")]
    [TestCase("010", "8")]
    [TestCase("Inf", "Inf")]
    [TestCase("-inf", "-Inf")]
    [TestCase("NaN", "NaN")]
    [TestCase("nan", "NaN")]
    [TestCase("1h30m", "1h30m")]
    [TestCase("5m", "5m")]
    [TestCase("-5m", "-5m")]
    [TestCase("- - 1", "1")]
    [TestCase("+1", "1")]
    [TestCase("\"a\\\"b\"", "\"a\\\"b\"")]
    [TestCase("'single'", "\"single\"")]
    [TestCase("`raw\\n`", "\"raw\\\\n\"")]
    [TestCase("\"\\u00e9\\x41\\101\\t\"", "\"éAA\\t\"")]
    public void Literals_ParseAndPrintCanonically(string query, string printed)
    {
        Parse(query).ToString().Should().Be(printed);
    }

    [TestCase("foo", "foo")]
    [TestCase("foo{}", "foo")]
    [TestCase("foo{a=\"b\",c!=\"d\",e=~\"f.*\",g!~\"h\",}", "foo{a=\"b\", c!=\"d\", e=~\"f.*\", g!~\"h\"}")]
    [TestCase("{__name__=~\"foo|bar\"}", "{__name__=~\"foo|bar\"}")]
    [TestCase("{\"my.metric\"}", "{\"my.metric\"}")]
    [TestCase("{\"my.metric\", \"label.x\"=\"v\"}", "{\"my.metric\", \"label.x\"=\"v\"}")]
    [TestCase("{a=\"b\", \"foo\"}", "foo{a=\"b\"}")]
    [TestCase("foo:bar:rate5m", "foo:bar:rate5m")]
    [TestCase("foo[5m]", "foo[5m]")]
    [TestCase("foo[90s]", "foo[1m30s]")]
    [TestCase("foo[10]", "foo[10s]")]
    [TestCase("foo[1.5]", "foo[1s500ms]")]
    [TestCase("foo offset 5m", "foo offset 5m")]
    [TestCase("foo offset -5m", "foo offset -5m")]
    [TestCase("foo[5m] offset 1h", "foo[5m] offset 1h")]
    [TestCase("foo @ 100", "foo @ 100.000")]
    [TestCase("foo @ -1.5", "foo @ -1.500")]
    [TestCase("foo offset 1m @ 100", "foo @ 100.000 offset 1m")]
    [TestCase("foo @ start()", "foo @ start()")]
    [TestCase("foo[5m] @ end()", "foo[5m] @ end()")]
    [TestCase("foo[5m:1m]", "foo[5m:1m]")]
    [TestCase("foo[5m:]", "foo[5m:]")]
    [TestCase("rate(foo[5m])[30m:1m] offset 1m @ 10", "rate(foo[5m])[30m:1m] @ 10.000 offset 1m")]
    [TestCase("(a + b)[5m:]", "(a + b)[5m:]")]
    [TestCase("sum by (job) (rate(x[5m]))", "sum by (job) (rate(x[5m]))")]
    [TestCase("sum(rate(x[5m])) by (job)", "sum by (job) (rate(x[5m]))")]
    [TestCase("SUM(x) WITHOUT (a, b)", "sum without (a, b) (x)")]
    [TestCase("sum without () (x)", "sum without () (x)")]
    [TestCase("sum by () (x)", "sum(x)")]
    [TestCase("topk(3, x)", "topk(3, x)")]
    [TestCase("count_values(\"v\", x)", "count_values(\"v\", x)")]
    [TestCase("quantile by (a) (0.9, x)", "quantile by (a) (0.9, x)")]
    [TestCase("limitk(2, x)", "limitk(2, x)")]
    [TestCase("limit_ratio(0.5, x)", "limit_ratio(0.5, x)")]
    [TestCase("sum by (\"a.b\") (x)", "sum by (\"a.b\") (x)")]
    [TestCase("sum by (and, by, avg, count) (x)", "sum by (and, by, avg, count) (x)")]
    [TestCase("a + on(b) group_left(c) d", "a + on (b) group_left (c) d")]
    [TestCase("a * ignoring(b) group_right d", "a * ignoring (b) group_right () d")]
    [TestCase("a > bool b", "a > bool b")]
    [TestCase("a and on() b", "a and on () b")]
    [TestCase("a or b unless c", "a or b unless c")]
    [TestCase("1 == bool 1", "1 == bool 1")]
    [TestCase("2 ^ 3 ^ 2", "2 ^ 3 ^ 2")]
    [TestCase("(2 ^ 3) ^ 2", "(2 ^ 3) ^ 2")]
    [TestCase("-2 ^ 2", "-2 ^ 2")]
    [TestCase("-a * b", "-a * b")]
    [TestCase("a - -b", "a - -b")]
    [TestCase("a atan2 b", "a atan2 b")]
    [TestCase("label_replace(x, \"a\", \"$1\", \"b\", \"(.*)\")", "label_replace(x, \"a\", \"$1\", \"b\", \"(.*)\")")]
    [TestCase("round(x, 5,)", "round(x, 5)")]
    [TestCase("time()", "time()")]
    [TestCase("foo # a comment\n + bar", "foo + bar")]
    [TestCase("sum # x\n(x)", "sum(x)")]
    public void Expressions_PrintCanonically(string query, string printed)
    {
        Parse(query).ToString().Should().Be(printed);
    }

    [TestCase("1 + 2 * 3", "1 + (2 * 3)")]
    [TestCase("1 * 2 + 3", "(1 * 2) + 3")]
    [TestCase("a or b and c", "a or (b and c)")]
    [TestCase("a and b unless c", "(a and b) unless c")]
    [TestCase("a == b + c", "a == (b + c)")]
    [TestCase("2 ^ 3 ^ 2", "2 ^ (3 ^ 2)")]
    [TestCase("1 - 2 - 3", "(1 - 2) - 3")]
    [TestCase("-2 ^ 2", "-(2 ^ 2)")]
    [TestCase("-a * b", "(-a) * b")]
    [TestCase("a atan2 b ^ c", "a atan2 (b ^ c)")]
    [TestCase("a % b * c", "(a % b) * c")]
    [TestCase("a > b == c", "(a > b) == c")]
    public void Precedence_MatchesExplicitParentheses(string query, string explicitForm)
    {
        AstEquality.AreEqual(StripParens(Parse(query).Root), StripParens(Parse(explicitForm).Root)).Should().BeTrue();
    }

    [Test]
    public void Evaluate_PrecedenceMatchesPrometheus()
    {
        // From Prometheus's operators.test: -2^---1*3 = -1.5, 2/-2^---1*3+2 = -10.
        var engine = new PromQLEngine();
        using var storage = new InMemoryPromQLStorage();
        engine.InstantQuery(storage, "-2^---1*3", 0).Scalar.Should().Be(-1.5);
        engine.InstantQuery(storage, "2/-2^---1*3+2", 0).Scalar.Should().Be(-10);
    }

    private static Expr StripParens(Expr e) => e switch
    {
        ParenExpr p => StripParens(p.Inner),
        BinaryExpr b => new BinaryExpr(b.Op, StripParens(b.Lhs), StripParens(b.Rhs), b.ReturnBool, b.Matching),
        UnaryExpr u => new UnaryExpr(u.Negate, StripParens(u.Operand)),
        _ => e,
    };

    [TestCase("", "1:1: parse error: no expression found in input")]
    [TestCase("1 +", "1:4: parse error: unexpected end of input")]
    [TestCase("foo{", "1:5: parse error: unexpected end of input inside braces")]
    [TestCase("(1", "1:1: parse error: unclosed left parenthesis")]
    [TestCase("1)", "1:2: parse error: unexpected right parenthesis ')'")]
    [TestCase("foo[5m", "1:7: parse error: unclosed left bracket")]
    [TestCase("foo]", "1:4: parse error: unexpected right bracket ']'")]
    [TestCase("sum by (a) (x) by (b)", "1:16: parse error: unexpected <by>")]
    [TestCase("sum by (a) by (b) (x)", "1:12: parse error: unexpected <by> in aggregation, expected \"(\"")]
    [TestCase("rate(foo)", "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector")]
    [TestCase("abs(foo[5m])", "1:5: parse error: expected type instant vector in call to function \"abs\", got range vector")]
    [TestCase("rate(foo[5m], 1)", "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 2")]
    [TestCase("round()", "1:1: parse error: expected at least 1 argument(s) in call to \"round\", got 0")]
    [TestCase("round(x, 1, 2)", "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3")]
    [TestCase("label_join(x)", "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 1")]
    [TestCase("nosuchfn(x)", "1:1: parse error: unknown function with name \"nosuchfn\"")]
    [TestCase("holt_winters(x[5m], 0.5, 0.5)", "1:1: parse error: unknown function with name \"holt_winters\"")]
    [TestCase("1 > 2", "1:3: parse error: comparisons between scalars must use BOOL modifier")]
    [TestCase("a + bool b", "1:3: parse error: bool modifier can only be used on comparison operators")]
    [TestCase("1 and 2", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression")]
    [TestCase("a and on(b) group_left c", "1:1: parse error: no grouping allowed for \"and\" operation")]
    [TestCase("1 + on(a) b", "1:1: parse error: vector matching only allowed between instant vectors")]
    [TestCase("a + on(b) group_left(b) c", "1:3: parse error: label \"b\" must not occur in ON and GROUP clause at once")]
    [TestCase("foo[5m] + 1", "1:1: parse error: binary expression must contain only scalar and instant vector types")]
    [TestCase("-\"a\"", "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"string\"")]
    [TestCase("{}", "1:1: parse error: vector selector must contain at least one non-empty matcher")]
    [TestCase("{a=~\".*\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher")]
    [TestCase("foo{__name__=\"bar\"}", "1:1: parse error: metric name must not be set twice: \"foo\" or \"bar\"")]
    [TestCase("foo{a=1}", "1:7: parse error: unexpected character inside braces: '1'")]
    [TestCase("foo{a}", "1:6: parse error: unexpected \"}\" in label matching, expected label matching operator")]
    [TestCase("(foo)[5m]", "1:1: parse error: ranges only allowed for vector selectors")]
    [TestCase("foo offset 5m[1m]", "1:1: parse error: no offset modifiers allowed before range")]
    [TestCase("foo offset 1m offset 2m", "1:15: parse error: offset may not be set multiple times")]
    [TestCase("foo @ 1 @ 2", "1:9: parse error: @ <timestamp> may not be set multiple times")]
    [TestCase("1 offset 5m", "1:3: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery")]
    [TestCase("sum(foo) @ 10", "1:10: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery")]
    [TestCase("foo @ Inf", "1:5: parse error: timestamp out of bounds for @ modifier: Infinity")]
    [TestCase("foo[5m][10m:]", "1:1: parse error: subquery is only allowed on instant vector, got range vector")]
    [TestCase("foo[0s]", "1:5: parse error: duration must be greater than 0")]
    [TestCase("foo[5mm]", "1:5: parse error: bad number or duration syntax: \"5mm\"")]
    [TestCase("foo[1.5h]", "1:5: parse error: bad number or duration syntax: \"1.5h\"")]
    [TestCase("foo[5m30s1h]", "1:5: parse error: bad number or duration syntax: \"5m30s1h\"")]
    [TestCase("\"abc", "1:1: parse error: unterminated quoted string")]
    [TestCase("\"a\\qb\"", "1:3: parse error: unknown escape sequence 'q'")]
    [TestCase("foo{a=~\"(\"}", "1:5: parse error: error parsing regexp")]
    [TestCase("topk(x, y)", "1:6: parse error: expected type scalar in aggregation parameter, got instant vector")]
    [TestCase("count_values(1, y)", "1:14: parse error: expected type string in aggregation parameter, got scalar")]
    [TestCase("sum(foo[5m])", "1:5: parse error: expected type instant vector in aggregation expression, got range vector")]
    [TestCase("sum()", "1:1: parse error: no arguments for aggregate expression provided")]
    [TestCase("topk(x)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1")]
    [TestCase("sum(a, b)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2")]
    [TestCase("a !b", "1:3: parse error: unexpected character after '!': 'b'")]
    [TestCase("a $ b", "1:3: parse error: unexpected character: '$'")]
    [TestCase("foo\n  + 1 +", "2:8: parse error: unexpected end of input")]
    public void Errors_HavePrometheusMessagesAndPositions(string query, string message)
    {
        var act = () => Parse(query);
        act.Should().Throw<PromQLParseException>().Which.Message.Should().StartWith(message);
    }

    [Test]
    public void Error_CarriesLineAndColumnRange()
    {
        var ex = Assert.Throws<PromQLParseException>(() => Parse("sum(x)\n+ rate(foo)"))!;
        ex.StartLine.Should().Be(2);
        ex.StartColumn.Should().Be(8);
        ex.EndLine.Should().Be(2);
        ex.EndColumn.Should().Be(11);
        ex.Reason.Should().Be("expected type range vector in call to function \"rate\", got instant vector");
        ex.IsTransient.Should().BeFalse();
    }

    [Test]
    public void ExperimentalFunctions_AreRejectedUnlessEnabled()
    {
        var act = () => PromQLExpression.Parse("mad_over_time(x[5m])");
        act.Should().Throw<PromQLParseException>().WithMessage("*function \"mad_over_time\" is not enabled*");
        var limitk = () => PromQLExpression.Parse("limitk(1, x)");
        limitk.Should().Throw<PromQLParseException>().WithMessage("*experimental*");
        PromQLExpression.Parse("mad_over_time(x[5m])", new PromQLParserOptions { EnableExperimentalFunctions = true }).Type.Should().Be(PromQLValueType.InstantVector);
    }

    [TestCase("foo[5m+1m]", "foo[5m + 1m]")]
    [TestCase("foo[30m1s-30m1s % 1m]", "foo[30m1s - 30m1s % 1m]")]
    [TestCase("foo[step()]", "foo[step()]")]
    [TestCase("foo[1+(STep()-5)*2]", "foo[1 + (step() - 5) * 2]")]
    [TestCase("foo[min_of(step()+1,1h)]", "foo[min_of(step() + 1, 1h)]")]
    [TestCase("foo[29s+1s:5s+5s]", "foo[29s + 1s:5s + 5s]")]
    [TestCase("foo offset (2 * 1m)", "foo offset (2 * 1m)")]
    [TestCase("foo offset -step()", "foo offset -step()")]
    [TestCase("foo offset -step()*2", "foo offset -step() * 2")]
    [TestCase("foo offset 100 + 2", "foo offset 1m40s + 2")]
    [TestCase("foo[1m] offset min_of(step(), 1s)", "foo[1m] offset min_of(step(), 1s)")]
    public void DurationExpressions_ParseWhenEnabled(string query, string printed)
    {
        var options = new PromQLParserOptions { EnableExperimentalFunctions = true, EnableDurationExpressions = true };
        var e = PromQLExpression.Parse(query, options);
        e.ToString().Should().Be(printed);
        AstEquality.AreEqual(PromQLExpression.Parse(printed, options).Root, e.Root).Should().BeTrue();
    }

    [TestCase("a + fill(0) b", "a + fill(0) b")]
    [TestCase("a + fill_left(5) fill_right(7) b", "a + fill_left(5) fill_right(7) b")]
    [TestCase("a + fill_left(1) fill_right(1) b", "a + fill(1) b")]
    [TestCase("a / on(s) group_left(o) fill_right(-Inf) b", "a / on (s) group_left (o) fill_right(-Inf) b")]
    [TestCase("a == bool fill(NaN) b", "a == bool fill(NaN) b")]
    [TestCase("a + fill", "a + fill")]
    public void FillModifiers_ParseWhenEnabled(string query, string printed)
    {
        var options = new PromQLParserOptions { EnableFillModifiers = true };
        var e = PromQLExpression.Parse(query, options);
        e.ToString().Should().Be(printed);
        AstEquality.AreEqual(PromQLExpression.Parse(printed, options).Root, e.Root).Should().BeTrue();
    }

    [TestCase("a + fill(0) fill(1) b", "fill modifier may not be set multiple times")]
    [TestCase("a and fill(0) b", "fill modifiers are not allowed for the set operator \"and\"")]
    [TestCase("1 + fill(0) b", "vector matching only allowed between instant vectors")]
    [TestCase("a + fill(x) b", "unexpected identifier \"x\" in fill modifier, expected number")]
    public void FillModifiers_Errors(string query, string reason)
    {
        var act = () => PromQLExpression.Parse(query, new PromQLParserOptions { EnableFillModifiers = true });
        act.Should().Throw<PromQLParseException>().Which.Reason.Should().Be(reason);
    }

    [TestCase("rate(x[5m] anchored)", "rate(x[5m] anchored)")]
    [TestCase("increase(x[5m] SMOOTHED)", "increase(x[5m] smoothed)")]
    [TestCase("x smoothed", "x smoothed")]
    [TestCase("x smoothed offset 1m", "x offset 1m smoothed")]
    [TestCase("x[1m] anchored @ 10", "x[1m] @ 10.000 anchored")]
    [TestCase("x - x smoothed", "x - x smoothed")]
    public void ExtendedRangeSelectors_ParseWhenEnabled(string query, string printed)
    {
        var options = new PromQLParserOptions { EnableExtendedRangeSelectors = true };
        var e = PromQLExpression.Parse(query, options);
        e.ToString().Should().Be(printed);
        AstEquality.AreEqual(PromQLExpression.Parse(printed, options).Root, e.Root).Should().BeTrue();
    }

    [TestCase("x anchored", "anchored modifier can only be used with range vector selectors")]
    [TestCase("sum(x) smoothed", "smoothed modifier must be preceded by a vector selector or a range vector selector")]
    [TestCase("x[1m] anchored smoothed", "anchored or smoothed may not be set multiple times")]
    [TestCase("x smoothed[1m]", "no smoothed modifier allowed before range")]
    public void ExtendedRangeSelectors_Errors(string query, string reason)
    {
        var act = () => PromQLExpression.Parse(query, new PromQLParserOptions { EnableExtendedRangeSelectors = true });
        act.Should().Throw<PromQLParseException>().Which.Reason.Should().Be(reason);
    }

    [TestCase("rate(x[5m] anchored)")]
    [TestCase("a + fill(0) b")]
    [TestCase("foo[5m+1m]")]
    [TestCase("foo offset (1m)")]
    [TestCase("foo[step()]")]
    public void DurationExpressions_AreRejectedUnlessEnabled(string query)
    {
        var act = () => Parse(query);
        act.Should().Throw<PromQLParseException>();
    }

    [TestCase("foo[5m-5m]", "duration must be greater than 0")]
    [TestCase("foo[max_of(1m)]", "expected 2 argument(s) in call to \"max_of\", got 1")]
    [TestCase("foo[time()]", "unexpected function \"time\" in duration expression")]
    public void DurationExpressions_Errors(string query, string reason)
    {
        var act = () => PromQLExpression.Parse(query, new PromQLParserOptions { EnableExperimentalFunctions = true, EnableDurationExpressions = true });
        act.Should().Throw<PromQLParseException>().Which.Reason.Should().Be(reason);
    }

    [TestCase("info(x)", "info(x)")]
    [TestCase("info(x, {data=~\".*\"})", "info(x, {data=~\".*\"})")]
    [TestCase("info(rate(x[5m]), {__name__=~\".+_info\", k=\"v\"})", "info(rate(x[5m]), {__name__=~\".+_info\", k=\"v\"})")]
    public void Info_TakesASelectorThatMayMatchEmptyValues(string query, string printed)
    {
        var e = Parse(query);
        e.ToString().Should().Be(printed);
        AstEquality.AreEqual(Parse(printed).Root, e.Root).Should().BeTrue();
    }

    [Test]
    public void Info_SecondArgumentMustBeASelector()
    {
        var act = () => Parse("info(x, sum(y))");
        act.Should().Throw<PromQLParseException>().Which.Reason.Should().StartWith("expected label selectors as the second argument to \"info\" function");
        var empty = () => Parse("abs({a=~\".*\"})");
        empty.Should().Throw<PromQLParseException>().Which.Reason.Should().Be("vector selector must contain at least one non-empty matcher");
    }

    [TestCase("1", PromQLValueType.Scalar)]
    [TestCase("\"s\"", PromQLValueType.String)]
    [TestCase("foo", PromQLValueType.InstantVector)]
    [TestCase("foo[5m]", PromQLValueType.RangeVector)]
    [TestCase("rate(foo[5m])[1h:]", PromQLValueType.RangeVector)]
    [TestCase("scalar(foo) + 1", PromQLValueType.Scalar)]
    [TestCase("foo + 1", PromQLValueType.InstantVector)]
    public void Type_IsChecked(string query, PromQLValueType type)
    {
        Parse(query).Type.Should().Be(type);
    }

    [Test]
    public void AllFunctionsInTable_ParseWithValidArguments()
    {
        foreach (var f in FunctionInfo.All.Values)
        {
            var args = new List<string>();
            for (var i = 0; i < f.ArgTypes.Length - (f.Variadic != 0 ? 1 : 0) + (f.Variadic != 0 ? 1 : 0); i++)
            {
                args.Add(f.ArgTypes[i] switch
                {
                    PromQLValueType.Scalar => "1",
                    PromQLValueType.String => "\"a\"",
                    PromQLValueType.RangeVector => "x[5m]",
                    _ => "x",
                });
            }

            var q = $"{f.Name}({string.Join(", ", args)})";
            var e = Parse(q);
            e.Type.Should().Be(f.ReturnType, q);
            Parse(e.ToString()).ToString().Should().Be(e.ToString());
        }
    }
}
