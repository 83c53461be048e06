using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Registry;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper.Monitoring;

/// <summary>
/// Watches a ZooKeeper ensemble: polls every server with the <c>mntr</c> and <c>srvr</c> four-letter words (plain TCP
/// on the client port; the servers must allow them with <c>4lw.commands.whitelist=mntr,srvr</c>) in the background,
/// every <see cref="ZooKeeperEnsembleCollectorOptions.PollInterval"/>, and exposes the last poll in a
/// <see cref="MetricRegistry"/> through a collector, so a scrape never waits on the network. Per server (label
/// <c>server="host:port"</c>): <c>zookeeper_up</c> (1 when <c>mntr</c> answered and the server serves requests),
/// <c>zookeeper_server_state{state="leader|follower|observer|standalone"}</c> (1 for the current state, 0 for the
/// others and all 0 while down), the <c>mntr</c> values (<c>zookeeper_znode_count</c>, <c>zookeeper_watch_count</c>,
/// <c>zookeeper_avg_latency</c>, <c>zookeeper_followers</c>, <c>zookeeper_packets_received_total</c>, ...), and from
/// <c>srvr</c> <c>zookeeper_zxid</c> and <c>zookeeper_zxid_epoch</c> (its high 32 bits: it grows with every leader
/// election). Values of a server that is down are left out (not kept stale). A malformed line is logged once per
/// server and line and counted in <c>zookeeper_monitor_parse_errors_total{server}</c>; the rest of the answer is used.
/// Create with <see cref="Start"/>; dispose to stop polling and remove the collector.
/// </summary>
public sealed class ZooKeeperEnsembleCollector : IAsyncDisposable
{
    // mntr on 3.8 with every metric provider is ~40 KB; 1 MiB bounds a misbehaving peer while leaving room.
    private const int MaxAnswerBytes = 1024 * 1024;

    private readonly Endpoint[] _servers;
    private readonly ServerSnapshot?[] _snapshots;
    private readonly long[] _parseErrors;
    private readonly HashSet<string> _loggedProblems = new(StringComparer.Ordinal);
    private readonly TimeSpan _interval;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly IDisposable _registration;
    private readonly Task _loop;
    private long _polls;

    private ZooKeeperEnsembleCollector(MetricRegistry registry, Endpoint[] servers, ZooKeeperEnsembleCollectorOptions options)
    {
        _servers = servers;
        _snapshots = new ServerSnapshot?[servers.Length];
        _parseErrors = new long[servers.Length];
        _interval = options.PollInterval;
        _timeout = options.Timeout;
        _time = options.TimeProvider;
        _logger = options.LoggerFactory.CreateLogger("Metrics.Coordination.ZooKeeper.Monitoring.ZooKeeperEnsembleCollector");
        _registration = registry.AddCollector("zookeeper-ensemble", Collect);
        _loop = RunAsync(_stop.Token);
    }

