using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Testing;

/// <summary>Settings of a test Alertmanager.</summary>
public sealed class AlertmanagerServerOptions
{
    /// <summary>
    /// Whether the route sends to a webhook receiver (<c>send_resolved: true</c>) on the fixture's
    /// <see cref="AlertmanagerServer.Webhook"/> listener, so tests see what Alertmanager notifies. When false, the
    /// route's receiver has no integrations and alerts are only kept for the API. Default: true.
    /// </summary>
    public bool WebhookReceiver { get; init; } = true;

    /// <summary>The route's <c>group_wait</c> (first notification of a new group). Default: 100 ms.</summary>
    public TimeSpan GroupWait { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The route's <c>group_interval</c> (notifications about changes in a group, resolutions included). Default: 500 ms.</summary>
    public TimeSpan GroupInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The route's <c>repeat_interval</c> (re-notification of an unchanged firing group). Default: 1 h, so a repeated
    /// notification within a test is not Alertmanager's own repeat.
    /// </summary>
    public TimeSpan RepeatInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// <c>global.resolve_timeout</c>: how long an alert posted without <c>endsAt</c> stays firing. Default: 5 min
    /// (Alertmanager's default).
    /// </summary>
    public TimeSpan ResolveTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>A whole configuration file to use instead of the generated one (<c>{webhook}</c> is replaced by the receiver's URL).</summary>
    public string? ConfigYaml { get; init; }

    /// <summary>More command-line arguments.</summary>
    public List<string> ExtraArguments { get; init; } = [];

    /// <summary>How long to wait for <c>/-/ready</c>. Default: 30 s (it takes ~0.2 s).</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>An alert as Alertmanager's API v2 lists it (<c>gettableAlert</c>).</summary>
/// <param name="Labels">Its labels.</param>
/// <param name="Annotations">Its annotations.</param>
/// <param name="StartsAt">Its <c>startsAt</c>.</param>
/// <param name="EndsAt">Its <c>endsAt</c>.</param>
/// <param name="UpdatedAt">When Alertmanager last received it.</param>
/// <param name="GeneratorUrl">Its <c>generatorURL</c> (empty when absent).</param>
/// <param name="State">Its <c>status.state</c>: <c>active</c>, <c>suppressed</c> or <c>unprocessed</c>.</param>
/// <param name="Fingerprint">Alertmanager's fingerprint of the label set.</param>
public sealed record AlertmanagerAlert(
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations,
    DateTimeOffset StartsAt,
    DateTimeOffset EndsAt,
    DateTimeOffset UpdatedAt,
    string GeneratorUrl,
    string State,
    string Fingerprint)
{
    /// <summary>A label's value, or the empty string.</summary>
    public string this[string label] => Labels.GetValueOrDefault(label) ?? string.Empty;

    /// <inheritdoc />
    public override string ToString() =>
        $"{{{string.Join(", ", Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}=\"{l.Value}\""))}}} {State} {StartsAt:O}..{EndsAt:O}";
}

/// <summary>One alert inside a webhook notification.</summary>
/// <param name="Status"><c>firing</c> or <c>resolved</c>.</param>
/// <param name="Labels">Its labels.</param>
/// <param name="Annotations">Its annotations.</param>
/// <param name="StartsAt">Its <c>startsAt</c>.</param>
/// <param name="EndsAt">Its <c>endsAt</c> (Go's zero time, year 1, for a firing alert).</param>
/// <param name="GeneratorUrl">Its <c>generatorURL</c>.</param>
public sealed record WebhookAlert(
    string Status,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations,
    DateTimeOffset StartsAt,
    DateTimeOffset EndsAt,
    string GeneratorUrl)
{
    /// <summary>A label's value, or the empty string.</summary>
    public string this[string label] => Labels.GetValueOrDefault(label) ?? string.Empty;
}

/// <summary>One notification Alertmanager posted to the webhook receiver (payload version 4).</summary>
/// <param name="Status"><c>firing</c> when any alert in it fires, else <c>resolved</c>.</param>
/// <param name="GroupKey">The group's key.</param>
/// <param name="Alerts">The alerts of the group.</param>
/// <param name="ReceivedAt">When the fixture received it (system clock).</param>
public sealed record WebhookNotification(string Status, string GroupKey, IReadOnlyList<WebhookAlert> Alerts, DateTimeOffset ReceivedAt)
{
    /// <summary>The alerts with <paramref name="label"/> = <paramref name="value"/>.</summary>
    public IEnumerable<WebhookAlert> AlertsWith(string label, string value) => Alerts.Where(a => a[label] == value);
}

