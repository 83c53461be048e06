using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Registry.Tests;

public class PublicApiTests
{
    [Test]
    public void PublicApi_MatchesCheckedInSnapshot()
    {
        var directory = Path.Combine(PublicApiSnapshot.RepositoryRoot(), "src", "Metrics.Coordination.Registry");
        PublicApiSnapshot.Verify(typeof(Metrics.Coordination.Registry.MetricRegistry).Assembly, directory).Should().BeNull();
    }
}
