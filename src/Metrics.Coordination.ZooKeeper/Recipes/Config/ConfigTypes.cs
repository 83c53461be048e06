using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>What a <see cref="ZooKeeperConfigWatcher{T}"/> watches.</summary>
public enum ConfigWatchMode
{
    /// <summary>One znode (<see cref="ZooKeeperConfigWatcherOptions{T}.Path"/>), with one-shot data/exists watches re-armed on every read (any server version).</summary>
    Node = 0,

    /// <summary>
    /// The node and every descendant, through one persistent recursive watch (<c>addWatch</c>, ZooKeeper 3.6+). Nodes
    /// with empty data are structure only: they are walked but not parsed or reported.
    /// </summary>
    Subtree = 1,
}

/// <summary>How a watched node changed.</summary>
public enum ConfigChangeKind
{
    /// <summary>The node appeared (or parsed for the first time).</summary>
    Created = 0,

    /// <summary>The node's data changed and parsed.</summary>
    Updated = 1,

    /// <summary>The node was deleted (or, in subtree mode, its data became empty).</summary>
    Deleted = 2,
}

/// <summary>A parsed node: its path, value and the Stat of the version it was parsed from.</summary>
/// <typeparam name="T">The config type.</typeparam>
/// <param name="Path">The node's path (relative to the client's chroot).</param>
/// <param name="Value">The parsed value.</param>
/// <param name="Stat">The node's metadata at that version (<see cref="Stat.Version"/>, <see cref="Stat.Mzxid"/>).</param>
public sealed record ConfigNode<T>(string Path, T Value, Stat Stat);

/// <summary>A change of a watched node, with the values before and after.</summary>
/// <typeparam name="T">The config type.</typeparam>
/// <param name="Path">The node's path.</param>
/// <param name="Kind">Created, updated or deleted.</param>
/// <param name="OldValue">The last good value before the change (null when there was none).</param>
/// <param name="NewValue">The new value (null when deleted).</param>
public sealed record ConfigChange<T>(string Path, ConfigChangeKind Kind, ConfigNode<T>? OldValue, ConfigNode<T>? NewValue);

/// <summary>A node version that did not parse; the watcher keeps the last good value.</summary>
/// <param name="Path">The node's path.</param>
/// <param name="Stat">The metadata of the version that failed.</param>
/// <param name="Exception">What the parser threw.</param>
public sealed record ConfigParseError(string Path, Stat Stat, Exception Exception);

/// <summary>Thrown by <see cref="ZooKeeperConfigWatcher{T}.WaitForInitialLoadAsync(TimeSpan, CancellationToken)"/> when the watched node exists but its first version does not parse.</summary>
public sealed class ZooKeeperConfigParseException : FormatException
{
    /// <summary>Creates the exception for <paramref name="error"/>.</summary>
    public ZooKeeperConfigParseException(ConfigParseError error)
        : base($"ZooKeeper config node {error?.Path} version {error?.Stat.Version} does not parse: {error?.Exception.Message}", error?.Exception)
    {
        ArgumentNullException.ThrowIfNull(error);
        Error = error;
    }

    /// <summary>The failed version and the parser's exception.</summary>
    public ConfigParseError Error { get; }
}

/// <summary>Settings of a <see cref="ZooKeeperConfigWatcher{T}"/>. Validated and copied when the watcher is created.</summary>
/// <typeparam name="T">The config type.</typeparam>
public sealed class ZooKeeperConfigWatcherOptions<T>
{
    /// <summary>The node to watch (the subtree's root in <see cref="ConfigWatchMode.Subtree"/>). Required. It need not exist.</summary>
    public string Path { get; set; } = string.Empty;

    /// <summary>One node or a subtree. Default: <see cref="ConfigWatchMode.Node"/>.</summary>
    public ConfigWatchMode Mode { get; set; } = ConfigWatchMode.Node;

    /// <summary>
    /// Turns a node's bytes into a value; throwing marks that version bad (the last good value is kept). Required. See
    /// <see cref="ConfigParsers"/> for JSON and YAML. It runs on the watcher's loop, one call at a time.
    /// </summary>
    public Func<ReadOnlyMemory<byte>, T>? Parser { get; set; }

    /// <summary>How long to wait before retrying after an unexpected failure (not a connection loss). Default: 1 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The clock for retry delays. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the watcher logs (changes at Information, parse errors at Error). Default: <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Creates the meter for the <c>zookeeper.recipe.*</c> counters. Default: null (the watcher owns a meter).</summary>
    public IMeterFactory? MeterFactory { get; set; }

    /// <summary>Subtree mode: which descendants hold values (others are walked but neither parsed nor reported). Used by discovery.</summary>
    internal Func<string, bool>? NodeFilter { get; set; }

    /// <summary>The recipe kind in logs and metric tags.</summary>
    internal string RecipeName { get; set; } = "config";
}
