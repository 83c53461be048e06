using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Metrics.Coordination.ZooKeeper;

/// <summary>The server's answer to a connect request.</summary>
internal readonly record struct ConnectResponse(int TimeoutMs, long SessionId, byte[] Password, bool ReadOnly);

/// <summary>
/// One TCP connection to one server: the handshake, then one writer loop (drains the client's outgoing channel,
/// assigns xids in send order, appends to the pending FIFO, batches frames into the pipe), one read loop (frames
/// parsed in place from the pipe, replies matched FIFO by xid, special xids out of band) and one monitor loop (pings
/// after a third of the timeout idle, read timeout after two thirds). Any failure (I/O, timeout, protocol violation)
/// ends the connection once: every pending request fails with ConnectionLoss and <see cref="Completion"/> yields the
/// reason. A connection is never resynchronized; the session makes a new one.
/// </summary>
internal sealed class ZooKeeperConnection
{
    // Frames are copied into the pipe and flushed when the outgoing channel is momentarily empty, or every 64 KiB so a
    // long burst (1,000 pipelined requests) reaches the server while later ones are still being encoded.
    private const int FlushThreshold = 64 * 1024;

    // Stack copies for a frame's 4-byte length and a reply header that straddle pipe segments.
    private const int LengthPrefix = 4;

    // ReplyHeader { int xid; long zxid; int err }.
    private const int ReplyHeaderBytes = 16;

    private readonly ZooKeeperClient _client;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private readonly JuteWriter _scratch = new();
    private readonly ChannelReader<Request> _outgoing;
    private readonly ChannelWriter<Request> _outgoingWriter;
    private readonly byte[] _chroot;
    private readonly int _maxFrame;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Queue<Request> _pending = new();
    private readonly Queue<Request?> _authPending = new();
    private readonly TaskCompletionSource<Exception> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly long _openedAt;
    private bool _isFailed;
    private int _nextXid = 1;
    private long _lastSend;
    private long _lastReceive;
    private TimeSpan _pingInterval;
    private TimeSpan _readTimeout;
    private Task? _run;
    private Task<Version?>? _serverVersion;

