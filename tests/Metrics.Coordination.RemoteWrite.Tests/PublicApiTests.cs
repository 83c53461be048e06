using System.Reflection;
using Metrics.Coordination.Testing;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.RemoteWrite.Tests;

public class PublicApiTests
{
    [Test]
    public void PublicApi_MatchesCheckedInSnapshot()
    {
        var directory = Path.Combine(PublicApiSnapshot.RepositoryRoot(), "src", "Metrics.Coordination.RemoteWrite");
        PublicApiSnapshot.Verify(typeof(SnappyCodec).Assembly, directory).Should().BeNull();
    }

    [Test]
    public void LoggerMessages_EventIdsUniqueAndInRemoteWriteRange()
    {
        var ids = typeof(SnappyCodec).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .Where(a => a is not null)
            .Select(a => a!.EventId)
            .ToList();
        ids.Should().NotBeEmpty();
        ids.Should().OnlyHaveUniqueItems();
        ids.Should().OnlyContain(id => id >= 6000 && id < 7000, "the RemoteWrite package owns event IDs 6000-6999 (Registry 1000s, Tsdb 2000s, Rules 3000s, ZooKeeper 4000s, Hosting 5000s)");
    }
}
