using Metrics.Coordination.Abstractions.Relabeling;

namespace Metrics.Coordination.Abstractions.Tests.Relabeling;

public class RelabelerTests
{
    public sealed record Case(string Name, string Yaml, Labels Input, Labels? Expected)
    {
        public override string ToString() => Name;
    }

    private static Labels L(params string[] pairs) => Labels.FromStrings(pairs);

    // Expected outputs follow Prometheus's model/relabel/relabel.go semantics (2.42): the agreement test in
    // PrometheusRelabelAgreementTests checks a representative subset against the real server.
    public static IEnumerable<Case> Cases() =>
    [
        new("replace: default regex copies the joined sources",
            "- source_labels: [a, b]\n  target_label: c",
            L("a", "x", "b", "y"), L("a", "x", "b", "y", "c", "x;y")),
        new("replace: custom separator and capture groups",
            "- source_labels: [a, b]\n  separator: '-'\n  regex: '(.)-(.*)'\n  target_label: c\n  replacement: '${2}_$1'",
            L("a", "x", "b", "yz"), L("a", "x", "b", "yz", "c", "yz_x")),
        new("replace: no match leaves the labels alone",
            "- source_labels: [a]\n  regex: 'nomatch'\n  target_label: c\n  replacement: z",
            L("a", "x"), L("a", "x")),
        new("replace: regex is fully anchored",
            "- source_labels: [a]\n  regex: 'b'\n  target_label: c",
            L("a", "abc"), L("a", "abc")),
        new("replace: $1x is the group named 1x (empty), as in Go",
            "- source_labels: [a]\n  regex: '(.*)'\n  target_label: c\n  replacement: '$1x-${1}x'",
            L("a", "v"), L("a", "v", "c", "-vx")),
        new("replace: named group by name and by number",
            "- source_labels: [a]\n  regex: '(?P<first>[a-z]+)-(\\d+)'\n  target_label: c\n  replacement: '$first:$2:${first}'",
            L("a", "abc-42"), L("a", "abc-42", "c", "abc:42:abc")),
        new("replace: $$ is a literal dollar; a malformed $ stays literal",
            "- source_labels: [a]\n  target_label: c\n  replacement: '$$1 $ ${x'",
            L("a", "v"), L("a", "v", "c", "$1 $ ${x")),
        new("replace: an empty result deletes the target",
            "- source_labels: [missing]\n  target_label: a",
            L("a", "x", "b", "y"), L("b", "y")),
        new("replace: target label with a reference",
            "- source_labels: [a]\n  regex: '(.*)'\n  target_label: 'label_$1'\n  replacement: set",
            L("a", "foo"), L("a", "foo", "label_foo", "set")),
        new("replace: an invalid expanded target name is skipped",
            "- source_labels: [a]\n  regex: '(.*)'\n  target_label: '$1'\n  replacement: set",
            L("a", "1bad"), L("a", "1bad")),
        new("replace: no source labels match the empty string",
            "- target_label: fixed\n  replacement: value",
            L("a", "x"), L("a", "x", "fixed", "value")),
        new("replace: \\d is ASCII only, as in RE2",
            "- source_labels: [a]\n  regex: '\\d+'\n  target_label: c\n  replacement: digits",
            L("a", "١٢٣"), L("a", "١٢٣")),
        new("replace: . does not match a newline",
            "- source_labels: [a]\n  regex: 'x.y'\n  target_label: c\n  replacement: m",
            L("a", "x\ny"), L("a", "x\ny")),
        new("replace: $ is the end of text, not before a final newline",
            "- source_labels: [a]\n  regex: 'x$'\n  target_label: c\n  replacement: m",
            L("a", "x\n"), L("a", "x\n")),
        new("keep: match keeps",
            "- source_labels: [__name__]\n  regex: 'up|foo_.*'\n  action: keep",
            L("__name__", "foo_bar"), L("__name__", "foo_bar")),
        new("keep: no match drops",
            "- source_labels: [__name__]\n  regex: 'up|foo_.*'\n  action: keep",
            L("__name__", "bar"), null),
        new("keep: a missing source label is the empty string",
            "- source_labels: [missing]\n  regex: ''\n  action: keep",
            L("a", "x"), L("a", "x")),
        new("drop: match drops",
            "- source_labels: [a, b]\n  regex: 'x;.*'\n  action: drop",
            L("a", "x", "b", "y"), null),
        new("drop: no match keeps",
            "- source_labels: [a]\n  regex: 'y'\n  action: DROP",
            L("a", "x"), L("a", "x")),
        new("keepequal: equal keeps",
            "- source_labels: [a]\n  target_label: b\n  action: keepequal",
            L("a", "x", "b", "x"), L("a", "x", "b", "x")),
        new("keepequal: different drops",
            "- source_labels: [a]\n  target_label: b\n  action: keepequal",
            L("a", "x", "b", "y"), null),
        new("dropequal: equal drops",
            "- source_labels: [a]\n  target_label: b\n  action: dropequal",
            L("a", "x", "b", "x"), null),
        new("dropequal: both missing are equal",
            "- source_labels: [a]\n  target_label: b\n  action: dropequal",
            L("c", "x"), null),
        new("hashmod: md5, last 8 bytes big-endian, mod",
            "- source_labels: [a]\n  modulus: 1000\n  target_label: shard\n  action: hashmod",
            L("a", "foo"), L("a", "foo", "shard", (Relabeler.HashMod("foo", 1000)).ToString(System.Globalization.CultureInfo.InvariantCulture))),
        new("labelmap: copies matching labels under the expanded name",
            "- regex: 'meta_(.+)'\n  replacement: 'x_$1'\n  action: labelmap",
            L("meta_a", "1", "meta_b", "2", "c", "3"), L("meta_a", "1", "meta_b", "2", "c", "3", "x_a", "1", "x_b", "2")),
        new("labelmap: later labels overwrite earlier targets",
            "- regex: '(a|b)'\n  replacement: 'z'\n  action: labelmap",
            L("a", "1", "b", "2"), L("a", "1", "b", "2", "z", "2")),
        new("labeldrop: removes matching names",
            "- regex: 'tmp_.*'\n  action: labeldrop",
            L("tmp_a", "1", "tmp_b", "2", "keep", "3"), L("keep", "3")),
        new("labelkeep: removes names that do not match",
            "- regex: '__name__|job'\n  action: labelkeep",
            L("__name__", "m", "job", "j", "other", "o"), L("__name__", "m", "job", "j")),
        new("lowercase",
            "- source_labels: [a, b]\n  target_label: c\n  action: lowercase",
            L("a", "MiXeD", "b", "ÄB"), L("a", "MiXeD", "b", "ÄB", "c", "mixed;äb")),
        new("uppercase",
            "- source_labels: [a]\n  target_label: a\n  action: uppercase",
            L("a", "mixed"), L("a", "MIXED")),
        new("rules chain: each sees the previous result; a drop ends it",
            "- source_labels: [a]\n  target_label: b\n- source_labels: [b]\n  regex: x\n  action: drop\n- target_label: never\n  replacement: set",
            L("a", "x"), null),
        new("rules chain: replace then labeldrop",
            "- source_labels: [__address__]\n  target_label: instance\n- regex: '__.*'\n  action: labeldrop",
            L("__address__", "h:1", "job", "j"), L("instance", "h:1", "job", "j")),
        new("POSIX class and \\Q..\\E literal",
            "- source_labels: [a]\n  regex: '[[:upper:]]+\\Q.*\\E'\n  target_label: c\n  replacement: ok",
            L("a", "AB.*"), L("a", "AB.*", "c", "ok")),
    ];

