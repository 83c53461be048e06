namespace Metrics.Coordination.ZooKeeper;

/// <summary>The watch paths to re-register after a reconnect (client paths; the writer prepends the chroot).</summary>
internal sealed record WatchSnapshot(
    IReadOnlyList<string> Data,
    IReadOnlyList<string> Exist,
    IReadOnlyList<string> Child,
    IReadOnlyList<string> Persistent,
    IReadOnlyList<string> PersistentRecursive)
{
    public int Count => Data.Count + Exist.Count + Child.Count + Persistent.Count + PersistentRecursive.Count;
}

/// <summary>
/// Client-side watch registrations by client path (<c>ZKWatchManager</c>): one-shot data, exist and child watches
/// are removed when they fire; persistent and persistent-recursive ones stay. Used by the read loop (register on a
/// successful reply, materialize on a notification) and the session (snapshots for SetWatches2, None events).
/// </summary>
internal sealed class WatchManager
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, HashSet<Action<WatchedEvent>>> _data = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Action<WatchedEvent>>> _exist = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Action<WatchedEvent>>> _child = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Action<WatchedEvent>>> _persistent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Action<WatchedEvent>>> _recursive = new(StringComparer.Ordinal);

    /// <summary>The number of (path, watcher) registrations.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return Sum(_data) + Sum(_exist) + Sum(_child) + Sum(_persistent) + Sum(_recursive);
            }
        }
    }

    public void Add(WatchRegistration kind, string path, Action<WatchedEvent> watcher, bool exists = true)
    {
        lock (_lock)
        {
            var map = kind switch
            {
                WatchRegistration.Data => exists ? _data : _exist,
                WatchRegistration.Child => _child,
                WatchRegistration.Persistent => _persistent,
                WatchRegistration.PersistentRecursive => _recursive,
                _ => throw new ArgumentOutOfRangeException(nameof(kind)),
            };
            if (!map.TryGetValue(path, out var set))
            {
                set = [];
                map[path] = set;
            }

            set.Add(watcher);
        }
    }

    /// <summary>The watchers a server notification triggers, removing the one-shot ones (<c>ZKWatchManager.materialize</c>).</summary>
    public List<Action<WatchedEvent>>? Materialize(EventType type, string path)
    {
        List<Action<WatchedEvent>>? result = null;
        lock (_lock)
        {
            switch (type)
            {
                case EventType.NodeCreated:
                case EventType.NodeDataChanged:
                    Take(_data, path, ref result);
                    Take(_exist, path, ref result);
                    break;
                case EventType.NodeChildrenChanged:
                    Take(_child, path, ref result);
                    break;
                case EventType.NodeDeleted:
                    Take(_data, path, ref result);
                    Take(_exist, path, ref result);
                    Take(_child, path, ref result);
                    break;
                default:
                    break;
            }

            if (_persistent.TryGetValue(path, out var persistent))
            {
                AddAll(persistent, ref result);
            }

            // Recursive watches see every change below them, but never NodeChildrenChanged.
            if (_recursive.Count > 0 && type != EventType.NodeChildrenChanged)
            {
                var lookup = _recursive.GetAlternateLookup<ReadOnlySpan<char>>();
                var span = path.AsSpan();
                while (true)
                {
                    if (lookup.TryGetValue(span, out var set))
                    {
                        AddAll(set, ref result);
                    }

                    if (span.Length <= 1)
                    {
                        break;
                    }

                    var slash = span.LastIndexOf('/');
                    span = slash == 0 ? "/" : span[..slash];
                }
            }
        }

        return result;
    }

    /// <summary>Every distinct watcher (for None events); with <paramref name="clear"/>, forgets them all (expiry, close).</summary>
    public List<Action<WatchedEvent>> All(bool clear)
    {
        var result = new HashSet<Action<WatchedEvent>>();
        lock (_lock)
        {
            foreach (var map in Maps())
            {
                foreach (var set in map.Values)
                {
                    result.UnionWith(set);
                }

                if (clear)
                {
                    map.Clear();
                }
            }
        }

        return [.. result];
    }

    public WatchSnapshot Snapshot()
    {
        lock (_lock)
        {
            return new WatchSnapshot([.. _data.Keys], [.. _exist.Keys], [.. _child.Keys], [.. _persistent.Keys], [.. _recursive.Keys]);
        }
    }

    /// <summary>
    /// Removes watches of <paramref name="type"/> on <paramref name="path"/> (only <paramref name="watcher"/>'s, or all).
    /// Returns the removed (watcher, event type) pairs, or null when nothing matched. <paramref name="serverType"/> is the
    /// removeWatches type to send to the server, or null when the server-side watch must stay because client watches
    /// still need it: the server keeps one registration per connection and path, shared by standard and persistent
    /// watches, and 3.8 knows only types 1 (children), 2 (data) and 3 (any) — so persistent ones go with 3.
    /// </summary>
    public List<(Action<WatchedEvent> Watcher, EventType Event)>? Remove(string path, WatcherType type, Action<WatchedEvent>? watcher, out int? serverType)
    {
        List<(Action<WatchedEvent>, EventType)>? removed = null;
        lock (_lock)
        {
            var dataLike = type is WatcherType.Data or WatcherType.Any;
            var childLike = type is WatcherType.Children or WatcherType.Any;
            if (dataLike)
            {
                RemoveFrom(_data, path, watcher, EventType.DataWatchRemoved, ref removed);
                RemoveFrom(_exist, path, watcher, EventType.DataWatchRemoved, ref removed);
            }

            if (childLike)
            {
                RemoveFrom(_child, path, watcher, EventType.ChildWatchRemoved, ref removed);
            }

            if (type == WatcherType.Persistent)
            {
                RemoveFrom(_persistent, path, watcher, EventType.PersistentWatchRemoved, ref removed);
            }

            if (type == WatcherType.PersistentRecursive)
            {
                RemoveFrom(_recursive, path, watcher, EventType.PersistentWatchRemoved, ref removed);
            }

            var anyData = _data.ContainsKey(path) || _exist.ContainsKey(path);
            var anyChild = _child.ContainsKey(path);
            var anyPersistent = _persistent.ContainsKey(path) || _recursive.ContainsKey(path);
            serverType = type switch
            {
                WatcherType.Data when !anyData && !anyPersistent => (int)WatcherType.Data,
                WatcherType.Children when !anyChild && !anyPersistent => (int)WatcherType.Children,
                WatcherType.Any or WatcherType.Persistent or WatcherType.PersistentRecursive when !anyData && !anyChild && !anyPersistent => (int)WatcherType.Any,
                _ => null,
            };
        }

        return removed;
    }

    private static void RemoveFrom(Dictionary<string, HashSet<Action<WatchedEvent>>> map, string path, Action<WatchedEvent>? watcher, EventType evt, ref List<(Action<WatchedEvent>, EventType)>? removed)
    {
        if (!map.TryGetValue(path, out var set))
        {
            return;
        }

        if (watcher is null)
        {
            foreach (var w in set)
            {
                (removed ??= []).Add((w, evt));
            }

            map.Remove(path);
            return;
        }

        if (set.Remove(watcher))
        {
            (removed ??= []).Add((watcher, evt));
            if (set.Count == 0)
            {
                map.Remove(path);
            }
        }
    }

    private static void Take(Dictionary<string, HashSet<Action<WatchedEvent>>> map, string path, ref List<Action<WatchedEvent>>? result)
    {
        if (map.Remove(path, out var set))
        {
            AddAll(set, ref result);
        }
    }

    private static void AddAll(HashSet<Action<WatchedEvent>> set, ref List<Action<WatchedEvent>>? result)
    {
        result ??= new List<Action<WatchedEvent>>(set.Count);
        foreach (var w in set)
        {
            if (!result.Contains(w))
            {
                result.Add(w);
            }
        }
    }

    private static int Sum(Dictionary<string, HashSet<Action<WatchedEvent>>> map)
    {
        var n = 0;
        foreach (var set in map.Values)
        {
            n += set.Count;
        }

        return n;
    }

    private IEnumerable<Dictionary<string, HashSet<Action<WatchedEvent>>>> Maps()
    {
        yield return _data;
        yield return _exist;
        yield return _child;
        yield return _persistent;
        yield return _recursive;
    }
}
