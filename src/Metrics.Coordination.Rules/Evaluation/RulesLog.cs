using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Rules;

/// <summary>Log messages of rule evaluation and the rule manager (event IDs 3100–3199).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Warning, Message = "Evaluating rule failed: group {Group}, rule {Index} ({Rule}): {Error}")]
    public static partial void RuleEvaluationFailed(ILogger logger, string group, int index, string rule, string error);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Restored 'for' state: group {Group}, rule {Rule}, alert {Alert}, active since {ActiveAt}")]
    public static partial void AlertStateRestored(ILogger logger, string group, string rule, string alert, DateTimeOffset activeAt);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Error, Message = "The alert sender threw for group {Group}, rule {Rule}")]
    public static partial void AlertSendFailed(ILogger logger, string group, string rule, Exception exception);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "Storage refused {Count} samples of group {Group}, rule {Rule}: {Error}")]
    public static partial void SamplesRejected(ILogger logger, string group, string rule, int count, string error);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "Error expanding template of alert {Alert}: {Error}")]
    public static partial void TemplateExpansionFailed(ILogger logger, string alert, string error);

    [LoggerMessage(EventId = 3110, Level = LogLevel.Error, Message = "Loading rule files failed; the previous rule set stays in force: {Error}")]
    public static partial void ReloadFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 3111, Level = LogLevel.Information, Message = "Loaded {Groups} rule groups with {Rules} rules")]
    public static partial void Reloaded(ILogger logger, int groups, int rules);

    [LoggerMessage(EventId = 3112, Level = LogLevel.Warning, Message = "Rule group {Group} missed {Missed} iterations")]
    public static partial void IterationsMissed(ILogger logger, string group, long missed);

    [LoggerMessage(EventId = 3113, Level = LogLevel.Error, Message = "Rule group {Group} evaluation loop failed unexpectedly")]
    public static partial void GroupLoopFailed(ILogger logger, string group, Exception exception);

    [LoggerMessage(EventId = 3120, Level = LogLevel.Information, Message = "Alert state hand-over: group {Group} adopted the published state in term {Term}: {Adopted} of {Published} published alert(s) continued (published in term {PublishedTerm} by '{Publisher}')")]
    public static partial void AlertStateAdopted(ILogger logger, string group, long term, int adopted, int published, long publishedTerm, string publisher);

    [LoggerMessage(EventId = 3121, Level = LogLevel.Warning, Message = "Alert state hand-over: loading the published state of group {Group} in term {Term} failed (attempt {Attempt}); nothing is sent for the group until it loads")]
    public static partial void AlertStateLoadFailed(ILogger logger, string group, long term, int attempt, Exception exception);

    [LoggerMessage(EventId = 3122, Level = LogLevel.Error, Message = "Alert state hand-over: loading the published state of group {Group} in term {Term} failed {Attempts} times; sending from this replica's own state (alerts may show a new startsAt)")]
    public static partial void AlertStateLoadGaveUp(ILogger logger, string group, long term, int attempts, Exception exception);

    [LoggerMessage(EventId = 3123, Level = LogLevel.Warning, Message = "Alert state hand-over: publishing the state of group {Group} in term {Term} failed; retrying after the next evaluation")]
    public static partial void AlertStatePublishFailed(ILogger logger, string group, long term, Exception exception);

    [LoggerMessage(EventId = 3124, Level = LogLevel.Warning, Message = "Alert state hand-over: the store refused the state of group {Group} in term {Term}: a newer leader has published; this replica stops publishing in that term")]
    public static partial void AlertStatePublishFenced(ILogger logger, string group, long term);
}
