using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Channels;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Shared;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Rules.Notifications;

/// <summary>
/// Delivers alerts to one or more Alertmanagers through API v2 (<c>POST /api/v2/alerts</c>, a JSON array of
/// <c>postableAlert</c>: <c>labels</c>, <c>annotations</c>, <c>startsAt</c>, <c>endsAt</c>, <c>generatorURL</c>, times
/// in RFC 3339 UTC). Each Alertmanager has its own bounded queue and sender loop, so a slow or dead one does not
/// delay the others. <see cref="Send"/> only queues and never blocks; the loop posts batches of up to
/// <see cref="AlertmanagerNotifierOptions.MaxBatchSize"/> in queue order, retries 5xx, 429, timeouts and connection
/// errors with jittered exponential backoff for a bounded time, and drops (and counts) a batch answered 4xx. The
/// leadership gate is re-checked right before every attempt. Every dropped alert is counted by reason and logged.
/// The rule manager decides what to send and when (resending firing alerts, resolved ones for a while); this class
/// keeps no alert state. Thread-safe.
/// </summary>
public sealed class AlertmanagerNotifier : IAlertSender, IAsyncDisposable
{
    /// <summary>The request path Alertmanager's API v2 takes alerts on, after the base URL and path prefix.</summary>
    public const string AlertsPath = "api/v2/alerts";

    // A body's first buffer: a batch of 64 alerts with a handful of labels and a summary each is around 16 KiB.
    private const int InitialBodyBytes = 16 * 1024;

    private static readonly NotificationDropReason[] AllReasons = Enum.GetValues<NotificationDropReason>();

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // The body is JSON for a machine, not HTML: keep UTF-8 text as is instead of \u-escaping it.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly ProductInfoHeaderValue UserAgent = new(
        "Metrics.Coordination",
        typeof(AlertmanagerNotifier).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0");

    private readonly Target[] _targets;
    private readonly HttpClient _http;
    private readonly ILeadershipGate _gate;
    private readonly Label[] _externalLabels;
    private readonly int _maxBatchSize;
    private readonly int _queueCapacity;
    private readonly TimeSpan _requestTimeout;
    private readonly TimeSpan _initialRetryDelay;
    private readonly TimeSpan _maxRetryDelay;
    private readonly TimeSpan _maxRetryDuration;
    private readonly TimeSpan _drainTimeout;
    private readonly string? _senderQuery;
    private readonly AuthenticationHeaderValue? _authorization;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly NotifierMetrics? _metrics;
    private readonly CancellationTokenSource _abort = new();
    private readonly Task[] _loops;
    private int _stopped;

