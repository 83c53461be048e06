using Metrics.Coordination.Abstractions.Sharding;
using Metrics.Coordination.Tsdb.Scrape;

namespace Metrics.Coordination.Tsdb.Tests.Scrape;

public class ShardedTargetProviderTests
{
    [Test]
    public void GetTargetGroups_PartlyOwned_KeepsOwnedTargetsWithTheirGroupLabels()
    {
        var ownership = new SwitchableOwnership(["a:1", "c:3"]);
        var labels = new Dictionary<string, string> { ["env"] = "prod" };
        var extra = new Dictionary<string, IReadOnlyDictionary<string, string>> { ["c:3"] = new Dictionary<string, string> { ["__meta_x"] = "y" } };
        using var provider = new ShardedTargetProvider(
            [
                new ScrapeTargetGroup { Targets = ["a:1", "b:2", "c:3"], Labels = labels, TargetLabels = extra },
                new ScrapeTargetGroup { Targets = ["d:4"] },
            ],
            ShardOwnership.Create(ownership.Owns, h => ownership.Changed += h, h => ownership.Changed -= h));

        var groups = provider.GetTargetGroups();
        groups.Should().ContainSingle("the group with nothing owned is left out");
        groups[0].Targets.Should().Equal("a:1", "c:3");
        groups[0].Labels.Should().BeSameAs(labels);
        groups[0].TargetLabels.Should().BeSameAs(extra);
    }

    [Test]
    public void Changed_OwnershipOrInnerChanges_Raised_AndNotAfterDispose()
    {
        var ownership = new SwitchableOwnership(["a:1"]);
        var inner = new StaticTargetProvider([new ScrapeTargetGroup { Targets = ["a:1", "b:2"] }]);
        var provider = new ShardedTargetProvider(inner, ShardOwnership.Create(ownership.Owns, h => ownership.Changed += h, h => ownership.Changed -= h));
        var raised = 0;
        provider.Changed += (_, _) => raised++;

        ownership.Set("b:2");
        raised.Should().Be(1);
        provider.GetTargetGroups().Single().Targets.Should().Equal("b:2");
        inner.Update([new ScrapeTargetGroup { Targets = ["a:1", "b:2", "e:5"] }]);
        raised.Should().Be(2);
        ownership.Set();
        provider.GetTargetGroups().Should().BeEmpty("a replica that owns nothing scrapes nothing");

        provider.Dispose();
        ownership.Set("a:1");
        inner.Update([]);
        raised.Should().Be(3);
    }

    [Test]
    public void GetTargetGroups_KeySelector_UsedForOwnership()
    {
        var ownership = new SwitchableOwnership(["host-b"]);
        using var provider = new ShardedTargetProvider(
            [new ScrapeTargetGroup { Targets = ["host-a:9100", "host-b:9100"] }],
            ShardOwnership.Create(ownership.Owns, h => ownership.Changed += h, h => ownership.Changed -= h),
            address => address[..address.IndexOf(':', StringComparison.Ordinal)]);
        provider.GetTargetGroups().Single().Targets.Should().Equal("host-b:9100");
    }

    private sealed class SwitchableOwnership(IEnumerable<string> owned)
    {
        private HashSet<string> _owned = new(owned, StringComparer.Ordinal);

        public event EventHandler? Changed;

        public bool Owns(string key) => _owned.Contains(key);

        public void Set(params string[] keys)
        {
            _owned = new HashSet<string>(keys, StringComparer.Ordinal);
            Changed?.Invoke(this, EventArgs.Empty);
        }
    }
}
