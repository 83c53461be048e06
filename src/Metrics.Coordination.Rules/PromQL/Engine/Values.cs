using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Rules.PromQL;

/// <summary>The evaluation steps: <see cref="Start"/>, Start + Interval, ... ≤ <see cref="End"/>; one step when Interval is 0.</summary>
internal readonly record struct Grid(long Start, long End, long Interval)
{
    public int Count => Interval == 0 ? 1 : checked((int)((End - Start) / Interval) + 1);

    public long Time(int i) => Start + (i * Interval);

    public static Grid Single(long t) => new(t, t, 0);
}

internal abstract class Value
{
    /// <summary>Samples this value holds, for the max-samples limit.</summary>
    public abstract long SampleCount { get; }
}

/// <summary>A scalar per step.</summary>
internal sealed class ScalarValue(double[] values) : Value
{
    public double[] Values { get; } = values;

    public override long SampleCount => Values.Length;

    public static ScalarValue Constant(double v, int steps)
    {
        var a = new double[steps];
        Array.Fill(a, v);
        return new ScalarValue(a);
    }
}

internal sealed class StringValue(string text) : Value
{
    public string Text { get; } = text;

    public override long SampleCount => 1;
}

/// <summary>One series of an instant vector evaluated over the steps: a value where <see cref="Present"/> is set.</summary>
internal sealed class StepSeries
{
    public StepSeries(Labels metric, bool dropName, int steps)
    {
        Metric = metric;
        DropName = dropName;
        Values = new double[steps];
        Present = new bool[steps];
    }

    public Labels Metric { get; set; }

    /// <summary>Delayed name removal: the name is still here but goes when the query finishes.</summary>
    public bool DropName { get; set; }

    public double[] Values { get; }

    public bool[] Present { get; }

    public int PresentCount { get; private set; }

    /// <summary>Empties the series for reuse as a scratch buffer.</summary>
    public void Reset()
    {
        Array.Clear(Present);
        PresentCount = 0;
    }

    public void Set(int step, double value)
    {
        if (!Present[step])
        {
            Present[step] = true;
            PresentCount++;
        }

        Values[step] = value;
    }
}

/// <summary>An instant vector over the steps: series in evaluation order.</summary>
internal sealed class VectorValue(List<StepSeries> series) : Value
{
    public List<StepSeries> Series { get; } = series;

    public override long SampleCount
    {
        get
        {
            long n = 0;
            foreach (var s in Series)
            {
                n += s.PresentCount;
            }

            return n;
        }
    }
}

/// <summary>A series of raw points (a range vector window, or a subquery's inner result).</summary>
internal sealed class RangeSeries(Labels metric, bool dropName, long[] t, double[] f, int count)
{
    public Labels Metric { get; set; } = metric;

    public bool DropName { get; set; } = dropName;

    public long[] T { get; } = t;

    public double[] F { get; } = f;

    public int Count { get; } = count;
}

/// <summary>A range vector at one instant (only instant queries return these directly).</summary>
internal sealed class MatrixValue(List<RangeSeries> series) : Value
{
    public List<RangeSeries> Series { get; } = series;

    public override long SampleCount => Series.Sum(s => (long)s.Count);
}

/// <summary>Collects output series by label set; a second sample for the same labels at one step is an error.</summary>
internal sealed class SeriesBuilder(int steps)
{
    private readonly Dictionary<Labels, StepSeries> _byLabels = [];

    public List<StepSeries> Series { get; } = [];

    public StepSeries Get(Labels metric, bool dropName)
    {
        if (!_byLabels.TryGetValue(metric, out var s))
        {
            s = new StepSeries(metric, dropName, steps);
            _byLabels.Add(metric, s);
            Series.Add(s);
        }
        else if (dropName)
        {
            s.DropName = true;
        }

        return s;
    }

    public void Add(Labels metric, bool dropName, int step, double value)
    {
        var s = Get(metric, dropName);
        if (s.Present[step])
        {
            throw new PromQLQueryException(PromQLErrorKind.Execution, "vector cannot contain metrics with the same labelset");
        }

        s.Set(step, value);
    }

    public VectorValue ToValue() => new(Series);
}

/// <summary>A reusable growable buffer of samples for one series at a time.</summary>
internal sealed class SampleBuffer
{
    public long[] T { get; private set; } = new long[256];

    public double[] F { get; private set; } = new double[256];

    public int Count { get; set; }

    public void Clear() => Count = 0;

    public void Add(long t, double f)
    {
        if (Count == T.Length)
        {
            var n = T.Length * 2;
            var nt = new long[n];
            var nf = new double[n];
            Array.Copy(T, nt, Count);
            Array.Copy(F, nf, Count);
            T = nt;
            F = nf;
        }

        T[Count] = t;
        F[Count] = f;
        Count++;
    }
}

/// <summary>Label-set ordering as Prometheus sorts results: label by label, name then value, ordinal.</summary>
internal sealed class LabelsComparer : IComparer<Labels>
{
    public static readonly LabelsComparer Instance = new();

    public int Compare(Labels? x, Labels? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null)
        {
            return -1;
        }

        if (y is null)
        {
            return 1;
        }

        var a = x.AsSpan();
        var b = y.AsSpan();
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            var c = string.CompareOrdinal(a[i].Name, b[i].Name);
            if (c != 0)
            {
                return c;
            }

            c = string.CompareOrdinal(a[i].Value, b[i].Value);
            if (c != 0)
            {
                return c;
            }
        }

        return a.Length.CompareTo(b.Length);
    }
}