    /// <summary>Validates the options, then starts one sender loop per Alertmanager.</summary>
    /// <exception cref="ArgumentException">
    /// The options are invalid: no Alertmanager, a URL that is not absolute http(s) or has a query, fragment or user
    /// info, a duplicate URL, an external label name Alertmanager would refuse, both basic auth and a bearer token,
    /// or a non-positive capacity, batch size or timeout.
    /// </exception>
    /// <exception cref="MetricRegistrationException">The registry has a metric of the same name with another definition.</exception>
    public AlertmanagerNotifier(AlertmanagerNotifierOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Alertmanagers);
        ArgumentNullException.ThrowIfNull(options.ExternalLabels);
        ArgumentNullException.ThrowIfNull(options.LeadershipGate);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentNullException.ThrowIfNull(options.LoggerFactory);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.QueueCapacity, 1, nameof(options.QueueCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1, nameof(options.MaxBatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.RequestTimeout, TimeSpan.Zero, nameof(options.RequestTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.InitialRetryDelay, TimeSpan.Zero, nameof(options.InitialRetryDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRetryDelay, options.InitialRetryDelay, nameof(options.MaxRetryDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRetryDuration, TimeSpan.Zero, nameof(options.MaxRetryDuration));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.DrainTimeout, TimeSpan.Zero, nameof(options.DrainTimeout));
        if (options.Alertmanagers.Count == 0)
        {
            throw new ArgumentException("At least one Alertmanager URL is required.", nameof(options));
        }

        foreach (var label in options.ExternalLabels.AsSpan())
        {
            // Alertmanager 0.25 refuses any other name ("invalid label set"), which would make every batch a 400.
            if (!MetricNames.IsValidLegacyLabelName(label.Name))
            {
                throw new ArgumentException($"External label name '{label.Name}' is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*).", nameof(options));
            }

            if (!MetricNames.IsWellFormedUtf16(label.Value))
            {
                throw new ArgumentException($"Value of external label '{label.Name}' is not valid UTF-8 text (it contains an unpaired surrogate).", nameof(options));
            }
        }

        if (options.SenderId is { } senderId && (senderId.Length == 0 || !MetricNames.IsWellFormedUtf16(senderId)))
        {
            throw new ArgumentException("SenderId must be non-empty valid UTF-8 text (or null for no sender tag).", nameof(options));
        }

        if (options.BasicAuthUsername is not null && options.BearerToken is not null)
        {
            throw new ArgumentException("Set either basic authentication or a bearer token, not both.", nameof(options));
        }

        if (options.BasicAuthUsername is { } user)
        {
            if (user.Contains(':', StringComparison.Ordinal))
            {
                throw new ArgumentException("A basic authentication user name cannot contain ':'.", nameof(options));
            }

            _authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + (options.BasicAuthPassword ?? string.Empty))));
        }
        else if (options.BasicAuthPassword is not null)
        {
            throw new ArgumentException("A basic authentication password needs a user name (BasicAuthUsername).", nameof(options));
        }
        else if (options.BearerToken is { } token)
        {
            if (token.Length == 0 || token.Any(char.IsWhiteSpace))
            {
                throw new ArgumentException("The bearer token must be non-empty and contain no whitespace.", nameof(options));
            }

            _authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        var prefix = (options.PathPrefix ?? string.Empty).Trim('/');
        var endpoints = new List<Uri>(options.Alertmanagers.Count);
        foreach (var url in options.Alertmanagers)
        {
            endpoints.Add(BuildEndpoint(url, prefix, nameof(options)));
        }

        var duplicate = endpoints.GroupBy(e => e.AbsoluteUri, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Alertmanager endpoint {duplicate.Key} is listed more than once; each would get every alert twice.", nameof(options));
        }

        _gate = options.LeadershipGate;
        _externalLabels = options.ExternalLabels.AsSpan().ToArray();
        _maxBatchSize = options.MaxBatchSize;
        _queueCapacity = options.QueueCapacity;
        _requestTimeout = options.RequestTimeout;
        _initialRetryDelay = options.InitialRetryDelay;
        _maxRetryDelay = options.MaxRetryDelay;
        _maxRetryDuration = options.MaxRetryDuration;
        _drainTimeout = options.DrainTimeout;
        _senderQuery = options.SenderId is { } sender ? "sender=" + Uri.EscapeDataString(sender) + "&term=" : null;
        _time = options.TimeProvider;
        _logger = options.LoggerFactory.CreateLogger("Metrics.Coordination.Rules.Notifications");
        _http = options.HttpMessageHandler is { } handler
            ? new HttpClient(handler, disposeHandler: false)
            : new HttpClient(
                new SocketsHttpHandler
                {
                    // A redirected POST would turn into a GET; a redirect is an answer to report, not to follow.
                    AllowAutoRedirect = false,

                    // Re-resolve Alertmanager host names now and then (a restarted pod may get a new address).
                    PooledConnectionLifetime = TimeSpan.FromMinutes(1),
                },
                disposeHandler: true);

        // Our own per-attempt timeout applies; HttpClient's 100 s default would only cut in later.
        _http.Timeout = Timeout.InfiniteTimeSpan;
        _metrics = options.Registry is { } registry ? new NotifierMetrics(registry) : null;

        _targets = new Target[endpoints.Count];
        for (var i = 0; i < endpoints.Count; i++)
        {
            _targets[i] = new Target(endpoints[i], _queueCapacity, _metrics);
        }

        _metrics?.Attach(_targets, _queueCapacity);
        NotifierLog.Started(_logger, _targets.Length, string.Join(", ", _targets.Select(t => t.Name)), _queueCapacity, _maxBatchSize);
        _loops = _targets.Select(t => Task.Run(() => RunAsync(t))).ToArray();
    }

