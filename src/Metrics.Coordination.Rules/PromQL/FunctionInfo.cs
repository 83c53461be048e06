using System.Collections.Frozen;

namespace Metrics.Coordination.Rules.PromQL;

/// <summary>
/// A PromQL function's signature. <see cref="Variadic"/>: 0 = exactly <see cref="ArgTypes"/>; n &gt; 0 = the last
/// argument type may be given 0..n times; -1 = the last argument type may repeat without limit (at least once).
/// </summary>
internal sealed record FunctionInfo(string Name, PromQLValueType[] ArgTypes, int Variadic, PromQLValueType ReturnType, bool Experimental = false)
{
    private const PromQLValueType S = PromQLValueType.Scalar;
    private const PromQLValueType V = PromQLValueType.InstantVector;
    private const PromQLValueType M = PromQLValueType.RangeVector;
    private const PromQLValueType Str = PromQLValueType.String;

    public static readonly FrozenDictionary<string, FunctionInfo> All = Build();

    /// <summary>Functions whose result depends on the evaluation time itself, so <c>@</c> cannot make them step-invariant.</summary>
    public static readonly FrozenSet<string> AtModifierUnsafe = FrozenSet.ToFrozenSet(
        ["days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute", "month", "year", "predict_linear", "time", "timestamp"],
        StringComparer.Ordinal);

    public static FunctionInfo? Lookup(string name) => All.GetValueOrDefault(name);

    private static FrozenDictionary<string, FunctionInfo> Build()
    {
        var list = new List<FunctionInfo>();
        void Add(string name, PromQLValueType[] args, PromQLValueType ret, int variadic = 0, bool experimental = false) =>
            list.Add(new FunctionInfo(name, args, variadic, ret, experimental));

        foreach (var f in new[]
                 {
                     "abs", "ceil", "exp", "floor", "sqrt", "ln", "log2", "log10", "sgn", "deg", "rad",
                     "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh",
                     "timestamp", "sort", "sort_desc", "absent",
                     "histogram_avg", "histogram_count", "histogram_sum", "histogram_stddev", "histogram_stdvar",
                 })
        {
            Add(f, [V], V);
        }

        foreach (var f in new[]
                 {
                     "rate", "irate", "increase", "delta", "idelta", "deriv", "resets", "changes",
                     "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time",
                     "stddev_over_time", "stdvar_over_time", "last_over_time", "first_over_time", "present_over_time", "absent_over_time",
                 })
        {
            Add(f, [M], V);
        }

        foreach (var f in new[] { "mad_over_time", "ts_of_min_over_time", "ts_of_max_over_time", "ts_of_last_over_time", "ts_of_first_over_time" })
        {
            Add(f, [M], V, experimental: true);
        }

        foreach (var f in new[] { "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute", "month", "year" })
        {
            Add(f, [V], V, variadic: 1);
        }

        Add("clamp", [V, S, S], V);
        Add("clamp_max", [V, S], V);
        Add("clamp_min", [V, S], V);
        Add("round", [V, S], V, variadic: 1);
        Add("predict_linear", [M, S], V);
        Add("quantile_over_time", [S, M], V);
        Add("double_exponential_smoothing", [M, S, S], V, experimental: true);
        Add("histogram_quantile", [S, V], V);
        Add("histogram_fraction", [S, S, V], V);
        Add("histogram_quantiles", [V, Str, S], V, variadic: -1, experimental: true);
        Add("label_replace", [V, Str, Str, Str, Str], V);
        Add("label_join", [V, Str, Str, Str], V, variadic: -1);
        Add("sort_by_label", [V, Str], V, variadic: -1, experimental: true);
        Add("sort_by_label_desc", [V, Str], V, variadic: -1, experimental: true);
        Add("pi", [], S);
        Add("time", [], S);
        Add("scalar", [V], S);
        Add("vector", [S], V);
        Add("start", [], S, experimental: true);
        Add("end", [], S, experimental: true);
        Add("range", [], S, experimental: true);
        Add("step", [], S, experimental: true);
        Add("info", [V, V], V, variadic: 1, experimental: true);
        Add("min_of", [S, S], S, experimental: true);
        Add("max_of", [S, S], S, experimental: true);
        return list.ToFrozenDictionary(f => f.Name, StringComparer.Ordinal);
    }
}
