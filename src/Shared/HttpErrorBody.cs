using System.Buffers;
using System.Text;

namespace Metrics.Coordination.Shared;

/// <summary>
/// Reads the start of an HTTP error response body for an exception message or a log line (source-linked into the
/// packages that talk to Prometheus-ecosystem HTTP peers: the Pushgateway client and the Alertmanager notifier).
/// </summary>
internal static class HttpErrorBody
{
    // Enough for any peer's error message (Pushgateway and Alertmanager send one line); a misbehaving peer's huge body
    // must not end up in a log line.
    public const int MaxBytes = 4096;

    /// <summary>Reads at most <see cref="MaxBytes"/> of the body as trimmed UTF-8.</summary>
    public static async Task<string> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = ArrayPool<byte>.Shared.Rent(MaxBytes);
            try
            {
                var length = 0;
                int read;
                while (length < MaxBytes &&
                       (read = await stream.ReadAsync(buffer.AsMemory(length, MaxBytes - length), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    length += read;
                }

                return Encoding.UTF8.GetString(buffer, 0, length).Trim();
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
