using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Tsdb.Scrape;

/// <summary>Scrape and ingestion log messages: event IDs 2600–2799 of the TSDB's range (2600s scraping, 2700s registry ingestion).</summary>
internal static partial class ScrapeLog
{
    [LoggerMessage(EventId = 2601, Level = LogLevel.Information, Message = "Scrape manager started: {Jobs} jobs, {Targets} targets")]
    public static partial void Started(ILogger logger, int jobs, int targets);

    [LoggerMessage(EventId = 2602, Level = LogLevel.Information, Message = "Scrape manager stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 2603, Level = LogLevel.Debug, Message = "Scrape of {Url} (job {Job}) failed: {Error}")]
    public static partial void ScrapeFailed(ILogger logger, string job, string url, string error);

    [LoggerMessage(EventId = 2604, Level = LogLevel.Warning, Message = "Scrape of {Url} (job {Job}): parse error at line {Line}, column {Column}: {Reason}")]
    public static partial void ParseFailed(ILogger logger, string job, string url, int line, int column, string reason);

    [LoggerMessage(EventId = 2605, Level = LogLevel.Warning, Message = "Scrape of {Url} (job {Job}) failed: {Error}")]
    public static partial void AppendFailed(ILogger logger, string job, string url, string error);

    [LoggerMessage(EventId = 2606, Level = LogLevel.Warning, Message = "Scrape of {Url} (job {Job}): {Count} samples refused by storage (out of order, duplicate or out of bounds); first: {Error}")]
    public static partial void SamplesRefused(ILogger logger, string job, string url, int count, string error);

    [LoggerMessage(EventId = 2607, Level = LogLevel.Warning, Message = "Job {Job}: target dropped: {Error}")]
    public static partial void TargetError(ILogger logger, string job, string error);

    [LoggerMessage(EventId = 2608, Level = LogLevel.Information, Message = "Job {Job}: {Added} targets added, {Removed} removed, {Total} active")]
    public static partial void TargetsChanged(ILogger logger, string job, int added, int removed, int total);

    [LoggerMessage(EventId = 2609, Level = LogLevel.Error, Message = "Scrape loop of {Url} (job {Job}) hit an unexpected error; it continues at the next interval")]
    public static partial void LoopError(ILogger logger, string job, string url, Exception exception);

    [LoggerMessage(EventId = 2610, Level = LogLevel.Warning, Message = "Staleness markers for {Url} (job {Job}) could not be written")]
    public static partial void StalenessFailed(ILogger logger, string job, string url, Exception exception);

    [LoggerMessage(EventId = 2701, Level = LogLevel.Warning, Message = "Registry ingestion tick failed: {Error}")]
    public static partial void IngestionFailed(ILogger logger, string error, Exception? exception);

    [LoggerMessage(EventId = 2702, Level = LogLevel.Warning, Message = "Registry ingestion: {Count} samples refused by storage; first: {Error}")]
    public static partial void IngestionSamplesRefused(ILogger logger, int count, string error);
}
