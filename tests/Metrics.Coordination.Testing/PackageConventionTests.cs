using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Testing;

/// <summary>
/// The checks every package's test project runs on its package: the public API equals the checked-in
/// <c>PublicAPI.txt</c> (a change to it is deliberate and reviewed), and every <c>[LoggerMessage]</c> event ID is unique
/// and inside the package's range, so an ID in a log line names its package. Derive once per test project:
/// <c>public sealed class PublicApiTests() : PackageConventionTests(typeof(SomePublicType), 2000, 3000);</c>
/// </summary>
/// <param name="marker">Any public type of the package.</param>
/// <param name="firstEventId">The first event ID the package owns.</param>
/// <param name="endEventId">One past the last event ID the package owns.</param>
public abstract class PackageConventionTests(Type marker, int firstEventId, int endEventId)
{
    /// <summary>The package's assembly.</summary>
    protected Assembly Package { get; } = marker.Assembly;

    /// <summary>The public surface equals <c>src/&lt;package&gt;/PublicAPI.txt</c>.</summary>
    [Test]
    public void PublicApi_MatchesCheckedInSnapshot()
    {
        var directory = Path.Combine(PublicApiSnapshot.RepositoryRoot(), "src", Package.GetName().Name!);
        var problem = PublicApiSnapshot.Verify(Package, directory);
        Assert.That(problem, Is.Null, problem);
    }

    /// <summary>Event IDs are unique within the package and inside its range.</summary>
    [Test]
    public void LoggerMessages_EventIdsUniqueAndInPackageRange()
    {
        var ids = Package.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .Select(a => a.EventId)
            .ToList();
        var duplicates = ids.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        var outside = ids.Where(id => id < firstEventId || id >= endEventId).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(duplicates, Is.Empty, $"{Package.GetName().Name}: event IDs used twice");
            Assert.That(outside, Is.Empty, $"{Package.GetName().Name} owns event IDs {firstEventId}-{endEventId - 1}");
        });
    }
}
