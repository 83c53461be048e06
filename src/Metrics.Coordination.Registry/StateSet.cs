using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Registry;

/// <summary>
/// An OpenMetrics state set: one line per state, labelled with the metric's own name
/// (<c>service_state{service_state="running"} 1</c>), 1 for active states. A gauge in Prometheus text.
/// </summary>
public sealed class StateSet : Metric<StateSetSeries>
{
    internal StateSet(MetricRegistry registry, string name, string help, MetricOptions options, string[] states)
        : base(registry, name, help, MetricType.StateSet, options, "states=" + string.Join(",", states))
    {
        States = states;
    }

    /// <summary>The states, in exposition order.</summary>
    public IReadOnlyList<string> States { get; }

    /// <summary>Makes <paramref name="state"/> the only active state (metric without labels).</summary>
    public void SetState(string state) => Unlabeled.SetState(state);

    internal override IEnumerable<string> ReservedNames => [Name];

    private protected override StateSetSeries CreateSeries(string[] labelValues, int hash, bool isOverflow) => new(this, labelValues, hash, isOverflow);

    private protected override FamilyEncoding BuildEncoding(ExpositionFormat format, NameEscaping escaping)
    {
        var pairs = new byte[States.Count][];
        for (var i = 0; i < pairs.Length; i++)
        {
            pairs[i] = ExpositionWriter.EncodeLabelPairs([Name], [States[i]], escaping);
        }

        return new FamilyEncoding
        {
            MetadataName = Encode(Name, escaping),
            SampleName = Encode(Name, escaping),
            BoundPairs = pairs,
        };
    }
}

/// <summary>One series of a <see cref="StateSet"/>.</summary>
public sealed class StateSetSeries : MetricSeries
{
    private readonly StateSet _set;
    private readonly int[] _active;

    internal StateSetSeries(StateSet metric, string[] labelValues, int hash, bool isOverflow)
        : base(metric, labelValues, hash, isOverflow)
    {
        _set = metric;
        _active = new int[metric.States.Count];
    }

    internal override long ChangeStamp
    {
        get
        {
            long stamp = 0;
            for (var i = 0; i < _active.Length; i++)
            {
                stamp = (stamp * 31) + Volatile.Read(ref _active[i]);
            }

            return stamp;
        }
    }

    /// <summary>Whether <paramref name="state"/> is active.</summary>
    public bool IsActive(string state) => Volatile.Read(ref _active[IndexOf(state)]) != 0;

    /// <summary>Sets whether <paramref name="state"/> is active, leaving the others as they are.</summary>
    public void Set(string state, bool active) => Volatile.Write(ref _active[IndexOf(state)], active ? 1 : 0);

    /// <summary>Makes <paramref name="state"/> the only active state.</summary>
    public void SetState(string state)
    {
        var index = IndexOf(state);
        for (var i = 0; i < _active.Length; i++)
        {
            Volatile.Write(ref _active[i], i == index ? 1 : 0);
        }
    }

    private int IndexOf(string state)
    {
        for (var i = 0; i < _set.States.Count; i++)
        {
            if (string.Equals(_set.States[i], state, StringComparison.Ordinal))
            {
                return i;
            }
        }

        throw new ArgumentException($"State set '{_set.Name}' has no state '{state}' (states: {string.Join(", ", _set.States)}).", nameof(state));
    }

    internal override void Write(ExpositionWriter writer, FamilyEncoding encoding)
    {
        var pairs = EncodedPairs(writer.Escaping);
        for (var i = 0; i < _active.Length; i++)
        {
            writer.WriteSample(encoding.SampleName, pairs, encoding.BoundPairs[i], Volatile.Read(ref _active[i]));
        }
    }
}
