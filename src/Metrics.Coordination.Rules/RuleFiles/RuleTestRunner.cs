using System.Globalization;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Rules.PromQL;
using Metrics.Coordination.Rules.PromQL.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Metrics.Coordination.Rules;

/// <summary>Settings of a <see cref="RuleTestRunner"/>.</summary>
public sealed class RuleTestRunnerOptions
{
    /// <summary>The PromQL engine settings the tests run with. Default: Prometheus's.</summary>
    public PromQLEngineOptions? EngineOptions { get; set; }
}

/// <summary>The outcome of one rule unit-test file.</summary>
/// <param name="File">The test file.</param>
/// <param name="Errors">Every failure, in promtool's wording (expected vs got); empty when the file passed.</param>
/// <param name="Warnings">Warnings (rule file patterns that matched nothing).</param>
public sealed record RuleTestFileResult(string File, IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings)
{
    /// <summary>Whether every test of the file passed.</summary>
    public bool Passed => Errors.Count == 0;
}

/// <summary>
/// Runs rule unit tests in the <c>promtool test rules</c> file format: <c>rule_files</c>, <c>evaluation_interval</c>,
/// <c>group_eval_order</c> and <c>tests</c> with <c>interval</c>, <c>input_series</c> (series notation such as
/// <c>1+2x10</c>, <c>_</c>, <c>_x3</c>, <c>stale</c>), <c>external_labels</c>, <c>external_url</c>,
/// <c>alert_rule_test</c> and <c>promql_expr_test</c>. Rules are evaluated every evaluation interval from time 0 to the
/// latest <c>eval_time</c>; alerts are compared with the evaluation at or just before their <c>eval_time</c>.
/// </summary>
/// <remarks>
/// promtool 2.42 ignores the default of a test's <c>interval</c> (it stays 0, so every input sample lands at time 0);
/// here it defaults to <c>evaluation_interval</c> as documented and as later promtool versions do.
/// </remarks>
public sealed class RuleTestRunner
{
    private static readonly string[] FileKeys = ["rule_files", "evaluation_interval", "group_eval_order", "tests"];
    private static readonly string[] TestKeys = ["interval", "input_series", "alert_rule_test", "promql_expr_test", "external_labels", "external_url", "name"];
    private readonly PromQLEngineOptions _engineOptions;

    /// <summary>Creates a runner.</summary>
    public RuleTestRunner(RuleTestRunnerOptions? options = null)
    {
        _engineOptions = options?.EngineOptions ?? new PromQLEngineOptions();
    }

