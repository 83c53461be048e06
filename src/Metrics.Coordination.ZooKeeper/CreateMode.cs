namespace Metrics.Coordination.ZooKeeper;

/// <summary>How a node is created (the <c>flags</c> of a create request).</summary>
public enum CreateMode
{
    /// <summary>A persistent node.</summary>
    Persistent = 0,

    /// <summary>Deleted when the creating session ends; cannot have children.</summary>
    Ephemeral = 1,

    /// <summary>A persistent node whose name gets a 10-digit suffix (the parent's child version).</summary>
    PersistentSequential = 2,

    /// <summary>An ephemeral node with a sequence suffix.</summary>
    EphemeralSequential = 3,

    /// <summary>A container: the server deletes it once it has had children and is empty again.</summary>
    Container = 4,

    /// <summary>A persistent node deleted when unmodified for its TTL and childless (needs <c>zookeeper.extendedTypesEnabled</c>).</summary>
    PersistentWithTtl = 5,

    /// <summary>A sequential node with a TTL.</summary>
    PersistentSequentialWithTtl = 6,
}

/// <summary>The mode of a persistent watch (<c>addWatch</c>).</summary>
public enum AddWatchMode
{
    /// <summary>Created, deleted, data changed and children changed events on exactly the path; not removed by firing.</summary>
    Persistent = 0,

    /// <summary>Created, deleted and data changed events on the path and every descendant (never children changed).</summary>
    PersistentRecursive = 1,
}

/// <summary>Which watches <c>RemoveWatchesAsync</c> removes.</summary>
public enum WatcherType
{
    /// <summary>Child watches (from getChildren).</summary>
    Children = 1,

    /// <summary>Data and exists watches.</summary>
    Data = 2,

    /// <summary>Any standard watch (data, exists, children).</summary>
    Any = 3,

    /// <summary>Persistent watches.</summary>
    Persistent = 4,

    /// <summary>Persistent recursive watches.</summary>
    PersistentRecursive = 5,
}
