namespace Metrics.Coordination.Rules.Templating;

/// <summary>
/// Runs an instant PromQL query for the <c>query</c> template function at <paramref name="timestampMs"/> (the rule's
/// evaluation time) and returns the resulting vector (a scalar as one sample without labels). Throw to fail the
/// expansion: the exception's message becomes the template error (<c>error calling query: MESSAGE</c>).
/// </summary>
/// <param name="expression">The PromQL expression the template passed.</param>
/// <param name="timestampMs">Evaluation time, milliseconds since the Unix epoch.</param>
/// <returns>The samples, in the engine's order.</returns>
public delegate IReadOnlyList<TemplateSample> TemplateQuery(string expression, long timestampMs);

/// <summary>One sample of a <c>query</c> result as templates see it (<c>.Labels</c>, including <c>__name__</c>, and <c>.Value</c>).</summary>
/// <param name="Labels">The series' labels.</param>
/// <param name="Value">The sample value.</param>
public sealed record TemplateSample(IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// The data an alert template expands against: Prometheus's alert template data (<c>.Labels</c>, <c>.ExternalLabels</c>,
/// <c>.ExternalURL</c>, <c>.Value</c>, also bound to <c>$labels</c>, <c>$externalLabels</c>, <c>$externalURL</c>,
/// <c>$value</c>) plus what the functions need: the evaluation time and the query hook.
/// </summary>
public sealed class AlertTemplateData
{
    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    /// <summary>The alert's labels (<c>$labels</c>): the series' labels plus the rule's labels, as Prometheus passes them.</summary>
    public required IReadOnlyDictionary<string, string> Labels { get; init; }

    /// <summary>The external labels (<c>$externalLabels</c>); empty by default.</summary>
    public IReadOnlyDictionary<string, string> ExternalLabels { get; init; } = Empty;

    /// <summary>The external URL (<c>$externalURL</c>, and the <c>externalURL</c>/<c>pathPrefix</c> functions); empty by default.</summary>
    public string ExternalUrl { get; init; } = "";

    /// <summary>The alert's value (<c>$value</c>): the sample value of the alert expression's result.</summary>
    public double Value { get; init; }

    /// <summary>The evaluation time in milliseconds since the Unix epoch: the time <c>query</c> runs at.</summary>
    public long TimestampMs { get; init; }

    /// <summary>Runs <c>query</c>; null makes any call of <c>query</c> an expansion error.</summary>
    public TemplateQuery? Query { get; init; }
}
