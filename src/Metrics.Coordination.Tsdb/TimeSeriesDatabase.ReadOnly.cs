using Metrics.Coordination.Tsdb.Blocks;
using Metrics.Coordination.Tsdb.Wal;

namespace Metrics.Coordination.Tsdb;

/// <summary>Read-only open of a data directory that another process may be writing (promtool's <c>OpenDBReadOnly</c>).</summary>
public sealed partial class TimeSeriesDatabase
{
    /// <summary>
    /// How often a read-only open starts over when the writer checkpointed its WAL while it was being read (each
    /// checkpoint follows a block cut, at most every block range / 2; a few tries always suffice).
    /// </summary>
    private const int ReadOnlyAttempts = 5;

    private readonly List<string> _openWarnings = [];
    private bool _readOnly;

    /// <summary>Whether this database was opened with <see cref="OpenReadOnly"/>: it can be queried but not written.</summary>
    public bool IsReadOnly => _readOnly;

    /// <summary>
    /// What <see cref="OpenReadOnly"/> found wrong and worked around, one message each naming the file: blocks left out
    /// (unreadable, or removed by the writing process while they were being opened) and where WAL replay stopped (a
    /// torn or corrupt record; the records before it are in the head). Empty after <see cref="Open"/>, which repairs
    /// and logs instead.
    /// </summary>
    public IReadOnlyList<string> OpenWarnings => _openWarnings;

    /// <summary>
    /// Opens the data directory <see cref="TsdbOptions.Directory"/> for queries only, without disturbing a process that
    /// has it open for writing (as promtool's <c>tsdb dump</c> does): takes no lock and creates, changes or deletes
    /// nothing under the directory. The persisted blocks are memory-mapped; the WAL (checkpoint, then segments) is
    /// replayed into an in-memory head with samples before the newest block's end skipped, so queries see every sample
    /// committed before the open. Nothing is repaired: a torn or corrupt WAL record (the last segment of a live WAL
    /// usually ends in one being written) stops the replay there, keeping the records before it; an unreadable block is
    /// left out; a block that the writer removes while it is opened (compaction, retention) is skipped, and blocks it
    /// adds meanwhile are picked up. Each of these is in <see cref="OpenWarnings"/> and logged. Of the options, only
    /// <see cref="TsdbOptions.Directory"/>, <see cref="TsdbOptions.BlockDuration"/>,
    /// <see cref="TsdbOptions.OutOfOrderTimeWindow"/> (set them as the writer does), the logger factory and the time
    /// provider are used. <see cref="Appender"/>, <see cref="Compact"/>, <see cref="Delete"/> and
    /// <see cref="CleanTombstones"/> throw <see cref="InvalidOperationException"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><see cref="TsdbOptions.Directory"/> is not set.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="IOException">The writer kept checkpointing its WAL during every attempt to read it.</exception>
    public static TimeSeriesDatabase OpenReadOnly(TsdbOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Directory is not { } dir)
        {
            throw new ArgumentException("A read-only open needs TsdbOptions.Directory.", nameof(options));
        }

        var copy = new TsdbOptions
        {
            Directory = dir,
            BlockDuration = options.BlockDuration,
            CompactionInterval = TimeSpan.Zero,
            OutOfOrderTimeWindow = options.OutOfOrderTimeWindow,
            LoggerFactory = options.LoggerFactory,
            TimeProvider = options.TimeProvider,
        };
        copy.Validate();
        if (!System.IO.Directory.Exists(dir))
        {
            throw new DirectoryNotFoundException($"No TSDB directory at {dir}.");
        }

