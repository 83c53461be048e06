using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Metrics.Coordination.Testing;

/// <summary>One request a <see cref="LoopbackHttpServer"/> received.</summary>
/// <param name="Method">The method, such as <c>POST</c>.</param>
/// <param name="Target">The request target (path and query), such as <c>/api/v2/alerts</c>.</param>
/// <param name="Headers">The headers (case-insensitive names; repeated headers joined with <c>, </c>).</param>
/// <param name="Body">The body bytes (empty when none).</param>
/// <param name="Connection">The ordinal of the TCP connection it came on (1 for the first accepted), to see reuse.</param>
/// <param name="ReceivedAt">When its body had been read (system clock).</param>
public sealed record LoopbackHttpRequest(string Method, string Target, IReadOnlyDictionary<string, string> Headers, byte[] Body, int Connection, DateTimeOffset ReceivedAt)
{
    /// <summary>The body as UTF-8 text.</summary>
    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>A header's value, or null.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>The answer a <see cref="LoopbackHttpServer"/> gives to one request.</summary>
/// <param name="Status">The status code.</param>
/// <param name="Body">The body text (UTF-8).</param>
/// <param name="ContentType">The body's media type.</param>
public sealed record LoopbackHttpReply(int Status, string Body = "", string ContentType = "text/plain; charset=utf-8")
{
    /// <summary>200 with an empty body.</summary>
    public static LoopbackHttpReply Ok { get; } = new(200);

    /// <summary>
    /// Not an answer: the connection is closed (reset) after the request was read, as a server that crashes mid-request.
    /// </summary>
    public static LoopbackHttpReply Cut { get; } = new(-1);

    /// <summary>Not an answer in time: the server holds the request without replying until the client gives up or the server stops.</summary>
    public static LoopbackHttpReply Hang { get; } = new(-2);
}

/// <summary>
/// A small HTTP/1.1 server on 127.0.0.1 (a port the kernel picks) for tests: records every request and answers
/// each with what <see cref="Respond"/> returns (200 by default), including injected faults (any status, a cut
/// connection, no answer). Handles keep-alive and <c>Content-Length</c> bodies, which is what Go's and .NET's clients
/// send for a buffered body; a chunked request body is answered 411 and recorded with an empty body.
/// </summary>
public sealed class LoopbackHttpServer : IAsyncDisposable
{
    // A request head larger than this is refused: test clients send a few hundred bytes of headers.
    private const int MaxHeadBytes = 64 * 1024;

    // Test bodies are alert batches or webhook payloads: kilobytes; 16 MiB bounds a runaway client.
    private const int MaxBodyBytes = 16 * 1024 * 1024;

    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<LoopbackHttpRequest> _requests = new();
    private readonly ConcurrentDictionary<Task, byte> _connections = new();
    private readonly Task _acceptLoop;
    private readonly SemaphoreSlim _arrived = new(0);
    private int _connectionCount;

