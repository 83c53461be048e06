using Metrics.Coordination.Testing;

namespace Metrics.Coordination.AspNetCore.Tests;

public class PublicApiTests
{
    [Test]
    public void PublicApi_MatchesCheckedInSnapshot()
    {
        var directory = Path.Combine(PublicApiSnapshot.RepositoryRoot(), "src", "Metrics.Coordination.AspNetCore");
        PublicApiSnapshot.Verify(typeof(Metrics.Coordination.AspNetCore.MetricsEndpointRouteBuilderExtensions).Assembly, directory).Should().BeNull();
    }
}
