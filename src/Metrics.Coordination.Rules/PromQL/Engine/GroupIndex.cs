using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.PromQL;

/// <summary>
/// Maps series to aggregation groups by hashing the grouping labels in place, so that a series of an existing group
/// costs no allocation; a label set is built only for each new group.
/// </summary>
internal sealed class GroupIndex(IReadOnlyList<string> grouping, bool without, string[] nameLabels)
{
    private readonly Dictionary<ulong, List<int>> _byHash = [];

    public List<Labels> Keys { get; } = [];

    /// <summary>The group of <paramref name="metric"/>; <paramref name="removeName"/> treats the name labels as absent.</summary>
    public int Find(Labels metric, bool removeName)
    {
        var hash = 14695981039346656037UL;
        var n = 0;
        foreach (var l in metric.AsSpan())
        {
            if (!InKey(l.Name, removeName))
            {
                continue;
            }

            hash = (hash ^ (ulong)(uint)l.Name.GetHashCode(StringComparison.Ordinal)) * 1099511628211UL;
            hash = (hash ^ (ulong)(uint)l.Value.GetHashCode(StringComparison.Ordinal)) * 1099511628211UL;
            n++;
        }

        if (_byHash.TryGetValue(hash, out var candidates))
        {
            foreach (var c in candidates)
            {
                if (Matches(metric, removeName, Keys[c], n))
                {
                    return c;
                }
            }
        }
        else
        {
            candidates = [];
            _byHash.Add(hash, candidates);
        }

        var key = Build(metric, removeName, n);
        candidates.Add(Keys.Count);
        Keys.Add(key);
        return Keys.Count - 1;
    }

    private bool InKey(string name, bool removeName)
    {
        if ((removeName || without) && Array.IndexOf(nameLabels, name) >= 0)
        {
            return false;
        }

        var listed = false;
        for (var i = 0; i < grouping.Count; i++)
        {
            if (string.Equals(grouping[i], name, StringComparison.Ordinal))
            {
                listed = true;
                break;
            }
        }

        return without ? !listed : listed;
    }

    private bool Matches(Labels metric, bool removeName, Labels key, int n)
    {
        if (key.Count != n)
        {
            return false;
        }

        var k = 0;
        foreach (var l in metric.AsSpan())
        {
            if (!InKey(l.Name, removeName))
            {
                continue;
            }

            var kl = key[k++];
            if (!string.Equals(kl.Name, l.Name, StringComparison.Ordinal) || !string.Equals(kl.Value, l.Value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private Labels Build(Labels metric, bool removeName, int n)
    {
        if (n == metric.Count)
        {
            return metric;
        }

        var labels = new Label[n];
        var k = 0;
        foreach (var l in metric.AsSpan())
        {
            if (InKey(l.Name, removeName))
            {
                labels[k++] = l;
            }
        }

        return Labels.From(labels);
    }
}