    /// <summary>Runs every test of the file at <paramref name="path"/>; rule files are resolved relative to its directory.</summary>
    public RuleTestFileResult Run(string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        var errors = new List<string>();
        var warnings = new List<string>();
        try
        {
            RunFile(path, errors, warnings, cancellationToken);
        }
        catch (RuleTestFormatException e)
        {
            errors.Add(e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add(e.Message);
        }

        return new RuleTestFileResult(path, errors, warnings);
    }

    private void RunFile(string path, List<string> errors, List<string> warnings, CancellationToken cancellationToken)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(File.ReadAllText(path)));
        }
        catch (YamlException e)
        {
            throw new RuleTestFormatException($"yaml: line {e.Start.Line}: {e.Message}");
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new RuleTestFormatException("yaml: the test file must be a mapping");
        }

        CheckKeys(root, FileKeys, "main.unitTestFile");
        var evalInterval = Duration(Child(root, "evaluation_interval"), "evaluation_interval") ?? 60_000;
        if (evalInterval <= 0)
        {
            throw new RuleTestFormatException("evaluation_interval must be positive");
        }

        var groupOrder = Strings(Child(root, "group_eval_order"));
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        var ruleFiles = new List<string>();
        foreach (var pattern in Strings(Child(root, "rule_files")))
        {
            var matched = Glob(baseDir, pattern);
            if (matched.Count == 0)
            {
                warnings.Add($"no file match pattern {pattern}");
            }

            ruleFiles.AddRange(matched);
        }

        var definitions = new List<RuleGroupDefinition>();
        var problems = new List<RuleFileProblem>();
        foreach (var file in ruleFiles)
        {
            try
            {
                definitions.AddRange(RuleFileParser.Load(file).Groups);
            }
            catch (RuleFileException e)
            {
                problems.AddRange(e.Problems);
            }
        }

        if (problems.Count > 0)
        {
            errors.AddRange(problems.Select(p => p.ToString()));
            return;
        }

        var unknownGroups = groupOrder.Where(n => definitions.All(d => d.Name != n)).ToList();
        if (unknownGroups.Count > 0)
        {
            errors.Add($"group name(s) {string.Join(", ", unknownGroups)} given in group_eval_order are not in the rule files");
            return;
        }

        var ordered = definitions
            .Select((d, i) => (d, i))
            .OrderBy(x => groupOrder.IndexOf(x.d.Name) is var k and >= 0 ? k : groupOrder.Count + x.i)
            .Select(x => x.d)
            .ToList();

        if (Child(root, "tests") is YamlSequenceNode tests)
        {
            foreach (var test in tests.Children)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (test is not YamlMappingNode map)
                {
                    throw new RuleTestFormatException("yaml: a test must be a mapping");
                }

                RunTest(map, ordered, evalInterval, errors, cancellationToken);
            }
        }
    }

    private void RunTest(YamlMappingNode test, List<RuleGroupDefinition> definitions, long evalInterval, List<string> errors, CancellationToken cancellationToken)
    {
        CheckKeys(test, TestKeys, "main.testGroup");
        var interval = Duration(Child(test, "interval"), "interval") ?? evalInterval;
        var name = Scalar(Child(test, "name")) ?? "";
        var externalUrl = Scalar(Child(test, "external_url")) ?? "";
        var externalLabels = StringMap(Child(test, "external_labels"));
        var testPrefix = name.Length > 0 ? $"    name: {name},\n" : "";

        using var storage = new InMemoryPromQLStorage();
        var appender = storage.Appender();
        foreach (var s in Sequence(Child(test, "input_series")))
        {
            if (s is not YamlMappingNode series)
            {
                throw new RuleTestFormatException("yaml: an input series must be a mapping");
            }

            CheckKeys(series, ["series", "values"], "main.series");
            var seriesText = Scalar(Child(series, "series")) ?? "";
            Labels labels;
            List<SequenceValue> values;
            try
            {
                (labels, var rest) = ScriptSyntax.ParseSeriesLine(seriesText, "input_series", 0);
                if (rest.Trim().Length > 0)
                {
                    throw new RuleTestFormatException($"invalid series {seriesText}");
                }

                values = ScriptSyntax.ParseSequence(Scalar(Child(series, "values")) ?? "", "input_series", 0);
            }
            catch (PromQLTestScriptException e)
            {
                throw new RuleTestFormatException($"{seriesText}: {e.Message}");
            }

            for (var i = 0; i < values.Count; i++)
            {
                if (!values[i].Omitted)
                {
                    appender.Append(new AppendRequest { Labels = labels, TimestampMs = i * interval, Value = values[i].Value });
                }
            }
        }

        appender.Commit();

        var engine = new PromQLEngine(_engineOptions);
        var env = new RuleEnvironment
        {
            Engine = engine,
            Queryable = storage,
            Appendable = storage,
            ExternalLabels = externalLabels,
            ExternalUrl = externalUrl,
            Logger = NullLogger.Instance,
        };
        var groups = definitions.Select(d => new RuleGroup(d, TimeSpan.FromMilliseconds(evalInterval), TimeSpan.Zero)).ToList();

        var alertTests = new List<(long EvalTime, string AlertName, List<(Labels Labels, Labels Annotations)> Expected)>();
        foreach (var a in Sequence(Child(test, "alert_rule_test")))
        {
            var map = a as YamlMappingNode ?? throw new RuleTestFormatException("yaml: an alert_rule_test must be a mapping");
            CheckKeys(map, ["eval_time", "alertname", "exp_alerts"], "main.alertTestCase");
            var alertName = Scalar(Child(map, "alertname")) ?? "";
            var expected = new List<(Labels, Labels)>();
            foreach (var e in Sequence(Child(map, "exp_alerts")))
            {
                var em = e as YamlMappingNode ?? throw new RuleTestFormatException("yaml: an exp_alerts entry must be a mapping");
                CheckKeys(em, ["exp_labels", "exp_annotations"], "main.alert");
                expected.Add((StringMap(Child(em, "exp_labels")).With(AlertingRule.AlertNameLabel, alertName), StringMap(Child(em, "exp_annotations"))));
            }

            alertTests.Add((Duration(Child(map, "eval_time"), "eval_time") ?? 0, alertName, expected));
        }

        var exprTests = new List<(long EvalTime, string Expr, YamlNode? Samples)>();
        foreach (var p in Sequence(Child(test, "promql_expr_test")))
        {
            var map = p as YamlMappingNode ?? throw new RuleTestFormatException("yaml: a promql_expr_test must be a mapping");
            CheckKeys(map, ["expr", "eval_time", "exp_samples"], "main.promqlTestCase");
            exprTests.Add((Duration(Child(map, "eval_time"), "eval_time") ?? 0, Scalar(Child(map, "expr")) ?? "", Child(map, "exp_samples")));
        }

        var maxT = alertTests.Select(a => a.EvalTime).Concat(exprTests.Select(e => e.EvalTime)).DefaultIfEmpty(0).Max();
        var alertTimes = alertTests.Select(a => a.EvalTime).Distinct().Order().ToList();
        var current = 0;
        for (var ts = 0L; ts <= maxT; ts += evalInterval)
        {
            var evalErrors = new List<string>();
            foreach (var g in groups)
            {
                g.Evaluate(env, ts, cancellationToken);
                foreach (var r in g.Rules)
                {
                    if (r.LastError is { } err)
                    {
                        evalErrors.Add($"    rule: {r.Name}, time: {Durations.Format(ts)}, err: {err}");
                    }
                }
            }

            if (evalErrors.Count > 0)
            {
                errors.AddRange(evalErrors);
                return;
            }

            while (current < alertTimes.Count && ts <= alertTimes[current] && alertTimes[current] < ts + evalInterval)
            {
                var t = alertTimes[current];
                foreach (var (_, alertName, expected) in alertTests.Where(a => a.EvalTime == t))
                {
                    var got = groups.SelectMany(g => g.Rules).OfType<AlertingRule>().Where(r => r.Name == alertName)
                        .SelectMany(r => r.AlertsCopy()).Where(a => a.State == AlertState.Firing)
                        .Select(a => (a.Labels, a.Annotations)).ToList();
                    SortAlerts(got);
                    SortAlerts(expected);
                    if (!AlertsEqual(expected, got))
                    {
                        errors.Add($"{testPrefix}    alertname: {alertName}, time: {Durations.Format(t)}, \n" +
                                   $"        exp:{IndentLines(AlertsString(expected), "            ")}, \n" +
                                   $"        got:{IndentLines(AlertsString(got), "            ")}");
                    }
                }

                current++;
            }
        }

        foreach (var (evalTime, expr, samplesNode) in exprTests)
        {
            var head = $"    expr: {GoQuote(expr)}, time: {Durations.Format(evalTime)}";
            List<(Labels Labels, double Value)> got;
            try
            {
                var result = engine.Execute(storage, PromQLQuery.Instant(engine.Parse(expr), evalTime), cancellationToken);
                got = result.Type switch
                {
                    PromQLValueType.InstantVector => [.. result.Vector.Select(s => (s.Metric, s.Value))],
                    PromQLValueType.Scalar => [(Labels.Empty, result.Scalar)],
                    _ => throw new PromQLQueryException(PromQLErrorKind.Execution, "rule result is not a vector or scalar"),
                };
            }
            catch (Exception e) when (e is PromQLParseException or PromQLQueryException)
            {
                errors.Add($"{head}, err: {e.Message}");
                continue;
            }

            var expected = new List<(Labels Labels, double Value)>();
            var bad = false;
            foreach (var s in Sequence(samplesNode))
            {
                var sm = s as YamlMappingNode ?? throw new RuleTestFormatException("yaml: an exp_samples entry must be a mapping");
                CheckKeys(sm, ["labels", "value", "histogram"], "main.sample");
                var labelsText = Scalar(Child(sm, "labels")) ?? "";
                try
                {
                    var (labels, rest) = ScriptSyntax.ParseSeriesLine(labelsText.Trim(), "exp_samples", 0);
                    if (rest.Trim().Length > 0)
                    {
                        throw new PromQLTestScriptException("exp_samples", 0, $"unexpected \"{rest.Trim()}\"");
                    }

                    var valueText = Scalar(Child(sm, "value")) ?? "0";
                    if (!ScriptSyntax.TryParseValue(valueText, out var value))
                    {
                        throw new RuleTestFormatException($"cannot parse sample value \"{valueText}\"");
                    }

                    expected.Add((labels, value));
                }
                catch (PromQLTestScriptException e)
                {
                    errors.Add($"{head}, err: labels {GoQuote(labelsText)}: {e.Message}");
                    bad = true;
                    break;
                }
            }

            if (bad)
            {
                continue;
            }

            expected.Sort((a, b) => InMemoryPromQLStorage.CompareLabels(a.Labels, b.Labels));
            got.Sort((a, b) => InMemoryPromQLStorage.CompareLabels(a.Labels, b.Labels));
            var equal = expected.Count == got.Count && expected.Zip(got).All(p => p.First.Labels == p.Second.Labels && p.First.Value == p.Second.Value);
            if (!equal)
            {
                errors.Add($"{head},\n        exp: {SamplesString(expected)}\n        got: {SamplesString(got)}");
            }
        }
    }

    private static void SortAlerts(List<(Labels Labels, Labels Annotations)> alerts) =>
        alerts.Sort((a, b) => InMemoryPromQLStorage.CompareLabels(a.Labels, b.Labels) is var c and not 0 ? c : InMemoryPromQLStorage.CompareLabels(a.Annotations, b.Annotations));

    private static bool AlertsEqual(List<(Labels Labels, Labels Annotations)> a, List<(Labels Labels, Labels Annotations)> b) =>
        a.Count == b.Count && a.Zip(b).All(p => p.First.Labels == p.Second.Labels && p.First.Annotations == p.Second.Annotations);

    /// <summary>promtool's rendering of a list of alerts: <c>[\n0:\n  Labels:{...}\n  Annotations:{...}\n]</c>.</summary>
    internal static string AlertsString(List<(Labels Labels, Labels Annotations)> alerts)
    {
        if (alerts.Count == 0)
        {
            return "[]";
        }

        var sb = new StringBuilder("[");
        for (var i = 0; i < alerts.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append('\n').Append(i.ToString(CultureInfo.InvariantCulture)).Append(':');
            sb.Append(IndentLines($"\nLabels:{GoLabels(alerts[i].Labels)}\nAnnotations:{GoLabels(alerts[i].Annotations)}", "  "));
        }

        return sb.Append("\n]").ToString();
    }

    private static string SamplesString(List<(Labels Labels, double Value)> samples) =>
        samples.Count == 0 ? "nil" : string.Join(", ", samples.Select(s => GoLabels(s.Labels) + " " + GoFloatE(s.Value)));

    /// <summary>Indents every line but the first, as promtool's <c>indentLines</c> does.</summary>
    private static string IndentLines(string lines, string indentation) => lines.Replace("\n", "\n" + indentation, StringComparison.Ordinal);

    /// <summary>Labels as Go's <c>labels.Labels.String()</c>: <c>{__name__="x", job="a"}</c>.</summary>
    internal static string GoLabels(Labels labels) => "{" + string.Join(", ", labels.Select(l => l.Name + "=" + GoQuote(l.Value))) + "}";

    internal static string GoQuote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            _ = c switch
            {
                '\\' => sb.Append("\\\\"),
                '"' => sb.Append("\\\""),
                '\n' => sb.Append("\\n"),
                '\t' => sb.Append("\\t"),
                '\r' => sb.Append("\\r"),
                _ => sb.Append(c),
            };
        }

        return sb.Append('"').ToString();
    }

    /// <summary>Go's <c>strconv.FormatFloat(v, 'E', -1, 64)</c>: shortest round-trip mantissa, exponent with sign and at least two digits.</summary>
    internal static string GoFloatE(double v)
    {
        if (double.IsNaN(v))
        {
            return "NaN";
        }

        if (double.IsInfinity(v))
        {
            return v > 0 ? "+Inf" : "-Inf";
        }

        string s = v.ToString("E16", CultureInfo.InvariantCulture);
        for (var p = 0; p <= 16; p++)
        {
            var candidate = v.ToString("E" + p.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            if (double.Parse(candidate, CultureInfo.InvariantCulture) == v)
            {
                s = candidate;
                break;
            }
        }

        var e = s.IndexOf('E', StringComparison.Ordinal);
        var exponent = int.Parse(s.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        return s[..e] + "E" + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
    }

    private static List<string> Glob(string baseDir, string pattern)
    {
        var full = Path.IsPathRooted(pattern) ? pattern : Path.Combine(baseDir, pattern);
        var dir = Path.GetDirectoryName(full) ?? baseDir;
        var name = Path.GetFileName(full);
        if (name.IndexOfAny(['*', '?']) < 0)
        {
            return File.Exists(full) ? [full] : [];
        }

        return Directory.Exists(dir) ? [.. Directory.GetFiles(dir, name).Order(StringComparer.Ordinal)] : [];
    }

    private static void CheckKeys(YamlMappingNode map, string[] allowed, string type)
    {
        foreach (var key in map.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value;
            if (name is null || Array.IndexOf(allowed, name) < 0)
            {
                throw new RuleTestFormatException($"yaml: unmarshal errors:\n  line {key.Start.Line}: field {name} not found in type {type}");
            }
        }
    }

    private static YamlNode? Child(YamlMappingNode map, string key)
    {
        foreach (var (k, v) in map.Children)
        {
            if (k is YamlScalarNode { Value: var name } && name == key)
            {
                return v;
            }
        }

        return null;
    }

    private static string? Scalar(YamlNode? node) => node switch
    {
        null => null,
        YamlScalarNode s => s.Value,
        _ => throw new RuleTestFormatException($"yaml: line {node.Start.Line}: expected a string"),
    };

    private static IEnumerable<YamlNode> Sequence(YamlNode? node) => node switch
    {
        null => [],
        YamlScalarNode { Value: null or "" or "~" or "null" } => [],
        YamlSequenceNode s => s.Children,
        _ => throw new RuleTestFormatException($"yaml: line {node.Start.Line}: expected a list"),
    };

    private static List<string> Strings(YamlNode? node) => [.. Sequence(node).Select(n => Scalar(n) ?? "")];

    private static Labels StringMap(YamlNode? node)
    {
        if (node is null || node is YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            return Labels.Empty;
        }

        if (node is not YamlMappingNode map)
        {
            throw new RuleTestFormatException($"yaml: line {node.Start.Line}: expected a mapping");
        }

        var list = new List<Label>();
        foreach (var (k, v) in map.Children)
        {
            list.Add(new Label(Scalar(k) ?? "", Scalar(v) ?? ""));
        }

        return Labels.From([.. list]);
    }

    private static long? Duration(YamlNode? node, string field)
    {
        var text = Scalar(node);
        if (text is null)
        {
            return null;
        }

        return Durations.TryParse(text, out var ms) ? ms : throw new RuleTestFormatException($"{field}: not a valid duration string: \"{text}\"");
    }

    private sealed class RuleTestFormatException(string message) : Exception(message);
}
