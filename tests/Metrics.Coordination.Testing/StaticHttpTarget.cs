using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Metrics.Coordination.Testing;

/// <summary>What a <see cref="StaticHttpTarget"/> answers to one request.</summary>
/// <param name="Status">The HTTP status code.</param>
/// <param name="ContentType">The <c>Content-Type</c>, or null to send none.</param>
/// <param name="Body">The body bytes.</param>
public sealed record StaticResponse(int Status, string? ContentType, byte[] Body)
{
    /// <summary>Delay before answering (a target slower than the scrape timeout, say).</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>Extra headers (<c>Content-Encoding: gzip</c>, say).</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>A 200 with a Prometheus text 0.0.4 body.</summary>
    public static StaticResponse Text(string body) => new(200, "text/plain; version=0.0.4; charset=utf-8", Encoding.UTF8.GetBytes(body));

    /// <summary>A 200 with an OpenMetrics 1.0 body.</summary>
    public static StaticResponse OpenMetrics(string body) => new(200, "application/openmetrics-text; version=1.0.0; charset=utf-8", Encoding.UTF8.GetBytes(body));
}

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 that answers every request with what a callback returns (one response per
/// connection, then close), and records each request's line and headers. For scrape targets whose bytes a test
/// controls exactly: a fixed exposition, garbage, a 500, a response slower than the scrape timeout.
/// </summary>
public sealed class StaticHttpTarget : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private readonly ConcurrentQueue<ProxiedRequest> _requests = new();
    private volatile Func<ProxiedRequest, StaticResponse> _respond;

    /// <summary>Starts listening on a free loopback port.</summary>
    public StaticHttpTarget(Func<ProxiedRequest, StaticResponse> respond)
    {
        _respond = respond;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>The port.</summary>
    public int Port { get; }

    /// <summary><c>127.0.0.1:port</c>.</summary>
    public string Target => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>The requests seen so far.</summary>
    public IReadOnlyList<ProxiedRequest> Requests => [.. _requests];

    /// <summary>Replaces the response callback (a target that starts failing, say).</summary>
    public void Respond(Func<ProxiedRequest, StaticResponse> respond) => _respond = respond;

    /// <summary>Stops listening and waits for the accept loop.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        {
            try
            {
                await using var stream = new NetworkStream(socket, ownsSocket: false);
                var head = new StringBuilder();
                var buffer = new byte[4096];
                while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var n = await stream.ReadAsync(buffer, _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    head.Append(Encoding.Latin1.GetString(buffer, 0, n));
                }

                var lines = head.ToString().Split("\r\n");
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var line in lines.Skip(1))
                {
                    var colon = line.IndexOf(':', StringComparison.Ordinal);
                    if (colon > 0)
                    {
                        headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                    }
                }

                var request = new ProxiedRequest(lines[0], headers);
                _requests.Enqueue(request);
                var response = _respond(request);
                if (response.Delay > TimeSpan.Zero)
                {
                    await Task.Delay(response.Delay, _stop.Token);
                }

                var sb = new StringBuilder();
                sb.Append("HTTP/1.1 ").Append(response.Status.ToString(CultureInfo.InvariantCulture)).Append(" X\r\n");
                if (response.ContentType is not null)
                {
                    sb.Append("Content-Type: ").Append(response.ContentType).Append("\r\n");
                }

                foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>())
                {
                    sb.Append(name).Append(": ").Append(value).Append("\r\n");
                }

                sb.Append("Content-Length: ").Append(response.Body.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\nConnection: close\r\n\r\n");
                await stream.WriteAsync(Encoding.Latin1.GetBytes(sb.ToString()), _stop.Token);
                await stream.WriteAsync(response.Body, _stop.Token);
                await stream.FlushAsync(_stop.Token);
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client hung up (a scrape that timed out) or the target is stopping.
            }
        }
    }
}
