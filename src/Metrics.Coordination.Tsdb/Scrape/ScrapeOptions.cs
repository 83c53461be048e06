using Metrics.Coordination.Abstractions.Relabeling;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Tsdb.Scrape;

/// <summary>
/// One scrape job, as a Prometheus <c>scrape_config</c>: where targets come from, how often and how they are
/// scraped, and how target and sample labels are rewritten. Defaults are Prometheus's.
/// </summary>
public sealed class ScrapeJobOptions
{
    /// <summary>The job name: the <c>job</c> label of every target unless relabeling changes it. Required, unique per manager.</summary>
    public required string JobName { get; init; }

    /// <summary>How often each target is scraped. Default: 1 minute (Prometheus's global default).</summary>
    public TimeSpan ScrapeInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a scrape may take; at most <see cref="ScrapeInterval"/>. Default: 10 s, or the interval when shorter.</summary>
    public TimeSpan? ScrapeTimeout { get; init; }

    /// <summary>The HTTP path scraped. Default: <c>/metrics</c>.</summary>
    public string MetricsPath { get; init; } = "/metrics";

    /// <summary>The URL scheme, <c>http</c> or <c>https</c>. Default: <c>http</c>.</summary>
    public string Scheme { get; init; } = "http";

    /// <summary>URL query parameters sent with each scrape (<c>params</c>); each becomes a <c>__param_&lt;name&gt;</c> target label before relabeling.</summary>
    public IReadOnlyDictionary<string, string> Params { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// <c>honor_labels</c>: when a scraped sample has a label that is also a target label, keep the scraped value
    /// (true) or keep the target's and rename the scraped one to <c>exported_&lt;name&gt;</c> (false, the default).
    /// </summary>
    public bool HonorLabels { get; init; }

    /// <summary><c>honor_timestamps</c>: use timestamps the target exposes (true, the default) or the scrape time.</summary>
    public bool HonorTimestamps { get; init; } = true;

    /// <summary><c>relabel_configs</c>: applied to each target's labels before scraping; a target relabeled to nothing is dropped.</summary>
    public IReadOnlyList<RelabelConfig> RelabelConfigs { get; init; } = [];

    /// <summary><c>metric_relabel_configs</c>: applied to each scraped sample's labels (target labels included) before storage.</summary>
    public IReadOnlyList<RelabelConfig> MetricRelabelConfigs { get; init; } = [];

    /// <summary><c>sample_limit</c>: more samples than this after relabeling fails the scrape. 0: no limit (the default).</summary>
    public int SampleLimit { get; init; }

    /// <summary><c>label_limit</c>: more labels on a sample (name included) fails the scrape. 0: no limit.</summary>
    public int LabelLimit { get; init; }

    /// <summary><c>label_name_length_limit</c>: a longer label name fails the scrape. 0: no limit.</summary>
    public int LabelNameLengthLimit { get; init; }

    /// <summary><c>label_value_length_limit</c>: a longer label value fails the scrape. 0: no limit.</summary>
    public int LabelValueLengthLimit { get; init; }

    /// <summary><c>body_size_limit</c> in bytes (uncompressed): a larger response fails the scrape. 0: no limit.</summary>
    public long BodySizeLimit { get; init; }

    /// <summary>Static targets (<c>static_configs</c>): groups of <c>host:port</c> addresses with shared labels.</summary>
    public IReadOnlyList<ScrapeTargetGroup> StaticTargets { get; init; } = [];

    /// <summary>A source of targets that changes over time (service discovery, sharding), used together with <see cref="StaticTargets"/>.</summary>
    public IScrapeTargetProvider? TargetProvider { get; init; }

    internal TimeSpan EffectiveTimeout => ScrapeTimeout ?? (ScrapeInterval < TimeSpan.FromSeconds(10) ? ScrapeInterval : TimeSpan.FromSeconds(10));

    internal void Validate()
    {
        if (string.IsNullOrEmpty(JobName))
        {
            throw new ArgumentException("A scrape job needs a JobName.", nameof(JobName));
        }

        if (ScrapeInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ScrapeInterval), ScrapeInterval, $"Job '{JobName}': the scrape interval must be positive.");
        }

