namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>
/// Lists the live members of a service (serverset or Curator format) and reports joins, changes and departures. Built
/// on <see cref="ZooKeeperConfigWatcher{T}"/> in subtree mode: one persistent recursive watch, coalescing, a full
/// re-read after every reconnect and new session; a member whose data does not parse is left out and reported
/// (<see cref="ParseFailed"/>, log, counter). Serverset mode considers only <c>member_</c> children, as Finagle does.
/// </summary>
public sealed class ZooKeeperServiceDiscovery : IAsyncDisposable
{
    private readonly ZooKeeperConfigWatcher<ServiceMember> _watcher;
    private readonly ServiceFormat _format;

    /// <summary>Creates the reader and starts loading; see <see cref="WaitForInitialLoadAsync"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public ZooKeeperServiceDiscovery(RecoveringZooKeeperClient source, ServiceDiscoveryOptions options)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        PathValidation.Validate(options.Path, nameof(options));
        _format = options.Format;
        string root;
        Func<ReadOnlyMemory<byte>, ServiceMember> parser;
        switch (options.Format)
        {
            case ServiceFormat.Serverset:
                root = options.Path;
                parser = ServiceJson.ParseServerset;
                break;
            case ServiceFormat.Curator:
                ArgumentException.ThrowIfNullOrEmpty(options.ServiceName, nameof(options));
                root = (options.Path == "/" ? string.Empty : options.Path) + "/" + options.ServiceName;
                PathValidation.Validate(root, nameof(options));
                parser = ServiceJson.ParseCurator;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Format, "Unknown service format.");
        }

        ServicePath = root;
        var childPrefix = (root == "/" ? string.Empty : root) + "/";
        var serverset = options.Format == ServiceFormat.Serverset;
        _watcher = new ZooKeeperConfigWatcher<ServiceMember>(source, new ZooKeeperConfigWatcherOptions<ServiceMember>
        {
            Path = root,
            Mode = ConfigWatchMode.Subtree,
            Parser = parser,
            LoggerFactory = options.LoggerFactory,
            TimeProvider = options.TimeProvider,
            MeterFactory = options.MeterFactory,
            RecipeName = "discovery",
            NodeFilter = path => path.StartsWith(childPrefix, StringComparison.Ordinal)
                && path.IndexOf('/', childPrefix.Length) < 0
                && (!serverset || path.AsSpan(childPrefix.Length).StartsWith("member_", StringComparison.Ordinal)),
        });
        _watcher.Changed += (_, c) => Changed?.Invoke(this, new ServiceMemberChange(c.Kind, Complete(c.OldValue), Complete(c.NewValue)));
        _watcher.ParseFailed += (_, e) => ParseFailed?.Invoke(this, e);
        _watcher.Resynchronized += (_, reason) => Resynchronized?.Invoke(this, reason);
    }

    /// <summary>A member joined, changed or left. Raised in order on the reader's loop (see ZooKeeperConfigWatcher's remarks).</summary>
    public event EventHandler<ServiceMemberChange>? Changed;

    /// <summary>A member node's data did not parse (the member is left out). Raised on the reader's loop.</summary>
    public event EventHandler<ConfigParseError>? ParseFailed;

    /// <summary>A full re-read finished (initial load, reconnect, new session). Raised on the reader's loop.</summary>
    public event EventHandler<string>? Resynchronized;

    /// <summary>The path whose children are the members (the serverset path, or Curator's <c>base/name</c>).</summary>
    public string ServicePath { get; }

    /// <summary>The live members, ordered by id.</summary>
    public IReadOnlyList<ServiceMember> Members =>
        [.. _watcher.Nodes.Values.Select(n => Complete(n)!).OrderBy(m => m.Id, StringComparer.Ordinal)];

    /// <summary>Waits for the first listing; returns <see cref="Members"/>.</summary>
    /// <exception cref="TimeoutException">Not loaded within <paramref name="timeout"/>.</exception>
    public async Task<IReadOnlyList<ServiceMember>> WaitForInitialLoadAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        await _watcher.WaitForInitialLoadAsync(timeout, cancellationToken).ConfigureAwait(false);
        return Members;
    }

    /// <summary>Stops watching.</summary>
    public ValueTask DisposeAsync() => _watcher.DisposeAsync();

    private ServiceMember? Complete(ConfigNode<ServiceMember>? node)
    {
        if (node is null)
        {
            return null;
        }

        var name = node.Path[(node.Path.LastIndexOf('/') + 1)..];
        return node.Value with
        {
            Path = node.Path,
            Id = _format == ServiceFormat.Curator && node.Value.Id.Length > 0 ? node.Value.Id : name,
            Stat = node.Stat,
        };
    }
}
