using System.Diagnostics;
using System.Globalization;
using System.Net;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Testing;

/// <summary>
/// A real Prometheus Pushgateway (1.5.1 on Debian bookworm) for tests: bound to 127.0.0.1 on a free port, with its
/// persistence file in its own temp directory. Stopped by PID and the directory deleted on dispose. Ready in well
/// under a second.
/// </summary>
public sealed class PushgatewayServer : IAsyncDisposable
{
    /// <summary>How to install the Pushgateway (Debian bookworm: 1.5.1).</summary>
    public const string InstallHint = "apt-get install -y --no-install-recommends prometheus-pushgateway";

    private const int StartAttempts = 3;

    private readonly TempDirectory _directory;
    private readonly HttpClient _http;

    private PushgatewayServer(TempDirectory directory, PeerProcess process, int port)
    {
        _directory = directory;
        Process = process;
        Port = port;
        BaseUrl = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(15) };
    }

    /// <summary>The gateway's URL, such as <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The port it listens on.</summary>
    public int Port { get; }

    /// <summary>The process, with its captured output.</summary>
    public PeerProcess Process { get; }

    /// <summary>The <c>prometheus-pushgateway</c> binary.</summary>
    /// <exception cref="AssertionException">It is not installed (fails the test with the install command).</exception>
    public static string Binary => PeerBinary.Find("prometheus-pushgateway", InstallHint);

    /// <summary>Starts the gateway and waits until <c>/-/ready</c> answers 200.</summary>
    /// <exception cref="AssertionException">prometheus-pushgateway is not installed, or did not become ready (its output is in the message).</exception>
    public static async Task<PushgatewayServer> StartAsync(TimeSpan? startTimeout = null, CancellationToken cancellationToken = default)
    {
        var binary = Binary;
        var directory = new TempDirectory("pushgateway");
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort.Get();
                var process = PeerProcess.Start(
                    binary,
                    [
                        "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
                        "--persistence.file=" + directory.Combine("metrics.store"),
                    ],
                    workingDirectory: directory.Path,
                    name: "pushgateway");
                var server = new PushgatewayServer(directory, process, port);
                try
                {
                    await server.WaitReadyAsync(startTimeout ?? TimeSpan.FromSeconds(30), cancellationToken);
                    return server;
                }
                catch (Exception) when (attempt < StartAttempts && process.Output.Contains("address already in use", StringComparison.Ordinal))
                {
                    // FreePort's port was taken before the gateway bound it; try another.
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

    /// <summary>The gateway's own <c>/metrics</c> exposition (Prometheus text): every pushed group plus its own metrics.</summary>
    public async Task<string> GetMetricsTextAsync(CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("metrics", UriKind.Relative));
        request.Headers.TryAddWithoutValidation("Accept", "text/plain;version=0.0.4");
        using var response = await _http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new AssertionException($"GET /metrics answered {(int)response.StatusCode}: {body}\n{Process.Describe()}");
        }

        return body;
    }

    /// <summary>The gateway's <c>/metrics</c>, parsed: every family, its own (<c>go_*</c>, <c>pushgateway_*</c>) included.</summary>
    public async Task<IReadOnlyList<MetricFamily>> GetFamiliesAsync(CancellationToken cancellationToken = default)
    {
        var text = await GetMetricsTextAsync(cancellationToken);
        return ExpositionParser.Parse(text, ExpositionFormat.PrometheusText);
    }

    /// <summary>The samples named <paramref name="sampleName"/> (such as <c>batch_items_total</c>) in the gateway's <c>/metrics</c>.</summary>
    public async Task<IReadOnlyList<MetricSample>> GetSamplesAsync(string sampleName, CancellationToken cancellationToken = default)
    {
        var families = await GetFamiliesAsync(cancellationToken);
        return families.SelectMany(f => f.Samples).Where(s => s.Name == sampleName).ToList();
    }

    /// <summary>Kills the gateway by PID and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopProcessAsync();
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
            $"The Pushgateway did not become ready within {timeout.TotalSeconds:0.#} s (last: {lastError}).\n{Process.Describe()}", cancellationToken);
}