    /// <summary>The endpoints alerts are posted to, one per Alertmanager, such as <c>http://127.0.0.1:9093/api/v2/alerts</c>.</summary>
    public IReadOnlyList<Uri> Endpoints => _targets.Select(t => t.Endpoint).ToList();

    /// <summary>
    /// Queues <paramref name="alerts"/> for every Alertmanager and returns at once. While the leadership gate is
    /// closed the alerts are dropped (counted as <c>not_leader</c>) instead; when a queue is full its oldest alerts are
    /// dropped (counted as <c>queue_full</c>, logged); after <see cref="DisposeAsync"/> they are dropped as <c>shutdown</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The list contains a null alert (nothing is queued).</exception>
    public void Send(IReadOnlyList<NotificationAlert> alerts)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        if (alerts.Count == 0)
        {
            return;
        }

        for (var i = 0; i < alerts.Count; i++)
        {
            if (alerts[i] is null)
            {
                throw new ArgumentException($"Alert {i.ToString(CultureInfo.InvariantCulture)} of {alerts.Count.ToString(CultureInfo.InvariantCulture)} is null; nothing was queued.", nameof(alerts));
            }
        }

        if (Volatile.Read(ref _stopped) != 0)
        {
            foreach (var target in _targets)
            {
                target.Drop(NotificationDropReason.Shutdown, alerts.Count);
            }

            NotifierLog.SendAfterStop(_logger, alerts.Count);
            return;
        }

        if (!TryReadGate(out var isLeader, out var token) || !isLeader)
        {
            foreach (var target in _targets)
            {
                target.Drop(NotificationDropReason.NotLeader, alerts.Count);
            }

            NotifierLog.NotLeaderAtSend(_logger, alerts.Count);
            return;
        }

