using System.Text;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper;

/// <summary>One item for the dispatcher: a watch event for one or many watchers, or a state change.</summary>
internal readonly record struct DispatchItem(WatchedEvent? Event, Action<WatchedEvent>? Watcher, List<Action<WatchedEvent>>? Watchers, ZooKeeperStateChange? Change);

/// <content>The session state machine: connect, run a connection until it fails, reconnect or end; and the dispatcher.</content>
public sealed partial class ZooKeeperClient
{
    private async Task RunSessionAsync()
    {
        await Task.Yield();
        var token = _shutdown.Token;
        var failures = 0;
        Exception? lastError = null;
        try
        {
            while (!token.IsCancellationRequested && !_closing)
            {
                if (failures > 0 && failures % _hosts.Length == 0)
                {
                    // Every server was tried once since the last success: back off (exponential per round, jittered).
                    var delay = Backoff(failures / _hosts.Length);
                    if (SessionRemaining() is { } remaining && remaining < delay)
                    {
                        delay = remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
                    }

                    await Task.Delay(delay, _time, token).ConfigureAwait(false);
                }

                var left = SessionRemaining();
                if (left is { } l && l <= TimeSpan.Zero)
                {
                    Expire($"no server answered for the session timeout ({_negotiatedTimeoutMs} ms); last error: {lastError?.Message}", clientSide: true);
                    return;
                }

                var next = Volatile.Read(ref _hostIndex);
                var server = _hosts[next];
                Volatile.Write(ref _hostIndex, (next + 1) % _hosts.Length);

                // Like the Java client: an attempt (TCP connect + handshake) gets the timeout divided among the servers.
                var attempt = TimeSpan.FromMilliseconds(Math.Max(250, Volatile.Read(ref _negotiatedTimeoutMs) / _hosts.Length));
                if (left is { } bound && bound < attempt)
                {
                    attempt = bound;
                }

                ZooKeeperConnection connection;
                ConnectResponse response;
                var sessionId = SessionId;
                try
                {
                    using var timeout = new CancellationTokenSource(attempt, _time);
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, timeout.Token);
                    Log.Connecting(_logger, server.ToString(), sessionId, LastZxid);
                    (connection, response) = await ZooKeeperConnection.ConnectAsync(
                        this, server, _outgoing, _chrootBytes, _maxFrame, _time, LastZxid, _requestedTimeoutMs,
                        _seenReadWriteServer ? sessionId : 0, Volatile.Read(ref _password), _canBeReadOnly, linked.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (!token.IsCancellationRequested)
                {
                    failures++;
                    lastError = ex is OperationCanceledException ? new TimeoutException($"No handshake with {server} within {attempt.TotalMilliseconds:0} ms.") : ex;
                    Log.ConnectAttemptFailed(_logger, server.ToString(), lastError);
                    FailQueued(lastError);
                    await ExplainReadOnlyRefusalAsync(ex, server, sessionId, token).ConfigureAwait(false);
                    continue;
                }

                if (response.TimeoutMs <= 0)
                {
                    await connection.AbortAsync(new SessionExpiredException()).ConfigureAwait(false);
                    Expire($"{server} reported the session 0x{sessionId:x} as expired", clientSide: false);
                    return;
                }

                failures = 0;
                _readOnlyRefusalExplained = false;
                var isReconnect = sessionId != 0 && _seenReadWriteServer;

                // Watches are re-registered on every later connection, also when a session that only ever saw
                // read-only servers is replaced by a new one on a read-write server (sessionId 0 was sent).
                var hadConnection = sessionId != 0;
                _seenReadWriteServer |= !response.ReadOnly;
                Interlocked.Exchange(ref _sessionId, response.SessionId);
                Volatile.Write(ref _password, response.Password);
                Volatile.Write(ref _negotiatedTimeoutMs, response.TimeoutMs);
                _connection = connection;
                TouchContact(connection.LastReceiveTimestamp);
                Log.Connected(_logger, server.ToString(), response.SessionId, response.TimeoutMs, response.ReadOnly);
                if (isReconnect)
                {
                    _metrics.Reconnected();
                }

                // The state change (and None/SyncConnected to watchers) is queued before the loops start, so it
                // precedes the catch-up notifications SetWatches2 triggers.
                SetState(response.ReadOnly ? ZooKeeperState.ConnectedReadOnly : ZooKeeperState.Connected, null);
                connection.Start(response.SessionId, response.TimeoutMs, AuthPackets(), hadConnection ? SetWatchesBatches() : []);
                _firstConnected.TrySetResult();

                // While read-only, look for a read-write server in the background (like the Java client's pingRwServer).
                using var probe = response.ReadOnly && _hosts.Length > 1 ? CancellationTokenSource.CreateLinkedTokenSource(token) : null;
                var probing = probe is null ? Task.CompletedTask : ProbeReadWriteAsync(connection, server, probe.Token);
                var reason = await connection.Completion.ConfigureAwait(false);
                if (probe is not null)
                {
                    await probe.CancelAsync().ConfigureAwait(false);
                    await probing.ConfigureAwait(false);
                }

                _connection = null;
                TouchContact(connection.LastReceiveTimestamp);
                lastError = reason;
                if (_closing || token.IsCancellationRequested)
                {
                    return;
                }

                Log.ConnectionLost(_logger, server.ToString(), connection.Age.TotalSeconds, 0, reason);
                SetState(ZooKeeperState.Suspended, reason);
                FailQueued(reason);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Closing or terminal.
        }
        finally
        {
            _connection?.Fail(new ObjectDisposedException(nameof(ZooKeeperClient)));
            if (_connection is { } c)
            {
                await c.Completion.ConfigureAwait(false);
                _connection = null;
            }

            _outgoing.Writer.TryComplete();
            FailQueued(null);
        }
    }

    /// <summary>
    /// Runs while connected to a read-only server: asks every other server <c>isro</c> (the four-letter word a server
    /// answers with <c>rw</c> or <c>ro</c>; enabled on servers running with <c>readonlymode.enabled=true</c>), first
    /// after <see cref="ReadOnlyProbeFirstDelay"/>, then with the delay doubling per round up to
    /// <see cref="ReadOnlyProbeMaxDelay"/>. On the first <c>rw</c> it makes that server the next one tried and drops the
    /// read-only connection, so the session loop reconnects there (requests in flight fail with ConnectionLoss).
    /// </summary>
    private async Task ProbeReadWriteAsync(ZooKeeperConnection connection, HostAndPort current, CancellationToken cancellationToken)
    {
        var delay = ReadOnlyProbeFirstDelay;
        try
        {
            while (true)
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < _hosts.Length; i++)
                {
                    var candidate = _hosts[i];
                    if (candidate.Equals(current))
                    {
                        continue;
                    }

                    if (await AskIsroAsync(candidate, cancellationToken).ConfigureAwait(false) == "rw")
                    {
                        Log.ReadWriteServerFound(_logger, candidate.ToString(), current.ToString());
                        Volatile.Write(ref _hostIndex, i);
                        connection.Fail(new ConnectionLossException(null, requestSent: true, $"Left read-only server {current} for read-write server {candidate}."));
                        return;
                    }
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, ReadOnlyProbeMaxDelay.Ticks));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The read-only connection ended (or the client closes).
        }
    }

