namespace Metrics.Coordination.RemoteWrite;

/// <summary>
/// The desired shard count, computed the way Prometheus's queue manager does: the time one shard spends per sample
/// (send time / samples sent) times the rate samples must go out at (the ingestion rate plus a share of the backlog,
/// the backlog being the delay between the newest sample read and the newest sent), kept when within ±30 % of the
/// current count so the count does not flap. Rates are exponentially weighted (α = 0.2 per update).
/// </summary>
internal sealed class ShardCalculator(int minShards, int maxShards, TimeSpan updateInterval)
{
    private const double Alpha = 0.2;
    private const double Tolerance = 0.3;

    // Prometheus drains the backlog over 10 update intervals: integral gain 0.1 per interval, per second.
    private readonly double _integralGain = 0.1 / updateInterval.TotalSeconds;
    private double _inRate = double.NaN;
    private double _outRate = double.NaN;
    private double _durationRate = double.NaN;

    /// <summary>
    /// Feeds one interval's deltas and returns the desired shard count.
    /// </summary>
    /// <param name="current">Shards now.</param>
    /// <param name="samplesIn">Samples read from the WAL and queued during the interval.</param>
    /// <param name="samplesOut">Samples acknowledged during the interval.</param>
    /// <param name="sendSeconds">Seconds spent in requests during the interval, summed over shards.</param>
    /// <param name="delaySeconds">Newest read sample's timestamp minus newest sent sample's timestamp, in seconds.</param>
    public int Update(int current, long samplesIn, long samplesOut, double sendSeconds, double delaySeconds)
    {
        var seconds = updateInterval.TotalSeconds;
        _inRate = Ewma(_inRate, samplesIn / seconds);
        _outRate = Ewma(_outRate, samplesOut / seconds);
        _durationRate = Ewma(_durationRate, sendSeconds / seconds);
        if (_outRate <= 0 || double.IsNaN(_outRate))
        {
            return current;
        }

        var timePerSample = _durationRate / _outRate;
        var backlog = Math.Max(0, delaySeconds) * _inRate;
        var desired = timePerSample * (_inRate + (_integralGain * backlog));
        if (desired > current * (1 - Tolerance) && desired < current * (1 + Tolerance))
        {
            return current;
        }

        var rounded = double.IsFinite(desired) ? (int)Math.Min(Math.Ceiling(desired), int.MaxValue) : maxShards;
        return Math.Clamp(rounded, minShards, maxShards);
    }

    private static double Ewma(double old, double value) => double.IsNaN(old) ? value : (Alpha * value) + ((1 - Alpha) * old);
}
