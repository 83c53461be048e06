using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Registry;

/// <summary>Pushgateway log messages: event IDs 1200–1299.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Warning, Message = "{Method} {Url} {Outcome} (attempt {Attempt} of {MaxAttempts}); retrying in {DelayMs} ms")]
    public static partial void PushAttemptFailed(ILogger logger, string method, string url, int attempt, int maxAttempts, string outcome, long delayMs, Exception? exception);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Error, Message = "Periodic push of job '{Job}' to {Url} failed ({Failures} failed pushes so far); pushing goes on")]
    public static partial void PeriodicPushFailed(ILogger logger, string job, string url, long failures, Exception exception);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Error, Message = "Final push of job '{Job}' to {Url} failed; the gateway keeps the values of the last successful push")]
    public static partial void FinalPushFailed(ILogger logger, string job, string url, Exception exception);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "Pushing job '{Job}' to {Url} every {Interval}")]
    public static partial void PusherStarted(ILogger logger, string job, string url, TimeSpan interval);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Information, Message = "Stopped pushing job '{Job}' to {Url}: {Successes} pushes succeeded, {Failures} failed")]
    public static partial void PusherStopped(ILogger logger, string job, string url, long successes, long failures);
}
