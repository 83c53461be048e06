using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>How a <see cref="ZooKeeperShardGroup"/> assigns keys to its live members.</summary>
public enum ShardAssignmentStrategy
{
    /// <summary>
    /// Rendezvous (highest-random-weight) hashing over the member ids: when a member leaves, only its keys move (each to
    /// the member scoring next highest); when one joins, about 1/(N+1) of the keys move, all to it. The default.
    /// </summary>
    Rendezvous = 0,

    /// <summary>
    /// Prometheus-compatible: member ids in ordinal order, a key belongs to the member at index
    /// <c>hashmod(key, N)</c> — MD5 of the key, its last 8 bytes big-endian, modulo the member count — the value
    /// Prometheus's relabel <c>hashmod</c> (<c>modulus: N</c>) computes for a target whose source labels join to the
    /// key. Any membership change moves about (N-1)/N of the keys.
    /// </summary>
    HashMod,
}

/// <summary>Settings of a <see cref="ZooKeeperShardGroup"/> (validated and copied when it is created).</summary>
public sealed class ShardGroupOptions
{
    /// <summary>The group node, e.g. <c>/sharding/scrapers</c>: members are its ephemeral children (created with container parents). Required.</summary>
    public string Path { get; set; } = string.Empty;

    /// <summary>
    /// This member's stable id (stored as its node's data, UTF-8), e.g. the replica's name. Keys are assigned by id,
    /// so a replica that re-joins with the same id (after a session expiry or a restart) gets the same keys back.
    /// Two live members with the same id: the older node counts, the newer one owns nothing (and logs a warning). Required.
    /// </summary>
    public string MemberId { get; set; } = string.Empty;

    /// <summary>How keys are assigned. Default: <see cref="ShardAssignmentStrategy.Rendezvous"/>.</summary>
    public ShardAssignmentStrategy Strategy { get; set; } = ShardAssignmentStrategy.Rendezvous;

    /// <summary>
    /// How long keys that came to this member from a member that is still running wait before this member owns them:
    /// after this member (re-)joins with a new node, and — for <see cref="ShardAssignmentStrategy.HashMod"/> — after
    /// any membership change. The previous owner stops as soon as it learns of the change (one watch notification and
    /// a re-list, milliseconds); the delay keeps the two from scraping the same target meanwhile. Keys whose owner
    /// left (its node is gone: it closed, or its session expired) are taken at once, so the delay never lengthens a
    /// takeover after a crash under rendezvous hashing. Losses always take effect at once. Default: 1 s. Zero disables.
    /// </summary>
    public TimeSpan HandoverDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Where the group logs (event IDs 4700–4719). Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>The clock for the hand-over delay and retries. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
