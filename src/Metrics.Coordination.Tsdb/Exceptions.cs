using Metrics.Coordination.Abstractions.Storage;

namespace Metrics.Coordination.Tsdb;

/// <summary>Why the database refused a sample.</summary>
public enum SampleRejectionReason
{
    /// <summary>Older than the series' newest sample (Prometheus: "out of order sample").</summary>
    OutOfOrder,

    /// <summary>Same timestamp as the series' newest sample but different value bits ("duplicate sample for timestamp").</summary>
    DuplicateTimestamp,

    /// <summary>Before the head's appendable window: the range already persisted, or more than half a block range before the newest sample ("out of bounds").</summary>
    OutOfBounds,

    /// <summary>The label set is empty (after dropping empty values) or otherwise unusable.</summary>
    InvalidLabels,
}

/// <summary>The database refused one sample; the rest of the batch is unaffected. Each refusal is also counted in <see cref="TsdbStatistics"/>.</summary>
public sealed class SampleRejectedException : StorageException
{
    /// <summary>Creates the exception.</summary>
    public SampleRejectedException(SampleRejectionReason reason, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
    }

    /// <summary>Why the sample was refused.</summary>
    public SampleRejectionReason Reason { get; }
}

/// <summary>A file of the database failed a check (magic, version, length, checksum); names the file and the offset.</summary>
public sealed class TsdbCorruptionException : StorageException
{
    /// <summary>Creates the exception.</summary>
    public TsdbCorruptionException(string path, long offset, string message, Exception? innerException = null)
        : base($"{path} at offset {offset}: {message}", innerException)
    {
        Path = path;
        Offset = offset;
    }

    /// <summary>The corrupt file.</summary>
    public string Path { get; }

    /// <summary>The byte offset of the corrupt structure in <see cref="Path"/>.</summary>
    public long Offset { get; }
}
