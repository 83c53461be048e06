using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules.Templating;
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
        if (!text.Contains("{{", StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            AlertTemplate.Parse(alertName, text);
            return null;
        }
        catch (TemplateParseException e)
        {
            return e.Message;
        }
    }

    /// <summary>Parses the templates of an alerting rule's labels and annotations once (values without actions need none).</summary>
    public static Dictionary<string, AlertTemplate> ParseAll(string alertName, Labels labels, IEnumerable<Label> annotationsAndGroupLabels)
    {
        var result = new Dictionary<string, AlertTemplate>(StringComparer.Ordinal);
        foreach (var l in labels.Concat(annotationsAndGroupLabels))
        {
            if (l.Value.Contains("{{", StringComparison.Ordinal) && !result.ContainsKey(l.Value))
            {
                try
                {
                    result[l.Value] = AlertTemplate.Parse(alertName, l.Value);
                }
                catch (TemplateParseException)
                {
                    // Rule files are validated at load; a template that does not parse is left as written.
                }
            }
        }

        return result;
    }

    /// <summary>Expands <paramref name="text"/> for one alert; errors show in the result as Prometheus shows them and are logged.</summary>
    public static string Expand(string alertName, string text, Dictionary<string, AlertTemplate> templates, RuleTemplateData data, ILogger logger)
    {
        if (!templates.TryGetValue(text, out var template))
        {
            return text;
        }

        var result = template.Expand(
            new AlertTemplateData
            {
                Labels = ToDictionary(data.Labels),
                ExternalLabels = ToDictionary(data.ExternalLabels),
                ExternalUrl = data.ExternalUrl,
                Value = data.Value,
                TimestampMs = data.TimestampMs,
                Query = (expr, ts) => [.. data.Query(expr, ts).Select(s => new TemplateSample(ToDictionary(s.Metric), s.Value))],
            },
            out var error);
        if (error is not null)
        {
            Log.TemplateExpansionFailed(logger, alertName, error);
        }

        return result;
    }

    private static Dictionary<string, string> ToDictionary(Labels labels)
    {
        var d = new Dictionary<string, string>(labels.Count, StringComparer.Ordinal);
        foreach (var l in labels)
        {
            d[l.Name] = l.Value;
        }

        return d;
    }
}
