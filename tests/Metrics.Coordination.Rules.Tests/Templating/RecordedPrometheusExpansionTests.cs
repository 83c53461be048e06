using Metrics.Coordination.Rules.Templating;

namespace Metrics.Coordination.Rules.Tests.Templating;

/// <summary>
/// Whole-template expansions recorded from Prometheus 2.42 (<c>promtool test rules</c>, alert <c>TestAlert</c> over
/// <c>up{job="j", instance="i:9090"} 1.5</c>, external label region=eu, series <c>m</c>): every construct and function
/// of the language, success and error output, checked without promtool.
/// </summary>
public class RecordedPrometheusExpansionTests
{
    private static readonly Dictionary<string, string> Up = new() { ["__name__"] = "up", ["instance"] = "i:9090", ["job"] = "j" };

    private static IReadOnlyList<TemplateSample> Query(string expr, long timestampMs) => expr switch
    {
        // The order promtool returned them in.
        "m" =>
        [
            new TemplateSample(new Dictionary<string, string> { ["__name__"] = "m", ["a"] = "x", ["b"] = "2" }, 3),
            new TemplateSample(new Dictionary<string, string> { ["__name__"] = "m", ["a"] = "y", ["b"] = "1" }, 1234567),
        ],
        "up" => [new TemplateSample(Up, 1.5)],
        _ => [],
    };

    private static AlertTemplateData Data() => new()
    {
        Labels = Up,
        ExternalLabels = new Dictionary<string, string> { ["region"] = "eu" },
        Value = 1.5,
        TimestampMs = 60_000,
        Query = Query,
    };

    [TestCaseSource(nameof(Recorded))]
    public void Expand_RecordedTemplate_MatchesPrometheus(string template, string expected)
    {
        var result = AlertTemplate.Parse("TestAlert", template).Expand(Data(), out var error);
        result.Should().Be(expected);
        if (expected.StartsWith("<error expanding template: ", StringComparison.Ordinal))
        {
            error.Should().Be(expected["<error expanding template: ".Length..^1]);
        }
        else
        {
            error.Should().BeNull();
        }
    }

