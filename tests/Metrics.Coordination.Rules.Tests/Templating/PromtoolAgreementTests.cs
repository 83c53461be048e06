using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Rules.PromQL;
using Metrics.Coordination.Rules.PromQL.Testing;
using Metrics.Coordination.Rules.Templating;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Rules.Tests.Templating;

/// <summary>
/// Agreement with the real Prometheus (promtool 2.42): every case becomes an alerting rule whose annotation is the
/// template; the <c>promtool test rules</c> file expects OUR expansion of it for every alert the rule fires. promtool
/// passing means Prometheus renders each template exactly as we do, errors included.
/// </summary>
[Category("Integration")]
public class PromtoolAgreementTests
{
    private const long EvalTimeMs = 60_000;

    /// <summary>Input series in promtool's notation (1m interval, samples at 0 and 1m).</summary>
    private static readonly (string Series, string Values)[] InputSeries =
    [
        ("up{job=\"api\", instance=\"api-1.example.org:9090\"}", "1 1"),
        ("up{job=\"db\", instance=\"10.0.0.7:5432\"}", "0 0"),
        ("latency_seconds{job=\"api\", quantile=\"0.99\"}", "0.25 1.5"),
        ("disk_bytes{device=\"sda\", mount=\"/\"}", "1073741824 1610612736"),
        ("disk_bytes{device=\"sdb\", mount=\"/data\"}", "5 2048"),
        ("requests_total{code=\"500\", path=\"/login\"}", "0 1234567"),
        ("ratio{kind=\"hit\"}", "0.5 0.98765"),
        ("temp{room=\"kitchen\", zone=\"b\"}", "21.5 22.25"),
        ("temp{room=\"attic\", zone=\"a\"}", "30 31"),
        ("temp{room=\"cellar\", zone=\"c\"}", "12 12"),
    ];

