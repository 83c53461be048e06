using System.Collections.Concurrent;
using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Tsdb.Index;

/// <summary>
/// Interns label names and values so that every series holding <c>job="api"</c> shares one string instance: the head
/// stores each distinct string once, however many series use it.
/// </summary>
internal sealed class SymbolTable
{
    private readonly ConcurrentDictionary<string, string> _strings = new(StringComparer.Ordinal);

    /// <summary>The number of distinct strings.</summary>
    public int Count => _strings.Count;

    /// <summary>The shared instance equal to <paramref name="s"/>.</summary>
    public string Intern(string s) => s.Length == 0 ? string.Empty : _strings.GetOrAdd(s, s);

    /// <summary>
    /// <paramref name="labels"/> with interned strings and without empty-valued labels (an empty value means "absent",
    /// as in Prometheus, so <c>{a=""}</c> and <c>{}</c> are the same series).
    /// </summary>
    public Labels Intern(Labels labels)
    {
        var span = labels.AsSpan();
        var copy = new Label[span.Length];
        var n = 0;
        foreach (var l in span)
        {
            if (l.Value.Length > 0)
            {
                copy[n++] = new Label(Intern(l.Name), Intern(l.Value));
            }
        }

        return Labels.From(copy.AsSpan(0, n));
    }
}