    private static IEnumerable<TestCaseData> Recorded() =>
    [
        new TestCaseData("{{ toTime 1 }}|{{ humanizeTimestamp 1.5 }}|{{ humanizeTimestamp 1e10 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:158: executing \"__alert_TestAlert\" at <humanizeTimestamp 1e10>: error calling humanizeTimestamp: 1e+10 cannot be represented as a nanoseconds timestamp since it overflows int64>"),
        new TestCaseData("{{ 1e6 }} {{ 1e21 }} {{ 0.1 }} {{ 1234567.0 }} {{ 123456.7 }} {{ 1e-5 }} {{ 0.0001 }}", "1e+06 1e+21 0.1 1.234567e+06 123456.7 1e-05 0.0001"),
        new TestCaseData("{{ printf \"%.0f %.0f %.0f %.2f %.1f\" 2.5 3.5 0.5 2.675 0.25 }}", "2 4 0 2.67 0.2"),
        new TestCaseData("{{ printf \"%.4g|%.4g|%.4g|%g|%e\" 1234.5 12345.0 100000.0 1e7 1234.5678 }}", "1234|1.234e+04|1e+05|1e+07|1.234568e+03"),
        new TestCaseData("{{ humanize 1234.5 }} {{ humanize 0.0012345 }} {{ humanize 0 }} {{ humanize1024 1024 }} {{ humanizeDuration 90 }} {{ humanizeDuration 0.0015 }} {{ humanizePercentage 0.12345 }}", "1.234k 1.234m 0 1ki 1m 30s 1.5ms 12.35%"),
        new TestCaseData("{{ humanize \"1e3\" }} {{ humanizeDuration 86400.5 }} {{ humanizeDuration -3.5 }}", "1k 1d 0h 0m 0s -3.5s"),
        new TestCaseData("{{ 1.0 }} {{ 'a' }} {{ 0x1F }} {{ 1_000 }} {{ -3 }} {{ +4 }} {{ nil }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:176: executing \"__alert_TestAlert\" at <nil>: nil is not a command>"),
        new TestCaseData("{{ .Foo }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <.Foo>: can't evaluate field Foo in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }>"),
        new TestCaseData("{{ $labels.nope.x }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:122: executing \"__alert_TestAlert\" at <$labels.nope.x>: can't evaluate field x in type string>"),
        new TestCaseData("{{ len \"h\u00e9llo\" }} {{ index \"abc\" 1 }} {{ slice \"abcdef\" 1 3 }} {{ print 1 2 \"a\" \"b\" 3 }} {{ println 1 \"x\" }}", "6 98 bc 1 2ab3 1 x\n"),
        new TestCaseData("{{ html \"<a href='x'>&\\\"\" }} {{ js \"<'\\\"\\\\=&>\\n\" }} {{ urlquery \"a b&c/\u00fc\" }}", "&lt;a href=&#39;x&#39;&gt;&amp;&#34; \\u003C\\'\\\"\\\\\\u003D\\u0026\\u003E\\u000A a+b%26c%2F%C3%BC"),
        new TestCaseData("{{ eq 1 1 2 }} {{ eq \"a\" \"b\" }} {{ lt 1 2 }} {{ gt (0.0 | printf \"%f\") \"a\" }} {{ and 1 0 2 }} {{ or 0 \"\" 3 }} {{ not \"\" }}", "true false true false 0 3 true"),
        new TestCaseData("{{ printf \"%5.2f|%-6s|%06d|%x|%X|%q|%t|%%|%v|%s|%d\" 3.14159 \"ab\" 42 255 \"hi\" \"q\\\"s\" true 1.5 \"s\" 7 }}", " 3.14|ab    |000042|ff|6869|\"q\\\"s\"|true|%|1.5|s|7"),
        new TestCaseData("{{ printf \"%d %s\" \"x\" 1.5 }} {{ printf \"%d\" }} {{ printf \"%d\" 1 2 }} {{ printf \"%z\" 1 }} {{ printf \"%\" }}", "%!d(string=x) %!s(float64=1.5) %!d(MISSING) 1%!(EXTRA int=2) %!z(int=1) %!(NOVERB)"),
        new TestCaseData("{{ reReplaceAll \"(a+)b\" \"X$1Y\" \"aab cab\" }} {{ match \"^i\" \"i:9090\" }} {{ toUpper \"abc\" }} {{ toLower \"ABC\" }}", "X cX true ABC abc"),
        new TestCaseData("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", "__name__=up;instance=i:9090;job=j;"),
        new TestCaseData("{{ range query \"m\" }}{{ .Labels.a }}:{{ .Value }},{{ end }}|{{ range query \"m\" | sortByLabel \"b\" }}{{ label \"a\" . }}{{ end }}", "x:3,y:1.234567e+06,|yx"),
        new TestCaseData("{{ with query \"nothing\" }}x{{ else }}empty{{ end }}", "empty"),
        new TestCaseData("{{ query \"nothing\" | first }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:133: executing \"__alert_TestAlert\" at <first>: error calling first: first() called on vector with no elements>"),
        new TestCaseData("{{ $labels }} {{ $externalLabels }} {{ . }}", "map[__name__:up instance:i:9090 job:j] map[region:eu] {map[__name__:up instance:i:9090 job:j] map[region:eu]  1.5}"),
        new TestCaseData("{{ args 1 \"a\" }} {{ (args 1).arg0 }} {{ (args 1).arg5 }}", "map[arg0:1 arg1:a] 1 <no value>"),
        new TestCaseData("{{ parseDuration \"1h30m\" }} {{ stripPort \"[::1]:80\" }} {{ stripPort \"host\" }}", "5400 ::1 host"),
        new TestCaseData("{{ graphLink \"up > 1\" }} {{ tableLink \"rate(x[5m])\" }}", "/graph?g0.expr=up+%3E+1&g0.tab=0 /graph?g0.expr=rate%28x%5B5m%5D%29&g0.tab=1"),
        new TestCaseData("{{ safeHtml \"<b>\" }} {{ strvalue (query \"m\" | first) }}", "<b> "),
        new TestCaseData("{{- /* c */ -}} a {{- 1 -}} b {{ 2 -}}   c", "a1b 2c"),
        new TestCaseData("{{ define \"x\" }}X{{ . }}{{ end }}{{ template \"x\" 5 }}{{ block \"y\" 6 }}Y{{ . }}{{ end }}", "X5Y6"),
        new TestCaseData("{{ range $i, $e := (query \"m\") }}{{ $i }}{{ if eq $i 0 }}{{ continue }}{{ end }}{{ $e.Value }}{{ break }}{{ end }}", "011.234567e+06"),
        new TestCaseData("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "2"),
        new TestCaseData("{{ humanize \"abc\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <humanize \"abc\">: error calling humanize: strconv.ParseFloat: parsing \"abc\": invalid syntax>"),
        new TestCaseData("{{ humanize $labels }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <humanize $labels>: error calling humanize: can't convert map[string]string to float>"),
        new TestCaseData("{{ title 5 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:121: executing \"__alert_TestAlert\" at <5>: expected string; found 5>"),
        new TestCaseData("{{ printf \"%v %v %v %v\" (0.0 | printf \"%f\") 1e100 -0.0 1e-7 }}", "0.000000 1e+100 -0 1e-07"),
        new TestCaseData("{{ printf \"%8.3e|%+d|% d|%+.2f|%-8v|%08.3f|%#x|%#v\" 1234.5 5 5 1.0 \"ab\" -3.14159 255 \"s\" }}", "1.234e+03|+5| 5|+1.00|ab      |-003.142|0xff|\"s\""),
    ];
}
