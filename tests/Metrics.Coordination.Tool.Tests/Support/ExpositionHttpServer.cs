using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Metrics.Coordination.Tool.Tests.Support;

/// <summary>A request as the server saw it.</summary>
internal sealed record ServedRequest(string Method, string Target, IReadOnlyDictionary<string, string> Headers);

/// <summary>What to answer.</summary>
internal sealed record ServedResponse(int Status, string? ContentType, string Body);

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1 and a port the OS picks (no free-port race): reads one request per
/// connection, answers with a fixed response and closes. Enough for a tool that GETs <c>/metrics</c> once.
/// </summary>
internal sealed class ExpositionHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<ServedRequest, ServedResponse> _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;

    private ExpositionHttpServer(Func<ServedRequest, ServedResponse> handler)
    {
        _handler = handler;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public ConcurrentQueue<ServedRequest> Requests { get; } = new();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Url => $"http://127.0.0.1:{Port}/metrics";

    public static ExpositionHttpServer Start(Func<ServedRequest, ServedResponse> handler) => new(handler);

    public static ExpositionHttpServer Serving(string contentType, string body) => Start(_ => new ServedResponse(200, contentType, body));

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            var head = new StringBuilder();
            var buffer = new byte[4096];
            while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var n = await stream.ReadAsync(buffer);
                if (n == 0)
                {
                    return;
                }

                head.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }

            var lines = head.ToString().Split("\r\n");
            var requestLine = lines[0].Split(' ');
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in lines.Skip(1).TakeWhile(l => l.Length > 0))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }

            var request = new ServedRequest(requestLine[0], requestLine[1], headers);
            Requests.Enqueue(request);
            var response = _handler(request);
            var body = Encoding.UTF8.GetBytes(response.Body);
            var reply = new StringBuilder()
                .Append("HTTP/1.1 ").Append(response.Status).Append(' ').Append(response.Status switch { 200 => "OK", 404 => "Not Found", 500 => "Internal Server Error", _ => "Status" }).Append("\r\n")
                .Append("Content-Length: ").Append(body.Length).Append("\r\n")
                .Append("Connection: close\r\n");
            if (response.ContentType is not null)
            {
                reply.Append("Content-Type: ").Append(response.ContentType).Append("\r\n");
            }

            reply.Append("\r\n");
            await stream.WriteAsync(Encoding.ASCII.GetBytes(reply.ToString()));
            await stream.WriteAsync(body);
        }
    }
}
