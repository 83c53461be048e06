using System.Globalization;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;

namespace Metrics.Coordination.Rules.PromQL;

/// <summary>
/// Evaluates a tree over a grid of steps. Every node returns its value at all steps at once (instant vectors as
/// <see cref="StepSeries"/> with one slot per step), so each selector reads its series from the querier once per query.
/// </summary>
internal sealed partial class Evaluator
{
    private const string TooManySamples = "query processing would load too many samples into memory in query execution";

    private readonly IQuerier _querier;
    private readonly EngineSettings _s;
    private readonly long _queryStart;
    private readonly long _queryEnd;
    private readonly CancellationToken _ct;
    private readonly List<PromQLAnnotation> _annotations = [];
    private readonly HashSet<string> _annotationTexts = new(StringComparer.Ordinal);
    private readonly SampleBuffer _buffer = new();
    private ISampleIterator? _reuse;
    private long _currentSamples;
    private string _queryText = string.Empty;
    private string? _currentFunction;

    public Evaluator(IQuerier querier, EngineSettings settings, long queryStart, long queryEnd, CancellationToken cancellationToken)
    {
        _querier = querier;
        _s = settings;
        _queryStart = queryStart;
        _queryEnd = queryEnd;
        _ct = cancellationToken;
    }

    public PromQLResult Run(Expr root, in PromQLQuery query)
    {
        _queryText = query.Expression.Query;
        _isRangeQuery = !query.IsInstant;
        _queryStep = query.StepMs;
        if (query.IsInstant)
        {
            var t = query.StartMs;
            switch (root.Type)
            {
                case PromQLValueType.RangeVector:
                {
                    var m = EvalRangeVectorAt(root, t);
                    var series = FinishMatrix(m.Series);
                    return new PromQLResult(PromQLValueType.RangeVector, _annotations)
                    {
                        Matrix = series.ConvertAll(s => new PromQLSeries(s.Metric, ToPoints(s))),
                    };
                }

                case PromQLValueType.Scalar:
                {
                    var v = (ScalarValue)Eval(root, Grid.Single(t));
                    return new PromQLResult(PromQLValueType.Scalar, _annotations) { Scalar = v.Values[0], TimestampMs = t };
                }

                case PromQLValueType.String:
                    return new PromQLResult(PromQLValueType.String, _annotations) { String = ((StringValue)Eval(root, Grid.Single(t))).Text, TimestampMs = t };
                default:
                {
                    var v = (VectorValue)Eval(root, Grid.Single(t));
                    var series = FinishNames(v.Series);
                    var samples = new List<PromQLSample>(series.Count);
                    foreach (var s in series)
                    {
                        if (s.Present[0])
                        {
                            samples.Add(new PromQLSample(s.Metric, t, s.Values[0]));
                        }
                    }

                    return new PromQLResult(PromQLValueType.InstantVector, _annotations) { Vector = samples };
                }
            }
        }

        if (root.Type is not (PromQLValueType.Scalar or PromQLValueType.InstantVector))
        {
            throw new PromQLQueryException(
                PromQLErrorKind.Execution,
                $"invalid expression type \"{OpInfo.TypeName(root.Type)}\" for range query, must be Scalar or instant Vector");
        }

        var grid = new Grid(query.StartMs, query.EndMs, query.StepMs);
        var value = Eval(root, grid);
        var result = new List<PromQLSeries>();
        if (value is ScalarValue sv)
        {
            var points = new PromQLPoint[sv.Values.Length];
            for (var i = 0; i < points.Length; i++)
            {
                points[i] = new PromQLPoint(grid.Time(i), sv.Values[i]);
            }

            result.Add(new PromQLSeries(Labels.Empty, points));
        }
        else
        {
            foreach (var s in FinishNames(((VectorValue)value).Series))
            {
                if (s.PresentCount == 0)
                {
                    continue;
                }

                var points = new List<PromQLPoint>(s.PresentCount);
                for (var i = 0; i < s.Values.Length; i++)
                {
                    if (s.Present[i])
                    {
                        points.Add(new PromQLPoint(grid.Time(i), s.Values[i]));
                    }
                }

                result.Add(new PromQLSeries(s.Metric, points));
            }

            result.Sort((a, b) => LabelsComparer.Instance.Compare(a.Metric, b.Metric));
        }

        return new PromQLResult(PromQLValueType.RangeVector, _annotations) { Matrix = result };
    }