    /// <summary>
    /// A read-write session (one a read-write server accepted) cannot be re-attached on a read-only server: ZooKeeper
    /// 3.6+ (<c>ReadOnlyZooKeeperServer.validateSession</c>) closes such a handshake ("Refusing global session
    /// reconnection in RO mode") and accepts only new read-only sessions. The Java client then simply keeps trying
    /// (it sends its session id once it has seen a read-write server), and so do we; this only tells the user why,
    /// once per outage: when a handshake of such a session is closed, it asks that server <c>isro</c>.
    /// </summary>
    private async Task ExplainReadOnlyRefusalAsync(Exception error, HostAndPort server, long sessionId, CancellationToken cancellationToken)
    {
        if (!_canBeReadOnly || _readOnlyRefusalExplained || sessionId == 0 || !_seenReadWriteServer || error is not ConnectionLossException)
        {
            return;
        }

        try
        {
            if (await AskIsroAsync(server, cancellationToken).ConfigureAwait(false) == "ro")
            {
                _readOnlyRefusalExplained = true;
                Log.ReadOnlyServerRefusedSession(_logger, server.ToString(), sessionId);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Closing.
        }
    }

    /// <summary>What <paramref name="server"/> answers to <c>isro</c> within a second (<c>rw</c> or <c>ro</c>); null on any failure.</summary>
    private async Task<string?> AskIsroAsync(HostAndPort server, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1), _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(server.Host, server.Port, linked.Token).ConfigureAwait(false);
            await socket.SendAsync("isro"u8.ToArray(), linked.Token).ConfigureAwait(false);
            var buffer = new byte[8];
            var length = 0;
            while (length < buffer.Length)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(length), linked.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                length += n;
            }

