using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Metrics.Coordination.AspNetCore.Tests;

/// <summary>MapMetrics over real Kestrel on loopback.</summary>
public class MapMetricsTests
{
    // What Prometheus 2.42 sends (captured from the real server); it prefers OpenMetrics.
    private const string PrometheusAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    private static MetricRegistry SmallRegistry()
    {
        var registry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false });
        registry.CreateCounter("jobs_total", "Jobs.", "queue").WithLabels("default").Inc(7);
        registry.CreateGauge("my.utf8.gauge", "A name outside the legacy set.").Set(3);
        registry.CreateHistogram("wait_seconds", "Wait.", new HistogramOptions { Buckets = [1, 2] }).Observe(1.5);
        return registry;
    }

    private static HttpClient Client() =>
        new(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None, UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, Uri url, string? accept = null, string? acceptEncoding = null, HttpMethod? method = null)
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

    private static async Task<string> GunzipAsync(HttpResponseMessage response)
    {
        await using var gzip = new GZipStream(await response.Content.ReadAsStreamAsync(), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    [Test]
    public async Task Get_NoAccept_ServesPrometheusText()
    {
        var registry = SmallRegistry();
        await using var host = await TestWebHost.StartAsync(app => app.MapMetrics(registry: registry));
        using var client = Client();

        using var response = await SendAsync(client, host.Url("/metrics"));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.ToString().Should().Be(ExpositionNegotiation.PrometheusTextContentType);
        response.Content.Headers.ContentEncoding.Should().BeEmpty();
        response.Headers.Vary.Should().Contain(["Accept", "Accept-Encoding"]);
        (await response.Content.ReadAsStringAsync()).Should().Be(registry.ToText());
    }

    [Test]
    public async Task Get_PrometheusAcceptHeader_ServesOpenMetrics()
    {
        var registry = SmallRegistry();
        await using var host = await TestWebHost.StartAsync(app => app.MapMetrics(registry: registry));
        using var client = Client();

        using var response = await SendAsync(client, host.Url("/metrics"), PrometheusAccept);

        response.Content.Headers.ContentType!.ToString().Should().Be(ExpositionNegotiation.OpenMetricsContentType);
        var body = await response.Content.ReadAsStringAsync();
        body.Should().Be(registry.ToText(ExpositionFormat.OpenMetrics));
        body.Should().EndWith("# EOF\n");
    }

    [TestCase("text/plain;version=0.0.4", ExpositionFormat.PrometheusText, NameEscaping.Underscores, "my_utf8_gauge 3")]
    [TestCase("text/plain;version=0.0.4;escaping=allow-utf-8", ExpositionFormat.PrometheusText, NameEscaping.AllowUtf8, "{\"my.utf8.gauge\"} 3")]
    [TestCase("application/openmetrics-text;version=1.0.0;escaping=dots", ExpositionFormat.OpenMetrics, NameEscaping.Dots, "my_dot_utf8_dot_gauge 3")]
    [TestCase("application/openmetrics-text;version=1.0.0;escaping=values", ExpositionFormat.OpenMetrics, NameEscaping.Values, "U__my_2e_utf8_2e_gauge 3")]
    [TestCase("text/html, application/xhtml+xml, */*;q=0.8", ExpositionFormat.PrometheusText, NameEscaping.Underscores, "my_utf8_gauge 3")]
    public async Task Get_AcceptHeader_NegotiatesFormatAndEscaping(string accept, ExpositionFormat format, NameEscaping escaping, string expectedLine)
    {
        var registry = SmallRegistry();
        await using var host = await TestWebHost.StartAsync(app => app.MapMetrics(registry: registry));
        using var client = Client();

        using var response = await SendAsync(client, host.Url("/metrics"), accept);

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
        await using var host = await TestWebHost.StartAsync(app => app.MapMetrics(registry: registry));
        using var client = Client();

        using var response = await SendAsync(client, host.Url("/metrics"), PrometheusAccept, acceptEncoding);

        response.Content.Headers.ContentEncoding.Should().Equal("gzip");
        (await GunzipAsync(response)).Should().Be(registry.ToText(ExpositionFormat.OpenMetrics));
    }

    [TestCase("gzip;q=0")]
    [TestCase("*, gzip;q=0")]
    [TestCase("identity")]
    [TestCase("br")]
    public async Task Get_AcceptEncodingRefusesGzip_BodyIsPlain(string acceptEncoding)
    {
        var registry = SmallRegistry();
        await using var host = await TestWebHost.StartAsync(app => app.MapMetrics(registry: registry));
        using var client = Client();

        using var response = await SendAsync(client, host.Url("/metrics"), acceptEncoding: acceptEncoding);

        response.Content.Headers.ContentEncoding.Should().BeEmpty();
        (await response.Content.ReadAsStringAsync()).Should().Be(registry.ToText());
    }

    [Test]
    public async Task Get_LargeRegistry_StreamsWholeExpositionInBothEncodings()
    {
        // ~2.5 MB of text: dozens of registry flushes through Kestrel's pipe and through the gzip stream.
        var registry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false });
        var counter = registry.CreateCounter("big_total", "Big.", "shard", "key");
        for (var i = 0; i < 40_000; i++)
        {
            counter.WithLabels((i % 16).ToString(System.Globalization.CultureInfo.InvariantCulture), "key-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc(i);
        }

        await using var host = await TestWebHost.StartAsync(app => app.MapMetrics(registry: registry));
        using var client = Client();
        var expected = registry.ToText();

        using var plain = await SendAsync(client, host.Url("/metrics"));
        using var gzipped = await SendAsync(client, host.Url("/metrics"), acceptEncoding: "gzip");

        (await plain.Content.ReadAsStringAsync()).Should().Be(expected);
        (await GunzipAsync(gzipped)).Should().Be(expected);
    }

    [Test]
    public async Task Head_SendsHeadersWithoutBody()
    {
        await using var host = await TestWebHost.StartAsync(app => app.MapMetrics(registry: SmallRegistry()));
        using var client = Client();

        using var response = await SendAsync(client, host.Url("/metrics"), PrometheusAccept, "gzip", HttpMethod.Head);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.ToString().Should().Be(ExpositionNegotiation.OpenMetricsContentType);
        response.Content.Headers.ContentEncoding.Should().Equal("gzip");
        (await response.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }

    [TestCase("POST")]
    [TestCase("PUT")]
    [TestCase("DELETE")]
    public async Task OtherMethod_Returns405(string method)
    {
        await using var host = await TestWebHost.StartAsync(app => app.MapMetrics(registry: SmallRegistry()));
        using var client = Client();

        using var response = await SendAsync(client, host.Url("/metrics"), method: new HttpMethod(method));

        response.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
        response.Content.Headers.Allow.Should().BeEquivalentTo("GET", "HEAD");
    }

    [TestCase("/")]
    [TestCase("/metrics/extra")]
    [TestCase("/other")]
    public async Task OtherPath_Returns404(string path)
    {
        await using var host = await TestWebHost.StartAsync(app => app.MapMetrics(registry: SmallRegistry()));
        using var client = Client();

        using var response = await SendAsync(client, host.Url(path));

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Test]
    public async Task CustomPattern_ServesThere()
    {
        var registry = SmallRegistry();
        await using var host = await TestWebHost.StartAsync(app => app.MapMetrics("/internal/prom", registry));
        using var client = Client();

        using var custom = await SendAsync(client, host.Url("/internal/prom"));
        using var standard = await SendAsync(client, host.Url("/metrics"));

        (await custom.Content.ReadAsStringAsync()).Should().Be(registry.ToText());
        standard.StatusCode.Should().Be(HttpStatusCode.NotFound);
    }

    [Test]
    public async Task KeepAlive_SeveralScrapesOnOneConnection()
    {
        var registry = SmallRegistry();
        await using var host = await TestWebHost.StartAsync(app => app.MapMetrics(registry: registry));
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
            (await client.GetStringAsync(host.Url("/metrics"))).Should().Be(registry.ToText());
        }

        connections.Should().Be(1);
    }

    [Test]
    public async Task RegistryFromDependencyInjection_IsServed()
    {
        await using var host = await TestWebHost.StartAsync(
            app => app.MapMetrics(),
            services => services.AddMetricRegistry());
        var registry = host.Services.GetRequiredService<MetricRegistry>();
        registry.CreateGauge("from_di", "Registered in DI.").Set(42);
        using var client = Client();

        var body = await client.GetStringAsync(host.Url("/metrics"));

        body.Should().Be(registry.ToText());
        body.Should().Contain("from_di 42\n");
    }

    [Test]
    public async Task ExplicitRegistry_WinsOverDependencyInjection()
    {
        var explicitRegistry = SmallRegistry();
        await using var host = await TestWebHost.StartAsync(
            app => app.MapMetrics(registry: explicitRegistry),
            services => services.AddSingleton(new MetricRegistry()));
        using var client = Client();

        (await client.GetStringAsync(host.Url("/metrics"))).Should().Be(explicitRegistry.ToText());
    }

    [Test]
    public void NoRegistryAnywhere_ThrowsExplainingBothWays()
    {
        var builder = WebApplication.CreateSlimBuilder();
        var app = builder.Build();

        var act = () => app.MapMetrics();

        act.Should().Throw<InvalidOperationException>().WithMessage("*MetricRegistry*AddMetricRegistry*");
    }

    [Test]
    public async Task EndpointConventions_CanBeChained()
    {
        var registry = SmallRegistry();
        await using var host = await TestWebHost.StartAsync(app =>
            app.MapMetrics(registry: registry).AddEndpointFilter(async (context, next) =>
            {
                context.HttpContext.Response.Headers["X-Filtered"] = "yes";
                return await next(context);
            }));
        using var client = Client();

        using var response = await SendAsync(client, host.Url("/metrics"));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync()).Should().Be(registry.ToText());
    }

    [Test]
    public void AcceptsGzip_ParsesQualities()
    {
        MetricsEndpointRouteBuilderExtensions.AcceptsGzip(new Microsoft.Extensions.Primitives.StringValues(["br", "gzip;q=0.1"])).Should().BeTrue();
        MetricsEndpointRouteBuilderExtensions.AcceptsGzip(new Microsoft.Extensions.Primitives.StringValues(["gzip;q=0.000"])).Should().BeFalse();
        MetricsEndpointRouteBuilderExtensions.AcceptsGzip(new Microsoft.Extensions.Primitives.StringValues(["GZIP"])).Should().BeTrue();
        MetricsEndpointRouteBuilderExtensions.AcceptsGzip(default).Should().BeFalse();
    }
}
