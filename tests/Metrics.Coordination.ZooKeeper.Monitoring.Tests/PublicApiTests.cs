using System.Reflection;
using Metrics.Coordination.Testing;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper.Monitoring.Tests;

public class PublicApiTests
{
    [Test]
    public void PublicApi_MatchesCheckedInSnapshot()
    {
        var directory = Path.Combine(PublicApiSnapshot.RepositoryRoot(), "src", "Metrics.Coordination.ZooKeeper.Monitoring");
        PublicApiSnapshot.Verify(typeof(ZooKeeperEnsembleCollector).Assembly, directory).Should().BeNull();
    }

    [Test]
    public void LoggerMessages_EventIdsUniqueAndInMonitoringRange()
    {
        var ids = typeof(ZooKeeperEnsembleCollector).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .Where(a => a is not null)
            .Select(a => a!.EventId)
            .ToList();
        ids.Should().NotBeEmpty();
        ids.Should().OnlyHaveUniqueItems();
        ids.Should().OnlyContain(id => id >= 4800 && id < 4900, "the ZooKeeper monitoring package owns event IDs 4800-4899 of the ZooKeeper family");
    }
}