    [TestCaseSource(nameof(Cases))]
    public void Process_TableCase_MatchesPrometheusSemantics(Case c)
    {
        var relabeler = new Relabeler(RelabelConfig.ParseYamlList(c.Yaml));

        var result = relabeler.Process(c.Input);

        if (c.Expected is null)
        {
            result.Should().BeNull();
        }
        else
        {
            result.Should().NotBeNull();
            result!.ToString().Should().Be(c.Expected.ToString());
        }
    }

    [TestCase("foo", 1000UL, 696UL)]
    [TestCase("", 7UL, 1UL)]
    [TestCase("127.0.0.1:9090", 3UL, 2UL)]
    public void HashMod_KnownValues_MatchGoComputation(string value, ulong modulus, ulong expected)
    {
        // Computed independently: python3 -c "import hashlib;print(int.from_bytes(hashlib.md5(b'foo').digest()[8:],'big')%1000)"
        Relabeler.HashMod(value, modulus).Should().Be(expected);
    }

    [Test]
    public void Process_NoRules_ReturnsSameInstance()
    {
        var input = L("a", "b");
        Relabeler.Empty.Process(input).Should().BeSameAs(input);
    }

    public static IEnumerable<TestCaseData> InvalidConfigs() =>
    [
        new TestCaseData("- action: hashmod\n  target_label: x", "relabel configuration for hashmod requires non-zero modulus"),
        new TestCaseData("- action: replace\n  target_label: ''", "relabel configuration for replace action requires 'target_label' value"),
        new TestCaseData("- action: lowercase", "relabel configuration for lowercase action requires 'target_label' value"),
        new TestCaseData("- action: keepequal", "relabel configuration for keepequal action requires 'target_label' value"),
        new TestCaseData("- action: replace\n  target_label: '1abc'", "\"1abc\" is invalid 'target_label' for replace action"),
        new TestCaseData("- action: uppercase\n  target_label: x\n  replacement: y", "'replacement' can not be set for uppercase action"),
        new TestCaseData("- action: labelmap\n  replacement: '-x'", "\"-x\" is invalid 'replacement' for labelmap action"),
        new TestCaseData("- action: hashmod\n  modulus: 2\n  target_label: '$1'", "\"$1\" is invalid 'target_label' for hashmod action"),
        new TestCaseData("- action: dropequal\n  target_label: x\n  regex: y", "dropequal action requires only 'source_labels' and `target_label`, and no other fields"),
        new TestCaseData("- action: labeldrop\n  source_labels: [a]", "labeldrop action requires only 'regex', and no other fields"),
        new TestCaseData("- action: labelkeep\n  separator: ','", "labelkeep action requires only 'regex', and no other fields"),
        new TestCaseData("- action: explode", "unknown relabel action \"explode\""),
        new TestCaseData("- action: ''", "relabel action cannot be empty"),
        new TestCaseData("- source_labels: ['bad-name']\n  target_label: x", "\"bad-name\" is not a valid label name"),
        new TestCaseData("- target_label: x\n  colour: red", "field colour not found in type relabel.plain"),
        new TestCaseData("- target_label: x\n  modulus: -1", "cannot unmarshal !!str `-1` into uint64"),
        new TestCaseData("- target_label: x\n  regex: '(unclosed'", "error parsing regexp `(unclosed`"),
    ];