        foreach (var target in _targets)
        {
            var overflowBefore = target.DroppedCount(NotificationDropReason.QueueFull);
            var refused = 0;
            var writer = target.Queue.Writer;
            for (var i = 0; i < alerts.Count; i++)
            {
                // A bounded channel in DropOldest mode always accepts; it refuses only once completed by a stop.
                if (!writer.TryWrite(new QueuedAlert(alerts[i], token)))
                {
                    refused++;
                }
            }

            if (refused > 0)
            {
                target.Drop(NotificationDropReason.Shutdown, refused);
                NotifierLog.SendAfterStop(_logger, refused);
            }

            var overflow = target.DroppedCount(NotificationDropReason.QueueFull) - overflowBefore;
            if (overflow > 0)
            {
                NotifierLog.QueueOverflow(_logger, target.Name, overflow, _queueCapacity);
            }
        }
    }

    /// <summary>A snapshot of each Alertmanager's queue and counts, in configuration order.</summary>
    public IReadOnlyList<AlertmanagerTargetStatus> GetStatus() =>
        _targets.Select(t => new AlertmanagerTargetStatus
        {
            Endpoint = t.Endpoint,
            QueueLength = t.Queue.Reader.Count,
            Sent = Interlocked.Read(ref t.Sent),
            Errors = Interlocked.Read(ref t.Errors),
            Dropped = AllReasons.ToDictionary(r => r, t.DroppedCount),
            LastSuccess = t.LastSuccess,
            LastError = t.LastError,
        }).ToList();

    /// <summary>
    /// Stops accepting alerts, keeps delivering what is queued for up to <see cref="AlertmanagerNotifierOptions.DrainTimeout"/>,
    /// then cancels what is in flight; alerts left are dropped and counted as <c>shutdown</c>. Idempotent.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        foreach (var target in _targets)
        {
            target.Queue.Writer.TryComplete();
        }

        var loops = Task.WhenAll(_loops);
        if (_drainTimeout > TimeSpan.Zero)
        {
            try
            {
                await loops.WaitAsync(_drainTimeout, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Still delivering (an Alertmanager is down): cancel below.
            }
        }

        await _abort.CancelAsync().ConfigureAwait(false);
        await loops.ConfigureAwait(false);
        _metrics?.Detach();
        _http.Dispose();
        _abort.Dispose();
    }

    private static Uri BuildEndpoint(Uri? url, string prefix, string paramName)
    {
        if (url is not { IsAbsoluteUri: true } || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"An Alertmanager URL must be an absolute http or https URL; got '{url}'.", paramName);
        }

        if (!string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.Fragment))
        {
            throw new ArgumentException($"Alertmanager URL '{url}' must not have a query or fragment.", paramName);
        }

        if (!string.IsNullOrEmpty(url.UserInfo))
        {
            throw new ArgumentException("An Alertmanager URL must not carry user info; set BasicAuthUsername and BasicAuthPassword instead.", paramName);
        }

        var path = new StringBuilder(url.AbsoluteUri.TrimEnd('/')).Append('/');
        if (prefix.Length > 0)
        {
            path.Append(prefix).Append('/');
        }

        return new Uri(path.Append(AlertsPath).ToString(), UriKind.Absolute);
    }

    /// <summary>Reads the gate; a gate that throws is logged and counts as not leader.</summary>
    private bool TryReadGate(out bool isLeader, out long token)
    {
        try
        {
            // Token first: a term that starts between the two reads then fails the pre-send comparison (safe),
            // while the other order could tag alerts of the old term with the new term's token.
            token = _gate.FencingToken;
            isLeader = _gate.IsLeader;
            return true;
        }
        catch (Exception ex)
        {
            NotifierLog.GateFailed(_logger, ex);
            isLeader = false;
            token = 0;
            return false;
        }
    }

    private async Task RunAsync(Target target)
    {
        var reader = target.Queue.Reader;
        var batch = new List<QueuedAlert>(_maxBatchSize);
        QueuedAlert? carried = null;
        try
        {
            while (true)
            {
                if (carried is null && !await reader.WaitToReadAsync(_abort.Token).ConfigureAwait(false))
                {
                    return;
                }

                batch.Clear();
                if (carried is { } first)
                {
                    batch.Add(first);
                    carried = null;
                }

                // One batch holds alerts of one leadership term, so the pre-send check covers all of them.
                while (batch.Count < _maxBatchSize && reader.TryRead(out var item))
                {
                    if (batch.Count > 0 && item.Token != batch[0].Token)
                    {
                        carried = item;
                        break;
                    }

                    batch.Add(item);
                }

                if (batch.Count == 0)
                {
                    continue;
                }

                try
                {
                    await DeliverAsync(target, batch).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_abort.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    target.Drop(NotificationDropReason.Invalid, batch.Count);
                    NotifierLog.LoopFailed(_logger, target.Name, batch.Count, ex);
                }
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // Stopped after the drain time; DeliverAsync counted the batch in flight.
        }
        finally
        {
            long left = carried is null ? 0 : 1;
            while (reader.TryRead(out _))
            {
                left++;
            }

            if (left > 0)
            {
                target.Drop(NotificationDropReason.Shutdown, left);
                NotifierLog.ShutdownDropped(_logger, target.Name, left);
            }
        }
    }

    private async Task DeliverAsync(Target target, List<QueuedAlert> batch)
    {
        var (body, count) = Encode(target, batch);
        if (count == 0)
        {
            return;
        }

        var token = batch[0].Token;
        var started = _time.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            if (!TryReadGate(out var isLeader, out var currentToken) || !isLeader || currentToken != token)
            {
                target.Drop(NotificationDropReason.NotLeader, count);
                NotifierLog.LeadershipLost(_logger, target.Name, count, token, isLeader, currentToken);
                return;
            }

            Outcome outcome;
            var attemptStart = _time.GetTimestamp();
            try
            {
                outcome = await PostAsync(target, body).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_abort.IsCancellationRequested)
            {
                target.Drop(NotificationDropReason.Shutdown, count);
                NotifierLog.ShutdownDropped(_logger, target.Name, count);
                throw;
            }

            if (outcome.Success)
            {
                target.RecordSent(count, _time.GetUtcNow());
                NotifierLog.BatchSent(_logger, target.Name, count, _time.GetElapsedTime(attemptStart).TotalMilliseconds);
                if (attempt > 1)
                {
                    NotifierLog.Recovered(_logger, target.Name, count, attempt);
                }

                return;
            }

            target.RecordError(count, outcome.Description);
            if (!outcome.Retryable)
            {
                target.Drop(NotificationDropReason.Rejected, count);
                NotifierLog.BatchRejected(_logger, target.Name, count, outcome.Status, outcome.Body);
                return;
            }

            var delay = RetryDelay(attempt, outcome.RetryAfter);
            var elapsed = _time.GetElapsedTime(started);
            if (elapsed + delay > _maxRetryDuration)
            {
                target.Drop(NotificationDropReason.RetriesExhausted, count);
                NotifierLog.RetriesExhausted(_logger, target.Name, count, attempt, (long)elapsed.TotalMilliseconds, (long)_maxRetryDuration.TotalMilliseconds, outcome.Description);
                return;
            }

            NotifierLog.AttemptFailed(_logger, target.Name, count, outcome.Description, attempt, (long)delay.TotalMilliseconds);
            try
            {
                await Task.Delay(delay, _time, _abort.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                target.Drop(NotificationDropReason.Shutdown, count);
                NotifierLog.ShutdownDropped(_logger, target.Name, count);
                throw;
            }
        }
    }

    /// <summary>One attempt: the outcome, never an exception except cancellation by the stop.</summary>
    private async Task<Outcome> PostAsync(Target target, ReadOnlyMemory<byte> body)
    {
        var start = _time.GetTimestamp();
        using var timeout = new CancellationTokenSource(_requestTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token, timeout.Token);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, target.Endpoint);
            request.Content = new ReadOnlyMemoryContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.UserAgent.Add(UserAgent);
            request.Headers.Authorization = _authorization;
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                target.ObserveLatency(_time.GetElapsedTime(start));
                return Outcome.Delivered;
            }

            var text = await Shared.HttpErrorBody.ReadAsync(response, linked.Token).ConfigureAwait(false);
            target.ObserveLatency(_time.GetElapsedTime(start));
            var retryAfter = response.Headers.RetryAfter?.Delta;
            var retryable = status >= 500 || status == 429;
            return new Outcome(false, retryable, status, text, $"answered {status.ToString(CultureInfo.InvariantCulture)}: {text}", retryAfter);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException)
        {
            target.ObserveLatency(_time.GetElapsedTime(start));
            return new Outcome(false, true, 0, string.Empty, $"got no answer within {_requestTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s", null);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            target.ObserveLatency(_time.GetElapsedTime(start));
            return new Outcome(false, true, 0, string.Empty, "failed: " + ex.Message, null);
        }
    }

    /// <summary>
    /// The batch as API v2 JSON: <c>[{"labels":{...},"annotations":{...},"startsAt":"...","endsAt":"...","generatorURL":"..."}]</c>.
    /// Alerts that cannot be encoded are dropped and counted here; the count is of alerts written.
    /// </summary>
    private (ReadOnlyMemory<byte> Body, int Count) Encode(Target target, List<QueuedAlert> batch)
    {
        var buffer = new ArrayBufferWriter<byte>(InitialBodyBytes);
        using var json = new Utf8JsonWriter(buffer, WriterOptions);
        json.WriteStartArray();
        var count = 0;
        foreach (var queued in batch)
        {
            var alert = queued.Alert;
            if (Problem(alert) is { } problem)
            {
                target.Drop(NotificationDropReason.Invalid, 1);
                NotifierLog.InvalidAlert(_logger, target.Name, alert.Labels.ToString(), problem);
                continue;
            }

            json.WriteStartObject();
            json.WritePropertyName("labels"u8);
            WriteLabels(json, alert.Labels);
            json.WritePropertyName("annotations"u8);
            json.WriteStartObject();
            foreach (ref readonly var annotation in alert.Annotations.AsSpan())
            {
                json.WriteString(annotation.Name, annotation.Value);
            }

            json.WriteEndObject();
            json.WriteString("startsAt"u8, FormatTime(alert.StartsAt));
            if (alert.EndsAt is { } endsAt)
            {
                json.WriteString("endsAt"u8, FormatTime(endsAt));
            }

            if (_senderQuery is not null)
            {
                json.WriteString("generatorURL"u8, TagGeneratorUrl(alert.GeneratorUrl, queued.Token));
            }
            else if (alert.GeneratorUrl.Length > 0)
            {
                json.WriteString("generatorURL"u8, alert.GeneratorUrl);
            }

            json.WriteEndObject();
            count++;
        }

        json.WriteEndArray();
        json.Flush();
        return (buffer.WrittenMemory, count);
    }

    /// <summary>
    /// The alert's labels merged with the external labels, in name order, as Prometheus merges them: an external
    /// label is added only where the alert has no value for that name. Empty values are left out (an empty label is
    /// an absent label in Prometheus and Alertmanager).
    /// </summary>
    private void WriteLabels(Utf8JsonWriter json, Labels labels)
    {
        json.WriteStartObject();
        var own = labels.AsSpan();
        var external = _externalLabels;
        int i = 0, j = 0;
        while (i < own.Length || j < external.Length)
        {
            var order = i >= own.Length ? 1 : j >= external.Length ? -1 : string.CompareOrdinal(own[i].Name, external[j].Name);
            if (order < 0)
            {
                if (own[i].Value.Length > 0)
                {
                    json.WriteString(own[i].Name, own[i].Value);
                }

                i++;
            }
            else if (order > 0)
            {
                json.WriteString(external[j].Name, external[j].Value);
                j++;
            }
            else
            {
                var winner = own[i].Value.Length > 0 ? own[i] : external[j];
                json.WriteString(winner.Name, winner.Value);
                i++;
                j++;
            }
        }

        json.WriteEndObject();
    }

    private string? Problem(NotificationAlert alert)
    {
        var hasLabel = _externalLabels.Length > 0;
        foreach (ref readonly var label in alert.Labels.AsSpan())
        {
            hasLabel |= label.Value.Length > 0;
            if (!MetricNames.IsWellFormedUtf16(label.Name) || !MetricNames.IsWellFormedUtf16(label.Value))
            {
                return $"label '{label.Name}' is not valid UTF-8 text (it contains an unpaired surrogate)";
            }
        }

        if (!hasLabel)
        {
            return "it has no labels (Alertmanager needs at least one, normally alertname)";
        }

        foreach (ref readonly var annotation in alert.Annotations.AsSpan())
        {
            if (!MetricNames.IsWellFormedUtf16(annotation.Name) || !MetricNames.IsWellFormedUtf16(annotation.Value))
            {
                return $"annotation '{annotation.Name}' is not valid UTF-8 text (it contains an unpaired surrogate)";
            }
        }

        return MetricNames.IsWellFormedUtf16(alert.GeneratorUrl) ? null : "its generator URL is not valid UTF-8 text";
    }

    /// <summary>
    /// The generator URL with <c>sender=&lt;id&gt;&amp;term=&lt;token&gt;</c> added to its query (before any fragment), so
    /// every alert names the replica and leadership term that sent it without touching its labels (its identity).
    /// </summary>
    private string TagGeneratorUrl(string url, long token)
    {
        var fragment = url.IndexOf('#', StringComparison.Ordinal);
        var head = fragment >= 0 ? url[..fragment] : url;
        var tail = fragment >= 0 ? url[fragment..] : string.Empty;
        var separator = head.Contains('?', StringComparison.Ordinal) ? (head.EndsWith('?') || head.EndsWith('&') ? string.Empty : "&") : "?";
        return string.Concat(head, separator, _senderQuery, token.ToString(CultureInfo.InvariantCulture), tail);
    }

    /// <summary>RFC 3339 in UTC with the fraction Go would print (none when whole seconds): <c>2026-11-30T12:00:00.123Z</c>.</summary>
    internal static string FormatTime(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>The shared equal-jitter backoff (<see cref="Backoff"/>); a longer <c>Retry-After</c> raises it, still capped at the maximum.</summary>
    private TimeSpan RetryDelay(int attempt, TimeSpan? retryAfter)
    {
        var delay = Backoff.Delay(_initialRetryDelay, _maxRetryDelay, attempt);
        if (retryAfter is { } hint && hint > delay)
        {
            delay = hint < _maxRetryDelay ? hint : _maxRetryDelay;
        }

        return delay;
    }

    private readonly record struct QueuedAlert(NotificationAlert Alert, long Token);

    private readonly record struct Outcome(bool Success, bool Retryable, int Status, string Body, string Description, TimeSpan? RetryAfter)
    {
        public static Outcome Delivered { get; } = new(true, false, 200, string.Empty, "delivered", null);
    }

    /// <summary>One Alertmanager: its queue, counts and metric series.</summary>
    private sealed class Target
    {
        public long Sent;
        public long Errors;

        private readonly long[] _dropped = new long[AllReasons.Length];
        private readonly CounterSeries? _sentSeries;
        private readonly CounterSeries? _errorSeries;
        private readonly CounterSeries?[] _droppedSeries = new CounterSeries?[AllReasons.Length];
        private readonly HistogramSeries? _latency;
        private long _lastSuccessTicks;
        private string? _lastError;

        public Target(Uri endpoint, int capacity, NotifierMetrics? metrics)
        {
            Endpoint = endpoint;
            Name = endpoint.AbsoluteUri;
            Queue = Channel.CreateBounded<QueuedAlert>(
                new BoundedChannelOptions(capacity)
                {
                    FullMode = BoundedChannelFullMode.DropOldest,
                    SingleReader = true,
                    SingleWriter = false,
                    AllowSynchronousContinuations = false,
                },
                _ => Drop(NotificationDropReason.QueueFull, 1));
            if (metrics is not null)
            {
                _sentSeries = metrics.Sent.WithLabels(Name);
                _errorSeries = metrics.Errors.WithLabels(Name);
                _latency = metrics.Latency.WithLabels(Name);
                foreach (var reason in AllReasons)
                {
                    // Every reason from the start, at 0, so rate() and alerts on them work before the first drop.
                    _droppedSeries[(int)reason] = metrics.Dropped.WithLabels(Name, ReasonLabel(reason));
                }
            }
        }

        public Uri Endpoint { get; }

        public string Name { get; }

        public Channel<QueuedAlert> Queue { get; }

        public DateTimeOffset? LastSuccess
        {
            get
            {
                var ticks = Interlocked.Read(ref _lastSuccessTicks);
                return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
            }
        }

        public string? LastError => Volatile.Read(ref _lastError);

        public long DroppedCount(NotificationDropReason reason) => Interlocked.Read(ref _dropped[(int)reason]);

        public void Drop(NotificationDropReason reason, long alerts)
        {
            Interlocked.Add(ref _dropped[(int)reason], alerts);
            _droppedSeries[(int)reason]?.Inc(alerts);
        }

        public void RecordSent(int alerts, DateTimeOffset now)
        {
            Interlocked.Add(ref Sent, alerts);
            Interlocked.Exchange(ref _lastSuccessTicks, now.UtcTicks);
            _sentSeries?.Inc(alerts);
        }

        public void RecordError(int alerts, string description)
        {
            Interlocked.Add(ref Errors, alerts);
            Volatile.Write(ref _lastError, description);
            _errorSeries?.Inc(alerts);
        }

        public void ObserveLatency(TimeSpan elapsed) => _latency?.Observe(elapsed.TotalSeconds);
    }

    internal static string ReasonLabel(NotificationDropReason reason) => reason switch
    {
        NotificationDropReason.QueueFull => "queue_full",
        NotificationDropReason.NotLeader => "not_leader",
        NotificationDropReason.Rejected => "rejected",
        NotificationDropReason.RetriesExhausted => "retries_exhausted",
        NotificationDropReason.Invalid => "invalid",
        NotificationDropReason.Shutdown => "shutdown",
        _ => reason.ToString(),
    };

    /// <summary>The notifier's families in a registry; shared by notifiers on the same registry (series per Alertmanager).</summary>
    private sealed class NotifierMetrics
    {
        private readonly MetricRegistry _registry;
        private readonly Gauge _queueLength;
        private readonly Gauge _queueCapacity;
        private readonly Gauge _alertmanagers;
        private IDisposable? _callback;
        private int _attached;

        public NotifierMetrics(MetricRegistry registry)
        {
            _registry = registry;
            Sent = registry.CreateCounter(
                "metrics_coordination_notifications_sent_total",
                "Alerts delivered to Alertmanager (answered 2xx).",
                "alertmanager");
            Errors = registry.CreateCounter(
                "metrics_coordination_notifications_errors_total",
                "Alerts in Alertmanager requests that failed; each failed attempt counts its whole batch.",
                "alertmanager");
            Dropped = registry.CreateCounter(
                "metrics_coordination_notifications_dropped_total",
                "Alerts dropped instead of delivered, by reason: queue_full, not_leader, rejected (4xx), retries_exhausted, invalid, shutdown.",
                "alertmanager",
                "reason");
            Latency = registry.CreateHistogram(
                "metrics_coordination_notifications_latency_seconds",
                "Duration of Alertmanager requests, failed ones included.",
                new HistogramOptions { LabelNames = ["alertmanager"] });
            _queueLength = registry.CreateGauge(
                "metrics_coordination_notifications_queue_length",
                "Alerts waiting to be sent to an Alertmanager.",
                "alertmanager");
            _queueCapacity = registry.CreateGauge(
                "metrics_coordination_notifications_queue_capacity",
                "The most alerts that can wait for an Alertmanager.",
                "alertmanager");
            _alertmanagers = registry.CreateGauge(
                "metrics_coordination_notifications_alertmanagers_discovered",
                "Alertmanagers the notifiers send to.");
        }

        public Counter Sent { get; }

        public Counter Errors { get; }

        public Counter Dropped { get; }

        public Histogram Latency { get; }

        public void Attach(Target[] targets, int capacity)
        {
            _attached = targets.Length;
            _alertmanagers.Inc(targets.Length);
            var lengths = targets.Select(t => (t.Queue.Reader, Series: _queueLength.WithLabels(t.Name))).ToArray();
            foreach (var target in targets)
            {
                _queueCapacity.WithLabels(target.Name).Set(capacity);
            }

            _callback = _registry.AddBeforeCollectCallback("alertmanager-notifier-queue-length", () =>
            {
                foreach (var (reader, series) in lengths)
                {
                    series.Set(reader.Count);
                }
            });
        }

        public void Detach()
        {
            _callback?.Dispose();
            _alertmanagers.Dec(_attached);
        }
    }
}
