using System.Text;
using System.Threading.Channels;
using Metrics.Coordination.Rules;
using Metrics.Coordination.ZooKeeper.Recipes;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Hosting;

/// <summary>Rule file globs: <c>*</c> and <c>?</c> in the file name part only (like most uses of Prometheus's <c>rule_files</c>).</summary>
internal static class RuleFileGlob
{
    private static readonly char[] Wildcards = ['*', '?', '['];

    public static bool DirectoryHasWildcards(string pattern) =>
        (Path.GetDirectoryName(pattern) ?? string.Empty).IndexOfAny(Wildcards) >= 0;

    /// <summary>The full pattern for <paramref name="pattern"/> relative to <paramref name="baseDirectory"/>.</summary>
    public static string Resolve(string pattern, string baseDirectory) => Path.GetFullPath(pattern, baseDirectory);

    /// <summary>The existing files a full pattern matches, in ordinal order (a literal path that does not exist matches nothing, as in Prometheus).</summary>
    public static IEnumerable<string> Expand(string fullPattern)
    {
        var directory = Path.GetDirectoryName(fullPattern) ?? "/";
        var name = Path.GetFileName(fullPattern);
        if (!Directory.Exists(directory))
        {
            return [];
        }

        if (name.IndexOfAny(Wildcards) < 0)
        {
            return File.Exists(fullPattern) ? [fullPattern] : [];
        }

        var options = new EnumerationOptions { MatchType = MatchType.Simple, MatchCasing = MatchCasing.CaseSensitive, IgnoreInaccessible = true, RecurseSubdirectories = false };
        return Directory.EnumerateFiles(directory, name, options).Order(StringComparer.Ordinal);
    }
}

/// <summary>
/// Combines the rule files of every source (disk, ZooKeeper) into the one set the <see cref="RuleManager"/> runs:
/// each source hands over its last good files, and the manager gets the union (disk files first).
/// </summary>
internal sealed class RuleSetComposer(RuleManager manager)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly SortedDictionary<string, IReadOnlyList<RuleFile>> _bySource = new(StringComparer.Ordinal);

    public RuleManager Manager => manager;

    public async Task ApplyAsync(string source, IReadOnlyList<RuleFile> files, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _bySource[source] = files;
            await manager.UpdateAsync([.. _bySource.Values.SelectMany(f => f)], cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }
}

/// <summary>
/// Rule files from disk globs: loaded at start (a broken file fails the start, as Prometheus refuses to start), then
/// reloaded when a file in a watched directory changes (file-system notifications, plus a periodic check of sizes and
/// write times). A reload with any broken file is refused as a whole: the last good set keeps running, the error is
/// logged and shown in <see cref="RuleSourceStatus"/>.
/// </summary>
internal sealed class FileRuleSource : IAsyncDisposable
{
    internal const string SourceName = "1-files";

    // Editors save in steps (truncate, write, rename); wait this long after the last notification before reading.
    private static readonly TimeSpan SettleDelay = TimeSpan.FromMilliseconds(100);

    private readonly IReadOnlyList<string> _patterns;
    private readonly RuleSetComposer _composer;
    private readonly RuleSourceTracker _tracker;
    private readonly RuleFileParserOptions? _parserOptions;
    private readonly TimeSpan _checkInterval;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wakeup = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly CancellationTokenSource _stop = new();
    private string _signature = string.Empty;
    private Task _loop = Task.CompletedTask;

    public FileRuleSource(IReadOnlyList<string> fullPatterns, RuleSetComposer composer, RuleSourceTracker tracker, RuleFileParserOptions? parserOptions, TimeSpan checkInterval, TimeProvider time, ILogger logger)
    {
        _patterns = fullPatterns;
        _composer = composer;
        _tracker = tracker;
        _parserOptions = parserOptions;
        _checkInterval = checkInterval;
        _time = time;
        _logger = logger;
    }

    /// <summary>Loads the files; throws <see cref="RuleFileException"/> when any is broken.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var (files, signature) = Snapshot();
        var loaded = Parse(files, out var errors);
        if (errors.Count > 0)
        {
            var error = new RuleFileException([.. errors.SelectMany(e => e.Value)]);
            _tracker.Failed(SourceName, error.Message, errors.ToDictionary(e => e.Key, e => string.Join('\n', e.Value.Select(p => p.ToString())), StringComparer.Ordinal));
            throw error;
        }