        if (EffectiveTimeout <= TimeSpan.Zero || EffectiveTimeout > ScrapeInterval)
        {
            throw new ArgumentOutOfRangeException(nameof(ScrapeTimeout), EffectiveTimeout, $"Job '{JobName}': scrape timeout greater than scrape interval (or not positive).");
        }

        if (Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"Job '{JobName}': unsupported scheme \"{Scheme}\" (http or https).", nameof(Scheme));
        }

        if (string.IsNullOrEmpty(MetricsPath) || MetricsPath[0] != '/')
        {
            throw new ArgumentException($"Job '{JobName}': the metrics path must start with '/'.", nameof(MetricsPath));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(SampleLimit);
        ArgumentOutOfRangeException.ThrowIfNegative(LabelLimit);
        ArgumentOutOfRangeException.ThrowIfNegative(LabelNameLengthLimit);
        ArgumentOutOfRangeException.ThrowIfNegative(LabelValueLengthLimit);
        ArgumentOutOfRangeException.ThrowIfNegative(BodySizeLimit);
    }
}

/// <summary>A group of targets sharing labels, as in a Prometheus <c>static_config</c> or a discovery result.</summary>
public sealed class ScrapeTargetGroup
{
    /// <summary>Addresses as <c>host:port</c> (each becomes the target's <c>__address__</c>).</summary>
    public IReadOnlyList<string> Targets { get; init; } = [];

    /// <summary>Labels added to every target of the group (<c>__meta_*</c> labels are visible to relabeling only).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>Optional per-target extra labels, by address (discovery metadata such as <c>__meta_serverset_shard</c>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? TargetLabels { get; init; }
}

/// <summary>Settings of a <see cref="ScrapeManager"/>.</summary>
public sealed class ScrapeManagerOptions
{
    /// <summary>The jobs. Job names must be unique.</summary>
    public IReadOnlyList<ScrapeJobOptions> Jobs { get; init; } = [];

    /// <summary>Clock for schedules and timestamps. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logging. Default: none.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>
    /// Mixed into each target's schedule offset (Prometheus seeds it with the external labels and host name), so
    /// replicas scraping the same targets spread their scrapes. Default: 0.
    /// </summary>
    public ulong OffsetSeed { get; init; }

    /// <summary>
    /// Scrape-timestamp snapping: a scrape that ran within this distance of its scheduled time (early or late) is
    /// stored at the scheduled time, so a target's timestamps stay exactly one interval apart and each costs 1 bit in
    /// the chunk instead of 16 or more. Default: 2 ms, Prometheus's <c>--scrape.timestamp-tolerance</c> default.
    /// Capped at 1 % of each job's scrape interval (Prometheus instead turns snapping off for intervals up to 100 ×
    /// the tolerance); whole milliseconds; zero disables; negative is refused. A larger tolerance (e.g. 5–10 ms) also
    /// snaps scrapes delayed by a busy host (see benchmarks/README.md, "scrape-timestamp snapping", for bytes per
    /// sample on a ±5 ms jittered workload); stored timestamps then differ from the real scrape time by up to it.
    /// </summary>
    public TimeSpan TimestampTolerance { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// The HTTP handler scrapes go through; null builds a <see cref="SocketsHttpHandler"/> with gzip decompression.
    /// The manager does not dispose a handler it was given.
    /// </summary>
    public HttpMessageHandler? HttpMessageHandler { get; init; }

    /// <summary>
    /// Whether stopping the manager writes staleness markers for every series of every target. Default: false, as
    /// Prometheus (a restarted process continues its series); removing a target always writes them.
    /// </summary>
    public bool StalenessMarkersOnStop { get; init; }
}
