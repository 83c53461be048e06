using System.Reflection;
using Metrics.Coordination.Rules.PromQL;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Rules.Tests;

public class LoggingTests
{
    [Test]
    public void LoggerMessages_EventIdsUniqueAndInRulesRange()
    {
        var ids = typeof(PromQLEngine).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .Where(a => a is not null)
            .Select(a => a!.EventId)
            .ToList();
        ids.Should().NotBeEmpty();
        ids.Should().OnlyHaveUniqueItems();
        ids.Should().OnlyContain(id => id >= 3000 && id < 4000, "the Rules package owns event IDs 3000-3999");
    }
}
