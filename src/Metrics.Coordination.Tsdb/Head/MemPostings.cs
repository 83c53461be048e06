using System.Runtime.InteropServices;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Tsdb.Index;

namespace Metrics.Coordination.Tsdb.Head;

/// <summary>
/// The head's inverted index: label name → value → sorted list of series references, plus the list of all series.
/// Writers (series creation and garbage collection) take the write lock; queries take the read lock and copy the lists
/// they need, so a query's postings are a consistent snapshot.
/// </summary>
/// <remarks>
/// The index is also the head's symbol table: its keys are the one instance of each label name and value that every
/// series' labels share (<see cref="Intern"/>), so a string lives exactly as long as some series uses it (no separate
/// table that churned-away pods and instances would grow forever). Memory per series matters here (issue 5: ≤ 1 KiB
/// per active series, index included): a list holding one series (a unique instance or pod value) keeps the reference
/// inline with no array, and lists grow by half rather than double.
/// </remarks>
internal sealed class MemPostings : IPostingsSource
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<string, ValueMap> _byName = new(StringComparer.Ordinal);
    private readonly RefList _all = new(string.Empty);

    /// <summary>
    /// <paramref name="labels"/> with the index's instances of names and values it already holds, without empty-valued
    /// labels (an empty value means "absent", as in Prometheus, so <c>{a=""}</c> and <c>{}</c> are the same series).
    /// Strings the index does not hold yet stay the caller's and become the index's when the series is added.
    /// </summary>
    public Labels Intern(Labels labels)
    {
        var span = labels.AsSpan();
        var copy = new Label[span.Length];
        var n = 0;
        _lock.EnterReadLock();
        try
        {
            foreach (var l in span)
            {
                if (l.Value.Length == 0)
                {
                    continue;
                }

                if (_byName.TryGetValue(l.Name, out var values))
                {
                    copy[n++] = new Label(values.Name, values.TryGetValue(l.Value, out var list) ? list.Value : l.Value);
                }
                else
                {
                    copy[n++] = l;
                }
            }
        }
        finally
        {
            _lock.ExitReadLock();
        }

        return n == span.Length ? Labels.From(copy) : Labels.From(copy.AsSpan(0, n));
    }

    /// <summary>Indexes series <paramref name="seriesRef"/> under each of its labels.</summary>
    public void Add(ulong seriesRef, Labels labels)
    {
        _lock.EnterWriteLock();
        try
        {
            _all.Add(seriesRef);
            foreach (var label in labels.AsSpan())
            {
                if (!_byName.TryGetValue(label.Name, out var values))
                {
                    values = new ValueMap(label.Name);
                    _byName.Add(label.Name, values);
                }

                if (!values.TryGetValue(label.Value, out var list))
                {
                    list = new RefList(label.Value);
                    values.Add(label.Value, list);
                }

                list.Add(seriesRef);
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Removes series (garbage collected from the head) from every list; empty lists and names go too.</summary>
    public void Delete(IReadOnlyDictionary<ulong, Labels> deleted)
    {
        if (deleted.Count == 0)
        {
            return;
        }

        _lock.EnterWriteLock();
        try
        {
            _all.RemoveAll(deleted);
            var touched = new HashSet<(string, string)>();
            foreach (var labels in deleted.Values)
            {
                foreach (var label in labels.AsSpan())
                {
                    touched.Add((label.Name, label.Value));
                }
            }

            foreach (var (name, value) in touched)
            {
                if (_byName.TryGetValue(name, out var values) && values.TryGetValue(value, out var list))
                {
                    list.RemoveAll(deleted);
                    if (list.Count == 0)
                    {
                        values.Remove(value);
                        if (values.Count == 0)
                        {
                            _byName.Remove(name);
                        }
                    }
                }
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <inheritdoc />
    public ulong[] AllPostings()
    {
        _lock.EnterReadLock();
        try
        {
            return _all.ToArray();
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <inheritdoc />
    public ulong[] Postings(string name, string value)
    {
        _lock.EnterReadLock();
        try
        {
            return _byName.TryGetValue(name, out var values) && values.TryGetValue(value, out var list) ? list.ToArray() : [];
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<string> LabelValues(string name)
    {
        string[] result;
        _lock.EnterReadLock();
        try
        {
            result = _byName.TryGetValue(name, out var values) ? [.. values.Keys] : [];
        }
        finally
        {
            _lock.ExitReadLock();
        }

        Array.Sort(result, Utf8Order.Instance);
        return result;
    }

    /// <summary>Every label name in use, sorted.</summary>
    public IReadOnlyList<string> LabelNames()
    {
        string[] result;
        _lock.EnterReadLock();
        try
        {
            result = [.. _byName.Keys];
        }
        finally
        {
            _lock.ExitReadLock();
        }

        Array.Sort(result, Utf8Order.Instance);
        return result;
    }

    /// <summary>One label name's values; the map keeps the name's shared instance.</summary>
    private sealed class ValueMap(string name) : Dictionary<string, RefList>(StringComparer.Ordinal)
    {
        public string Name { get; } = name;
    }

    /// <summary>
    /// A growable sorted list of references; appends are nearly always in order (references increase). One reference
    /// is kept inline (no array: many values, such as an instance or pod, belong to few series); an array from the
    /// second on, grown by half. Also keeps the label value's shared instance.
    /// </summary>
    private sealed class RefList(string value)
    {
        private ulong[]? _items;
        private ulong _single;

        public string Value { get; } = value;

        public int Count { get; private set; }

        private Span<ulong> Items => _items is null ? MemoryMarshal.CreateSpan(ref _single, Count) : _items.AsSpan(0, Count);

        public void Add(ulong value)
        {
            if (_items is null)
            {
                if (Count == 0)
                {
                    _single = value;
                    Count = 1;
                    return;
                }

                _items = new ulong[4];
                _items[0] = _single;
            }
            else if (Count == _items.Length)
            {
                Array.Resize(ref _items, _items.Length + (_items.Length / 2));
            }

            // Series created concurrently can arrive slightly out of order: insertion step from the end.
            var items = _items;
            var i = Count;
            while (i > 0 && items[i - 1] > value)
            {
                items[i] = items[i - 1];
                i--;
            }

            items[i] = value;
            Count++;
        }

        public void RemoveAll(IReadOnlyDictionary<ulong, Labels> deleted)
        {
            var items = Items;
            var n = 0;
            for (var i = 0; i < items.Length; i++)
            {
                if (!deleted.ContainsKey(items[i]))
                {
                    items[n++] = items[i];
                }
            }

            Count = n;
            if (_items is not null && n <= _items.Length / 4)
            {
                // Give back what a shrunken list no longer needs (series churn).
                if (n <= 1)
                {
                    _single = n == 1 ? _items[0] : 0;
                    _items = null;
                }
                else
                {
                    Array.Resize(ref _items, Math.Max(4, n + (n / 2)));
                }
            }
        }

        public ulong[] ToArray() => Items.ToArray();
    }
}
