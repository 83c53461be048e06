using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.Tests.RuleFiles;

public class RuleFileParserTests
{
    private static IReadOnlyList<RuleFileProblem> Problems(string yaml)
    {
        var act = () => RuleFileParser.Parse(yaml, "f.yml");
        return act.Should().Throw<RuleFileException>().Which.Problems;
    }

    [Test]
    public void Parse_FullGroup_ReadsEveryField()
    {
        var file = RuleFileParser.Parse(
            "groups:\n" +
            "  - name: g\n" +
            "    interval: 1h30m\n" +
            "    query_offset: 30s\n" +
            "    limit: 5\n" +
            "    labels:\n" +
            "      team: a\n" +
            "    rules:\n" +
            "      - record: job:up:sum\n" +
            "        expr: sum by (job) (up)\n" +
            "        labels: {x: y}\n" +
            "      - alert: Down\n" +
            "        expr: up == 0\n" +
            "        for: 5m\n" +
            "        keep_firing_for: 2m500ms\n" +
            "        annotations:\n" +
            "          summary: s\n",
            "f.yml");
        var g = file.Groups.Should().ContainSingle().Subject;
        g.Name.Should().Be("g");
        g.Interval.Should().Be(TimeSpan.FromMinutes(90));
        g.QueryOffset.Should().Be(TimeSpan.FromSeconds(30));
        g.Limit.Should().Be(5);
        g.Labels.Should().Equal(Labels.FromStrings("team", "a"));
        g.Rules.Should().HaveCount(2);
        g.Rules[0].Kind.Should().Be(RuleKind.Recording);
        g.Rules[0].Labels.Should().Equal(Labels.FromStrings("x", "y"));
        g.Rules[0].Line.Should().Be(9);
        g.Rules[1].Kind.Should().Be(RuleKind.Alerting);
        g.Rules[1].For.Should().Be(TimeSpan.FromMinutes(5));
        g.Rules[1].KeepFiringFor.Should().Be(TimeSpan.FromMilliseconds(120_500));
        g.Rules[1].Annotations.Get("summary").Should().Be("s");
        g.Rules[1].Index.Should().Be(2);
        file.RuleCount.Should().Be(2);
    }

    [Test]
    public void Parse_EmptyFile_HasNoGroups()
    {
        RuleFileParser.Parse("", "f.yml").Groups.Should().BeEmpty();
        RuleFileParser.Parse("groups: []\n", "f.yml").Groups.Should().BeEmpty();
    }

    [TestCase("1y", 365L * 24 * 3600 * 1000)]
    [TestCase("2w", 14L * 24 * 3600 * 1000)]
    [TestCase("1h30m", 5400L * 1000)]
    [TestCase("1m30s500ms", 90_500L)]
    [TestCase("0", 0L)]
    [TestCase("100ms", 100L)]
    public void TryParseDuration_PrometheusSyntax_Parses(string text, long ms)
    {
        RuleFileParser.TryParseDuration(text, out var d).Should().BeTrue();
        d.Should().Be(TimeSpan.FromMilliseconds(ms));
    }

    [TestCase("")]
    [TestCase("1x")]
    [TestCase("30m1h")]
    [TestCase("1.5h")]
    [TestCase("-1m")]
    [TestCase("1h1h")]
    public void TryParseDuration_Invalid_Fails(string text) => RuleFileParser.TryParseDuration(text, out _).Should().BeFalse();

    [Test]
    public void Parse_ManyProblems_ReportsAllWithGroupRuleAndLine()
    {
        var problems = Problems(
            "groups:\n" +
            "  - name: g1\n" +
            "    interval: 1x\n" +
            "    rules:\n" +
            "      - record: 'bad name'\n" +
            "        expr: sum(up\n" +
            "        for: 5m\n" +
            "      - alert: A\n" +
            "        expr: up\n" +
            "        labels:\n" +
            "          __name__: x\n" +
            "          0bad: y\n" +
            "        foo: bar\n" +
            "  - name: g1\n" +
            "    rules: []\n" +
            "  - name: ''\n");
        var text = problems.Select(p => p.ToString()).ToList();
        text.Should().Contain("f.yml: 3:15: group \"g1\": interval: not a valid duration string: \"1x\"");
        text.Should().Contain("f.yml: 5:17: group \"g1\", rule 1, \"bad name\": invalid recording rule name: bad name");
        text.Should().Contain("f.yml: 5:17: group \"g1\", rule 1, \"bad name\": invalid field 'for' in recording rule");
        text.Should().Contain("f.yml: 6:18: group \"g1\", rule 1, \"bad name\": could not parse expression: 1:4: parse error: unclosed left parenthesis");
        text.Should().Contain("f.yml: 11:11: group \"g1\", rule 2, \"A\": invalid label name: __name__");
        text.Should().Contain("f.yml: 12:11: group \"g1\", rule 2, \"A\": invalid label name: 0bad");
        text.Should().Contain("f.yml: 13:9: group \"g1\", rule 2, \"A\": field foo not found in type rulefmt.RuleNode");
        text.Should().Contain("f.yml: 14:11: groupname: \"g1\" is repeated in the same file");
        text.Should().Contain("f.yml: 16:11: Groupname must not be empty");
        problems.Should().HaveCount(9);
        problems[1].Group.Should().Be("g1");
        problems[1].RuleIndex.Should().Be(1);
        problems[1].RuleName.Should().Be("bad name");
    }

