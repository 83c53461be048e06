using System.Collections;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace Metrics.Coordination.Abstractions;

/// <summary>
/// An immutable label set, sorted by name (ordinal), hashed once at construction.
/// The metric name, when present, is the label <c>__name__</c>. Label names are unique.
/// </summary>
public sealed class Labels : IEquatable<Labels>, IReadOnlyList<Label>
{
    /// <summary>The label name that carries the metric name.</summary>
    public const string MetricName = "__name__";

    /// <summary>The empty label set.</summary>
    public static readonly Labels Empty = new([]);

    private readonly Label[] _labels;

    /// <summary>Takes ownership of an array the caller has sorted and checked (unique, non-empty names).</summary>
    private Labels(Label[] sortedLabels)
    {
        _labels = sortedLabels;
        Hash = ComputeHash(sortedLabels);
    }

    /// <summary>A stable 64-bit hash (XXH3) of the names and values; equal sets have equal hashes across processes.</summary>
    public ulong Hash { get; }

    /// <summary>The number of labels, <c>__name__</c> included.</summary>
    public int Count => _labels.Length;

    /// <summary>The label at <paramref name="index"/> in name order.</summary>
    public Label this[int index] => _labels[index];

    /// <summary>The labels in name order.</summary>
    public ReadOnlySpan<Label> AsSpan() => _labels;

    /// <summary>The value of <c>__name__</c>, or the empty string.</summary>
    public string Name => Get(MetricName);

    /// <summary>Builds a label set from pairs, sorting them. Throws on duplicate or empty names.</summary>
    public static Labels From(params ReadOnlySpan<Label> labels)
    {
        if (labels.Length == 0)
        {
            return Empty;
        }

        var array = labels.ToArray();
        Array.Sort(array, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        for (var i = 0; i < array.Length; i++)
        {
            if (string.IsNullOrEmpty(array[i].Name))
            {
                throw new ArgumentException("A label name must not be empty.", nameof(labels));
            }

            ArgumentNullException.ThrowIfNull(array[i].Value, $"value of label '{array[i].Name}'");
            if (i > 0 && string.Equals(array[i - 1].Name, array[i].Name, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Duplicate label name '{array[i].Name}'.", nameof(labels));
            }
        }

        return new Labels(array);
    }

    /// <summary>Builds a label set from alternating name, value strings: <c>From("__name__", "up", "job", "x")</c>.</summary>
    public static Labels FromStrings(params ReadOnlySpan<string> nameValuePairs)
    {
        if (nameValuePairs.Length % 2 != 0)
        {
            throw new ArgumentException("Expected an even number of strings (name, value pairs).", nameof(nameValuePairs));
        }

        var labels = new Label[nameValuePairs.Length / 2];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = new Label(nameValuePairs[2 * i], nameValuePairs[(2 * i) + 1]);
        }

        return From(labels);
    }

    /// <summary>Wraps an array that the caller guarantees is sorted by name with unique, non-empty names. The array is owned afterwards.</summary>
    internal static Labels FromSortedUnchecked(Label[] sorted) => sorted.Length == 0 ? Empty : new Labels(sorted);

    /// <summary>The value of label <paramref name="name"/>, or the empty string when absent.</summary>
    public string Get(string name)
    {
        var i = IndexOf(name);
        return i < 0 ? string.Empty : _labels[i].Value;
    }

    /// <summary>Whether a label named <paramref name="name"/> is present.</summary>
    public bool Has(string name) => IndexOf(name) >= 0;

    private int IndexOf(string name)
    {
        // Label sets are small (typically under 10); a linear scan beats binary search here.
        var labels = _labels;
        for (var i = 0; i < labels.Length; i++)
        {
            if (string.Equals(labels[i].Name, name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Returns a copy with <paramref name="name"/> set to <paramref name="value"/> (removed when the value is empty).</summary>
    public Labels With(string name, string value)
    {
        var list = new List<Label>(_labels.Length + 1);
        foreach (var l in _labels)
        {
            if (!string.Equals(l.Name, name, StringComparison.Ordinal))
            {
                list.Add(l);
            }
        }

        if (value.Length > 0)
        {
            list.Add(new Label(name, value));
        }

        return From(CollectionsMarshal.AsSpan(list));
    }

    /// <summary>Returns a copy without the named labels.</summary>
    public Labels Without(params ReadOnlySpan<string> names)
    {
        var list = new List<Label>(_labels.Length);
        foreach (var l in _labels)
        {
            if (!names.Contains(l.Name))
            {
                list.Add(l);
            }
        }

        return list.Count == _labels.Length ? this : FromSortedUnchecked([.. list]);
    }

    /// <inheritdoc />
    public bool Equals(Labels? other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (other is null || other.Hash != Hash || other._labels.Length != _labels.Length)
        {
            return false;
        }

        for (var i = 0; i < _labels.Length; i++)
        {
            if (!string.Equals(_labels[i].Name, other._labels[i].Name, StringComparison.Ordinal) ||
                !string.Equals(_labels[i].Value, other._labels[i].Value, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Labels);

    /// <inheritdoc />
    public override int GetHashCode() => (int)Hash ^ (int)(Hash >> 32);

    /// <summary>Equality by content.</summary>
    public static bool operator ==(Labels? left, Labels? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Inequality by content.</summary>
    public static bool operator !=(Labels? left, Labels? right) => !(left == right);

    /// <summary>Formats as PromQL does: <c>name{a="x", b="y"}</c>, values escaped.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        var name = Name;
        if (name.Length > 0)
        {
            if (MetricNames.IsValidLegacyMetricName(name))
            {
                sb.Append(name);
            }
        }

        sb.Append('{');
        var first = true;
        if (name.Length > 0 && !MetricNames.IsValidLegacyMetricName(name))
        {
            AppendQuoted(sb, name);
            first = false;
        }

        foreach (var l in _labels)
        {
            if (l.Name == MetricName)
            {
                continue;
            }

            if (!first)
            {
                sb.Append(", ");
            }

            first = false;
            if (MetricNames.IsValidLegacyLabelName(l.Name))
            {
                sb.Append(l.Name);
            }
            else
            {
                AppendQuoted(sb, l.Name);
            }

            sb.Append('=');
            AppendQuoted(sb, l.Value);
        }

        sb.Append('}');
        return sb.ToString();
    }

    private static void AppendQuoted(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                default: sb.Append(c); break;
            }
        }

        sb.Append('"');
    }

    /// <inheritdoc />
    public IEnumerator<Label> GetEnumerator() => ((IEnumerable<Label>)_labels).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _labels.GetEnumerator();

    private static ulong ComputeHash(Label[] labels)
    {
        if (labels.Length == 0)
        {
            return 0;
        }

        // Hash the UTF-16 code units with a 0xFF separator that no valid UTF-16 string contains as a unit pair boundary
        // ambiguity (name and value lengths are mixed in too, so "a"+"bc" and "ab"+"c" differ).
        var hasher = new XxHash3();
        Span<byte> len = stackalloc byte[4];
        foreach (var l in labels)
        {
            BitConverter.TryWriteBytes(len, l.Name.Length);
            hasher.Append(len);
            hasher.Append(MemoryMarshal.AsBytes(l.Name.AsSpan()));
            BitConverter.TryWriteBytes(len, l.Value.Length);
            hasher.Append(len);
            hasher.Append(MemoryMarshal.AsBytes(l.Value.AsSpan()));
        }

        return hasher.GetCurrentHashAsUInt64();
    }
}
