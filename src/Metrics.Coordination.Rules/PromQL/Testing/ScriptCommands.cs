using System.Globalization;
using System.Text.RegularExpressions;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Shared;

namespace Metrics.Coordination.Rules.PromQL.Testing;

public sealed partial class PromQLTestScript
{
    internal sealed record LoadSeries(Labels Labels, List<SequenceValue> Values);

    internal sealed class LoadCommand(int line, long intervalMs, bool withNhcb, List<LoadSeries> series, bool startTimestamps) : Command(line)
    {
        public long IntervalMs { get; } = intervalMs;

        public bool WithNhcb { get; } = withNhcb;

        public List<LoadSeries> Series { get; } = series;

        public bool StartTimestamps { get; } = startTimestamps;

        public void Apply(IPromQLTestStorage storage, LoadState state)
        {
            state.StartTimestamps |= StartTimestamps;
            var appender = storage.Appender();
            var histogramNames = new HashSet<string>(StringComparer.Ordinal);
            foreach (var s in Series)
            {
                state.TypeAndUnitLabels |= s.Labels.Has("__type__") || s.Labels.Has("__unit__");
                var anyHistogram = false;
                for (var i = 0; i < s.Values.Count; i++)
                {
                    var v = s.Values[i];
                    if (v.Omitted)
                    {
                        continue;
                    }

                    if (v.Histogram)
                    {
                        anyHistogram = true;
                        continue;
                    }

                    appender.Append(new AppendRequest { Labels = s.Labels, TimestampMs = i * IntervalMs, Value = v.Value });
                }

                if (anyHistogram)
                {
                    state.HistogramSeries.Add(s.Labels);
                }

                if (WithNhcb)
                {
                    var name = s.Labels.Name;
                    foreach (var suffix in new[] { "_bucket", "_count", "_sum" })
                    {
                        if (name.EndsWith(suffix, StringComparison.Ordinal) && name.Length > suffix.Length)
                        {
                            var baseName = name[..^suffix.Length];
                            if (histogramNames.Add(baseName + "\u0000" + s.Labels.Without(Labels.MetricName, "le")))
                            {
                                state.HistogramSeries.Add(s.Labels.Without("le").With(Labels.MetricName, baseName));
                            }
                        }
                    }
                }
            }

            appender.Commit();
        }
    }

    internal enum AnnotationExpectation
    {
        Unchecked,
        Any,
        None,
        Matchers,
    }

    internal sealed record ExpectedSeries(Labels Labels, List<SequenceValue> Values, int Line);

    internal sealed partial class EvalCommand(int line, string query) : Command(line)
    {
        public string Query { get; } = query;

        public bool IsRange { get; set; }

        public long Start { get; set; }

        public long End { get; set; }

        public long Step { get; set; }

        public bool ExpectFail { get; set; }

        public string? FailMessage { get; set; }

        public Regex? FailRegex { get; set; }

        public bool Ordered { get; set; }

        public string? ExpectedString { get; set; }

        public double? ExpectedScalar { get; set; }

        public (long Start, long End, long Step)? RangeVectorGrid { get; set; }

        public AnnotationExpectation Warn { get; set; }

        public AnnotationExpectation InfoAnnotations { get; set; }

        public List<(string? Msg, Regex? Re)> WarnMatchers { get; } = [];

        public List<(string? Msg, Regex? Re)> InfoMatchers { get; } = [];

        public List<ExpectedSeries> Expected { get; } = [];

        public bool ExpectsHistogram => Expected.Exists(e => e.Values.Exists(v => v.Histogram));
    }

    internal static class ScriptParser
    {
        private static readonly Regex EvalInstant = new(@"^(eval|eval_fail|eval_warn|eval_info|eval_ordered)\s+instant\s+(?:at\s+)?(\S+)\s+(.+)$", RegexOptions.CultureInvariant);
        private static readonly Regex EvalRange = new(@"^(eval|eval_fail|eval_warn|eval_info)\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$", RegexOptions.CultureInvariant);
        private static readonly Regex ExpectLine = new(@"^expect\s+(fail|warn|info|no_warn|no_info|ordered|string|range\s+vector)\b\s*(.*)$", RegexOptions.CultureInvariant);
        private static readonly Regex RangeVectorLine = new(@"^from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)$", RegexOptions.CultureInvariant);

