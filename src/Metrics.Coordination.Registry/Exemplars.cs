using System.Diagnostics;
using System.Runtime.CompilerServices;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Registry;

/// <summary>Which exemplars counters and histograms attach by themselves, when no exemplar is passed explicitly.</summary>
public enum ExemplarBehavior
{
    /// <summary>Only exemplars passed explicitly (<c>Inc(amount, exemplarLabels)</c>, <c>Observe(value, exemplarLabels)</c>).</summary>
    None = 0,

    /// <summary>
    /// A plain <c>Inc()</c>/<c>Observe()</c> inside a recorded (sampled) W3C <see cref="Activity"/> attaches its
    /// <c>trace_id</c> and <c>span_id</c>, at most once per exemplar slot per <see cref="MetricRegistryOptions.AutomaticExemplarInterval"/>.
    /// In a process that has never had a current activity the cost is one flag check; afterwards, without a current
    /// activity, one read of <see cref="Activity.Current"/> and a null check.
    /// </summary>
    TraceContext,
}

/// <summary>
/// A one-way latch that opens the first time any <see cref="Activity"/> becomes current in the process. Reading
/// <see cref="Activity.Current"/> is an async-local lookup (measured 2–4 ns, more than the whole of <c>Inc()</c>),
/// so processes that never trace (batch jobs, most benchmarks) skip it with one static flag read. This caches a fact
/// about the process-wide <see cref="Activity.Current"/>, which is itself global; it holds no configuration. The
/// <see cref="Activity.CurrentChanged"/> handler unsubscribes once the latch is open, so it costs tracing nothing afterwards.
/// </summary>
internal static class ActivityLatch
{
    private static volatile bool _open;
    private static int _armed;

    /// <summary>Whether an activity has ever been current (so reading <see cref="Activity.Current"/> can find one).</summary>
    public static bool IsOpen => _open;

    /// <summary>Starts watching for activities; called when a metric with trace-context exemplars is created.</summary>
    public static void Arm()
    {
        if (_open || Interlocked.Exchange(ref _armed, 1) != 0)
        {
            return;
        }

        // Subscribe first, then look: an activity started in between is seen by one or the other.
        Activity.CurrentChanged += OnCurrentChanged;
        if (Activity.Current is not null)
        {
            Open();
        }
    }

    private static void OnCurrentChanged(object? sender, ActivityChangedEventArgs e) => Open();

    private static void Open()
    {
        _open = true;
        Activity.CurrentChanged -= OnCurrentChanged;
    }
}

/// <summary>
/// The latest exemplar of one counter series or one histogram bucket (OpenMetrics exposes at most one per sample
/// line; as client_golang, the latest wins). Fields are overwritten in place under a sequence lock, so recording an
/// exemplar allocates nothing once the slot exists: a writer that finds another writer busy drops its exemplar
/// (the other one is just as recent) instead of waiting, and the scrape retries its copy until it reads a
/// consistent one.
/// </summary>
internal sealed class ExemplarSlot
{
    // Odd while a writer is filling the fields; bumped by 2 per completed write.
    private int _sequence;
    private Labels? _labels;
    private string? _traceId;
    private string? _spanId;
    private double _value;
    private long _timestampMs;

    // The rate limit of automatic exemplars: the TimeProvider timestamp before which none is taken.
    private long _nextAutomatic = long.MinValue;

    // The exemplar built for the last scrape with the sequence it was built at (one object, so the pair is never
    // torn between concurrent scrapes), reused while the slot has not changed.
    private Built? _built;

    /// <summary>Whether an automatic exemplar may be taken at <paramref name="now"/>; if so, claims the slot until <c>now + interval</c>.</summary>
    public bool TryClaimAutomatic(long now, long intervalTicks)
    {
        var next = Volatile.Read(ref _nextAutomatic);
        return now >= next && Interlocked.CompareExchange(ref _nextAutomatic, now + intervalTicks, next) == next;
    }

    public void Write(Labels labels, double value, long timestampMs)
    {
        var seq = Volatile.Read(ref _sequence);
        if ((seq & 1) != 0 || Interlocked.CompareExchange(ref _sequence, seq + 1, seq) != seq)
        {
            return;
        }

        _labels = labels;
        _traceId = null;
        _spanId = null;
        _value = value;
        _timestampMs = timestampMs;
        Volatile.Write(ref _sequence, seq + 2);
    }

    public void Write(string traceId, string spanId, double value, long timestampMs)
    {
        var seq = Volatile.Read(ref _sequence);
        if ((seq & 1) != 0 || Interlocked.CompareExchange(ref _sequence, seq + 1, seq) != seq)
        {
            return;
        }

        _labels = null;
        _traceId = traceId;
        _spanId = spanId;
        _value = value;
        _timestampMs = timestampMs;
        Volatile.Write(ref _sequence, seq + 2);
    }