    private ZooKeeperConnection(ZooKeeperClient client, Socket socket, HostAndPort server, Channel<Request> outgoing, byte[] chroot, int maxFrame, TimeProvider time)
    {
        _client = client;
        _socket = socket;
        Server = server;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024, leaveOpen: true));
        _writer = PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: 64 * 1024, leaveOpen: true));
        _outgoing = outgoing.Reader;
        _outgoingWriter = outgoing.Writer;
        _chroot = chroot;
        _maxFrame = maxFrame;
        _time = time;
        _openedAt = time.GetTimestamp();
        _lastSend = _lastReceive = _openedAt;
    }

    public HostAndPort Server { get; }

    /// <summary>The server's version, detected once per connection by <paramref name="detect"/> on first need (null: unknown).</summary>
    public Task<Version?> GetServerVersion(Func<HostAndPort, Task<Version?>> detect)
    {
        var task = Volatile.Read(ref _serverVersion);
        if (task is null)
        {
            var created = detect(Server);
            task = Interlocked.CompareExchange(ref _serverVersion, created, null) ?? created;
        }

        return task;
    }

    /// <summary>Ends (with the reason) once the connection failed and every loop has stopped.</summary>
    public Task<Exception> Completion => (Task<Exception>?)_run ?? _failed.Task;

    public long LastReceiveTimestamp => Volatile.Read(ref _lastReceive);

    public TimeSpan Age => _time.GetElapsedTime(_openedAt);

    public int PendingCount
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Opens a TCP connection and performs the handshake; throws on refusal, timeout, or a protocol error.</summary>
    public static async Task<(ZooKeeperConnection Connection, ConnectResponse Response)> ConnectAsync(
        ZooKeeperClient client,
        HostAndPort server,
        Channel<Request> outgoing,
        byte[] chroot,
        int maxFrame,
        TimeProvider time,
        long lastZxid,
        int timeoutMs,
        long sessionId,
        byte[] password,
        bool readOnly,
        CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        ZooKeeperConnection? connection = null;
        try
        {
            await socket.ConnectAsync(server.Host, server.Port, cancellationToken).ConfigureAwait(false);
            connection = new ZooKeeperConnection(client, socket, server, outgoing, chroot, maxFrame, time);
            var response = await connection.HandshakeAsync(lastZxid, timeoutMs, sessionId, password, readOnly, cancellationToken).ConfigureAwait(false);
            return (connection, response);
        }
        catch
        {
            if (connection is not null)
            {
                await connection.DisposeTransportAsync().ConfigureAwait(false);
            }
            else
            {
                socket.Dispose();
            }

            throw;
        }
    }

    /// <summary>Writes the preamble (auth packets, then SetWatches2 batches), then starts the loops.</summary>
    public void Start(int negotiatedTimeoutMs, IReadOnlyList<Request> authPackets, IReadOnlyList<Request> setWatches)
    {
        var timeout = TimeSpan.FromMilliseconds(negotiatedTimeoutMs);
        _readTimeout = timeout * 2 / 3;
        _pingInterval = timeout / 3;
        lock (_lock)
        {
            foreach (var auth in authPackets)
            {
                WriteFrame(auth, Xids.Auth);
                _authPending.Enqueue(null);
            }

            foreach (var batch in setWatches)
            {
                WriteFrame(batch, Xids.SetWatches);
                batch.Xid = Xids.SetWatches;
                batch.Sent = true;
                _pending.Enqueue(batch);
            }
        }

        _run = RunAsync();
    }

    /// <summary>Ends a connection whose loops never started (handshake answered "expired").</summary>
    public async Task AbortAsync(Exception reason)
    {
        Fail(reason);
        if (_run is null)
        {
            await DisposeTransportAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Ends the connection (once): fails pending requests with ConnectionLoss and stops the loops.</summary>
    public void Fail(Exception reason)
    {
        Request[] pending;
        Request?[] auth;
        lock (_lock)
        {
            if (_isFailed)
            {
                return;
            }

            _isFailed = true;
            pending = [.. _pending];
            auth = [.. _authPending];
            _pending.Clear();
            _authPending.Clear();
        }

        _stop.Cancel();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception)
        {
            // Already closed by the peer.
        }

        _socket.Dispose();
        _outgoingWriter.TryWrite(Request.WakeupMarker);

        // The state turns Suspended before any caller sees its ConnectionLoss, so a caller that reacts by waiting
        // for the connection does not see a stale Connected.
        if (_run is not null)
        {
            _client.OnConnectionLost(this, reason);
        }

        foreach (var request in pending)
        {
            request.TryComplete(new ConnectionLossException(request.Path, requestSent: true, $"Connection to {Server} lost while the request was outstanding: {reason.Message}", reason));
        }

        foreach (var request in auth)
        {
            request?.TryComplete(new ConnectionLossException(null, requestSent: true, $"Connection to {Server} lost before the auth reply: {reason.Message}", reason));
        }

        _failed.TrySetResult(reason);
    }

    private async Task<Exception> RunAsync()
    {
        var loops = new[] { ReadLoopAsync(), WriteLoopAsync(), MonitorLoopAsync() };
        var reason = await _failed.Task.ConfigureAwait(false);
        try
        {
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Each loop reports its failure through Fail; nothing more to learn here.
        }

        await DisposeTransportAsync().ConfigureAwait(false);
        return reason;
    }

    private async Task DisposeTransportAsync()
    {
        _stop.Cancel();
        await _reader.CompleteAsync().ConfigureAwait(false);
        try
        {
            await _writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Flushing leftovers into a closed socket.
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task<ConnectResponse> HandshakeAsync(long lastZxid, int timeoutMs, long sessionId, byte[] password, bool readOnly, CancellationToken cancellationToken)
    {
        _scratch.Reset();
        _scratch.BeginFrame();
        _scratch.WriteInt(0); // protocolVersion
        _scratch.WriteLong(lastZxid);
        _scratch.WriteInt(timeoutMs);
        _scratch.WriteLong(sessionId);
        _scratch.WriteBuffer(password);
        _scratch.WriteBool(readOnly);
        _scratch.EndFrame();
        _writer.Write(_scratch.Written);
        _scratch.Reset();
        await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);

        // The Java client writes nothing more until the response arrives: a server that answers "expired" and closes
        // could otherwise reset the connection and lose that answer.
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (TryTakeFrame(ref buffer, out var frame))
            {
                var response = ParseConnectResponse(frame, Server);
                _reader.AdvanceTo(buffer.Start);
                Volatile.Write(ref _lastReceive, _time.GetTimestamp());
                return response;
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new ConnectionLossException(null, requestSent: false, $"{Server} closed the connection during the handshake (it may be behind our last zxid 0x{lastZxid:x}, or read-only).");
            }
        }
    }

    private static ConnectResponse ParseConnectResponse(ReadOnlySequence<byte> frame, HostAndPort server)
    {
        Span<byte> copy = stackalloc byte[64];
        if (frame.Length > copy.Length)
        {
            throw new ZooKeeperProtocolException($"connect response of {frame.Length} bytes (expected 36 or 37)");
        }

        frame.CopyTo(copy);
        var reader = new JuteReader(copy[..(int)frame.Length]);
        if (frame.Length == ReplyHeaderBytes)
        {
            // Not a ConnectResponse but a bare ReplyHeader {xid 0, zxid 0, err}: ZooKeeper 3.8 answers this way when it
            // cannot create the session, as a read-only server does (err -119 NotReadOnly) unless the servers run
            // with localSessionsEnabled=true (a new read-only session is a local one). Seen on the Debian 3.8.0 server.
            reader.ReadInt(); // xid
            reader.ReadLong(); // zxid
            var code = (ErrorCode)reader.ReadInt();
            var hint = code == ErrorCode.NotReadOnly ? " (a read-only server creates sessions only when the servers run with localSessionsEnabled=true)" : string.Empty;
            throw new ConnectionLossException(null, requestSent: false, $"{server} refused to create a session with error {code} ({(int)code}){hint}.", ZooKeeperException.Create(code));
        }

        reader.ReadInt(); // protocolVersion
        var timeout = reader.ReadInt();
        var sessionId = reader.ReadLong();
        var password = reader.ReadBuffer() ?? [];
        var readOnly = reader.Remaining > 0 && reader.ReadBool(); // absent from very old servers
        return new ConnectResponse(timeout, sessionId, password, readOnly);
    }

    /// <summary>Takes one complete frame body off the front of <paramref name="buffer"/>; checks the length first.</summary>
    private bool TryTakeFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> frame)
    {
        frame = default;
        if (buffer.Length < LengthPrefix)
        {
            return false;
        }

        int length;
        if (buffer.FirstSpan.Length >= LengthPrefix)
        {
            length = BinaryPrimitives.ReadInt32BigEndian(buffer.FirstSpan);
        }
        else
        {
            Span<byte> prefix = stackalloc byte[LengthPrefix];
            buffer.Slice(0, LengthPrefix).CopyTo(prefix);
            length = BinaryPrimitives.ReadInt32BigEndian(prefix);
        }

        if (length < 0 || length > _maxFrame)
        {
            throw new ZooKeeperProtocolException($"frame length {length} outside 0..{_maxFrame} (MaxFrameSize)");
        }

        if (buffer.Length < LengthPrefix + length)
        {
            return false;
        }

        frame = buffer.Slice(LengthPrefix, length);
        buffer = buffer.Slice(LengthPrefix + length);
        return true;
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var result = await _reader.ReadAsync(_stop.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                var any = false;
                while (!Volatile.Read(ref _isFailed) && TryTakeFrame(ref buffer, out var frame))
                {
                    any = true;
                    ProcessFrame(frame);
                }

                if (Volatile.Read(ref _isFailed))
                {
                    return;
                }

                if (any)
                {
                    Volatile.Write(ref _lastReceive, _time.GetTimestamp());
                }

                _reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    throw new ConnectionLossException(null, requestSent: true, $"{Server} closed the connection.");
                }
            }
        }
        catch (ZooKeeperProtocolException ex)
        {
            _client.OnProtocolViolation(Server, ex);
            Fail(ex);
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    private void ProcessFrame(ReadOnlySequence<byte> frame)
    {
        if (frame.IsSingleSegment)
        {
            ProcessFrame(frame.FirstSpan);
            return;
        }

        var length = (int)frame.Length;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            frame.CopyTo(rented);
            ProcessFrame(rented.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private void ProcessFrame(ReadOnlySpan<byte> body)
    {
        var reader = new JuteReader(body);
        var xid = reader.ReadInt();
        var zxid = reader.ReadLong();
        var err = reader.ReadInt();
        switch (xid)
        {
            case Xids.Notification:
                // 3.8 sends zxid -1 here; the head branch sends the triggering zxid. Neither feeds lastZxid.
                _client.OnNotification(ref reader);
                return;
            case Xids.Ping:
                _client.ObserveZxid(zxid);
                return;
            case Xids.Auth:
                Request? waiter;
                lock (_lock)
                {
                    if (!_authPending.TryDequeue(out waiter))
                    {
                        throw new ZooKeeperProtocolException("auth reply without an auth request");
                    }
                }

                _client.OnAuthReply(waiter, (ErrorCode)err, this);
                return;
            default:
                break;
        }

        Request? request;
        lock (_lock)
        {
            if (!_pending.TryDequeue(out request))
            {
                throw new ZooKeeperProtocolException($"reply with xid {xid} while no request is pending");
            }
        }

        if (request.Xid != xid)
        {
            var error = new ZooKeeperProtocolException($"xid out of order: got {xid}, expected {request.Xid}");
            request.TryComplete(new ConnectionLossException(request.Path, requestSent: true, error.Message, error));
            throw error;
        }

        _client.ObserveZxid(zxid);
        try
        {
            _client.OnReply(request, (ErrorCode)err, ref reader);
        }
        catch (Exception ex)
        {
            // Dequeued already, so Fail() would not see it: fail it here, then break the connection.
            request.TryComplete(new ConnectionLossException(request.Path, requestSent: true, $"Malformed reply from {Server}: {ex.Message}", ex));
            throw;
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            while (true)
            {
                while (_outgoing.TryRead(out var request))
                {
                    if (!Write(request))
                    {
                        return;
                    }

                    if (_scratch.Length >= FlushThreshold)
                    {
                        await FlushAsync().ConfigureAwait(false);
                    }
                }

                if (_scratch.Length > 0)
                {
                    await FlushAsync().ConfigureAwait(false);
                }

                if (Volatile.Read(ref _isFailed))
                {
                    return;
                }

                // No token: a cancellable wait allocates per call. Fail() wakes this with a marker instead.
                if (!await _outgoing.WaitToReadAsync().ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    private async ValueTask FlushAsync()
    {
        _writer.Write(_scratch.Written);
        _scratch.Reset();
        await _writer.FlushAsync(_stop.Token).ConfigureAwait(false);
        Volatile.Write(ref _lastSend, _time.GetTimestamp());
    }

    /// <summary>Encodes one request into the batch; false once the connection has failed (the request then fails unsent).</summary>
    private bool Write(Request request)
    {
        if (ReferenceEquals(request, Request.WakeupMarker))
        {
            return !Volatile.Read(ref _isFailed);
        }

        if (ReferenceEquals(request, Request.PingMarker))
        {
            if (Volatile.Read(ref _isFailed))
            {
                return false;
            }

            _scratch.BeginFrame();
            _scratch.WriteInt(Xids.Ping);
            _scratch.WriteInt((int)OpCode.Ping);
            _scratch.EndFrame();
            return true;
        }

        if (request.IsCompleted)
        {
            // Cancelled before it was sent: it never gets an xid, so the stream stays in step.
            return true;
        }

        var start = _scratch.Length;
        var isAuth = request.OpCode == OpCode.Auth;
        var xid = isAuth ? Xids.Auth : _nextXid;
        int body;
        try
        {
            body = WriteFrame(request, xid);
        }
        catch (Exception ex)
        {
            _scratch.Truncate(start);
            request.TryComplete(ex);
            return true;
        }

        if (body > _maxFrame)
        {
            _scratch.Truncate(start);
            request.TryComplete(new BadArgumentsException(request.Path, $"The request is {body} bytes, over the {_maxFrame}-byte frame limit (jute.maxbuffer)."));
            return true;
        }

        lock (_lock)
        {
            if (_isFailed)
            {
                _scratch.Truncate(start);
                request.TryComplete(new ConnectionLossException(request.Path, requestSent: false, $"Connection to {Server} lost before the request was sent."));
                return false;
            }

            request.Sent = true;
            if (isAuth)
            {
                _authPending.Enqueue(request);
            }
            else
            {
                request.Xid = xid;
                _nextXid = xid == int.MaxValue ? 1 : xid + 1;
                _pending.Enqueue(request);
            }
        }

        return true;
    }

    /// <summary>Encodes request header + body as one frame; returns the body length.</summary>
    private int WriteFrame(Request r, int xid)
    {
        var w = _scratch;
        w.BeginFrame();
        w.WriteInt(xid);
        w.WriteInt((int)r.OpCode);
        switch (r.OpCode)
        {
            case OpCode.Create2:
            case OpCode.CreateContainer:
            case OpCode.CreateTtl:
                WriteCreate(w, r.Path!, r.Data.Span, r.Acl!, r.Mode, r.Ttl);
                break;
            case OpCode.Delete:
                w.WritePath(_chroot, r.Path!);
                w.WriteInt(r.Version);
                break;
            case OpCode.Exists:
            case OpCode.GetData:
            case OpCode.GetChildren:
            case OpCode.GetChildren2:
                w.WritePath(_chroot, r.Path!);
                w.WriteBool(r.Watcher is not null);
                break;
            case OpCode.SetData:
                w.WritePath(_chroot, r.Path!);
                w.WriteBuffer(r.Data.Span);
                w.WriteInt(r.Version);
                break;
            case OpCode.GetAcl:
            case OpCode.Sync:
            case OpCode.GetEphemerals:
            case OpCode.GetAllChildrenNumber:
                w.WritePath(_chroot, r.Path!);
                break;
            case OpCode.SetAcl:
                w.WritePath(_chroot, r.Path!);
                w.WriteAcl(r.Acl!);
                w.WriteInt(r.Version);
                break;
            case OpCode.AddWatch:
            case OpCode.RemoveWatches:
            case OpCode.CheckWatches:
                w.WritePath(_chroot, r.Path!);
                w.WriteInt(r.IntArgument);
                break;
            case OpCode.Multi:
                WriteMulti(w, r.Ops!);
                break;
            case OpCode.Auth:
                w.WriteInt(0);
                w.WriteString(r.AuthScheme);
                w.WriteBuffer(r.Data.Span);
                break;
            case OpCode.SetWatches2:
                var s = r.Watches!;
                w.WriteLong(r.Ttl); // relativeZxid
                WritePaths(w, s.Data);
                WritePaths(w, s.Exist);
                WritePaths(w, s.Child);
                WritePaths(w, s.Persistent);
                WritePaths(w, s.PersistentRecursive);
                break;
            case OpCode.CloseSession:
                break;
            default:
                throw new InvalidOperationException($"No encoder for {r.OpCode}.");
        }

        return w.EndFrame();
    }

    private void WritePaths(JuteWriter w, IReadOnlyList<string> paths)
    {
        w.WriteInt(paths.Count);
        foreach (var path in paths)
        {
            w.WritePath(_chroot, path);
        }
    }

    private void WriteCreate(JuteWriter w, string path, ReadOnlySpan<byte> data, IReadOnlyList<Acl> acl, CreateMode mode, long ttl)
    {
        w.WritePath(_chroot, path);
        w.WriteBuffer(data);
        w.WriteAcl(acl);
        w.WriteInt((int)mode);
        if (mode is CreateMode.PersistentWithTtl or CreateMode.PersistentSequentialWithTtl)
        {
            w.WriteLong(ttl);
        }
    }

    private void WriteMulti(JuteWriter w, IReadOnlyList<Op> ops)
    {
        foreach (var op in ops)
        {
            w.WriteInt((int)op.OpCode);
            w.WriteBool(false);
            w.WriteInt(-1);
            switch (op)
            {
                case Op.CreateOp c:
                    WriteCreate(w, c.Path, c.Data.Span, c.Acl, c.Mode, c.Ttl);
                    break;
                case Op.DeleteOp d:
                    w.WritePath(_chroot, d.Path);
                    w.WriteInt(d.Version);
                    break;
                case Op.SetDataOp s:
                    w.WritePath(_chroot, s.Path);
                    w.WriteBuffer(s.Data.Span);
                    w.WriteInt(s.Version);
                    break;
                case Op.CheckOp k:
                    w.WritePath(_chroot, k.Path);
                    w.WriteInt(k.Version);
                    break;
                default:
                    throw new ArgumentException($"Unsupported multi operation {op.GetType().Name}.");
            }
        }

        w.WriteInt(-1);
        w.WriteBool(true);
        w.WriteInt(-1);
    }

    private async Task MonitorLoopAsync()
    {
        // Checked ten times per session timeout: a ping goes out between 1/3 and ~1/2 of the timeout of idleness
        // (the server expires at 1, plus up to one tick), and a silent server is noticed shortly after 2/3.
        var tick = TimeSpan.FromTicks(Math.Max(_pingInterval.Ticks * 3 / 10, TimeSpan.FromMilliseconds(10).Ticks));
        try
        {
            while (!Volatile.Read(ref _isFailed))
            {
                await Task.Delay(tick, _time, _stop.Token).ConfigureAwait(false);
                if (_time.GetElapsedTime(Volatile.Read(ref _lastReceive)) > _readTimeout)
                {
                    Fail(new ConnectionLossException(null, requestSent: true, $"No frame from {Server} for {_readTimeout.TotalMilliseconds:0} ms (two thirds of the session timeout)."));
                    return;
                }

                if (_time.GetElapsedTime(Volatile.Read(ref _lastSend)) >= _pingInterval)
                {
                    _outgoingWriter.TryWrite(Request.PingMarker);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Connection ended.
        }
    }
}
