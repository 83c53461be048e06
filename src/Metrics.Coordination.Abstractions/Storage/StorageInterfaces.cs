using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Abstractions.Storage;

/// <summary>
/// An opaque, storage-assigned series reference. Appenders return it so a caller that appends to the same series again
/// can skip the label lookup (Prometheus's series-ref fast path). <see cref="None"/> means "unknown, look up by labels".
/// </summary>
/// <param name="Value">The storage's own number for the series.</param>
public readonly record struct SeriesRef(ulong Value)
{
    /// <summary>No reference: the storage looks the series up by its labels.</summary>
    public static readonly SeriesRef None;

    /// <summary>Whether this reference names a series.</summary>
    public bool IsSet => Value != 0;
}

/// <summary>
/// One sample to append. A struct of arguments rather than parameters so that appenders can grow (exemplars,
/// created timestamps, metadata) without new interfaces: Prometheus regrets its appender v1 to v2 migration.
/// </summary>
public readonly record struct AppendRequest
{
    /// <summary>A reference from an earlier append to the same series, or <see cref="SeriesRef.None"/>.</summary>
    public SeriesRef Ref { get; init; }

    /// <summary>The series labels, <c>__name__</c> included. Ignored when <see cref="Ref"/> is a live reference.</summary>
    public required Labels Labels { get; init; }

    /// <summary>Milliseconds since the Unix epoch.</summary>
    public required long TimestampMs { get; init; }

    /// <summary>The value; <see cref="StaleMarker.Value"/> marks the series stale.</summary>
    public required double Value { get; init; }

    /// <summary>An exemplar to store with the sample, or null.</summary>
    public Exemplar? Exemplar { get; init; }
}

/// <summary>The staleness marker: a NaN with a specific payload that Prometheus writes when a series disappears.</summary>
public static class StaleMarker
{
    /// <summary>The bits of the staleness NaN.</summary>
    public const ulong Bits = 0x7ff0000000000002UL;

    /// <summary>The staleness NaN.</summary>
    public static double Value => BitConverter.UInt64BitsToDouble(Bits);

    /// <summary>Whether <paramref name="value"/> is the staleness marker (compared by bits: other NaNs are not).</summary>
    public static bool IsStale(double value) => BitConverter.DoubleToUInt64Bits(value) == Bits;
}

/// <summary>A batch of appends committed or rolled back together.</summary>
public interface IAppender
{
    /// <summary>Adds a sample to the batch; returns the series reference to pass next time. Throws a storage exception for samples the storage refuses (out of order, duplicate timestamp with a different value).</summary>
    SeriesRef Append(in AppendRequest request);

    /// <summary>Makes the batch durable (as the storage's WAL policy says) and visible to queries.</summary>
    void Commit();

    /// <summary>Discards the batch.</summary>
    void Rollback();
}

/// <summary>Something samples can be appended to.</summary>
public interface IAppendable
{
    /// <summary>Starts a batch.</summary>
    IAppender Appender();
}

/// <summary>Hints for a select: what the caller will do with the data, so storage may skip work. All optional.</summary>
public readonly record struct SelectHints
{
    /// <summary>The earliest timestamp needed, in ms (inclusive).</summary>
    public long Start { get; init; }

    /// <summary>The latest timestamp needed, in ms (inclusive).</summary>
    public long End { get; init; }

    /// <summary>The query step in ms, or 0 for an instant query.</summary>
    public long Step { get; init; }

    /// <summary>The PromQL function wrapping the selector, if any (e.g. <c>rate</c>).</summary>
    public string? Function { get; init; }

    /// <summary>The range of a range selector in ms, or 0.</summary>
    public long Range { get; init; }
}

/// <summary>Iterates a series' samples in increasing timestamp order. Implementations may reuse buffers.</summary>
public interface ISampleIterator
{
    /// <summary>Advances to the next sample; false at the end.</summary>
    bool Next();

    /// <summary>Advances to the first sample with timestamp ≥ <paramref name="timestampMs"/> (never moves backwards); false if none.</summary>
    bool Seek(long timestampMs);

    /// <summary>The current sample's timestamp in ms.</summary>
    long Timestamp { get; }

    /// <summary>The current sample's value.</summary>
    double Value { get; }

    /// <summary>The error that stopped iteration early (e.g. a corrupt chunk), or null.</summary>
    Exception? Error { get; }
}

/// <summary>A series: its labels and its samples.</summary>
public interface ISeries
{
    /// <summary>The labels, <c>__name__</c> included.</summary>
    Labels Labels { get; }

    /// <summary>An iterator over the samples; pass a previous iterator to let the storage reuse it.</summary>
    ISampleIterator Iterator(ISampleIterator? reuse = null);
}

/// <summary>Reads series within a time range fixed when the querier was made.</summary>
public interface IQuerier : IDisposable
{
    /// <summary>The series matching every matcher, sorted by labels when <paramref name="sorted"/> is true.</summary>
    IEnumerable<ISeries> Select(bool sorted, SelectHints hints, params LabelMatcher[] matchers);

    /// <summary>The label names of series matching the matchers (all series when none), sorted.</summary>
    IReadOnlyList<string> LabelNames(params LabelMatcher[] matchers);

    /// <summary>The values of label <paramref name="name"/> on series matching the matchers, sorted.</summary>
    IReadOnlyList<string> LabelValues(string name, params LabelMatcher[] matchers);
}

/// <summary>Something that can be queried over a time range.</summary>
public interface IQueryable
{
    /// <summary>A querier for samples with <paramref name="minTimeMs"/> ≤ t ≤ <paramref name="maxTimeMs"/>.</summary>
    IQuerier Querier(long minTimeMs, long maxTimeMs);
}

/// <summary>A storage refused a sample (out of order, duplicate, too old, limit reached). Not transient.</summary>
public class StorageException : MetricsCoordinationException
{
    /// <summary>Creates the exception.</summary>
    public StorageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a cause.</summary>
    public StorageException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