    /// <summary>
    /// Validates <paramref name="options"/>, adds the collector to <paramref name="registry"/> and starts polling (the
    /// first poll starts at once; until it completes the collector exposes nothing).
    /// </summary>
    /// <exception cref="ArgumentException">No servers, a server not <c>host:port</c>, or a non-positive interval or timeout.</exception>
    public static ZooKeeperEnsembleCollector Start(MetricRegistry registry, ZooKeeperEnsembleCollectorOptions options)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Servers);
        ArgumentNullException.ThrowIfNull(options.LoggerFactory);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        if (options.Servers.Count == 0)
        {
            throw new ArgumentException("At least one ZooKeeper server (host:port) is required.", nameof(options));
        }

        if (options.PollInterval < TimeSpan.FromMilliseconds(100))
        {
            throw new ArgumentException($"PollInterval must be at least 100 ms, not {options.PollInterval}.", nameof(options));
        }

        if (options.Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Timeout must be positive, not {options.Timeout}.", nameof(options));
        }

        var servers = options.Servers.Select(Endpoint.Parse).ToArray();
        var duplicate = servers.GroupBy(s => s.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"ZooKeeper server '{duplicate.Key}' is listed twice.", nameof(options));
        }

        return new ZooKeeperEnsembleCollector(registry, servers, options);
    }

    /// <summary>How many poll rounds over every server have completed.</summary>
    public long CompletedPolls => Interlocked.Read(ref _polls);

    /// <summary>Stops polling, waits for the loop to end and removes the collector from the registry.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }

        _registration.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        // Off the caller's thread: Start returns before the first connect.
        await Task.Yield();
        using var timer = new PeriodicTimer(_interval, _time);
        do
        {
            try
            {
                await PollOnceAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.PollLoopFailed(_logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Polls every server concurrently once and stores the snapshots.</summary>
    internal async Task PollOnceAsync(CancellationToken cancellationToken)
    {
        var polls = new Task[_servers.Length];
        for (var i = 0; i < _servers.Length; i++)
        {
            polls[i] = PollServerAsync(i, cancellationToken);
        }

        await Task.WhenAll(polls).ConfigureAwait(false);
        Interlocked.Increment(ref _polls);
    }

    private async Task PollServerAsync(int index, CancellationToken cancellationToken)
    {
        var server = _servers[index];
        var reading = new ServerReading();
        var word = "mntr";
        var up = false;
        try
        {
            var serving = FourLetterWordParser.ParseMntr(await AskAsync(server, word, cancellationToken).ConfigureAwait(false), reading);
            if (serving)
            {
                word = "srvr";
                FourLetterWordParser.ParseSrvr(await AskAsync(server, word, cancellationToken).ConfigureAwait(false), reading);
                up = true;
            }
            else if (_snapshots[index]?.Up != false)
            {
                Log.NotServing(_logger, server.Name);
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException or InvalidDataException)
        {
            // A srvr failure after a good mntr still counts as down: the server stopped answering mid-poll.
            if (_snapshots[index]?.Up != false)
            {
                Log.PollFailed(_logger, server.Name, word, ex);
            }
        }

        foreach (var problem in reading.Problems)
        {
            Interlocked.Increment(ref _parseErrors[index]);
            bool first;
            lock (_loggedProblems)
            {
                first = _loggedProblems.Add(server.Name + "\n" + problem);
            }

            if (first)
            {
                Log.MalformedLine(_logger, server.Name, problem);
            }
        }

        if (up && _snapshots[index] is { Up: false })
        {
            Log.ServerUp(_logger, server.Name);
        }

        Volatile.Write(ref _snapshots[index], new ServerSnapshot(up, up ? reading : null));
    }

    private async Task<string> AskAsync(Endpoint server, string word, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(server.Host, server.Port, deadline.Token).ConfigureAwait(false);
            await socket.SendAsync(Encoding.ASCII.GetBytes(word), SocketFlags.None, deadline.Token).ConfigureAwait(false);
            var buffer = new byte[16 * 1024];
            using var answer = new MemoryStream();
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return Encoding.UTF8.GetString(answer.GetBuffer(), 0, (int)answer.Length);
                }

                if (answer.Length + n > MaxAnswerBytes)
                {
                    throw new InvalidDataException($"'{word}' answer from {server.Name} exceeds {MaxAnswerBytes} bytes.");
                }

                answer.Write(buffer, 0, n);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"'{word}' on {server.Name} got no complete answer within {_timeout.TotalSeconds:0.###} s.");
        }
    }

    /// <summary>Builds the families from the last snapshots; runs inside every scrape and does no I/O.</summary>
    internal IEnumerable<MetricFamily> Collect()
    {
        var up = new MetricFamily("zookeeper_up", MetricType.Gauge, "Whether the ZooKeeper server answered mntr and serves requests (1) or not (0) at the last poll.");
        var state = new MetricFamily("zookeeper_server_state", MetricType.Gauge, "The ZooKeeper server's state at the last poll: 1 for the current state, 0 for the others.");
        var errors = new MetricFamily("zookeeper_monitor_parse_errors", MetricType.Counter, "Malformed lines in the ZooKeeper server's four-letter-word answers.");
        var values = ZooKeeperMetricNames.Mntr.Select(m => new MetricFamily(m.Family, m.Type, m.Help)).ToArray();
        var zxid = new MetricFamily("zookeeper_zxid", MetricType.Gauge, "The last zxid the ZooKeeper server processed (srvr), as a float.");
        var epoch = new MetricFamily("zookeeper_zxid_epoch", MetricType.Gauge, "The epoch of the server's last zxid (its high 32 bits); it grows with every leader election.");
        var any = false;
        for (var i = 0; i < _servers.Length; i++)
        {
            var snapshot = Volatile.Read(ref _snapshots[i]);
            if (snapshot is null)
            {
                continue;
            }

            any = true;
            var name = _servers[i].Name;
            var labels = Labels.FromStrings("server", name);
            up.Samples.Add(new MetricSample(up.Name, labels, snapshot.Up ? 1 : 0));
            foreach (var s in ZooKeeperMetricNames.States)
            {
                var current = snapshot.Reading?.State is { } st && string.Equals(st, s, StringComparison.OrdinalIgnoreCase);
                state.Samples.Add(new MetricSample(state.Name, Labels.FromStrings("server", name, "state", s), current ? 1 : 0));
            }

            errors.Samples.Add(new MetricSample(errors.Name + "_total", labels, Interlocked.Read(ref _parseErrors[i])));
            if (snapshot.Reading is not { } reading)
            {
                continue;
            }

            for (var m = 0; m < values.Length; m++)
            {
                var mapping = ZooKeeperMetricNames.Mntr[m];
                if (reading.Values.TryGetValue(mapping.Key, out var value) ||
                    (mapping.OldKey is not null && reading.Values.TryGetValue(mapping.OldKey, out value)))
                {
                    var sampleName = mapping.Type == MetricType.Counter ? mapping.Family + "_total" : mapping.Family;
                    values[m].Samples.Add(new MetricSample(sampleName, labels, value));
                }
            }

            if (reading.Zxid is { } z)
            {
                zxid.Samples.Add(new MetricSample(zxid.Name, labels, z));
                epoch.Samples.Add(new MetricSample(epoch.Name, labels, z >>> 32));
            }
        }

        if (!any)
        {
            return [];
        }

        return new[] { up, state, errors, zxid, epoch }.Concat(values).Where(f => f.Samples.Count > 0).ToList();
    }

    private sealed record ServerSnapshot(bool Up, ServerReading? Reading);

    private sealed record Endpoint(string Name, string Host, int Port)
    {
        public static Endpoint Parse(string server)
        {
            ArgumentNullException.ThrowIfNull(server);
            var colon = server.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(server.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                throw new ArgumentException($"ZooKeeper server '{server}' is not host:port.", nameof(server));
            }

            var host = server[..colon];
            if (host.StartsWith('[') && host.EndsWith(']'))
            {
                host = host[1..^1];
            }

            return new Endpoint(server, host, port);
        }
    }
}
