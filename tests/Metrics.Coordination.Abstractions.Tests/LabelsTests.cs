namespace Metrics.Coordination.Abstractions.Tests;

[TestFixture]
public sealed class LabelsTests
{
    [Test]
    public void From_UnsortedPairs_SortsByOrdinalName()
    {
        var labels = Labels.FromStrings("job", "api", "__name__", "up", "Instance", "x", "a", "1");

        labels.Select(l => l.Name).Should().Equal("Instance", "__name__", "a", "job");
        labels.Name.Should().Be("up");
        labels.Count.Should().Be(4);
    }

    [Test]
    public void From_DuplicateName_Throws()
    {
        var act = () => Labels.FromStrings("a", "1", "b", "2", "a", "3");

        act.Should().Throw<ArgumentException>().WithMessage("Duplicate label name 'a'.*");
    }

    [Test]
    public void From_EmptyNameOrOddStrings_Throws()
    {
        ((Action)(() => Labels.FromStrings(string.Empty, "1"))).Should().Throw<ArgumentException>();
        ((Action)(() => Labels.FromStrings("a"))).Should().Throw<ArgumentException>();
    }

    [Test]
    public void Equals_SameContentInAnyOrder_IsEqualWithEqualHash()
    {
        var a = Labels.FromStrings("a", "1", "b", "2");
        var b = Labels.From(new Label("b", "2"), new Label("a", "1"));

        Same(a, b);
        (a == b).Should().BeTrue();
        a.GetHashCode().Should().Be(b.GetHashCode());
        a.Hash.Should().Be(b.Hash);
    }

    [Test]
    public void Equals_DifferentContent_IsNotEqual()
    {
        var a = Labels.FromStrings("a", "1", "b", "2");

        Different(a, Labels.FromStrings("a", "1", "b", "3"));
        Different(a, Labels.FromStrings("a", "1"));
        Labels.FromStrings("a", "bc").Hash.Should().NotBe(Labels.FromStrings("ab", "c").Hash);
        (a != Labels.Empty).Should().BeTrue();
        a.Equals(null).Should().BeFalse();
    }

    [Test]
    public void ToString_WithLegacyName_FormatsAsPromQl()
    {
        Labels.FromStrings("__name__", "up", "job", "a\"b\\c\nd", "x", "y").ToString().Should().Be("up{job=\"a\\\"b\\\\c\\nd\", x=\"y\"}");
    }

    [Test]
    public void ToString_WithUtf8NamesOrWithoutName_QuotesAsNeeded()
    {
        Labels.FromStrings("__name__", "my.metric", "label.x", "v").ToString().Should().Be("{\"my.metric\", \"label.x\"=\"v\"}");
        Labels.FromStrings("job", "x").ToString().Should().Be("{job=\"x\"}");
        Labels.Empty.ToString().Should().Be("{}");
    }

    [Test]
    public void GetHasWithWithout_WorkOnCopies()
    {
        var labels = Labels.FromStrings("a", "1", "b", "2");

        labels.Get("a").Should().Be("1");
        labels.Get("missing").Should().BeEmpty();
        labels.Has("b").Should().BeTrue();
        Same(labels.With("c", "3"), Labels.FromStrings("a", "1", "b", "2", "c", "3"));
        Same(labels.With("a", "9"), Labels.FromStrings("a", "9", "b", "2"));
        Same(labels.With("a", string.Empty), Labels.FromStrings("b", "2"));
        Same(labels.Without("a"), Labels.FromStrings("b", "2"));
        labels.Without("zzz").Should().BeSameAs(labels);
        Same(labels, Labels.FromStrings("a", "1", "b", "2"));
    }

    private static void Same(Labels actual, Labels expected) => actual.Equals(expected).Should().BeTrue($"{actual} should equal {expected}");

    private static void Different(Labels actual, Labels expected) => actual.Equals(expected).Should().BeFalse($"{actual} should differ from {expected}");
}
