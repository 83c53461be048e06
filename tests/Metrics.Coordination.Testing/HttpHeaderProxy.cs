using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Metrics.Coordination.Testing;

/// <summary>One request as a <see cref="HttpHeaderProxy"/> received it, before any rewriting.</summary>
/// <param name="RequestLine">The request line, such as <c>GET /metrics HTTP/1.1</c>.</param>
/// <param name="Headers">The headers (case-insensitive names; repeated headers joined with <c>, </c>).</param>
public sealed record ProxiedRequest(string RequestLine, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// A loopback HTTP/1.1 proxy in front of one upstream port that records each request's headers and replaces (or
/// removes) chosen ones before forwarding; responses pass through byte for byte. Tests use it to see what a real
/// client (Prometheus) sends, and to make a scraper that always prefers OpenMetrics ask for another format, so the
/// server's real negotiation answers it. Handles keep-alive and pipelining of requests without bodies, and
/// <c>Content-Length</c> bodies; a chunked request body is passed through and ends header rewriting on that connection.
/// </summary>
public sealed class HttpHeaderProxy : IAsyncDisposable
{
    private const int MaxHeadBytes = 64 * 1024;

    private readonly Socket _listener;
    private readonly int _upstreamPort;
    private readonly IReadOnlyDictionary<string, string?> _replace;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<ProxiedRequest> _requests = new();
    private readonly ConcurrentDictionary<Task, byte> _connections = new();
    private readonly Task _acceptLoop;

    /// <summary>Starts listening on 127.0.0.1 (a port chosen by the kernel) and forwarding to 127.0.0.1:<paramref name="upstreamPort"/>.</summary>
    /// <param name="upstreamPort">The loopback port of the real server.</param>
    /// <param name="replaceHeaders">Headers to set on every request (a null value removes the header); empty to only record.</param>
    public HttpHeaderProxy(int upstreamPort, IReadOnlyDictionary<string, string?>? replaceHeaders = null)
    {
        _upstreamPort = upstreamPort;
        _replace = replaceHeaders ?? new Dictionary<string, string?>();
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>The proxy's port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The proxy as a scrape target, <c>127.0.0.1:port</c>.</summary>
    public string Target => $"127.0.0.1:{Port}";

    /// <summary>The requests seen so far, with their original headers.</summary>
    public IReadOnlyList<ProxiedRequest> Requests => [.. _requests];

    /// <summary>Stops listening and closes every proxied connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        await Task.WhenAll(_connections.Keys);
        _stop.Dispose();
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

            var task = ProxyAsync(client);
            _connections[task] = 0;
            _ = task.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task ProxyAsync(Socket client)
    {
        await Task.Yield();
        using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var clientSocket = client;
        try
        {
            await upstream.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _upstreamPort), _stop.Token);
            await using var clientStream = new NetworkStream(client, ownsSocket: false);
            await using var upstreamStream = new NetworkStream(upstream, ownsSocket: false);
            using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            var requests = ForwardRequestsAsync(clientStream, upstreamStream, done.Token);
            var responses = upstreamStream.CopyToAsync(clientStream, done.Token);
            await Task.WhenAny(requests, responses);

            // One side ended: let the response finish if the client only half-closed, then tear both down.
            if (requests.IsCompleted && !responses.IsCompleted)
            {
                upstream.Shutdown(SocketShutdown.Send);
                await Task.WhenAny(responses, Task.Delay(TimeSpan.FromSeconds(5), done.Token));
            }

            await done.CancelAsync();
            await Task.WhenAll(requests, responses).ContinueWith(_ => { }, TaskScheduler.Default);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Either side went away: the proxied connection ends, as a direct one would.
        }
    }

    private async Task ForwardRequestsAsync(Stream client, Stream upstream, CancellationToken cancellationToken)
    {
        var reader = PipeReader.Create(client, new StreamPipeReaderOptions(leaveOpen: true));
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                var sequence = new SequenceReader<byte>(buffer);
                if (!sequence.TryReadTo(out ReadOnlySequence<byte> head, "\r\n\r\n"u8, advancePastDelimiter: true))
                {
                    if (result.IsCompleted || buffer.Length > MaxHeadBytes)
                    {
                        return;
                    }

                    reader.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }

                var (rewritten, bodyLength, chunked) = Rewrite(Encoding.Latin1.GetString(head));
                reader.AdvanceTo(sequence.Position);
                await upstream.WriteAsync(Encoding.Latin1.GetBytes(rewritten), cancellationToken);
                if (chunked)
                {
                    await reader.CopyToAsync(upstream, cancellationToken);
                    return;
                }

                while (bodyLength > 0)
                {
                    var body = await reader.ReadAsync(cancellationToken);
                    var take = body.Buffer.Slice(0, Math.Min(bodyLength, body.Buffer.Length));
                    foreach (var segment in take)
                    {
                        await upstream.WriteAsync(segment, cancellationToken);
                    }

                    bodyLength -= take.Length;
                    reader.AdvanceTo(take.End);
                    if (body.IsCompleted && bodyLength > 0)
                    {
                        return;
                    }
                }
            }
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private (string Head, long BodyLength, bool Chunked) Rewrite(string head)
    {
        var lines = head.Split("\r\n");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var output = new StringBuilder(head.Length + 128).Append(lines[0]).Append("\r\n");
        long bodyLength = 0;
        var chunked = false;
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out var existing) ? existing + ", " + value : value;
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                bodyLength = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
            }

            chunked |= name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase);
            if (!_replace.ContainsKey(name))
            {
                output.Append(line).Append("\r\n");
            }
        }

        foreach (var (name, value) in _replace)
        {
            if (value is not null)
            {
                output.Append(name).Append(": ").Append(value).Append("\r\n");
            }
        }

        _requests.Enqueue(new ProxiedRequest(lines[0], headers));
        return (output.Append("\r\n").ToString(), bodyLength, chunked);
    }
}