        public static List<Command> Parse(string text, string name)
        {
            var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
            var commands = new List<Command>();
            var i = 0;
            while (i < lines.Length)
            {
                var line = lines[i].Trim(' ', '\t');
                var lineNo = i + 1;
                if (line.Length == 0 || line[0] == '#')
                {
                    i++;
                    continue;
                }

                if (line == "clear")
                {
                    commands.Add(new ClearCommand(lineNo));
                    i++;
                    continue;
                }

                if (line.StartsWith("load", StringComparison.Ordinal))
                {
                    i = ParseLoad(lines, i, name, commands);
                    continue;
                }

                if (line.StartsWith("eval", StringComparison.Ordinal))
                {
                    i = ParseEval(lines, i, name, commands);
                    continue;
                }

                throw new PromQLTestScriptException(name, lineNo, $"unknown command \"{line}\"");
            }

            return commands;
        }

        private static int ParseLoad(string[] lines, int i, string name, List<Command> commands)
        {
            var header = lines[i].Trim(' ', '\t').Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var lineNo = i + 1;
            if (header.Length != 2 || header[0] is not ("load" or "load_with_nhcb") || !Durations.TryParse(header[1], out var interval))
            {
                throw new PromQLTestScriptException(name, lineNo, "invalid load command, expected \"load <interval>\"");
            }

            var series = new Dictionary<Labels, LoadSeries>();
            var order = new List<Labels>();
            var startTimestamps = false;
            i++;
            for (; i < lines.Length; i++)
            {
                var line = lines[i].Trim(' ', '\t');
                if (line.Length == 0 || line[0] == '#')
                {
                    break;
                }

                var (labels, rest) = ScriptSyntax.ParseSeriesLine(line, name, i + 1);
                if (rest.StartsWith("@st", StringComparison.Ordinal))
                {
                    // Start timestamps: not supported by the storage interface; noted for classification.
                    startTimestamps = true;
                    continue;
                }

                var values = ScriptSyntax.ParseSequence(rest, name, i + 1);
                if (!series.ContainsKey(labels))
                {
                    order.Add(labels);
                }

                series[labels] = new LoadSeries(labels, values);
            }

            commands.Add(new LoadCommand(lineNo, interval, header[0] == "load_with_nhcb", order.ConvertAll(l => series[l]), startTimestamps));
            return i;
        }

        private static int ParseEval(string[] lines, int i, string name, List<Command> commands)
        {
            var line = lines[i].Trim(' ', '\t');
            var lineNo = i + 1;
            EvalCommand eval;
            string kind;
            var m = EvalInstant.Match(line);
            if (m.Success)
            {
                kind = m.Groups[1].Value;
                if (!ScriptSyntax.TryParseTime(m.Groups[2].Value, out var at))
                {
                    throw new PromQLTestScriptException(name, lineNo, $"invalid time \"{m.Groups[2].Value}\"");
                }

                eval = new EvalCommand(lineNo, m.Groups[3].Value) { Start = at, End = at };
            }
            else if ((m = EvalRange.Match(line)).Success)
            {
                kind = m.Groups[1].Value;
                if (!ScriptSyntax.TryParseTime(m.Groups[2].Value, out var start) || !ScriptSyntax.TryParseTime(m.Groups[3].Value, out var end) ||
                    !Durations.TryParse(m.Groups[4].Value, out var step))
                {
                    throw new PromQLTestScriptException(name, lineNo, "invalid range eval times");
                }

                eval = new EvalCommand(lineNo, m.Groups[5].Value) { IsRange = true, Start = start, End = end, Step = step };
            }
            else
            {
                throw new PromQLTestScriptException(name, lineNo, $"invalid eval command \"{line}\"");
            }

            switch (kind)
            {
                case "eval_fail":
                    eval.ExpectFail = true;
                    break;
                case "eval_warn":
                    eval.Warn = AnnotationExpectation.Any;
                    break;
                case "eval_info":
                    eval.InfoAnnotations = AnnotationExpectation.Any;
                    break;
                case "eval_ordered":
                    eval.Ordered = true;
                    break;
            }

            i++;
            for (; i < lines.Length; i++)
            {
                var l = lines[i].Trim(' ', '\t');
                if (l.Length == 0 || l[0] == '#')
                {
                    break;
                }

                var e = ExpectLine.Match(l);
                if (e.Success)
                {
                    ParseExpect(eval, e.Groups[1].Value, e.Groups[2].Value.Trim(), name, i + 1);
                    continue;
                }

                if (l.StartsWith("expected_fail_message ", StringComparison.Ordinal))
                {
                    eval.FailMessage = l["expected_fail_message ".Length..].Trim();
                    continue;
                }

                if (l.StartsWith("expected_fail_regexp ", StringComparison.Ordinal))
                {
                    eval.FailRegex = new Regex(l["expected_fail_regexp ".Length..].Trim(), RegexOptions.CultureInvariant);
                    continue;
                }

                if (ScriptSyntax.TryParseValue(l, out var scalar))
                {
                    eval.ExpectedScalar = scalar;
                    continue;
                }

                var (labels, rest) = ScriptSyntax.ParseSeriesLine(l, name, i + 1);
                eval.Expected.Add(new ExpectedSeries(labels, ScriptSyntax.ParseSequence(rest, name, i + 1), i + 1));
            }

            commands.Add(eval);
            return i;
        }

