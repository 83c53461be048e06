using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Metrics.Coordination.Testing;

/// <summary>One scrape job in a test Prometheus's configuration.</summary>
/// <param name="JobName">The <c>job</c> label.</param>
/// <param name="Targets">Loopback targets as <c>127.0.0.1:port</c> (or <c>localhost:port</c>, <c>[::1]:port</c>).</param>
public sealed record ScrapeJob(string JobName, IReadOnlyList<string> Targets)
{
    /// <summary>The path scraped. Default: <c>/metrics</c>.</summary>
    public string MetricsPath { get; init; } = "/metrics";

    /// <summary>Scrape interval (the timeout is the same). Default: 1 s.</summary>
    public TimeSpan ScrapeInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Keep the target's own <c>job</c>/<c>instance</c> labels on conflict. Default: false.</summary>
    public bool HonorLabels { get; init; }

    /// <summary>
    /// <c>scrape_protocols</c> (such as <c>PrometheusText0.0.4</c>), or null to omit it. Prometheus 2.49 added the
    /// setting; 2.42 refuses a configuration that has it, and always asks for OpenMetrics first.
    /// </summary>
    public IReadOnlyList<string>? ScrapeProtocols { get; init; }

    /// <summary>Labels added to every target of the job.</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    /// <summary>One job scraping <c>127.0.0.1:port</c>.</summary>
    public static ScrapeJob ForPort(string jobName, int port, string metricsPath = "/metrics") =>
        new(jobName, [$"127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"]) { MetricsPath = metricsPath };
}

/// <summary>Settings of a test Prometheus.</summary>
public sealed class PrometheusOptions
{
    /// <summary>The scrape jobs.</summary>
    public List<ScrapeJob> ScrapeJobs { get; init; } = [];

    /// <summary>Global scrape and rule evaluation interval. Default: 1 s.</summary>
    public TimeSpan GlobalInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>YAML appended to the configuration at top level (<c>rule_files</c>, <c>alerting</c>, ...); paths may point into the server's directory.</summary>
    public string? ExtraConfigYaml { get; init; }

    /// <summary>Files written into the server's directory before start, by relative name (rule files, say).</summary>
    public Dictionary<string, string> Files { get; init; } = [];

    /// <summary>More command-line arguments (<c>--enable-feature=...</c>, <c>--rules.alert.resend-delay=1s</c>).</summary>
    public List<string> ExtraArguments { get; init; } = [];

    /// <summary>How long to wait for <c>/-/ready</c>. Default: 30 s (it takes 0.1–0.2 s).</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>One sample of an instant query result.</summary>
/// <param name="Labels">Its labels, <c>__name__</c> included when the result keeps it.</param>
/// <param name="Value">Its value.</param>
/// <param name="TimestampSeconds">The evaluation timestamp in seconds since the epoch.</param>
public sealed record PromSample(IReadOnlyDictionary<string, string> Labels, double Value, double TimestampSeconds)
{
    private static readonly JsonSerializerOptions ReadableJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The metric name, or null.</summary>
    public string? Name => Labels.GetValueOrDefault("__name__");

    /// <summary>A label's value, or the empty string (as PromQL treats a missing label).</summary>
    public string this[string label] => Labels.GetValueOrDefault(label) ?? string.Empty;

    /// <inheritdoc />
    public override string ToString() =>
        $"{{{string.Join(", ", Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={JsonSerializer.Serialize(l.Value, ReadableJson)}"))}}} => {Value.ToString("R", CultureInfo.InvariantCulture)}";
}

/// <summary>A scrape target as <c>/api/v1/targets</c> reports it.</summary>
/// <param name="Job">The job name (<c>scrapePool</c>).</param>
/// <param name="ScrapeUrl">The URL scraped.</param>
/// <param name="Health"><c>up</c>, <c>down</c> or <c>unknown</c>.</param>
/// <param name="LastError">The last scrape error, or empty.</param>
/// <param name="Labels">The target labels.</param>
public sealed record PrometheusTarget(string Job, string ScrapeUrl, string Health, string LastError, IReadOnlyDictionary<string, string> Labels)
{
    /// <inheritdoc />
    public override string ToString() => $"{Job} {ScrapeUrl} {Health}{(LastError.Length > 0 ? " (" + LastError + ")" : string.Empty)}";
}

