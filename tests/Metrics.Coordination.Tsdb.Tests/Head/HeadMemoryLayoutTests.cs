using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Tsdb.Head;

namespace Metrics.Coordination.Tsdb.Tests.Head;

/// <summary>The compact head structures (issue 5 memory budget) behave as the plain ones did: index lists, interning, series table.</summary>
public class HeadMemoryLayoutTests
{
    private static Labels L(int i) => Labels.FromStrings("__name__", "m" + (i % 7), "instance", "host-" + i, "job", i % 2 == 0 ? "a" : "b");

    [Test]
    public void MemPostings_AddAndDeleteAcrossInlineAndArrayLists_PostingsStaySortedAndExact()
    {
        var index = new MemPostings();
        var expected = new Dictionary<(string, string), SortedSet<ulong>>();
        var labels = new Dictionary<ulong, Labels>();

        // References arrive slightly out of order (concurrent creation), lists go 0 → 1 (inline) → many (array) → back.
        ulong[] refs = [.. Enumerable.Range(1, 300).Select(i => (ulong)(i % 3 == 0 ? i + 1 : i % 3 == 1 ? i + 1 : i - 2) + 2)];
        foreach (var r in refs.Distinct())
        {
            var l = L((int)r);
            labels[r] = l;
            index.Add(r, l);
            foreach (var label in l)
            {
                (expected.TryGetValue((label.Name, label.Value), out var set) ? set : expected[(label.Name, label.Value)] = []).Add(r);
            }
        }

        var deleted = labels.Where(kv => kv.Key % 5 != 0).ToDictionary(kv => kv.Key, kv => kv.Value);
        index.Delete(deleted);
        foreach (var ((name, value), set) in expected)
        {
            set.ExceptWith(deleted.Keys);
            index.Postings(name, value).Should().Equal(set, $"postings of {name}={value}");
        }

        index.AllPostings().Should().Equal(labels.Keys.Where(r => r % 5 == 0).Order());
        index.LabelValues("instance").Should().HaveCount(labels.Keys.Count(r => r % 5 == 0));

        // Lists refill after shrinking.
        foreach (var (r, l) in deleted)
        {
            index.Add(r, l);
        }

        index.Postings("job", "a").Should().Equal(labels.Where(kv => kv.Value.Get("job") == "a").Select(kv => kv.Key).Order());
    }

    [Test]
    public void MemPostings_Intern_SharesIndexedStringsAndDropsEmptyValues()
    {
        var index = new MemPostings();
        var first = index.Intern(Labels.FromStrings("__name__", "up", "job", "api", "zone", ""));
        first.Count.Should().Be(2, "an empty value means the label is absent");
        index.Add(1, first);

        var second = index.Intern(Labels.FromStrings("__name__", new string("up".AsSpan()), "job", new string("api".AsSpan()), "instance", "h1"));
        ReferenceEquals(second.Get("job"), first.Get("job")).Should().BeTrue("values already indexed are shared");
        ReferenceEquals(second.Name, first.Name).Should().BeTrue();
        ReferenceEquals(second[2].Name, first[1].Name).Should().BeTrue("names are shared too");
        second.Equals(Labels.FromStrings("__name__", "up", "job", "api", "instance", "h1")).Should().BeTrue();

        // A value no series uses any more is not held: the head keeps no strings of churned-away series.
        index.Delete(new Dictionary<ulong, Labels> { [1] = first });
        index.LabelNames().Should().BeEmpty();
    }

    [Test]
    public void SeriesTable_ManySeriesCreatedAndRemoved_FoundByLabelsAndRef()
    {
        var table = new SeriesTable();
        var all = new List<MemSeries>();
        for (var i = 0; i < 20_000; i++)
        {
            var l = L(i);
            all.Add(table.GetOrCreate(l, r => new MemSeries(r, l), out var created));
            created.Should().BeTrue();
        }

        table.Count.Should().Be(20_000);
        table.GetOrCreate(L(123), r => new MemSeries(r, L(123)), out var again).Should().BeSameAs(all[123]);
        again.Should().BeFalse();

        foreach (var s in all.Where((_, i) => i % 10 != 0))
        {
            table.Remove(s);
        }

        table.Remove(all[1]); // already gone: no effect
        table.Count.Should().Be(2_000);
        table.All().Select(s => s.Ref).Order().Should().Equal(all.Where((_, i) => i % 10 == 0).Select(s => s.Ref).Order());
        for (var i = 0; i < all.Count; i++)
        {
            var expected = i % 10 == 0 ? all[i] : null;
            table.GetByLabels(L(i)).Should().BeSameAs(expected);
            table.GetByRef(all[i].Ref).Should().BeSameAs(expected);
        }
    }
}
