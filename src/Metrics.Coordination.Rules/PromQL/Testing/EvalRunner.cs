using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.PromQL.Testing;

public sealed partial class PromQLTestScript
{
    private static readonly HashSet<string> AtUnsafeForVariants = new(StringComparer.Ordinal)
    {
        "time", "timestamp", "predict_linear", "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute", "month", "year",
        "start", "end", "range", "step",
    };

    private static readonly Regex FillModifier = new(@"\bfill(_left|_right)?\s*\(", RegexOptions.CultureInvariant);
    private static readonly Regex ExtendedRange = new(@"\b(anchored|smoothed)\b", RegexOptions.CultureInvariant);
    private static readonly Regex DurationExpression = new(
        @"\[[^\]]*(step\(\)|range\(\)|min_of|max_of|[-+*/%^(])[^\]]*\]|offset\s*[-+]?\s*(\(|step\(|range\(|min_of|max_of)|offset\s+[-+]?\d+[a-z]*\s*[-+*/%^]\s*\d",
        RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

    private static readonly Regex Position = new(@" \(\d+:\d+\)$", RegexOptions.CultureInvariant);

    private static readonly Regex QuotedString = new(@"""(\\.|[^""\\])*""|'(\\.|[^'\\])*'|`[^`]*`", RegexOptions.CultureInvariant);

    private static string? Classify(EvalCommand eval, LoadState state, Expr? tree)
    {
        // Text heuristics look at the query without its string literals (regexes may contain brackets).
        var q = QuotedString.Replace(eval.Query, "\"\"");

        // Data first: an eval over native-histogram samples needs them whatever else it uses.
        if (eval.ExpectsHistogram || SelectsHistograms(tree, q, state))
        {
            return "native histograms";
        }

        if (q.Contains("info(", StringComparison.Ordinal))
        {
            return "info()";
        }

        if (FillModifier.IsMatch(q))
        {
            return "fill modifiers";
        }

        if (ExtendedRange.IsMatch(q))
        {
            return "extended range selectors";
        }

        if (q.Contains("__type__", StringComparison.Ordinal) || q.Contains("__unit__", StringComparison.Ordinal) ||
            eval.Expected.Exists(e => e.Labels.Has("__type__") || e.Labels.Has("__unit__")) || state.TypeAndUnitLabels)
        {
            return "type and unit labels";
        }

        if (state.StartTimestamps || q.Contains("start_timestamp(", StringComparison.Ordinal))
        {
            return "start timestamps";
        }

        if (DurationExpression.IsMatch(q.Replace(" ", string.Empty, StringComparison.Ordinal).Replace("offset", "offset ", StringComparison.Ordinal)))
        {
            // Subquery brackets ([5m:1m]) and plain negative offsets are ordinary syntax; only arithmetic inside counts.
            if (tree is null || DurationExpression.IsMatch(q))
            {
                return "duration expressions";
            }
        }

        return null;
    }

    private static bool SelectsHistograms(Expr? tree, string query, LoadState state)
    {
        if (state.HistogramSeries.Count == 0)
        {
            return false;
        }

        if (tree is null)
        {
            return state.HistogramSeries.Exists(l => l.Name.Length > 0 && Regex.IsMatch(query, @"\b" + Regex.Escape(l.Name) + @"\b"));
        }

        var found = false;
        Visit(tree, e =>
        {
            if (e is VectorSelector vs)
            {
                var matchers = vs.AllMatchers();
                found |= state.HistogramSeries.Exists(l => matchers.All(m => m.Matches(l)));
            }
        });
        return found;
    }

    /// <summary>Visits nodes, but not below subqueries (whose inner selectors the @ variants leave alone).</summary>
    private static void VisitOutsideSubqueries(Expr e, Action<Expr> action) => Visit(e, action, intoSubqueries: false);

    private static void Visit(Expr e, Action<Expr> action, bool intoSubqueries = true)
    {
        action(e);
        switch (e)
        {
            case ParenExpr p: Visit(p.Inner, action, intoSubqueries); break;
            case UnaryExpr u: Visit(u.Operand, action, intoSubqueries); break;
            case BinaryExpr b: Visit(b.Lhs, action, intoSubqueries); Visit(b.Rhs, action, intoSubqueries); break;
            case AggregateExpr a:
                if (a.Param is not null)
                {
                    Visit(a.Param, action, intoSubqueries);
                }

                Visit(a.Expr, action, intoSubqueries);
                break;
            case Call c:
                foreach (var arg in c.Args)
                {
                    Visit(arg, action, intoSubqueries);
                }

                break;
            case MatrixSelector m: Visit(m.Vector, action, intoSubqueries); break;
            case SubqueryExpr s when intoSubqueries: Visit(s.Expr, action, intoSubqueries); break;
        }
    }

    internal sealed partial class EvalCommand
    {
        public PromQLEvalOutcome Run(PromQLEngine engine, IPromQLTestStorage storage, LoadState state, bool extraChecks, CancellationToken ct)
        {
            PromQLExpression? expr = null;
            string? failure;
            try
            {
                expr = engine.Parse(Query);
                failure = Check(engine, storage, expr, Start, checkAnnotations: true, positions: true, ct);
                if (failure is null && extraChecks && !IsRange && !ExpectFail)
                {
                    failure = ExtraChecks(engine, storage, expr, ct);
                }
            }
            catch (PromQLParseException ex)
            {
                failure = ExpectFail
                    ? $"expected an evaluation error, but the query did not parse: {ex.Message}"
                    : $"parse error: {ex.Message}";
            }

            var feature = Classify(this, state, expr?.Root);
            return new PromQLEvalOutcome(Line, Query, failure is null ? PromQLEvalStatus.Passed : PromQLEvalStatus.Failed, failure, feature);
        }

        private string? ExtraChecks(PromQLEngine engine, IPromQLTestStorage storage, PromQLExpression expr, CancellationToken ct)
        {
            var t = Start;
            var unsafeForAt = false;
            VisitOutsideSubqueries(expr.Root, e =>
            {
                unsafeForAt |= e is Call c && AtUnsafeForVariants.Contains(c.Function.Name);
                unsafeForAt |= e is ITimeModified m && m.AtKind != AtKind.None;
            });
            if (!unsafeForAt)
            {
                var withAt = PromQLExpression.Parse(Printer.Print(expr.Root, t), new PromQLParserOptions { EnableExperimentalFunctions = true, EnableDurationExpressions = true, EnableFillModifiers = true, EnableExtendedRangeSelectors = true });
                var times = t == 0 ? new long[] { -1000, 0, 1000 } : [-10 * t, 0, t / 5, t, 10 * t];
                foreach (var at in times)
                {
                    var f = Check(engine, storage, withAt, at, checkAnnotations: true, positions: false, ct);
                    if (f is not null)
                    {
                        return $"with @ {t / 1000.0:0.###} added (\"{withAt}\") and evaluated at {at / 1000.0:0.###}s: {f}";
                    }
                }
            }

            var usesQueryBounds = false;
            Visit(expr.Root, e => usesQueryBounds |= e is Call { Function.Name: "start" or "end" or "range" or "step" });
            if (Ordered || RangeVectorGrid is not null || ExpectedString is not null || usesQueryBounds)
            {
                return null;
            }

            PromQLResult range;
            try
            {
                range = engine.Execute(storage, PromQLQuery.Range(expr, t - 60_000, t + 60_000, 60_000), ct);
            }
            catch (PromQLQueryException ex)
            {
                return $"as a range query around {t / 1000.0:0.###}s: unexpected error: {ex.Message}";
            }

            var atT = new List<PromQLSample>();
            for (var i = 0; i < range.Matrix.Count; i++)
            {
                if (i > 0 && LabelsComparerPublic.Compare(range.Matrix[i - 1].Metric, range.Matrix[i].Metric) >= 0)
                {
                    return "as a range query: the result is not sorted by labels";
                }

                foreach (var p in range.Matrix[i].Points)
                {
                    if (p.TimestampMs == t)
                    {
                        atT.Add(new PromQLSample(range.Matrix[i].Metric, t, p.Value));
                    }
                }
            }

            if (ExpectedScalar is { } scalar)
            {
                return atT.Count == 1 && ScriptFloat.AlmostEqual(atT[0].Value, scalar)
                    ? null
                    : $"as a range query: expected scalar {ScriptFloat.Format(scalar)} at {t / 1000.0:0.###}s, got {atT.Count} points";
            }

            var mismatch = CompareVector(atT, ordered: false);
            return mismatch is null ? null : "as a range query around the eval time: " + mismatch;
        }

        private string? Check(PromQLEngine engine, IPromQLTestStorage storage, PromQLExpression expr, long at, bool checkAnnotations, bool positions, CancellationToken ct)
        {
            PromQLResult result;
            try
            {
                result = engine.Execute(storage, IsRange ? PromQLQuery.Range(expr, Start, End, Step) : PromQLQuery.Instant(expr, at), ct);
            }
            catch (PromQLQueryException ex)
            {
                if (!ExpectFail)
                {
                    return $"unexpected error: {ex.Message}";
                }

                if (FailMessage is not null && ex.Message != FailMessage)
                {
                    return $"expected error \"{FailMessage}\", got \"{ex.Message}\"";
                }

                if (FailRegex is not null && !FailRegex.IsMatch(ex.Message))
                {
                    return $"expected error matching /{FailRegex}/, got \"{ex.Message}\"";
                }

                return null;
            }

            if (ExpectFail)
            {
                return "expected an error, got a result";
            }

            if (checkAnnotations)
            {
                var f = CheckAnnotations(result, PromQLAnnotationKind.Warning, Warn, WarnMatchers, positions) ??
                        CheckAnnotations(result, PromQLAnnotationKind.Info, InfoAnnotations, InfoMatchers, positions);
                if (f is not null)
                {
                    return f;
                }
            }

            return IsRange ? CompareRange(result) : CompareInstant(result);
        }

        private static string? CheckAnnotations(PromQLResult result, PromQLAnnotationKind kind, AnnotationExpectation expectation, List<(string? Msg, Regex? Re)> matchers, bool positions)
        {
            var name = kind == PromQLAnnotationKind.Warning ? "warning" : "info";
            var actual = result.Annotations.Where(a => a.Kind == kind).Select(a => a.Message).ToList();
            switch (expectation)
            {
                case AnnotationExpectation.Any when actual.Count == 0:
                    return $"expected a {name} annotation, got none";
                case AnnotationExpectation.None when actual.Count > 0:
                    return $"expected no {name} annotation, got: {string.Join("; ", actual)}";
                case AnnotationExpectation.Matchers:
                    bool Matches((string? Msg, Regex? Re) m, string text) => m.Msg is not null
                        ? (positions ? text == m.Msg : Position.Replace(text, string.Empty) == Position.Replace(m.Msg, string.Empty))
                        : m.Re!.IsMatch(text) || (!positions && m.Re.IsMatch(Position.Replace(text, string.Empty)));
                    foreach (var m in matchers)
                    {
                        if (!actual.Exists(a => Matches(m, a)))
                        {
                            return $"expected a {name} annotation matching \"{m.Msg ?? m.Re!.ToString()}\", got: [{string.Join("; ", actual)}]";
                        }
                    }

                    foreach (var a in actual)
                    {
                        if (!matchers.Exists(m => Matches(m, a)))
                        {
                            return $"unexpected {name} annotation \"{a}\"";
                        }
                    }

                    break;
            }

            return null;
        }

        private string? CompareInstant(PromQLResult result)
        {
            if (ExpectedString is not null)
            {
                return result.Type == PromQLValueType.String && result.String == ExpectedString
                    ? null
                    : $"expected string \"{ExpectedString}\", got {Describe(result)}";
            }

            if (ExpectedScalar is { } scalar)
            {
                return result.Type == PromQLValueType.Scalar && ScriptFloat.AlmostEqual(result.Scalar, scalar)
                    ? null
                    : $"expected scalar {ScriptFloat.Format(scalar)}, got {Describe(result)}";
            }

            if (RangeVectorGrid is { } grid)
            {
                if (result.Type != PromQLValueType.RangeVector)
                {
                    return $"expected a range vector, got {Describe(result)}";
                }

                return CompareMatrix(result.Matrix, grid.Start, grid.Step, checkCount: false);
            }

            if (result.Type == PromQLValueType.RangeVector)
            {
                return "got a range vector; the eval needs an \"expect range vector\" line";
            }

            if (result.Type == PromQLValueType.Scalar)
            {
                return $"expected a vector, got scalar {ScriptFloat.Format(result.Scalar)}";
            }

            if (result.Type != PromQLValueType.InstantVector)
            {
                return $"expected a vector, got {Describe(result)}";
            }

            return CompareVector(result.Vector.ToList(), Ordered);
        }

        private string? CompareVector(List<PromQLSample> actual, bool ordered)
        {
            if (Expected.Exists(e => e.Values.Count != 1))
            {
                return "an instant eval's result line must have exactly one value";
            }

            var seen = new HashSet<Labels>();
            foreach (var s in actual)
            {
                if (!seen.Add(s.Metric))
                {
                    return $"the result has {s.Metric} twice";
                }
            }

            for (var i = 0; i < Expected.Count; i++)
            {
                var e = Expected[i];
                var index = actual.FindIndex(s => s.Metric == e.Labels);
                if (index < 0)
                {
                    return $"expected {e.Labels} {FormatExpected(e.Values[0])} (line {e.Line}), not in the result {FormatSamples(actual)}";
                }

                if (e.Values[0].Histogram || e.Values[0].Omitted || !ScriptFloat.AlmostEqual(actual[index].Value, e.Values[0].Value))
                {
                    return $"expected {e.Labels} {FormatExpected(e.Values[0])}, got {ScriptFloat.Format(actual[index].Value)}";
                }

                if (ordered && index != i)
                {
                    return $"expected {e.Labels} at position {i + 1} of the result, got it at {index + 1}: {FormatSamples(actual)}";
                }
            }

            foreach (var s in actual)
            {
                if (!Expected.Exists(e => e.Labels == s.Metric))
                {
                    return $"unexpected series in the result: {s.Metric} {ScriptFloat.Format(s.Value)}";
                }
            }

            return null;
        }

        private string? CompareRange(PromQLResult result)
        {
            if (result.Type != PromQLValueType.RangeVector)
            {
                return $"expected a matrix, got {Describe(result)}";
            }

            var steps = (int)((End - Start) / Step) + 1;
            if (Expected.Exists(e => e.Values.Count > steps))
            {
                return $"a result line lists more values than the range has steps ({steps})";
            }

            return CompareMatrix(result.Matrix, Start, Step, checkCount: true);
        }

        private string? CompareMatrix(IReadOnlyList<PromQLSeries> matrix, long start, long step, bool checkCount)
        {
            _ = checkCount;
            foreach (var e in Expected)
            {
                var s = matrix.FirstOrDefault(m => m.Metric == e.Labels);
                if (s is null)
                {
                    return $"expected series {e.Labels} (line {e.Line}) is not in the result: {string.Join(", ", matrix.Select(m => m.Metric))}";
                }

                var expectedPoints = new List<(long T, SequenceValue V)>();
                for (var i = 0; i < e.Values.Count; i++)
                {
                    if (!e.Values[i].Omitted)
                    {
                        expectedPoints.Add((start + (i * step), e.Values[i]));
                    }
                }

                if (expectedPoints.Count != s.Points.Count)
                {
                    return $"series {e.Labels}: expected {expectedPoints.Count} points, got {s.Points.Count}: {FormatPoints(s)}";
                }

                for (var i = 0; i < expectedPoints.Count; i++)
                {
                    var (t, v) = expectedPoints[i];
                    var p = s.Points[i];
                    if (p.TimestampMs != t || v.Histogram || !ScriptFloat.AlmostEqual(p.Value, v.Value))
                    {
                        return $"series {e.Labels}: expected {FormatExpected(v)} @{t / 1000.0:0.###}s, got {FormatPoints(s)}";
                    }
                }
            }

            foreach (var s in matrix)
            {
                if (!Expected.Exists(e => e.Labels == s.Metric))
                {
                    return $"unexpected series in the result: {s.Metric} {FormatPoints(s)}";
                }
            }

            return null;
        }

        private static string FormatExpected(SequenceValue v) => v.Histogram ? "{{histogram}}" : v.Omitted ? "_" : ScriptFloat.Format(v.Value);

        private static string FormatSamples(List<PromQLSample> samples) =>
            "[" + string.Join(", ", samples.Select(s => $"{s.Metric} {ScriptFloat.Format(s.Value)}")) + "]";

        private static string FormatPoints(PromQLSeries s)
        {
            var sb = new StringBuilder();
            foreach (var p in s.Points)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{ScriptFloat.Format(p.Value)}@{p.TimestampMs / 1000.0:0.###}s ");
            }

            return sb.ToString().TrimEnd();
        }

        private static string Describe(PromQLResult r) => r.Type switch
        {
            PromQLValueType.Scalar => "scalar " + ScriptFloat.Format(r.Scalar),
            PromQLValueType.String => $"string \"{r.String}\"",
            PromQLValueType.InstantVector => $"vector of {r.Vector.Count} samples",
            _ => $"matrix of {r.Matrix.Count} series",
        };
    }

    private static class LabelsComparerPublic
    {
        public static int Compare(Labels a, Labels b) => LabelsComparer.Instance.Compare(a, b);
    }
}
