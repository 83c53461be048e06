using Metrics.Coordination.Abstractions.Relabeling;
using Metrics.Coordination.Shared;

namespace Metrics.Coordination.Abstractions.Tests;

/// <summary>The one RE2 translation shared by matchers, relabeling, label_replace and the template functions.</summary>
[TestFixture]
public sealed class GoRegexTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    [TestCase(@"\d+", "0123456789", true)]
    [TestCase(@"\d+", "\u0663\u0664", false)] // Arabic-Indic digits: \d is ASCII-only in RE2.
    [TestCase(@"\w+", "caf\u00e9", false)]
    [TestCase(@"\s", "\u00a0", false)]
    [TestCase(@"[[:alpha:]]+", "abcXYZ", true)]
    [TestCase(@"[[:digit:]x]+", "12x3", true)]
    [TestCase(@"\pL+", "\u00e9t\u00e9", true)]
    [TestCase(@"\Qa.b\E", "a.b", true)]
    [TestCase(@"\Qa.b\E", "axb", false)]
    [TestCase(@"[]a]+", "]a]", true)]
    [TestCase(@"[[a]+", "a[", true)]
    [TestCase(@"(?P<x>a)b", "ab", true)]
    [TestCase(@"(?<x>a)b", "ab", true)]
    public void Matches_AsRe2Does(string pattern, string input, bool expected)
    {
        new GoRegex(pattern, anchored: true, dotAll: false, Timeout).IsMatch(input).Should().Be(expected);
    }

    [TestCase(@"(a)\1", @"invalid escape sequence: `\1`")]
    [TestCase(@"a\Z", @"invalid escape sequence: `\Z`")]
    [TestCase(@"a(?=b)", "invalid or unsupported Perl syntax: `(?=`")]
    [TestCase(@"(?<!a)b", "invalid or unsupported Perl syntax: `(?<`")]
    [TestCase(@"(?P<x>a)(?P<x>b)", "duplicate capture group name: `x`")]
    [TestCase(@"(abc", "missing closing ): `(abc`")]
    [TestCase(@"abc)", "unexpected ): `abc)`")]
    public void Constructor_Re2RejectsPattern_ThrowsWithGosMessage(string pattern, string message)
    {
        var act = () => new GoRegex(pattern, anchored: true, dotAll: false, Timeout);

        act.Should().Throw<GoRegexSyntaxException>().WithMessage(message);
    }

    [TestCase("$2-$x", "b-a")]
    [TestCase("${1}x", "ax")]
    [TestCase("$1x", "")] // Go reads the name "1x": no such group.
    [TestCase("$$1", "$1")]
    [TestCase("$3", "")]
    [TestCase("${x", "${x")]
    public void Expand_MixedNamedAndNumberedGroups_UsesGosNumbering(string template, string expected)
    {
        // Go numbers groups left to right whatever their kind; .NET would number the named group after (b).
        var regex = new GoRegex("(?P<x>a)(b)", anchored: true, dotAll: false, Timeout);

        regex.Expand(template, regex.Match("ab")).Should().Be(expected);
    }

    [Test]
    public void Dollar_IsEndOfText_UnlessMultiline()
    {
        new GoRegex("a$", anchored: false, dotAll: false, Timeout).IsMatch("a\n").Should().BeFalse();
        new GoRegex("(?m)a$", anchored: false, dotAll: false, Timeout).IsMatch("a\nb").Should().BeTrue();
    }

    [Test]
    public void ReplaceAll_ExpandsEveryMatch()
    {
        new GoRegex(@"(\w)(\d)", anchored: false, dotAll: false, Timeout).ReplaceAll("a1 b2 c", "$2$1").Should().Be("1a 2b c");
    }

    [Test]
    public void LabelMatcher_UsesTheTranslation()
    {
        new LabelMatcher(MatchType.Regex, "code", @"5\d\d").Matches("5\u0663\u0663").Should().BeFalse();
        new LabelMatcher(MatchType.Regex, "job", "(?P<j>api)").Matches("api").Should().BeTrue();
        var bad = () => new LabelMatcher(MatchType.Regex, "job", @"(a)\1");
        bad.Should().Throw<ArgumentException>().WithMessage("*invalid escape sequence*");
    }

    [Test]
    public void RelabelConfig_BackReference_IsAConfigError()
    {
        var yaml = "- source_labels: [a]\n  regex: '(x)\\1'\n  target_label: b\n";

        var act = () => RelabelConfig.ParseYamlList(yaml);

        act.Should().Throw<RelabelConfigException>().WithMessage("*invalid escape sequence*");
    }
}
