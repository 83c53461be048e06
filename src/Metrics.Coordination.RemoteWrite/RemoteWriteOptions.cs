using Metrics.Coordination.Abstractions.Relabeling;
using Metrics.Coordination.Registry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.RemoteWrite;

/// <summary>
/// How samples are queued, sharded, batched and retried; the names and defaults follow Prometheus 2.42's
/// <c>queue_config</c>. Validated when the sender is built.
/// </summary>
public sealed class RemoteWriteQueueOptions
{
    /// <summary>Samples buffered per shard before reading the WAL pauses. Default 2500.</summary>
    public int Capacity { get; set; } = 2500;

    /// <summary>The fewest shards (concurrent senders). Default 1.</summary>
    public int MinShards { get; set; } = 1;

    /// <summary>The most shards. Default 200.</summary>
    public int MaxShards { get; set; } = 200;

    /// <summary>Samples per request at most. Default 500.</summary>
    public int MaxSamplesPerSend { get; set; } = 500;

    /// <summary>How long a partial batch waits for more samples before it is sent. Default 5 s.</summary>
    public TimeSpan BatchSendDeadline { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The first retry delay; doubled on each further failure. Default 30 ms.</summary>
    public TimeSpan MinBackoff { get; set; } = TimeSpan.FromMilliseconds(30);

    /// <summary>The longest retry delay (a <c>Retry-After</c> longer than this is still honoured). Default 5 s.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Retry batches answered with 429 Too Many Requests (else they are dropped like other 4xx). Default true.</summary>
    public bool RetryOnHttp429 { get; set; } = true;

    internal RemoteWriteQueueOptions Validated()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Capacity, 1, nameof(Capacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(MinShards, 1, nameof(MinShards));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxShards, MinShards, nameof(MaxShards));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSamplesPerSend, 1, nameof(MaxSamplesPerSend));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(BatchSendDeadline, TimeSpan.Zero, nameof(BatchSendDeadline));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(MinBackoff, TimeSpan.Zero, nameof(MinBackoff));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxBackoff, MinBackoff, nameof(MaxBackoff));
        return new RemoteWriteQueueOptions
        {
            Capacity = Capacity,
            MinShards = MinShards,
            MaxShards = MaxShards,
            MaxSamplesPerSend = MaxSamplesPerSend,
            BatchSendDeadline = BatchSendDeadline,
            MinBackoff = MinBackoff,
            MaxBackoff = MaxBackoff,
            RetryOnHttp429 = RetryOnHttp429,
        };
    }
}

/// <summary>Settings of a <see cref="RemoteWriteSender"/>, validated and copied when it is built.</summary>
public sealed class RemoteWriteOptions
{
    /// <summary>The receiver's endpoint, such as <c>http://127.0.0.1:9090/api/v1/write</c>. Required.</summary>
    public Uri? Url { get; set; }

    /// <summary>A name for logs, metrics (<c>remote_name</c> label) and the position file. Default <c>default</c>.</summary>
    public string Name { get; set; } = "default";

    /// <summary>Labels added to every series that does not already have them (the series' own value wins, as in Prometheus).</summary>
    public IReadOnlyDictionary<string, string> ExternalLabels { get; set; } = new Dictionary<string, string>();

    /// <summary>
    /// Prometheus <c>write_relabel_configs</c>: applied to each series after the external labels are added (as
    /// Prometheus does); a series they drop is not sent and its samples count as dropped. Default none.
    /// </summary>
    public IReadOnlyList<RelabelConfig> WriteRelabelConfigs { get; set; } = [];

    /// <summary>Queue, shard, batch and retry settings.</summary>
    public RemoteWriteQueueOptions Queue { get; set; } = new();

    /// <summary>HTTP basic authentication user name, or null. Not together with <see cref="BearerToken"/>.</summary>
    public string? BasicAuthUsername { get; set; }

    /// <summary>HTTP basic authentication password.</summary>
    public string? BasicAuthPassword { get; set; }

    /// <summary>A bearer token sent as <c>Authorization: Bearer ...</c>, or null.</summary>
    public string? BearerToken { get; set; }

    /// <summary>The timeout of one request. Default 30 s (Prometheus's <c>remote_timeout</c>).</summary>
    public TimeSpan RemoteTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The file holding the acknowledged WAL position. Default: <c>remote_write/&lt;Name&gt;.position</c> in the
    /// database directory.
    /// </summary>
    public string? PositionFile { get; set; }

    /// <summary>
    /// With no position file yet: start at the current end of the WAL (only new samples, as Prometheus does) instead of
    /// sending everything the WAL still holds. Default false.
    /// </summary>
    public bool StartAtWalEnd { get; set; }

