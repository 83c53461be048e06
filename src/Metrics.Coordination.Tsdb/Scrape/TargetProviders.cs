namespace Metrics.Coordination.Tsdb.Scrape;

/// <summary>
/// A source of scrape targets that may change (ZooKeeper serverset discovery, target sharding across replicas).
/// The manager reads <see cref="GetTargetGroups"/> at start and again after each <see cref="Changed"/>, and
/// reconciles: new targets start scraping, removed ones stop with staleness markers, unchanged ones keep their loop.
/// </summary>
public interface IScrapeTargetProvider
{
    /// <summary>Raised after the target groups changed. May be raised from any thread.</summary>
    event EventHandler? Changed;

    /// <summary>The current target groups (a snapshot the manager does not modify).</summary>
    IReadOnlyList<ScrapeTargetGroup> GetTargetGroups();
}

/// <summary>A target provider whose groups are set by code (<see cref="Update"/>); thread-safe.</summary>
public sealed class StaticTargetProvider : IScrapeTargetProvider
{
    private volatile IReadOnlyList<ScrapeTargetGroup> _groups;

    /// <summary>Creates the provider with initial groups (none by default).</summary>
    public StaticTargetProvider(IEnumerable<ScrapeTargetGroup>? groups = null)
    {
        _groups = groups is null ? [] : [.. groups];
    }

    /// <inheritdoc />
    public event EventHandler? Changed;

    /// <inheritdoc />
    public IReadOnlyList<ScrapeTargetGroup> GetTargetGroups() => _groups;

    /// <summary>Replaces the groups and notifies the manager.</summary>
    public void Update(IEnumerable<ScrapeTargetGroup> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        _groups = [.. groups];
        Changed?.Invoke(this, EventArgs.Empty);
    }
}
