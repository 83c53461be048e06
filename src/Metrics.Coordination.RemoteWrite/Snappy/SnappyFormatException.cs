namespace Metrics.Coordination.RemoteWrite;

/// <summary>What was wrong with a snappy block.</summary>
public enum SnappyError
{
    /// <summary>The uncompressed-length varint is missing, cut off, longer than 5 bytes, or too large.</summary>
    BadPreamble,

    /// <summary>An element (tag, length bytes, offset bytes or literal data) runs past the end of the input.</summary>
    Truncated,

    /// <summary>A copy has offset 0 or reaches before the start of the output.</summary>
    BadOffset,

    /// <summary>An element would write past the declared uncompressed length.</summary>
    OutputOverrun,

    /// <summary>The elements produce fewer bytes than the preamble declares.</summary>
    LengthMismatch,
}

/// <summary>A snappy block is malformed; <see cref="Offset"/> is the input offset of the bad element.</summary>
public sealed class SnappyFormatException : RemoteWriteException
{
    /// <summary>Creates the exception.</summary>
    public SnappyFormatException(SnappyError error, long offset, string message)
        : base($"Malformed snappy input at offset {offset}: {message}", isTransient: false)
    {
        Error = error;
        Offset = offset;
    }

    /// <summary>What was wrong.</summary>
    public SnappyError Error { get; }

    /// <summary>The input offset of the element (or preamble byte) at fault.</summary>
    public long Offset { get; }
}