    [Test]
    public void Parse_RecordingRuleWithAlertFields_ReportsEachField()
    {
        var problems = Problems("groups:\n- name: a\n  rules:\n  - record: a\n    expr: up\n    for: 1m\n    keep_firing_for: 1m\n    annotations: {a: b}\n");
        problems.Select(p => p.Message).Should().BeEquivalentTo(
            "invalid field 'annotations' in recording rule", "invalid field 'for' in recording rule", "invalid field 'keep_firing_for' in recording rule");
    }

    [Test]
    public void Parse_RecordAndAlertBothOrNeither_Reported()
    {
        Problems("groups:\n- name: a\n  rules:\n  - record: a\n    alert: b\n    expr: up\n").Should().ContainSingle(p => p.Message == "only one of 'record' and 'alert' must be set");
        Problems("groups:\n- name: a\n  rules:\n  - expr: up\n").Should().ContainSingle(p => p.Message == "one of 'record' or 'alert' must be set");
        Problems("groups:\n- name: a\n  rules:\n  - record: a\n").Should().ContainSingle(p => p.Message == "field 'expr' must be set in rule");
    }

    [Test]
    public void Parse_UnknownTopLevelAndGroupFields_Reported()
    {
        var problems = Problems("groups:\n- name: a\n  evaluation: 1m\n  rules: []\nextra: 1\n");
        problems.Select(p => p.Message).Should().BeEquivalentTo(
            "field extra not found in type rulefmt.RuleGroups", "field evaluation not found in type rulefmt.RuleGroup");
        problems.Select(p => p.Line).Should().BeEquivalentTo([5, 3]);
    }

    [Test]
    public void Parse_BadLimitAndGroupLabels_Reported()
    {
        var problems = Problems("groups:\n- name: a\n  limit: x\n  labels: {'a b': c}\n  rules: []\n");
        problems.Select(p => p.Message).Should().BeEquivalentTo("limit: cannot parse \"x\" as an integer", "invalid label name: a b");
    }

    [Test]
    public void Parse_InvalidYaml_ReportsPosition()
    {
        var p = Problems("groups:\n  - name: g\n   rules: [\n").Should().ContainSingle().Subject;
        p.Line.Should().BeGreaterThan(0);
        p.Message.Should().StartWith("yaml: ");
    }

    [Test]
    public void Parse_MultiLineBlockExpression_MapsErrorLineIntoFile()
    {
        var p = Problems("groups:\n- name: a\n  rules:\n  - record: a\n    expr: |\n      sum(x)\n      + on(\n").Should().ContainSingle().Subject;
        p.Line.Should().Be(7);
        p.Message.Should().StartWith("could not parse expression: 2:");
    }

    [Test]
    public void Parse_TemplatesThatDoNotParse_ReportedAsPrometheusDoes()
    {
        var problems = Problems("groups:\n- name: a\n  rules:\n  - alert: a\n    expr: up\n    annotations: {a: '{{ nope }}'}\n    labels: {l: '{{ $labels.x '}\n");
        problems.Select(p => p.ToString()).Should().BeEquivalentTo(
            "f.yml: group \"a\", rule 1, \"a\": label \"l\": template: __alert_a:1: unclosed action",
            "f.yml: group \"a\", rule 1, \"a\": annotation \"a\": template: __alert_a:1: function \"nope\" not defined");
    }

    [Test]
    public void Load_MissingFile_ReportsFileProblem()
    {
        var act = () => RuleFileParser.Load("/nonexistent/rules.yml");
        act.Should().Throw<RuleFileException>().Which.Problems.Should().ContainSingle().Which.File.Should().Be("/nonexistent/rules.yml");
    }
}