/// <summary>
/// A real Prometheus server (2.42 on Debian bookworm) for tests: its own temp directory with a generated
/// <c>prometheus.yml</c>, bound to 127.0.0.1 on a free port, with the lifecycle API and the remote-write receiver on.
/// Stopped by PID and its directory deleted on dispose. Remember that the first scrape shows 5–6 s after start,
/// because target discovery batches updates every 5 s: use <see cref="WaitForAsync"/>.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private const int StartAttempts = 3;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private readonly TempDirectory _directory;
    private HttpClient _http;
    private string[] _arguments = [];
    private TimeSpan _startTimeout = TimeSpan.FromSeconds(30);
    private bool _stopped;

    private PrometheusServer(TempDirectory directory, PeerProcess process, int port)
    {
        _directory = directory;
        Process = process;
        Port = port;
        BaseUrl = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(15) };
    }

    /// <summary>The server's URL, such as <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The port the server listens on.</summary>
    public int Port { get; }

    /// <summary>The server's working directory (configuration, TSDB, extra files).</summary>
    public string Directory => _directory.Path;

    /// <summary>The configuration file.</summary>
    public string ConfigPath => _directory.Combine("prometheus.yml");

    /// <summary>The process, with its captured output.</summary>
    public PeerProcess Process { get; private set; }

    /// <summary>Writes the configuration, starts Prometheus and waits until <c>/-/ready</c> answers 200.</summary>
    /// <exception cref="AssertionException">prometheus is not installed, or did not become ready (its output is in the message).</exception>
    public static async Task<PrometheusServer> StartAsync(PrometheusOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var binary = PeerBinary.Prometheus;
        var directory = new TempDirectory("prometheus");
        try
        {
            File.WriteAllText(directory.Combine("prometheus.yml"), BuildConfig(options));
            foreach (var (name, content) in options.Files)
            {
                var path = directory.Combine(name);
                System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
                File.WriteAllText(path, content);
            }

            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort.Get();
                string[] arguments =
                [
                    "--config.file=" + directory.Combine("prometheus.yml"),
                    "--storage.tsdb.path=" + directory.Combine("data"),
                    "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
                    "--web.enable-lifecycle",
                    "--web.enable-remote-write-receiver",
                    .. options.ExtraArguments,
                ];
                var process = PeerProcess.Start(binary, arguments, workingDirectory: directory.Path, name: "prometheus");
                var server = new PrometheusServer(directory, process, port) { _arguments = arguments, _startTimeout = options.StartTimeout };
                try
                {
                    await server.WaitReadyAsync(options.StartTimeout, cancellationToken);
                    return server;
                }
                catch (Exception) when (attempt < StartAttempts && process.Output.Contains("address already in use", StringComparison.Ordinal))
                {
                    // FreePort's port was taken before Prometheus bound it; try another.
                    await server.StopProcessAsync();
                }
                catch
                {
                    await server.StopProcessAsync();
                    throw;
                }
            }
        }
        catch
        {
            directory.Dispose();
            throw;
        }
    }

    /// <summary>The generated configuration (YAML; scalars are written as JSON strings, which YAML reads unchanged).</summary>
    public static string BuildConfig(PrometheusOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var yaml = new StringBuilder();
        yaml.Append("global:\n")
            .Append("  scrape_interval: ").Append(Duration(options.GlobalInterval)).Append('\n')
            .Append("  scrape_timeout: ").Append(Duration(options.GlobalInterval)).Append('\n')
            .Append("  evaluation_interval: ").Append(Duration(options.GlobalInterval)).Append('\n');
        yaml.Append("scrape_configs:\n");
        if (options.ScrapeJobs.Count == 0)
        {
            yaml.Length -= "scrape_configs:\n".Length;
        }

        foreach (var job in options.ScrapeJobs)
        {
            foreach (var target in job.Targets)
            {
                EnsureLoopback(target);
            }

            yaml.Append("  - job_name: ").Append(Quote(job.JobName)).Append('\n')
                .Append("    scrape_interval: ").Append(Duration(job.ScrapeInterval)).Append('\n')
                .Append("    scrape_timeout: ").Append(Duration(job.ScrapeInterval)).Append('\n')
                .Append("    metrics_path: ").Append(Quote(job.MetricsPath)).Append('\n')
                .Append("    honor_labels: ").Append(job.HonorLabels ? "true" : "false").Append('\n');
            if (job.ScrapeProtocols is { } protocols)
            {
                yaml.Append("    scrape_protocols: [").Append(string.Join(", ", protocols.Select(Quote))).Append("]\n");
            }

            yaml.Append("    static_configs:\n")
                .Append("      - targets: [").Append(string.Join(", ", job.Targets.Select(Quote))).Append("]\n");
            if (job.Labels is { Count: > 0 } labels)
            {
                yaml.Append("        labels: {").Append(string.Join(", ", labels.Select(l => $"{Quote(l.Key)}: {Quote(l.Value)}"))).Append("}\n");
            }
        }

        if (!string.IsNullOrWhiteSpace(options.ExtraConfigYaml))
        {
            yaml.Append(options.ExtraConfigYaml.TrimEnd()).Append('\n');
        }

        return yaml.ToString();
    }

    /// <summary>Evaluates an instant query now; returns the vector (a scalar or string result as one sample without labels).</summary>
    /// <exception cref="InvalidOperationException">The query failed (bad PromQL, say) or returned a range matrix.</exception>
    public async Task<IReadOnlyList<PromSample>> QueryAsync(string promql, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(promql);
        using var document = await GetJsonAsync("api/v1/query?query=" + Uri.EscapeDataString(promql), cancellationToken);
        var data = document.RootElement.GetProperty("data");
        var resultType = data.GetProperty("resultType").GetString();
        var result = data.GetProperty("result");
        switch (resultType)
        {
            case "vector":
                var samples = new List<PromSample>(result.GetArrayLength());
                foreach (var item in result.EnumerateArray())
                {
                    var labels = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (var label in item.GetProperty("metric").EnumerateObject())
                    {
                        labels[label.Name] = label.Value.GetString() ?? string.Empty;
                    }

                    var value = item.GetProperty("value");
                    samples.Add(new PromSample(labels, ParseValue(value[1].GetString()), value[0].GetDouble()));
                }

                return samples;
            case "scalar":
            case "string":
                return [new PromSample(new Dictionary<string, string>(), resultType == "scalar" ? ParseValue(result[1].GetString()) : double.NaN, result[0].GetDouble())];
            default:
                throw new InvalidOperationException($"Query '{promql}' returned a {resultType}; QueryAsync handles instant vectors and scalars.");
        }
    }

    /// <summary>
    /// Polls <paramref name="promql"/> until <paramref name="predicate"/> holds for the result, and returns that result.
    /// On timeout the test fails with the last result, the targets' health and errors, and Prometheus's output.
    /// </summary>
    public async Task<IReadOnlyList<PromSample>> WaitForAsync(string promql, Func<IReadOnlyList<PromSample>, bool> predicate, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        IReadOnlyList<PromSample>? last = null;
        Exception? lastError = null;
        while (true)
        {
            try
            {
                last = await QueryAsync(promql, cancellationToken);
                lastError = null;
                if (predicate(last))
                {
                    return last;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                lastError = ex;
            }

            if (Process.HasExited || clock.Elapsed > limit)
            {
                string targets;
                try
                {
                    targets = string.Join("\n  ", await TargetsAsync(cancellationToken));
                }
                catch (Exception ex)
                {
                    targets = "(unavailable: " + ex.Message + ")";
                }

                throw new AssertionException(
                    $"Prometheus query '{promql}' did not satisfy the condition within {limit.TotalSeconds:0.#} s " +
                    $"(waited {clock.Elapsed.TotalSeconds:0.#} s).\nLast result: " +
                    (last is null ? "(none)" : last.Count == 0 ? "(empty)" : "\n  " + string.Join("\n  ", last)) +
                    (lastError is null ? string.Empty : "\nLast error: " + lastError.Message) +
                    "\nTargets:\n  " + targets +
                    "\n" + Process.Describe());
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    /// <summary>The active targets (<c>/api/v1/targets</c>).</summary>
    public async Task<IReadOnlyList<PrometheusTarget>> TargetsAsync(CancellationToken cancellationToken = default)
    {
        using var document = await GetJsonAsync("api/v1/targets?state=active", cancellationToken);
        var targets = new List<PrometheusTarget>();
        foreach (var item in document.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray())
        {
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var label in item.GetProperty("labels").EnumerateObject())
            {
                labels[label.Name] = label.Value.GetString() ?? string.Empty;
            }

            targets.Add(new PrometheusTarget(
                item.GetProperty("scrapePool").GetString() ?? string.Empty,
                item.GetProperty("scrapeUrl").GetString() ?? string.Empty,
                item.GetProperty("health").GetString() ?? string.Empty,
                item.GetProperty("lastError").GetString() ?? string.Empty,
                labels));
        }

        return targets;
    }

    /// <summary>GETs an API path (relative to <see cref="BaseUrl"/>) and returns the JSON; fails on a non-success <c>status</c>.</summary>
    public async Task<JsonDocument> GetJsonAsync(string relativeUrl, CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(new Uri(relativeUrl, UriKind.Relative), cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            throw new InvalidOperationException($"GET {relativeUrl} answered {(int)response.StatusCode} with non-JSON: {body}");
        }

        if (document.RootElement.TryGetProperty("status", out var status) && status.GetString() != "success")
        {
            var error = document.RootElement.TryGetProperty("error", out var e) ? e.GetString() : body;
            document.Dispose();
            throw new InvalidOperationException($"GET {relativeUrl} failed: {error}");
        }

        return document;
    }

    /// <summary>Reloads the configuration file (<c>POST /-/reload</c>), after a test rewrote it.</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsync(new Uri("-/reload", UriKind.Relative), null, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new AssertionException($"Reload failed with {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}\n{Process.Describe()}");
        }
    }

    /// <summary>Kills the server by PID, keeping its directory (data included) for <see cref="RestartAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await StopProcessAsync();
        }
    }

    /// <summary>Starts the server again after <see cref="StopAsync"/>, same port, configuration and data directory, and waits until ready.</summary>
    /// <exception cref="AssertionException">It did not become ready (the port may have been taken meanwhile).</exception>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        if (!_stopped)
        {
            throw new InvalidOperationException("Prometheus is still running; call StopAsync first.");
        }

        _stopped = false;

        Process = PeerProcess.Start(PeerBinary.Prometheus, _arguments, workingDirectory: _directory.Path, name: "prometheus");
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(15) };
        await WaitReadyAsync(_startTimeout, cancellationToken);
    }

    /// <summary>Kills the server by PID and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            _directory.Dispose();
        }
    }

    private async Task StopProcessAsync()
    {
        _http.Dispose();
        await Process.DisposeAsync();
    }

    private Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        HttpReadiness.WaitAsync(_http, Process, "-/ready", timeout, lastError =>
            $"Prometheus did not become ready within {timeout.TotalSeconds:0.#} s (last: {lastError}). " +
            $"Configuration:\n{File.ReadAllText(ConfigPath)}\n{Process.Describe()}", cancellationToken);

    private static void EnsureLoopback(string target)
    {
        var host = target.StartsWith('[') ? target[..(target.IndexOf(']', StringComparison.Ordinal) + 1)] : target.Split(':')[0];
        var loopback = host is "localhost" or "[::1]" || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
        if (!loopback)
        {
            throw new ArgumentException($"Scrape target '{target}' is not a loopback address; test servers only ever talk over loopback.", nameof(target));
        }
    }

    private static string Duration(TimeSpan value) =>
        value.TotalMilliseconds % 1000 == 0
            ? ((long)value.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s"
            : ((long)value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";

    private static string Quote(string value) => JsonSerializer.Serialize(value);

    private static double ParseValue(string? text) => text switch
    {
        "NaN" => double.NaN,
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        null => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };
}
