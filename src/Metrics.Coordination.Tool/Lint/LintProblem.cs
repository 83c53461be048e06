namespace Metrics.Coordination.Tool.Lint;

/// <summary>One lint finding: the metric it is about and promtool's wording for it.</summary>
/// <param name="Metric">The metric name as a Prometheus text exposition names the family (counters with <c>_total</c>).</param>
/// <param name="Text">The message, worded as promtool words it.</param>
internal readonly record struct LintProblem(string Metric, string Text)
{
    /// <summary>The line promtool prints: <c>name message</c>.</summary>
    public override string ToString() => Metric + " " + Text;
}