/// <summary>
/// A real Alertmanager (0.25 on Debian bookworm) for tests: bound to 127.0.0.1 on a free port with clustering off
/// (<c>--cluster.listen-address=</c>, else it gossips on 0.0.0.0:9094), its configuration and storage in its own temp
/// directory, and by default a webhook receiver on a loopback listener the fixture owns, so tests read alerts back
/// through API v2 and also see the notifications. <see cref="KillAsync"/> SIGKILLs it by PID; <see cref="RestartAsync"/>
/// starts it again on the same port and storage (Alertmanager keeps silences and the notification log on disk, but
/// alerts only in memory: a restarted Alertmanager has none until senders resend them).
/// </summary>
public sealed class AlertmanagerServer : IAsyncDisposable
{
    /// <summary>How to install Alertmanager (Debian bookworm: 0.25.0).</summary>
    public const string InstallHint = "apt-get install -y --no-install-recommends prometheus-alertmanager";

    private const int StartAttempts = 3;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private readonly TempDirectory _directory;
    private readonly AlertmanagerServerOptions _options;
    private readonly HttpClient _http;
    private readonly LoopbackHttpServer? _webhook;
    private PeerProcess? _process;

    private AlertmanagerServer(TempDirectory directory, AlertmanagerServerOptions options, LoopbackHttpServer? webhook, int port)
    {
        _directory = directory;
        _options = options;
        _webhook = webhook;
        Port = port;
        BaseUrl = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(1) })
        {
            BaseAddress = BaseUrl,
            Timeout = TimeSpan.FromSeconds(15),
        };
    }

    /// <summary>Alertmanager's URL, such as <c>http://127.0.0.1:41234/</c> (what a notifier is given).</summary>
    public Uri BaseUrl { get; }

    /// <summary>The port it listens on (kept across restarts).</summary>
    public int Port { get; }

    /// <summary>The storage directory (silences, notification log), kept across restarts.</summary>
    public string StorageDirectory => _directory.Combine("data");

    /// <summary>The configuration file.</summary>
    public string ConfigPath => _directory.Combine("alertmanager.yml");

    /// <summary>The process (null while killed).</summary>
    public PeerProcess? Process => _process;

    /// <summary>Whether the process runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The webhook receiver's listener (every notification Alertmanager posted), or null when configured without one.</summary>
    public LoopbackHttpServer? Webhook => _webhook;

    /// <summary>The <c>prometheus-alertmanager</c> binary.</summary>
    /// <exception cref="AssertionException">It is not installed (fails the test with the install command).</exception>
    public static string Binary => PeerBinary.Find("prometheus-alertmanager", InstallHint);

    /// <summary>Writes the configuration, starts Alertmanager and waits until <c>/-/ready</c> answers 200.</summary>
    /// <exception cref="AssertionException">prometheus-alertmanager is not installed, or did not become ready (its output is in the message).</exception>
    public static async Task<AlertmanagerServer> StartAsync(AlertmanagerServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new AlertmanagerServerOptions();
        _ = Binary;
        for (var attempt = 1; ; attempt++)
        {
            var webhook = options.WebhookReceiver ? new LoopbackHttpServer() : null;
            var server = new AlertmanagerServer(new TempDirectory("alertmanager"), options, webhook, FreePort.Get());
            try
            {
                File.WriteAllText(server.ConfigPath, server.BuildConfig());
                server.Launch();
                await server.WaitReadyAsync(cancellationToken);
                return server;
            }
            catch (Exception) when (attempt < StartAttempts && server._process?.Output.Contains("address already in use", StringComparison.Ordinal) == true)
            {
                // FreePort's port was taken before Alertmanager bound it; try another.
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>SIGKILLs Alertmanager (by PID, with its process tree) and waits for it to exit; port and storage stay reserved for <see cref="RestartAsync"/>.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            await process.DisposeAsync();
        }
    }

    /// <summary>Kills (if running) and starts Alertmanager again on the same port, configuration and storage, then waits until ready.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await KillAsync();

        // The killed process's listening socket is gone at once (no TIME_WAIT for a listener), but retry a bind
        // failure a few times anyway in case another test's client was handed the port meanwhile.
        for (var attempt = 1; ; attempt++)
        {
            Launch();
            try
            {
                await WaitReadyAsync(cancellationToken);
                return;
            }
            catch (AssertionException) when (attempt < StartAttempts && _process?.Output.Contains("address already in use", StringComparison.Ordinal) == true)
            {
                await KillAsync();
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            }
        }
    }

    /// <summary>
    /// <c>GET /api/v2/alerts</c>. By default asks for every alert Alertmanager lists (active, silenced, inhibited and
    /// unprocessed). Alertmanager 0.25 never lists a resolved alert (its <c>endsAt</c> has passed) here, whatever the
    /// parameters: it keeps it internally until garbage collection, but the API filters it out; see the webhook
    /// notifications or <c>alertmanager_alerts_received_total{status="resolved"}</c> for resolutions.
    /// </summary>
    /// <param name="filter">Label matchers such as <c>alertname="X"</c>, or none.</param>
    /// <param name="active">The <c>active</c> parameter.</param>
    /// <param name="silenced">The <c>silenced</c> parameter.</param>
    /// <param name="inhibited">The <c>inhibited</c> parameter.</param>
    /// <param name="unprocessed">The <c>unprocessed</c> parameter.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<IReadOnlyList<AlertmanagerAlert>> GetAlertsAsync(IEnumerable<string>? filter = null, bool active = true, bool silenced = true, bool inhibited = true, bool unprocessed = true, CancellationToken cancellationToken = default)
    {
        var query = new StringBuilder("api/v2/alerts?active=").Append(Bool(active))
            .Append("&silenced=").Append(Bool(silenced))
            .Append("&inhibited=").Append(Bool(inhibited))
            .Append("&unprocessed=").Append(Bool(unprocessed));
        foreach (var matcher in filter ?? [])
        {
            query.Append("&filter=").Append(Uri.EscapeDataString(matcher));
        }

        using var response = await _http.GetAsync(new Uri(query.ToString(), UriKind.Relative), cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new AssertionException($"GET /{query} answered {(int)response.StatusCode}: {body}\n{Describe()}");
        }

        using var document = JsonDocument.Parse(body);
        return document.RootElement.EnumerateArray().Select(ParseAlert).ToList();

        static string Bool(bool value) => value ? "true" : "false";
    }

    /// <summary>
    /// Polls <see cref="GetAlertsAsync"/> every 50 ms until <paramref name="predicate"/> holds (returns that list), or
    /// fails the test after <paramref name="timeout"/> with <paramref name="what"/> and the last list. Connection errors
    /// (Alertmanager restarting) count as "not yet".
    /// </summary>
    public async Task<IReadOnlyList<AlertmanagerAlert>> WaitForAlertsAsync(Func<IReadOnlyList<AlertmanagerAlert>, bool> predicate, TimeSpan timeout, string what, CancellationToken cancellationToken = default)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        IReadOnlyList<AlertmanagerAlert> last = [];
        string? lastError = null;
        while (true)
        {
            try
            {
                last = await GetAlertsAsync(cancellationToken: cancellationToken);
                lastError = null;
                if (predicate(last))
                {
                    return last;
                }
            }
            catch (HttpRequestException ex)
            {
                lastError = ex.Message;
            }

            if (clock.Elapsed > timeout)
            {
                throw new AssertionException(
                    $"Waited {timeout.TotalSeconds:0.#} s for {what}; Alertmanager lists {last.Count} alert(s):\n" +
                    string.Join("\n", last) + (lastError is null ? string.Empty : "\nlast error: " + lastError) + "\n" + Describe());
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    /// <summary>The notifications the webhook receiver got so far, in arrival order.</summary>
    /// <exception cref="InvalidOperationException">The server was configured without a webhook receiver.</exception>
    public IReadOnlyList<WebhookNotification> GetNotifications()
    {
        var webhook = _webhook ?? throw new InvalidOperationException("This Alertmanager was started without a webhook receiver.");
        return webhook.Requests.Where(r => r.Method == "POST").Select(ParseNotification).ToList();
    }

    /// <summary>Waits until the webhook notifications satisfy <paramref name="predicate"/>, or fails the test after <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<WebhookNotification>> WaitForNotificationsAsync(Func<IReadOnlyList<WebhookNotification>, bool> predicate, TimeSpan timeout, string what, CancellationToken cancellationToken = default)
    {
        var webhook = _webhook ?? throw new InvalidOperationException("This Alertmanager was started without a webhook receiver.");
        try
        {
            await webhook.WaitForAsync(_ => predicate(GetNotifications()), timeout, what, cancellationToken);
        }
        catch (AssertionException ex)
        {
            throw new AssertionException(ex.Message + "\n" + Describe());
        }

        return GetNotifications();
    }

    /// <summary>The value of one sample of Alertmanager's own <c>/metrics</c> (such as <c>alertmanager_alerts_received_total</c> with <c>status="resolved"</c>), or 0 when absent.</summary>
    /// <param name="sampleName">The sample name.</param>
    /// <param name="labels">Label name/value pairs the sample must have (others are ignored).</param>
    public async Task<double> GetMetricAsync(string sampleName, params string[] labels)
    {
        using var response = await _http.GetAsync(new Uri("metrics", UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        var families = ExpositionParser.Parse(text, ExpositionFormat.PrometheusText);
        var total = 0.0;
        foreach (var sample in families.SelectMany(f => f.Samples).Where(s => s.Name == sampleName))
        {
            var match = true;
            for (var i = 0; i + 1 < labels.Length; i += 2)
            {
                match &= sample.Labels.Get(labels[i]) == labels[i + 1];
            }

            if (match)
            {
                total += sample.Value;
            }
        }

        return total;
    }

    /// <summary><c>POST /api/v2/alerts</c> with <paramref name="json"/> as is; returns the status and body, for probing Alertmanager itself.</summary>
    public async Task<(HttpStatusCode Status, string Body)> PostAlertsRawAsync(string json, CancellationToken cancellationToken = default)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(new Uri("api/v2/alerts", UriKind.Relative), content, cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>A failure description: the process state and its output.</summary>
    public string Describe() => _process?.Describe() ?? "alertmanager (killed)";

    /// <summary>Kills Alertmanager, stops the webhook receiver and deletes the directory.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
            _http.Dispose();
            if (_webhook is not null)
            {
                await _webhook.DisposeAsync();
            }
        }
        finally
        {
            _directory.Dispose();
        }
    }

    /// <summary>The configuration: one route grouping by every label (<c>'...'</c>, one alert per group) to the webhook receiver, or to a receiver without integrations.</summary>
    private string BuildConfig()
    {
        var webhookUrl = _webhook is null ? string.Empty : new Uri(_webhook.BaseUrl, "hook").AbsoluteUri;
        if (_options.ConfigYaml is { } custom)
        {
            return custom.Replace("{webhook}", webhookUrl, StringComparison.Ordinal);
        }

        var yaml = new StringBuilder();
        yaml.Append("global:\n  resolve_timeout: ").Append(Duration(_options.ResolveTimeout)).Append('\n');
        yaml.Append("route:\n")
            .Append("  receiver: ").Append(_webhook is null ? "\"none\"" : "\"webhook\"").Append('\n')
            .Append("  group_by: ['...']\n")
            .Append("  group_wait: ").Append(Duration(_options.GroupWait)).Append('\n')
            .Append("  group_interval: ").Append(Duration(_options.GroupInterval)).Append('\n')
            .Append("  repeat_interval: ").Append(Duration(_options.RepeatInterval)).Append('\n');
        yaml.Append("receivers:\n");
        if (_webhook is null)
        {
            yaml.Append("  - name: \"none\"\n");
        }
        else
        {
            yaml.Append("  - name: \"webhook\"\n")
                .Append("    webhook_configs:\n")
                .Append("      - url: \"").Append(webhookUrl).Append("\"\n")
                .Append("        send_resolved: true\n");
        }

        return yaml.ToString();
    }

    private static string Duration(TimeSpan value) => ((long)value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";

    private void Launch()
    {
        _process = PeerProcess.Start(
            Binary,
            [
                "--config.file=" + ConfigPath,
                "--storage.path=" + StorageDirectory,
                "--web.listen-address=127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture),
                "--cluster.listen-address=",
                .. _options.ExtraArguments,
            ],
            workingDirectory: _directory.Path,
            name: "alertmanager");
    }

    private Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        var process = _process!;
        return HttpReadiness.WaitAsync(_http, process, "-/ready", _options.StartTimeout, lastError =>
            $"Alertmanager did not become ready within {_options.StartTimeout.TotalSeconds:0.#} s (last: {lastError}).\n{process.Describe()}", cancellationToken);
    }

    private static AlertmanagerAlert ParseAlert(JsonElement alert) =>
        new(
            Map(alert, "labels"),
            Map(alert, "annotations"),
            Time(alert, "startsAt"),
            Time(alert, "endsAt"),
            Time(alert, "updatedAt"),
            alert.TryGetProperty("generatorURL", out var url) ? url.GetString() ?? string.Empty : string.Empty,
            alert.GetProperty("status").GetProperty("state").GetString() ?? string.Empty,
            alert.GetProperty("fingerprint").GetString() ?? string.Empty);

    private static WebhookNotification ParseNotification(LoopbackHttpRequest request)
    {
        using var document = JsonDocument.Parse(request.Body);
        var root = document.RootElement;
        var alerts = root.GetProperty("alerts").EnumerateArray().Select(a => new WebhookAlert(
            a.GetProperty("status").GetString() ?? string.Empty,
            Map(a, "labels"),
            Map(a, "annotations"),
            Time(a, "startsAt"),
            Time(a, "endsAt"),
            a.TryGetProperty("generatorURL", out var url) ? url.GetString() ?? string.Empty : string.Empty)).ToList();
        return new WebhookNotification(
            root.GetProperty("status").GetString() ?? string.Empty,
            root.GetProperty("groupKey").GetString() ?? string.Empty,
            alerts,
            request.ReceivedAt);
    }

    private static Dictionary<string, string> Map(JsonElement element, string property)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Object)
        {
            foreach (var pair in value.EnumerateObject())
            {
                map[pair.Name] = pair.Value.GetString() ?? string.Empty;
            }
        }

        return map;
    }

    private static DateTimeOffset Time(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.GetString() is { Length: > 0 } text
            ? DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)
            : default;
}