    /// <summary>(alert expression, annotation template).</summary>
    private static readonly (string Expr, string Template)[] Cases =
    [
        // $value and its default formatting (%v of a float64: shortest %g).
        ("up == 1", "value {{ $value }}"),
        ("requests_total > 0", "{{ $value }}"),
        ("vector(1e6)", "{{ $value }}"),
        ("vector(0.1)", "{{ $value }} {{ .Value }}"),
        ("vector(123456.7)", "{{ $value }}"),
        ("vector(0.0000123)", "{{ $value }}"),
        ("vector(-0.5)", "{{ $value }}"),
        ("vector(1e21)", "{{ $value }}"),
        ("vector(+Inf)", "{{ $value }} {{ humanize $value }}"),
        ("vector(NaN)", "{{ $value }} {{ humanizeDuration $value }}"),
        // humanize*.
        ("requests_total > 0", "{{ humanize $value }}"),
        ("vector(0.000123)", "{{ humanize $value }} {{ humanize 0 }} {{ humanize 1000 }} {{ humanize -2500000 }}"),
        ("disk_bytes", "{{ $labels.device }}={{ humanize1024 $value }}B"),
        ("vector(90)", "{{ humanizeDuration $value }} {{ humanizeDuration 0.0015 }} {{ humanizeDuration 0 }}"),
        ("vector(93784.5)", "{{ humanizeDuration $value }} {{ humanizeDuration -3.25 }} {{ humanizeDuration 3600 }}"),
        ("ratio", "{{ humanizePercentage $value }} {{ humanizePercentage 0.5 }}"),
        ("vector(1679000000.123)", "{{ humanizeTimestamp $value }} {{ humanizeTimestamp 0 }}"),
        ("vector(1)", "{{ humanize \"1234.5\" }} {{ humanize1024 \"1048576\" }} {{ toTime 1.5 }}"),
        // printf and Go's fmt verbs.
        ("latency_seconds", "{{ printf \"%.2f\" $value }}s {{ printf \"%.0f %.1f\" 2.5 0.25 }}"),
        ("vector(3.14159)", "{{ printf \"%5.2f|%-6s|%06d|%x|%X|%q|%t|%%|%v|%e|%g\" $value \"ab\" 42 255 \"hi\" \"q\" true 1.5 1234.5678 0.000012 }}"),
        ("vector(1)", "{{ printf \"%d %s %d\" \"x\" 1.5 }}|{{ printf \"%d\" 1 2 }}|{{ printf \"%z\" 1 }}"),
        ("vector(42)", "{{ printf \"%8.3e|%+d|% d|%+.2f|%-8v|%08.3f|%#x|%#v\" 1234.5 5 5 1.0 \"ab\" -3.14159 255 \"s\" }}"),
        ("vector(1)", "{{ printf \"%s=%v\" \"k\" 12 | printf \"[%s]\" }} {{ print 1 2 \"a\" \"b\" 3 }} {{ println \"x\" 1 }}"),
        // $labels, range over maps (sorted keys), variables.
        ("temp", "{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}"),
        ("up", "{{ $labels.instance }} of {{ .Labels.job }} ({{ index $labels \"job\" }}) [{{ $labels.missing }}]"),
        ("up == 0", "{{ range $labels }}<{{ . }}>{{ end }}{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}"),
        ("vector(1)", "{{ $externalLabels.region }}|{{ len $externalLabels }}|{{ $labels }}|{{ . }}"),
        // Strings and regular expressions.
        ("up", "{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance }} {{ reReplaceAll \"a(x*)b\" \"${1}W\" \"-ab-axxb-\" }}"),
        ("up", "{{ if match \"^api\" $labels.job }}api{{ else }}other{{ end }} {{ match \"[0-9]+\\\\.\" $labels.instance }}"),
        ("vector(1)", "{{ title \"hello world foo.bar it's x_y\" }} {{ toUpper \"abc\" }} {{ toLower \"ÀBC\" }}"),
        ("up", "{{ stripPort $labels.instance }} {{ stripDomain $labels.instance }} {{ stripPort \"[::1]:80\" }} {{ stripDomain \"host.a.b\" }}"),
        ("vector(1)", "{{ graphLink \"rate(x[5m]) > 1\" }} {{ tableLink \"up\" }} {{ parseDuration \"1h30m\" }} {{ safeHtml \"<b>\" }}"),
        ("vector(1)", "{{ html \"<a href='x'>&\\\"\" }} {{ js \"<'\\\"=&>\" }} {{ urlquery \"a b&c/ü\" }}"),
        // Comparisons, logic, builtins.
        ("temp", "{{ if gt $value 25.0 }}hot{{ else if lt $value 15.0 }}cold{{ else }}ok{{ end }}"),
        ("vector(1)", "{{ eq 1 1 2 }} {{ ne \"a\" \"b\" }} {{ le 2 2 }} {{ ge 1.5 2.5 }} {{ and 1 0 2 }} {{ or 0 \"\" 3 }} {{ not \"\" }}"),
        ("vector(1)", "{{ len \"héllo\" }} {{ index \"abc\" 1 }} {{ slice \"abcdef\" 1 3 }} {{ 'a' }} {{ 0x1F }} {{ 1e3 }} {{ -3 }}"),
        ("vector(1)", "{{ with $labels.nothing }}x{{ else }}empty{{ end }} {{ with \"v\" }}{{ . }}{{ end }} {{ if and $value (not false) }}t{{ end }}"),
        // query and the sample functions.
        // promtool's query results come in no fixed order, so cases that range over several samples sort them.
        ("vector(1)", "{{ range query \"temp\" | sortByLabel \"room\" }}{{ .Labels.room }}:{{ .Value }},{{ end }}"),
        ("vector(1)", "{{ range query \"temp\" | sortByLabel \"zone\" }}{{ label \"room\" . }} {{ end }}"),
        ("vector(1)", "{{ with query \"disk_bytes{device='sda'}\" }}{{ . | first | value | humanize1024 }}{{ end }}"),
        ("vector(1)", "{{ with query \"nothing_here\" }}some{{ else }}none{{ end }} {{ len (query \"temp\") }}"),
        ("vector(1)", "{{ (query \"sum(temp)\" | first).Value }} {{ strvalue (query \"up\" | first) }}|{{ (index (query \"up{job='db'}\") 0).Labels.instance }}"),
        ("vector(1)", "{{ range $i, $s := sortByLabel \"room\" (query \"temp\") }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ $i }}{{ $s.Labels.zone }}{{ if eq $i 2 }}{{ break }}{{ end }}{{ end }}"),
        // define / template / block, args, trim markers, comments.
        ("vector(1)", "{{ define \"t\" }}[{{ .arg0 }}-{{ .arg1 }}]{{ end }}{{ template \"t\" (args 1 \"two\") }}{{ block \"b\" $value }}<{{ . }}>{{ end }}"),
        ("vector(1)", "a  {{- /* comment */ -}}  b {{- 1 -}} c {{ 2 -}}   d"),
        ("vector(1)", "{{ (args 1).arg5 }} {{ args 1 \"a\" }}"),
        // Execution errors: Prometheus's annotation text, positions counting the prelude.
        ("vector(1)", "{{ gt $value 1 }}"),
        ("vector(1)", "{{ .Foo }}"),
        ("up", "{{ $labels.job.x }}"),
        ("vector(1)", "{{ query \"nothing_here\" | first }}"),
        ("vector(1)", "{{ humanize \"abc\" }}"),
        ("vector(1)", "{{ humanize $labels }}"),
        ("vector(1)", "{{ title 5 }}"),
        ("vector(1)", "ok {{ nil }}"),
        ("vector(1)", "{{ template \"missing\" }}"),
        ("vector(1)", "{{ index $labels 1 }}"),
        ("vector(1)", "{{ len 3 }}"),
        ("vector(1)", "{{ slice \"abc\" 2 1 }}"),
        ("vector(1)", "{{ humanizeTimestamp 1e10 }}"),
        ("vector(1)", "{{ toTime $labels }}"),
        ("vector(1)", "{{ parseDuration \"1x\" }}"),
        ("vector(1)", "{{ printf 1 }}"),
        ("vector(1)", "{{ range 5 }}{{ end }}"),
        ("vector(1)", "line1\nline2 {{ .Labels.a.b }}"),
        ("vector(1)", "{{ stripPort }}"),
        ("vector(1)", "{{ . 1 }}"),
        ("vector(1)", "{{ eq $labels $labels }}"),
    ];

