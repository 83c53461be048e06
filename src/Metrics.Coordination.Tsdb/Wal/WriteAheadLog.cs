using System.Globalization;
using Metrics.Coordination.Tsdb.Head;
using Metrics.Coordination.Tsdb.Records;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Tsdb.Wal;

/// <summary>What a WAL replay found.</summary>
internal sealed class WalReplayResult
{
    public long Records;
    public long Series;
    public long Samples;
    public long SamplesSkipped;
    public long OutOfOrderSamples;
    public long UnknownSeriesSamples;
    public long Corruptions;

    /// <summary>Segments after a corrupt one that a read-only replay did not read.</summary>
    public int SegmentsNotRead;
    public List<WalCorruption> CorruptionDetails { get; } = [];
}

/// <summary>
/// The head's WAL: encodes each commit as a Series record (new series) and a Samples record, writes them through to
/// the OS, and fsyncs as the policy says. Also replays (with repair) and checkpoints.
/// </summary>
internal sealed class WriteAheadLog : IHeadLog, IDisposable
{
    private const string CheckpointPrefix = "checkpoint.";

    private readonly WalWriter _writer;
    private readonly ByteBuffer _buffer = new(64 * 1024);
    private readonly WalFsyncPolicy _policy;
    private readonly ILogger _logger;

    public WriteAheadLog(WalWriter writer, WalFsyncPolicy policy, ILogger logger)
    {
        _writer = writer;
        _policy = policy;
        _logger = logger;
    }

    public WalWriter Writer => _writer;

    /// <inheritdoc />
    public long Log(IReadOnlyList<MemSeries> newSeries, IReadOnlyList<PendingSample> samples)
    {
        // Called under the head's commit lock, so the one buffer is safe.
        if (newSeries.Count > 0)
        {
            _buffer.Clear();
            WalRecords.EncodeSeries(_buffer, newSeries, static s => (s.Ref, s.Labels));
            _writer.Append(_buffer.Span);
        }

        if (samples.Count > 0)
        {
            _buffer.Clear();
            EncodeSamples(_buffer, samples);
            _writer.Append(_buffer.Span);
        }

        return _writer.Flush();
    }

    /// <inheritdoc />
    public long LogTombstones(IReadOnlyList<RefTombstone> stones)
    {
        _buffer.Clear();
        WalRecords.EncodeTombstones(_buffer, stones);
        _writer.Append(_buffer.Span);
        return _writer.Flush();
    }

