using System.Reflection;
using Metrics.Coordination.Testing;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper.Tests;

public class PublicApiTests
{
    [Test]
    public void PublicApi_MatchesCheckedInSnapshot()
    {
        var directory = Path.Combine(PublicApiSnapshot.RepositoryRoot(), "src", "Metrics.Coordination.ZooKeeper");
        PublicApiSnapshot.Verify(typeof(ZooKeeperClient).Assembly, directory).Should().BeNull();
    }

    [Test]
    public void LoggerMessages_EventIdsUniqueAndInZooKeeperRange()
    {
        var ids = typeof(ZooKeeperClient).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .Where(a => a is not null)
            .Select(a => a!.EventId)
            .ToList();
        ids.Should().NotBeEmpty();
        ids.Should().OnlyHaveUniqueItems();
        ids.Should().OnlyContain(id => id >= 4000 && id < 5000, "the ZooKeeper package owns event IDs 4000-4999");
    }

    [Test]
    public void Package_DependsOnNothingElseOfOurs()
    {
        typeof(ZooKeeperClient).Assembly.GetReferencedAssemblies()
            .Select(a => a.Name)
            .Should().NotContain(n => n!.StartsWith("Metrics.Coordination", StringComparison.Ordinal));
    }
}