    [Test]
    public async Task PromtoolTestRules_OurExpansionsAsExpectations_PrometheusRendersTheSame()
    {
        Cases.Length.Should().BeGreaterThanOrEqualTo(40);
        using var storage = LoadInputSeries();
        var engine = new PromQLEngine();
        IReadOnlyList<TemplateSample> Query(string expr, long ts) => ToSamples(engine.InstantQuery(storage, expr, ts));

        var rules = new StringBuilder("groups:\n- name: templates\n  rules:\n");
        var tests = new StringBuilder();
        tests.Append("rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n- interval: 1m\n  external_labels:\n    region: eu-west\n  input_series:\n");
        foreach (var (series, values) in InputSeries)
        {
            tests.Append("  - series: ").Append(Yaml(series)).Append("\n    values: ").Append(Yaml(values)).Append('\n');
        }

        tests.Append("  alert_rule_test:\n");
        var externalLabels = new Dictionary<string, string> { ["region"] = "eu-west" };
        for (var i = 0; i < Cases.Length; i++)
        {
            var (expr, text) = Cases[i];
            var alertName = "T" + i.ToString("D3", CultureInfo.InvariantCulture);
            rules.Append("  - alert: ").Append(alertName).Append("\n    expr: ").Append(Yaml(expr))
                .Append("\n    annotations:\n      a: ").Append(Yaml(text)).Append('\n');

            var template = AlertTemplate.Parse(alertName, text);
            tests.Append("  - eval_time: 1m\n    alertname: ").Append(alertName).Append("\n    exp_alerts:\n");
            var samples = ToSamples(engine.InstantQuery(storage, expr, EvalTimeMs));
            samples.Should().NotBeEmpty("case {0} ({1}) must fire", i, expr);
            foreach (var sample in samples)
            {
                var expansion = template.Expand(
                    new AlertTemplateData
                    {
                        Labels = sample.Labels,
                        ExternalLabels = externalLabels,
                        Value = sample.Value,
                        TimestampMs = EvalTimeMs,
                        Query = Query,
                    },
                    out _);
                var alertLabels = sample.Labels.Where(l => l.Key != "__name__").OrderBy(l => l.Key, StringComparer.Ordinal).ToList();
                tests.Append(alertLabels.Count == 0 ? "    - exp_labels: {}\n" : "    - exp_labels:\n");
                foreach (var (name, value) in alertLabels)
                {
                    tests.Append("        ").Append(name).Append(": ").Append(Yaml(value)).Append('\n');
                }

                tests.Append("      exp_annotations:\n        a: ").Append(Yaml(expansion)).Append('\n');
            }
        }

        using var dir = new TempDirectory("templates");
        await File.WriteAllTextAsync(dir.Combine("rules.yml"), rules.ToString());
        await File.WriteAllTextAsync(dir.Combine("test.yml"), tests.ToString());
        var result = await Promtool.RunAsync(["test", "rules", dir.Combine("test.yml")]);
        result.ExitCode.Should().Be(0, "promtool must render every template as we do; differing cases:\n{0}\n{1}", Differences(result.Stdout + result.Stderr), result);
    }

