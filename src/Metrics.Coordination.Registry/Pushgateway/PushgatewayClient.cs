using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Shared;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Registry.Pushgateway;

/// <summary>
/// Pushes a registry to a Prometheus Pushgateway, for batch jobs that end before a scrape could reach them:
/// <see cref="PushAsync"/> (<c>PUT</c>), <see cref="PushAddAsync"/> (<c>POST</c>) and <see cref="DeleteAsync"/>
/// (<c>DELETE</c>) on <c>/metrics/job/&lt;job&gt;/&lt;label&gt;/&lt;value&gt;...</c>, the body in Prometheus text
/// format 0.0.4. 4xx answers fail at once with a <see cref="PushgatewayException"/> carrying the status and the
/// gateway's explanation; 5xx answers, timeouts and connection failures are retried with exponential backoff and jitter.
/// Thread-safe; keep one per gateway.
/// </summary>
public sealed class PushgatewayClient : IDisposable
{
    /// <summary>The media type of the pushed body: Prometheus text 0.0.4, which every Pushgateway version reads.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    // The pushed body's first buffer: a small batch job's registry (a few dozen series) fits without growing.
    private const int InitialBodyBytes = 4096;

    private const string Base64Suffix = "@base64";

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly string _base;
    private readonly int _maxAttempts;
    private readonly TimeSpan _initialDelay;
    private readonly TimeSpan _maxDelay;
    private readonly TimeSpan _requestTimeout;
    private readonly ILogger _logger;

    /// <summary>Creates a client.</summary>
    /// <exception cref="ArgumentException">The options are invalid (no absolute http(s) address, non-positive attempts or delays).</exception>
    public PushgatewayClient(PushgatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentNullException.ThrowIfNull(options.LoggerFactory);
        if (options.Address is not { IsAbsoluteUri: true } address || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"The Pushgateway address must be an absolute http or https URL; got '{options.Address}'.", nameof(options));
        }

        if (!string.IsNullOrEmpty(address.Query) || !string.IsNullOrEmpty(address.Fragment))
        {
            throw new ArgumentException($"The Pushgateway address '{address}' must not have a query or fragment.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxAttempts, 1, nameof(options.MaxAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InitialRetryDelay, TimeSpan.Zero, nameof(options.InitialRetryDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRetryDelay, options.InitialRetryDelay, nameof(options.MaxRetryDelay));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.RequestTimeout, TimeSpan.Zero, nameof(options.RequestTimeout));

        Address = address;
        _base = address.AbsoluteUri.TrimEnd('/') + "/metrics/";
        _maxAttempts = options.MaxAttempts;
        _initialDelay = options.InitialRetryDelay;
        _maxDelay = options.MaxRetryDelay;
        _requestTimeout = options.RequestTimeout;
        Time = options.TimeProvider;
        LoggerFactory = options.LoggerFactory;
        _logger = options.LoggerFactory.CreateLogger("Metrics.Coordination.Registry.Pushgateway");
        if (options.HttpClient is { } http)
        {
            _http = http;
        }
        else
        {
            // Our own per-attempt timeout applies; HttpClient's 100 s default would only cut in later.
            _http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            _ownsHttp = true;
        }
    }

    /// <summary>The Pushgateway's base URL.</summary>
    public Uri Address { get; }

    internal TimeProvider Time { get; }

    internal ILoggerFactory LoggerFactory { get; }

    /// <summary>
    /// Replaces every metric of the group (<c>PUT</c>) with the registry's current content.
    /// </summary>
    /// <param name="registry">The metrics to push.</param>
    /// <param name="job">The <c>job</c> label of the group (non-empty).</param>
    /// <param name="groupingLabels">More labels identifying the group (such as <c>instance</c>), or null; legacy label names, not <c>job</c>.</param>
    /// <param name="cancellationToken">Cancels the push, including retry delays.</param>
    /// <exception cref="PushgatewayException">The gateway refused the push (4xx), or every attempt failed.</exception>
    public Task PushAsync(MetricRegistry registry, string job, Labels? groupingLabels = null, CancellationToken cancellationToken = default) =>
        SendRegistryAsync(HttpMethod.Put, registry, job, groupingLabels, cancellationToken);

    /// <summary>
    /// Replaces only the group's metrics that have the same names as the registry's (<c>POST</c>); the group's other metrics stay.
    /// </summary>
    /// <param name="registry">The metrics to push.</param>
    /// <param name="job">The <c>job</c> label of the group (non-empty).</param>
    /// <param name="groupingLabels">More labels identifying the group (such as <c>instance</c>), or null; legacy label names, not <c>job</c>.</param>
    /// <param name="cancellationToken">Cancels the push, including retry delays.</param>
    /// <exception cref="PushgatewayException">The gateway refused the push (4xx), or every attempt failed.</exception>
    public Task PushAddAsync(MetricRegistry registry, string job, Labels? groupingLabels = null, CancellationToken cancellationToken = default) =>
        SendRegistryAsync(HttpMethod.Post, registry, job, groupingLabels, cancellationToken);

    /// <summary>Pushes with <paramref name="mode"/>: <see cref="PushAsync"/> or <see cref="PushAddAsync"/>.</summary>
    internal Task PushInModeAsync(PushMode mode, MetricRegistry registry, string job, Labels? groupingLabels = null, CancellationToken cancellationToken = default) =>
        SendRegistryAsync(mode == PushMode.PushAdd ? HttpMethod.Post : HttpMethod.Put, registry, job, groupingLabels, cancellationToken);

    /// <summary>Deletes every metric of the group (<c>DELETE</c>).</summary>
    /// <param name="job">The <c>job</c> label of the group (non-empty).</param>
    /// <param name="groupingLabels">More labels identifying the group, or null.</param>
    /// <param name="cancellationToken">Cancels the request, including retry delays.</param>
    /// <exception cref="PushgatewayException">The gateway refused the delete (4xx), or every attempt failed.</exception>
    public Task DeleteAsync(string job, Labels? groupingLabels = null, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Delete, GetGroupUri(job, groupingLabels), body: null, cancellationToken);

    /// <summary>
    /// The URL of a group: <c>{Address}/metrics/job/{job}/{label}/{value}...</c>. Values are percent-encoded; a value
    /// containing <c>/</c> (or that is <c>.</c> or <c>..</c>, which URL normalisation would swallow) uses the base64
    /// form <c>{label}@base64/{unpadded url-safe base64}</c>, and an empty value <c>{label}@base64/=</c>, as client_golang.
    /// </summary>
    /// <exception cref="ArgumentException">The job is empty, or a grouping label is not a valid legacy label name or is <c>job</c>.</exception>
    public Uri GetGroupUri(string job, Labels? groupingLabels = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Length == 0 || !MetricNames.IsWellFormedUtf16(job))
        {
            throw new ArgumentException("The job name must be non-empty valid UTF-8 text.", nameof(job));
        }

        var path = new StringBuilder(_base);
        AppendComponent(path, "job", job);
        foreach (ref readonly var label in (groupingLabels ?? Labels.Empty).AsSpan())
        {
            // Pushgateway 1.x checks grouping label names with the legacy rule.
            if (!MetricNames.IsValidLegacyLabelName(label.Name))
            {
                throw new ArgumentException($"Grouping label name '{label.Name}' is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*).", nameof(groupingLabels));
            }

            if (label.Name == "job")
            {
                throw new ArgumentException("The job is given by the job argument; it cannot also be a grouping label.", nameof(groupingLabels));
            }

            if (!MetricNames.IsWellFormedUtf16(label.Value))
            {
                throw new ArgumentException($"Value of grouping label '{label.Name}' is not valid UTF-8 text (it contains an unpaired surrogate).", nameof(groupingLabels));
            }

            path.Append('/');
            AppendComponent(path, label.Name, label.Value);
        }

        return new Uri(path.ToString(), UriKind.Absolute);
    }

