using System.Reflection;
using Metrics.Coordination.Testing;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Tsdb.Tests;

public class PublicApiTests
{
    [Test]
    public void PublicApi_MatchesCheckedInSnapshot()
    {
        var directory = Path.Combine(PublicApiSnapshot.RepositoryRoot(), "src", "Metrics.Coordination.Tsdb");
        PublicApiSnapshot.Verify(typeof(TimeSeriesDatabase).Assembly, directory).Should().BeNull();
    }

    [Test]
    public void LoggerMessages_EventIdsUniqueAndInTsdbRange()
    {
        var ids = typeof(TimeSeriesDatabase).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .Where(a => a is not null)
            .Select(a => a!.EventId)
            .ToList();
        ids.Should().NotBeEmpty();
        ids.Should().OnlyHaveUniqueItems();
        ids.Should().OnlyContain(id => id >= 2000 && id < 3000, "the Tsdb package owns event IDs 2000-2999");
    }
}
