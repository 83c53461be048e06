using System.Globalization;
using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.Templating;

/// <summary>
/// A template did not parse. The message is Go's text/template parse error, as Prometheus reports it
/// (<c>template: __alert_HighLatency:1: function "humanise" not defined</c>).
/// </summary>
public sealed class TemplateParseException : MetricsCoordinationException
{
    /// <summary>Creates the exception for template <paramref name="templateName"/>, failing on <paramref name="line"/>.</summary>
    public TemplateParseException(string templateName, int line, string reason)
        : base(string.Create(CultureInfo.InvariantCulture, $"template: {templateName}:{line}: {reason}"))
    {
        TemplateName = templateName;
        Line = line;
        Reason = reason;
    }

    /// <summary>The Go template name (<c>__alert_</c> and the alert name for alert templates).</summary>
    public string TemplateName { get; }

    /// <summary>The 1-based line of the template text (including Prometheus's one-line prelude) where parsing failed.</summary>
    public int Line { get; }

    /// <summary>What is wrong, without the <c>template: NAME:LINE: </c> prefix.</summary>
    public string Reason { get; }
}