        for (var attempt = 1; ; attempt++)
        {
            var db = new TimeSeriesDatabase(copy) { _readOnly = true };
            try
            {
                if (db.InitializeReadOnly(dir))
                {
                    return db;
                }
            }
            catch
            {
                db.Dispose();
                throw;
            }

            db.Dispose();
            if (attempt == ReadOnlyAttempts)
            {
                throw new IOException($"The WAL of {dir} was checkpointed by its writer during each of {ReadOnlyAttempts} attempts to read it; try again.");
            }
        }
    }

    private void ThrowIfReadOnly()
    {
        if (_readOnly)
        {
            throw new InvalidOperationException($"The database at {Options.Directory} was opened read-only.");
        }
    }

    /// <summary>One read-only open attempt; false when a WAL file vanished under the replay (start over).</summary>
    private bool InitializeReadOnly(string dir)
    {
        var started = Options.TimeProvider.GetTimestamp();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        OpenBlocksReadOnly(dir, seen);
        var replay = WriteAheadLog.ReplayReadOnly(Path.Combine(dir, "wal"), _head, _logger);
        if (replay is null)
        {
            return false;
        }

        _replay = replay;
        foreach (var bad in replay.CorruptionDetails)
        {
            var later = replay.SegmentsNotRead > 0 ? $", {replay.SegmentsNotRead} later segments not read" : " (a writer may be appending there)";
            Warn($"WAL {bad.Path} at offset {bad.BadOffset}: {bad.Reason}; replay stopped there, the records before it are kept{later}");
        }

        // The writer may have cut a block (and checkpointed its samples out of the WAL) after the listing above: pick up
        // every block that appeared meanwhile, so a sample is either in the replayed head or in a block we have.
        for (var i = 0; i < ReadOnlyAttempts && OpenBlocksReadOnly(dir, seen) > 0; i++)
        {
        }

        RemoveMergedParentsReadOnly();
        var elapsed = Options.TimeProvider.GetElapsedTime(started);
        Log.OpenedReadOnly(_logger, dir, _head.Series.Count, _replay.Samples, (long)elapsed.TotalMilliseconds, _blocks.Length, _openWarnings.Count);
        return true;
    }

    /// <summary>Opens the blocks of <paramref name="dir"/> not in <paramref name="seen"/> (adding them); returns how many were new.</summary>
    private int OpenBlocksReadOnly(string dir, HashSet<string> seen)
    {
        var added = 0;
        foreach (var blockDir in System.IO.Directory.EnumerateDirectories(dir))
        {
            // Directories being created or deleted (".tmp-for-creation", ".tmp-for-deletion") are not valid ULIDs.
            var name = Path.GetFileName(blockDir);
            if (!Ulid.IsValid(name) || !seen.Add(name))
            {
                continue;
            }

            added++;
            try
            {
                AddBlock(Block.Open(blockDir));
            }
            catch (Exception ex) when (ex is TsdbCorruptionException or IOException or UnauthorizedAccessException)
            {
                if (!System.IO.Directory.Exists(blockDir))
                {
                    Warn($"block {blockDir} was removed while it was being opened (compacted or deleted by the writing process) and is skipped");
                }
                else
                {
                    Interlocked.Increment(ref _blocksCorrupt);
                    Warn($"block {blockDir} is unreadable and left out: {ex.Message}");
                    Log.BlockCorrupt(_logger, blockDir, ex);
                }
            }
        }

        return added;
    }

    /// <summary>Leaves out (in memory only) blocks already merged into another open block or marked deletable: the writer is about to delete them.</summary>
    private void RemoveMergedParentsReadOnly()
    {
        lock (_blocksLock)
        {
            var merged = new HashSet<string>(_blocks.SelectMany(b => b.Meta.Parents.Select(p => p.Ulid)), StringComparer.Ordinal);
            var gone = _blocks.Where(b => merged.Contains(b.Meta.Ulid) || b.Meta.Deletable).ToList();
            if (gone.Count == 0)
            {
                return;
            }

            Volatile.Write(ref _blocks, _blocks.Except(gone).ToArray());
            foreach (var block in gone)
            {
                block.Dispose();
            }
        }
    }

    private void Warn(string message)
    {
        _openWarnings.Add(message);
        Log.ReadOnlyOpenWarning(_logger, Options.Directory!, message);
    }
}
