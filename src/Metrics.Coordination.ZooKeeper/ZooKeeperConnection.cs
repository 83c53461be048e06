using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Metrics.Coordination.ZooKeeper;

/// <summary>The server's answer to a connect request.</summary>
internal readonly record struct ConnectResponse(int TimeoutMs, long SessionId, byte[] Password, bool ReadOnly);

/// <summary>
/// One TCP connection to one server, on a blocking socket: the handshake (on a short-lived connect thread), then one
/// receive thread (blocking receives into a <see cref="Pipe"/>, frames parsed in place from its buffer sequence,
/// replies matched FIFO by xid, special xids out of band), one
/// writer loop (drains the client's outgoing channel, assigns xids in send order, appends to the pending FIFO, batches
/// frames and sends them; a small request submitted while the writer is idle is sent the same way on the submitting
/// thread, see <see cref="TrySendInline"/>) and one monitor loop (pings after a third of the timeout idle, read timeout
/// after two thirds). Any failure (I/O, timeout, protocol violation) ends the connection once: every pending request
/// fails with ConnectionLoss and <see cref="Completion"/> yields the reason once every loop and thread has stopped. A
/// connection is never resynchronized; the session makes a new one.
/// </summary>
/// <remarks>
/// <para>
/// Why a thread and a blocking socket: a reply or notification read through the async socket path goes kernel →
/// epoll thread → thread-pool worker → our parser. On a quiet 2-core machine the worker wake-up put our watch
/// notification p99 at 2.4–3.2 ms where a client reading a blocking socket on its own thread, and kazoo, stayed at
/// 0.5–0.9 ms (benchmarks/README.md, "Watch latency"; the Java client too reads on its own I/O thread). Here the
/// kernel wakes the receive thread directly, and the parser hands notifications to the dispatcher thread and replies
/// to the pool (both with continuations run asynchronously), so user code still never runs on the receive thread.
/// </para>
/// <para>
/// The socket must stay blocking at the OS level: in .NET one async call on a socket makes its descriptor non-blocking
/// for good and every later synchronous call is emulated on the epoll thread, which is the hop we remove. So connect,
/// handshake and send are synchronous too. Connect and handshake run on their own short-lived thread, cancelled by
/// closing the socket from a cancellation registration (that wakes a blocked connect, send or receive on Linux).
/// Sends run on the writer loop (a thread-pool task that awaits the outgoing channel): a blocking send only copies into
/// the kernel's send buffer (hundreds of KiB on loopback, autotuned) and returns at once, the writer hop measured
/// ≤ 0.012 ms p99; it blocks only when the server stops reading, and then for at most the send timeout (two thirds of
/// the session timeout, as the read timeout), after which the connection is lost. A dedicated writer thread would need
/// a synchronous wake-up per request for no measured gain, so the writer stays a pool task.
/// </para>
/// <para>
/// Why a request may be sent on its caller's thread: the hop to the writer loop is a thread-pool wake-up, cheap on a
/// quiet machine but on a busy one a wait for a CPU like any other wake-up (measured on 2 cores with 4 CPU-bound
/// processes: submit → writer 0.1–33 ms, the largest single step of a leader hand-over's children list in its worst
/// trials). When nothing is queued and the writer holds no frame, the caller encodes and sends its own request under
/// the writer's lock, which keeps the order on the wire the order of submission (xid order = pending order). Only small
/// requests go this way, and only while fewer than <see cref="InlineMaxUnanswered"/> requests and at most
/// <see cref="InlineUnansweredLimit"/> request bytes are unanswered (a pipelined burst still goes through the writer's
/// batches), so the send copies into a socket buffer with room and returns at once; a server that stopped reading would
/// block it, bounded by the same send timeout (ConnectionLoss). Never on the receive thread, and not on a thread-pool
/// thread: there the writer's work item is usually run by the same thread as soon as it awaits (no wake-up), while an
/// inline send (on loopback the send runs the server's receive path and may hand it the CPU) would delay work that
/// thread queued before, such as a leader's callback (measured: +1 ms under load). So it is the dispatcher thread
/// (watchers, and recipes' loops run inline by a watch event) and the application's own threads that send inline.
/// </para>
/// </remarks>
internal sealed class ZooKeeperConnection
{
    // Frames are batched in the scratch writer and sent when the outgoing channel is momentarily empty, or every 64 KiB
    // so a long burst (1,000 pipelined requests) reaches the server while later ones are still being encoded.
    private const int FlushThreshold = 64 * 1024;

