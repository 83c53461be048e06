namespace Metrics.Coordination.ZooKeeper;

/// <summary>
/// A node's metadata, as the server reports it (68 bytes on the wire). Times are milliseconds since the Unix epoch.
/// The server masks the container/TTL markers, so a container or TTL node shows <see cref="EphemeralOwner"/> 0.
/// </summary>
/// <param name="Czxid">The zxid of the create.</param>
/// <param name="Mzxid">The zxid of the last data change.</param>
/// <param name="Ctime">Creation time (ms since the epoch).</param>
/// <param name="Mtime">Last modification time (ms since the epoch).</param>
/// <param name="Version">The data version.</param>
/// <param name="Cversion">The children version (counts child creates and deletes).</param>
/// <param name="Aversion">The ACL version.</param>
/// <param name="EphemeralOwner">The owning session id of an ephemeral node, else 0.</param>
/// <param name="DataLength">The data length in bytes.</param>
/// <param name="NumChildren">The number of children.</param>
/// <param name="Pzxid">The zxid of the last child change.</param>
public readonly record struct Stat(
    long Czxid,
    long Mzxid,
    long Ctime,
    long Mtime,
    int Version,
    int Cversion,
    int Aversion,
    long EphemeralOwner,
    int DataLength,
    int NumChildren,
    long Pzxid)
{
    /// <summary>The encoded size of a Stat.</summary>
    internal const int Size = 68;
}
