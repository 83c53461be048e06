using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Registry.Pushgateway;

/// <summary>Options of a <see cref="PushgatewayClient"/>. Validated and copied when the client is built.</summary>
public sealed class PushgatewayOptions
{
    /// <summary>
    /// The Pushgateway's base URL, such as <c>http://pushgateway:9091/</c> (a path prefix is kept:
    /// <c>http://host/prefix/</c> pushes to <c>/prefix/metrics/job/...</c>). Required.
    /// </summary>
    public Uri? Address { get; set; }

    /// <summary>
    /// The client to send with (its handler, proxy and credentials apply; its timeout applies on top of
    /// <see cref="RequestTimeout"/>); not disposed by the Pushgateway client. Default: null (one is created and owned).
    /// </summary>
    public HttpClient? HttpClient { get; set; }

    /// <summary>How many times one push or delete is tried in all, for 5xx answers, timeouts and connection failures. Default: 3.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>
    /// The delay before the second attempt; it doubles per attempt up to <see cref="MaxRetryDelay"/>, and each delay is
    /// drawn at random from its upper half (jitter, so many batch jobs failing together do not retry in step). Default: 500 ms.
    /// </summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest delay between attempts. Default: 10 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one attempt may take before it counts as failed (and is retried). Default: 10 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The clock for retry delays, timeouts and a <see cref="PeriodicPusher"/>'s interval. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where retries and a <see cref="PeriodicPusher"/>'s failures are logged. Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;
}

/// <summary>How a push treats the metrics already in the group.</summary>
public enum PushMode
{
    /// <summary><c>PUT</c>: the pushed metrics replace every metric of the group.</summary>
    Push = 0,

    /// <summary><c>POST</c>: the pushed metrics replace only the group's metrics with the same names.</summary>
    PushAdd,
}
