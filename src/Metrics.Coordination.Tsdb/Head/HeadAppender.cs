using Metrics.Coordination.Abstractions.Storage;

namespace Metrics.Coordination.Tsdb.Head;

/// <summary>
/// A batch of samples for the head. <see cref="Append"/> validates each sample against the series' committed newest
/// sample and the batch's own earlier sample for that series: older ⇒ out of order, same time with different bits ⇒
/// duplicate, same time and bits ⇒ accepted and dropped (federation re-sends), before the head's appendable window ⇒
/// out of bounds. With an out-of-order window, an older sample no more than the window behind the head's newest (and
/// not in a persisted range) is accepted instead of refused, and stored out of order at commit.
/// <see cref="Commit"/> logs the batch to the WAL, then applies it.
/// </summary>
internal sealed class HeadAppender : IAppender
{
    private readonly Head _head;
    private readonly long _minValidTime;
    private readonly List<PendingSample> _samples;
    private readonly List<MemSeries> _newSeries = [];
    private bool _done;

    public HeadAppender(Head head, long minValidTime)
    {
        _head = head;
        _minValidTime = minValidTime;
        _samples = head.RentSampleBuffer();
    }

    /// <summary>Samples waiting for commit.</summary>
    public int PendingCount => _samples.Count;

    /// <inheritdoc />
    public SeriesRef Append(in AppendRequest request)
    {
        ObjectDisposedException.ThrowIf(_done, this);
        var t = request.TimestampMs;
        var window = _head.Options.OutOfOrderWindow;
        if (t < _minValidTime && (window == 0 || t < _head.OutOfOrderMinTime(_head.MaxTime)))
        {
            Interlocked.Increment(ref _head.Counters.OutOfBoundsSamples);
            throw new SampleRejectedException(
                SampleRejectionReason.OutOfBounds,
                window == 0
                    ? $"sample at {t} is out of bounds: the head accepts samples from {_minValidTime} on"
                    : $"sample at {t} is too old: the out-of-order window accepts samples from {_head.OutOfOrderMinTime(_head.MaxTime)} on");
        }

        MemSeries? series = null;
        if (request.Ref.IsSet)
        {
            series = _head.Series.GetByRef(request.Ref.Value);
        }

        if (series is null)
        {
            ArgumentNullException.ThrowIfNull(request.Labels);
            try
            {
                series = _head.GetOrCreate(request.Labels, out var created, owner: this);
                if (created)
                {
                    _newSeries.Add(series);
                }
            }
            catch (ArgumentException ex)
            {
                Interlocked.Increment(ref _head.Counters.InvalidSamples);
                throw new SampleRejectedException(SampleRejectionReason.InvalidLabels, ex.Message, ex);
            }
        }

        var v = BitConverter.DoubleToUInt64Bits(request.Value);

        // No lock: the batch's own earlier sample comes from the pending fields this appender wrote, the committed
        // newest sample from a sequence-locked read. Another appender racing on the same series can at worst make this
        // check pass a sample that the commit then refuses as out of order (counted there), as in Prometheus.
        long lastT;
        ulong lastV;
        if (ReferenceEquals(series.PendingOwner, this))
        {
            lastT = series.PendingTime;
            lastV = series.PendingValueBits;
        }
        else
        {
            (lastT, lastV) = series.ReadLast();
        }

        if (lastT != long.MinValue)
        {
            if (t < lastT && window > 0 && t >= _head.OutOfOrderMinTime(_head.MaxTime))
            {
                // Within the out-of-order window: stored out of order at commit (unless the series has that time
                // already). The pending newest sample stays what it was.
                if (!ReferenceEquals(series.PendingOwner, this))
                {
                    series.PendingTime = lastT;
                    series.PendingValueBits = lastV;
                    series.PendingOwner = this;
                }

                _samples.Add(new PendingSample(series, t, v));
                return new SeriesRef(series.Ref);
            }

            if (t < lastT)
            {
                Interlocked.Increment(ref _head.Counters.OutOfOrderSamples);
                throw new SampleRejectedException(SampleRejectionReason.OutOfOrder, $"out of order sample for {series.Labels}: {t} is before the newest sample at {lastT}");
            }

            if (t == lastT)
            {
                if (v != lastV)
                {
                    Interlocked.Increment(ref _head.Counters.DuplicateSamples);
                    throw new SampleRejectedException(SampleRejectionReason.DuplicateTimestamp, $"duplicate sample for timestamp {t} of {series.Labels} with a different value");
                }

                // An exact duplicate: accepted, nothing to store.
                return new SeriesRef(series.Ref);
            }
        }

        series.PendingTime = t;
        series.PendingValueBits = v;
        series.PendingOwner = this;
        _samples.Add(new PendingSample(series, t, v));
        return new SeriesRef(series.Ref);
    }

    /// <inheritdoc />
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        _done = true;
        try
        {
            var token = _head.Commit(this, _newSeries, _samples);
            if (token >= 0)
            {
                _head.Log!.Sync(token);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ClearPending();
            throw new StorageException("Writing the WAL failed; the batch was not committed: " + ex.Message, ex);
        }
        finally
        {
            ReleaseNewSeries();
            _head.ReturnSampleBuffer(_samples);
        }
    }

    /// <inheritdoc />
    public void Rollback()
    {
        if (_done)
        {
            return;
        }

        _done = true;
        ClearPending();
        _head.ReturnSampleBuffer(_samples);
        if (_newSeries.Count > 0 && _head.Log is { } log)
        {
            // The series stay in the head (Prometheus keeps them too), so the WAL must know them.
            try
            {
                _head.Commit(this, _newSeries, []);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new StorageException("Writing the WAL failed during rollback: " + ex.Message, ex);
            }
        }
    }

    private void ReleaseNewSeries()
    {
        foreach (var s in _newSeries)
        {
            lock (s)
            {
                if (ReferenceEquals(s.PendingOwner, this))
                {
                    s.PendingOwner = null;
                }
            }
        }
    }

    private void ClearPending()
    {
        ReleaseNewSeries();

        foreach (var p in _samples)
        {
            lock (p.Series)
            {
                if (ReferenceEquals(p.Series.PendingOwner, this))
                {
                    p.Series.PendingOwner = null;
                }
            }
        }

        _samples.Clear();
    }
}
