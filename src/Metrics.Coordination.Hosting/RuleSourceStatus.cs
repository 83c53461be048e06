namespace Metrics.Coordination.Hosting;

/// <summary>Where the running rules came from and how the last reloads went (for a status page or <c>/api/v1/rules</c>).</summary>
public sealed record RuleSourceStatus
{
    /// <summary>The rule files (disk paths, or ZooKeeper node paths) of the running set, in load order.</summary>
    public IReadOnlyList<string> Sources { get; init; } = [];

    /// <summary>
    /// Problems not resolved yet, by file or node: a file or node whose current content is broken. While any is listed,
    /// the running set is the last good one (for disk files the whole last good set; for ZooKeeper the last good version
    /// of each broken node). Empty when everything loaded.
    /// </summary>
    public IReadOnlyDictionary<string, string> Errors { get; init; } = new Dictionary<string, string>();

    /// <summary>The most recent reload error (null when the last reload succeeded).</summary>
    public string? LastError { get; init; }

    /// <summary>When <see cref="LastError"/> happened.</summary>
    public DateTimeOffset? LastErrorAt { get; init; }

    /// <summary>When the running set was last (re)loaded successfully, or null before the first load.</summary>
    public DateTimeOffset? LastReloadAt { get; init; }

    /// <summary>Successful (re)loads since start.</summary>
    public long Reloads { get; init; }

    /// <summary>Refused reloads since start (a broken file or node).</summary>
    public long ReloadFailures { get; init; }
}

/// <summary>
/// Thread-safe holder of a <see cref="RuleSourceStatus"/> shared by the rule sources and the status object. Every change
/// of the unresolved errors is handed to <see cref="ErrorsChanged"/> (the rule manager's
/// <see cref="Rules.RuleManager.SetFileErrors"/>), so that <c>/api/v1/rules</c> shows them next to the groups they concern.
/// </summary>
internal sealed class RuleSourceTracker(TimeProvider time)
{
    private readonly Lock _lock = new();
    private RuleSourceStatus _status = new();
    private readonly Dictionary<string, IReadOnlyList<string>> _sourcesBySource = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> _errorsBySource = new(StringComparer.Ordinal);

    /// <summary>Called (under the tracker's lock, so in order) with all unresolved errors whenever a source reports.</summary>
    public Action<IReadOnlyDictionary<string, string>>? ErrorsChanged { get; set; }

    public RuleSourceStatus Current
    {
        get
        {
            lock (_lock)
            {
                return _status;
            }
        }
    }

    /// <summary>A source (disk or ZooKeeper) loaded <paramref name="sources"/>; <paramref name="unresolved"/> are its broken files kept at their last good state.</summary>
    public void Loaded(string source, IReadOnlyList<string> sources, IReadOnlyDictionary<string, string> unresolved)
    {
        lock (_lock)
        {
            _sourcesBySource[source] = sources;
            _errorsBySource[source] = unresolved;
            _status = _status with
            {
                Sources = [.. _sourcesBySource.OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value)],
                Errors = MergeErrors(),
                LastError = unresolved.Count == 0 ? null : _status.LastError,
                LastReloadAt = time.GetUtcNow(),
                Reloads = _status.Reloads + 1,
            };
            ErrorsChanged?.Invoke(_status.Errors);
        }
    }

    /// <summary>A source refused a reload; the running set stays.</summary>
    public void Failed(string source, string error, IReadOnlyDictionary<string, string> unresolved)
    {
        lock (_lock)
        {
            _errorsBySource[source] = unresolved;
            _status = _status with
            {
                Errors = MergeErrors(),
                LastError = error,
                LastErrorAt = time.GetUtcNow(),
                ReloadFailures = _status.ReloadFailures + 1,
            };
            ErrorsChanged?.Invoke(_status.Errors);
        }
    }

    /// <summary>The unresolved errors <paramref name="source"/> reported last (empty if none).</summary>
    public IReadOnlyDictionary<string, string> ErrorsOf(string source)
    {
        lock (_lock)
        {
            return _errorsBySource.TryGetValue(source, out var errors) ? errors : new Dictionary<string, string>();
        }
    }

    private Dictionary<string, string> MergeErrors()
    {
        var all = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var errors in _errorsBySource.Values)
        {
            foreach (var (file, error) in errors)
            {
                all[file] = error;
            }
        }

        return all;
    }
}
