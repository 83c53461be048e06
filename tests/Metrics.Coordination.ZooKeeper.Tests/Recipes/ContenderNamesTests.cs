using Metrics.Coordination.ZooKeeper.Recipes.Internal;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes;

public class ContenderNamesTests
{
    [Test]
    public void ProtectedPath_UsesCuratorsLayout()
    {
        var id = Guid.Parse("b263e48a-b5da-4392-a910-80bc8a85a465");
        ContenderNames.ProtectedPath("/election/metrics", id, ContenderNames.LatchName)
            .Should().Be("/election/metrics/_c_b263e48a-b5da-4392-a910-80bc8a85a465-latch-");
        ContenderNames.ProtectedPath("/", id, "lock-").Should().Be("/_c_b263e48a-b5da-4392-a910-80bc8a85a465-lock-");
    }

    [Test]
    public void TryGetProtectionId_CuratorNodeName_ParsesIdAndStrips()
    {
        const string name = "_c_b263e48a-b5da-4392-a910-80bc8a85a465-latch-0000000000";
        ContenderNames.TryGetProtectionId(name, out var id).Should().BeTrue();
        id.Should().Be(Guid.Parse("b263e48a-b5da-4392-a910-80bc8a85a465"));
        ContenderNames.StripProtection(name).Should().Be("latch-0000000000");
        ContenderNames.TryGetProtectionId("_c_not-a-uuid-latch-0000000001", out _).Should().BeFalse();
        ContenderNames.StripProtection("member_0000000001").Should().Be("member_0000000001");
    }

    [Test]
    public void Sort_OrdersBySuffixAfterLastLockName_NotByFullName()
    {
        // The UUIDs would order these the other way round; only the sequence counts.
        string[] children =
        [
            "_c_ffffffff-0000-0000-0000-000000000000-latch-0000000002",
            "_c_00000000-0000-0000-0000-000000000000-latch-0000000010",
            "_c_77777777-0000-0000-0000-000000000000-latch-0000000001",
            "kazoo-or-foreign",
        ];
        ContenderNames.Sort(children, ContenderNames.LatchName).Should().Equal(
            "_c_77777777-0000-0000-0000-000000000000-latch-0000000001",
            "_c_ffffffff-0000-0000-0000-000000000000-latch-0000000002",
            "_c_00000000-0000-0000-0000-000000000000-latch-0000000010",
            "kazoo-or-foreign");
    }

    [Test]
    public void SortKey_NameWithLockNameTwice_UsesLastOccurrence()
    {
        ContenderNames.SortKey("_c_x-latch-latch-0000000007", "latch-").Should().Be("0000000007");
        ContenderNames.SortKey("no-marker", "latch-").Should().Be("no-marker");
    }

    [Test]
    public void FindPredecessor_ReturnsOnlyTheNodeJustBefore()
    {
        var sorted = new[] { "a-latch-0000000001", "b-latch-0000000002", "c-latch-0000000003" };
        ContenderNames.FindPredecessor(sorted, "c-latch-0000000003").Should().Be((2, "b-latch-0000000002"));
        ContenderNames.FindPredecessor(sorted, "a-latch-0000000001").Should().Be((0, (string?)null));
        ContenderNames.FindPredecessor(sorted, "gone").Should().Be((-1, (string?)null));
    }
}
