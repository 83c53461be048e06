namespace Metrics.Coordination.ZooKeeper;

/// <summary>The result of a create.</summary>
/// <param name="Path">The created node's path (with its sequence suffix, relative to the chroot).</param>
/// <param name="Stat">The new node's metadata.</param>
public readonly record struct CreateResult(string Path, Stat Stat);

/// <summary>A node's data and metadata.</summary>
/// <param name="Data">The data (empty when the node holds none; the server's null data also reads as empty).</param>
/// <param name="Stat">The metadata.</param>
public readonly record struct DataResult(byte[] Data, Stat Stat);

/// <summary>A node's children and its metadata.</summary>
/// <param name="Children">The children's names (not paths), in the server's (unspecified) order.</param>
/// <param name="Stat">The parent's metadata.</param>
public readonly record struct ChildrenResult(IReadOnlyList<string> Children, Stat Stat);

/// <summary>A node's ACL and metadata.</summary>
/// <param name="Acl">The ACL.</param>
/// <param name="Stat">The metadata (<see cref="Stat.Aversion"/> is the version <c>SetAclAsync</c> expects).</param>
public readonly record struct AclResult(IReadOnlyList<Acl> Acl, Stat Stat);