        private static void ParseExpect(EvalCommand eval, string what, string rest, string name, int lineNo)
        {
            (string? Msg, Regex? Re)? matcher = null;
            if (rest.StartsWith("msg:", StringComparison.Ordinal))
            {
                matcher = (rest[4..].Trim(), null);
            }
            else if (rest.StartsWith("regex:", StringComparison.Ordinal))
            {
                matcher = (null, new GoRegex(rest[6..].Trim(), anchored: false, dotAll: false, Regex.InfiniteMatchTimeout).Regex);
            }

            switch (what)
            {
                case "fail":
                    eval.ExpectFail = true;
                    eval.FailMessage = matcher?.Msg;
                    eval.FailRegex = matcher?.Re;
                    break;
                case "warn":
                    eval.Warn = matcher is null ? (eval.Warn == AnnotationExpectation.Matchers ? AnnotationExpectation.Matchers : AnnotationExpectation.Any) : AnnotationExpectation.Matchers;
                    if (matcher is { } w)
                    {
                        eval.WarnMatchers.Add(w);
                    }

                    break;
                case "info":
                    eval.InfoAnnotations = matcher is null ? (eval.InfoAnnotations == AnnotationExpectation.Matchers ? AnnotationExpectation.Matchers : AnnotationExpectation.Any) : AnnotationExpectation.Matchers;
                    if (matcher is { } n)
                    {
                        eval.InfoMatchers.Add(n);
                    }

                    break;
                case "no_warn":
                    eval.Warn = AnnotationExpectation.None;
                    break;
                case "no_info":
                    eval.InfoAnnotations = AnnotationExpectation.None;
                    break;
                case "ordered":
                    eval.Ordered = true;
                    break;
                case "string":
                    if (rest.Length < 2 || rest[0] != rest[^1] || rest[0] is not ('"' or '`'))
                    {
                        throw new PromQLTestScriptException(name, lineNo, "expect string needs a quoted string");
                    }

                    eval.ExpectedString = rest[0] == '`' ? rest[1..^1] : Lexer.Tokenize(rest)[0].Text;
                    break;
                default: // range vector
                {
                    var m = RangeVectorLine.Match(rest);
                    if (!m.Success || !ScriptSyntax.TryParseTime(m.Groups[1].Value, out var s) || !ScriptSyntax.TryParseTime(m.Groups[2].Value, out var e) ||
                        !Durations.TryParse(m.Groups[3].Value, out var st))
                    {
                        throw new PromQLTestScriptException(name, lineNo, "invalid expect range vector line");
                    }

                    eval.RangeVectorGrid = (s, e, st);
                    break;
                }
            }
        }
    }
}

/// <summary>Float equality as Prometheus's test runner: NaNs equal (stale only to stale), else relative 1e-6.</summary>
internal static class ScriptFloat
{
    public static bool AlmostEqual(double a, double b)
    {
        if (StaleMarker.IsStale(a) || StaleMarker.IsStale(b))
        {
            return StaleMarker.IsStale(a) && StaleMarker.IsStale(b);
        }

        if (double.IsNaN(a) || double.IsNaN(b))
        {
            return double.IsNaN(a) && double.IsNaN(b);
        }

        if (a.Equals(b))
        {
            return true;
        }

        const double MinNormal = 2.2250738585072014e-308;
        var absSum = Math.Abs(a) + Math.Abs(b);
        var diff = Math.Abs(a - b);
        if (a == 0 || b == 0 || absSum < MinNormal)
        {
            return diff < 1e-6 * MinNormal;
        }

        return diff / Math.Min(absSum, double.MaxValue) < 1e-6;
    }

    public static string Format(double v) => Printer.FormatFloat(v) == "Inf" ? "+Inf" : Printer.FormatFloat(v).ToString(CultureInfo.InvariantCulture);
}
