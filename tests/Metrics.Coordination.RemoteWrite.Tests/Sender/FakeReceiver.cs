using System.Collections.Concurrent;
using System.Net;
using Metrics.Coordination.RemoteWrite.Protocol;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.RemoteWrite.Tests.Sender;

/// <summary>A received request: its headers and decoded body.</summary>
internal sealed record ReceivedRequest(IReadOnlyDictionary<string, string> Headers, WriteRequest Body, int Status);

/// <summary>
/// A loopback remote-write receiver for tests: decodes each request (snappy + protobuf), records it, and answers with
/// what <see cref="Respond"/> says (default 204).
/// </summary>
internal sealed class FakeReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public FakeReceiver()
    {
        for (var attempt = 0; ; attempt++)
        {
            Port = FreePort.Get();
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            try
            {
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
            }
        }

        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public Uri Url => new($"http://127.0.0.1:{Port}/api/v1/write");

    /// <summary>Decides the answer to the n-th request (0-based): status and optional Retry-After.</summary>
    public Func<int, (int Status, string? RetryAfter)> Respond { get; set; } = _ => (204, null);

    public ConcurrentQueue<ReceivedRequest> Requests { get; } = new();

    public ConcurrentQueue<DateTimeOffset> Arrivals { get; } = new();

    /// <summary>Samples of accepted (2xx) requests, per series (labels as text).</summary>
    public IReadOnlyDictionary<string, List<(long T, double V)>> AcceptedSeries()
    {
        var result = new Dictionary<string, List<(long, double)>>();
        foreach (var r in Requests.Where(r => r.Status is >= 200 and < 300))
        {
            foreach (var ts in r.Body.Timeseries)
            {
                var key = string.Join(",", ts.Labels.Select(l => $"{l.Name}={l.Value}"));
                if (!result.TryGetValue(key, out var list))
                {
                    result[key] = list = [];
                }

                list.AddRange(ts.Samples.Select(s => (s.Timestamp, s.Value)));
            }
        }

        return result;
    }

    public long AcceptedSamples() => Requests.Where(r => r.Status is >= 200 and < 300).Sum(r => r.Body.Timeseries.Sum(t => (long)t.Samples.Count));

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task LoopAsync()
    {
        var n = 0;
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            Arrivals.Enqueue(TimeProvider.System.GetUtcNow());
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var headers = context.Request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => context.Request.Headers[k]!, StringComparer.OrdinalIgnoreCase);
            WriteRequest decoded;
            try
            {
                decoded = WriteRequest.Parser.ParseFrom(SnappyCodec.Decompress(body.ToArray()));
            }
            catch (Exception ex)
            {
                context.Response.StatusCode = 400;
                await context.Response.OutputStream.WriteAsync(System.Text.Encoding.UTF8.GetBytes("bad body: " + ex.Message));
                context.Response.Close();
                continue;
            }

            var (status, retryAfter) = Respond(n++);
            Requests.Enqueue(new ReceivedRequest(headers, decoded, status));
            context.Response.StatusCode = status;
            if (retryAfter is not null)
            {
                context.Response.Headers["Retry-After"] = retryAfter;
            }

            if (status >= 400)
            {
                await context.Response.OutputStream.WriteAsync("refused by the fake receiver"u8.ToArray());
            }

            context.Response.Close();
        }
    }
}
