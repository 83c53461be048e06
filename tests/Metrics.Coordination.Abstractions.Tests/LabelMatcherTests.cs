namespace Metrics.Coordination.Abstractions.Tests;

[TestFixture]
public sealed class LabelMatcherTests
{
    [TestCase("a", "a", true)]
    [TestCase("a", "ab", false)]
    [TestCase("a", "ba", false)]
    [TestCase("a|b", "b", true)]
    [TestCase("a|b", "ab", false)]
    [TestCase("a.b", "a\nb", true)]
    [TestCase(".*", "multi\nline", true)]
    [TestCase("", "", true)]
    [TestCase("", "x", false)]
    public void Regex_IsFullyAnchoredAndDotMatchesNewline(string pattern, string value, bool expected)
    {
        new LabelMatcher(MatchType.Regex, "job", pattern).Matches(value).Should().Be(expected);
        new LabelMatcher(MatchType.NotRegex, "job", pattern).Matches(value).Should().Be(!expected);
    }

    [Test]
    public void Regex_TrailingNewline_IsNotIgnored()
    {
        new LabelMatcher(MatchType.Regex, "job", "a").Matches("a\n").Should().BeFalse();
    }

    [Test]
    public void Equal_AbsentLabel_MatchesEmptyString()
    {
        var labels = Labels.FromStrings("job", "api");

        new LabelMatcher(MatchType.Equal, "env", string.Empty).Matches(labels).Should().BeTrue();
        new LabelMatcher(MatchType.NotEqual, "env", string.Empty).Matches(labels).Should().BeFalse();
        new LabelMatcher(MatchType.Equal, "job", "api").Matches(labels).Should().BeTrue();
        new LabelMatcher(MatchType.NotEqual, "job", "api").Matches(labels).Should().BeFalse();
        new LabelMatcher(MatchType.Regex, "env", ".*").Matches(labels).Should().BeTrue();
        new LabelMatcher(MatchType.Regex, "env", ".+").Matches(labels).Should().BeFalse();
    }

    [Test]
    public void Constructor_InvalidRegex_ThrowsArgumentExceptionNamingPattern()
    {
        var act = () => new LabelMatcher(MatchType.Regex, "job", "a(");

        act.Should().Throw<ArgumentException>().WithMessage("*'a('*job*");
    }

    [Test]
    public void ToString_FormatsAsPromQl()
    {
        new LabelMatcher(MatchType.Regex, "job", "a\"b").ToString().Should().Be("job=~\"a\\\"b\"");
        new LabelMatcher(MatchType.NotEqual, "label.x", "v").ToString().Should().Be("\"label.x\"!=\"v\"");
    }
}
