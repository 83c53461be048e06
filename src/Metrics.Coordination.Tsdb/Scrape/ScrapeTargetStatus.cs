using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Tsdb.Scrape;

/// <summary>A target's health, as Prometheus's targets page shows it.</summary>
public enum ScrapeHealth
{
    /// <summary>Not scraped yet.</summary>
    Unknown,

    /// <summary>The last scrape succeeded.</summary>
    Up,

    /// <summary>The last scrape failed.</summary>
    Down,
}

/// <summary>A snapshot of one target's state (what <c>/api/v1/targets</c> reports).</summary>
public sealed record ScrapeTargetStatus
{
    /// <summary>The job.</summary>
    public required string Job { get; init; }

    /// <summary>The URL scraped.</summary>
    public required Uri Url { get; init; }

    /// <summary>The target labels (stored with every sample).</summary>
    public required Labels Labels { get; init; }

    /// <summary>The labels before target relabeling.</summary>
    public required Labels DiscoveredLabels { get; init; }

    /// <summary>The health after the last scrape.</summary>
    public ScrapeHealth Health { get; init; }

    /// <summary>The last scrape's error, or empty.</summary>
    public string LastError { get; init; } = string.Empty;

    /// <summary>When the last scrape started (its samples' timestamp), or null.</summary>
    public DateTimeOffset? LastScrape { get; init; }

    /// <summary>How long the last scrape took.</summary>
    public TimeSpan LastScrapeDuration { get; init; }

    /// <summary>Samples in the last scrape's body.</summary>
    public int LastSamplesScraped { get; init; }

    /// <summary>Scrapes so far.</summary>
    public long Scrapes { get; init; }

    /// <summary>Failed scrapes so far (HTTP errors, timeouts, parse errors, limits).</summary>
    public long FailedScrapes { get; init; }

    /// <summary>Scrapes that failed on malformed exposition text so far.</summary>
    public long ParseErrors { get; init; }

    /// <summary>Samples the storage refused so far (out of order, duplicate timestamp, out of bounds).</summary>
    public long RefusedSamples { get; init; }
}
