namespace Metrics.Coordination.Abstractions.Sharding;

/// <summary>
/// Which keys (scrape target addresses, say) this process is responsible for right now, when a set of replicas splits
/// the work between them. Implemented by a group-membership recipe (the ZooKeeper package's <c>ZooKeeperShardGroup</c>,
/// adapted with <see cref="ShardOwnership.Create"/>); read by work distributors such as the TSDB's sharded target provider.
/// </summary>
/// <remarks>
/// An implementation answers <see langword="false"/> for every key while it cannot know the current membership (not
/// joined, connection suspended, session lost): a key may then go unowned for a while (a gap), but a replica that knows
/// it is alive never keeps a key another live replica has taken.
/// </remarks>
public interface IShardOwnership
{
    /// <summary>Raised after the answer of <see cref="Owns"/> may have changed for some key. May be raised from any thread.</summary>
    event EventHandler? Changed;

    /// <summary>Whether this process owns <paramref name="key"/> now.</summary>
    bool Owns(string key);
}