    private static PromQLPoint[] ToPoints(RangeSeries s)
    {
        var p = new PromQLPoint[s.Count];
        for (var i = 0; i < s.Count; i++)
        {
            p[i] = new PromQLPoint(s.T[i], s.F[i]);
        }

        return p;
    }

    /// <summary>Delayed name removal: drop <c>__name__</c> where marked, then merge series that became equal (an error if they overlap).</summary>
    private List<StepSeries> FinishNames(List<StepSeries> series)
    {
        if (!_s.DelayedNameRemoval || !series.Exists(s => s.DropName))
        {
            return series;
        }

        var byLabels = new Dictionary<Labels, StepSeries>();
        var result = new List<StepSeries>(series.Count);
        foreach (var s in series)
        {
            var metric = s.DropName ? RemoveName(s.Metric) : s.Metric;
            if (!byLabels.TryGetValue(metric, out var existing))
            {
                s.Metric = metric;
                s.DropName = false;
                byLabels.Add(metric, s);
                result.Add(s);
                continue;
            }

            for (var i = 0; i < s.Values.Length; i++)
            {
                if (!s.Present[i])
                {
                    continue;
                }

                if (existing.Present[i])
                {
                    throw new PromQLQueryException(PromQLErrorKind.Execution, "vector cannot contain metrics with the same labelset");
                }

                existing.Set(i, s.Values[i]);
            }
        }

        return result;
    }

    private List<RangeSeries> FinishMatrix(List<RangeSeries> series)
    {
        if (!_s.DelayedNameRemoval)
        {
            return series;
        }

        var seen = new HashSet<Labels>();
        foreach (var s in series)
        {
            if (s.DropName)
            {
                s.Metric = RemoveName(s.Metric);
                s.DropName = false;
            }

            if (!seen.Add(s.Metric))
            {
                throw new PromQLQueryException(PromQLErrorKind.Execution, "vector cannot contain metrics with the same labelset");
            }
        }

        return series;
    }

    /// <summary>Evaluates a node at every step of <paramref name="g"/>, accounting its samples against the limit.</summary>
    public Value Eval(Expr e, Grid g)
    {
        _ct.ThrowIfCancellationRequested();
        var before = _currentSamples;
        var v = EvalCore(e, g);
        _currentSamples = before + v.SampleCount;
        if (_currentSamples > _s.MaxSamples)
        {
            throw new PromQLQueryException(PromQLErrorKind.TooManySamples, TooManySamples);
        }

        return v;
    }

    private Value EvalCore(Expr e, Grid g)
    {
        switch (e)
        {
            case NumberLiteral n:
                return ScalarValue.Constant(n.Value, g.Count);
            case StringLiteral s:
                return new StringValue(s.Value);
            case ParenExpr p:
                return Eval(p.Inner, g);
            case StepInvariantExpr si:
                return Eval(si.Expr, g);
            case UnaryExpr u:
                return EvalUnary(u, g);
            case BinaryExpr b:
                return EvalBinary(b, g);
            case AggregateExpr a:
                return EvalAggregate(a, g);
            case Call c:
                return EvalCall(c, g);
            case VectorSelector vs:
                return EvalVectorSelector(vs, g, timestamps: false);
            case MatrixSelector or SubqueryExpr:
                if (g.Count != 1)
                {
                    throw new PromQLQueryException(PromQLErrorKind.Execution, "range vectors can only be evaluated at a single instant");
                }

                return EvalRangeVectorAt(e, g.Start);
            default:
                throw new PromQLQueryException(PromQLErrorKind.Execution, $"unhandled expression of type {e.GetType().Name}");
        }
    }

    private Value EvalUnary(UnaryExpr u, Grid g)
    {
        var v = Eval(u.Operand, g);
        if (!u.Negate)
        {
            return v;
        }

        if (v is ScalarValue sv)
        {
            var r = new double[sv.Values.Length];
            for (var i = 0; i < r.Length; i++)
            {
                r[i] = -sv.Values[i];
            }

            return new ScalarValue(r);
        }

        var vec = (VectorValue)v;
        var builder = new SeriesBuilder(g.Count);
        foreach (var s in vec.Series)
        {
            var (metric, drop) = DropNameOf(s.Metric, s.DropName);
            var o = builder.Get(metric, drop);
            for (var i = 0; i < s.Values.Length; i++)
            {
                if (s.Present[i])
                {
                    if (o.Present[i])
                    {
                        throw new PromQLQueryException(PromQLErrorKind.Execution, "vector cannot contain metrics with the same labelset");
                    }

                    o.Set(i, -s.Values[i]);
                }
            }
        }

        return builder.ToValue();
    }

