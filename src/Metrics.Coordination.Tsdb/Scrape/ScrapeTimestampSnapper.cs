namespace Metrics.Coordination.Tsdb.Scrape;

/// <summary>
/// Scrape-timestamp snapping (Prometheus's <c>--scrape.timestamp-tolerance</c>, on by default since 2.22): a scrape
/// that ran within the tolerance of its scheduled time is stored at the scheduled time, so a target's timestamps stay
/// exactly one interval apart and each costs one bit in the XOR chunk (delta-of-delta 0) instead of 16 or more.
/// One instance per scrape loop (per target); the scrape loop and the bytes-per-sample measurement both use it.
/// </summary>
/// <remarks>
/// <para>
/// Prometheus 2.42 does not know its ticker's schedule, so it anchors a grid at the first scrape's time and snaps only
/// scrapes that ran 0 to tolerance <em>late</em> against it. Our loop knows the schedule, so it snaps to it, early or
/// late. A timer never fires early, so in the loop the two differ only by the first scrape's own lateness.
/// </para>
/// <para>
/// Guarantees, for strictly increasing actual times: the result never differs from the actual time by more than the
/// tolerance, and results are strictly increasing (a snap is skipped when it would not be after the previous result;
/// a time that a previous forward snap overtook moves to just after it, which is still within the tolerance). Both
/// cases need two scrapes less than a tolerance apart, which a schedule with the tolerance at most 1 % of the interval
/// never produces. A time that is not after the previous actual time (the wall clock stepped back) is returned
/// unchanged: the storage refuses it as out of order, as it would without snapping.
/// </para>
/// </remarks>
internal struct ScrapeTimestampSnapper
{
    private readonly long _tolerance;
    private long _lastActual;
    private long _lastResult;

    /// <summary>A snapper with a tolerance of <paramref name="toleranceMs"/> milliseconds (0 disables snapping).</summary>
    public ScrapeTimestampSnapper(long toleranceMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(toleranceMs);
        _tolerance = toleranceMs;
        _lastActual = long.MinValue;
        _lastResult = long.MinValue;
    }

    /// <summary>The tolerance in milliseconds.</summary>
    public readonly long ToleranceMs => _tolerance;

    /// <summary>
    /// The timestamp to store for a scrape that ran at <paramref name="actualMs"/> and was scheduled for
    /// <paramref name="scheduledMs"/>: the scheduled time when within the tolerance (and after the previous result),
    /// otherwise the actual time (see the type's remarks for the ordering guarantee).
    /// </summary>
    public long Snap(long actualMs, long scheduledMs)
    {
        if (actualMs <= _lastActual)
        {
            _lastActual = actualMs;
            _lastResult = actualMs;
            return actualMs;
        }

        var distance = actualMs - scheduledMs;
        long result;
        if (_tolerance > 0 && distance >= -_tolerance && distance <= _tolerance && scheduledMs > _lastResult)
        {
            result = scheduledMs;
        }
        else
        {
            // Only after a forward snap can the previous result be at or past this time; it is at most
            // (previous actual + tolerance) < (this actual + tolerance), so previous + 1 is within the tolerance.
            result = actualMs > _lastResult ? actualMs : _lastResult + 1;
        }

        _lastActual = actualMs;
        _lastResult = result;
        return result;
    }
}
