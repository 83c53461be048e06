using Metrics.Coordination.Rules.Templating;

namespace Metrics.Coordination.Rules.Tests.Templating;

/// <summary>
/// Tables of templates by area (Go fmt verbs, Prometheus functions, execution of each construct, parse errors) with
/// the outputs and messages Prometheus 2.42 gave for them (recorded with <c>promtool test rules</c> and
/// <c>promtool check rules</c>, alert <c>TestAlert</c> over <c>up{job="j", instance="i:9090"} 1.5</c>, external label
/// region=eu). Parse errors are the TemplateParseException messages; execution errors are the annotation text.
/// </summary>
public class TemplateTableTests
{
    private static readonly Dictionary<string, string> Up = new() { ["__name__"] = "up", ["instance"] = "i:9090", ["job"] = "j" };

    private static IReadOnlyList<TemplateSample> Query(string expr, long timestampMs) => expr switch
    {
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

    private static void AssertExpansion(string template, string expected)
    {
        var result = AlertTemplate.Parse("TestAlert", template).Expand(Data(), out var error);
        result.Should().Be(expected);
        (error is null).Should().Be(!expected.StartsWith("<error expanding template: ", StringComparison.Ordinal));
    }

    private static void AssertParseError(string template, string expected)
    {
        var act = () => AlertTemplate.Parse("TestAlert", template);
        act.Should().Throw<TemplateParseException>().Which.Message.Should().Be(expected);
    }

    [TestCaseSource(nameof(FmtExpansions))]
    public void Printf_GoVerbsAndFlags_AsGoFormats(string template, string expected) => AssertExpansion(template, expected);

    [TestCaseSource(nameof(FuncsExpansions))]
    public void PrometheusFunctions_Outputs_AsPrometheus(string template, string expected) => AssertExpansion(template, expected);

    [TestCaseSource(nameof(ExecExpansions))]
    public void Execute_Constructs_AsGoTemplate(string template, string expected) => AssertExpansion(template, expected);

    [TestCaseSource(nameof(ExecParseErrors))]
    public void Execute_ParseErrors_AsGoTemplate(string template, string expected) => AssertParseError(template, expected);

    [TestCaseSource(nameof(ParseParseErrors))]
    public void Parse_InvalidTemplates_GoMessages(string template, string expected) => AssertParseError(template, expected);

    [TestCaseSource(nameof(ParseExpansions))]
    public void Parse_EdgeCasesThatParse_ExpandAsGo(string template, string expected) => AssertExpansion(template, expected);

    private static IEnumerable<TestCaseData> FmtExpansions() =>
    [
        new TestCaseData("{{ printf \"%v|%v|%v|%v|%v|%v\" 0.0 -0.0 100000.0 1000000.0 0.00001 0.0001 }}", "0|-0|100000|1e+06|1e-05|0.0001"),
        new TestCaseData("{{ printf \"%v|%v|%v\" 1e20 1e21 123456789.0 }}", "1e+20|1e+21|1.23456789e+08"),
        new TestCaseData("{{ printf \"%.3g|%.10g|%g|%G|%.0g\" 1234.5678 1.0 1e-7 1e-7 7.5 }}", "1.23e+03|1|1e-07|1E-07|8"),
        new TestCaseData("{{ printf \"%.4g|%.4g|%.4g|%.4g\" 0.5 1.5 2.5 1234.5 }}", "0.5|1.5|2.5|1234"),
        new TestCaseData("{{ printf \"%.1f|%.1f|%.2f|%.3f|%.0f\" 0.05 0.15 1.005 1.0005 -0.5 }}", "0.1|0.1|1.00|1.000|-0"),
        new TestCaseData("{{ printf \"%e|%E|%.2e|%.0e|%e\" 1.0 123456.0 0.000123 5.5 0.0 }}", "1.000000e+00|1.234560E+05|1.23e-04|6e+00|0.000000e+00"),
        new TestCaseData("{{ printf \"%f|%F|%.10f|%10.3f|%-10.3f|\" 3.0 3.0 0.1 3.14159 3.14159 }}", "3.000000|3.000000|0.1000000000|     3.142|3.142     |"),
        new TestCaseData("{{ printf \"%+f|% f|%+.1e|%010.2f|%-010.2f|\" 1.5 1.5 -1.5 -3.7 3.7 }}", "+1.500000| 1.500000|-1.5e+00|-000003.70|3.70      |"),
        new TestCaseData("{{ printf \"%v|%.2f|%e|%g|%08.2f\" (1.0 | printf \"%v\") 1.0 1.0 1.0 -1.0 }}", "1|1.00|1.000000e+00|1|-0001.00"),
        new TestCaseData("{{ printf \"%d|%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%#o|%#b|%c|%q|%U\" 42 42 42 -42 42 255 255 8 5 8 5 65 65 9731 }}", "42|   42|42   |-0042|+42|ff|FF|10|101|010|0b101|A|'A'|U+2603"),
        new TestCaseData("{{ printf \"%.3d|%8.3d|%x|%X|% x|%#x\" 7 7 \"hi\" \"hi\" \"abc\" \"hi\" }}", "007|     007|6869|6869|61 62 63|0x6869"),
        new TestCaseData("{{ printf \"%s|%10s|%-10s|%.2s|%q|%#q|%+q|%x\" \"abc\" \"abc\" \"abc\" \"abcdef\" \"a\\tb\\\"c\" \"back\" \"\u00fc\" \"\u00fc\" }}", "abc|       abc|abc       |ab|\"a\\tb\\\"c\"|`back`|\"\\u00fc\"|c3bc"),
        new TestCaseData("{{ printf \"%t|%v|%5t|%s\" true false true true }}", "true|false| true|%!s(bool=true)"),
        new TestCaseData("{{ printf \"%d %d\" 1 }}|{{ printf \"%d\" 1 2 3 }}|{{ printf \"%!\" }}|{{ printf \"%[2]d %[1]d\" 1 2 }}|{{ printf \"%[3]d\" 1 }}", "1 %!d(MISSING)|1%!(EXTRA int=2, int=3)|%!!(MISSING)|2 1|%!d(BADINDEX)"),
        new TestCaseData("{{ printf \"%*d|%-*d|%.*f\" 5 1 5 1 2 3.14159 }}", "    1|1    |3.14"),
        new TestCaseData("{{ printf \"%v %v %v\" $labels $externalLabels (args 1 \"x\" 2.5) }}", "map[__name__:up instance:i:9090 job:j] map[region:eu] map[arg0:1 arg1:x arg2:2.5]"),
        new TestCaseData("{{ printf \"%s %d\" $labels $labels }}", "map[__name__:up instance:i:9090 job:j] map[%!d(string=__name__):%!d(string=up) %!d(string=instance):%!d(string=i:9090) %!d(string=job):%!d(string=j)]"),
        new TestCaseData("{{ printf \"%T %T %T %T %T %T\" 1 1.5 \"s\" true $labels (args) }}", "int float64 string bool map[string]string map[string]interface {}"),
        new TestCaseData("{{ printf \"%v\" nil }}|{{ printf \"%s\" nil }}|{{ printf \"%d\" nil }}", "<nil>|%!s(<nil>)|%!d(<nil>)"),
        new TestCaseData("{{ printf \"%v|%s|%d\" (toTime 1) (toTime 1) (toTime 1) }}", "1970-01-01 00:00:01 +0000 UTC|1970-01-01 00:00:01 +0000 UTC|&{0 62135596801 0}"),
        new TestCaseData("{{ printf \"%6.2f%%\" 12.345 }} {{ printf \"%x\" 1.5 }}", " 12.35% 0x1.8p+00"),
        new TestCaseData("{{ printf \"%v\" (query \"up\" | first) }}", "&{map[__name__:up instance:i:9090 job:j] 1.5}"),
        new TestCaseData("{{ print \"a\" 1 2 \"b\" \"c\" 3.5 true false }}|{{ print }}|{{ print nil 1 }}", "a1 2bc3.5 true false||<nil> 1"),
        new TestCaseData("{{ println }}{{ println \"a\" \"b\" 1 }}", "\na b 1\n"),
        new TestCaseData("{{ printf \"%.2f\" \"x\" }}|{{ printf \"%s\" 1.5 }}|{{ printf \"%d\" 1.5 }}|{{ printf \"%t\" 1 }}", "%!f(string=x)|%!s(float64=1.5)|%!d(float64=1.5)|%!t(int=1)"),
        new TestCaseData("{{ printf \"%5.1q|%-4q|%.0s|\" \"abc\" \"a\" \"abc\" }}", "  \"a\"|\"a\" ||"),
    ];

    private static IEnumerable<TestCaseData> FuncsExpansions() =>
    [
        new TestCaseData("{{ humanize 0.000001234 }} {{ humanize 1e-30 }} {{ humanize 1e30 }} {{ humanize -0.5 }} {{ humanize 999.99 }} {{ humanize 999999 }}", "1.234u 1e-06y 1e+06Y -500m 1000 1000k"),
        new TestCaseData("{{ humanize 1 }} {{ humanize 12 }} {{ humanize 123 }} {{ humanize 1234 }} {{ humanize 12345 }} {{ humanize 123456 }}", "1 12 123 1.234k 12.35k 123.5k"),
        new TestCaseData("{{ humanize1024 0 }} {{ humanize1024 1 }} {{ humanize1024 1023 }} {{ humanize1024 1025 }} {{ humanize1024 -2048 }} {{ humanize1024 1e30 }} {{ humanize1024 0.5 }}", "0 1 1023 1.001ki -2ki 8.272e+05Yi 0.5"),
        new TestCaseData("{{ humanizeDuration 1 }} {{ humanizeDuration 59.99 }} {{ humanizeDuration 60 }} {{ humanizeDuration 3599 }} {{ humanizeDuration 86399 }} {{ humanizeDuration 172800.75 }}", "1s 59.99s 1m 0s 59m 59s 23h 59m 59s 2d 0h 0m 0s"),
        new TestCaseData("{{ humanizeDuration 0.1 }} {{ humanizeDuration 0.000001 }} {{ humanizeDuration -0.002 }} {{ humanizeDuration 1e-12 }} {{ humanizeDuration -90 }}", "100ms 1us -2ms 1ps -1m 30s"),
        new TestCaseData("{{ humanizePercentage 0 }} {{ humanizePercentage 1 }} {{ humanizePercentage 0.000012345 }} {{ humanizePercentage -0.25 }} {{ humanizePercentage 12.3456 }}", "0% 100% 0.001234% -25% 1235%"),
        new TestCaseData("{{ humanizeTimestamp 1435065584.128 }} {{ humanizeTimestamp -1 }} {{ humanizeTimestamp 0.0015 }} {{ humanizeTimestamp \"1e9\" }}", "2015-06-23 13:19:44.128 +0000 UTC 1969-12-31 23:59:59 +0000 UTC 1970-01-01 00:00:00.001 +0000 UTC 2001-09-09 01:46:40 +0000 UTC"),
        new TestCaseData("{{ humanize \"Inf\" }} {{ humanize \"-inf\" }} {{ humanize \"NaN\" }} {{ humanize \" 1\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:179: executing \"__alert_TestAlert\" at <humanize \" 1\">: error calling humanize: strconv.ParseFloat: parsing \" 1\": invalid syntax>"),
        new TestCaseData("{{ humanize \"1_000\" }}", "1k"),
        new TestCaseData("{{ humanize \"0x10\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <humanize \"0x10\">: error calling humanize: strconv.ParseFloat: parsing \"0x10\": invalid syntax>"),
        new TestCaseData("{{ humanize \"1e400\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <humanize \"1e400\">: error calling humanize: strconv.ParseFloat: parsing \"1e400\": value out of range>"),
        new TestCaseData("{{ humanize true }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <humanize true>: error calling humanize: can't convert bool to float>"),
        new TestCaseData("{{ humanize nil }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <humanize nil>: error calling humanize: can't convert <nil> to float>"),
        new TestCaseData("{{ humanize (safeHtml \"1\") }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <humanize (safeHtml \"1\")>: error calling humanize: can't convert template.HTML to float>"),
        new TestCaseData("{{ toTime 0 }} {{ (toTime 1.5).Unix }} {{ toTime \"1e3\" }}", "1970-01-01 00:00:00 +0000 UTC 1 1970-01-01 00:16:40 +0000 UTC"),
        new TestCaseData("{{ title \"hello wORLD\" }}|{{ title \"\u00e4rger \u00fcber\" }}|{{ title \"a-b c.d e_f g/h i:j k1l\" }}|{{ title \"\" }}", "Hello WORLD|\u00c4rger \u00dcber|A-B C.D E_f G/H I:J K1l|"),
        new TestCaseData("{{ toUpper \"stra\u00dfe\" }}|{{ toLower \"\u0130STANBUL\" }}|{{ toUpper \"\u01c6\" }}", "STRA\u00dfE|istanbul|\u01c4"),
        new TestCaseData("{{ match \"a.c\" \"xabcx\" }} {{ match \"^abc$\" \"abc\\n\" }} {{ match \"(?i)ABC\" \"abc\" }} {{ match \"\\\\d+\" \"x12\" }} {{ match \"\" \"\" }}", "true false true true true"),
        new TestCaseData("{{ reReplaceAll \"(\\\\w+)@(\\\\w+)\" \"$2 at $1\" \"joe@example\" }}|{{ reReplaceAll \"a\" \"$$\" \"banana\" }}|{{ reReplaceAll \"(a)(n)\" \"$1x$2\" \"banana\" }}|{{ reReplaceAll \"(?P<first>a)\" \"<${first}>\" \"aa\" }}", "example at joe|b$n$n$|bnna|<a><a>"),
        new TestCaseData("{{ reReplaceAll \"x*\" \"-\" \"abc\" }}|{{ reReplaceAll \"$\" \"!\" \"abc\" }}|{{ reReplaceAll \"^\" \"!\" \"abc\" }}|{{ reReplaceAll \"b$\" \"B\" \"ab\\nab\" }}", "-a-b-c-|abc!|!abc|ab\naB"),
        new TestCaseData("{{ reReplaceAll \"(\" \"x\" \"y\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <reReplaceAll \"(\" \"x\" \"y\">: error calling reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`>"),
        new TestCaseData("{{ match \"a)\" \"a\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <match \"a)\" \"a\">: error calling match: error parsing regexp: unexpected ): `a)`>"),
        new TestCaseData("{{ match \"[a\" \"a\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <match \"[a\" \"a\">: error calling match: error parsing regexp: missing closing ]: `[a`>"),
        new TestCaseData("{{ match \"*a\" \"a\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <match \"*a\" \"a\">: error calling match: error parsing regexp: missing argument to repetition operator: `*`>"),
        new TestCaseData("{{ stripPort \"host:80\" }}|{{ stripPort \"host\" }}|{{ stripPort \"[::1]\" }}|{{ stripPort \"::1\" }}|{{ stripPort \"a:b:c\" }}|{{ stripPort \":80\" }}", "host|host|[::1]|::1|a:b:c|"),
        new TestCaseData("{{ stripDomain \"a.b.c:80\" }}|{{ stripDomain \"a.b.c\" }}|{{ stripDomain \"1.2.3.4:9\" }}|{{ stripDomain \"[2001:db8::1]:80\" }}|{{ stripDomain \"localhost\" }}|{{ stripDomain \"01.2.3.4\" }}", "a:80|a|1.2.3.4:9|[2001:db8::1]:80|localhost|01"),
        new TestCaseData("{{ parseDuration \"1d\" }} {{ parseDuration \"1w2d3h4m5s6ms\" }} {{ parseDuration \"0\" }} {{ parseDuration \"90s\" }} {{ parseDuration \"1y\" }}", "86400 788645.006 0 90 3.1536e+07"),
        new TestCaseData("{{ parseDuration \"\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <parseDuration \"\">: error calling parseDuration: empty duration string>"),
        new TestCaseData("{{ parseDuration \"1.5h\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <parseDuration \"1.5h\">: error calling parseDuration: not a valid duration string: \"1.5h\">"),
        new TestCaseData("{{ parseDuration \"1m1h\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <parseDuration \"1m1h\">: error calling parseDuration: not a valid duration string: \"1m1h\">"),
        new TestCaseData("{{ graphLink \"sum by (job) (rate(x{a=\\\"b\\\"}[5m]))\" }}", "/graph?g0.expr=sum+by+%28job%29+%28rate%28x%7Ba%3D%22b%22%7D%5B5m%5D%29%29&g0.tab=0"),
        new TestCaseData("{{ tableLink \"a b+c\" }}", "/graph?g0.expr=a+b%2Bc&g0.tab=1"),
        new TestCaseData("{{ label \"instance\" (query \"up\" | first) }}|{{ label \"nope\" (query \"up\" | first) }}|{{ value (query \"up\" | first) }}", "i:9090||1.5"),
        new TestCaseData("{{ label \"x\" nil }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <label \"x\" nil>: error calling label: runtime error: invalid memory address or nil pointer dereference>"),
        new TestCaseData("{{ value nil }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <value nil>: error calling value: runtime error: invalid memory address or nil pointer dereference>"),
        new TestCaseData("{{ first nil }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <first nil>: error calling first: first() called on vector with no elements>"),
        new TestCaseData("{{ sortByLabel \"a\" nil }}|{{ len (sortByLabel \"a\" (query \"nothing\")) }}", "[]|0"),
        new TestCaseData("{{ args }}|{{ len (args 1 2 3) }}|{{ (args \"x\").arg0 | printf \"%q\" }}", "map[]|3|\"x\""),
        new TestCaseData("{{ safeHtml \"<x>\" | printf \"%T\" }}", "template.HTML"),
        new TestCaseData("{{ query 1 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:121: executing \"__alert_TestAlert\" at <1>: expected string; found 1>"),
        new TestCaseData("{{ first \"x\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:121: executing \"__alert_TestAlert\" at <\"x\">: can't handle \"x\" for arg of type template.queryResult>"),
        new TestCaseData("{{ query \"up\" | len }}", "1"),
    ];

    private static IEnumerable<TestCaseData> ExecExpansions() =>
    [
        new TestCaseData("{{ if 0 }}a{{ else if \"\" }}b{{ else if 0.0 }}c{{ else if $labels.nope }}d{{ else }}e{{ end }}", "e"),
        new TestCaseData("{{ if (query \"nothing\") }}x{{ else }}empty{{ end }}|{{ if $externalLabels }}ext{{ end }}|{{ if (args) }}args{{ else }}noargs{{ end }}", "empty|ext|noargs"),
        new TestCaseData("{{ with $labels.job }}job={{ . }}{{ end }}|{{ with 0 }}zero{{ else }}nope{{ end }}|{{ with $x := 5 }}{{ $x }}{{ . }}{{ end }}", "job=j|nope|55"),
        new TestCaseData("{{ range $i, $c := \"abc\" }}{{ $i }}{{ end }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:131: executing \"__alert_TestAlert\" at <\"abc\">: range can't iterate over abc>"),
        new TestCaseData("{{ range (args 1 2) }}{{ . }}{{ end }}|{{ range $k, $v := (args \"a\" \"b\") }}{{ $k }}={{ $v }} {{ end }}", "12|arg0=a arg1=b "),
        new TestCaseData("{{ range $externalLabels }}{{ . }}{{ else }}none{{ end }}|{{ range (query \"nothing\") }}x{{ else }}nothing{{ end }}", "eu|nothing"),
        new TestCaseData("{{ range $v := $labels }}{{ $v }},{{ end }}|{{ range $k, $v := $labels }}{{ if eq $k \"job\" }}{{ break }}{{ end }}{{ $k }};{{ end }}", "up,i:9090,j,|__name__;instance;"),
        new TestCaseData("{{ $a := 1 }}{{ $b := \"x\" }}{{ range $labels }}{{ $a = 2 }}{{ $c := 3 }}{{ end }}{{ $a }}{{ $b }}", "2x"),
        new TestCaseData("{{ $x := 1 }}{{ with $x := 2 }}{{ $x }}{{ end }}{{ $x }}", "21"),
        new TestCaseData("{{ $ }}|{{ $.Value }}|{{ $.Labels.job }}", "{map[__name__:up instance:i:9090 job:j] map[region:eu]  1.5}|1.5|j"),
        new TestCaseData("{{ define \"T1\" }}[{{ . }}|{{ $ }}]{{ end }}{{ template \"T1\" \"arg\" }}{{ template \"T1\" }}", "[arg|arg][<no value>|<no value>]"),
        new TestCaseData("{{ define \"rec\" }}{{ if gt . 0 }}{{ . }}{{ template \"rec\" (slice \"1234\" 1) | len }}{{ end }}{{ end }}ok", "ok"),
        new TestCaseData("{{ block \"B\" . }}{{ .Value }}{{ end }}|{{ block \"C\" \"x\" }}{{ . | printf \"%q\" }}{{ end }}", "1.5|\"x\""),
        new TestCaseData("{{ \"a\" | printf \"%s-%s\" \"b\" }}|{{ 1 | printf \"%d %d\" 2 }}|{{ $value | humanize | printf \"[%s]\" }}", "b-a|2 1|[1.5]"),
        new TestCaseData("{{ (1) }}|{{ (\"x\") }}|{{ (print \"a\" \"b\" | len) }}|{{ (args 1 2).arg1 }}", "1|x|2|2"),
        new TestCaseData("{{ .Labels }}|{{ .ExternalLabels }}|{{ .ExternalURL }}|{{ .Value }}", "map[__name__:up instance:i:9090 job:j]|map[region:eu]||1.5"),
        new TestCaseData("{{ \"esc\\t\\x41\\u00e9\\101\" }}|{{ `raw\\n` }}|{{ 'x' }}|{{ '\\n' }}|{{ '\\u00e9' }}", "esc\tA\u00e9A|raw\\n|120|10|233"),
        new TestCaseData("{{ 0x10 }} {{ 0o17 }} {{ 0b101 }} {{ 017 }} {{ 1_000_000 }} {{ .5 }} {{ 5. }} {{ 1e2 }} {{ 0x1p4 }} {{ -0 }} {{ +1.5 }}", "16 15 5 15 1000000 0.5 5 100 16 0 1.5"),
        new TestCaseData("{{ true }} {{ false }} {{ not true }} {{ and }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:153: executing \"__alert_TestAlert\" at <and>: wrong number of args for and: want at least 1 got 0>"),
        new TestCaseData("{{ and 1 }}|{{ or }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:127: executing \"__alert_TestAlert\" at <or>: wrong number of args for or: want at least 1 got 0>"),
        new TestCaseData("{{ and 1 \"x\" }}|{{ and 0 (index $labels \"a\" \"b\") }}|{{ or 1 (index 0) }}|{{ or \"\" 0 }}", "x|0|1|0"),
        new TestCaseData("{{ eq \"a\" \"a\" }} {{ eq 1.5 $value }} {{ eq $value 1.5 2.5 }} {{ ne 1 2 }} {{ eq true true }} {{ eq (index \"a\" 0) 97 }}", "true true true true true true"),
        new TestCaseData("{{ lt \"a\" \"b\" }} {{ lt \"B\" \"a\" }} {{ le 1.5 1.5 }} {{ gt 2 1 }} {{ ge \"b\" \"a\" }} {{ lt -1 0 }}", "true true true true true true"),
        new TestCaseData("{{ eq nil nil }}", "true"),
        new TestCaseData("{{ eq 1 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <eq 1>: error calling eq: missing argument for comparison>"),
        new TestCaseData("{{ lt true false }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <lt true false>: error calling lt: invalid type for comparison>"),
        new TestCaseData("{{ lt 1 \"a\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <lt 1 \"a\">: error calling lt: incompatible types for comparison>"),
        new TestCaseData("{{ lt $labels 1 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <lt $labels 1>: error calling lt: invalid type for comparison>"),
        new TestCaseData("{{ eq 1 1.0 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <eq 1 1.0>: error calling eq: incompatible types for comparison>"),
        new TestCaseData("{{ gt (0.0 | printf \"%v\" | len) 0 }}", "true"),
        new TestCaseData("{{ index $labels \"job\" }}|{{ index $labels \"x\" }}|{{ index (args 1 \"b\") \"arg1\" }}|{{ index \"h\u00e9llo\" 1 }}|{{ index (query \"up\") 0 | value }}", "j||b|195|1.5"),
        new TestCaseData("{{ index \"abc\" 3 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <index \"abc\" 3>: error calling index: reflect: string index out of range>"),
        new TestCaseData("{{ index \"abc\" -1 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <index \"abc\" -1>: error calling index: index out of range: -1>"),
        new TestCaseData("{{ index $labels }}|{{ index \"abc\" }}", "map[__name__:up instance:i:9090 job:j]|abc"),
        new TestCaseData("{{ index 5 1 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <index 5 1>: error calling index: can't index item of type int>"),
        new TestCaseData("{{ index nil 1 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <index nil 1>: error calling index: index of untyped nil>"),
        new TestCaseData("{{ index (query \"up\") \"a\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <index (query \"up\") \"a\">: error calling index: cannot index slice/array with type string>"),
        new TestCaseData("{{ slice \"hello\" }}|{{ slice \"hello\" 1 }}|{{ slice \"hello\" 1 3 }}|{{ slice \"hello\" 5 }}|{{ len (slice (query \"up\") 0 1) }}", "hello|ello|el||1"),
        new TestCaseData("{{ slice \"hello\" 1 2 3 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <slice \"hello\" 1 2 3>: error calling slice: cannot 3-index slice a string>"),
        new TestCaseData("{{ slice \"hello\" 6 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <slice \"hello\" 6>: error calling slice: index out of range: 6>"),
        new TestCaseData("{{ slice 1 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <slice 1>: error calling slice: can't slice item of type int>"),
        new TestCaseData("{{ len \"\" }} {{ len $labels }} {{ len (args 1 2) }} {{ len \"\u65e5\u672c\" }}", "0 3 2 6"),
        new TestCaseData("{{ len nil }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <len nil>: error calling len: reflect: call of reflect.Value.Type on zero Value>"),
        new TestCaseData("{{ len (query \"up\" | first) }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <len (query \"up\" | first)>: error calling len: len of type template.sample>"),
        new TestCaseData("{{ html \"a\" 1 }}|{{ js 1 \"a\" }}|{{ urlquery \"a\" \"b\" }}|{{ html }}|{{ urlquery \"~.-_ +&=\" }}", "a1|1a|ab||~.-_+%2B%26%3D"),
        new TestCaseData("{{ call \"x\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <call \"x\">: error calling call: non-function of type string>"),
        new TestCaseData("{{ call nil }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <call nil>: error calling call: call of nil>"),
        new TestCaseData("{{ .Labels.job 1 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:122: executing \"__alert_TestAlert\" at <.Labels.job>: job is not a method but has arguments>"),
        new TestCaseData("{{ $labels.job 1 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:122: executing \"__alert_TestAlert\" at <$labels.job>: job is not a method but has arguments>"),
        new TestCaseData("{{ .Value.x }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:121: executing \"__alert_TestAlert\" at <.Value.x>: can't evaluate field x in type float64>"),
        new TestCaseData("{{ (query \"up\" | first).Nope }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:129: executing \"__alert_TestAlert\" at <first>: can't evaluate field Nope in type *template.sample>"),
        new TestCaseData("{{ (toTime 1).Nope }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:123: executing \"__alert_TestAlert\" at <1>: can't evaluate field Nope in type *time.Time>"),
        new TestCaseData("{{ 1 2 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <1>: can't give argument to non-function 1>"),
        new TestCaseData("{{ humanize 1 2 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <humanize>: wrong number of args for humanize: want 1 got 2>"),
        new TestCaseData("{{ printf }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <printf>: wrong number of args for printf: want at least 1 got 0>"),
        new TestCaseData("{{ slice }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <slice>: wrong number of args for slice: want at least 1 got 0>"),
        new TestCaseData("{{ template \"undefined\" }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:124: executing \"__alert_TestAlert\" at <{{template \"undefined\"}}>: template \"undefined\" not defined>"),
        new TestCaseData("{{ $x := 1 }}{{ template \"y\" }}{{ define \"y\" }}{{ $ }}{{ end }}", "<no value>"),
        new TestCaseData("{{ value (query \"up\") }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:128: executing \"__alert_TestAlert\" at <\"up\">: wrong type for value; expected *template.sample; got template.queryResult>"),
        new TestCaseData("{{ first (query \"up\" | first) }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:135: executing \"__alert_TestAlert\" at <first>: wrong type for value; expected template.queryResult; got *template.sample>"),
        new TestCaseData("{{ label 1 (query \"up\" | first) }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:121: executing \"__alert_TestAlert\" at <1>: expected string; found 1>"),
        new TestCaseData("{{ label (index $labels \"job\") (query \"up\" | first) }}", ""),
        new TestCaseData("{{ range . }}{{ end }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:121: executing \"__alert_TestAlert\" at <.>: range can't iterate over {map[__name__:up instance:i:9090 job:j] map[region:eu]  1.5}>"),
        new TestCaseData("{{ range $value }}{{ end }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:121: executing \"__alert_TestAlert\" at <$value>: range can't iterate over 1.5>"),
        new TestCaseData("{{ with $value }}{{ .x }}{{ end }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:132: executing \"__alert_TestAlert\" at <.x>: can't evaluate field x in type float64>"),
        new TestCaseData("{{ $labels.job | printf \"%s\" | len | printf \"%d\" }}", "1"),
        new TestCaseData("{{ printf \"%s\" ( $labels.job ) }}{{ (.Labels).job }}", "jj"),
        new TestCaseData("{{ (index $labels \"job\" | printf \"%q\").x }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:145: executing \"__alert_TestAlert\" at <\"%q\">: can't evaluate field x in type string>"),
    ];

    private static IEnumerable<TestCaseData> ExecParseErrors() =>
    [
        new TestCaseData("{{ nil.x }}", "template: __alert_TestAlert:1: unexpected . after term \"nil\""),
        new TestCaseData("{{ \"x\" | 1 }}", "template: __alert_TestAlert:1: non executable command in pipeline stage 2"),
    ];

    private static IEnumerable<TestCaseData> ParseExpansions() =>
    [
        new TestCaseData("{{ $x = 1 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:120: executing \"__alert_TestAlert\" at <1>: undefined variable: $x>"),
        new TestCaseData("{{ printf \"%d\" | }}", "%!d(MISSING)"),
        new TestCaseData("{{ template \"x\" 1 2 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:124: executing \"__alert_TestAlert\" at <{{template \"x\" 1 2}}>: template \"x\" not defined>"),
        new TestCaseData("{{ 9223372036854775808 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <9223372036854775808>: 9223372036854775808 overflows int>"),
        new TestCaseData("{{ (1 | printf \"%d\") 2 }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <(1 | printf \"%d\") 2>: can't give argument to non-function 1 | printf \"%d\">"),
        new TestCaseData("{{ nil | printf }}", "<error expanding template: error executing template __alert_TestAlert: template: __alert_TestAlert:1:115: executing \"__alert_TestAlert\" at <nil>: nil is not a command>"),
        new TestCaseData("{{- /* ok */ -}}{{ 1 }}", "1"),
        new TestCaseData("{{ 1 -}}x{{- 2 }}{{-3}}", "1x2-3"),
    ];

    private static IEnumerable<TestCaseData> ParseParseErrors() =>
    [
        new TestCaseData("{{ }}", "template: __alert_TestAlert:1: missing value for command"),
        new TestCaseData("{{ 1 }", "template: __alert_TestAlert:1: unexpected \"}\" in operand"),
        new TestCaseData("{{ .Field. }}", "template: __alert_TestAlert:1: unexpected <.> in operand"),
        new TestCaseData("{{ $x := }}", "template: __alert_TestAlert:1: missing value for command"),
        new TestCaseData("{{ | printf }}", "template: __alert_TestAlert:1: unexpected \"|\" in command"),
        new TestCaseData("{{ if 1 }}{{ else }}{{ else if 2 }}{{ end }}", "template: __alert_TestAlert:1: expected end; found {{else}}"),
        new TestCaseData("{{ with 1 }}{{ else with 2 }}{{ end }}", "template: __alert_TestAlert:1: unexpected <with> in else"),
        new TestCaseData("{{ range $i := . }}{{ end }}{{ $i }}", "template: __alert_TestAlert:1: undefined variable \"$i\""),
        new TestCaseData("{{ define \"a\" }}", "template: __alert_TestAlert:1: unexpected EOF"),
        new TestCaseData("{{ template x }}", "template: __alert_TestAlert:1: unexpected \"x\" in template clause"),
        new TestCaseData("{{ block }}", "template: __alert_TestAlert:1: unexpected \"}}\" in block clause"),
        new TestCaseData("{{ continue }}", "template: __alert_TestAlert:1: {{continue}} outside {{range}}"),
        new TestCaseData("{{ 1.2.3 }}", "template: __alert_TestAlert:1: unexpected \".3\" in operand"),
        new TestCaseData("{{ 0x }}", "template: __alert_TestAlert:1: illegal number syntax: \"0x\""),
        new TestCaseData("{{ 1e }}", "template: __alert_TestAlert:1: illegal number syntax: \"1e\""),
        new TestCaseData("{{ 99999999999999999999 }}", "template: __alert_TestAlert:1: integer overflow: \"99999999999999999999\""),
        new TestCaseData("{{ \"\\q\" }}", "template: __alert_TestAlert:1: invalid syntax"),
        new TestCaseData("{{ '\\'' }}{{ '' }}", "template: __alert_TestAlert:1: invalid syntax"),
        new TestCaseData("{{ $x.y := 1 }}", "template: __alert_TestAlert:1: undefined variable \"$x\""),
        new TestCaseData("{{ .a$ }}", "template: __alert_TestAlert:1: bad character U+0024 '$'"),
        new TestCaseData("{{ a..b }}", "template: __alert_TestAlert:1: function \"a\" not defined"),
        new TestCaseData("{{ #}}", "template: __alert_TestAlert:1: unexpected \"#\" in command"),
        new TestCaseData("{{ \u20ac }}", "template: __alert_TestAlert:1: unrecognized character in action: U+20AC '\u20ac'"),
        new TestCaseData("{{ end }}{{ end }}", "template: __alert_TestAlert:1: unexpected {{end}}"),
        new TestCaseData("{{ 1 | 2 | 3 }}", "template: __alert_TestAlert:1: non executable command in pipeline stage 2"),
        new TestCaseData("{{ ( }}", "template: __alert_TestAlert:1: unclosed left paren"),
        new TestCaseData("{{ $x := 1 }}{{ if true }}{{ $y := 2 }}{{ end }}{{ $y }}", "template: __alert_TestAlert:1: undefined variable \"$y\""),
        new TestCaseData("{{ break 1 }}", "template: __alert_TestAlert:1: unexpected \"1\" in {{break}}"),
        new TestCaseData("{{ range . }}{{ break 1 }}{{ end }}", "template: __alert_TestAlert:1: unexpected \"1\" in {{break}}"),
        new TestCaseData("{{ if 1 }}x{{ else }}y", "template: __alert_TestAlert:1: unexpected EOF"),
        new TestCaseData("{{ /* unclosed }}", "template: __alert_TestAlert:1: unexpected \"/\" in command"),
        new TestCaseData("{{ /* a */ 1 }}", "template: __alert_TestAlert:1: unexpected \"/\" in command"),
    ];
}
