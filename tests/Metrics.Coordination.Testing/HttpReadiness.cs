using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Metrics.Coordination.Testing;

/// <summary>Waits for an HTTP peer (Prometheus, Pushgateway, Alertmanager) to answer its readiness endpoint.</summary>
public static class HttpReadiness
{
    /// <summary>
    /// Polls <paramref name="path"/> (relative to the client's base address) every 50 ms until it answers 200, the
    /// process exits or <paramref name="timeout"/> passes; then fails the test with <paramref name="describeFailure"/>
    /// given the last error seen (a status code or the connection error).
    /// </summary>
    public static async Task WaitAsync(HttpClient http, PeerProcess process, string path, TimeSpan timeout, Func<string?, string> describeFailure, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        string? lastError = null;
        while (clock.Elapsed < timeout && !process.HasExited)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(path, UriKind.Relative), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                lastError = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            }
            catch (HttpRequestException ex)
            {
                lastError = ex.Message;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
        }

        // Give the output reader a moment to collect the last lines of a process that just died.
        await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        throw new AssertionException(describeFailure(lastError));
    }
}