    /// <summary>How often the WAL is checked for new records once the sender has caught up. Default 50 ms.</summary>
    public TimeSpan WalPollInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How often the desired shard count is recomputed. Default 10 s (Prometheus's).</summary>
    public TimeSpan ShardUpdateInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the position file is fsynced (it is written after every acknowledged batch). Default 1 s.</summary>
    public TimeSpan PositionSyncInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// On dispose, how long queued samples may still be sent before the sender stops (unsent ones are sent after a
    /// restart). A request already in flight always completes or times out (<see cref="RemoteTimeout"/>). Default 5 s.
    /// </summary>
    public TimeSpan FlushDeadline { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The <c>User-Agent</c> header. Default <c>Metrics.Coordination.RemoteWrite/&lt;version&gt;</c>.</summary>
    public string UserAgent { get; set; } = "Metrics.Coordination.RemoteWrite/" + typeof(RemoteWriteOptions).Assembly.GetName().Version?.ToString(3);

    /// <summary>A registry for the sender's own metrics (<c>remote_write_*</c>), or null.</summary>
    public MetricRegistry? Registry { get; set; }

    /// <summary>Where logs go. Default: nowhere.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>The clock (batch deadlines, backoff, shard updates). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The HTTP handler (tests, proxies, TLS settings), or null for a default <see cref="SocketsHttpHandler"/>. The sender disposes it.</summary>
    public HttpMessageHandler? HttpHandler { get; set; }

    /// <summary>The compiled <see cref="WriteRelabelConfigs"/> (set by validation).</summary>
    internal Relabeler Relabeler { get; private init; } = Relabeler.Empty;

    internal RemoteWriteOptions Validated(string databaseDirectory)
    {
        if (Url is null || !Url.IsAbsoluteUri || (Url.Scheme != Uri.UriSchemeHttp && Url.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException("Url must be an absolute http or https URL.", nameof(Url));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(Name, nameof(Name));
        if (Name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
        {
            throw new ArgumentException($"Name '{Name}' must be usable as a file name.", nameof(Name));
        }

        ArgumentNullException.ThrowIfNull(ExternalLabels, nameof(ExternalLabels));
        foreach (var (name, value) in ExternalLabels)
        {
            if (string.IsNullOrEmpty(name) || value is null)
            {
                throw new ArgumentException("External label names must not be empty and values not null.", nameof(ExternalLabels));
            }
        }

        if (BearerToken is not null && BasicAuthUsername is not null)
        {
            throw new ArgumentException("Set either basic authentication or a bearer token, not both.", nameof(BearerToken));
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RemoteTimeout, TimeSpan.Zero, nameof(RemoteTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(WalPollInterval, TimeSpan.Zero, nameof(WalPollInterval));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ShardUpdateInterval, TimeSpan.Zero, nameof(ShardUpdateInterval));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(PositionSyncInterval, TimeSpan.Zero, nameof(PositionSyncInterval));
        ArgumentOutOfRangeException.ThrowIfLessThan(FlushDeadline, TimeSpan.Zero, nameof(FlushDeadline));
        ArgumentNullException.ThrowIfNull(LoggerFactory, nameof(LoggerFactory));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        ArgumentNullException.ThrowIfNull(Queue, nameof(Queue));
        ArgumentNullException.ThrowIfNull(WriteRelabelConfigs, nameof(WriteRelabelConfigs));
        return new RemoteWriteOptions
        {
            WriteRelabelConfigs = [.. WriteRelabelConfigs],
            Relabeler = new Relabeler(WriteRelabelConfigs),
            Url = Url,
            Name = Name,
            ExternalLabels = new Dictionary<string, string>(ExternalLabels, StringComparer.Ordinal),
            Queue = Queue.Validated(),
            BasicAuthUsername = BasicAuthUsername,
            BasicAuthPassword = BasicAuthPassword,
            BearerToken = BearerToken,
            RemoteTimeout = RemoteTimeout,
            PositionFile = PositionFile ?? Path.Combine(databaseDirectory, "remote_write", Name + ".position"),
            StartAtWalEnd = StartAtWalEnd,
            WalPollInterval = WalPollInterval,
            ShardUpdateInterval = ShardUpdateInterval,
            PositionSyncInterval = PositionSyncInterval,
            FlushDeadline = FlushDeadline,
            UserAgent = UserAgent,
            Registry = Registry,
            LoggerFactory = LoggerFactory,
            TimeProvider = TimeProvider,
            HttpHandler = HttpHandler,
        };
    }
}