        await _composer.ApplyAsync(SourceName, loaded, cancellationToken).ConfigureAwait(false);
        _signature = signature;
        _tracker.Loaded(SourceName, files, new Dictionary<string, string>());
        HostingLog.RuleFilesLoaded(_logger, files.Count, loaded.Sum(f => f.RuleCount));

        foreach (var directory in _patterns.Select(p => Path.GetDirectoryName(p) ?? "/").Distinct(StringComparer.Ordinal))
        {
            if (!Directory.Exists(directory))
            {
                HostingLog.RuleDirectoryMissing(_logger, directory);
                continue;
            }

            var watcher = new FileSystemWatcher(directory) { IncludeSubdirectories = false, NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime };
            watcher.Changed += OnFileEvent;
            watcher.Created += OnFileEvent;
            watcher.Deleted += OnFileEvent;
            watcher.Renamed += OnFileEvent;
            watcher.Error += OnWatcherError;
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }

        _loop = RunAsync(_stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var watcher in _watchers)
        {
            watcher.EnableRaisingEvents = false;
            watcher.Dispose();
        }

        _watchers.Clear();
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private void OnFileEvent(object sender, FileSystemEventArgs e) => _wakeup.Writer.TryWrite(true);

    private void OnWatcherError(object sender, ErrorEventArgs e)
    {
        // An overflowed inotify queue loses events: check everything.
        HostingLog.RuleWatcherError(_logger, e.GetException());
        _wakeup.Writer.TryWrite(true);
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                using (var poll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    if (_checkInterval > TimeSpan.Zero)
                    {
                        poll.CancelAfter(_checkInterval);
                    }

                    try
                    {
                        await _wakeup.Reader.WaitToReadAsync(poll.Token).ConfigureAwait(false);
                        await Task.Delay(SettleDelay, _time, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        // The periodic check.
                    }
                }

                _wakeup.Reader.TryRead(out _);
                await ReloadIfChangedAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    internal async Task ReloadIfChangedAsync(CancellationToken cancellationToken)
    {
        try
        {
            var (files, signature) = Snapshot();
            if (signature == _signature)
            {
                return;
            }

            var loaded = Parse(files, out var errors);
            if (errors.Count > 0)
            {
                var error = new RuleFileException([.. errors.SelectMany(e => e.Value)]);
                // Logged first: whoever sees the status error can also find the log entry.
                HostingLog.RuleReloadRefused(_logger, "disk", error.Message);
                _tracker.Failed(SourceName, error.Message, errors.ToDictionary(e => e.Key, e => string.Join('\n', e.Value.Select(p => p.ToString())), StringComparer.Ordinal));

                // Remember the broken state so it is reported once, not at every check; a fix changes the signature again.
                _signature = signature;
                return;
            }

            await _composer.ApplyAsync(SourceName, loaded, cancellationToken).ConfigureAwait(false);
            _signature = signature;
            _tracker.Loaded(SourceName, files, new Dictionary<string, string>());
            HostingLog.RuleFilesLoaded(_logger, files.Count, loaded.Sum(f => f.RuleCount));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            HostingLog.RuleReloadRefused(_logger, "disk", e.Message);
            _tracker.Failed(SourceName, e.Message, _tracker.ErrorsOf(SourceName));
        }
    }

    private (IReadOnlyList<string> Files, string Signature) Snapshot()
    {
        var files = _patterns.SelectMany(RuleFileGlob.Expand).Distinct(StringComparer.Ordinal).ToList();
        var signature = new StringBuilder();
        foreach (var file in files)
        {
            var info = new FileInfo(file);
            signature.Append(file).Append('\0');
            if (info.Exists)
            {
                signature.Append(info.Length).Append('\0').Append(info.LastWriteTimeUtc.Ticks).Append('\n');
            }
        }

        return (files, signature.ToString());
    }

    private List<RuleFile> Parse(IReadOnlyList<string> files, out Dictionary<string, IReadOnlyList<RuleFileProblem>> errors)
    {
        var loaded = new List<RuleFile>(files.Count);
        errors = new Dictionary<string, IReadOnlyList<RuleFileProblem>>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            try
            {
                loaded.Add(RuleFileParser.Load(file, _parserOptions));
            }
            catch (RuleFileException e)
            {
                errors[file] = e.Problems;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors[file] = [new RuleFileProblem(file, null, -1, null, 0, 0, e.Message)];
            }
        }

        return loaded;
    }
}

/// <summary>
/// Rule files stored in ZooKeeper (one node, or every node with data under a subtree), watched by a
/// <see cref="ZooKeeperConfigWatcher{T}"/>: every replica sees a change within milliseconds and reloads. A version that
/// does not parse is refused by the watcher, which keeps that node's last good version: the running set stays, the
/// error is logged and shown in <see cref="RuleSourceStatus"/> until the node is fixed or deleted.
/// </summary>
internal sealed class ZooKeeperRuleSource : IAsyncDisposable
{
    internal const string SourceName = "2-zookeeper";