    [TestCaseSource(nameof(InvalidConfigs))]
    public void ParseYamlList_InvalidRule_ThrowsWithPrometheusMessage(string yaml, string message)
    {
        var act = () => RelabelConfig.ParseYamlList(yaml);

        act.Should().Throw<RelabelConfigException>().Which.Message.Should().Contain(message).And.StartWith("yaml: line ");
    }

    [Test]
    public void Relabeler_InvalidConfigObject_NamesRulePosition()
    {
        var act = () => new Relabeler([new RelabelConfig { TargetLabel = "ok" }, new RelabelConfig { Action = RelabelAction.HashMod, TargetLabel = "s" }]);

        act.Should().Throw<RelabelConfigException>().WithMessage("relabel rule 2 (*): relabel configuration for hashmod requires non-zero modulus");
    }

    [Test]
    public void ParseYamlList_Defaults_ArePrometheus()
    {
        var config = RelabelConfig.ParseYamlList("- target_label: t").Single();

        config.Action.Should().Be(RelabelAction.Replace);
        config.Separator.Should().Be(";");
        config.Regex.Should().Be("(.*)");
        config.Replacement.Should().Be("$1");
        config.Modulus.Should().Be(0);
        config.SourceLabels.Should().BeEmpty();
    }

    [Test]
    public void ToYaml_RoundTrips()
    {
        var original = new RelabelConfig
        {
            SourceLabels = ["a", "b"],
            Separator = "\"|\\",
            Regex = "(x)\n",
            TargetLabel = "t",
            Replacement = "${1}y",
        };

        var parsed = RelabelConfig.ParseYamlList("- " + original.ToYaml().Replace("\n", "\n  ", StringComparison.Ordinal).TrimEnd()).Single();

        parsed.Should().BeEquivalentTo(original);
    }

    [Test]
    public void ParseYamlList_EmptyDocument_IsNoRules()
    {
        RelabelConfig.ParseYamlList(string.Empty).Should().BeEmpty();
    }
}
