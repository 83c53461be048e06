using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.PromQL;

/// <summary>Parser settings. Defaults match a Prometheus 3 server started without feature flags.</summary>
public sealed class PromQLParserOptions
{
    /// <summary>
    /// Accept Prometheus's experimental functions and aggregations (<c>limitk</c>, <c>limit_ratio</c>,
    /// <c>mad_over_time</c>, <c>sort_by_label</c>, <c>double_exponential_smoothing</c>, <c>ts_of_*_over_time</c>, ...),
    /// as <c>--enable-feature=promql-experimental-functions</c> does. Default false.
    /// </summary>
    public bool EnableExperimentalFunctions { get; set; }

    /// <summary>
    /// Accept arithmetic in ranges, subquery steps and offsets (<c>x[5m + step()]</c>, <c>offset (2 * 1m)</c>), as
    /// <c>--enable-feature=promql-duration-expr</c> does. Default false.
    /// </summary>
    public bool EnableDurationExpressions { get; set; }

    /// <summary>
    /// Accept <c>fill(v)</c>, <c>fill_left(v)</c> and <c>fill_right(v)</c> on binary operators between vectors, as
    /// <c>--enable-feature=promql-binop-fill-modifiers</c> does. Default false.
    /// </summary>
    public bool EnableFillModifiers { get; set; }

    /// <summary>
    /// Accept <c>anchored</c> and <c>smoothed</c> after range selectors (and <c>smoothed</c> after instant selectors), as
    /// <c>--enable-feature=promql-extended-range-selectors</c> does. Default false.
    /// </summary>
    public bool EnableExtendedRangeSelectors { get; set; }
}

/// <summary>
/// A parsed, type-checked PromQL expression. <see cref="ToString"/> prints it back in canonical form; parsing that
/// text again gives the same expression.
/// </summary>
public sealed class PromQLExpression
{
    private PromQLExpression(string query, Expr root)
    {
        Query = query;
        Root = root;
    }

    /// <summary>The text the expression was parsed from.</summary>
    public string Query { get; }

    /// <summary>What the expression evaluates to.</summary>
    public PromQLValueType Type => Root.Type;

    internal Expr Root { get; }

    /// <summary>Parses and type-checks <paramref name="query"/>. Throws <see cref="PromQLParseException"/> with the position of the first error.</summary>
    public static PromQLExpression Parse(string query, PromQLParserOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        var root = Parser.Parse(query, options?.EnableExperimentalFunctions ?? false, options?.EnableDurationExpressions ?? false, options?.EnableFillModifiers ?? false,
            options?.EnableExtendedRangeSelectors ?? false);
        return new PromQLExpression(query, root);
    }

    /// <summary>
    /// Parses a series selector alone (<c>up</c>, <c>{job=~"api|web"}</c>), as the <c>match[]</c> parameter of
    /// Prometheus's series and label APIs takes it, and returns its matchers, the metric-name matcher first. Throws
    /// <see cref="PromQLParseException"/> when the text is not a selector (an offset, <c>@</c> or any other expression)
    /// or has no matcher that rejects the empty string.
    /// </summary>
    public static LabelMatcher[] ParseSeriesSelector(string selector)
    {
        ArgumentNullException.ThrowIfNull(selector);
        var vs = Parser.ParseSelector(selector);
        if (vs.OffsetMs != 0 || vs.OffsetExpr is not null || vs.AtMs is not null || vs.AtKind != AtKind.None)
        {
            throw new PromQLParseException(selector, 0, selector.Length, "expected a series selector without offset or @ modifier");
        }

        return vs.AllMatchers();
    }

    internal static PromQLExpression FromTree(string query, Expr root) => new(query, root);

    /// <summary>The expression in canonical PromQL form.</summary>
    public override string ToString() => Printer.Print(Root);
}