    /// <summary>The labels and drop flag of a result whose name goes: flagged with delayed removal, removed otherwise.</summary>
    private (Labels Metric, bool DropName) DropNameOf(Labels metric, bool alreadyDropped)
    {
        _ = alreadyDropped;
        return _s.DelayedNameRemoval ? (metric, true) : (RemoveName(metric), false);
    }

    /// <summary>The labels a dropped name takes with it: <c>__name__</c>, and with type-and-unit labels <c>__type__</c> and <c>__unit__</c>.</summary>
    private string[] NameLabels => _s.TypeAndUnitLabels ? TypeAndUnitNameLabels : OnlyName;

    private static readonly string[] OnlyName = [Labels.MetricName];

    private static readonly string[] TypeAndUnitNameLabels = [Labels.MetricName, "__type__", "__unit__"];

    private Labels RemoveName(Labels metric) => metric.Without(NameLabels);

    private long OffsetOf(ITimeModified m) => DurationExprs.Offset(m, _queryStep, _queryEnd - _queryStart);

    private long? ResolveAt(ITimeModified m) => m.AtKind switch
    {
        AtKind.Start => _queryStart,
        AtKind.End => _queryEnd,
        _ => m.AtMs,
    };

    private void CheckCancelled() => _ct.ThrowIfCancellationRequested();

    /// <summary>Reads one series' samples with lo ≤ t ≤ hi into the shared buffer.</summary>
    private SampleBuffer Fill(ISeries series, long lo, long hi, bool keepStale)
    {
        var buf = _buffer;
        buf.Clear();
        var it = series.Iterator(_reuse);
        _reuse = it;
        if (it.Seek(lo))
        {
            do
            {
                var t = it.Timestamp;
                if (t > hi)
                {
                    break;
                }

                var v = it.Value;
                if (keepStale || !StaleMarker.IsStale(v))
                {
                    buf.Add(t, v);
                }
            }
            while (it.Next());
        }

        if (it.Error is { } error)
        {
            throw new PromQLQueryException(PromQLErrorKind.Storage, "error reading series " + series.Labels + ": " + error.Message, error);
        }

        if (_currentSamples + buf.Count > _s.MaxSamples)
        {
            throw new PromQLQueryException(PromQLErrorKind.TooManySamples, TooManySamples);
        }

        return buf;
    }

    private IEnumerable<ISeries> Select(VectorSelector vs, long lo, long hi, long step, long range)
    {
        var hints = new SelectHints { Start = lo, End = hi, Step = step, Range = range, Function = _currentFunction };
        try
        {
            return _querier.Select(false, hints, vs.AllMatchers());
        }
        catch (StorageException ex)
        {
            throw new PromQLQueryException(PromQLErrorKind.Storage, ex.Message, ex);
        }
    }

    /// <summary>
    /// Instant-vector selector: at each step the latest sample in (ref − lookback, ref], unless it is a staleness
    /// marker. With <paramref name="timestamps"/>, the value is the sample's own timestamp in seconds (for <c>timestamp()</c>).
    /// </summary>
    private VectorValue EvalVectorSelector(VectorSelector vs, Grid g, bool timestamps)
    {
        var result = new List<StepSeries>();
        StreamVectorSelector(vs, g, timestamps, reuse: false, (_, _, _, values) => result.Add(values));
        return new VectorValue(result);
    }

