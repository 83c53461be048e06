using System.Diagnostics;
using System.Runtime.CompilerServices;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Registry;

/// <summary>A monotonically increasing count, exposed as <c>name_total</c> (and <c>name_created</c> in OpenMetrics).</summary>
public sealed class Counter : Metric<CounterSeries>
{
    internal Counter(MetricRegistry registry, string name, string help, CounterOptions options)
        : base(registry, name, help, MetricType.Counter, options, string.Empty)
    {
        var behavior = options.ExemplarBehavior ?? registry.ExemplarBehavior;
        if (behavior is not (ExemplarBehavior.None or ExemplarBehavior.TraceContext))
        {
            throw new ArgumentOutOfRangeException(nameof(options), behavior, $"Unknown exemplar behavior for counter '{name}'.");
        }

        TraceExemplars = behavior == ExemplarBehavior.TraceContext;
        if (TraceExemplars)
        {
            ActivityLatch.Arm();
        }
    }

    /// <summary>Whether plain increments attach the current activity's trace context as an exemplar.</summary>
    internal bool TraceExemplars { get; }

    /// <summary>Adds one (metric without labels).</summary>
    public void Inc() => Unlabeled.Inc();

    /// <summary>Adds <paramref name="amount"/>, which must be non-negative (metric without labels).</summary>
    public void Inc(double amount) => Unlabeled.Inc(amount);

    /// <summary>Adds <paramref name="amount"/> with an exemplar of that value (metric without labels); see <see cref="CounterSeries.Inc(double, Labels)"/>.</summary>
    public void Inc(double amount, Labels exemplarLabels) => Unlabeled.Inc(amount, exemplarLabels);

    /// <summary>Adds <paramref name="amount"/> and stores <paramref name="exemplar"/> (metric without labels); see <see cref="CounterSeries.Inc(double, Exemplar)"/>.</summary>
    public void Inc(double amount, Exemplar exemplar) => Unlabeled.Inc(amount, exemplar);

    /// <summary>The current value (metric without labels).</summary>
    public double Value => Unlabeled.Value;

    internal override IEnumerable<string> ReservedNames => [Name, Name + "_total", Name + "_created"];

    private protected override CounterSeries CreateSeries(string[] labelValues, int hash, bool isOverflow) => new(this, labelValues, hash, isOverflow);

    private protected override FamilyEncoding BuildEncoding(ExpositionFormat format, NameEscaping escaping) => new()
    {
        // Prometheus text names the family after its sample (foo_total); OpenMetrics names it without the suffix.
        MetadataName = Encode(format == ExpositionFormat.PrometheusText ? Name + "_total" : Name, escaping),
        SampleName = Encode(Name + "_total", escaping),
        CreatedName = Encode(Name + "_created", escaping),
    };
}

/// <summary>One series of a <see cref="Counter"/>.</summary>
public sealed class CounterSeries : MetricSeries
{
    // Whole increments go to a 64-bit integer (one atomic add, exact to 2^63); fractional ones to a double updated
    // with compare-and-swap. The value is their sum.
    private long _whole;
    private double _fraction;

    // Copied from the metric so the hot path reads one field of this object; the slot is created with the first exemplar.
    private readonly bool _traceExemplars;
    private ExemplarSlot? _exemplar;

    internal CounterSeries(Counter metric, string[] labelValues, int hash, bool isOverflow)
        : base(metric, labelValues, hash, isOverflow)
    {
        _traceExemplars = metric.TraceExemplars;
    }

    /// <summary>The current value.</summary>
    public double Value => Volatile.Read(ref _whole) + Volatile.Read(ref _fraction);

    internal override long ChangeStamp => Volatile.Read(ref _whole) ^ BitConverter.DoubleToInt64Bits(Volatile.Read(ref _fraction));

    /// <summary>
    /// Adds one. Inside a recorded activity (and unless the counter's <see cref="ExemplarBehavior"/> is
    /// <see cref="ExemplarBehavior.None"/>) the activity's trace and span ids become the exemplar, rate-limited.
    /// </summary>
    public void Inc()
    {
        Interlocked.Increment(ref _whole);
        if (_traceExemplars && ActivityLatch.IsOpen)
        {
            OfferCurrentActivity(1);
        }
    }

    /// <summary>Adds a non-negative whole amount (with the automatic exemplar of <see cref="Inc()"/>).</summary>
    public void Inc(long amount)
    {
        if (amount < 0)
        {
            ThrowNegative(amount);
        }

        Interlocked.Add(ref _whole, amount);
        if (_traceExemplars && ActivityLatch.IsOpen)
        {
            OfferCurrentActivity(amount);
        }
    }

