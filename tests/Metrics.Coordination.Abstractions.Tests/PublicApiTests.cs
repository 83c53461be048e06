using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Abstractions.Tests;

public class PublicApiTests
{
    [Test]
    public void PublicApi_MatchesCheckedInSnapshot()
    {
        var directory = Path.Combine(PublicApiSnapshot.RepositoryRoot(), "src", "Metrics.Coordination.Abstractions");
        PublicApiSnapshot.Verify(typeof(Metrics.Coordination.Abstractions.Labels).Assembly, directory).Should().BeNull();
    }
}
