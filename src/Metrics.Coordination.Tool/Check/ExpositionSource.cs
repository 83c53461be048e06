using System.Net;
using System.Net.Http.Headers;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Tool.Check;

/// <summary>Exposition read from standard input, a file or an HTTP(S) endpoint, with what is known of its format.</summary>
/// <param name="Description">How to name the source in messages (<c>stdin</c>, a path, a URL).</param>
/// <param name="Content">The raw bytes.</param>
/// <param name="ContentType">The HTTP <c>Content-Type</c>, or null for stdin and files.</param>
internal sealed record ExpositionSource(string Description, byte[] Content, string? ContentType)
{
    /// <summary>
    /// What a Prometheus 2.42 scrape sends: OpenMetrics first, then text 0.0.4, then anything (the target's choice).
    /// </summary>
    public const string ScrapeAcceptHeader =
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    /// <summary>How long to wait for a whole HTTP response. Prometheus scrapes time out after 10 s by default; a tool run
    /// by hand against a slow endpoint gets three times that before it gives up.</summary>
    public static readonly TimeSpan HttpTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Whether <paramref name="location"/> names an HTTP(S) URL rather than a file.</summary>
    public static bool IsUrl(string location) =>
        location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ||
        location.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads standard input (<paramref name="location"/> null or <c>-</c>), a URL or a file.</summary>
    /// <exception cref="ExpositionSourceException">The source could not be read.</exception>
    public static async Task<ExpositionSource> ReadAsync(string? location, Stream standardInput, string userAgent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(standardInput);
        if (location is null or "-")
        {
            using var buffer = new MemoryStream();
            await standardInput.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            return new ExpositionSource("stdin", buffer.ToArray(), null);
        }

        if (IsUrl(location))
        {
            return await FetchAsync(location, userAgent, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return new ExpositionSource(location, await File.ReadAllBytesAsync(location, cancellationToken).ConfigureAwait(false), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ExpositionSourceException($"error reading {location}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The format to parse with: the one asked for, else the Content-Type's, else OpenMetrics when the content ends with
    /// a <c># EOF</c> line (which OpenMetrics requires and Prometheus text never has).
    /// </summary>
    public ExpositionFormat ResolveFormat(ExpositionFormat? requested)
    {
        if (requested is { } format)
        {
            return format;
        }

        if (!string.IsNullOrWhiteSpace(ContentType))
        {
            return ExpositionParser.DetectFormat(ContentType);
        }

        return EndsWithEof(Content) ? ExpositionFormat.OpenMetrics : ExpositionFormat.PrometheusText;
    }

    /// <summary>Whether the last non-blank line is exactly <c># EOF</c>.</summary>
    internal static bool EndsWithEof(ReadOnlySpan<byte> content)
    {
        var trimmed = content.TrimEnd(" \t\r\n"u8);
        if (!trimmed.EndsWith("# EOF"u8))
        {
            return false;
        }

        return trimmed.Length == 5 || trimmed[^6] == (byte)'\n';
    }

    private static async Task<ExpositionSource> FetchAsync(string url, string userAgent, CancellationToken cancellationToken)
    {
        using var handler = new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.All };
        using var client = new HttpClient(handler) { Timeout = HttpTimeout };
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.TryAddWithoutValidation("Accept", ScrapeAcceptHeader);
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue(Mctl.ToolName, userAgent));
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new ExpositionSourceException(
                    $"error fetching {url}: server returned HTTP status {(int)response.StatusCode} {response.ReasonPhrase}");
            }

            var content = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            return new ExpositionSource(url, content, response.Content.Headers.ContentType?.ToString());
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException or UriFormatException ||
                                  (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var reason = e is TaskCanceledException ? $"no response within {HttpTimeout.TotalSeconds:0} s" : e.Message;
            throw new ExpositionSourceException($"error fetching {url}: {reason}", e);
        }
    }
}

/// <summary>The exposition source could not be read; the message is ready to print.</summary>
internal sealed class ExpositionSourceException : Exception
{
    public ExpositionSourceException()
    {
    }

    public ExpositionSourceException(string message)
        : base(message)
    {
    }

    public ExpositionSourceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
