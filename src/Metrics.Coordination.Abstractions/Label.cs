namespace Metrics.Coordination.Abstractions;

/// <summary>A label name and value pair. The metric name is the label <c>__name__</c>.</summary>
/// <param name="Name">The label name.</param>
/// <param name="Value">The label value (any UTF-8 text; empty means "absent" in PromQL).</param>
public readonly record struct Label(string Name, string Value)
{
    /// <inheritdoc />
    public override string ToString() => $"{Name}=\"{Value}\"";
}
