using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tsdb.Head;
using Metrics.Coordination.Tsdb.Querying;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Tsdb;

/// <summary>
/// An in-process time-series database in Prometheus's formats: samples go into an in-memory head (XOR chunks, inverted
/// index) through batched appenders and are queried with label matchers.
/// </summary>
/// <remarks>Thread-safe: appenders may be used from many threads (one appender per thread), queriers alongside.</remarks>
public sealed class TimeSeriesDatabase : IAppendable, Abstractions.Storage.IQueryable, IDisposable
{
    private readonly Head.Head _head;
    private readonly ILogger _logger;
    private int _disposed;

    private TimeSeriesDatabase(TsdbOptions options)
    {
        Options = options;
        _logger = options.LoggerFactory.CreateLogger<TimeSeriesDatabase>();
        _head = new Head.Head(new HeadOptions((long)options.BlockDuration.TotalMilliseconds));
    }

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
        return new TimeSeriesDatabase(copy);
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
        };
    }

    /// <summary>Closes the database.</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _disposed, 1);
    }
}