    /// <summary>
    /// Instant-vector selector: at each step the latest sample in (ref − lookback, ref], unless it is a staleness
    /// marker. With <paramref name="timestamps"/>, the value is the sample's own timestamp in seconds (for <c>timestamp()</c>).
    /// Series without any sample in the steps are skipped. With <paramref name="reuse"/>, one buffer serves every series.
    /// </summary>
    private void StreamVectorSelector(VectorSelector vs, Grid g, bool timestamps, bool reuse, SeriesSink sink)
    {
        var at = ResolveAt(vs);
        var steps = g.Count;
        var lookback = _s.LookbackMs;
        var offset = OffsetOf(vs);
        var refMin = (at ?? g.Start) - offset;
        var refMax = (at ?? g.End) - offset;
        var scratch = reuse ? new StepSeries(Labels.Empty, false, steps) : null;
        var smoothed = vs.Mode == RangeMode.Smoothed;
        var readEnd = smoothed ? refMax + lookback : refMax;
        foreach (var series in Select(vs, refMin - lookback + 1, readEnd, g.Interval, 0))
        {
            CheckCancelled();
            var buf = Fill(series, refMin - lookback + 1, readEnd, keepStale: !smoothed);
            if (buf.Count == 0)
            {
                continue;
            }

            StepSeries? output = null;
            var j = -1;
            for (var i = 0; i < steps; i++)
            {
                var r = (at ?? g.Time(i)) - offset;
                while (j + 1 < buf.Count && buf.T[j + 1] <= r)
                {
                    j++;
                }

                if (j >= 0 && buf.T[j] > r - lookback && !StaleMarker.IsStale(buf.F[j]))
                {
                    var value = timestamps ? buf.T[j] / 1000.0 : buf.F[j];
                    if (smoothed && buf.T[j] != r && j + 1 < buf.Count && buf.T[j + 1] <= r + lookback)
                    {
                        // Linear interpolation towards the next sample (no counter handling for instant selectors).
                        var fraction = (double)(r - buf.T[j]) / (buf.T[j + 1] - buf.T[j]);
                        value = buf.F[j] + ((buf.F[j + 1] - buf.F[j]) * fraction);
                    }

                    if (output is null)
                    {
                        if (scratch is not null)
                        {
                            scratch.Reset();
                            scratch.Metric = series.Labels;
                            output = scratch;
                        }
                        else
                        {
                            output = new StepSeries(series.Labels, false, steps);
                        }
                    }

                    output.Set(i, value);
                }
            }

            if (output is not null)
            {
                sink(series.Labels, false, false, output);
            }
        }
    }

    /// <summary>
    /// Hands the series of an instant-vector expression to <paramref name="sink"/> one at a time. Selectors and
    /// range functions over a selector stream without building the whole vector (the buffer is reused); other
    /// expressions are evaluated first.
    /// </summary>
    private void StreamVector(Expr e, Grid g, SeriesSink sink)
    {
        var u = Unwrap(e);
        if (u is VectorSelector vs)
        {
            StreamVectorSelector(vs, g, timestamps: false, reuse: true, sink);
            return;
        }

        if (u is Call c && c.Function.Name != "absent_over_time" && c.Function.ArgTypes.Contains(PromQLValueType.RangeVector))
        {
            var mi = Array.IndexOf(c.Function.ArgTypes, PromQLValueType.RangeVector);
            if (StreamSafe(c, mi))
            {
                StreamRangeFunction(c, mi, g, sink);
                return;
            }
        }

        foreach (var s in ((VectorValue)Eval(e, g)).Series)
        {
            sink(s.Metric, s.DropName, false, s);
        }
    }

    /// <summary>
    /// Whether streaming a range function cannot hide a duplicate-label-set error: with delayed name removal or a
    /// name-keeping function the labels stay unique; otherwise only when the selector names a single metric.
    /// </summary>
    private bool StreamSafe(Call c, int matrixIndex)
    {
        if (_s.DelayedNameRemoval || c.Function.Name is "last_over_time" or "first_over_time")
        {
            return true;
        }

        return Unwrap(c.Args[matrixIndex]) is MatrixSelector { Vector: var v } &&
               (v.Name is not null || v.Matchers.Any(m => m.Name == Labels.MetricName && m.Type == MatchType.Equal));
    }

    /// <summary>Where the windows of a range-vector argument sit: at step time t the window is (ref − Range, ref] with ref = (At ?? t) − Offset.</summary>
    private readonly record struct RangeWindow(long? At, long Offset, long Range)
    {
        public long Ref(long t) => (At ?? t) - Offset;
    }

    private delegate void RangeSeriesCallback(Labels metric, bool dropName, long[] t, double[] f, int count);

    private RangeWindow WindowOf(Expr arg) => Unwrap(arg) switch
    {
        MatrixSelector ms => new RangeWindow(ResolveAt(ms.Vector), OffsetOf(ms.Vector), DurationExprs.Range(ms, _queryStep, _queryEnd - _queryStart)),
        SubqueryExpr sq => new RangeWindow(ResolveAt(sq), OffsetOf(sq), DurationExprs.Range(sq, _queryStep, _queryEnd - _queryStart)),
        _ => throw new PromQLQueryException(PromQLErrorKind.Execution, "expected a range vector selector or a subquery"),
    };

