using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tsdb.Blocks;
using Metrics.Coordination.Tsdb.Head;
using Metrics.Coordination.Tsdb.Querying;
using Metrics.Coordination.Tsdb.Wal;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Tsdb;

/// <summary>
/// An in-process time-series database in Prometheus's formats: samples go into an in-memory head (XOR chunks, inverted
/// index) through batched appenders, each commit first to a Prometheus-format write-ahead log (when
/// <see cref="TsdbOptions.Directory"/> is set), and are queried with label matchers. Opening replays the WAL, so every
/// committed sample survives a crash; a torn or corrupt WAL tail is truncated, logged and counted. <see cref="Compact"/>
/// cuts the head into immutable blocks in Prometheus's on-disk format (readable by promtool, Prometheus and Thanos);
/// queries merge the head and the blocks.
/// </summary>
/// <remarks>Thread-safe: appenders may be used from many threads (one appender per thread), queriers alongside.</remarks>
public sealed partial class TimeSeriesDatabase : IAppendable, Abstractions.Storage.IQueryable, IDisposable
{
    private readonly Head.Head _head;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private FileStream? _lockFile;
    private WriteAheadLog? _wal;
    private WalReplayResult _replay = new();
    private Task _fsyncLoop = Task.CompletedTask;
    private Task _compactionLoop = Task.CompletedTask;
    private long _compactionFailures;
    private readonly Lock _blocksLock = new();
    private readonly Lock _compactLock = new();
    private Block[] _blocks = [];
    private readonly List<WalRetainer> _retainers = [];
    private long _fsyncFailures;
    private long _blocksWritten;
    private long _blocksCorrupt;
    private int _disposed;

    private TimeSeriesDatabase(TsdbOptions options)
    {
        Options = options;
        _logger = options.LoggerFactory.CreateLogger<TimeSeriesDatabase>();
        _head = new Head.Head(new HeadOptions((long)options.BlockDuration.TotalMilliseconds, OutOfOrderWindow: (long)options.OutOfOrderTimeWindow.TotalMilliseconds));
    }

    /// <summary>The data directory, or null for an in-memory database.</summary>
    public string? Directory => Options.Directory;

    internal TsdbOptions Options { get; }

    internal Head.Head Head => _head;

    internal ILogger Logger => _logger;

    /// <summary>Opens (or creates) a database with <paramref name="options"/>, which are validated and copied.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static TimeSeriesDatabase Open(TsdbOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var copy = new TsdbOptions
        {
            Directory = options.Directory,
            BlockDuration = options.BlockDuration,
            WalFsyncPolicy = options.WalFsyncPolicy,
            WalFsyncInterval = options.WalFsyncInterval,
            WalSegmentSize = options.WalSegmentSize,
            CompactionInterval = options.CompactionInterval,
            RetentionTime = options.RetentionTime,
            RetentionSize = options.RetentionSize,
            OutOfOrderTimeWindow = options.OutOfOrderTimeWindow,
            LoggerFactory = options.LoggerFactory,
            TimeProvider = options.TimeProvider,
        };
        copy.Validate();
        var db = new TimeSeriesDatabase(copy);
        try
        {
            db.Initialize();
        }
        catch
        {
            db.Dispose();
            throw;
        }

