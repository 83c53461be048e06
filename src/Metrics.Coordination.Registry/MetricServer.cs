using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Metrics.Coordination.Abstractions.Exposition;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Registry;

/// <summary>
/// A standalone <c>/metrics</c> endpoint for applications without ASP.NET Core: a minimal HTTP/1.1 server on one
/// address that answers <c>GET</c> and <c>HEAD</c> on one path with the registry's exposition, negotiated from
/// <c>Accept</c> (Prometheus text or OpenMetrics, and the <c>escaping</c> parameter) and gzip-compressed when
/// <c>Accept-Encoding</c> allows. Other paths answer 404, other methods 405. Listens on 127.0.0.1 unless told otherwise.
/// </summary>
/// <remarks>
/// Why a small server of our own over <see cref="Socket"/> rather than <c>HttpListener</c>: <c>HttpListener</c> cannot
/// bind port 0 (callers would have to guess a free port and race for it), its managed Unix implementation is frozen
/// and not recommended for new code, and it hands out a <see cref="Stream"/> per response. Here the port comes from
/// the bound socket, the registry writes straight into a <see cref="PipeWriter"/> over the connection (chunked, so
/// large registries stream), and the server needs nothing outside the base class library. It speaks only the small
/// part of HTTP/1.1 a scraper uses: keep-alive, pipelined requests, <c>GET</c>/<c>HEAD</c> without bodies; requests
/// carrying a body are answered and the connection is closed. Put a reverse proxy in front for TLS or authentication.
/// </remarks>
public sealed class MetricServer : IAsyncDisposable
{
    // Longest request line plus headers we read. Prometheus sends ~300 bytes; authorization headers and proxies add
    // a few KiB. Kestrel allows 32 KiB in total; a metrics endpoint needs less, and the cap bounds memory per client.
    private const int MaxRequestHeadBytes = 16 * 1024;

    // Per-connection scratch: one body segment (below) plus chunk framing and the response head, so each segment
    // goes out in one send. ArrayPool rounds 17 KiB up to 32 KiB anyway.
    private const int ScratchBytes = 32 * 1024;

    // Size of the buffers the registry writes into. The registry flushes every 64 KiB, so a flush is four segments.
    private const int BodySegmentBytes = 16 * 1024;

    // A metrics endpoint sees one connection per scraper; 128 leaves room for several Prometheus replicas and
    // curl sessions while bounding what a misbehaving client can hold open (each connection holds ~40 KiB).
    private const int MaxConnections = 128;

    private const int ListenBacklog = 128;

    // The first request on a connection must arrive within this time (Kestrel's RequestHeadersTimeout is 30 s).
    private static readonly TimeSpan RequestHeadTimeout = TimeSpan.FromSeconds(30);

    // An idle keep-alive connection is closed after this time: Kestrel's default, longer than Go's 90 s idle timeout,
    // so Prometheus normally closes first and never races a request against our close.
    private static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(130);

    // After an accept error (say, out of file descriptors) wait before accepting again instead of spinning.
    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly MetricRegistry _registry;
    private readonly string _host;
    private readonly int _port;
    private readonly string _path;
    private readonly bool _compress;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _aborting = new();
    private readonly ConcurrentDictionary<long, Connection> _connections = new();
    private Socket? _listener;
    private Task? _acceptLoop;
    private Task? _stopped;
    private Uri? _url;
    private bool _started;
    private long _nextConnectionId;