    // The parser runs before the node's path is known to it; problems are re-labelled with the real path afterwards.
    private const string PlaceholderPath = "\u0001zookeeper";

    private readonly ZooKeeperConfigWatcher<string> _watcher;
    private readonly RuleSetComposer _composer;
    private readonly RuleSourceTracker _tracker;
    private readonly RuleFileParserOptions? _parserOptions;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wakeup = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public ZooKeeperRuleSource(RecoveringZooKeeperClient client, string path, ConfigWatchMode mode, RuleSetComposer composer, RuleSourceTracker tracker, RuleFileParserOptions? parserOptions, TimeProvider time, ILoggerFactory loggerFactory)
    {
        _composer = composer;
        _tracker = tracker;
        _parserOptions = parserOptions;
        _logger = loggerFactory.CreateLogger("Metrics.Coordination.Hosting.Rules");
        _watcher = new ZooKeeperConfigWatcher<string>(client, new ZooKeeperConfigWatcherOptions<string>
        {
            Path = path,
            Mode = mode,
            Parser = Validate,
            TimeProvider = time,
            LoggerFactory = loggerFactory,
        });
        _watcher.Changed += (_, _) => _wakeup.Writer.TryWrite(true);
        _watcher.Resynchronized += (_, _) => _wakeup.Writer.TryWrite(true);
        _watcher.ParseFailed += OnParseFailed;
    }

    public string Path => _watcher.Path;

    /// <summary>Waits for the first read of the node(s) and applies what parsed; a broken or missing node leaves no rules from ZooKeeper (logged).</summary>
    public async Task StartAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await _watcher.WaitForInitialLoadAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (ZooKeeperConfigParseException)
        {
            // Reported by OnParseFailed; start without rules from this node until it is fixed.
        }

        await ApplyAsync(cancellationToken).ConfigureAwait(false);
        _loop = RunAsync(_stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await _watcher.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private string Validate(ReadOnlyMemory<byte> data)
    {
        var text = Encoding.UTF8.GetString(data.Span);
        if (text.Length > 0)
        {
            // Throws RuleFileException: the watcher keeps the last good version and raises ParseFailed.
            RuleFileParser.Parse(text, PlaceholderPath, _parserOptions);
        }

        return text;
    }

    private void OnParseFailed(object? sender, ConfigParseError error)
    {
        var message = Describe(error);
        HostingLog.RuleReloadRefused(_logger, "ZooKeeper", message);
        _tracker.Failed(SourceName, message, UnresolvedErrors());
    }

    private static string Describe(ConfigParseError error) => error.Exception is RuleFileException rfe
        ? new RuleFileException([.. rfe.Problems.Select(p => p with { File = error.Path })]).Message
        : $"{error.Path}: {error.Exception.Message}";

    private Dictionary<string, string> UnresolvedErrors() =>
        _watcher.Errors.ToDictionary(kv => kv.Key, kv => Describe(kv.Value), StringComparer.Ordinal);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await _wakeup.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                _wakeup.Reader.TryRead(out _);
                await ApplyAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    private async Task ApplyAsync(CancellationToken cancellationToken)
    {
        var nodes = _watcher.Nodes.Values.OrderBy(n => n.Path, StringComparer.Ordinal).Where(n => n.Value.Length > 0).ToList();
        var files = new List<RuleFile>(nodes.Count);
        foreach (var node in nodes)
        {
            // Parsed once already by the watcher; parse again under the node's own path (group keys are file + name).
            files.Add(RuleFileParser.Parse(node.Value, node.Path, _parserOptions));
        }

        try
        {
            await _composer.ApplyAsync(SourceName, files, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        _tracker.Loaded(SourceName, [.. nodes.Select(n => n.Path)], UnresolvedErrors());
        HostingLog.RuleNodesLoaded(_logger, _watcher.Path, nodes.Count, files.Sum(f => f.RuleCount));
    }
}
