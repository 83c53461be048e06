using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Rules.Tests;

public class PublicApiTests
{
    [Test]
    public void PublicApi_MatchesCheckedInSnapshot()
    {
        var directory = Path.Combine(PublicApiSnapshot.RepositoryRoot(), "src", "Metrics.Coordination.Rules");
        PublicApiSnapshot.Verify(typeof(Metrics.Coordination.Rules.PromQL.PromQLEngine).Assembly, directory).Should().BeNull();
    }
}
