namespace Metrics.Coordination.Testing;

/// <summary>Runs the real <c>promtool</c> (2.42 on Debian bookworm).</summary>
public static class Promtool
{
    /// <summary>
    /// Runs <c>promtool</c> with <paramref name="arguments"/>, writing <paramref name="stdin"/> to its standard input
    /// (then closing it). <c>check metrics</c> reads the exposition from stdin and exits 0 when clean, 3 on lint
    /// findings, 1 on a parse error.
    /// </summary>
    /// <exception cref="AssertionException">promtool is not installed.</exception>
    public static Task<ProcessResult> RunAsync(IEnumerable<string> arguments, string? stdin = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        PeerProcess.RunAsync(PeerBinary.Promtool, arguments, stdin, timeout ?? TimeSpan.FromSeconds(60), cancellationToken: cancellationToken);

    /// <summary>Runs <c>promtool check metrics</c> over <paramref name="exposition"/> (Prometheus text format).</summary>
    public static Task<ProcessResult> CheckMetricsAsync(string exposition, CancellationToken cancellationToken = default) =>
        RunAsync(["check", "metrics"], exposition, cancellationToken: cancellationToken);
}
