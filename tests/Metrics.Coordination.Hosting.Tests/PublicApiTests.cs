using System.Reflection;
using Metrics.Coordination.Testing;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Hosting.Tests;

public class PublicApiTests
{
    [Test]
    public void PublicApi_MatchesCheckedInSnapshot()
    {
        var directory = Path.Combine(PublicApiSnapshot.RepositoryRoot(), "src", "Metrics.Coordination.Hosting");
        PublicApiSnapshot.Verify(typeof(MetricsCoordinationOptions).Assembly, directory).Should().BeNull();
    }

    [Test]
    public void LoggerMessages_EventIdsUniqueAndInHostingRange()
    {
        var ids = typeof(MetricsCoordinationOptions).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .Where(a => a is not null)
            .Select(a => a!.EventId)
            .ToList();
        ids.Should().NotBeEmpty();
        ids.Should().OnlyHaveUniqueItems();
        ids.Should().OnlyContain(id => id >= 5000 && id < 6000, "the Hosting package owns event IDs 5000-5999");
    }
}
