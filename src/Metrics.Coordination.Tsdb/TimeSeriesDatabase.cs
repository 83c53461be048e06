using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tsdb.Head;
using Metrics.Coordination.Tsdb.Querying;
using Metrics.Coordination.Tsdb.Wal;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Tsdb;

/// <summary>
/// An in-process time-series database in Prometheus's formats: samples go into an in-memory head (XOR chunks, inverted
/// index) through batched appenders, each commit first to a Prometheus-format write-ahead log (when
/// <see cref="TsdbOptions.Directory"/> is set), and are queried with label matchers. Opening replays the WAL, so every
/// committed sample survives a crash; a torn or corrupt WAL tail is truncated, logged and counted.
/// </summary>
/// <remarks>Thread-safe: appenders may be used from many threads (one appender per thread), queriers alongside.</remarks>
public sealed class TimeSeriesDatabase : IAppendable, Abstractions.Storage.IQueryable, IDisposable
{
    private readonly Head.Head _head;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private FileStream? _lockFile;
    private WriteAheadLog? _wal;
    private WalReplayResult _replay = new();
    private Task _fsyncLoop = Task.CompletedTask;
    private long _fsyncFailures;
    private int _disposed;

    private TimeSeriesDatabase(TsdbOptions options)
    {
        Options = options;
        _logger = options.LoggerFactory.CreateLogger<TimeSeriesDatabase>();
        _head = new Head.Head(new HeadOptions((long)options.BlockDuration.TotalMilliseconds));
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
    public IAppender Appender()
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _head.Appender();
    }

    /// <summary>A querier for samples with <paramref name="minTimeMs"/> ≤ t ≤ <paramref name="maxTimeMs"/>.</summary>
    public IQuerier Querier(long minTimeMs, long maxTimeMs)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return new HeadQuerier(_head, minTimeMs, maxTimeMs);
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
            DuplicateSamples = Interlocked.Read(ref c.DuplicateSamples),
            OutOfBoundsSamples = Interlocked.Read(ref c.OutOfBoundsSamples),
            InvalidSamples = Interlocked.Read(ref c.InvalidSamples),
            WalRecordsReplayed = _replay.Records,
            WalSamplesReplayed = _replay.Samples,
            WalCorruptions = _replay.Corruptions,
            WalFsyncs = _wal?.Writer.Fsyncs ?? 0,
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
        try
        {
            _fsyncLoop.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
        }

        _head.Log = null;
        _wal?.Dispose();
        _lockFile?.Dispose();
        _stopping.Dispose();
    }

    /// <summary>Where replay found problems (for tests).</summary>
    internal WalReplayResult Replayed => _replay;

    internal WriteAheadLog? Wal => _wal;

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

        var walDir = Path.Combine(dir, "wal");
        _replay = WriteAheadLog.Replay(walDir, _head, _logger);
        _wal = new WriteAheadLog(WalWriter.Open(walDir, Options.WalSegmentSize), Options.WalFsyncPolicy, _logger);
        _head.Log = _wal;
        if (Options.WalFsyncPolicy == WalFsyncPolicy.Interval)
        {
            _fsyncLoop = RunFsyncLoopAsync(_stopping.Token);
        }

        var elapsed = Options.TimeProvider.GetElapsedTime(started);
        Log.Opened(_logger, dir, _head.Series.Count, _replay.Samples, (long)elapsed.TotalMilliseconds, 0);
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