    /// <summary>Starts listening on 127.0.0.1 on a port the kernel chooses.</summary>
    /// <param name="respond">The answer to each request (called concurrently); null answers 200 with an empty body.</param>
    public LoopbackHttpServer(Func<LoopbackHttpRequest, LoopbackHttpReply>? respond = null)
    {
        Respond = respond ?? (_ => LoopbackHttpReply.Ok);
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        BaseUrl = new Uri($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/");
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>The port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary><c>http://127.0.0.1:port/</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>Chooses the answer to each request; may be replaced while running (later requests see the new one).</summary>
    public Func<LoopbackHttpRequest, LoopbackHttpReply> Respond { get; set; }

    /// <summary>The requests received so far, in arrival order.</summary>
    public IReadOnlyList<LoopbackHttpRequest> Requests => [.. _requests];

    /// <summary>How many TCP connections were accepted.</summary>
    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    /// <summary>
    /// Waits until the recorded requests satisfy <paramref name="predicate"/> (re-checked on each arrival), or fails the
    /// test after <paramref name="timeout"/> with <paramref name="what"/> and the requests seen.
    /// </summary>
    public async Task<IReadOnlyList<LoopbackHttpRequest>> WaitForAsync(Func<IReadOnlyList<LoopbackHttpRequest>, bool> predicate, TimeSpan timeout, string what, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            var requests = Requests;
            if (predicate(requests))
            {
                return requests;
            }

            try
            {
                await _arrived.WaitAsync(TimeSpan.FromMilliseconds(200), deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                requests = Requests;
                if (predicate(requests))
                {
                    return requests;
                }

                throw new AssertionException(
                    $"Waited {timeout.TotalSeconds:0.#} s for {what}; {requests.Count} request(s) arrived:\n" +
                    string.Join("\n", requests.Select(r => $"{r.Method} {r.Target} {r.BodyText}")));
            }
        }
    }

    /// <summary>Stops listening, closes every connection (a held request ends without an answer) and waits for the handlers.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        await Task.WhenAll(_connections.Keys);
        _stop.Dispose();
        _arrived.Dispose();
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

            var ordinal = Interlocked.Increment(ref _connectionCount);
            var task = ServeAsync(client, ordinal);
            _connections[task] = 0;
            _ = task.ContinueWith(t => _connections.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(Socket socket, int ordinal)
    {
        await Task.Yield();
        using (socket)
        {
            try
            {
                await using var stream = new NetworkStream(socket, ownsSocket: false);
                var buffer = new List<byte>(4096);
                var chunk = new byte[16 * 1024];
                while (!_stop.IsCancellationRequested)
                {
                    // Read one request head.
                    int headEnd;
                    while ((headEnd = IndexOfHeadEnd(buffer)) < 0)
                    {
                        if (buffer.Count > MaxHeadBytes)
                        {
                            return;
                        }

                        var read = await stream.ReadAsync(chunk, _stop.Token);
                        if (read == 0)
                        {
                            return;
                        }

                        buffer.AddRange(chunk.AsSpan(0, read));
                    }

                    var head = Encoding.ASCII.GetString(buffer.GetRange(0, headEnd).ToArray());
                    buffer.RemoveRange(0, headEnd + 4);
                    var lines = head.Split("\r\n");
                    var requestLine = lines[0].Split(' ');
                    var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                    foreach (var line in lines.Skip(1))
                    {
                        var colon = line.IndexOf(':', StringComparison.Ordinal);
                        if (colon <= 0)
                        {
                            continue;
                        }

                        var name = line[..colon].Trim();
                        var value = line[(colon + 1)..].Trim();
                        headers[name] = headers.TryGetValue(name, out var previous) ? previous + ", " + value : value;
                    }

                    if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
                    {
                        _requests.Enqueue(new LoopbackHttpRequest(requestLine[0], requestLine.Length > 1 ? requestLine[1] : "", headers, [], ordinal, TimeProvider.System.GetUtcNow()));
                        _arrived.Release();
                        await WriteReplyAsync(stream, new LoopbackHttpReply(411, "chunked bodies are not supported by this test server"), close: true);
                        return;
                    }

                    var length = headers.TryGetValue("Content-Length", out var cl) ? int.Parse(cl, CultureInfo.InvariantCulture) : 0;
                    if (length > MaxBodyBytes)
                    {
                        return;
                    }

                    while (buffer.Count < length)
                    {
                        var read = await stream.ReadAsync(chunk, _stop.Token);
                        if (read == 0)
                        {
                            return;
                        }

                        buffer.AddRange(chunk.AsSpan(0, read));
                    }

                    var body = buffer.GetRange(0, length).ToArray();
                    buffer.RemoveRange(0, length);
                    var request = new LoopbackHttpRequest(requestLine[0], requestLine.Length > 1 ? requestLine[1] : "", headers, body, ordinal, TimeProvider.System.GetUtcNow());
                    // Recorded before answering, so a test sees a request its responder holds.
                    _requests.Enqueue(request);
                    _arrived.Release();
                    LoopbackHttpReply reply;
                    try
                    {
                        reply = Respond(request);
                    }
                    catch (Exception ex)
                    {
                        reply = new LoopbackHttpReply(500, "test responder threw: " + ex.Message);
                    }

                    if (reply.Status == LoopbackHttpReply.Cut.Status)
                    {
                        socket.LingerState = new LingerOption(true, 0);
                        return;
                    }

                    if (reply.Status == LoopbackHttpReply.Hang.Status)
                    {
                        // Hold until the client closes or the server stops.
                        while (await stream.ReadAsync(chunk, _stop.Token) > 0)
                        {
                        }

                        return;
                    }

                    var close = headers.TryGetValue("Connection", out var connection) && connection.Equals("close", StringComparison.OrdinalIgnoreCase);
                    await WriteReplyAsync(stream, reply, close);
                    if (close)
                    {
                        return;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away or the server stops.
            }
        }
    }

    private async Task WriteReplyAsync(NetworkStream stream, LoopbackHttpReply reply, bool close)
    {
        var body = Encoding.UTF8.GetBytes(reply.Body);
        var reason = Enum.IsDefined(typeof(HttpStatusCode), reply.Status) ? ((HttpStatusCode)reply.Status).ToString() : "Status";
        var head =
            $"HTTP/1.1 {reply.Status.ToString(CultureInfo.InvariantCulture)} {reason}\r\n" +
            $"Content-Type: {reply.ContentType}\r\n" +
            $"Content-Length: {body.Length.ToString(CultureInfo.InvariantCulture)}\r\n" +
            (close ? "Connection: close\r\n" : string.Empty) +
            "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), _stop.Token);
        await stream.WriteAsync(body, _stop.Token);
        await stream.FlushAsync(_stop.Token);
    }

    private static int IndexOfHeadEnd(List<byte> buffer)
    {
        for (var i = 0; i + 3 < buffer.Count; i++)
        {
            if (buffer[i] == '\r' && buffer[i + 1] == '\n' && buffer[i + 2] == '\r' && buffer[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }
}
