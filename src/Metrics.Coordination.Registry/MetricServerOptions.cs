using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Registry;

/// <summary>Options of a <see cref="MetricServer"/>. Validated and copied when the server is constructed.</summary>
public sealed class MetricServerOptions
{
    /// <summary>
    /// The address to listen on: an IP literal (<c>127.0.0.1</c>, <c>::1</c>, <c>0.0.0.0</c>, <c>::</c>) or a host
    /// name resolved once at start (<c>localhost</c> is the IPv4 loopback). Default: <c>127.0.0.1</c>, so metrics are
    /// reachable from this machine only until you choose otherwise.
    /// </summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The TCP port; 0 lets the operating system pick a free one (read it from <see cref="MetricServer.Url"/> after start). Default: 0.</summary>
    public int Port { get; set; }

    /// <summary>The path that serves metrics; every other path answers 404. Default: <c>/metrics</c>.</summary>
    public string Path { get; set; } = "/metrics";

    /// <summary>Whether responses are gzip-compressed when the request's <c>Accept-Encoding</c> allows it. Default: true.</summary>
    public bool EnableCompression { get; set; } = true;

    /// <summary>Where serving errors and the listening address are logged. Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;
}