    /// <summary>Creates a server for <paramref name="registry"/>; nothing listens until <see cref="StartAsync"/>.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public MetricServer(MetricRegistry registry, MetricServerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        options ??= new MetricServerOptions();
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Host, nameof(options));
        ArgumentNullException.ThrowIfNull(options.LoggerFactory, nameof(options));
        if (options.Port is < 0 or > IPEndPoint.MaxPort)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Port, "Port must be between 0 and 65535.");
        }

        if (string.IsNullOrEmpty(options.Path) || options.Path[0] != '/' || options.Path.AsSpan().IndexOfAny("?# \t\r\n") >= 0)
        {
            throw new ArgumentException($"Path '{options.Path}' must start with '/' and contain no query, fragment or whitespace.", nameof(options));
        }

        _registry = registry;
        _host = options.Host.Trim();
        _port = options.Port;
        _path = options.Path;
        _compress = options.EnableCompression;
        _logger = options.LoggerFactory.CreateLogger("Metrics.Coordination.Registry.MetricServer");
    }

    /// <summary>The metrics URL, with the port actually bound (useful with port 0).</summary>
    /// <exception cref="InvalidOperationException">The server has not been started.</exception>
    public Uri Url => _url ?? throw new InvalidOperationException("The metric server has not been started; call StartAsync first.");

    /// <summary>Replaces the scrape body for tests (fault injection); null means the registry's exposition.</summary>
    internal Func<PipeWriter, ExpositionContent, CancellationToken, ValueTask>? BodyWriterOverride { get; set; }

    /// <summary>Binds the address and starts accepting connections. A server starts at most once.</summary>
    /// <exception cref="InvalidOperationException">The server was already started or stopped.</exception>
    /// <exception cref="SocketException">The address cannot be bound (port in use, say) or the host not resolved.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (_stopped is not null)
            {
                throw new InvalidOperationException("The metric server was stopped; create a new one.");
            }

            if (_started)
            {
                throw new InvalidOperationException("The metric server was already started.");
            }

            _started = true;
        }

        Socket? listener = null;
        try
        {
            var address = await ResolveAsync(_host, cancellationToken).ConfigureAwait(false);
            listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            if (address.Equals(IPAddress.IPv6Any))
            {
                listener.DualMode = true;
            }

            listener.Bind(new IPEndPoint(address, _port));
            listener.Listen(ListenBacklog);
            var bound = (IPEndPoint)listener.LocalEndPoint!;
            var urlHost = address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? _host : address.ToString();
            _url = new UriBuilder(Uri.UriSchemeHttp, urlHost, bound.Port, _path).Uri;
        }
        catch
        {
            listener?.Dispose();
            lock (_lock)
            {
                _started = false;
            }

            throw;
        }

        lock (_lock)
        {
            if (_stopped is not null)
            {
                // StopAsync ran while we were binding: it found nothing to stop, so nothing may start now.
                listener.Dispose();
                throw new InvalidOperationException("The metric server was stopped while it was starting.");
            }

            _listener = listener;
            _acceptLoop = AcceptLoopAsync(listener);
        }

        Log.ServerListening(_logger, _url.ToString());
    }

    /// <summary>
    /// Stops accepting, closes idle connections and waits for responses in flight. When
    /// <paramref name="cancellationToken"/> fires, responses still in flight are cut off.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        Task stopped;
        lock (_lock)
        {
            _stopped ??= _started ? StopCoreAsync(cancellationToken) : Task.CompletedTask;
            stopped = _stopped;
        }

        return stopped.WaitAsync(cancellationToken);
    }

    /// <summary>Stops the server, cutting off responses in flight.</summary>
    public async ValueTask DisposeAsync()
    {
        using var cut = new CancellationTokenSource();
        await cut.CancelAsync().ConfigureAwait(false);
        Task stopped;
        lock (_lock)
        {
            _stopped ??= _started ? StopCoreAsync(cut.Token) : Task.CompletedTask;
            stopped = _stopped;
        }

        Abort();
        await stopped.ConfigureAwait(false);
        _stopping.Dispose();
        _aborting.Dispose();
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        // Yield so StopAsync returns its task before the work runs under the lock's caller.
        await Task.Yield();
        Socket? listener;
        Task? acceptLoop;
        lock (_lock)
        {
            listener = _listener;
            acceptLoop = _acceptLoop;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        listener?.Dispose();
        if (acceptLoop is not null)
        {
            await acceptLoop.ConfigureAwait(false);
        }

        // The accept loop has ended, so every connection is in the table with its task set.
        var tasks = _connections.Values.Select(c => c.Task ?? Task.CompletedTask).ToArray();
        using (cancellationToken.Register(static s => ((MetricServer)s!).Abort(), this))
        {
            // Connection tasks never throw: they log and swallow their own errors.
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }

        Log.ServerStopped(_logger, _url?.ToString() ?? _host);
    }

    private void Abort()
    {
        try
        {
            _aborting.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        foreach (var c in _connections.Values)
        {
            c.Socket.Dispose();
        }
    }

    private static async Task<IPAddress> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host.Trim('[', ']'), out var ip))
        {
            return ip;
        }

        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return IPAddress.Loopback;
        }

        var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault()
            ?? throw new SocketException((int)SocketError.HostNotFound);
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        // Run the loop off the caller of StartAsync.
        await Task.Yield();
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.AcceptFailed(_logger, ex);
                try
                {
                    await Task.Delay(AcceptRetryDelay, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            if (_connections.Count >= MaxConnections)
            {
                Log.ConnectionLimitReached(_logger, socket.RemoteEndPoint?.ToString() ?? "?", MaxConnections);
                socket.Dispose();
                continue;
            }

            // Responses go out in few, large sends; Nagle would hold the final chunk back for a delayed ACK (40 ms).
            socket.NoDelay = true;
            var id = ++_nextConnectionId;
            var connection = new Connection(socket);
            _connections[id] = connection;

            // Read the peer address now, while the socket is certainly open: by the time the connection task runs,
            // a stop may already have disposed it, and RemoteEndPoint would throw.
            var remote = socket.RemoteEndPoint?.ToString() ?? "?";
            connection.Task = RunConnectionAsync(id, connection, remote);
        }
    }

    private async Task RunConnectionAsync(long id, Connection connection, string remote)
    {
        await Task.Yield();
        NetworkStream stream;
        try
        {
            stream = new NetworkStream(connection.Socket, ownsSocket: true);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // Stopped (or the peer vanished) before this connection got to run.
            connection.Socket.Dispose();
            _connections.TryRemove(id, out _);
            return;
        }

        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true));
        var scratch = ArrayPool<byte>.Shared.Rent(ScratchBytes);
        try
        {
            var first = true;
            while (!_stopping.IsCancellationRequested)
            {
                Request? request;
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
                {
                    timeout.CancelAfter(first ? RequestHeadTimeout : KeepAliveTimeout);
                    request = await ReadRequestAsync(reader, timeout.Token).ConfigureAwait(false);
                }

                first = false;
                if (request is null)
                {
                    return;
                }

                if (!await RespondAsync(stream, scratch, request, remote).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping, an idle keep-alive connection timing out, or a client too slow to send its request.
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            Log.ConnectionFailed(_logger, remote, ex);
        }
        catch (Exception ex)
        {
            Log.ServeFailed(_logger, remote, ex);
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
            ArrayPool<byte>.Shared.Return(scratch);
            _connections.TryRemove(id, out _);
        }
    }

    /// <summary>Answers one request; returns whether the connection stays open for the next.</summary>
    private async Task<bool> RespondAsync(NetworkStream stream, byte[] scratch, Request request, string remote)
    {
        if (request.Error is { } error)
        {
            Log.RequestRejected(_logger, error.Status, remote, error.Reason);
            await WriteSimpleAsync(stream, scratch, error.Status, error.Reason, request.IsHead, keepAlive: false).ConfigureAwait(false);
            return false;
        }

        // Bodies are not read, so a request that has one leaves the stream out of step: close after answering.
        // HTTP/1.0 gets no chunked encoding, so its body ends where the connection does.
        var keepAlive = request.KeepAlive && !request.HasBody && request.Http11 && !_stopping.IsCancellationRequested;
        if (!string.Equals(request.Path, _path, StringComparison.Ordinal))
        {
            Log.RequestRejected(_logger, 404, remote, request.Path);
            await WriteSimpleAsync(stream, scratch, 404, "Not Found", request.IsHead, keepAlive).ConfigureAwait(false);
            return keepAlive;
        }

        if (request.Method is not ("GET" or "HEAD"))
        {
            Log.RequestRejected(_logger, 405, remote, request.Method);
            await WriteSimpleAsync(stream, scratch, 405, "Method Not Allowed", request.IsHead, keepAlive, "Allow: GET, HEAD\r\n").ConfigureAwait(false);
            return keepAlive;
        }

        var content = ExpositionNegotiation.Negotiate(request.Accept);
        var gzip = _compress && AcceptsGzip(request.AcceptEncoding);
        var chunked = request.Http11 && !request.IsHead;
        var head = BuildScrapeHead(content.ContentType, gzip, chunked, keepAlive);
        if (request.IsHead)
        {
            await stream.WriteAsync(head, _aborting.Token).ConfigureAwait(false);
            return keepAlive;
        }

        return await ServeScrapeAsync(stream, scratch, head, chunked, gzip, content, remote).ConfigureAwait(false) && keepAlive;
    }

    private async Task<bool> ServeScrapeAsync(NetworkStream stream, byte[] scratch, byte[] head, bool chunked, bool gzip, ExpositionContent content, string remote)
    {
        var body = new ResponseBody(stream, scratch, head, chunked);
        var compressor = gzip ? new GZipStream(body, CompressionLevel.Fastest, leaveOpen: true) : null;
        var writer = PipeWriter.Create(compressor ?? (Stream)body, new StreamPipeWriterOptions(minimumBufferSize: BodySegmentBytes, leaveOpen: true));
        Exception failure;
        try
        {
            var token = _aborting.Token;
            await (BodyWriterOverride?.Invoke(writer, content, token) ?? _registry.WriteToAsync(writer, content.Format, content.Escaping, token)).ConfigureAwait(false);
            await writer.CompleteAsync().ConfigureAwait(false);
            if (compressor is not null)
            {
                // Writes the last deflate block and the gzip trailer.
                await compressor.DisposeAsync().ConfigureAwait(false);
            }

            await body.CompleteAsync(token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        // Drop whatever the writer and compressor still hold: nothing more of this body may reach the client.
        body.Abandon();
        await writer.CompleteAsync(failure).ConfigureAwait(false);
        if (compressor is not null)
        {
            await compressor.DisposeAsync().ConfigureAwait(false);
        }

        if (body.TransportFailed || _aborting.IsCancellationRequested)
        {
            Log.ConnectionFailed(_logger, remote, failure);
            return false;
        }

        Log.ServeFailed(_logger, remote, failure);
        if (!body.HeadersSent)
        {
            await WriteSimpleAsync(stream, scratch, 500, "Internal Server Error", isHead: false, keepAlive: false).ConfigureAwait(false);
        }

        // Otherwise the client sees the body end without its last chunk (or gzip trailer) and discards the scrape.
        return false;
    }

    private byte[] BuildScrapeHead(string contentType, bool gzip, bool chunked, bool keepAlive)
    {
        var sb = new StringBuilder(256);
        sb.Append("HTTP/1.1 200 OK\r\nDate: ").Append(DateHeader()).Append("\r\nContent-Type: ").Append(contentType).Append("\r\n");
        if (gzip)
        {
            sb.Append("Content-Encoding: gzip\r\n");
        }

        sb.Append(_compress ? "Vary: Accept, Accept-Encoding\r\n" : "Vary: Accept\r\n");
        if (chunked)
        {
            sb.Append("Transfer-Encoding: chunked\r\n");
        }

        sb.Append(keepAlive ? "\r\n" : "Connection: close\r\n\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    private async Task WriteSimpleAsync(NetworkStream stream, byte[] scratch, int status, string reason, bool isHead, bool keepAlive, string extraHeaders = "")
    {
        var text = $"{status} {reason}\n";
        var head = $"HTTP/1.1 {status.ToString(CultureInfo.InvariantCulture)} {reason}\r\nDate: {DateHeader()}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {text.Length.ToString(CultureInfo.InvariantCulture)}\r\n{extraHeaders}{(keepAlive ? string.Empty : "Connection: close\r\n")}\r\n";
        var n = Encoding.ASCII.GetBytes(head, scratch);
        if (!isHead)
        {
            n += Encoding.ASCII.GetBytes(text, scratch.AsSpan(n));
        }

        await stream.WriteAsync(scratch.AsMemory(0, n), _aborting.Token).ConfigureAwait(false);
    }

    private static string DateHeader() => TimeProvider.System.GetUtcNow().ToString("r", CultureInfo.InvariantCulture);

    /// <summary>Whether an <c>Accept-Encoding</c> value admits gzip (see <see cref="ExpositionNegotiation.AcceptsGzip"/>).</summary>
    internal static bool AcceptsGzip(string? acceptEncoding) => ExpositionNegotiation.AcceptsGzip(acceptEncoding);

    /// <summary>Reads one request head; null when the client closed the connection between requests.</summary>
    private static async ValueTask<Request?> ReadRequestAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;

            // RFC 9112 §2.2: ignore empty lines before a request line (some clients send CRLF after a body).
            var sequence = new SequenceReader<byte>(buffer);
            while (sequence.IsNext("\r\n"u8, advancePast: true))
            {
            }

            var start = sequence.Position;
            if (sequence.TryReadTo(out ReadOnlySequence<byte> head, "\r\n\r\n"u8, advancePastDelimiter: true))
            {
                var request = Request.Parse(Encoding.Latin1.GetString(head));
                reader.AdvanceTo(sequence.Position);
                return request;
            }

            if (buffer.Slice(start).Length >= MaxRequestHeadBytes)
            {
                reader.AdvanceTo(buffer.End);
                return Request.Reject(431, "Request Header Fields Too Large");
            }

            if (result.IsCompleted)
            {
                // A clean close between requests, or a client gone mid-request: either way nothing to answer.
                reader.AdvanceTo(buffer.End);
                return null;
            }

            reader.AdvanceTo(start, buffer.End);
        }
    }

    private sealed class Connection(Socket socket)
    {
        public Socket Socket { get; } = socket;

        public Task? Task { get; set; }
    }

    private readonly record struct RequestError(int Status, string Reason);

    private sealed class Request
    {
        public string Method { get; private init; } = string.Empty;

        public string Path { get; private init; } = string.Empty;

        public bool Http11 { get; private init; }

        public bool IsHead => Method == "HEAD";

        public string? Accept { get; private init; }

        public string? AcceptEncoding { get; private init; }

        public bool KeepAlive { get; private init; }

        public bool HasBody { get; private init; }

        public RequestError? Error { get; private init; }

        public static Request Reject(int status, string reason) => new() { Error = new RequestError(status, reason) };

        public static Request Parse(string head)
        {
            var lines = head.Split("\r\n");
            var requestLine = lines[0].Split(' ');
            if (requestLine.Length != 3 || requestLine[0].Length == 0 || requestLine[1].Length == 0)
            {
                return Reject(400, "Bad Request");
            }

            var (method, target, version) = (requestLine[0], requestLine[1], requestLine[2]);
            bool http11;
            if (version == "HTTP/1.1")
            {
                http11 = true;
            }
            else if (version == "HTTP/1.0")
            {
                http11 = false;
            }
            else
            {
                return version.StartsWith("HTTP/", StringComparison.Ordinal)
                    ? new Request { Method = method, Error = new RequestError(505, "HTTP Version Not Supported") }
                    : Reject(400, "Bad Request");
            }

            string? accept = null;
            string? acceptEncoding = null;
            var close = false;
            var keepAliveToken = false;
            var hasBody = false;
            var hosts = 0;
            for (var i = 1; i < lines.Length; i++)
            {
                var line = lines[i];
                var colon = line.IndexOf(':', StringComparison.Ordinal);

                // No name, whitespace before the colon, or obsolete line folding: RFC 9112 says reject.
                if (colon <= 0 || line[colon - 1] is ' ' or '\t' || line[0] is ' ' or '\t')
                {
                    return new Request { Method = method, Error = new RequestError(400, "Bad Request") };
                }

                var name = line.AsSpan(0, colon);
                var value = line.AsSpan(colon + 1).Trim(" \t");
                if (name.Equals("Accept", StringComparison.OrdinalIgnoreCase))
                {
                    accept = accept is null ? value.ToString() : $"{accept}, {value}";
                }
                else if (name.Equals("Accept-Encoding", StringComparison.OrdinalIgnoreCase))
                {
                    acceptEncoding = acceptEncoding is null ? value.ToString() : $"{acceptEncoding}, {value}";
                }
                else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
                {
                    foreach (var token in value.ToString().Split(',', StringSplitOptions.TrimEntries))
                    {
                        close |= token.Equals("close", StringComparison.OrdinalIgnoreCase);
                        keepAliveToken |= token.Equals("keep-alive", StringComparison.OrdinalIgnoreCase);
                    }
                }
                else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
                    {
                        return new Request { Method = method, Error = new RequestError(400, "Bad Request") };
                    }

                    hasBody |= length > 0;
                }
                else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                {
                    hasBody = true;
                }
                else if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
                {
                    hosts++;
                }
            }

            // RFC 9112 §3.2: an HTTP/1.1 request without exactly one Host header gets 400.
            if (http11 && hosts != 1)
            {
                return new Request { Method = method, Error = new RequestError(400, "Bad Request") };
            }

            return new Request
            {
                Method = method,
                Path = PathOf(target),
                Http11 = http11,
                Accept = accept,
                AcceptEncoding = acceptEncoding,
                KeepAlive = http11 ? !close : keepAliveToken && !close,
                HasBody = hasBody,
            };
        }

        private static string PathOf(string target)
        {
            // Absolute form (http://host:port/path?query), used towards proxies; origin form otherwise.
            if (target.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            {
                var slash = target.IndexOf('/', "http://".Length);
                target = slash < 0 ? "/" : target[slash..];
            }

            var end = target.AsSpan().IndexOfAny('?', '#');
            return end < 0 ? target : target[..end];
        }
    }

    /// <summary>
    /// The response body as a write-only stream over the connection: sends the response head with the first bytes
    /// (so a scrape that fails before its first flush can still be answered with 500) and frames each write as an
    /// HTTP/1.1 chunk when <c>chunked</c>.
    /// </summary>
    private sealed class ResponseBody(NetworkStream transport, byte[] scratch, byte[] head, bool chunked) : Stream
    {
        // "FFFFFFFF\r\n" before a chunk and "\r\n" after it.
        private const int ChunkFraming = 12;

        public bool HeadersSent { get; private set; }

        public bool TransportFailed { get; private set; }

        private bool Abandoned { get; set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public void Abandon() => Abandoned = true;

        public async ValueTask CompleteAsync(CancellationToken cancellationToken)
        {
            var n = 0;
            if (!HeadersSent)
            {
                head.CopyTo(scratch, 0);
                n = head.Length;
            }

            if (chunked)
            {
                "0\r\n\r\n"u8.CopyTo(scratch.AsSpan(n));
                n += 5;
            }

            if (n > 0)
            {
                await SendAsync(scratch.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            }

            HeadersSent = true;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Abandoned || buffer.IsEmpty)
            {
                return;
            }

            var n = Prefix(buffer.Length);
            if (n + buffer.Length + ChunkFraming <= scratch.Length)
            {
                buffer.Span.CopyTo(scratch.AsSpan(n));
                n += buffer.Length;
                n += Suffix(n);
                await SendAsync(scratch.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await SendAsync(scratch.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                await SendAsync(buffer, cancellationToken).ConfigureAwait(false);
                var suffix = Suffix(0);
                if (suffix > 0)
                {
                    await SendAsync(scratch.AsMemory(0, suffix), cancellationToken).ConfigureAwait(false);
                }
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (Abandoned || buffer.IsEmpty)
            {
                return;
            }

            var n = Prefix(buffer.Length);
            Send(scratch.AsSpan(0, n));
            Send(buffer);
            Send(scratch.AsSpan(0, Suffix(0)));
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        /// <summary>Puts the pending response head and the chunk header for <paramref name="length"/> bytes into scratch.</summary>
        private int Prefix(int length)
        {
            var n = 0;
            if (!HeadersSent)
            {
                head.CopyTo(scratch, 0);
                n = head.Length;
                HeadersSent = true;
            }

            if (chunked)
            {
                Utf8Formatter.TryFormat(length, scratch.AsSpan(n), out var written, new StandardFormat('X'));
                n += written;
                scratch[n++] = (byte)'\r';
                scratch[n++] = (byte)'\n';
            }

            return n;
        }

        private int Suffix(int at)
        {
            if (!chunked)
            {
                return 0;
            }

            scratch[at] = (byte)'\r';
            scratch[at + 1] = (byte)'\n';
            return 2;
        }

        private async ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
        {
            try
            {
                await transport.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                TransportFailed = true;
                throw;
            }
        }

        private void Send(ReadOnlySpan<byte> bytes)
        {
            try
            {
                transport.Write(bytes);
            }
            catch
            {
                TransportFailed = true;
                throw;
            }
        }
    }
}