        return db;
    }

    /// <summary>Starts a batch of appends; commit or roll it back. Not thread-safe itself: one per thread.</summary>
    /// <exception cref="InvalidOperationException">The database was opened read-only.</exception>
    public IAppender Appender()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ThrowIfReadOnly();
        return _head.Appender();
    }

    /// <summary>
    /// A querier for samples with <paramref name="minTimeMs"/> ≤ t ≤ <paramref name="maxTimeMs"/> over the head and
    /// the blocks overlapping that range. Dispose it: it holds the blocks open.
    /// </summary>
    public IQuerier Querier(long minTimeMs, long maxTimeMs)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var queriers = new List<IQuerier>();
        while (true)
        {
            // A block that is closing was just replaced by a compaction result (or deleted by retention): take a fresh
            // snapshot then, so a query never misses both a compacted block's parents and the block itself.
            var complete = true;
            foreach (var block in Volatile.Read(ref _blocks))
            {
                if (block.Meta.MinTime <= maxTimeMs && block.Meta.MaxTime > minTimeMs)
                {
                    if (block.Querier(minTimeMs, maxTimeMs) is { } q)
                    {
                        queriers.Add(q);
                    }
                    else
                    {
                        complete = false;
                        break;
                    }
                }
            }

            if (complete)
            {
                break;
            }

            queriers.ForEach(q => q.Dispose());
            queriers.Clear();
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
        }

        queriers.Add(new HeadQuerier(_head, minTimeMs, maxTimeMs));
        return queriers.Count == 1 ? queriers[0] : new MergeQuerier([.. queriers]);
    }

    /// <summary>
    /// Persists the head's oldest block ranges as blocks, as Prometheus's head compaction does: while the head spans
    /// more than 1.5 block ranges, the range holding its oldest sample is written as a level-1 block (maxTime = the
    /// range's end), dropped from the head, and the WAL is checkpointed. With <paramref name="flushHead"/>, every range
    /// is written, the current one included; samples before the end of the last written range are refused afterwards.
    /// Then the persisted blocks are compacted as Prometheus does (overlapping blocks merged first, then adjacent blocks
    /// merged into the next of the ranges block duration × 3, × 9, ... up to 10 % of <see cref="TsdbOptions.RetentionTime"/>
    /// or 31 d; the newest block is left alone), and retention (<see cref="TsdbOptions.RetentionTime"/>,
    /// <see cref="TsdbOptions.RetentionSize"/>) deletes the oldest blocks.
    /// Returns the number of blocks written from the head. Does nothing for an in-memory database.
    /// </summary>
    /// <exception cref="IOException">Writing a block or the checkpoint failed; the head keeps its data.</exception>
    /// <exception cref="InvalidOperationException">The database was opened read-only.</exception>
    public int Compact(bool flushHead = false)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        ThrowIfReadOnly();
        if (Options.Directory is not { } dir)
        {
            return 0;
        }

        lock (_compactLock)
        {
            var written = 0;
            var range = _head.Options.ChunkRange;
            var truncated = false;
            while (true)
            {
                var min = _head.MinTime;
                var max = _head.MaxTime;
                if (min == long.MaxValue || (!flushHead && max - min <= range / 2 * 3))
                {
                    break;
                }

                var end = MemSeries.RangeEnd(min, range);
                var series = BlockWriter.FromHead(_head, min, end - 1);
                var meta = BlockWriter.Write(dir, series, min, end, Options.TimeProvider, WriterOptions);
                if (meta is not null)
                {
                    AddBlock(Block.Open(Path.Combine(dir, meta.Ulid)));
                    Interlocked.Increment(ref _blocksWritten);
                    written++;
                    Log.BlockWritten(_logger, meta.Ulid, meta.MinTime, meta.MaxTime, meta.NumSeries, meta.NumSamples, meta.NumChunks);
                }

                _head.Truncate(end);
                truncated = true;
            }

            if (truncated && _wal is { } wal)
            {
                var last = wal.Writer.NextSegment();
                WriteAheadLog.Checkpoint(Path.Combine(dir, "wal"), last, r => _head.Series.GetByRef(r) is not null, _head.MinValidTime, Options.WalSegmentSize, _logger, LowestRetainedWalSegment());
            }

            CompactBlocks(dir);
            ApplyRetention();
            return written;
        }
    }

    /// <summary>The current counters and sizes.</summary>
    public TsdbStatistics GetStatistics()
    {
        var c = _head.Counters;
        return new TsdbStatistics
        {
            HeadSeries = _head.Series.Count,
            HeadMinTime = _head.MinTime,
            HeadMaxTime = _head.MaxTime,
            SamplesAppended = Interlocked.Read(ref c.SamplesAppended),
            SeriesCreated = Interlocked.Read(ref c.SeriesCreated),
            OutOfOrderSamples = Interlocked.Read(ref c.OutOfOrderSamples),
            OutOfOrderSamplesAppended = Interlocked.Read(ref c.OutOfOrderSamplesAppended),
            DuplicateSamples = Interlocked.Read(ref c.DuplicateSamples),
            OutOfBoundsSamples = Interlocked.Read(ref c.OutOfBoundsSamples),
            InvalidSamples = Interlocked.Read(ref c.InvalidSamples),
            WalRecordsReplayed = _replay.Records,
            WalSamplesReplayed = _replay.Samples,
            WalCorruptions = _replay.Corruptions,
            WalFsyncs = _wal?.Writer.Fsyncs ?? 0,
            Blocks = Volatile.Read(ref _blocks).Length,
            BlocksWritten = Interlocked.Read(ref _blocksWritten),
            BlocksCorrupt = Interlocked.Read(ref _blocksCorrupt),
            CompactionFailures = Interlocked.Read(ref _compactionFailures),
            Compactions = Interlocked.Read(ref _compactions),
            TimeRetentionDeletions = Interlocked.Read(ref _timeRetentionDeletions),
            SizeRetentionDeletions = Interlocked.Read(ref _sizeRetentionDeletions),
            TombstonesCleaned = Interlocked.Read(ref _tombstonesCleaned),
            BlockBytes = Volatile.Read(ref _blocks).Sum(b => b.Size),
            HeadTombstones = _head.Tombstones.Count,
        };
    }

    /// <summary>Flushes and fsyncs the WAL, stops background work and releases the directory lock.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping.Cancel();
        foreach (var loop in new[] { _fsyncLoop, _compactionLoop })
        {
            try
            {
                loop.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
            }
        }

        _head.Log = null;
        _wal?.Dispose();
        foreach (var block in _blocks)
        {
            block.Dispose();
        }

        _lockFile?.Dispose();
        _stopping.Dispose();
    }

    /// <summary>
    /// Keeps WAL segments from <paramref name="lowestSegmentNeeded"/>() on from deletion by checkpoints until the
    /// returned handle is disposed (a remote-write sender's unsent segments). The callback is asked at each checkpoint.
    /// </summary>
    internal IDisposable RetainWal(Func<int> lowestSegmentNeeded)
    {
        var retainer = new WalRetainer(this, lowestSegmentNeeded);
        lock (_retainers)
        {
            _retainers.Add(retainer);
        }

        return retainer;
    }

    private int LowestRetainedWalSegment()
    {
        lock (_retainers)
        {
            var lowest = int.MaxValue;
            foreach (var r in _retainers)
            {
                lowest = Math.Min(lowest, r.LowestSegmentNeeded());
            }

            return lowest;
        }
    }

    private sealed class WalRetainer(TimeSeriesDatabase db, Func<int> lowestSegmentNeeded) : IDisposable
    {
        public Func<int> LowestSegmentNeeded => lowestSegmentNeeded;

        public void Dispose()
        {
            lock (db._retainers)
            {
                db._retainers.Remove(this);
            }
        }
    }

    /// <summary>Where replay found problems (for tests).</summary>
    internal WalReplayResult Replayed => _replay;

    internal WriteAheadLog? Wal => _wal;

    /// <summary>Byte-level choices for blocks this database writes (tests switch on promtool 2.42 emulation).</summary>
    internal BlockWriterOptions WriterOptions { get; set; } = new();

    /// <summary>The open blocks, oldest first.</summary>
    internal IReadOnlyList<Block> Blocks => Volatile.Read(ref _blocks);

    private void Initialize()
    {
        if (Options.Directory is not { } dir)
        {
            return;
        }

        var started = Options.TimeProvider.GetTimestamp();
        System.IO.Directory.CreateDirectory(dir);

        // Like Prometheus's lock file: a second process opening the same directory fails instead of corrupting it.
        _lockFile = new FileStream(Path.Combine(dir, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        OpenBlocks(dir);
        RemoveMergedParents();

        var walDir = Path.Combine(dir, "wal");
        _replay = WriteAheadLog.Replay(walDir, _head, _logger);
        ApplyRetention();
        _wal = new WriteAheadLog(WalWriter.Open(walDir, Options.WalSegmentSize), Options.WalFsyncPolicy, _logger);
        _head.Log = _wal;
        if (Options.WalFsyncPolicy == WalFsyncPolicy.Interval)
        {
            _fsyncLoop = RunFsyncLoopAsync(_stopping.Token);
        }

        if (Options.CompactionInterval > TimeSpan.Zero)
        {
            _compactionLoop = RunCompactionLoopAsync(_stopping.Token);
        }

        var elapsed = Options.TimeProvider.GetElapsedTime(started);
        Log.Opened(_logger, dir, _head.Series.Count, _replay.Samples, (long)elapsed.TotalMilliseconds, _blocks.Length);
    }

    private void OpenBlocks(string dir)
    {
        foreach (var leftover in System.IO.Directory.EnumerateDirectories(dir))
        {
            if (leftover.EndsWith(BlockWriter.CreationSuffix, StringComparison.Ordinal) || leftover.EndsWith(BlockWriter.DeletionSuffix, StringComparison.Ordinal))
            {
                System.IO.Directory.Delete(leftover, recursive: true);
                Log.RemovedLeftover(_logger, leftover);
            }
        }

        foreach (var blockDir in System.IO.Directory.EnumerateDirectories(dir))
        {
            if (!Ulid.IsValid(Path.GetFileName(blockDir)))
            {
                continue;
            }

            try
            {
                AddBlock(Block.Open(blockDir));
            }
            catch (Exception ex) when (ex is TsdbCorruptionException or IOException or UnauthorizedAccessException)
            {
                // A bad block is reported and left out; the rest of the database stays usable (unless a loaded
                // compaction result names it as a parent: then it was merged already and goes, see RemoveMergedParents).
                _unreadableBlocks.Add((blockDir, ex));
            }
        }
    }

    private void AddBlock(Block block)
    {
        lock (_blocksLock)
        {
            var blocks = _blocks.Append(block).OrderBy(b => b.Meta.MinTime).ThenBy(b => b.Meta.Ulid, StringComparer.Ordinal).ToArray();
            Volatile.Write(ref _blocks, blocks);
            _head.MinValidTime = Math.Max(_head.MinValidTime, block.Meta.MaxTime);
        }
    }

    private async Task RunCompactionLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Options.CompactionInterval, Options.TimeProvider);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                Compact();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or TsdbCorruptionException)
            {
                Interlocked.Increment(ref _compactionFailures);
                Log.CompactionFailed(_logger, ex);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }
    }

    private async Task RunFsyncLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Options.WalFsyncInterval, Options.TimeProvider);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                _wal?.SyncNow();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                Interlocked.Increment(ref _fsyncFailures);
                Log.FsyncFailed(_logger, ex);
            }
        }
    }
}
