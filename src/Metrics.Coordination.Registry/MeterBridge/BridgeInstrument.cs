using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;

namespace Metrics.Coordination.Registry;

/// <summary>How a measurement changes its series.</summary>
internal enum RecordMode
{
    /// <summary><c>Counter&lt;T&gt;.Add</c>: a non-negative increment (negative and NaN increments are dropped, as a counter cannot go down).</summary>
    Increment,

    /// <summary><c>UpDownCounter&lt;T&gt;.Add</c>: a signed increment of a gauge.</summary>
    Add,

    /// <summary>Gauges and every observable instrument: the measurement is the value (observable counters report totals).</summary>
    Set,

    /// <summary><c>Histogram&lt;T&gt;.Record</c>.</summary>
    Observe,
}

/// <summary>
/// The MeterListener state of one published instrument: where its measurements go. The listener hands it back on
/// every measurement, so the hot path needs no lookup to find the family.
/// </summary>
internal sealed class BridgeInstrument(Instrument instrument, BridgeFamily family, RecordMode mode, string? scopeName, string? scopeVersion)
{
    private int _released;

    public Instrument Instrument { get; } = instrument;

    public BridgeFamily Family { get; } = family;

    public RecordMode Mode { get; } = mode;

    public string? ScopeName { get; } = scopeName;

    public string? ScopeVersion { get; } = scopeVersion;

    /// <summary>Marks the instrument released; true only the first time (MeasurementsCompleted and a failed enable may both try).</summary>
    public bool TryRelease() => Interlocked.Exchange(ref _released, 1) == 0;

    public void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        switch (Mode)
        {
            case RecordMode.Increment:
                if (value >= 0)
                {
                    Unsafe.As<CounterSeries>(Family.Resolve(tags, this)).Inc(value);
                }

                break;
            case RecordMode.Add:
                Unsafe.As<GaugeSeries>(Family.Resolve(tags, this)).Inc(value);
                break;
            case RecordMode.Set:
                Unsafe.As<GaugeSeries>(Family.Resolve(tags, this)).Set(value);
                break;
            default:
                Unsafe.As<HistogramSeries>(Family.Resolve(tags, this)).Observe(value);
                break;
        }
    }

    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        switch (Mode)
        {
            case RecordMode.Increment:
                if (value >= 0)
                {
                    Unsafe.As<CounterSeries>(Family.Resolve(tags, this)).Inc(value);
                }

                break;
            case RecordMode.Add:
                Unsafe.As<GaugeSeries>(Family.Resolve(tags, this)).Inc(value);
                break;
            case RecordMode.Set:
                Unsafe.As<GaugeSeries>(Family.Resolve(tags, this)).Set(value);
                break;
            default:
                Unsafe.As<HistogramSeries>(Family.Resolve(tags, this)).Observe(value);
                break;
        }
    }
}