            var answer = buffer.AsSpan(0, length);
            return answer.SequenceEqual("rw"u8) ? "rw" : answer.SequenceEqual("ro"u8) ? "ro" : null;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }

    /// <summary>
    /// Fails <paramref name="operation"/> with <see cref="ServerVersionException"/> when the connected server is older
    /// than <paramref name="required"/>. The version comes from the server's <c>srvr</c> answer (always enabled since
    /// 3.5, whatever <c>4lw.commands.whitelist</c> says), asked once per connection on the first gated operation. When
    /// disconnected or when <c>srvr</c> gives no version, the operation goes ahead.
    /// </summary>
    private async ValueTask EnsureServerSupportsAsync(string operation, Version required, string? path, CancellationToken cancellationToken)
    {
        if (_connection is not { } connection)
        {
            return;
        }

        var version = await connection.GetServerVersion(DetectServerVersionAsync).WaitAsync(cancellationToken).ConfigureAwait(false);
        ServerFeatures.Check(operation, required, version, connection.Server.ToString(), path);
    }

    private async Task<Version?> DetectServerVersionAsync(HostAndPort server)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2), _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_shutdown.Token, timeout.Token);
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(server.Host, server.Port, linked.Token).ConfigureAwait(false);
            await socket.SendAsync("srvr"u8.ToArray(), linked.Token).ConfigureAwait(false);
            var buffer = new byte[4096];
            var length = 0;
            while (length < buffer.Length)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(length), linked.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                length += n;
            }

            var version = ServerFeatures.ParseSrvr(Encoding.ASCII.GetString(buffer, 0, length));
            Log.ServerVersion(_logger, server.ToString(), version?.ToString() ?? "unknown");
            return version;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or OperationCanceledException)
        {
            Log.ServerVersion(_logger, server.ToString(), "unknown (" + ex.GetType().Name + ")");
            return null;
        }
    }

    /// <summary>Fails every request still queued (never sent): ConnectionLoss while the session lives, else the terminal error.</summary>
    private void FailQueued(Exception? reason)
    {
        while (_outgoing.Reader.TryRead(out var r))
        {
            if (ReferenceEquals(r, Request.PingMarker) || ReferenceEquals(r, Request.WakeupMarker))
            {
                continue;
            }

            var terminal = IsTerminal(State) || reason is null;
            r.TryComplete(terminal
                ? TerminalException(r.Path)
                : new ConnectionLossException(r.Path, requestSent: false, $"Not connected: {reason!.Message}", reason));
        }
    }

    private TimeSpan? SessionRemaining()
    {
        if (SessionId == 0 || !_seenReadWriteServer)
        {
            return null;
        }

        return TimeSpan.FromMilliseconds(Volatile.Read(ref _negotiatedTimeoutMs)) - _time.GetElapsedTime(Interlocked.Read(ref _lastContact));
    }

    private void TouchContact(long timestamp)
    {
        if (timestamp > Interlocked.Read(ref _lastContact))
        {
            Interlocked.Exchange(ref _lastContact, timestamp);
        }
    }

    private TimeSpan Backoff(int round) => Shared.Backoff.Delay(_backoff, _maxBackoff, round);

    private List<Request> AuthPackets()
    {
        var packets = new List<Request>();
        lock (_auth)
        {
            foreach (var (scheme, data) in _auth)
            {
                var r = new Request();
                r.Reset();
                r.OpCode = OpCode.Auth;
                r.AuthScheme = scheme;
                r.Data = data;
                packets.Add(r);
            }
        }

        return packets;
    }

    /// <summary>SetWatches2 requests for every registered watch, each under <see cref="SetWatchesBatchBytes"/>.</summary>
    private List<Request> SetWatchesBatches()
    {
        var snapshot = _watches.Snapshot();
        var batches = new List<Request>();
        if (snapshot.Count == 0)
        {
            return batches;
        }

        var lists = new[] { new List<string>(), new List<string>(), new List<string>(), new List<string>(), new List<string>() };
        var size = 0;
        void Flush()
        {
            var r = new Request();
            r.Reset();
            r.OpCode = OpCode.SetWatches2;
            r.Ttl = LastZxid; // relativeZxid
            r.Watches = new WatchSnapshot([.. lists[0]], [.. lists[1]], [.. lists[2]], [.. lists[3]], [.. lists[4]]);
            batches.Add(r);
            foreach (var list in lists)
            {
                list.Clear();
            }

            size = 0;
        }

        IReadOnlyList<string>[] sources = [snapshot.Data, snapshot.Exist, snapshot.Child, snapshot.Persistent, snapshot.PersistentRecursive];
        for (var kind = 0; kind < sources.Length; kind++)
        {
            foreach (var path in sources[kind])
            {
                var bytes = 4 + _chrootBytes.Length + Encoding.UTF8.GetByteCount(path);
                if (size > 0 && size + bytes > SetWatchesBatchBytes)
                {
                    Flush();
                }

                lists[kind].Add(path);
                size += bytes;
            }
        }

        if (size > 0)
        {
            Flush();
        }

        Log.SettingWatches(_logger, snapshot.Count, batches.Count, LastZxid);
        return batches;
    }

    private void Expire(string reason, bool clientSide)
    {
        Log.SessionExpired(_logger, SessionId, reason);
        _metrics.SessionExpired();
        EnterTerminal(ZooKeeperState.Expired, new SessionExpiredException(null, $"Session 0x{SessionId:x} expired: {reason}{(clientSide ? " (declared by the client)" : string.Empty)}."));
    }

    /// <summary>Moves to a terminal state once: fails the connection and queue, tells watchers, stops the session loop.</summary>
    private void EnterTerminal(ZooKeeperState state, Exception error)
    {
        lock (_stateLock)
        {
            if (IsTerminal(_state))
            {
                return;
            }

            _terminalError = error;
            SetStateLocked(state, error);
        }

        _outgoing.Writer.TryComplete();
        _connection?.Fail(error);
        _shutdown.Cancel();
        _firstConnected.TrySetException(error is ObjectDisposedException ? new ConnectionLossException(null, requestSent: false, "The client was closed before it connected.", error) : error);
    }

    private void SetState(ZooKeeperState state, Exception? reason)
    {
        lock (_stateLock)
        {
            if (!IsTerminal(_state))
            {
                SetStateLocked(state, reason);
            }
        }
    }

    /// <summary>Called by a started connection as it fails, before it fails its pending requests.</summary>
    internal void OnConnectionLost(ZooKeeperConnection connection, Exception reason)
    {
        if (!ReferenceEquals(_connection, connection) || _closing)
        {
            return;
        }

        _connection = null;
        TouchContact(connection.LastReceiveTimestamp);
        _metrics.ConnectionLost();
        SetState(ZooKeeperState.Suspended, reason);
    }

    private void SetStateLocked(ZooKeeperState state, Exception? reason)
    {
        var previous = _state;
        if (previous == state)
        {
            return;
        }

        _state = state;
        Log.StateChanged(_logger, previous, state);
        var change = new ZooKeeperStateChange(previous, state, SessionId, state is ZooKeeperState.Connected or ZooKeeperState.ConnectedReadOnly ? _connection?.Server.ToString() : null, reason);
        foreach (var subscriber in _subscribers)
        {
            subscriber.Writer.TryWrite(change);
            if (change.IsTerminal)
            {
                subscriber.Writer.TryComplete();
            }
        }

        Post(new DispatchItem(null, null, null, change));

        // None events to every watcher, as the Java client does (ZKWatchManager.materialize for EventType.None).
        var keeperState = state switch
        {
            ZooKeeperState.Suspended => KeeperState.Disconnected,
            ZooKeeperState.Connected => KeeperState.SyncConnected,
            ZooKeeperState.ConnectedReadOnly => KeeperState.ConnectedReadOnly,
            ZooKeeperState.Expired => KeeperState.Expired,
            ZooKeeperState.AuthFailed => KeeperState.AuthFailed,
            _ => KeeperState.Closed,
        };
        if (state is ZooKeeperState.Connected or ZooKeeperState.ConnectedReadOnly && previous == ZooKeeperState.Connecting)
        {
            return;
        }

        var watchers = _watches.All(clear: IsTerminal(state));
        if (watchers.Count > 0)
        {
            var evt = new WatchedEvent(EventType.None, keeperState, null) { EventsMayHaveBeenMissed = previous == ZooKeeperState.Suspended };
            Post(new DispatchItem(evt, null, watchers, null));
        }
    }

    /// <summary>
    /// The dispatcher: a dedicated thread (started LongRunning, its task awaited on dispose) that runs watchers and
    /// state handlers in the order they were posted, so user code never runs on the read loop and a slow handler delays
    /// only later events, not replies.
    /// </summary>
    private void DispatchLoop()
    {
        t_dispatching = this;
        var batch = new List<DispatchItem>();
        while (_events.Take(ref batch))
        {
            foreach (var item in batch)
            {
                Dispatch(item);
            }

            batch.Clear();
        }
    }

    private void Dispatch(DispatchItem item)
    {
        if (item.Change is { } change)
        {
            var handlers = StateChanged;
            if (handlers is null)
            {
                return;
            }

            foreach (var handler in handlers.GetInvocationList())
            {
                try
                {
                    ((EventHandler<ZooKeeperStateChange>)handler)(this, change);
                }
                catch (Exception ex)
                {
                    _metrics.HandlerError();
                    Log.StateHandlerFailed(_logger, change.Current, ex);
                }
            }

            return;
        }

        var evt = item.Event!;
        if (item.Watcher is { } single)
        {
            Invoke(single, evt);
        }

        if (item.Watchers is { } many)
        {
            foreach (var watcher in many)
            {
                Invoke(watcher, evt);
            }
        }
    }

    private void Invoke(Action<WatchedEvent> watcher, WatchedEvent evt)
    {
        try
        {
            watcher(evt);
        }
        catch (Exception ex)
        {
            _metrics.HandlerError();
            Log.WatcherFailed(_logger, evt.Type, evt.Path, ex);
        }
    }
}
