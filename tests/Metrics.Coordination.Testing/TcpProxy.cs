using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Metrics.Coordination.Testing;

/// <summary>
/// A loopback TCP proxy in front of one upstream port that injects connection faults into real traffic: cut every
/// connection (RST), stall (stop forwarding, keep the bytes, resume later), delay each chunk, black-hole (accept,
/// keep connections open, drop every byte both ways), or refuse new connections.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Link, byte> _links = new();
    private readonly Task _acceptLoop;
    private readonly Lock _gateLock = new();
    private TaskCompletionSource _gate = NewOpenGate();
    private volatile bool _blackHole;
    private volatile bool _refuse;
    private long _delayTicks;
    private int _accepted;

    /// <summary>Listens on 127.0.0.1 (a kernel-chosen port) and forwards to 127.0.0.1:<paramref name="upstreamPort"/>.</summary>
    public TcpProxy(int upstreamPort)
    {
        _upstreamPort = upstreamPort;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>The proxy's port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:port</c>.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Connections open now.</summary>
    public int OpenConnections => _links.Count;

    /// <summary>Connections accepted so far.</summary>
    public int AcceptedConnections => Volatile.Read(ref _accepted);

    /// <summary>Latency added before forwarding each chunk (both directions). Default: none.</summary>
    public TimeSpan Delay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _delayTicks));
        set => Interlocked.Exchange(ref _delayTicks, value.Ticks);
    }

    /// <summary>While true, every byte in both directions (and on new connections) is dropped; connections stay open.</summary>
    public bool BlackHole
    {
        get => _blackHole;
        set => _blackHole = value;
    }

    /// <summary>While true, new connections are accepted and closed at once (a dead server behind a live port).</summary>
    public bool RefuseNewConnections
    {
        get => _refuse;
        set => _refuse = value;
    }

    /// <summary>Stops forwarding (bytes wait) until <see cref="Resume"/>.</summary>
    public void Stall()
    {
        lock (_gateLock)
        {
            if (_gate.Task.IsCompleted)
            {
                _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Forwards again what <see cref="Stall"/> held back.</summary>
    public void Resume()
    {
        lock (_gateLock)
        {
            _gate.TrySetResult();
        }
    }

    /// <summary>Resets (RST) every open connection, both sides; new connections are still accepted.</summary>
    public int CutAll()
    {
        var links = _links.Keys.ToList();
        foreach (var link in links)
        {
            link.Abort();
        }

        return links.Count;
    }

    /// <summary>Stops listening and closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        Resume();
        CutAll();
        await _acceptLoop;
        await Task.WhenAll(_links.Keys.Select(l => l.Completion));
        _stop.Dispose();
    }

    private static TaskCompletionSource NewOpenGate()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }

    private async Task AcceptLoopAsync()
    {
        await Task.Yield();
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            Interlocked.Increment(ref _accepted);
            if (_refuse)
            {
                client.LingerState = new LingerOption(true, 0);
                client.Dispose();
                continue;
            }

            var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            client.NoDelay = true;
            try
            {
                await upstream.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _upstreamPort), _stop.Token);
            }
            catch (Exception)
            {
                client.LingerState = new LingerOption(true, 0);
                client.Dispose();
                upstream.Dispose();
                continue;
            }

            var link = new Link(this, client, upstream);
            _links[link] = 0;
            link.Start();
        }
    }

    private sealed class Link(TcpProxy proxy, Socket client, Socket upstream)
    {
        private int _aborted;

        public Task Completion { get; private set; } = Task.CompletedTask;

        public void Start()
        {
            Completion = Task.WhenAll(PumpAsync(client, upstream), PumpAsync(upstream, client)).ContinueWith(
                _ =>
                {
                    Abort();
                    proxy._links.TryRemove(this, out byte _);
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        public void Abort()
        {
            if (Interlocked.Exchange(ref _aborted, 1) != 0)
            {
                return;
            }

            foreach (var socket in new[] { client, upstream })
            {
                try
                {
                    socket.LingerState = new LingerOption(true, 0);
                }
                catch (Exception)
                {
                    // Already closed.
                }

                socket.Dispose();
            }
        }

        private async Task PumpAsync(Socket from, Socket to)
        {
            await Task.Yield();
            var buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    var n = await from.ReceiveAsync(buffer, SocketFlags.None);
                    if (n == 0)
                    {
                        to.Shutdown(SocketShutdown.Send);
                        return;
                    }

                    Task gate;
                    lock (proxy._gateLock)
                    {
                        gate = proxy._gate.Task;
                    }

                    await gate;
                    var delay = proxy.Delay;
                    if (delay > TimeSpan.Zero)
                    {
                        await Task.Delay(delay);
                    }

                    if (proxy._blackHole)
                    {
                        continue;
                    }

                    var sent = 0;
                    while (sent < n)
                    {
                        sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None);
                    }
                }
            }
            catch (Exception)
            {
                Abort();
            }
        }
    }
}
