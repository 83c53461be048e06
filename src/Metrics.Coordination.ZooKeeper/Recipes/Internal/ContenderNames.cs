using System.Globalization;

namespace Metrics.Coordination.ZooKeeper.Recipes.Internal;

/// <summary>
/// Curator-compatible names of contender nodes (election and lock queues). A protected node is named
/// <c>_c_&lt;uuid&gt;-&lt;lockName&gt;&lt;10-digit sequence&gt;</c>, e.g. <c>_c_7c0c8f3e-…-latch-0000000003</c>: the
/// random UUID lets a client find its own node again after a connection loss during the create; the sequence
/// (appended by the server) orders the queue. Any implementation contending on the same parent must order children
/// exactly like Curator does (<see cref="SortKey"/>), or two of them could disagree about who is first.
/// </summary>
internal static class ContenderNames
{
    /// <summary>Curator's protection marker, the start of every protected name.</summary>
    public const string ProtectedPrefix = "_c_";

    /// <summary>Curator's LeaderLatch node name: <c>latch-</c>.</summary>
    public const string LatchName = "latch-";

    /// <summary>Curator's InterProcessMutex (and LeaderSelector) node name: <c>lock-</c>.</summary>
    public const string LockName = "lock-";

    /// <summary>Length of <c>_c_</c> + a 36-character UUID + <c>-</c>.</summary>
    private const int ProtectedPrefixLength = 3 + 36 + 1;

    /// <summary>The node-name prefix for <paramref name="id"/>: <c>_c_&lt;uuid&gt;-</c> (lower-case, hyphenated, like Java's UUID.toString()).</summary>
    public static string ProtectionPrefix(Guid id) => ProtectedPrefix + id.ToString("D", CultureInfo.InvariantCulture) + "-";

    /// <summary>The path to create (the server appends the sequence): <c>parent/_c_&lt;uuid&gt;-&lt;lockName&gt;</c>.</summary>
    public static string ProtectedPath(string parentPath, Guid id, string lockName) =>
        JoinPath(parentPath, ProtectionPrefix(id) + lockName);

    /// <summary>Whether <paramref name="nodeName"/> is protected, and its UUID.</summary>
    public static bool TryGetProtectionId(string nodeName, out Guid id)
    {
        id = default;
        return nodeName.Length >= ProtectedPrefixLength
            && nodeName.StartsWith(ProtectedPrefix, StringComparison.Ordinal)
            && nodeName[ProtectedPrefixLength - 1] == '-'
            && Guid.TryParseExact(nodeName.AsSpan(3, 36), "D", out id);
    }

    /// <summary>The name without a valid protection prefix (Curator's <c>ZKPaths.fixForNamespace</c>-style display name).</summary>
    public static string StripProtection(string nodeName) =>
        TryGetProtectionId(nodeName, out _) ? nodeName[ProtectedPrefixLength..] : nodeName;

    /// <summary>
    /// Curator's sort key (<c>StandardLockInternalsDriver.fixForSorting</c>): the part after the last occurrence of
    /// <paramref name="lockName"/>, or the whole name when it does not occur (foreign children are not ignored by
    /// Curator, so they are not ignored here either). Keys are compared ordinally, like Java's <c>String.compareTo</c>.
    /// </summary>
    public static string SortKey(string nodeName, string lockName)
    {
        var index = nodeName.LastIndexOf(lockName, StringComparison.Ordinal);
        return index >= 0 ? nodeName[(index + lockName.Length)..] : nodeName;
    }

    /// <summary>
    /// The children in queue order (Curator's rule, see <see cref="SortKey"/>); ties (only possible between foreign
    /// names) fall back to the full name so every client sees the same order.
    /// </summary>
    public static List<string> Sort(IEnumerable<string> children, string lockName)
    {
        var list = children.Select(c => (Key: SortKey(c, lockName), Name: c)).ToList();
        list.Sort(static (a, b) =>
        {
            var byKey = string.CompareOrdinal(a.Key, b.Key);
            return byKey != 0 ? byKey : string.CompareOrdinal(a.Name, b.Name);
        });
        return list.ConvertAll(static x => x.Name);
    }

    /// <summary>
    /// Where <paramref name="ourName"/> stands in the <paramref name="sorted"/> queue: its index (-1 when absent) and
    /// the name just before it (null when first or absent). A contender watches only that predecessor.
    /// </summary>
    public static (int Index, string? Predecessor) FindPredecessor(IReadOnlyList<string> sorted, string ourName)
    {
        for (var i = 0; i < sorted.Count; i++)
        {
            if (string.Equals(sorted[i], ourName, StringComparison.Ordinal))
            {
                return (i, i == 0 ? null : sorted[i - 1]);
            }
        }

        return (-1, null);
    }

    /// <summary>The last segment of a path.</summary>
    public static string NodeName(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? path : path[(slash + 1)..];
    }

    /// <summary>The parent of a path (<c>/</c> for a top-level node).</summary>
    public static string ParentPath(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash <= 0 ? "/" : path[..slash];
    }

    /// <summary><paramref name="parent"/> + <c>/</c> + <paramref name="name"/>, without doubling the root slash.</summary>
    public static string JoinPath(string parent, string name) => parent == "/" ? "/" + name : parent + "/" + name;
}
