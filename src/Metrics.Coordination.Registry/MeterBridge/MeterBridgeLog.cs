using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Registry;

/// <summary>Log messages of the Meter bridge (event IDs 1500–1549) and the process collector (1550–1559).</summary>
internal static partial class MeterBridgeLog
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Warning, Message = "Instrument '{Instrument}' of meter '{Meter}' maps to metric '{Family}', which {Reason}; the instrument is not published")]
    public static partial void InstrumentConflict(ILogger logger, string instrument, string meter, string family, string reason);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Debug, Message = "Instrument '{Instrument}' of meter '{Meter}' maps to metric '{Family}', which another Meter bridge on this registry already publishes")]
    public static partial void InstrumentOwnedElsewhere(ILogger logger, string instrument, string meter, string family);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Warning, Message = "Metric '{Family}' has {Limit} label names already; tag '{Key}' is dropped from its measurements")]
    public static partial void TooManyLabels(ILogger logger, string family, string key, int limit);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Warning, Message = "Metric '{Family}' has seen {Limit} different sets of tag keys; tags its last label set lacks are dropped from here on")]
    public static partial void TooManyGenerations(ILogger logger, string family, int limit);

    [LoggerMessage(EventId = 1504, Level = LogLevel.Error, Message = "The instrument filter of a Meter bridge threw for instrument '{Instrument}' of meter '{Meter}'; the instrument is not published")]
    public static partial void InstrumentFilterFailed(ILogger logger, string instrument, string meter, Exception exception);

    [LoggerMessage(EventId = 1505, Level = LogLevel.Debug, Message = "Instrument '{Instrument}' of meter '{Meter}' is of type {Type}, which the Meter bridge does not map; it is not published")]
    public static partial void UnsupportedInstrument(ILogger logger, string instrument, string meter, string type);

    [LoggerMessage(EventId = 1506, Level = LogLevel.Debug, Message = "Instrument '{Instrument}' of meter '{Meter}' is published as '{Family}'")]
    public static partial void InstrumentPublished(ILogger logger, string instrument, string meter, string family);

    [LoggerMessage(EventId = 1550, Level = LogLevel.Warning, Message = "Process metric source '{Source}' could not be read; its metrics keep their last values")]
    public static partial void ProcessSourceFailed(ILogger logger, string source, Exception exception);
}