    /// <summary>Our parse errors read exactly like promtool's <c>check rules</c> report of the same templates.</summary>
    [Test]
    public async Task PromtoolCheckRules_BadTemplates_SameParseErrors()
    {
        string[] bad =
        [
            "{{ humanise $value }}",
            "{{ if }}",
            "{{ end }}",
            "{{ range $a, $b, $c := . }}{{ end }}",
            "{{ $undefined }}",
            "{{ \"unterminated }}",
            "{{ .Labels",
            "{{ if true }}",
            "{{ 1 | 2 }}",
            "line\n{{ else }}",
            "{{ range . }}{{ else }}{{ else }}{{ end }}",
            "{{ define \"x\" }}a{{ end }}{{ define \"x\" }}b{{ end }}",
            "{{ break }}",
            "{{ 'ab' }}",
            "{{ 3x }}",
            "{{ \"a\".b }}",
            "{{ ( 1 }}",
            "{{ ) }}",
            "{{ $x := 1 }}{{ template \"a\" }}{{ define \"a\" }}{{ $x }}{{ end }}",
            "{{ /* x */ }}",
            "{{ tmpl \"x\" . }}",
        ];
        var rules = new StringBuilder("groups:\n- name: templates\n  rules:\n");
        var expected = new List<string>();
        for (var i = 0; i < bad.Length; i++)
        {
            var alertName = "P" + i.ToString("D3", CultureInfo.InvariantCulture);
            rules.Append("  - alert: ").Append(alertName).Append("\n    expr: vector(1)\n    annotations:\n      a: ").Append(Yaml(bad[i])).Append('\n');
            var act = () => AlertTemplate.Parse(alertName, bad[i]);
            var error = act.Should().Throw<TemplateParseException>().Which.Message;
            expected.Add("annotation \"a\": " + error);
        }

        using var dir = new TempDirectory("templates");
        await File.WriteAllTextAsync(dir.Combine("rules.yml"), rules.ToString());
        var result = await Promtool.RunAsync(["check", "rules", dir.Combine("rules.yml")]);
        result.ExitCode.Should().Be(1, result.ToString());
        var output = result.Stdout + result.Stderr;
        foreach (var line in expected)
        {
            output.Should().Contain(line, "promtool reports the same parse error\n{0}", result);
        }
    }

    private static string Differences(string output)
    {
        var sb = new StringBuilder();
        foreach (Match m in Regex.Matches(output, @"alertname: (T\d+), time: [^\n]*\n\s*exp:\[(.*?)\],\s*\n\s*got:\[(.*?)\]\s*\n", RegexOptions.Singleline))
        {
            var index = int.Parse(m.Groups[1].Value[1..], CultureInfo.InvariantCulture);
            sb.Append(m.Groups[1].Value).Append(' ').Append(Cases[index].Template).Append('\n')
                .Append("  ours: ").Append(Regex.Match(m.Groups[2].Value, "Annotations:(.*)").Groups[1].Value.Trim()).Append('\n')
                .Append("  prom: ").Append(Regex.Match(m.Groups[3].Value, "Annotations:(.*)").Groups[1].Value.Trim()).Append('\n');
        }

        return sb.ToString();
    }

    private static string Yaml(string s) => JsonSerializer.Serialize(s);

    private static InMemoryPromQLStorage LoadInputSeries()
    {
        var storage = new InMemoryPromQLStorage();
        var appender = storage.Appender();
        foreach (var (series, values) in InputSeries)
        {
            var labels = ParseSeries(series);
            var t = 0L;
            foreach (var v in values.Split(' '))
            {
                appender.Append(new AppendRequest { Labels = labels, TimestampMs = t, Value = double.Parse(v, CultureInfo.InvariantCulture) });
                t += 60_000;
            }
        }

        appender.Commit();
        return storage;
    }

    private static Labels ParseSeries(string series)
    {
        var brace = series.IndexOf('{', StringComparison.Ordinal);
        var pairs = new List<string> { "__name__", series[..brace] };
        foreach (Match m in Regex.Matches(series[brace..], "(\\w+)=\"([^\"]*)\""))
        {
            pairs.Add(m.Groups[1].Value);
            pairs.Add(m.Groups[2].Value);
        }

        return Labels.FromStrings([.. pairs]);
    }

    private static List<TemplateSample> ToSamples(PromQLResult result)
    {
        if (result.Type == PromQLValueType.Scalar)
        {
            return [new TemplateSample(new Dictionary<string, string>(), result.Scalar)];
        }

        return result.Vector.Select(s => new TemplateSample(s.Metric.ToDictionary(l => l.Name, l => l.Value), s.Value)).ToList();
    }
}
