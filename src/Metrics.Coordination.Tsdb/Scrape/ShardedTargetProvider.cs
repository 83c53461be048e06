using Metrics.Coordination.Abstractions.Sharding;

namespace Metrics.Coordination.Tsdb.Scrape;

/// <summary>
/// Scrapes only this replica's share of the targets: wraps a target provider (or fixed groups) and keeps the targets
/// whose key (by default the address, i.e. <c>__address__</c> before relabeling) this replica owns according to an
/// <see cref="IShardOwnership"/> — e.g. a ZooKeeper shard group adapted with <see cref="ShardOwnership.Create"/>. Raises
/// <see cref="Changed"/> when the inner targets or the ownership change, so the scrape manager starts the targets that
/// came to this replica and stops (with staleness markers) those that left.
/// </summary>
/// <remarks>
/// The filtered set is computed when the scrape manager asks (<see cref="GetTargetGroups"/>), from the ownership's
/// answer at that moment; an ownership that drops every key on a suspension therefore stops every scrape loop on the
/// next reconcile.
/// </remarks>
public sealed class ShardedTargetProvider : IScrapeTargetProvider, IDisposable
{
    private readonly IScrapeTargetProvider _inner;
    private readonly IShardOwnership _ownership;
    private readonly Func<string, string> _key;
    private readonly EventHandler _onChange;
    private int _disposed;

    /// <summary>Filters <paramref name="inner"/>'s targets by <paramref name="ownership"/>.</summary>
    /// <param name="inner">Where the complete target list comes from (every replica sees the same list).</param>
    /// <param name="ownership">Which keys this replica owns.</param>
    /// <param name="keySelector">The key of a target address; default: the address itself (<c>host:port</c>), as
    /// Prometheus's <c>hashmod</c> sharding on <c>__address__</c> uses.</param>
    public ShardedTargetProvider(IScrapeTargetProvider inner, IShardOwnership ownership, Func<string, string>? keySelector = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(ownership);
        _inner = inner;
        _ownership = ownership;
        _key = keySelector ?? (static address => address);
        _onChange = (_, _) => Changed?.Invoke(this, EventArgs.Empty);
        _inner.Changed += _onChange;
        _ownership.Changed += _onChange;
    }

    /// <summary>Filters fixed target groups by <paramref name="ownership"/>.</summary>
    public ShardedTargetProvider(IEnumerable<ScrapeTargetGroup> groups, IShardOwnership ownership, Func<string, string>? keySelector = null)
        : this(new StaticTargetProvider(groups ?? throw new ArgumentNullException(nameof(groups))), ownership, keySelector)
    {
    }

    /// <inheritdoc />
    public event EventHandler? Changed;

    /// <summary>The inner groups, each with only the targets this replica owns now (groups left empty are omitted).</summary>
    public IReadOnlyList<ScrapeTargetGroup> GetTargetGroups()
    {
        var result = new List<ScrapeTargetGroup>();
        foreach (var group in _inner.GetTargetGroups())
        {
            var owned = group.Targets.Where(t => _ownership.Owns(_key(t))).ToList();
            if (owned.Count == 0)
            {
                continue;
            }

            if (owned.Count == group.Targets.Count)
            {
                result.Add(group);
                continue;
            }

            result.Add(new ScrapeTargetGroup
            {
                Targets = owned,
                Labels = group.Labels,
                TargetLabels = group.TargetLabels,
            });
        }

        return result;
    }

    /// <summary>Stops listening to the inner provider and the ownership.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _inner.Changed -= _onChange;
            _ownership.Changed -= _onChange;
        }
    }
}
