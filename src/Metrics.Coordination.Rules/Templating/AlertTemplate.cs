using System.Text;

namespace Metrics.Coordination.Rules.Templating;

/// <summary>
/// One alert label or annotation template, parsed once (when rules load) and expanded per alert, the way Prometheus
/// does it: the text runs after the prelude
/// <c>{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}</c>
/// as Go template <c>__alert_NAME</c> with <c>missingkey=zero</c>, Go's builtins and Prometheus's template functions.
/// Error messages (and their line:column positions, which count the prelude) match Prometheus's byte for byte.
/// </summary>
public sealed class AlertTemplate
{
    /// <summary>The text Prometheus puts before every alert label and annotation template.</summary>
    public const string Prelude = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

    private readonly GoTemplate _template;

    private AlertTemplate(string alertName, string text, GoTemplate template)
    {
        AlertName = alertName;
        Text = text;
        _template = template;
    }

    /// <summary>The alerting rule's name the template belongs to.</summary>
    public string AlertName { get; }

    /// <summary>The Go template name: <c>__alert_</c> followed by the alert name, as in Prometheus's messages.</summary>
    public string TemplateName => _template.Name;

    /// <summary>The template text as written in the rule (without the prelude).</summary>
    public string Text { get; }

    /// <summary>
    /// Parses <paramref name="text"/>, a label or annotation value of alerting rule <paramref name="name"/>.
    /// </summary>
    /// <param name="name">The alerting rule's name (<c>alert:</c>); the Go template is named <c>__alert_</c> + name.</param>
    /// <param name="text">The label or annotation value.</param>
    /// <returns>The parsed template.</returns>
    /// <exception cref="TemplateParseException">The text does not parse (message as Prometheus's rule loader shows it).</exception>
    public static AlertTemplate Parse(string name, string text)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(text);
        var templateName = "__alert_" + name;
        var template = GoTemplate.Parse(templateName, Prelude + text);
        return new AlertTemplate(name, text, template);
    }

    /// <summary>
    /// Expands the template for one alert. On an execution error returns what Prometheus puts in the label or
    /// annotation, <c>&lt;error expanding template: error executing template __alert_NAME: template: ...&gt;</c>, and
    /// sets <paramref name="error"/> to the error (the text between the angle brackets after the prefix) for logging.
    /// </summary>
    /// <param name="data">The alert's labels, value, external labels and URL, evaluation time and query hook.</param>
    /// <param name="error">Null on success; otherwise the error message.</param>
    /// <returns>The expanded text.</returns>
    public string Expand(AlertTemplateData data, out string? error)
    {
        ArgumentNullException.ThrowIfNull(data);
        var sb = new StringBuilder(Text.Length + 32);
        try
        {
            _template.Execute(sb, new ExecContext(data), GoValue.FromData(data));
        }
        catch (TemplateExecException e)
        {
            error = "error executing template " + _template.Name + ": " + e.Message;
            return "<error expanding template: " + error + ">";
        }

        error = null;
        return sb.ToString();
    }
}
