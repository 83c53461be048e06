using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;

namespace Metrics.Coordination.Rules.PromQL.Testing;

/// <summary>A series over sorted timestamp and value arrays (the in-memory storages' and the engine benchmarks' series).</summary>
internal sealed class ArraySeries(Labels labels, long[] t, double[] v) : ISeries
{
    public Labels Labels { get; } = labels;

    public ISampleIterator Iterator(ISampleIterator? reuse = null)
    {
        if (reuse is ArraySampleIterator it)
        {
            it.Reset(t, v);
            return it;
        }

        return new ArraySampleIterator(t, v);
    }
}

/// <summary>An iterator over sorted arrays; reused through <see cref="Reset"/> when the engine passes it back.</summary>
internal sealed class ArraySampleIterator(long[] t, double[] v) : ISampleIterator
{
    private long[] _t = t;
    private double[] _v = v;
    private int _i = -1;

    public long Timestamp => _t[_i];

    public double Value => _v[_i];

    public Exception? Error => null;

    public void Reset(long[] t, double[] v)
    {
        _t = t;
        _v = v;
        _i = -1;
    }

    public bool Next()
    {
        if (_i < _t.Length)
        {
            _i++;
        }

        return _i < _t.Length;
    }

    public bool Seek(long timestampMs)
    {
        if (_i < 0)
        {
            _i = 0;
        }

        if (_i >= _t.Length)
        {
            return false;
        }

        if (_t[_i] >= timestampMs)
        {
            return true;
        }

        var idx = Array.BinarySearch(_t, _i, _t.Length - _i, timestampMs);
        _i = idx >= 0 ? idx : ~idx;
        return _i < _t.Length;
    }
}
