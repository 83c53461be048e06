using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Tsdb.Index;

namespace Metrics.Coordination.Tsdb.Head;

/// <summary>
/// The head's inverted index: label name → value → sorted list of series references, plus the list of all series.
/// Writers (series creation and garbage collection) take the write lock; queries take the read lock and copy the lists
/// they need, so a query's postings are a consistent snapshot.
/// </summary>
internal sealed class MemPostings : IPostingsSource
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<string, Dictionary<string, RefList>> _byName = new(StringComparer.Ordinal);
    private readonly RefList _all = new();

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
                    values = new Dictionary<string, RefList>(StringComparer.Ordinal);
                    _byName.Add(label.Name, values);
                }

                if (!values.TryGetValue(label.Value, out var list))
                {
                    list = new RefList();
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

    /// <summary>A growable sorted list of references; appends are nearly always in order (references increase).</summary>
    private sealed class RefList
    {
        private ulong[] _items = new ulong[2];

        public int Count { get; private set; }

        public void Add(ulong value)
        {
            if (Count == _items.Length)
            {
                Array.Resize(ref _items, _items.Length * 2);
            }

            // Series created concurrently can arrive slightly out of order: insertion step from the end.
            var i = Count;
            while (i > 0 && _items[i - 1] > value)
            {
                _items[i] = _items[i - 1];
                i--;
            }

            _items[i] = value;
            Count++;
        }

        public void RemoveAll(IReadOnlyDictionary<ulong, Labels> deleted)
        {
            var n = 0;
            for (var i = 0; i < Count; i++)
            {
                if (!deleted.ContainsKey(_items[i]))
                {
                    _items[n++] = _items[i];
                }
            }

            Count = n;
        }

        public ulong[] ToArray() => _items.AsSpan(0, Count).ToArray();
    }
}