    /// <summary>
    /// The hot path's Samples record (same bytes as <see cref="WalRecords.EncodeSamples{T}"/>): the buffer is sized
    /// once for the worst case (28 bytes a sample) and filled without per-field capacity checks.
    /// </summary>
    internal static void EncodeSamples(ByteBuffer buffer, IReadOnlyList<PendingSample> samples)
    {
        var span = buffer.Reserve(17 + (samples.Count * 28));
        span[0] = (byte)WalRecordType.Samples;
        var first = samples[0];
        var baseRef = first.Series.Ref;
        var baseT = first.T;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(span[1..], baseRef);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(span[9..], (ulong)baseT);
        var at = 17;
        for (var i = 0; i < samples.Count; i++)
        {
            var p = samples[i];
            at = PutVarint(span, at, (long)(p.Series.Ref - baseRef));
            at = PutVarint(span, at, p.T - baseT);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(span[at..], p.V);
            at += 8;
        }

        buffer.Advance(at);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int PutVarint(Span<byte> span, int at, long value)
    {
        var v = (ulong)((value << 1) ^ (value >> 63));
        while (v >= 0x80)
        {
            span[at++] = (byte)(v | 0x80);
            v >>= 7;
        }

        span[at++] = (byte)v;
        return at;
    }

    /// <inheritdoc />
    public void Sync(long token)
    {
        if (_policy == WalFsyncPolicy.PerCommit)
        {
            _writer.Sync(token);
        }
    }

    /// <summary>fsyncs whatever was written (the interval policy's timer).</summary>
    public void SyncNow() => _writer.Sync();

    public void Dispose() => _writer.Dispose();

    /// <summary>The newest complete checkpoint directory and the last segment it covers, or null.</summary>
    public static (string Path, int Last)? LatestCheckpoint(string walDirectory)
    {
        (string, int)? best = null;
        if (!Directory.Exists(walDirectory))
        {
            return null;
        }

        foreach (var dir in Directory.EnumerateDirectories(walDirectory, CheckpointPrefix + "*"))
        {
            var suffix = Path.GetFileName(dir)[CheckpointPrefix.Length..];
            if (suffix.Length == 8 && int.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && (best is null || n > best.Value.Item2))
            {
                best = (dir, n);
            }
        }

        return best;
    }

    /// <summary>
    /// Replays the newest checkpoint, then the segments after it, into <paramref name="head"/>. Samples before the
    /// head's <see cref="Head.Head.MinValidTime"/> (already in blocks) are skipped. A corrupt or torn segment is
    /// truncated after its last good record and every later segment deleted; each case is logged and counted.
    /// </summary>
    public static WalReplayResult Replay(string walDirectory, Head.Head head, ILogger logger, WalReplayer.ReplayTuning? tuning = null)
    {
        var state = new WalReplayer(head, new WalReplayResult(), tuning);
        try
        {
            return ReplayInto(walDirectory, state, logger);
        }
        finally
        {
            state.Finish();
        }
    }

    private static WalReplayResult ReplayInto(string walDirectory, WalReplayer state, ILogger logger)
    {
        var result = state.Outcome;
        if (!Directory.Exists(walDirectory))
        {
            return result;
        }

        foreach (var tmp in Directory.EnumerateDirectories(walDirectory, CheckpointPrefix + "*.tmp"))
        {
            Directory.Delete(tmp, recursive: true);
            Tsdb.Log.RemovedLeftover(logger, tmp);
        }

        var firstSegment = 0;
        if (LatestCheckpoint(walDirectory) is { } checkpoint)
        {
            firstSegment = checkpoint.Last + 1;
            foreach (var (index, path) in WalWriter.ListSegments(checkpoint.Path))
            {
                // A checkpoint is immutable; a problem in it is reported, and replay goes on with what was read.
                if (ReplaySegment(path, index, state, logger) is { } bad)
                {
                    result.Corruptions++;
                    result.CorruptionDetails.Add(bad);
                    Tsdb.Log.WalCorruption(logger, index, bad.Offset, "checkpoint " + bad.Reason, 0);
                    break;
                }
            }
        }

        var segments = WalWriter.ListSegments(walDirectory).Where(s => s.Index >= firstSegment).ToList();
        for (var i = 0; i < segments.Count; i++)
        {
            var (index, path) = segments[i];
            if (ReplaySegment(path, index, state, logger) is not { } bad)
            {
                continue;
            }

            result.Corruptions++;
            result.CorruptionDetails.Add(bad);
            Repair(bad);
            var later = segments.Skip(i + 1).ToList();
            foreach (var (_, laterPath) in later)
            {
                File.Delete(laterPath);
            }

            Tsdb.Log.WalCorruption(logger, index, bad.Offset, bad.Reason, later.Count);
            break;
        }

        if (result.UnknownSeriesSamples > 0)
        {
            Tsdb.Log.WalUnknownSeries(logger, result.UnknownSeriesSamples);
        }

        return result;
    }

    /// <summary>
    /// Replays like <see cref="Replay"/> but changes nothing on disk (a read-only open of a directory another process
    /// may be writing): leftover <c>.tmp</c> checkpoints are ignored, and a torn or corrupt record stops the replay with
    /// the records before it kept, described in <see cref="WalReplayResult.CorruptionDetails"/> (the last segment of a
    /// live WAL usually ends in a record being written). Returns null when a checkpoint or segment disappeared before
    /// it could be opened (the writer checkpointed meanwhile): the caller starts again with a fresh head.
    /// </summary>
    public static WalReplayResult? ReplayReadOnly(string walDirectory, Head.Head head, ILogger logger, WalReplayer.ReplayTuning? tuning = null)
    {
        var state = new WalReplayer(head, new WalReplayResult(), tuning);
        try
        {
            return ReplayReadOnlyInto(walDirectory, state, logger);
        }
        finally
        {
            state.Finish();
        }
    }

    private static WalReplayResult? ReplayReadOnlyInto(string walDirectory, WalReplayer state, ILogger logger)
    {
        var result = state.Outcome;
        if (!Directory.Exists(walDirectory))
        {
            return result;
        }

        try
        {
            var firstSegment = 0;
            var latest = LatestCheckpoint(walDirectory);
            if (latest is { } checkpoint)
            {
                firstSegment = checkpoint.Last + 1;
                var checkpointSegments = WalWriter.ListSegments(checkpoint.Path);
                if (checkpointSegments.Count == 0 && !Directory.Exists(checkpoint.Path))
                {
                    return null;
                }

                foreach (var (index, path) in checkpointSegments)
                {
                    if (ReplaySegment(path, index, state, logger) is { } bad)
                    {
                        result.Corruptions++;
                        result.CorruptionDetails.Add(bad with { Reason = "checkpoint " + Path.GetFileName(checkpoint.Path) + ": " + bad.Reason });
                        return result;
                    }
                }
            }

            var segments = WalWriter.ListSegments(walDirectory).Where(s => s.Index >= firstSegment).ToList();
            for (var i = 0; i < segments.Count; i++)
            {
                var (index, path) = segments[i];
                var expected = i > 0 ? segments[i - 1].Index + 1 : latest is null ? index : firstSegment;
                if (index != expected && !Equals(LatestCheckpoint(walDirectory), latest))
                {
                    // A gap because a checkpoint written after the listing deleted the segments in between.
                    return null;
                }

                if (ReplaySegment(path, index, state, logger) is { } bad)
                {
                    result.Corruptions++;
                    result.CorruptionDetails.Add(bad);
                    result.SegmentsNotRead = segments.Count - i - 1;
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        if (result.UnknownSeriesSamples > 0)
        {
            Tsdb.Log.WalUnknownSeries(logger, result.UnknownSeriesSamples);
        }

        return result;
    }

    /// <summary>
    /// Writes checkpoint.<paramref name="last"/> from the newest checkpoint and segments up to <paramref name="last"/>,
    /// keeping series for which <paramref name="keepSeries"/> holds and samples at or after <paramref name="mint"/>,
    /// then deletes those segments and older checkpoints. Segments at or after <paramref name="keepFrom"/> are kept
    /// (a WAL reader such as a remote-write sender still needs them); later checkpoints delete them once released.
    /// </summary>
    public static (int Series, long Samples) Checkpoint(string walDirectory, int last, Func<ulong, bool> keepSeries, long mint, int segmentSize, ILogger logger, int keepFrom = int.MaxValue)
    {
        var previous = LatestCheckpoint(walDirectory);
        var name = CheckpointPrefix + WalWriter.SegmentName(last);
        var final = Path.Combine(walDirectory, name);
        var tmp = final + ".tmp";
        if (Directory.Exists(tmp))
        {
            Directory.Delete(tmp, recursive: true);
        }

        var sources = new List<(int, string)>();
        if (previous is { } p)
        {
            sources.AddRange(WalWriter.ListSegments(p.Path));
        }

        var first = previous?.Last + 1 ?? 0;
        var segments = WalWriter.ListSegments(walDirectory).Where(s => s.Index >= first && s.Index <= last).ToList();
        sources.AddRange(segments);

        int seriesKept = 0;
        long samplesKept = 0;
        using (var writer = WalWriter.Open(tmp, segmentSize))
        {
            var buffer = new ByteBuffer();
            var series = new List<RefSeries>();
            var samples = new List<RefSample>();
            var stones = new List<RefTombstone>();
            foreach (var (index, path) in sources)
            {
                using var reader = new WalSegmentReader(path, index);
                while (reader.Next())
                {
                    var record = reader.Record;
                    buffer.Clear();
                    switch (WalRecords.TypeOf(record))
                    {
                        case WalRecordType.Series:
                            series.Clear();
                            WalRecords.DecodeSeries(record, series);
                            series.RemoveAll(s => !keepSeries(s.Ref));
                            if (series.Count > 0)
                            {
                                seriesKept += series.Count;
                                WalRecords.EncodeSeries(buffer, series, static s => (s.Ref, s.Labels));
                            }

                            break;
                        case WalRecordType.Samples:
                            samples.Clear();
                            WalRecords.DecodeSamples(record, samples);
                            samples.RemoveAll(s => s.T < mint || !keepSeries(s.Ref));
                            if (samples.Count > 0)
                            {
                                samplesKept += samples.Count;
                                WalRecords.EncodeSamples(buffer, samples, static s => s);
                            }

                            break;
                        case WalRecordType.Tombstones:
                            stones.Clear();
                            WalRecords.DecodeTombstones(record, stones);
                            stones.RemoveAll(s => s.MaxTime < mint || !keepSeries(s.Ref));
                            if (stones.Count > 0)
                            {
                                WalRecords.EncodeTombstones(buffer, stones);
                            }

                            break;
                    }

                    if (buffer.Length > 0)
                    {
                        writer.Append(buffer.Span);
                    }
                }

                if (reader.Corruption is { } bad)
                {
                    throw new TsdbCorruptionException(bad.Path, bad.BadOffset, "WAL corruption while checkpointing: " + bad.Reason);
                }
            }
        }

        // The writer left an empty next segment behind on close only if it rolled; remove empty files.
        foreach (var (_, path) in WalWriter.ListSegments(tmp))
        {
            if (new FileInfo(path).Length == 0)
            {
                File.Delete(path);
            }
        }

        FileSystem.SyncTree(tmp);
        if (Directory.Exists(final))
        {
            Directory.Delete(final, recursive: true);
        }

        FileSystem.RenameDurably(tmp, final, isDirectory: true);

        // Every segment the checkpoint covers goes, including ones an earlier checkpoint had to keep for a reader.
        foreach (var (index, path) in WalWriter.ListSegments(walDirectory))
        {
            if (index <= last && index < keepFrom)
            {
                File.Delete(path);
            }
        }

        foreach (var dir in Directory.EnumerateDirectories(walDirectory, CheckpointPrefix + "*"))
        {
            if (!string.Equals(dir, final, StringComparison.Ordinal))
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        FileSystem.SyncDirectory(walDirectory);
        Tsdb.Log.WalCheckpoint(logger, name, seriesKept, samplesKept, last);
        return (seriesKept, samplesKept);
    }

    private static WalCorruption? ReplaySegment(string path, int index, WalReplayer state, ILogger logger)
    {
        using var reader = new WalSegmentReader(path, index);
        var before = 0L;
        while (reader.Next())
        {
            state.Outcome.Records++;
            try
            {
                state.Apply(reader.Record, index, logger);
            }
            catch (InvalidDataException ex)
            {
                // The fragments were intact but the record does not decode: treat it like corruption there.
                return new WalCorruption(path, index, before, before, "undecodable record: " + ex.Message);
            }

            before = reader.LastGoodOffset;
        }

        return reader.Corruption;
    }

    private static void Repair(WalCorruption bad)
    {
        using var file = File.OpenHandle(bad.Path, FileMode.Open, FileAccess.ReadWrite);
        RandomAccess.SetLength(file, bad.Offset);
        var pad = (int)((WalWriter.PageSize - (bad.Offset % WalWriter.PageSize)) % WalWriter.PageSize);
        if (pad > 0)
        {
            RandomAccess.Write(file, new byte[pad], bad.Offset);
        }

        RandomAccess.FlushToDisk(file);
    }
}
