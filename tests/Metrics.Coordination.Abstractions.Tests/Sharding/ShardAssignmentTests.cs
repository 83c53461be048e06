using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Metrics.Coordination.Abstractions.Relabeling;
using Metrics.Coordination.Abstractions.Sharding;

namespace Metrics.Coordination.Abstractions.Tests.Sharding;

/// <summary>
/// The movement property of rendezvous hashing, stated and checked: removing one of N members moves exactly that
/// member's keys (each to some survivor) and nothing else; adding one moves keys only to the new member, about 1/(N+1)
/// of them. Keys are scrape-target addresses.
/// </summary>
public class ShardAssignmentTests
{
    private const int KeyCount = 3000;

    private static readonly string[] Keys = [.. Enumerable.Range(0, KeyCount).Select(i => string.Create(CultureInfo.InvariantCulture, $"10.{i / 250}.{i % 250}.7:{9100 + (i % 7)}"))];

    /// <summary>2 to 12 distinct member ids: replica names or arbitrary non-empty strings.</summary>
    private static Gen<string[]> Members() =>
        from n in Gen.Choose(2, 12)
        from ids in Gen.Frequency(
            (1, Gen.Choose(0, 1000).Select(i => "replica-" + i.ToString(CultureInfo.InvariantCulture))),
            (1, ArbMap.Default.GeneratorFor<NonEmptyString>().Select(s => s.Get))).ListOf(n)
        let distinct = ids.Distinct(StringComparer.Ordinal).ToArray()
        where distinct.Length >= 2
        select distinct;

    [Test]
    public void RendezvousOwner_RemoveOneMember_MovesExactlyThatMembersKeys()
    {
        var property = Prop.ForAll((from m in Members() from r in Gen.Choose(0, m.Length - 1) select (Members: m, Removed: r)).ToArbitrary(), input =>
        {
            var before = Owners(input.Members);
            var removed = input.Members[input.Removed];
            var rest = input.Members.Where((_, i) => i != input.Removed).ToArray();
            var after = Owners(rest);
            for (var k = 0; k < KeyCount; k++)
            {
                if (before[k] == removed)
                {
                    after[k].Should().NotBe(removed);
                }
                else
                {
                    after[k].Should().Be(before[k], $"key {Keys[k]} was not {removed}'s and must stay where it was");
                }
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), property);
    }

    [Test]
    public void RendezvousOwner_AddOneMember_MovesOnlyToItAboutOneInNPlusOne()
    {
        var property = Prop.ForAll((from m in Members() where m.Length >= 3 select m).ToArbitrary(), members =>
        {
            // The last member "joins" the others.
            var old = members[..^1];
            var joined = members[^1];
            var before = Owners(old);
            var after = Owners(members);
            var moved = 0;
            for (var k = 0; k < KeyCount; k++)
            {
                if (after[k] != before[k])
                {
                    after[k].Should().Be(joined, $"key {Keys[k]} may only move to the new member");
                    moved++;
                }
            }

            // Binomial(KeyCount, 1/(N+1)): the expected share within 5 standard deviations.
            var p = 1.0 / members.Length;
            var sd = Math.Sqrt(KeyCount * p * (1 - p));
            moved.Should().BeInRange((int)((KeyCount * p) - (5 * sd)), (int)Math.Ceiling((KeyCount * p) + (5 * sd)), $"about 1/{members.Length} of {KeyCount} keys move when the {members.Length}th member joins");
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), property);
    }

    [Test]
    public void RendezvousOwner_AnyMemberOrder_SameOwner()
    {
        var property = Prop.ForAll((from m in Members() from shuffled in Gen.Shuffle(m) select (m, shuffled.ToArray())).ToArbitrary(), input =>
            Owners(input.Item1).Should().Equal(Owners(input.Item2), "every replica must compute the same assignment whatever order it lists the members in"));
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40), property);
    }

    [Test]
    public void RendezvousOwner_ThreeReplicas_SpreadsEvenly()
    {
        string[] members = ["replica-a", "replica-b", "replica-c"];
        var counts = Owners(members).GroupBy(o => o).ToDictionary(g => g.Key, g => g.Count());
        counts.Keys.Should().BeEquivalentTo(members);

        // Binomial(3000, 1/3): sd ≈ 25.8; 5 sd either side.
        counts.Values.Should().OnlyContain(c => c > 870 && c < 1130, string.Join(", ", counts));
    }

    [Test]
    public void RendezvousOwner_NoMembers_MinusOne()
    {
        ShardAssignment.RendezvousOwner("a:1", []).Should().Be(-1);
        ShardAssignment.RendezvousOwner("a:1", ["only"]).Should().Be(0);
        ShardAssignment.HashModOwner("a:1", 0).Should().Be(-1);
        var negative = () => ShardAssignment.HashModOwner("a:1", -1);
        negative.Should().Throw<ArgumentOutOfRangeException>();
    }

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(7)]
    public void HashModOwner_AnyKey_AgreesWithPrometheusHashmodKeepSharding(int replicas)
    {
        // What replica i of N keeps with the classic Prometheus sharding config: hashmod on __address__, keep index i.
        for (var i = 0; i < replicas; i++)
        {
            var relabeler = new Relabeler(RelabelConfig.ParseYamlList($"""
                - source_labels: [__address__]
                  modulus: {replicas}
                  target_label: __tmp_hash
                  action: hashmod
                - source_labels: [__tmp_hash]
                  regex: "{i}"
                  action: keep
                """));
            foreach (var key in Keys.Take(500))
            {
                var kept = relabeler.Process(Labels.FromStrings("__address__", key)) is not null;
                kept.Should().Be(ShardAssignment.HashModOwner(key, replicas) == i, $"{key} with {replicas} replicas, replica {i}");
            }
        }
    }

    [Test]
    public void ShardOwnership_Create_DelegatesOwnsAndChanged()
    {
        EventHandler? handlers = null;
        var ownership = ShardOwnership.Create(k => k.StartsWith('a'), h => handlers += h, h => handlers -= h);
        var raised = 0;
        EventHandler onChanged = (_, _) => raised++;
        ownership.Changed += onChanged;
        ownership.Owns("a:1").Should().BeTrue();
        ownership.Owns("b:1").Should().BeFalse();
        handlers!.Invoke(null, EventArgs.Empty);
        raised.Should().Be(1);
        ownership.Changed -= onChanged;
        handlers.Should().BeNull();
        ShardOwnership.All.Owns("anything").Should().BeTrue();
    }

    private static string[] Owners(IReadOnlyList<string> members) =>
        [.. Keys.Select(k => members[ShardAssignment.RendezvousOwner(k, members)])];
}
