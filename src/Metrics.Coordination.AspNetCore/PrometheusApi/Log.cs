using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.AspNetCore.PrometheusApi;

/// <summary>Log messages of the AspNetCore package; event IDs 1900–1999 belong to it (1900–1949: the Prometheus API).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1900, Level = LogLevel.Error, Message = "Prometheus API request {Path} failed with an internal error")]
    public static partial void InternalError(ILogger logger, string path, Exception exception);

    [LoggerMessage(EventId = 1901, Level = LogLevel.Warning, Message = "Prometheus API request {Path} from {Remote} refused: missing or wrong API key")]
    public static partial void ApiKeyRefused(ILogger logger, string path, string remote);
}