    // The inbound pipe's segments: 64 KiB holds a burst of ~1,000 small replies per receive call; a larger frame (up
    // to MaxFrameSize) spans segments and is copied out once whole.
    private const int ReceiveSegmentBytes = 64 * 1024;

    // Each receive asks the pipe for at least this much room (a new segment when less is left in the current one).
    private const int MinReceiveBytes = 16 * 1024;

    // The receive thread is the pipe's only writer and only reader and runs both ends synchronously: no scheduler
    // hops (inline), and no back-pressure (the thread consumes every complete frame before it receives again, so the
    // pipe never holds more than one partial frame, at most MaxFrameSize).
    private static readonly PipeOptions InboundOptions = new(
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: 0,
        minimumSegmentSize: ReceiveSegmentBytes,
        useSynchronizationContext: false);

    // A frame's 4-byte big-endian length.
    private const int LengthPrefix = 4;

    // ReplyHeader { int xid; long zxid; int err }.
    private const int ReplyHeaderBytes = 16;

    // A ConnectResponse is 36 or 37 bytes; anything longer than this is not one (checked before waiting for its bytes).
    private const int MaxConnectResponseBytes = 64;

    // A request is sent on its caller's thread only while the server has answered all but this many request bytes: the
    // send then fits in what the server's receive buffer and ours hold (Linux starts a connection at 128 KiB and
    // 16 KiB and only grows them), so a blocking send returns at once unless the server stopped reading.
    internal const int InlineUnansweredLimit = 8 * 1024;

    // ... and only while fewer requests than this are unanswered: a caller waiting for each reply (the latency case)
    // always qualifies, a pipelined burst sends its first few inline and the rest through the writer, which batches
    // them into few sends.
    internal const int InlineMaxUnanswered = 4;

    // Only requests whose frame is bounded by this (data, and no multi, auth or SetWatches2 lists) are sent inline;
    // a path adds at most a few hundred bytes.
    private const int InlineMaxData = 4 * 1024;

    private readonly ZooKeeperClient _client;
    private readonly JuteWriter _scratch = new();
    private readonly ChannelReader<Request> _outgoing;
    private readonly ChannelWriter<Request> _outgoingWriter;
    private readonly byte[] _chroot;
    private readonly int _maxFrame;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();

    // Held by whoever encodes into _scratch and sends it: the writer loop for one drain-and-flush round, or a caller
    // sending inline; taken before _lock, never the other way round.
    private readonly Lock _sendLock = new();
    private readonly Queue<Request> _pending = new();
    private readonly Queue<Request?> _authPending = new();
    private readonly TaskCompletionSource<Exception> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _received = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly Pipe _inbound = new(InboundOptions);
    private readonly long _openedAt;
    private Socket? _socket;
    private bool _connectCancelled;
    private bool _transportDisposed;
    private bool _isFailed;
    private bool _inlineReady;
    private long _inlineSends;
    private int _unansweredBytes;
    private int _unansweredRequests;
    private int _nextXid = 1;
    private long _lastSend;
    private long _lastReceive;
    private TimeSpan _pingInterval;
    private TimeSpan _readTimeout;
    private Thread? _receiveThread;
    private Task? _run;
    private Task<Version?>? _serverVersion;

    private ZooKeeperConnection(ZooKeeperClient client, HostAndPort server, Channel<Request> outgoing, byte[] chroot, int maxFrame, TimeProvider time)
    {
        _client = client;
        Server = server;
        _outgoing = outgoing.Reader;
        _outgoingWriter = outgoing.Writer;
        _chroot = chroot;
        _maxFrame = maxFrame;
        _time = time;
        _openedAt = time.GetTimestamp();
        _lastSend = _lastReceive = _openedAt;
    }

    public HostAndPort Server { get; }

    /// <summary>The receive thread once <see cref="Start"/> ran (tests check that it ends).</summary>
    internal Thread? ReceiveThread => _receiveThread;

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

    /// <summary>Ends (with the reason) once the connection failed and every loop and thread has stopped.</summary>
    public Task<Exception> Completion => (Task<Exception>?)_run ?? _failed.Task;

    public long LastReceiveTimestamp => Volatile.Read(ref _lastReceive);

    public TimeSpan Age => _time.GetElapsedTime(_openedAt);

    /// <summary>Requests sent on their caller's thread so far (tests check which path a request took).</summary>
    internal long InlineSends => Interlocked.Read(ref _inlineSends);

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

