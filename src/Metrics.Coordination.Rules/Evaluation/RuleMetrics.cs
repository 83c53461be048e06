using Metrics.Coordination.Registry;

namespace Metrics.Coordination.Rules;

/// <summary>The rule manager's self-metrics (per group, labelled <c>rule_group="file;name"</c> as Prometheus labels them).</summary>
internal sealed class RuleMetrics
{
    private const string GroupLabel = "rule_group";

    public RuleMetrics(MetricRegistry registry)
    {
        EvaluationDuration = registry.CreateHistogram("rule_evaluation_duration_seconds", "The duration of rule group evaluations.");
        LastEvaluation = registry.CreateGauge("rule_group_last_evaluation_timestamp_seconds", "The timestamp of the last rule group evaluation.", GroupLabel);
        LastDuration = registry.CreateGauge("rule_group_last_duration_seconds", "The duration of the last rule group evaluation.", GroupLabel);
        EvaluationFailures = registry.CreateCounter("rule_evaluation_failures_total", "Rule evaluations that failed.", GroupLabel);
        Iterations = registry.CreateCounter("rule_group_iterations_total", "Scheduled rule group evaluations, whether run or missed.", GroupLabel);
        IterationsMissed = registry.CreateCounter("rule_group_iterations_missed_total", "Rule group evaluations missed because an evaluation was still running or the process was stalled.", GroupLabel);
        Rules = registry.CreateGauge("rule_group_rules", "The number of rules in the group.", GroupLabel);
        AlertStateOperations = registry.CreateCounter("rule_alert_state_operations_total", "Loads and publications of alert state for the hand-over between leaders, by outcome (ok, fenced, error).", "operation", "result");
        Healthy = registry.CreateGauge("rule_group_healthy", "1 when every rule of the group evaluated without error at the last evaluation, else 0.", GroupLabel);
    }

    public Histogram EvaluationDuration { get; }

    public Gauge LastEvaluation { get; }

    public Gauge LastDuration { get; }

    public Counter EvaluationFailures { get; }

    public Counter Iterations { get; }

    public Counter IterationsMissed { get; }

    public Gauge Rules { get; }

    public Gauge Healthy { get; }

    public Counter AlertStateOperations { get; }

    /// <summary>Drops a removed group's series.</summary>
    public void Remove(string group)
    {
        LastEvaluation.RemoveLabels(group);
        LastDuration.RemoveLabels(group);
        EvaluationFailures.RemoveLabels(group);
        Iterations.RemoveLabels(group);
        IterationsMissed.RemoveLabels(group);
        Rules.RemoveLabels(group);
        Healthy.RemoveLabels(group);
    }
}
