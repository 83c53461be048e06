using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tsdb.Index;

namespace Metrics.Coordination.Tsdb.Tests.Index;

public class MatcherTests
{
    private static readonly string[] Names = ["__name__", "job", "instance", "le", "code"];
    private static readonly string[] Values = ["", "a", "ab", "abc", "b", "api", "web", "web-1", "x.y", "Ä", "\U0001F600", "\uE000"];
    private static readonly string[] Patterns = [".*", ".+", "a", "a|b", "ab|web|", "a.*", "web.*", "x\\.y", "[ab].*", "(a|b)c?", "", "A", ".*b.*", "a|\U0001F600", "(?i)AB"];

    [TestCase("foo", "Literals")]
    [TestCase("a|b|c", "Literals")]
    [TestCase("api.*", "Prefix")]
    [TestCase(".*", "Any")]
    [TestCase(".+", "NonEmpty")]
    [TestCase("a.b", "Regex")]
    [TestCase("(a|b)", "Regex")]
    public void Plan_Regex_RecognisesFastPaths(string pattern, string kind) =>
        MatcherPlan.For(new LabelMatcher(MatchType.Regex, "x", pattern)).Kind.ToString().Should().Be(kind);

    [Test]
    public void Plan_AnyValue_AgreesWithRegexEngine()
    {
        foreach (var type in Enum.GetValues<MatchType>())
        {
            foreach (var pattern in Patterns)
            {
                var matcher = new LabelMatcher(type, "x", pattern);
                var plan = MatcherPlan.For(matcher);
                foreach (var v in Values.Concat(["abcab", "web.*", "a|b", "\n", "ab\n"]))
                {
                    plan.Matches(v).Should().Be(matcher.Matches(v), $"{matcher} on '{v}'");
                }
            }
        }
    }

    [Test]
    public void Select_RandomSeriesAndMatchers_EqualsBruteForce()
    {
        var labelSet = from count in Gen.Choose(1, 4)
                       from names in Gen.Elements(Names).ArrayOf(count)
                       from values in Gen.Elements(Values.Where(v => v.Length > 0).ToArray()).ArrayOf(count)
                       select names.Zip(values).DistinctBy(p => p.First).Select(p => new Label(p.First, p.Second)).ToArray();
        var matcher = from type in Gen.Elements(Enum.GetValues<MatchType>())
                      from name in Gen.Elements(Names.Append("absent").ToArray())
                      from value in type is MatchType.Equal or MatchType.NotEqual ? Gen.Elements(Values) : Gen.Elements(Patterns)
                      select new LabelMatcher(type, name, value);
        var scenario = from sets in labelSet.ArrayOf()
                       from matchers in Gen.Choose(1, 3).SelectMany(n => matcher.ArrayOf(n))
                       select (sets, matchers);

        var property = Prop.ForAll(scenario.ToArbitrary(), s =>
        {
            var head = new Tsdb.Head.Head(new Tsdb.Head.HeadOptions(7_200_000));
            var series = new List<Tsdb.Head.MemSeries>();
            foreach (var set in s.sets)
            {
                series.Add(head.GetOrCreate(Labels.From(set), out _));
            }

            var expected = series.Distinct().Where(x => s.matchers.All(m => m.Matches(x.Labels))).Select(x => x.Ref).Order().ToArray();
            PostingsForMatchers.Select(head.Index, s.matchers).Should().Equal(expected, string.Join(", ", s.matchers.Select(m => m.ToString())));
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(400), property);
    }

    [Test]
    public void Utf8Order_RandomStrings_EqualsByteOrder()
    {
        var chars = Gen.Elements('a', 'z', '\u00e4', '\u07ff', '\u0800', '\ud7ff', '\ue000', '\uffff').Select(c => c.ToString());
        var pairs = Gen.Elements("\U00010000", "\U0001F600", "\U0010FFFF");
        var text = Gen.Frequency((4, chars), (1, pairs)).ArrayOf().Select(string.Concat);
        var property = Prop.ForAll(text.ToArbitrary(), text.ToArbitrary(), (a, b) =>
        {
            var bytes = Math.Sign(Encoding.UTF8.GetBytes(a).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(b)));
            Math.Sign(Utf8Order.CompareStrings(a, b)).Should().Be(bytes, $"'{a}' vs '{b}'");
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000), property);
    }

    [Test]
    public void Postings_SetOperations_MatchLinq()
    {
        var random = new Random(3);
        for (var round = 0; round < 200; round++)
        {
            var lists = Enumerable.Range(0, random.Next(1, 5))
                .Select(_ => Enumerable.Range(0, random.Next(0, random.Next(2) == 0 ? 20 : 2000)).Select(_ => (ulong)random.Next(3000)).Distinct().Order().ToArray())
                .ToList();
            Postings.Intersect([.. lists]).Should().Equal(lists.Skip(1).Aggregate((IEnumerable<ulong>)lists[0], (acc, l) => acc.Intersect(l)).Order());
            Postings.Union([.. lists]).Should().Equal(lists.SelectMany(l => l).Distinct().Order());
            Postings.Without(lists[0], lists[^1]).Should().Equal(lists[0].Except(lists[^1]));
        }
    }

    [Test]
    public void Select_ThroughQuerier_UsesMatchers()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var app = db.Appender();
        foreach (var job in new[] { "api", "web", "batch" })
        {
            app.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "up", "job", job), TimestampMs = 1, Value = 1 });
        }

        app.Commit();
        var q = db.Querier(0, 10);
        q.Select(true, default, new LabelMatcher(MatchType.Regex, "job", "api|web")).Select(s => s.Labels.Get("job")).Should().Equal("api", "web");
        q.Select(true, default, new LabelMatcher(MatchType.NotRegex, "job", "a.*")).Select(s => s.Labels.Get("job")).Should().Equal("batch", "web");
        q.Select(true, default, new LabelMatcher(MatchType.Equal, "zone", "")).Should().HaveCount(3, "an absent label matches the empty string");
        q.Select(true, default, new LabelMatcher(MatchType.NotEqual, "job", "")).Should().HaveCount(3);
        q.Select(true, default, new LabelMatcher(MatchType.Regex, "job", "")).Should().BeEmpty();
    }
}