    /// <summary>Disposes the <see cref="HttpClient"/> if this client created it.</summary>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private static void AppendComponent(StringBuilder path, string name, string value)
    {
        if (value.Length == 0)
        {
            path.Append(name).Append(Base64Suffix).Append("/=");
        }
        else if (value.Contains('/', StringComparison.Ordinal) || value is "." or "..")
        {
            path.Append(name).Append(Base64Suffix).Append('/').Append(Base64Url.EncodeToString(Encoding.UTF8.GetBytes(value)));
        }
        else
        {
            path.Append(name).Append('/').Append(Uri.EscapeDataString(value));
        }
    }

    private async Task SendRegistryAsync(HttpMethod method, MetricRegistry registry, string job, Labels? groupingLabels, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var uri = GetGroupUri(job, groupingLabels);

        // Written once, sent by every attempt: a retry pushes the same values, not ones recorded meanwhile.
        var body = new ArrayBufferWriter<byte>(InitialBodyBytes);
        registry.WriteTo(body, ExpositionFormat.PrometheusText, NameEscaping.Underscores);
        await SendAsync(method, uri, body.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    private async Task SendAsync(HttpMethod method, Uri uri, ReadOnlyMemory<byte>? body, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            HttpStatusCode? status = null;
            string? responseText = null;
            Exception? failure = null;
            using (var timeout = new CancellationTokenSource(_requestTimeout, Time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
            {
                try
                {
                    using var request = new HttpRequestMessage(method, uri);
                    if (body is { } content)
                    {
                        request.Content = new ReadOnlyMemoryContent(content);
                        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(ContentType);
                    }

                    using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                    {
                        return;
                    }

                    status = response.StatusCode;
                    responseText = await Shared.HttpErrorBody.ReadAsync(response, linked.Token).ConfigureAwait(false);
                    if ((int)response.StatusCode < 500)
                    {
                        throw new PushgatewayException(
                            $"The Pushgateway answered {(int)response.StatusCode} {response.ReasonPhrase} to {method} {Display(uri)}: {responseText}",
                            response.StatusCode,
                            responseText,
                            attempt,
                            isTransient: false);
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (OperationCanceledException ex)
                {
                    failure = new TimeoutException($"No answer within {_requestTimeout.TotalSeconds:0.###} s.", ex);
                }
                catch (HttpRequestException ex)
                {
                    failure = ex;
                }
            }

            var what = status is { } s ? $"answered {(int)s}: {responseText}" : $"failed: {failure!.Message}";
            if (attempt >= _maxAttempts)
            {
                throw new PushgatewayException(
                    $"{method} {Display(uri)} {what} (attempt {attempt} of {_maxAttempts}, giving up).",
                    status,
                    responseText,
                    attempt,
                    isTransient: true,
                    failure);
            }

            var delay = RetryDelay(attempt);
            Log.PushAttemptFailed(_logger, method.Method, Display(uri), attempt, _maxAttempts, what, (long)delay.TotalMilliseconds, failure);
            await Task.Delay(delay, Time, cancellationToken).ConfigureAwait(false);
        }
    }

    private TimeSpan RetryDelay(int attempt) => Backoff.Delay(_initialDelay, _maxDelay, attempt);

    /// <summary>The URL without user info, for messages and logs.</summary>
    internal static string Display(Uri uri) =>
        string.IsNullOrEmpty(uri.UserInfo) ? uri.AbsoluteUri : uri.GetComponents(UriComponents.AbsoluteUri & ~UriComponents.UserInfo, UriFormat.UriEscaped);
}
