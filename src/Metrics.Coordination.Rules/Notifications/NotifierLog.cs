using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Rules.Notifications;

/// <summary>Alertmanager notifier log messages: event IDs 3500–3599.</summary>
internal static partial class NotifierLog
{
    [LoggerMessage(EventId = 3500, Level = LogLevel.Information, Message = "Sending alerts to {Count} Alertmanager(s): {Endpoints} (queue capacity {Capacity} each, batches of up to {MaxBatchSize})")]
    public static partial void Started(ILogger logger, int count, string endpoints, int capacity, int maxBatchSize);

    [LoggerMessage(EventId = 3501, Level = LogLevel.Warning, Message = "POST {Endpoint} with {Alerts} alert(s) {Outcome} (attempt {Attempt}); retrying in {DelayMs} ms")]
    public static partial void AttemptFailed(ILogger logger, string endpoint, int alerts, string outcome, int attempt, long delayMs);

    [LoggerMessage(EventId = 3502, Level = LogLevel.Error, Message = "Alertmanager {Endpoint} rejected a batch of {Alerts} alert(s) with {Status}: {Body}; the batch is dropped (not retried), though Alertmanager may have kept its valid alerts")]
    public static partial void BatchRejected(ILogger logger, string endpoint, int alerts, int status, string body);

    [LoggerMessage(EventId = 3503, Level = LogLevel.Error, Message = "Dropped a batch of {Alerts} alert(s) for {Endpoint} after {Attempts} attempt(s) in {ElapsedMs} ms (retry time {MaxRetryMs} ms); last: {Outcome}")]
    public static partial void RetriesExhausted(ILogger logger, string endpoint, int alerts, int attempts, long elapsedMs, long maxRetryMs, string outcome);

    [LoggerMessage(EventId = 3504, Level = LogLevel.Warning, Message = "Notification queue for {Endpoint} is full ({Capacity}): dropped the {Dropped} oldest alert(s)")]
    public static partial void QueueOverflow(ILogger logger, string endpoint, long dropped, int capacity);

    [LoggerMessage(EventId = 3505, Level = LogLevel.Debug, Message = "Not leader: dropped {Alerts} alert(s) instead of queueing them")]
    public static partial void NotLeaderAtSend(ILogger logger, int alerts);

    [LoggerMessage(EventId = 3506, Level = LogLevel.Warning, Message = "Leadership lost or changed since queueing (queued in term {QueuedToken}; now leader: {IsLeader}, term {CurrentToken}): dropped {Alerts} alert(s) for {Endpoint} without sending")]
    public static partial void LeadershipLost(ILogger logger, string endpoint, int alerts, long queuedToken, bool isLeader, long currentToken);

    [LoggerMessage(EventId = 3507, Level = LogLevel.Error, Message = "Dropped alert {Labels} for {Endpoint}: {Problem}")]
    public static partial void InvalidAlert(ILogger logger, string endpoint, string labels, string problem);

    [LoggerMessage(EventId = 3508, Level = LogLevel.Warning, Message = "Notifier stopped with {Alerts} alert(s) for {Endpoint} undelivered; they are dropped")]
    public static partial void ShutdownDropped(ILogger logger, string endpoint, long alerts);

    [LoggerMessage(EventId = 3509, Level = LogLevel.Error, Message = "The leadership gate threw; treating this replica as not leader")]
    public static partial void GateFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3510, Level = LogLevel.Debug, Message = "Sent {Alerts} alert(s) to {Endpoint} in {ElapsedMs} ms")]
    public static partial void BatchSent(ILogger logger, string endpoint, int alerts, double elapsedMs);

    [LoggerMessage(EventId = 3511, Level = LogLevel.Warning, Message = "Send after the notifier stopped: dropped {Alerts} alert(s)")]
    public static partial void SendAfterStop(ILogger logger, int alerts);

    [LoggerMessage(EventId = 3512, Level = LogLevel.Information, Message = "Alertmanager {Endpoint} accepted a batch of {Alerts} alert(s) after {Attempts} attempts")]
    public static partial void Recovered(ILogger logger, string endpoint, int alerts, int attempts);

    [LoggerMessage(EventId = 3513, Level = LogLevel.Error, Message = "Delivery loop for {Endpoint} failed unexpectedly; {Alerts} alert(s) in flight are dropped and the loop goes on")]
    public static partial void LoopFailed(ILogger logger, string endpoint, int alerts, Exception exception);
}