    /// <summary>The stored exemplar, or null when none was written yet. Scrape path: may allocate when the slot changed.</summary>
    public Exemplar? Read()
    {
        var spinner = default(SpinWait);
        while (true)
        {
            var seq = Volatile.Read(ref _sequence);
            if (seq == 0)
            {
                return null;
            }

            if ((seq & 1) == 0)
            {
                if (Volatile.Read(ref _built) is { } cached && cached.Sequence == seq)
                {
                    return cached.Exemplar;
                }

                var labels = _labels;
                var traceId = _traceId;
                var spanId = _spanId;
                var value = _value;
                var timestampMs = _timestampMs;
                Interlocked.MemoryBarrier();
                if (Volatile.Read(ref _sequence) == seq)
                {
                    var built = new Exemplar(
                        labels ?? Labels.FromStrings(Exemplars.SpanIdLabel, spanId!, Exemplars.TraceIdLabel, traceId!),
                        value,
                        timestampMs);

                    // Concurrent scrapes may each build; the cache holds whichever came last, paired with its sequence.
                    Volatile.Write(ref _built, new Built(seq, built));
                    return built;
                }
            }

            spinner.SpinOnce();
        }
    }

    private sealed record Built(int Sequence, Exemplar Exemplar);
}

/// <summary>Exemplar validation and the automatic trace-context capture shared by counters and histograms.</summary>
internal static class Exemplars
{
    public const string TraceIdLabel = "trace_id";
    public const string SpanIdLabel = "span_id";

    /// <summary>The slot at <paramref name="index"/>, created on first use (one allocation per slot, ever).</summary>
    public static ExemplarSlot GetOrCreate(ref ExemplarSlot?[]? slots, int count, int index)
    {
        var array = Volatile.Read(ref slots);
        if (array is null)
        {
            Interlocked.CompareExchange(ref slots, new ExemplarSlot?[count], null);
            array = Volatile.Read(ref slots)!;
        }

        return Volatile.Read(ref array[index]) ?? CreateSlot(ref array[index]);
    }

    public static ExemplarSlot GetOrCreate(ref ExemplarSlot? slot) => Volatile.Read(ref slot) ?? CreateSlot(ref slot);

    /// <summary>Whether <paramref name="activity"/> carries a trace context worth an exemplar: recorded (sampled) and W3C.</summary>
    public static bool IsCapturable(Activity activity) => activity.Recorded && activity.IdFormat == ActivityIdFormat.W3C;

    /// <summary>
    /// Takes the trace and span ids of <paramref name="activity"/> into <paramref name="slot"/> when the slot's rate
    /// limit allows. The ids are strings the activity already holds, so this allocates nothing.
    /// </summary>
    public static void Capture(ExemplarSlot slot, Activity activity, double value, MetricRegistry registry)
    {
        if (slot.TryClaimAutomatic(registry.Time.GetTimestamp(), registry.AutomaticExemplarIntervalTicks))
        {
            slot.Write(activity.TraceId.ToHexString(), activity.SpanId.ToHexString(), value, registry.NowMs());
        }
    }

    /// <summary>
    /// Checks an explicit exemplar label set against OpenMetrics: names valid under the registry's rule and not
    /// reserved, values valid UTF-8, names and values together at most <see cref="Exemplar.MaxLabelSetLength"/> code points.
    /// </summary>
    public static void Validate(Metric metric, Labels labels, string parameterName)
    {
        ArgumentNullException.ThrowIfNull(labels, parameterName);
        var legacy = metric.Registry.NameValidation == NameValidation.Legacy;
        var length = 0;
        foreach (ref readonly var label in labels.AsSpan())
        {
            var validName = legacy ? MetricNames.IsValidLegacyLabelName(label.Name) : MetricNames.IsValidUtf8Name(label.Name);
            if (!validName)
            {
                throw new ArgumentException(
                    $"Exemplar label name '{label.Name}' on metric '{metric.Name}' is not a valid {(legacy ? "legacy label name ([a-zA-Z_][a-zA-Z0-9_]*)" : "UTF-8 label name")}.",
                    parameterName);
            }

            if (label.Name.StartsWith("__", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Exemplar label name '{label.Name}' on metric '{metric.Name}' starts with '__', which is reserved for Prometheus.", parameterName);
            }

            if (!MetricNames.IsWellFormedUtf16(label.Value))
            {
                throw new ArgumentException($"Value of exemplar label '{label.Name}' on metric '{metric.Name}' is not valid UTF-8 text (it contains an unpaired surrogate).", parameterName);
            }

            length += CodePoints(label.Name) + CodePoints(label.Value);
        }

        if (length > Exemplar.MaxLabelSetLength)
        {
            throw new ArgumentException(
                $"Exemplar labels {labels} on metric '{metric.Name}' are {length} UTF-8 characters long; OpenMetrics allows at most {Exemplar.MaxLabelSetLength} for names and values together.",
                parameterName);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ExemplarSlot CreateSlot(ref ExemplarSlot? location)
    {
        Interlocked.CompareExchange(ref location, new ExemplarSlot(), null);
        return Volatile.Read(ref location)!;
    }

    private static int CodePoints(string s)
    {
        // Well-formed (checked above), so every low surrogate closes a pair that is one code point.
        var count = s.Length;
        foreach (var c in s)
        {
            if (char.IsLowSurrogate(c))
            {
                count--;
            }
        }

        return count;
    }
}
