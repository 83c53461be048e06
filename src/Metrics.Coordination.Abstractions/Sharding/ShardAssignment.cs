using Metrics.Coordination.Shared;

namespace Metrics.Coordination.Abstractions.Sharding;

/// <summary>
/// The assignment functions shard groups use (the ZooKeeper shard-group recipe computes exactly these): which of a list
/// of member ids owns a key.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="RendezvousOwner"/> (highest random weight): removing a member moves exactly the keys it owned; adding one
/// moves to the new member about 1/(N+1) of the keys and nothing between the others. The default for shard groups.
/// </para>
/// <para>
/// <see cref="HashModOwner"/>: Prometheus-compatible. With the member ids in ordinal order, the owner is the member at
/// index <c>hashmod(key, N)</c>, the value Prometheus's relabel action <c>hashmod</c> with <c>modulus: N</c> computes for
/// a target whose source labels join to the key (normally <c>__address__</c>). A fleet can thus mix our
/// replicas with Prometheus servers sharded by relabeling, but any change of N moves about (N-1)/N of the keys.
/// </para>
/// </remarks>
public static class ShardAssignment
{
    /// <summary>The index in <paramref name="members"/> of the member owning <paramref name="key"/> by rendezvous hashing, or -1 when the list is empty.</summary>
    /// <param name="key">The key (e.g. a target's <c>host:port</c>).</param>
    /// <param name="members">Distinct member ids; the result does not depend on their order except for exact score ties (then the first listed wins).</param>
    public static int RendezvousOwner(string key, IReadOnlyList<string> members)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(members);
        Span<ulong> hashes = members.Count <= 64 ? stackalloc ulong[members.Count] : new ulong[members.Count];
        for (var i = 0; i < members.Count; i++)
        {
            hashes[i] = ShardMath.Hash(members[i]);
        }

        return ShardMath.RendezvousOwner(key, hashes);
    }

    /// <summary>
    /// Prometheus's <c>hashmod</c> of <paramref name="key"/> modulo <paramref name="memberCount"/>: the index of the owner
    /// among the member ids sorted ordinally, or -1 when <paramref name="memberCount"/> is 0.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="memberCount"/> is negative.</exception>
    public static int HashModOwner(string key, int memberCount)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentOutOfRangeException.ThrowIfNegative(memberCount);
        return ShardMath.HashModOwner(key, memberCount);
    }
}

/// <summary>Builds <see cref="IShardOwnership"/> instances.</summary>
public static class ShardOwnership
{
    /// <summary>
    /// Adapts any ownership source to <see cref="IShardOwnership"/> — e.g. the ZooKeeper package's shard group, which
    /// depends on nothing else of ours and so cannot implement the interface itself:
    /// <c>ShardOwnership.Create(group.Owns, h =&gt; group.Changed += h, h =&gt; group.Changed -= h)</c>.
    /// </summary>
    /// <param name="owns">Answers <see cref="IShardOwnership.Owns"/>.</param>
    /// <param name="subscribe">Adds a handler to the source's change event.</param>
    /// <param name="unsubscribe">Removes a handler from the source's change event.</param>
    public static IShardOwnership Create(Func<string, bool> owns, Action<EventHandler> subscribe, Action<EventHandler> unsubscribe)
    {
        ArgumentNullException.ThrowIfNull(owns);
        ArgumentNullException.ThrowIfNull(subscribe);
        ArgumentNullException.ThrowIfNull(unsubscribe);
        return new DelegateOwnership(owns, subscribe, unsubscribe);
    }

    /// <summary>An ownership that owns every key and never changes (a single unsharded replica).</summary>
    public static IShardOwnership All { get; } = new DelegateOwnership(static _ => true, static _ => { }, static _ => { });

    private sealed class DelegateOwnership(Func<string, bool> owns, Action<EventHandler> subscribe, Action<EventHandler> unsubscribe) : IShardOwnership
    {
        public event EventHandler? Changed
        {
            add
            {
                if (value is not null)
                {
                    subscribe(value);
                }
            }

            remove
            {
                if (value is not null)
                {
                    unsubscribe(value);
                }
            }
        }

        public bool Owns(string key) => owns(key);
    }
}
