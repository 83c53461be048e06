using Metrics.Coordination.ZooKeeper.Recipes.Internal;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>
/// A distributed read/write lock compatible with Curator's <c>InterProcessReadWriteLock</c>: readers and writers queue
/// under one path as protected ephemeral-sequential nodes <c>_c_&lt;uuid&gt;-__READ__&lt;seq&gt;</c> and
/// <c>_c_&lt;uuid&gt;-__WRIT__&lt;seq&gt;</c>, ordered by sequence. A writer holds the lock when it is first in the
/// queue and watches the node just before it; a reader holds it when no writer is ahead of it, and otherwise watches
/// only the nearest writer ahead of it (readers never wake for other readers). Many readers may hold it together.
/// </summary>
/// <remarks>Ownership, reentrancy, timeouts, cancellation and loss are as for <see cref="InterProcessMutex"/> (per
/// handle). A write holder does not implicitly hold the read side (no downgrade).</remarks>
public sealed class InterProcessReadWriteLock
{
    /// <summary>Curator's read node name.</summary>
    internal const string ReadName = "__READ__";

    /// <summary>Curator's write node name.</summary>
    internal const string WriteName = "__WRIT__";

    /// <summary>A read/write lock on <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">The path is invalid.</exception>
    public InterProcessReadWriteLock(RecoveringZooKeeperClient client, string path, InterProcessLockOptions? options = null)
    {
        ReadLock = new InterProcessMutex(client, path, ReadName, Sort, ReaderDecision, options);
        WriteLock = new InterProcessMutex(client, path, WriteName, Sort, InterProcessMutex.StandardDecision, options);
        Path = path;
    }

    /// <summary>The lock path.</summary>
    public string Path { get; }

    /// <summary>The shared side: many holders at once, none while a writer is ahead.</summary>
    public InterProcessMutex ReadLock { get; }

    /// <summary>The exclusive side.</summary>
    public InterProcessMutex WriteLock { get; }

    /// <summary>Curator's sort key for both kinds: the sequence after the last <c>__READ__</c>, then after <c>__WRIT__</c>.</summary>
    internal static string SortKey(string name) => ContenderNames.SortKey(ContenderNames.SortKey(name, ReadName), WriteName);

    internal static List<string> Sort(IEnumerable<string> children)
    {
        var list = children.Select(c => (Key: SortKey(c), Name: c)).ToList();
        list.Sort(static (a, b) =>
        {
            var byKey = string.CompareOrdinal(a.Key, b.Key);
            return byKey != 0 ? byKey : string.CompareOrdinal(a.Name, b.Name);
        });
        return list.ConvertAll(static x => x.Name);
    }

    /// <summary>A reader gets the lock when no writer precedes it; otherwise it watches the nearest preceding writer.</summary>
    internal static (bool Acquired, string? Watch) ReaderDecision(IReadOnlyList<string> sorted, string ourName)
    {
        string? nearestWriter = null;
        foreach (var name in sorted)
        {
            if (string.Equals(name, ourName, StringComparison.Ordinal))
            {
                return nearestWriter is null ? (true, null) : (false, nearestWriter);
            }

            if (name.Contains(WriteName, StringComparison.Ordinal))
            {
                nearestWriter = name;
            }
        }

        throw new NoNodeException(ourName);
    }
}
