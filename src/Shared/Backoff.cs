namespace Metrics.Coordination.Shared;

/// <summary>
/// Exponential backoff with "equal jitter", the one retry schedule every package uses (source-linked into Registry,
/// Rules, RemoteWrite and ZooKeeper): the delay after failed attempt <c>n</c> (1-based) is drawn uniformly from
/// <c>[d/2, d]</c>, where <c>d = min(max, initial × 2^(n-1))</c>. The upper half keeps a floor under every delay (a
/// failing peer is never hammered), and the random half spreads the retries of many clients that failed together.
/// </summary>
internal static class Backoff
{
    /// <summary>Attempts past this no longer double (2^30 × any sane initial delay is far past every maximum).</summary>
    private const int MaxDoublings = 30;

    /// <summary>The ceiling <c>d</c> for failed attempt <paramref name="attempt"/>: <c>min(max, initial × 2^(attempt-1))</c>.</summary>
    public static TimeSpan Ceiling(TimeSpan initial, TimeSpan max, int attempt)
    {
        var doublings = Math.Clamp(attempt - 1, 0, MaxDoublings);
        var ticks = Math.Min(max.Ticks, initial.Ticks * Math.Pow(2, doublings));
        return TimeSpan.FromTicks((long)Math.Max(0, ticks));
    }

    /// <summary>The jittered delay after failed attempt <paramref name="attempt"/> (1-based): uniform in <c>[d/2, d]</c>.</summary>
    public static TimeSpan Delay(TimeSpan initial, TimeSpan max, int attempt) => Jitter(Ceiling(initial, max, attempt));

    /// <summary>A delay drawn uniformly from the upper half of <paramref name="ceiling"/>: <c>[ceiling/2, ceiling]</c>.</summary>
    public static TimeSpan Jitter(TimeSpan ceiling) =>
        TimeSpan.FromTicks((long)(ceiling.Ticks * (0.5 + (Random.Shared.NextDouble() * 0.5))));
}
