namespace Metrics.Coordination.Tsdb.Querying;

/// <summary>
/// Where a chunk's bytes are and what time range it covers. Head chunks carry their bytes (<see cref="Data"/>);
/// block chunks carry a reference the block's chunk reader resolves.
/// </summary>
/// <param name="MinTime">First sample's timestamp.</param>
/// <param name="MaxTime">Last sample's timestamp.</param>
/// <param name="Data">The chunk's bytes (count header included) for head chunks, or null.</param>
/// <param name="Length">How many bytes of <paramref name="Data"/> are the chunk.</param>
/// <param name="Count">How many samples to decode (a head chunk still growing), or −1 for the header's count.</param>
/// <param name="Ref">The block chunk reference ((segment index &lt;&lt; 32) | offset), when <paramref name="Data"/> is null.</param>
internal readonly record struct ChunkMeta(long MinTime, long MaxTime, byte[]? Data, int Length, int Count, ulong Ref)
{
    /// <summary>A block chunk, read through its reference.</summary>
    public static ChunkMeta ForBlock(long minTime, long maxTime, ulong reference) => new(minTime, maxTime, null, 0, -1, reference);

    /// <summary>Whether the chunk overlaps [<paramref name="mint"/>, <paramref name="maxt"/>].</summary>
    public bool Overlaps(long mint, long maxt) => MinTime <= maxt && MaxTime >= mint;
}

/// <summary>Resolves block chunk references to bytes.</summary>
internal interface IChunkReader
{
    /// <summary>
    /// The chunk's data (count header first, as stored after the encoding byte) for <paramref name="reference"/>;
    /// valid until the reader is released. Throws <see cref="TsdbCorruptionException"/> for a bad reference or CRC.
    /// </summary>
    ReadOnlySpan<byte> Chunk(ulong reference);
}