    /// <summary>
    /// Opens a TCP connection and performs the handshake on a connect thread; throws on refusal, a protocol error,
    /// or <see cref="OperationCanceledException"/> once <paramref name="cancellationToken"/> fires (the attempt's
    /// timeout), which closes the socket and so unblocks the thread. Returns or throws only after that thread has
    /// finished.
    /// </summary>
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
        var connection = new ZooKeeperConnection(client, server, outgoing, chroot, maxFrame, time);
        try
        {
            // Resolved here, cancellably (an IP literal resolves without a lookup): the connect thread then only does
            // work that closing the socket interrupts.
            var addresses = await Dns.GetHostAddressesAsync(server.Host, cancellationToken).ConfigureAwait(false);
            ConnectResponse response;
            var attempt = RunOnThread(
                "zk-connect " + server,
                () => connection.ConnectAndHandshake(addresses, lastZxid, timeoutMs, sessionId, password, readOnly));
            var registration = cancellationToken.UnsafeRegister(static state => ((ZooKeeperConnection)state!).CancelConnect(), connection);
            try
            {
                response = await attempt.ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException($"Connecting to {server} was cancelled (or timed out).", ex, cancellationToken);
            }
            finally
            {
                // Waits for a callback in progress: past this, the socket is closed only if the token fired.
                registration.Dispose();
            }

            cancellationToken.ThrowIfCancellationRequested();
            return (connection, response);
        }
        catch
        {
            connection.DisposeTransport();
            throw;
        }
    }

    /// <summary>Writes the preamble (auth packets, then SetWatches2 batches), then starts the receive thread and the loops.</summary>
    public void Start(long sessionId, int negotiatedTimeoutMs, IReadOnlyList<Request> authPackets, IReadOnlyList<Request> setWatches)
    {
        var timeout = TimeSpan.FromMilliseconds(negotiatedTimeoutMs);
        _readTimeout = timeout * 2 / 3;
        _pingInterval = timeout / 3;

        // A server that stops reading fails the connection after as long as a silent one does (SO_SNDTIMEO: a blocked
        // send returns once it made no progress for this long).
        try
        {
            _socket!.SendTimeout = (int)Math.Max(1, _readTimeout.TotalMilliseconds);
        }
        catch (ObjectDisposedException)
        {
            // Failed already (the client is closing): the thread and loops started below end at once.
        }

        lock (_sendLock)
        {
            lock (_lock)
            {
                foreach (var auth in authPackets)
                {
                    WriteFrame(auth, Xids.Auth);
                    _authPending.Enqueue(null);
                }

                foreach (var batch in setWatches)
                {
                    batch.FrameBytes = LengthPrefix + WriteFrame(batch, Xids.SetWatches);
                    batch.Xid = Xids.SetWatches;
                    batch.Sent = true;
                    _unansweredBytes += batch.FrameBytes;
                    _unansweredRequests++;
                    _pending.Enqueue(batch);
                }
            }
        }

        _receiveThread = new Thread(ReceiveLoop) { IsBackground = true, Name = $"zk-recv 0x{sessionId:x}" };
        _receiveThread.UnsafeStart();
        _run = RunAsync();
        Volatile.Write(ref _inlineReady, true);
    }

    /// <summary>
    /// Sends <paramref name="request"/> on the calling thread if the writer is idle (nothing queued, no round in
    /// progress), the request is small and the server has answered all but <see cref="InlineUnansweredLimit"/> bytes
    /// (see the class remarks); false (nothing done) means: queue it for the writer. True means it is handled: sent and
    /// pending, or completed (unsent, or failed with the connection).
    /// </summary>
    public bool TrySendInline(Request request)
    {
        if (!Volatile.Read(ref _inlineReady) || Volatile.Read(ref _isFailed)
            || request.OpCode is OpCode.Auth or OpCode.Multi or OpCode.SetWatches2 || request.Data.Length > InlineMaxData
            || Thread.CurrentThread.IsThreadPoolThread || ReferenceEquals(Thread.CurrentThread, _receiveThread)
            || Volatile.Read(ref _unansweredBytes) > InlineUnansweredLimit || Volatile.Read(ref _unansweredRequests) >= InlineMaxUnanswered
            || !_sendLock.TryEnter())
        {
            return false;
        }

        Exception? failure = null;
        try
        {
            // Anything already queued goes first, through the writer (the lock is free, so nothing is half-written).
            if (_outgoing.TryPeek(out _) || Volatile.Read(ref _isFailed))
            {
                return false;
            }

            if (Write(request))
            {
                Flush();
                Interlocked.Increment(ref _inlineSends);
            }
            else
            {
                _scratch.Reset();
            }
        }
        catch (Exception ex)
        {
            _scratch.Reset();
            failure = ex;
        }
        finally
        {
            _sendLock.Exit();
        }

        if (failure is not null)
        {
            // As on the writer loop: the connection fails, and with it this request (it is pending by now).
            Fail(failure);
        }

        return true;
    }

    /// <summary>Ends a connection whose loops never started (handshake answered "expired").</summary>
    public Task AbortAsync(Exception reason)
    {
        Fail(reason);
        if (_run is null)
        {
            DisposeTransport();
        }

        return Task.CompletedTask;
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

        // Closing the socket wakes the receive thread (and a writer blocked in send) with an error.
        if (_socket is { } socket)
        {
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception)
            {
                // Already closed by the peer.
            }

            socket.Dispose();
        }

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

    /// <summary>Runs <paramref name="work"/> on a new background thread; the task ends when the work does.</summary>
    private static Task<T> RunOnThread<T>(string name, Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.TrySetResult(work());
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.UnsafeStart();
        return done.Task;
    }

    private async Task<Exception> RunAsync()
    {
        var loops = new[] { _received.Task, WriteLoopAsync(), MonitorLoopAsync() };
        var reason = await _failed.Task.ConfigureAwait(false);
        try
        {
            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Each loop reports its failure through Fail; nothing more to learn here.
        }

        DisposeTransport();
        return reason;
    }

    /// <summary>Closes the socket and completes the inbound pipe (its buffers go back to the pool); only once no thread uses them any more.</summary>
    private void DisposeTransport()
    {
        _stop.Cancel();
        lock (_lock)
        {
            _connectCancelled = true;
            _socket?.Dispose();
            if (_transportDisposed)
            {
                return;
            }

            _transportDisposed = true;
        }

        _inbound.Reader.Complete();
        _inbound.Writer.Complete();

        _stop.Dispose();
    }

    /// <summary>From the cancellation registration: closes the socket being connected (unblocks the connect thread).</summary>
    private void CancelConnect()
    {
        lock (_lock)
        {
            _connectCancelled = true;
            _socket?.Dispose();
        }
    }

    /// <summary>The connect thread: TCP connect (each resolved address in turn), then the handshake, all blocking.</summary>
    private ConnectResponse ConnectAndHandshake(IPAddress[] addresses, long lastZxid, int timeoutMs, long sessionId, byte[] password, bool readOnly)
    {
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }

        for (var i = 0; ; i++)
        {
            Socket socket;
            lock (_lock)
            {
                if (_connectCancelled)
                {
                    throw new OperationCanceledException($"Connecting to {Server} was cancelled.");
                }

                _socket?.Dispose();
                socket = _socket = new Socket(addresses[i].AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            }

            try
            {
                socket.Connect(new IPEndPoint(addresses[i], Server.Port));
                break;
            }
            catch (SocketException) when (i + 1 < addresses.Length)
            {
                // Try the next address.
            }
        }

        _scratch.Reset();
        _scratch.BeginFrame();
        _scratch.WriteInt(0); // protocolVersion
        _scratch.WriteLong(lastZxid);
        _scratch.WriteInt(timeoutMs);
        _scratch.WriteLong(sessionId);
        _scratch.WriteBuffer(password);
        _scratch.WriteBool(readOnly);
        _scratch.EndFrame();
        SendAll(_scratch.Written);
        _scratch.Reset();

        // The Java client writes nothing more until the response arrives: a server that answers "expired" and closes
        // could otherwise reset the connection and lose that answer.
        var reader = _inbound.Reader;
        while (true)
        {
            if (reader.TryRead(out var result))
            {
                var buffer = result.Buffer;
                if (buffer.Length >= LengthPrefix)
                {
                    var length = ReadLength(buffer);
                    if (length is < 0 or > MaxConnectResponseBytes)
                    {
                        throw new ZooKeeperProtocolException($"connect response of {length} bytes (expected 36 or 37)");
                    }

                    if (buffer.Length - LengthPrefix >= length)
                    {
                        Span<byte> copy = stackalloc byte[MaxConnectResponseBytes];
                        buffer.Slice(LengthPrefix, length).CopyTo(copy);
                        var response = ParseConnectResponse(copy[..length], Server);
                        reader.AdvanceTo(buffer.GetPosition(LengthPrefix + length));
                        Volatile.Write(ref _lastReceive, _time.GetTimestamp());
                        return response;
                    }
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
            }

            if (Receive(_socket!) == 0)
            {
                throw new ConnectionLossException(null, requestSent: false, $"{Server} closed the connection during the handshake (it may be behind our last zxid 0x{lastZxid:x}, or read-only).");
            }
        }
    }

    /// <summary>The big-endian frame length at the start of <paramref name="buffer"/> (at least 4 bytes long).</summary>
    private static int ReadLength(ReadOnlySequence<byte> buffer)
    {
        if (buffer.FirstSpan.Length >= LengthPrefix)
        {
            return BinaryPrimitives.ReadInt32BigEndian(buffer.FirstSpan);
        }

        Span<byte> prefix = stackalloc byte[LengthPrefix];
        buffer.Slice(0, LengthPrefix).CopyTo(prefix);
        return BinaryPrimitives.ReadInt32BigEndian(prefix);
    }

    /// <summary>
    /// One blocking receive straight into the inbound pipe's buffer, committed to the pipe; 0 when the server closed
    /// the connection.
    /// </summary>
    private int Receive(Socket socket)
    {
        var writer = _inbound.Writer;
        var n = socket.Receive(writer.GetMemory(MinReceiveBytes).Span, SocketFlags.None);
        if (n > 0)
        {
            writer.Advance(n);

            // Without back-pressure and with the inline scheduler a flush completes synchronously.
            var flush = writer.FlushAsync(CancellationToken.None);
            if (!flush.IsCompletedSuccessfully)
            {
                throw new InvalidOperationException("The inbound pipe's flush did not complete synchronously.");
            }
        }

        return n;
    }

    private static ConnectResponse ParseConnectResponse(ReadOnlySpan<byte> frame, HostAndPort server)
    {
        var reader = new JuteReader(frame);
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

    /// <summary>
    /// The receive thread: blocking receives into the inbound pipe, every complete frame parsed in place (its length
    /// checked against MaxFrameSize before it is trusted), until the connection fails or the server closes it.
    /// </summary>
    private void ReceiveLoop()
    {
        try
        {
            var socket = _socket!;
            var reader = _inbound.Reader;
            while (true)
            {
                if (reader.TryRead(out var result))
                {
                    var buffer = result.Buffer;
                    var any = false;
                    try
                    {
                        while (!Volatile.Read(ref _isFailed) && TryTakeFrame(ref buffer, out var frame))
                        {
                            any = true;
                            ProcessFrame(frame);
                        }
                    }
                    finally
                    {
                        reader.AdvanceTo(buffer.Start, buffer.End);
                    }

                    if (any)
                    {
                        Volatile.Write(ref _lastReceive, _time.GetTimestamp());
                    }
                }

                if (Volatile.Read(ref _isFailed))
                {
                    return;
                }

                if (Receive(socket) == 0)
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
        finally
        {
            _received.TrySetResult();
        }
    }

    /// <summary>Takes one complete frame body off the front of <paramref name="buffer"/>; checks the length first.</summary>
    private bool TryTakeFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> frame)
    {
        frame = default;
        if (buffer.Length < LengthPrefix)
        {
            return false;
        }

        var length = ReadLength(buffer);
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

    /// <summary>Parses one frame; one that spans pipe segments (a large reply) is copied into a pooled array first.</summary>
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

            _unansweredBytes -= request.FrameBytes;
            _unansweredRequests--;
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
                // One round under the send lock: a caller sending inline waits for nothing (it queues instead) and
                // never sees a frame half-written or a dequeued request not yet sent.
                lock (_sendLock)
                {
                    while (_outgoing.TryRead(out var request))
                    {
                        if (!Write(request))
                        {
                            return;
                        }

                        if (_scratch.Length >= FlushThreshold)
                        {
                            Flush();
                        }
                    }

                    if (_scratch.Length > 0)
                    {
                        Flush();
                    }
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

    /// <summary>Sends the batch (blocking; see the class remarks for why that is fine on the writer loop).</summary>
    private void Flush()
    {
        SendAll(_scratch.Written);
        _scratch.Reset();
        Volatile.Write(ref _lastSend, _time.GetTimestamp());
    }

    private void SendAll(ReadOnlySpan<byte> data)
    {
        var socket = _socket!;
        while (!data.IsEmpty)
        {
            int sent;
            try
            {
                sent = socket.Send(data, SocketFlags.None);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                throw new ConnectionLossException(null, requestSent: true, $"Sending to {Server} made no progress for {socket.SendTimeout} ms (two thirds of the session timeout): the server stopped reading.", ex);
            }

            data = data[sent..];
        }
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
                request.FrameBytes = LengthPrefix + body;
                _unansweredBytes += request.FrameBytes;
                _unansweredRequests++;
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
