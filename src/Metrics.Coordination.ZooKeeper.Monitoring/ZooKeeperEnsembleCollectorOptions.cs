using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.ZooKeeper.Monitoring;

/// <summary>Settings of a <see cref="ZooKeeperEnsembleCollector"/>.</summary>
public sealed class ZooKeeperEnsembleCollectorOptions
{
    /// <summary>The servers to poll, each <c>host:port</c> (the client port); also the value of the <c>server</c> label. Required, at least one.</summary>
    public IList<string> Servers { get; init; } = [];

    /// <summary>How often every server is polled. Default: 15 s (a typical scrape interval). At least 100 ms.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long one four-letter word may take (connect, send, read to the end). Default: 5 s. Must be positive.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Where logs go. Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>The clock for the poll timer. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
