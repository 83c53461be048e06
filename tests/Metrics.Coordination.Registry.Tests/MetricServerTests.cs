using System.Buffers;
using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Registry.Tests;

/// <summary>The standalone server over real loopback HTTP.</summary>
public class MetricServerTests
{
    // What Prometheus 2.42 sends (captured from the real server); it prefers OpenMetrics.
    private const string PrometheusAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    private static async Task<MetricServer> StartAsync(MetricRegistry registry, MetricServerOptions? options = null)
    {
        var server = new MetricServer(registry, options);
        await server.StartAsync();
        return server;
    }

    private static HttpClient Client() =>
        new(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None, UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<HttpResponseMessage> GetAsync(HttpClient client, Uri url, string? accept = null, string? acceptEncoding = null, HttpMethod? method = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, url);
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", acceptEncoding);
        }

        return await client.SendAsync(request);
    }

    /// <summary>Sends raw bytes on a fresh connection and reads until the server closes it.</summary>
    private static async Task<string> RawAsync(Uri url, string request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, url.Port);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var buffer = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await stream.CopyToAsync(buffer, timeout.Token);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Decodes an HTTP/1.1 chunked body.</summary>
    private static string Dechunk(string body)
    {
        var result = new StringBuilder();
        var pos = 0;
        while (true)
        {
            var lineEnd = body.IndexOf("\r\n", pos, StringComparison.Ordinal);
            var size = Convert.ToInt32(body[pos..lineEnd], 16);
            if (size == 0)
            {
                body[(lineEnd + 2)..].Should().Be("\r\n", "the last chunk is followed by an empty trailer");
                return result.ToString();
            }

            // Sizes count bytes; our test bodies are ASCII.
            result.Append(body, lineEnd + 2, size);
            body.Substring(lineEnd + 2 + size, 2).Should().Be("\r\n");
            pos = lineEnd + 2 + size + 2;
        }
    }

    private static MetricRegistry SmallRegistry()
    {
        var registry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false });
        registry.CreateCounter("jobs_total", "Jobs.", "queue").WithLabels("default").Inc(7);
        registry.CreateGauge("my.utf8.gauge", "A name outside the legacy set.").Set(3);
        registry.CreateHistogram("wait_seconds", "Wait.", new HistogramOptions { Buckets = [1, 2] }).Observe(1.5);
        return registry;
    }

    [Test]
    public async Task StartAsync_DefaultOptions_ListensOnLoopbackOnAChosenPort()
    {
        await using var server = await StartAsync(SmallRegistry());

        server.Url.Host.Should().Be("127.0.0.1");
        server.Url.Port.Should().BePositive();
        server.Url.AbsolutePath.Should().Be("/metrics");
        server.Url.Scheme.Should().Be("http");
    }

    [Test]
    public void Url_BeforeStart_Throws()
    {
        var server = new MetricServer(SmallRegistry());

        var act = () => server.Url;

        act.Should().Throw<InvalidOperationException>().WithMessage("*StartAsync*");
    }

    [TestCase("metrics")]
    [TestCase("/metrics?x=1")]
    [TestCase("")]
    public void Constructor_InvalidPath_Throws(string path)
    {
        var act = () => new MetricServer(SmallRegistry(), new MetricServerOptions { Path = path });

        act.Should().Throw<ArgumentException>();
    }

    [TestCase(-1)]
    [TestCase(65536)]
    public void Constructor_InvalidPort_Throws(int port)
    {
        var act = () => new MetricServer(SmallRegistry(), new MetricServerOptions { Port = port });

        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public async Task StartAsync_PortInUse_ThrowsAndStaysUnstarted()
    {
        using var blocker = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        blocker.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        blocker.Listen();
        var server = new MetricServer(SmallRegistry(), new MetricServerOptions { Port = ((IPEndPoint)blocker.LocalEndPoint!).Port });

        var act = () => server.StartAsync();

        await act.Should().ThrowAsync<SocketException>();
        ((Func<Uri>)(() => server.Url)).Should().Throw<InvalidOperationException>();
        await server.DisposeAsync();
    }

    [Test]
    public async Task StartAsync_Twice_Throws()
    {
        await using var server = await StartAsync(SmallRegistry());

        var act = () => server.StartAsync();

        await act.Should().ThrowAsync<InvalidOperationException>();
    }

    [Test]
    public async Task Get_NoAccept_ServesPrometheusText()
    {
        var registry = SmallRegistry();
        await using var server = await StartAsync(registry);
        using var client = Client();

        using var response = await GetAsync(client, server.Url);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.ToString().Should().Be(ExpositionNegotiation.PrometheusTextContentType);
        response.Content.Headers.ContentEncoding.Should().BeEmpty();
        response.Headers.Vary.Should().Contain(["Accept", "Accept-Encoding"]);
        response.Headers.TransferEncodingChunked.Should().BeTrue();
        (await response.Content.ReadAsStringAsync()).Should().Be(registry.ToText());
    }

    [Test]
    public async Task Get_PrometheusAcceptHeader_ServesOpenMetrics()
    {
        var registry = SmallRegistry();
        await using var server = await StartAsync(registry);
        using var client = Client();

        using var response = await GetAsync(client, server.Url, PrometheusAccept);

        response.Content.Headers.ContentType!.ToString().Should().Be(ExpositionNegotiation.OpenMetricsContentType);
        var body = await response.Content.ReadAsStringAsync();
        body.Should().Be(registry.ToText(ExpositionFormat.OpenMetrics));
        body.Should().EndWith("# EOF\n");
    }

    [TestCase("text/plain;version=0.0.4", ExpositionFormat.PrometheusText, NameEscaping.Underscores, "my_utf8_gauge 3")]
    [TestCase("text/plain;version=0.0.4;escaping=allow-utf-8", ExpositionFormat.PrometheusText, NameEscaping.AllowUtf8, "{\"my.utf8.gauge\"} 3")]
    [TestCase("application/openmetrics-text;version=1.0.0;escaping=dots", ExpositionFormat.OpenMetrics, NameEscaping.Dots, "my_dot_utf8_dot_gauge 3")]
    [TestCase("application/openmetrics-text;version=1.0.0;escaping=values", ExpositionFormat.OpenMetrics, NameEscaping.Values, "U__my_2e_utf8_2e_gauge 3")]
    public async Task Get_EscapingParameter_WritesNamesThatWay(string accept, ExpositionFormat format, NameEscaping escaping, string expectedLine)
    {
        var registry = SmallRegistry();
        await using var server = await StartAsync(registry);
        using var client = Client();

        using var response = await GetAsync(client, server.Url, accept);

        var body = await response.Content.ReadAsStringAsync();
        body.Should().Be(registry.ToText(format, escaping));
        body.Split('\n').Should().Contain(expectedLine);
        response.Content.Headers.ContentType!.ToString().Should().Be(ExpositionNegotiation.Negotiate(accept).ContentType);
    }

    [TestCase("gzip")]
    [TestCase("gzip, deflate, br")]
    [TestCase("br;q=1, gzip;q=0.5")]
    [TestCase("*")]
    public async Task Get_AcceptEncodingAllowsGzip_BodyIsGzippedExposition(string acceptEncoding)
    {
        var registry = SmallRegistry();
        await using var server = await StartAsync(registry);
        using var client = Client();

        using var response = await GetAsync(client, server.Url, PrometheusAccept, acceptEncoding);

        response.Content.Headers.ContentEncoding.Should().Equal("gzip");
        await using var gzip = new GZipStream(await response.Content.ReadAsStreamAsync(), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        (await reader.ReadToEndAsync()).Should().Be(registry.ToText(ExpositionFormat.OpenMetrics));
    }

    [TestCase("gzip;q=0")]
    [TestCase("*, gzip;q=0")]
    [TestCase("identity")]
    [TestCase("br")]
    public async Task Get_AcceptEncodingRefusesGzip_BodyIsPlain(string acceptEncoding)
    {
        var registry = SmallRegistry();
        await using var server = await StartAsync(registry);
        using var client = Client();

        using var response = await GetAsync(client, server.Url, acceptEncoding: acceptEncoding);

        response.Content.Headers.ContentEncoding.Should().BeEmpty();
        (await response.Content.ReadAsStringAsync()).Should().Be(registry.ToText());
    }

    [Test]
    public async Task Get_CompressionDisabled_IgnoresAcceptEncoding()
    {
        var registry = SmallRegistry();
        await using var server = await StartAsync(registry, new MetricServerOptions { EnableCompression = false });
        using var client = Client();

        using var response = await GetAsync(client, server.Url, acceptEncoding: "gzip");

        response.Content.Headers.ContentEncoding.Should().BeEmpty();
        response.Headers.Vary.Should().Equal("Accept");
        (await response.Content.ReadAsStringAsync()).Should().Be(registry.ToText());
    }

    [Test]
    public async Task Get_LargeRegistry_StreamsWholeExpositionInBothEncodings()
    {
        // ~2.5 MB of text: dozens of registry flushes, many chunks, several gzip sync-flush blocks.
        var registry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false });
        var counter = registry.CreateCounter("big_total", "Big.", "shard", "key");
        for (var i = 0; i < 40_000; i++)
        {
            counter.WithLabels((i % 16).ToString(System.Globalization.CultureInfo.InvariantCulture), "key-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc(i);
        }

        await using var server = await StartAsync(registry);
        using var client = Client();
        var expected = registry.ToText();

        using var plain = await GetAsync(client, server.Url);
        using var gzipped = await GetAsync(client, server.Url, acceptEncoding: "gzip");

        (await plain.Content.ReadAsStringAsync()).Should().Be(expected);
        await using var gzip = new GZipStream(await gzipped.Content.ReadAsStreamAsync(), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        (await reader.ReadToEndAsync()).Should().Be(expected);
    }

    [Test]
    public async Task Get_QueryString_IsIgnored()
    {
        var registry = SmallRegistry();
        await using var server = await StartAsync(registry);
        using var client = Client();

        using var response = await GetAsync(client, new Uri(server.Url, "/metrics?debug=1"));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Be(registry.ToText());
    }

    [Test]
    public async Task Get_CustomPath_ServesOnlyThere()
    {
        await using var server = await StartAsync(SmallRegistry(), new MetricServerOptions { Path = "/internal/prom" });
        using var client = Client();

        using var atPath = await GetAsync(client, server.Url);
        using var atDefault = await GetAsync(client, new Uri(server.Url, "/metrics"));

        server.Url.AbsolutePath.Should().Be("/internal/prom");
        atPath.StatusCode.Should().Be(HttpStatusCode.OK);
        atDefault.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [TestCase("/")]
    [TestCase("/metrics/")]
    [TestCase("/Metrics")]
    [TestCase("/favicon.ico")]
    public async Task Get_OtherPath_Returns404(string path)
    {
        await using var server = await StartAsync(SmallRegistry());
        using var client = Client();

        using var response = await GetAsync(client, new Uri(server.Url, path));

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [TestCase("POST")]
    [TestCase("PUT")]
    [TestCase("DELETE")]
    [TestCase("OPTIONS")]
    public async Task OtherMethod_OnMetricsPath_Returns405WithAllow(string method)
    {
        await using var server = await StartAsync(SmallRegistry());
        using var client = Client();

        using var response = await GetAsync(client, server.Url, method: new HttpMethod(method));

        response.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
        response.Content.Headers.Allow.Should().Equal("GET", "HEAD");
    }

    [Test]
    public async Task Post_WithBody_Returns405AndClosesConnection()
    {
        await using var server = await StartAsync(SmallRegistry());

        var response = await RawAsync(server.Url, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");

        response.Should().StartWith("HTTP/1.1 405 Method Not Allowed\r\n");
        response.Should().Contain("Connection: close\r\n");
    }

    [Test]
    public async Task Head_MetricsPath_SendsHeadersWithoutBody()
    {
        await using var server = await StartAsync(SmallRegistry());
        using var client = Client();

        using var response = await GetAsync(client, server.Url, PrometheusAccept, "gzip", HttpMethod.Head);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.ToString().Should().Be(ExpositionNegotiation.OpenMetricsContentType);
        response.Content.Headers.ContentEncoding.Should().Equal("gzip");
        (await response.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }

    [Test]
    public async Task Head_OnRawConnection_HasNoBodyAndKeepsConnectionUsable()
    {
        var registry = SmallRegistry();
        await using var server = await StartAsync(registry);

        var response = await RawAsync(server.Url, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        var parts = response.Split("HTTP/1.1 200 OK\r\n", StringSplitOptions.RemoveEmptyEntries);
        parts.Should().HaveCount(2);
        parts[0].Should().EndWith("\r\n\r\n", "a HEAD response ends with its headers");
        parts[0].Should().NotContain("Transfer-Encoding");
        Dechunk(parts[1][(parts[1].IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..]).Should().Be(registry.ToText());
    }

    [Test]
    public async Task KeepAlive_PipelinedRequests_AllAnsweredInOrderOnOneConnection()
    {
        var registry = SmallRegistry();
        await using var server = await StartAsync(registry);

        var response = await RawAsync(
            server.Url,
            "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" +
            "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n" +
            $"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: {PrometheusAccept}\r\nConnection: close\r\n\r\n");

        var first = response.IndexOf("HTTP/1.1 200 OK", StringComparison.Ordinal);
        var second = response.IndexOf("HTTP/1.1 404 Not Found", StringComparison.Ordinal);
        var third = response.LastIndexOf("HTTP/1.1 200 OK", StringComparison.Ordinal);
        first.Should().Be(0);
        second.Should().BeGreaterThan(first);
        third.Should().BeGreaterThan(second);
        var firstBody = response[(response.IndexOf("\r\n\r\n", first, StringComparison.Ordinal) + 4)..second];
        Dechunk(firstBody).Should().Be(registry.ToText());
        var thirdBody = response[(response.IndexOf("\r\n\r\n", third, StringComparison.Ordinal) + 4)..];
        Dechunk(thirdBody).Should().Be(registry.ToText(ExpositionFormat.OpenMetrics));
        response[third..].Should().Contain("Connection: close\r\n");
    }

    [Test]
    public async Task KeepAlive_HttpClientReusesOneConnection()
    {
        var registry = SmallRegistry();
        await using var server = await StartAsync(registry);
        var connections = 0;
        using var client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = async (context, ct) =>
            {
                Interlocked.Increment(ref connections);
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        });

        for (var i = 0; i < 5; i++)
        {
            (await client.GetStringAsync(server.Url)).Should().Be(registry.ToText());
        }

        connections.Should().Be(1);
    }

    [Test]
    public async Task Http10_Request_BodyIsDelimitedByClose()
    {
        var registry = SmallRegistry();
        await using var server = await StartAsync(registry);

        var response = await RawAsync(server.Url, "GET /metrics HTTP/1.0\r\n\r\n");

        response.Should().StartWith("HTTP/1.1 200 OK\r\n");
        var headEnd = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        response[..headEnd].Should().NotContain("Transfer-Encoding").And.Contain("Connection: close");
        response[(headEnd + 4)..].Should().Be(registry.ToText());
    }

    [TestCase("GARBAGE\r\n\r\n", 400)]
    [TestCase("GET /metrics HTTP/1.1\r\n\r\n", 400)]
    [TestCase("GET /metrics HTTP/1.1\r\nHost: x\r\nBad Header : y\r\n\r\n", 400)]
    [TestCase("GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400)]
    [TestCase("GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505)]
    public async Task MalformedRequest_IsRejectedAndConnectionClosed(string request, int status)
    {
        await using var server = await StartAsync(SmallRegistry());

        var response = await RawAsync(server.Url, request + "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");

        response.Should().StartWith($"HTTP/1.1 {status} ");
        response.Should().Contain("Connection: close\r\n");
        response.Should().NotContain("200 OK", "nothing after a bad request is read");
    }

    [Test]
    public async Task OversizedRequestHead_Returns431()
    {
        await using var server = await StartAsync(SmallRegistry());

        var response = await RawAsync(server.Url, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('a', 20_000) + "\r\n\r\n");

        response.Should().StartWith("HTTP/1.1 431 ");
    }

    [Test]
    public async Task ScrapeFailsBeforeAnyFlush_Returns500AndLogsServeFailed()
    {
        var logs = new CapturingLoggerFactory();
        await using var server = new MetricServer(SmallRegistry(), new MetricServerOptions { LoggerFactory = logs });
        server.BodyWriterOverride = (writer, _, _) =>
        {
            writer.Write("partial 1\n"u8);
            throw new InvalidOperationException("collector exploded");
        };
        await server.StartAsync();
        using var client = Client();

        using var response = await GetAsync(client, server.Url, acceptEncoding: "gzip");

        response.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        response.Content.Headers.ContentEncoding.Should().BeEmpty("the failed gzip body is dropped, not sent");
        (await response.Content.ReadAsStringAsync()).Should().NotContain("partial");
        logs.Entries.Should().Contain(e => e.EventId.Id == 1005 && e.Exception!.Message == "collector exploded");
    }

    [Test]
    public async Task ScrapeFailsAfterResponseStarted_CutsConnectionMidBody()
    {
        var logs = new CapturingLoggerFactory();
        await using var server = new MetricServer(SmallRegistry(), new MetricServerOptions { LoggerFactory = logs });
        server.BodyWriterOverride = async (writer, _, ct) =>
        {
            writer.Write(Encoding.ASCII.GetBytes(new string('#', 100_000) + "\n"));
            await writer.FlushAsync(ct);
            throw new InvalidOperationException("collector exploded late");
        };
        await server.StartAsync();
        using var client = Client();

        var act = async () =>
        {
            using var response = await GetAsync(client, server.Url);
            await response.Content.ReadAsStringAsync();
        };

        await act.Should().ThrowAsync<HttpRequestException>("a truncated chunked body must not look like a complete scrape");
        logs.Entries.Should().Contain(e => e.EventId.Id == 1005 && e.Exception!.Message == "collector exploded late");
    }

    [Test]
    public async Task ConcurrentScrapes_AllSucceed()
    {
        var registry = SmallRegistry();
        await using var server = await StartAsync(registry);
        using var client = Client();

        var bodies = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => client.GetStringAsync(server.Url)));

        bodies.Should().AllBe(registry.ToText());
    }

    [Test]
    public async Task StopAsync_WithIdleKeepAliveConnection_ReturnsPromptlyAndRefusesNewConnections()
    {
        var logs = new CapturingLoggerFactory();
        var server = await StartAsync(SmallRegistry(), new MetricServerOptions { LoggerFactory = logs });
        var url = server.Url;
        using var idle = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await idle.ConnectAsync(IPAddress.Loopback, url.Port);
        await idle.SendAsync(Encoding.ASCII.GetBytes("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
        await Task.Delay(200);

        var clock = Stopwatch.StartNew();
        await server.StopAsync();

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2));
        var connect = async () =>
        {
            using var again = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await again.ConnectAsync(IPAddress.Loopback, url.Port);
        };
        await connect.Should().ThrowAsync<SocketException>();
        logs.Entries.Should().Contain(e => e.EventId.Id == 1006).And.Contain(e => e.EventId.Id == 1100);
        await server.DisposeAsync();
        var restart = () => server.StartAsync();
        await restart.Should().ThrowAsync<InvalidOperationException>();
    }

    [Test]
    public async Task StopAsync_WithScrapeInFlight_LetsItFinish()
    {
        var registry = SmallRegistry();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = new MetricServer(registry);
        server.BodyWriterOverride = async (writer, content, ct) =>
        {
            started.SetResult();
            await release.Task;
            await registry.WriteToAsync(writer, content.Format, content.Escaping, ct);
        };
        await server.StartAsync();
        using var client = Client();

        var scrape = client.GetStringAsync(server.Url);
        await started.Task;
        var stop = server.StopAsync();
        await Task.Delay(100);
        stop.IsCompleted.Should().BeFalse("the scrape in flight is still running");
        release.SetResult();

        (await scrape).Should().Be(registry.ToText());
        await stop;
        await server.DisposeAsync();
    }
}

/// <summary>A real Prometheus 2.42 scrapes a <see cref="MetricServer"/> as OpenMetrics and as Prometheus text.</summary>
[TestFixture]
[Category("Integration")]
public class MetricServerPrometheusTests
{
    private ScrapeScenario _scenario = null!;
    private MetricServer _server = null!;
    private HttpHeaderProxy _openMetricsProxy = null!;
    private HttpHeaderProxy _textProxy = null!;
    private PrometheusServer _prometheus = null!;
    private DualFormatScrape? _scrape;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _scenario = new ScrapeScenario();
        _server = new MetricServer(_scenario.Registry);
        await _server.StartAsync();

        // Job "om" scrapes as Prometheus asks; job "text" through a proxy that makes the target answer Prometheus text.
        _scrape = await DualFormatScrape.StartAsync(_server.Url.Port);
        (_openMetricsProxy, _textProxy, _prometheus) = (_scrape.OpenMetricsProxy, _scrape.TextProxy, _scrape.Prometheus);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_scrape is not null)
        {
            await _scrape.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Test]
    public async Task Up_BothJobs_IsOne()
    {
        var up = await _prometheus.QueryAsync("up");

        up.Select(s => (s["job"], s.Value)).Should().BeEquivalentTo([("om", 1.0), ("text", 1.0)]);
    }

    [Test]
    public void Prometheus_AsksForOpenMetricsWithGzip()
    {
        var seen = _openMetricsProxy.Requests.Concat(_textProxy.Requests).ToList();

        seen.Should().NotBeEmpty();
        seen.Should().OnlyContain(r => r.Headers["Accept"].StartsWith("application/openmetrics-text;version=1.0.0,", StringComparison.Ordinal));
        seen.Should().OnlyContain(r => r.Headers["Accept-Encoding"] == "gzip");
        seen.Should().OnlyContain(r => r.RequestLine == "GET /metrics HTTP/1.1");
    }

    [Test]
    public Task OpenMetricsScrape_StoresExactlyTheRecordedSeries() =>
        _scenario.AssertStoredAsync(_prometheus, "om", ExpositionFormat.OpenMetrics);

    [Test]
    public Task TextScrape_StoresExactlyTheRecordedSeries() =>
        _scenario.AssertStoredAsync(_prometheus, "text", ExpositionFormat.PrometheusText);
}

/// <summary>promtool 2.42 lints the registry's text output.</summary>
[TestFixture]
[Category("Integration")]
public class RegistryPromtoolTests
{
    [Test]
    public async Task CheckMetrics_EveryMetricType_NoComplaints()
    {
        // Default options, so the registry's own health counters are in the output too.
        var registry = new MetricRegistry();
        registry.CreateCounter("app_requests_total", "Requests handled.", "method", "code").WithLabels("GET", "200").Inc(12);
        registry.CreateCounter("app_errors", "Errors (registered without the _total suffix).").Inc();
        registry.CreateGauge("app_queue_length", "Items waiting.", "queue").WithLabels("default").Set(4);
        registry.CreateUntyped("app_legacy_value", "An untyped metric.").Set(1);
        registry.CreateHistogram("app_request_duration_seconds", "Request latency.", new HistogramOptions { Unit = "seconds", LabelNames = ["route"] })
            .WithLabels("/").Observe(0.042);
        var summary = registry.CreateSummary("app_response_size_bytes", "Response sizes.", new SummaryOptions { Objectives = [new(0.5, 0.05), new(0.99, 0.001)] });
        summary.Observe(512);
        registry.CreateInfo("app_build_info", "Build information.", "version", "commit").Set("1.0.0", "abc");
        registry.CreateStateSet("app_state", "Lifecycle state.", ["starting", "running", "stopping"]).SetState("running");

        foreach (var (name, text) in new[] { ("every type", registry.ToText()), ("scenario", new ScrapeScenario().Registry.ToText()) })
        {
            var result = await Promtool.CheckMetricsAsync(text);

            result.ExitCode.Should().Be(0, $"promtool must accept the {name} registry:\n{result}\n--- input ---\n{text}");
            (result.Stdout + result.Stderr).Should().BeEmpty($"promtool must not complain about the {name} registry:\n{text}");
        }
    }
}
