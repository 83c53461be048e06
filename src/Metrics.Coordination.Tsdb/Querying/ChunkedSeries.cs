using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;

namespace Metrics.Coordination.Tsdb.Querying;

/// <summary>A series backed by chunk metadata (head snapshot or block index entry).</summary>
internal sealed class ChunkedSeries : ISeries
{
    private readonly IReadOnlyList<ChunkMeta> _chunks;
    private readonly IChunkReader? _reader;
    private readonly long _mint;
    private readonly long _maxt;
    private readonly IReadOnlyList<(long MinTime, long MaxTime)>? _deleted;

    public ChunkedSeries(Labels labels, IReadOnlyList<ChunkMeta> chunks, IChunkReader? reader, long mint, long maxt, IReadOnlyList<(long MinTime, long MaxTime)>? deleted = null)
    {
        _deleted = deleted;
        Labels = labels;
        _chunks = chunks;
        _reader = reader;
        _mint = mint;
        _maxt = maxt;
    }

    /// <inheritdoc />
    public Labels Labels { get; }

    /// <summary>The chunks, oldest first.</summary>
    public IReadOnlyList<ChunkMeta> Chunks => _chunks;

    /// <inheritdoc />
    public ISampleIterator Iterator(ISampleIterator? reuse = null)
    {
        var it = reuse as ChunkSeriesIterator ?? new ChunkSeriesIterator();
        it.Reset(_chunks, _reader, _mint, _maxt, _deleted);
        return it;
    }
}
