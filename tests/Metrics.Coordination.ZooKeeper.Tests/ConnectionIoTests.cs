using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.ZooKeeper.Tests;

/// <summary>
/// The connection's blocking-socket I/O: connect and handshake cancelled or timed out against black holes, a server
/// that stops reading (send timeout), requests sent on the caller's thread (which path, order, a server that stops
/// reading, dispose), the receive thread's lifetime, reconnect after the server is killed, and frames of every size
/// parsed from the receive buffer.
/// </summary>
public class ConnectionIoTests : ServerFixture
{
    [Test]
    public async Task ConnectAsync_TcpConnectBlackHoled_FailsWithConnectionLossWithinTheConnectTimeout()
    {
        using var blackHole = new SynBlackHole();
        var clock = Stopwatch.StartNew();
        await FluentActions.Awaiting(() => ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectionString = blackHole.Endpoint,
            SessionTimeout = TimeSpan.FromSeconds(2),
            ConnectTimeout = TimeSpan.FromSeconds(1.5),
        })).Should().ThrowAsync<ConnectionLossException>();

        // Each attempt (2 s / 1 host) is cut by closing its socket; the client's dispose waits for the connect thread.
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "a blocked TCP connect is interrupted, not waited out (Linux retries SYNs for ~2 minutes)");
        blackHole.StillBlackHoled.Should().BeTrue("the test's premise: the kernel dropped our SYNs");
    }

    [Test]
    public async Task ConnectAsync_CancelledWhileTcpConnectBlocks_ThrowsOperationCanceledPromptly()
    {
        using var blackHole = new SynBlackHole();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();
        await FluentActions.Awaiting(() => ZooKeeperClient.ConnectAsync(
            new ZooKeeperClientOptions { ConnectionString = blackHole.Endpoint, SessionTimeout = TimeSpan.FromSeconds(30), ConnectTimeout = TimeSpan.FromSeconds(60) },
            cts.Token)).Should().ThrowAsync<OperationCanceledException>();
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "cancellation closes the socket a connect thread is blocked on (the attempt alone would last 30 s)");
    }

    [Test]
    public async Task ConnectAsync_HandshakeBlackHoled_FailsWithConnectionLossWithinTheConnectTimeout()
    {
        await using var proxy = new TcpProxy(Server.ClientPort) { BlackHole = true };
        var clock = Stopwatch.StartNew();
        await FluentActions.Awaiting(() => ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectionString = proxy.Endpoint,
            SessionTimeout = TimeSpan.FromSeconds(2),
            ConnectTimeout = TimeSpan.FromSeconds(1.5),
        })).Should().ThrowAsync<ConnectionLossException>();
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "a handshake that is never answered is interrupted");
        proxy.AcceptedConnections.Should().BeGreaterThan(0, "TCP connected; the handshake was what hung");

        // The same proxy, healed, serves a session: nothing of the cut attempts is left in the way.
        proxy.BlackHole = false;
        var zk = await ConnectAsync(proxy.Endpoint);
        (await zk.ExistsAsync("/")).Should().NotBeNull();
    }

    [Test]
    public async Task Send_ServerStopsReadingButKeepsSending_ConnectionLossAfterTheSendTimeout_ThenReconnects()
    {
        // A scripted server: handshake (3 s session: send timeout 2 s), then it never reads again but keeps the read
        // timeout from firing by sending a ping reply every 100 ms, so only the send timeout can end the connection.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.ReceiveBufferSize = 4096; // inherited by accepted sockets: the client's sends back up sooner
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(8);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var connections = 0;
        using var stop = new CancellationTokenSource();
        var serverTask = Task.Run(async () =>
        {
            var served = new List<Task>();
            while (!stop.IsCancellationRequested)
            {
                Socket s;
                try
                {
                    s = await listener.AcceptAsync(stop.Token);
                }
                catch (Exception)
                {
                    break;
                }

                var n = Interlocked.Increment(ref connections);
                served.Add(Task.Run(() => ServeWithoutReadingAsync(s, n, stop.Token)));
            }

            await Task.WhenAll(served);
        });

        await using var zk = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectionString = "127.0.0.1:" + port,
            SessionTimeout = TimeSpan.FromSeconds(3),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        });
        zk.SessionTimeout.Should().Be(TimeSpan.FromSeconds(3));
        var payload = new byte[1_000_000];

        // Far more than the kernel buffers hold: the client's send buffer autotunes up to tcp_wmem's maximum (4 MiB
        // by default), the server's receive buffer is 4 KiB.
        var sendBufferMax = File.Exists("/proc/sys/net/ipv4/tcp_wmem") ? long.Parse(File.ReadAllText("/proc/sys/net/ipv4/tcp_wmem").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[2], System.Globalization.CultureInfo.InvariantCulture) : 4 << 20;
        var count = (int)Math.Min(256, (sendBufferMax / payload.Length) + 16);
        var requests = Enumerable.Range(0, count).Select(_ => zk.SetDataAsync("/big", payload).AsTask()).ToList();
        var clock = Stopwatch.StartNew();
        var all = Task.WhenAll(requests).ContinueWith(_ => { }, TaskScheduler.Default);
        (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(30)))).Should().BeSameAs(all, "a blocked send ends with the connection, not in a hang");
        TestContext.Out.WriteLine($"all requests failed after {clock.Elapsed.TotalMilliseconds:0} ms");
        var failures = requests.Select(r => r.Exception?.InnerException).ToList();
        failures.Should().AllBeOfType<ConnectionLossException>();
        failures.Should().Contain(f => f!.Message.Contains("stopped reading", StringComparison.Ordinal), "the send timeout is the reason");
        await Eventually(() => Task.FromResult(Volatile.Read(ref connections) >= 2), TimeSpan.FromSeconds(10), "the client reconnects");

        await stop.CancelAsync();
        listener.Close();
        await serverTask.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task Request_WriterIdle_IsSentOnTheCallersThread_ABurstGoesThroughTheWriter()
    {
        var zk = await ConnectAsync();
        var connection = zk.CurrentConnection!;

        // From a thread-pool thread: always through the writer.
        var before = connection.InlineSends;
        await Task.Run(async () =>
        {
            for (var i = 0; i < 5; i++)
            {
                (await zk.ExistsAsync("/")).Should().NotBeNull();
            }
        });
        (connection.InlineSends - before).Should().Be(0, "a thread-pool thread leaves the send to the writer");

        // From an application's own thread (blocking on each reply): each request finds the writer idle (a ping round
        // holding it now and then is the exception) and goes out on that thread.
        before = connection.InlineSends;
        OnOwnThread(() =>
        {
            for (var i = 0; i < 20; i++)
            {
                zk.ExistsAsync("/").AsTask().GetAwaiter().GetResult().Should().NotBeNull();
            }
        });
        (connection.InlineSends - before).Should().BeGreaterThanOrEqualTo(10, "a request sent while nothing is queued or unanswered goes out on the caller's thread");

        before = connection.InlineSends;
        List<Task<Stat?>> burst = [];
        OnOwnThread(() => burst = Enumerable.Range(0, 1000).Select(_ => zk.ExistsAsync("/").AsTask()).ToList());
        (await Task.WhenAll(burst)).Should().OnlyContain(s => s != null);
        (connection.InlineSends - before).Should().BeLessThan(500, $"past {ZooKeeperConnection.InlineMaxUnanswered} unanswered requests a burst is queued for the writer's batches");
    }

    [Test]
    public async Task Requests_FromSeveralThreadsInlineAndQueued_ReachTheServerInEachThreadsOrder()
    {
        var zk = await ConnectAsync();
        var parent = UniquePath("order");
        await zk.CreateAsync(parent, Array.Empty<byte>());
        var before = zk.CurrentConnection!.InlineSends;

        // Four threads submit without waiting (some inline, most queued behind each other); the server numbers
        // sequential nodes in the order it receives the creates, so each thread's numbers must rise with its index.
        const int Threads = 4;
        const int PerThread = 250;
        var submitted = new List<Task<CreateResult>>[Threads];
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            var tasks = new List<Task<CreateResult>>();
            for (var i = 0; i < PerThread; i++)
            {
                tasks.Add(zk.CreateAsync(parent + "/n-", Bytes($"{t}-{i}"), CreateMode.PersistentSequential).AsTask());
                if (i % 50 == 0)
                {
                    // Now and then wait, so the writer goes idle and later requests of the thread go inline again.
                    tasks[^1].GetAwaiter().GetResult();
                }
            }

            submitted[t] = tasks;
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join(TimeSpan.FromSeconds(60)).Should().BeTrue());
        var created = await Task.WhenAll(submitted.Select(tasks => Task.WhenAll(tasks)));

        for (var t = 0; t < Threads; t++)
        {
            var sequences = created[t].Select(c => long.Parse(c.Path[^10..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
            sequences.Should().BeInAscendingOrder($"thread {t}'s creates reach the server in its submission order");
        }

        (zk.CurrentConnection!.InlineSends - before).Should().BeGreaterThan(0, "the test's premise: some requests went inline");
        (await zk.GetChildrenAsync(parent)).Children.Should().HaveCount(Threads * PerThread);
    }

    [Test]
    public async Task Request_FromAWatcher_IsSentOnTheDispatcherThread()
    {
        // The leader hand-over's path: a watcher (on the client's dispatcher thread) asks for the children list.
        var zk = await ConnectAsync();
        var path = UniquePath("watched");
        var inline = 0;
        for (var attempt = 0; attempt < 5 && inline == 0; attempt++)
        {
            await zk.CreateAsync(path, Array.Empty<byte>());
            var sent = new TaskCompletionSource<(long Delta, bool OnDispatcher, Task<Stat?> Request)>(TaskCreationOptions.RunContinuationsAsynchronously);
            await zk.ExistsAsync(path, e =>
            {
                var connection = zk.CurrentConnection!;
                var before = connection.InlineSends;
                var request = zk.ExistsAsync("/").AsTask();
                sent.TrySetResult((connection.InlineSends - before, !(Thread.CurrentThread.Name ?? string.Empty).StartsWith("zk-recv", StringComparison.Ordinal), request));
            });
            await zk.DeleteAsync(path);
            var (delta, onDispatcher, request) = await sent.Task.WaitAsync(TimeSpan.FromSeconds(10));
            onDispatcher.Should().BeTrue("watchers never run on the receive thread");
            (await request.WaitAsync(TimeSpan.FromSeconds(10))).Should().NotBeNull();
            inline += (int)delta;
        }

        inline.Should().BeGreaterThan(0, "a request made by a watcher while the writer is idle is sent on the dispatcher thread");
    }

    [Test]
    public async Task Requests_ServerStopsReading_CallersNeverBlock_AndTheRequestsFailWithTheConnection()
    {
        // The scripted server that never reads after the handshake (3 s session: send timeout 2 s) but keeps the read
        // timeout away with pings. Small requests: the first few go inline, the rest are queued once
        // InlineMaxUnanswered are unanswered, so no caller waits in a blocked send.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.ReceiveBufferSize = 4096;
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(8);
        using var stop = new CancellationTokenSource();
        var serverTask = Task.Run(async () =>
        {
            var served = new List<Task>();
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                Socket s;
                try
                {
                    s = await listener.AcceptAsync(stop.Token);
                }
                catch (Exception)
                {
                    break;
                }

                var connection = ++n;
                served.Add(Task.Run(() => ServeWithoutReadingAsync(s, connection, stop.Token)));
            }

            await Task.WhenAll(served);
        });

        var zk = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectionString = "127.0.0.1:" + ((IPEndPoint)listener.LocalEndPoint!).Port,
            SessionTimeout = TimeSpan.FromSeconds(3),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        });
        var connection = zk.CurrentConnection!;
        var requests = new List<Task<Stat?>>();
        OnOwnThread(() =>
        {
            for (var i = 0; i < 300; i++)
            {
                requests.Add(zk.ExistsAsync("/never-answered").AsTask());
            }
        });

        // Had a caller blocked in a send, the send timeout would have ended the connection before the loop did.
        zk.State.Should().Be(ZooKeeperState.Connected);
        zk.CurrentConnection.Should().BeSameAs(connection);
        connection.InlineSends.Should().BeLessThanOrEqualTo(ZooKeeperConnection.InlineMaxUnanswered);
        requests.Should().OnlyContain(r => !r.IsCompleted, "the server answers nothing");

        await zk.DisposeAsync();
        var all = Task.WhenAll(requests).ContinueWith(_ => { }, TaskScheduler.Default);
        await all.WaitAsync(TimeSpan.FromSeconds(30));
        requests.Should().OnlyContain(r => r.IsFaulted, "closing the client fails every unanswered request");
        await stop.CancelAsync();
        listener.Close();
        await serverTask.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task Dispose_WhileThreadsSendInline_EveryRequestCompletes()
    {
        var zk = await ZooKeeperClient.ConnectAsync(Options(Server.ConnectionString));
        var connection = zk.CurrentConnection!;
        var counts = new int[3];
        var threads = Enumerable.Range(0, counts.Length).Select(t => new Thread(() =>
        {
            while (true)
            {
                try
                {
                    zk.ExistsAsync("/").AsTask().GetAwaiter().GetResult();
                    counts[t]++;
                }
                catch (Exception ex) when (ex is ConnectionLossException or ObjectDisposedException)
                {
                    return;
                }
            }
        }) { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());

        await Eventually(() => Task.FromResult(connection.InlineSends > 100), TimeSpan.FromSeconds(30), "the threads send inline");
        await zk.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        threads.ForEach(t => t.Join(TimeSpan.FromSeconds(30)).Should().BeTrue("every request of a disposed client completes"));
        counts.Sum().Should().BeGreaterThan(100);
    }

    /// <summary>Runs <paramref name="work"/> on a thread of its own (not the pool's), as an application thread would.</summary>
    private static void OnOwnThread(Action work)
    {
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                work();
            }
            catch (Exception ex)
            {
                error = ex;
            }
        });
        thread.Start();
        thread.Join(TimeSpan.FromSeconds(60)).Should().BeTrue("the work finishes");
        error.Should().BeNull();
    }

    [Test]
    public async Task Dispose_ReceiveThreadEnds_AndACutConnectionsThreadEndsToo()
    {
        await using var proxy = new TcpProxy(Server.ClientPort);
        var zk = await ZooKeeperClient.ConnectAsync(Options(proxy.Endpoint));
        await zk.ExistsAsync("/");
        var first = zk.CurrentConnection!.ReceiveThread!;
        first.Name.Should().Be($"zk-recv 0x{zk.SessionId:x}");
        first.IsBackground.Should().BeTrue();
        first.IsAlive.Should().BeTrue();

        proxy.CutAll();
        first.Join(TimeSpan.FromSeconds(10)).Should().BeTrue("a lost connection's receive thread ends");
        await zk.WaitUntilConnectedAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await zk.ExistsAsync("/");
        var second = zk.CurrentConnection!.ReceiveThread!;
        second.Should().NotBeSameAs(first);
        second.IsAlive.Should().BeTrue();

        await zk.DisposeAsync();
        second.Join(TimeSpan.FromSeconds(10)).Should().BeTrue("dispose ends the receive thread");
    }

    [Test]
    public async Task ServerKilled_ClientIsSuspended_ThenResumesTheSessionAfterRestart()
    {
        await using var server = await ZooKeeperServer.StartAsync();
        var clock = Stopwatch.StartNew();
        var log = new TimedLog(clock);
        try
        {
            await KilledAndRestartedAsync(server, log);
        }
        catch (Exception)
        {
            TestContext.Out.WriteLine($"failed after {clock.ElapsedMilliseconds} ms; client log:\n{string.Join("\n", log.Lines)}\nserver output:\n{server.Process?.Output}");
            throw;
        }
    }

    private async Task KilledAndRestartedAsync(ZooKeeperServer server, TimedLog log)
    {
        // Through a proxy whose port stays ours: while the server is down its port is free, and another fixture's
        // listener (a black-holed proxy, a server starting) could take it and swallow a handshake; and a connect during
        // the JVM's start-up could wait in its accept queue. The proxy refuses new connections until the restarted
        // server serves, so every attempt meanwhile fails at once, as against a dead server.
        await using var proxy = new TcpProxy(server.ClientPort);
        var zk = await ConnectAsync(proxy.Endpoint, TimeSpan.FromSeconds(20), o => o.LoggerFactory = log);
        var path = "/killed-" + Guid.NewGuid().ToString("N");
        await zk.CreateAsync(path, Bytes("v"), CreateMode.Ephemeral);
        var session = zk.SessionId;
        var thread = zk.CurrentConnection!.ReceiveThread!;

        log.Note("killing");
        proxy.RefuseNewConnections = true;
        await server.KillAsync();
        log.Note("killed");
        await Eventually(() => Task.FromResult(zk.State == ZooKeeperState.Suspended), TimeSpan.FromSeconds(10), "the killed server's connection is noticed");
        thread.Join(TimeSpan.FromSeconds(10)).Should().BeTrue("the dead connection's receive thread ends");
        await FluentActions.Awaiting(async () => await zk.GetDataAsync(path)).Should().ThrowAsync<ConnectionLossException>("nothing serves the session meanwhile");

        log.Note("restarting");
        await server.RestartAsync();
        log.Note("restarted");
        proxy.RefuseNewConnections = false;
        await zk.WaitUntilConnectedAsync().WaitAsync(TimeSpan.FromSeconds(30));
        zk.SessionId.Should().Be(session, "a restarted server reloads the session with a fresh timeout");
        (await zk.GetDataAsync(path)).Data.Should().Equal(Bytes("v"));
    }

    [Test]
    public async Task Frames_LargeAndSmallPipelined_AreParsedAcrossReceives()
    {
        var zk = await ConnectAsync();
        var sizes = new[] { 1_000_000, 1, 300_000, 65_536 - 80, 70_000, 0, 16_383, 900_000 };
        var paths = new List<string>();
        foreach (var size in sizes)
        {
            var path = UniquePath("size-" + size);
            await zk.CreateAsync(path, Fill(size));
            paths.Add(path);
        }

        for (var round = 0; round < 3; round++)
        {
            var reads = paths.Select(p => zk.GetDataAsync(p).AsTask()).ToList();
            var results = await Task.WhenAll(reads);
            for (var i = 0; i < sizes.Length; i++)
            {
                results[i].Data.Should().Equal(Fill(sizes[i]), $"node of {sizes[i]} bytes, round {round}");
            }
        }

        // After the large frames, the connection still answers small requests promptly.
        var small = await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => zk.ExistsAsync("/").AsTask()));
        small.Should().OnlyContain(s => s != null);
    }

    private static byte[] Fill(int size)
    {
        var data = new byte[size];
        for (var i = 0; i < size; i++)
        {
            data[i] = (byte)(i * 31 + size);
        }

        return data;
    }

    private static async Task ServeWithoutReadingAsync(Socket socket, int connection, CancellationToken cancellationToken)
    {
        using var _ = socket;
        try
        {
            var length = new byte[4];
            await ReadExactlyAsync(socket, length, cancellationToken);
            var body = new byte[BinaryPrimitives.ReadInt32BigEndian(length)];
            await ReadExactlyAsync(socket, body, cancellationToken);
            var response = new byte[4 + 37];
            BinaryPrimitives.WriteInt32BigEndian(response, 37);
            BinaryPrimitives.WriteInt32BigEndian(response.AsSpan(8), 3000); // timeOut
            BinaryPrimitives.WriteInt64BigEndian(response.AsSpan(12), 0x4242_0000 + connection); // sessionId
            BinaryPrimitives.WriteInt32BigEndian(response.AsSpan(20), 16); // passwd length
            await socket.SendAsync(response, cancellationToken);

            var ping = new byte[4 + 16];
            BinaryPrimitives.WriteInt32BigEndian(ping, 16);
            BinaryPrimitives.WriteInt32BigEndian(ping.AsSpan(4), -2); // xid: ping
            while (true)
            {
                await Task.Delay(100, cancellationToken);
                await socket.SendAsync(ping, cancellationToken);
            }
        }
        catch (Exception)
        {
            // The client dropped the connection, or the test ends.
        }
    }

    private static async Task ReadExactlyAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), cancellationToken);
            if (n == 0)
            {
                throw new EndOfStreamException();
            }

            read += n;
        }
    }

    /// <summary>
    /// A loopback port whose SYNs the kernel drops: a listener with a backlog of 0 whose accept queue is already full
    /// (never accepted), so a TCP connect to it hangs in SYN_SENT, as to an unreachable host.
    /// </summary>
    private sealed class SynBlackHole : IDisposable
    {
        private readonly Socket _listener;
        private readonly List<Socket> _fillers = [];

        public SynBlackHole()
        {
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(0);
            Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;

            // Linux queues backlog + 1 connections; these fill the queue (their own connects may hang: non-blocking).
            for (var i = 0; i < 3; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
                try
                {
                    filler.Connect(new IPEndPoint(IPAddress.Loopback, Port));
                }
                catch (SocketException)
                {
                    // In progress.
                }

                _fillers.Add(filler);
            }
        }

        public int Port { get; }

        public string Endpoint => "127.0.0.1:" + Port;

        /// <summary>True while a fresh connect to the port does not complete within 200 ms.</summary>
        public bool StillBlackHoled
        {
            get
            {
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
                try
                {
                    probe.Connect(new IPEndPoint(IPAddress.Loopback, Port));
                    return false;
                }
                catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                {
                    return !probe.Poll(200_000, SelectMode.SelectWrite);
                }
            }
        }

        public void Dispose()
        {
            foreach (var filler in _fillers)
            {
                filler.Dispose();
            }

            _listener.Dispose();
        }
    }

    /// <summary>Client log lines with the milliseconds since the test started, printed when it fails.</summary>
    private sealed class TimedLog(Stopwatch clock) : Microsoft.Extensions.Logging.ILoggerFactory, Microsoft.Extensions.Logging.ILogger
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

        public IEnumerable<string> Lines => _lines;

        public void Note(string text) => _lines.Enqueue($"{clock.ElapsedMilliseconds,6} ms TEST {text}");

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue($"{clock.ElapsedMilliseconds,6} ms {eventId.Id} {formatter(state, exception)}{(exception is null ? string.Empty : " | " + exception.Message)}");
    }
}
