using System.Globalization;
using System.IO.Compression;
using System.IO.Pipelines;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Registry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;

namespace Metrics.Coordination.AspNetCore;

/// <summary>Maps a Prometheus scrape endpoint onto ASP.NET Core routing.</summary>
public static class MetricsEndpointRouteBuilderExtensions
{
    // Size of the buffers the registry writes into on the gzip path; the registry flushes every 64 KiB.
    private const int BodySegmentBytes = 16 * 1024;

    /// <summary>
    /// Serves <paramref name="registry"/> (or the <see cref="MetricRegistry"/> registered in DI) on
    /// <c>GET</c> and <c>HEAD</c> <paramref name="pattern"/>: Prometheus text or OpenMetrics as the <c>Accept</c>
    /// header asks (with its <c>escaping</c> parameter), gzip-compressed when <c>Accept-Encoding</c> allows.
    /// Other methods on the pattern answer 405. Chain <c>RequireHost</c>, <c>RequireAuthorization</c> and the like on
    /// the result to restrict who can scrape.
    /// </summary>
    /// <param name="endpoints">The route builder (the <c>WebApplication</c>).</param>
    /// <param name="pattern">The route pattern. Default: <c>/metrics</c>.</param>
    /// <param name="registry">The registry to serve; null takes it from <see cref="IEndpointRouteBuilder.ServiceProvider"/>.</param>
    /// <returns>The endpoint's convention builder.</returns>
    /// <exception cref="InvalidOperationException">No registry was given and none is registered.</exception>
    public static IEndpointConventionBuilder MapMetrics(this IEndpointRouteBuilder endpoints, string pattern = "/metrics", MetricRegistry? registry = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        registry ??= endpoints.ServiceProvider.GetService<MetricRegistry>()
            ?? throw new InvalidOperationException(
                "MapMetrics needs a MetricRegistry: pass one (app.MapMetrics(\"/metrics\", registry)) or register one first " +
                "(builder.Services.AddMetricRegistry() or builder.Services.AddSingleton(new MetricRegistry())).");

        return endpoints
            .MapMethods(pattern, [HttpMethods.Get, HttpMethods.Head], context => WriteMetricsAsync(context, registry))
            .WithDisplayName("Prometheus metrics " + pattern);
    }

    /// <summary>Writes one scrape response.</summary>
    internal static async Task WriteMetricsAsync(HttpContext context, MetricRegistry registry)
    {
        var request = context.Request;
        var response = context.Response;
        var content = ExpositionNegotiation.Negotiate(request.Headers.Accept.ToString());
        var gzip = AcceptsGzip(request.Headers.AcceptEncoding);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = content.ContentType;
        response.Headers.Vary = "Accept, Accept-Encoding";
        if (gzip)
        {
            response.Headers.ContentEncoding = "gzip";
        }

        if (HttpMethods.IsHead(request.Method))
        {
            return;
        }

        var cancellationToken = context.RequestAborted;
        if (!gzip)
        {
            // Straight into Kestrel's output pipe; the registry flushes every 64 KiB, and the first flush starts the response.
            await registry.WriteToAsync(response.BodyWriter, content.Format, content.Escaping, cancellationToken).ConfigureAwait(false);
            return;
        }

        var body = new DiscardableStream(response.Body);
        var compressor = new GZipStream(body, CompressionLevel.Fastest, leaveOpen: true);
        var writer = PipeWriter.Create(compressor, new StreamPipeWriterOptions(minimumBufferSize: BodySegmentBytes, leaveOpen: true));
        try
        {
            await registry.WriteToAsync(writer, content.Format, content.Escaping, cancellationToken).ConfigureAwait(false);
            await writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Nothing more may reach the client: if the response has not started, the server answers 500; otherwise
            // it aborts the connection and the scraper sees a truncated gzip stream rather than a plausible body.
            body.Discard = true;
            await writer.CompleteAsync(ex).ConfigureAwait(false);
            throw;
        }
        finally
        {
            // Writes the last deflate block and the gzip trailer (or nothing, once discarded).
            await compressor.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Whether the <c>Accept-Encoding</c> header lines admit gzip (see <see cref="ExpositionNegotiation.AcceptsGzip"/>).</summary>
    internal static bool AcceptsGzip(StringValues acceptEncoding) => ExpositionNegotiation.AcceptsGzip(acceptEncoding.ToString());

    /// <summary>Passes writes through to the response body until told to drop them.</summary>
    private sealed class DiscardableStream(Stream inner) : Stream
    {
        public bool Discard { get; set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            Discard ? ValueTask.CompletedTask : inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count)
        {
            // Kestrel forbids synchronous I/O; GZipStream and StreamPipeWriter only write asynchronously here.
            throw new NotSupportedException("Synchronous writes are not supported.");
        }

        public override Task FlushAsync(CancellationToken cancellationToken) =>
            Discard ? Task.CompletedTask : inner.FlushAsync(cancellationToken);

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