    /// <summary>Adds <paramref name="amount"/>, which must be non-negative and not NaN (with the automatic exemplar of <see cref="Inc()"/>).</summary>
    public void Inc(double amount)
    {
        Add(amount);
        if (_traceExemplars && ActivityLatch.IsOpen)
        {
            OfferCurrentActivity(amount);
        }
    }

    /// <summary>Adds one, with an exemplar of value 1 and the registry clock's time.</summary>
    /// <param name="exemplarLabels">The exemplar labels (such as <c>trace_id</c>): valid names, at most 128 characters of names and values together.</param>
    /// <exception cref="ArgumentException">The exemplar labels break the OpenMetrics rules (the message says which).</exception>
    public void Inc(Labels exemplarLabels) => Inc(1, exemplarLabels);

    /// <summary>
    /// Adds <paramref name="amount"/>, with an exemplar of that value and the registry clock's time, replacing the
    /// previous exemplar (written in OpenMetrics on the <c>_total</c> line).
    /// </summary>
    /// <param name="amount">The non-negative amount.</param>
    /// <param name="exemplarLabels">The exemplar labels (such as <c>trace_id</c>): valid names, at most 128 characters of names and values together.</param>
    /// <exception cref="ArgumentException">The exemplar labels break the OpenMetrics rules (the message says which).</exception>
    public void Inc(double amount, Labels exemplarLabels)
    {
        Exemplars.Validate(Metric, exemplarLabels, nameof(exemplarLabels));
        Add(amount);
        Exemplars.GetOrCreate(ref _exemplar).Write(exemplarLabels, amount, Metric.Registry.NowMs());
    }

    /// <summary>
    /// Adds <paramref name="amount"/> and stores <paramref name="exemplar"/> as given (its value need not equal the
    /// amount); an exemplar without a timestamp gets the registry clock's time, so scrapers do not see it as new on
    /// every scrape.
    /// </summary>
    /// <exception cref="ArgumentException">The exemplar labels break the OpenMetrics rules (the message says which).</exception>
    public void Inc(double amount, Exemplar exemplar)
    {
        ArgumentNullException.ThrowIfNull(exemplar);
        Exemplars.Validate(Metric, exemplar.Labels, nameof(exemplar));
        Add(amount);
        Exemplars.GetOrCreate(ref _exemplar).Write(exemplar.Labels, exemplar.Value, exemplar.TimestampMs ?? Metric.Registry.NowMs());
    }

    /// <summary>Raises the value to <paramref name="target"/> if it is lower (for counters mirrored from another source).</summary>
    public void IncTo(double target)
    {
        var current = Value;
        if (target > current)
        {
            Inc(target - current);
        }
    }

    /// <summary>The exemplar the next OpenMetrics scrape writes, or null.</summary>
    public Exemplar? Exemplar => Volatile.Read(ref _exemplar)?.Read();

    private void Add(double amount)
    {
        if (!(amount >= 0))
        {
            ThrowNegative(amount);
        }

        // 2^53: above it a double no longer holds every integer, so the long path would not be exact anyway.
        if (amount < 9007199254740992.0 && amount == Math.Floor(amount))
        {
            Interlocked.Add(ref _whole, (long)amount);
            return;
        }

        AddFraction(amount);
    }

    // Out of line, so the hot path stays a flag check and a tail call.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void OfferCurrentActivity(double value)
    {
        if (Activity.Current is { } activity && Exemplars.IsCapturable(activity))
        {
            Exemplars.Capture(Exemplars.GetOrCreate(ref _exemplar), activity, value, Metric.Registry);
        }
    }

    private void AddFraction(double amount)
    {
        var current = Volatile.Read(ref _fraction);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref _fraction, current + amount, current);
            if (BitConverter.DoubleToInt64Bits(seen) == BitConverter.DoubleToInt64Bits(current))
            {
                return;
            }

            current = seen;
        }
    }

    private void ThrowNegative(double amount) => throw new ArgumentOutOfRangeException(
        nameof(amount), amount, $"Counter '{Metric.Name}' can only increase; got {amount}.");

    internal override void Write(ExpositionWriter writer, FamilyEncoding encoding)
    {
        var pairs = EncodedPairs(writer.Escaping);
        var exemplar = writer.Format == ExpositionFormat.OpenMetrics ? Volatile.Read(ref _exemplar)?.Read() : null;
        writer.WriteSample(encoding.SampleName, pairs, default, Value, null, exemplar);
        WriteCreated(writer, encoding, pairs);
    }
}
