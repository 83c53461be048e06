using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Registry.Tests;

public class LoggingTests
{
    [Test]
    public void LoggerMessages_EventIdsUniqueAndInRegistryRange()
    {
        var ids = typeof(MetricRegistry).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .Where(a => a is not null)
            .Select(a => a!.EventId)
            .ToList();
        ids.Should().NotBeEmpty();
        ids.Should().OnlyHaveUniqueItems();
        ids.Should().OnlyContain(id => id >= 1000 && id < 2000, "the Registry package owns event IDs 1000-1999");
    }
}