    /// <summary>Feeds each series of a range-vector expression (a matrix selector or a subquery) covering every window of the grid.</summary>
    private void ForEachRangeSeries(Expr arg, Grid g, RangeSeriesCallback callback)
    {
        arg = Unwrap(arg);
        var w = WindowOf(arg);
        switch (arg)
        {
            case MatrixSelector ms:
            {
                var vs = ms.Vector;
                var lo = w.Ref(g.Start) - w.Range + 1;
                var hi = w.Ref(g.End);
                if (vs.Mode != RangeMode.None)
                {
                    // anchored/smoothed also read the sample before each window (and smoothed the one after it).
                    lo -= _s.LookbackMs;
                    hi += vs.Mode == RangeMode.Smoothed ? _s.LookbackMs : 0;
                }

                foreach (var series in Select(vs, lo, hi, g.Interval, w.Range))
                {
                    CheckCancelled();
                    var buf = Fill(series, lo, hi, keepStale: false);
                    callback(series.Labels, false, buf.T, buf.F, buf.Count);
                }

                return;
            }

            case SubqueryExpr sq:
            {
                var (inner, innerGrid) = EvalSubqueryInner(sq, w, g);
                foreach (var s in inner.Series)
                {
                    CheckCancelled();
                    var buf = _buffer;
                    buf.Clear();
                    for (var i = 0; i < s.Values.Length; i++)
                    {
                        if (s.Present[i])
                        {
                            buf.Add(innerGrid.Time(i), s.Values[i]);
                        }
                    }

                    callback(s.Metric, s.DropName, buf.T, buf.F, buf.Count);
                }

                return;
            }
        }
    }

    /// <summary>
    /// Evaluates a subquery's inner expression once, on the grid of multiples of its step that covers every window
    /// (ref − range, ref] of the outer steps.
    /// </summary>
    private (VectorValue Inner, Grid InnerGrid) EvalSubqueryInner(SubqueryExpr sq, RangeWindow w, Grid outer)
    {
        var step = DurationExprs.Step(sq, _queryStep, _queryEnd - _queryStart);
        if (step == 0)
        {
            step = _s.DefaultSubqueryStepMs;
        }

        var lowest = w.Ref(outer.Start) - w.Range;

        // The first multiple of the step strictly after the window start (windows are left-open).
        var start = step * (lowest / step);
        if (start <= lowest)
        {
            start += step;
        }

        var end = w.Ref(outer.End);
        if (start > end)
        {
            return (new VectorValue([]), new Grid(start, start, step));
        }

        var innerGrid = new Grid(start, end - ((end - start) % step), step);
        var saved = _currentFunction;
        _currentFunction = null;
        var v = (VectorValue)Eval(sq.Expr, innerGrid);
        _currentFunction = saved;
        return (v, innerGrid);
    }

    /// <summary>An instant query of a range-vector expression: the raw samples of each window at <paramref name="t"/>.</summary>
    private MatrixValue EvalRangeVectorAt(Expr e, long t)
    {
        var g = Grid.Single(t);
        var result = new List<RangeSeries>();
        var w = WindowOf(e);
        ForEachRangeSeries(e, g, (metric, dropName, ts, fs, count) =>
        {
            var r = w.Ref(t);
            var lo = 0;
            while (lo < count && ts[lo] <= r - w.Range)
            {
                lo++;
            }

            var hi = lo;
            while (hi < count && ts[hi] <= r)
            {
                hi++;
            }

            if (hi > lo)
            {
                result.Add(new RangeSeries(metric, dropName, ts[lo..hi], fs[lo..hi], hi - lo));
            }
        });

        return new MatrixValue(result);
    }

    private static Expr Unwrap(Expr e)
    {
        while (true)
        {
            switch (e)
            {
                case ParenExpr p:
                    e = p.Inner;
                    break;
                case StepInvariantExpr s:
                    e = s.Expr;
                    break;
                default:
                    return e;
            }
        }
    }

    private void Annotate(PromQLAnnotationKind kind, string message, PositionRange position)
    {
        var (line, col) = PromQLParseException.LineColumn(_queryText, Math.Clamp(position.Start, 0, _queryText.Length));
        var text = string.Create(CultureInfo.InvariantCulture, $"PromQL {(kind == PromQLAnnotationKind.Warning ? "warning" : "info")}: {message} ({line}:{col})");
        if (_annotationTexts.Add(text))
        {
            _annotations.Add(new PromQLAnnotation(kind, text));
        }
    }

    private void Warn(string message, PositionRange position) => Annotate(PromQLAnnotationKind.Warning, message, position);

    private void Info(string message, PositionRange position) => Annotate(PromQLAnnotationKind.Info, message, position);

    private static PromQLQueryException ExecError(string message) => new(PromQLErrorKind.Execution, message);
}
