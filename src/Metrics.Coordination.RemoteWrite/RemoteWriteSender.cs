using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.RemoteWrite.Protocol;
using Metrics.Coordination.RemoteWrite.Wal;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Tsdb;
using Metrics.Coordination.Tsdb.Records;
using Metrics.Coordination.Tsdb.Wal;
using Microsoft.Extensions.Logging;
using Label = Metrics.Coordination.Abstractions.Label;

namespace Metrics.Coordination.RemoteWrite;

/// <summary>
/// Sends a <see cref="TimeSeriesDatabase"/>'s samples to a Prometheus remote-write 1.0 receiver by tailing its
/// write-ahead log, like Prometheus's agent: Series records map references to labels (external labels added), Samples
/// records are queued to shards chosen by series, each shard batches by size and deadline and sends snappy-compressed
/// protobuf <c>WriteRequest</c>s in order (write relabeling applied after the external labels), retrying 5xx, 429 and network failures with exponential backoff (honouring
/// <c>Retry-After</c>) and dropping other 4xx batches with a counted, logged error. The shard count follows
/// Prometheus's desired-shards calculation.
/// </summary>
/// <remarks>
/// <para>What is acknowledged is persisted after every batch (written through to the OS, fsynced every
/// <see cref="RemoteWriteOptions.PositionSyncInterval"/>): the WAL position before which everything is acknowledged,
/// plus each shard's last acknowledged sample. A restarted sender resumes there and skips what its shards had
/// acknowledged, so it neither loses nor repeats samples (short of a kill between the receiver's answer and the
/// position write, which repeats that one batch).</para>
/// <para>While the sender runs, the database's checkpoints keep every WAL segment from the persisted position on, so a
/// receiver outage only makes the WAL longer; nothing unsent is deleted. Segments deleted while no sender ran are
/// skipped and counted in <see cref="RemoteWriteStatistics.SegmentsMissed"/>.</para>
/// </remarks>
public sealed class RemoteWriteSender : IAsyncDisposable
{
    private readonly TimeSeriesDatabase _database;
    private readonly string _walDirectory;
    private readonly ILogger _logger;
    private readonly PositionStore _store;
    private readonly IDisposable _retention;
    private readonly CancellationTokenSource _stopReading = new();
    private readonly CancellationTokenSource _stopSending = new();
    private readonly Dictionary<ulong, SeriesEntry?> _series = [];
    private readonly Labels _externalLabels;
    private readonly Lock _positionLock = new();
    private readonly Lock _readLock = new();
    private readonly SelfMetrics? _metrics;
    private readonly long _started;
    private Shard[] _shards = [];
    private int _desiredShards;
    private PositionState? _resume;
    private WalPosition _startAt;
    private WalPosition _readPosition;
    private WalPosition _committed;
    private int _retainFrom;
    private int _nextSeriesId;
    private long _samplesQueued;
    private long _samplesSent;
    private long _samplesFailed;
    private long _samplesDropped;
    private long _samplesRetried;
    private long _samplesSkipped;
    private long _batchesSent;
    private long _batchesFailed;
    private long _bytesSent;
    private long _sendTicks;
    private long _highestRead = long.MinValue;
    private long _highestSent = long.MinValue;
    private long _segmentsMissed;
    private long _segmentCorruptions;
    private long _lastSuccessTimestamp;
    private Task _watcher = Task.CompletedTask;
    private Task _sharding = Task.CompletedTask;
    private Task _syncing = Task.CompletedTask;
    private int _disposed;

    private RemoteWriteSender(TimeSeriesDatabase database, RemoteWriteOptions options)
    {
        _database = database;
        Options = options;
        Time = options.TimeProvider;
        _walDirectory = Path.Combine(database.Directory!, "wal");
        _logger = options.LoggerFactory.CreateLogger<RemoteWriteSender>();
        _externalLabels = Labels.From(options.ExternalLabels.Select(l => new Label(l.Key, l.Value)).ToArray());
        var handler = options.HttpHandler ?? new SocketsHttpHandler { UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) };
        Http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        _store = new PositionStore(options.PositionFile!);
        _metrics = options.Registry is { } registry ? new SelfMetrics(registry, options.Name) : null;
        _started = Time.GetTimestamp();
        _retention = database.RetainWal(() => Volatile.Read(ref _retainFrom));
    }

    /// <summary>The options in effect (validated copy).</summary>
    internal RemoteWriteOptions Options { get; }

    internal TimeProvider Time { get; }

    internal HttpClient Http { get; }

    /// <summary>
    /// Validates <paramref name="options"/>, loads the persisted position and starts tailing <paramref name="database"/>'s
    /// WAL. Dispose the sender to stop it.
    /// </summary>
    /// <exception cref="ArgumentException">An option is invalid, or the database has no directory (no WAL).</exception>
    public static RemoteWriteSender Start(TimeSeriesDatabase database, RemoteWriteOptions options)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentNullException.ThrowIfNull(options);
        if (database.Directory is null)
        {
            throw new ArgumentException("The database keeps no WAL (it has no directory); remote write tails the WAL.", nameof(database));
        }

        var validated = options.Validated(database.Directory);
        if (validated.Queue.MaxShards > PositionStore.MaxShards)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"Queue.MaxShards must be at most {PositionStore.MaxShards}.");
        }

        var sender = new RemoteWriteSender(database, validated);
        try
        {
            sender.Initialize();
        }
        catch
        {
            sender._retention.Dispose();
            sender._store.Dispose();
            sender.Http.Dispose();
            throw;
        }

        return sender;
    }

    /// <summary>The current counters.</summary>
    public RemoteWriteStatistics GetStatistics()
    {
        var shards = Volatile.Read(ref _shards);
        long pending = 0;
        foreach (var s in shards)
        {
            pending += s.Pending;
        }

        WalPosition committed;
        lock (_positionLock)
        {
            committed = _committed;
        }

        return new RemoteWriteStatistics
        {
            SamplesQueued = Interlocked.Read(ref _samplesQueued),
            SamplesSent = Interlocked.Read(ref _samplesSent),
            SamplesFailed = Interlocked.Read(ref _samplesFailed),
            SamplesDropped = Interlocked.Read(ref _samplesDropped),
            SamplesRetried = Interlocked.Read(ref _samplesRetried),
            SamplesSkippedAsSent = Interlocked.Read(ref _samplesSkipped),
            SamplesPending = pending,
            BatchesSent = Interlocked.Read(ref _batchesSent),
            BatchesFailed = Interlocked.Read(ref _batchesFailed),
            BytesSent = Interlocked.Read(ref _bytesSent),
            Shards = shards.Length,
            DesiredShards = Volatile.Read(ref _desiredShards),
            HighestReadTimestampMs = Interlocked.Read(ref _highestRead),
            HighestSentTimestampMs = Interlocked.Read(ref _highestSent),
            SegmentsMissed = Interlocked.Read(ref _segmentsMissed),
            SegmentCorruptions = Interlocked.Read(ref _segmentCorruptions),
            CommittedSegment = committed.Segment,
            CommittedOffset = committed.Offset,
        };
    }

    /// <summary>
    /// Stops reading the WAL, lets the shards send what they hold for up to <see cref="RemoteWriteOptions.FlushDeadline"/>,
    /// persists and fsyncs the acknowledged position, and releases the WAL segments it held back.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopReading.CancelAsync().ConfigureAwait(false);
        await Quietly(_watcher).ConfigureAwait(false);
        await Quietly(_sharding).ConfigureAwait(false);
        var shards = Volatile.Read(ref _shards);
        foreach (var shard in shards)
        {
            shard.Close();
        }

        using (Time.CreateTimer(static s => ((CancellationTokenSource)s!).Cancel(), _stopSending, Options.FlushDeadline, Timeout.InfiniteTimeSpan))
        {
            foreach (var shard in shards)
            {
                await Quietly(shard.Loop).ConfigureAwait(false);
            }
        }

        await _stopSending.CancelAsync().ConfigureAwait(false);
        await Quietly(_syncing).ConfigureAwait(false);
        Persist();
        _store.Dispose();
        _retention.Dispose();
        Http.Dispose();
        _metrics?.Dispose();
        WalPosition committed;
        lock (_positionLock)
        {
            committed = _committed;
        }

        Log.Stopped(_logger, Options.Name, committed.Segment, committed.Offset);
        _stopReading.Dispose();
        _stopSending.Dispose();
    }

    internal HttpRequestMessage NewRequest(ReadOnlyMemory<byte> body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Options.Url) { Content = new ReadOnlyMemoryContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        request.Content.Headers.ContentEncoding.Add("snappy");
        request.Headers.TryAddWithoutValidation("User-Agent", Options.UserAgent);
        request.Headers.Add("X-Prometheus-Remote-Write-Version", "0.1.0");
        if (Options.BearerToken is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else if (Options.BasicAuthUsername is { } user)
        {
            var raw = Encoding.UTF8.GetBytes(user + ":" + (Options.BasicAuthPassword ?? string.Empty));
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(raw));
        }

        return request;
    }

    private WalPosition ReadPosition
    {
        get
        {
            lock (_readLock)
            {
                return _readPosition;
            }
        }
    }

    internal void RecordSendTime(TimeSpan elapsed) => Interlocked.Add(ref _sendTicks, elapsed.Ticks);

    internal void OnSent(PendingSample[] samples, int count, int bytes)
    {
        var highest = long.MinValue;
        for (var i = 0; i < count; i++)
        {
            highest = Math.Max(highest, samples[i].T);
        }

        InterlockedMax(ref _highestSent, highest);
        Interlocked.Add(ref _samplesSent, count);
        Interlocked.Increment(ref _batchesSent);
        Interlocked.Add(ref _bytesSent, bytes);
        Volatile.Write(ref _lastSuccessTimestamp, Time.GetTimestamp());
        _metrics?.Sent(count, bytes, Interlocked.Read(ref _highestSent));
    }

    internal void OnFailed(int count, int status, string body)
    {
        Interlocked.Add(ref _samplesFailed, count);
        Interlocked.Increment(ref _batchesFailed);
        _metrics?.SamplesFailed.Inc(count);
        Log.BatchDropped(_logger, Options.Name, count, status, body);
    }

    internal void OnRetry(int shard, int count, int attempt, TimeSpan delay, string failure)
    {
        Interlocked.Add(ref _samplesRetried, count);
        _metrics?.SamplesRetried.Inc(count);
        Log.SendRetry(_logger, Options.Name, shard, count, attempt, failure, (long)delay.TotalMilliseconds);
    }

    /// <summary>A shard finished a batch (acknowledged or dropped): persist what is now acknowledged.</summary>
    internal void OnBatchDone(Shard shard, PendingSample[] samples, int count)
    {
        _ = shard;
        _ = samples;
        _metrics?.Pending.Dec(count);
        Persist();
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Interlocked.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private void Initialize()
    {
        var minShards = Options.Queue.MinShards;
        var stored = _store.Load();
        int shardCount;
        if (stored is not null)
        {
            _startAt = stored.Committed;
            if (stored.ShardCount >= minShards && stored.ShardCount <= Options.Queue.MaxShards)
            {
                // Same shard layout as before: the per-shard marks say exactly what was acknowledged.
                _resume = stored;
                shardCount = stored.ShardCount;
            }
            else
            {
                Log.PositionIgnored(_logger, Options.Name, _store.Path, stored.Committed.Segment, stored.Committed.Offset);
                shardCount = minShards;
            }
        }
        else
        {
            _startAt = Options.StartAtWalEnd ? EndOfWal() : default;
            shardCount = minShards;
        }

        _committed = _startAt;
        _readPosition = _startAt;
        _retainFrom = _startAt.Segment;
        _desiredShards = shardCount;
        StartShards(shardCount);
        Persist();
        _store.Sync();
        Log.Started(_logger, Options.Name, Options.Url!.ToString(), _startAt.Segment, _startAt.Offset);
        _watcher = RunWatcherAsync(_stopReading.Token);
        _sharding = RunShardUpdatesAsync(_stopReading.Token);
        _syncing = RunPositionSyncAsync(_stopSending.Token);
    }

    private WalPosition EndOfWal()
    {
        var segments = WalWriter.ListSegments(_walDirectory);
        if (segments.Count == 0)
        {
            return default;
        }

        var (index, path) = segments[^1];
        return new WalPosition(index, new FileInfo(path).Length);
    }

    private void StartShards(int count)
    {
        var shards = new Shard[count];
        for (var i = 0; i < count; i++)
        {
            shards[i] = new Shard(this, i, Options.Queue);
        }

        Volatile.Write(ref _shards, shards);
        foreach (var s in shards)
        {
            s.Start(_stopSending.Token);
        }

        _metrics?.Shards.Set(count);
    }

    /// <summary>
    /// Computes what is acknowledged — the position before the oldest unacknowledged sample (or the read position when
    /// every shard is empty) and each shard's last acknowledged sample — and writes it.
    /// </summary>
    private void Persist()
    {
        lock (_positionLock)
        {
            // Read the reader's position first: a sample queued after this read belongs to a later record.
            var committed = ReadPosition;
            var shards = Volatile.Read(ref _shards);
            var marks = new SampleId?[shards.Length];
            for (var i = 0; i < shards.Length; i++)
            {
                if (shards[i].OldestPending() is { } oldest && oldest.Record < committed)
                {
                    committed = oldest.Record;
                }

                marks[i] = shards[i].Acked ?? (_resume is { } r && i < r.Marks.Length ? r.Marks[i] : null);
            }

            if (committed < _committed)
            {
                // Never move backwards (a resumed shard's queue may start before the stored position).
                committed = _committed;
            }

            _committed = committed;
            Volatile.Write(ref _retainFrom, committed.Segment);
            try
            {
                _store.Save(new PositionState(committed, shards.Length, marks));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                Log.PositionWriteFailed(_logger, Options.Name, ex);
            }
        }
    }

    private async Task RunPositionSyncAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Options.PositionSyncInterval, Time);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                _store.Sync();
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                Log.PositionWriteFailed(_logger, Options.Name, ex);
            }
        }
    }

    private async Task RunShardUpdatesAsync(CancellationToken cancellationToken)
    {
        var calculator = new ShardCalculator(Options.Queue.MinShards, Options.Queue.MaxShards, Options.ShardUpdateInterval);
        long lastIn = 0, lastOut = 0, lastTicks = 0;
        using var timer = new PeriodicTimer(Options.ShardUpdateInterval, Time);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            var queued = Interlocked.Read(ref _samplesQueued);
            var sent = Interlocked.Read(ref _samplesSent);
            var ticks = Interlocked.Read(ref _sendTicks);
            var read = Interlocked.Read(ref _highestRead);
            var highestSent = Interlocked.Read(ref _highestSent);
            var delay = read == long.MinValue || highestSent == long.MinValue ? 0 : (read - highestSent) / 1000.0;
            var desired = calculator.Update(Volatile.Read(ref _shards).Length, queued - lastIn, sent - lastOut, TimeSpan.FromTicks(ticks - lastTicks).TotalSeconds, delay);
            (lastIn, lastOut, lastTicks) = (queued, sent, ticks);

            // Resharding waits for the shards to flush; while sends fail that would stall, so keep the count then.
            var lastSuccess = Volatile.Read(ref _lastSuccessTimestamp);
            if (lastSuccess == 0 || Time.GetElapsedTime(lastSuccess) > Options.ShardUpdateInterval * 2)
            {
                continue;
            }

            Volatile.Write(ref _desiredShards, desired);
            _metrics?.DesiredShards.Set(desired);
        }
    }

    private async Task ReshardAsync(int to, CancellationToken cancellationToken)
    {
        var old = Volatile.Read(ref _shards);
        Log.Resharding(_logger, Options.Name, old.Length, to);
        foreach (var s in old)
        {
            s.Close();
        }

        foreach (var s in old)
        {
            await s.Loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        // Every queued sample is acknowledged now: the marks of the old layout are no longer needed.
        _resume = null;
        StartShards(to);
        Persist();
    }

    private async Task RunWatcherAsync(CancellationToken cancellationToken)
    {
        var watcher = new WalWatcher(this);
        try
        {
            await watcher.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private SeriesEntry? MakeEntry(Labels labels)
    {
        var merged = labels;
        if (_externalLabels.Count > 0)
        {
            var list = new List<Label>(labels.Count + _externalLabels.Count);
            list.AddRange(labels.AsSpan());
            foreach (var e in _externalLabels.AsSpan())
            {
                if (!labels.Has(e.Name))
                {
                    list.Add(e);
                }
            }

            merged = Labels.From(list.ToArray());
        }

        var relabeled = Options.Relabeler.IsEmpty ? merged : Options.Relabeler.Process(merged);
        return relabeled is null || relabeled.Count == 0 ? null : new SeriesEntry(relabeled, _nextSeriesId++);
    }

    /// <summary>The WAL watcher: reads the checkpoint and segments for series, then tails segments, queueing samples.</summary>
    private sealed class WalWatcher(RemoteWriteSender owner)
    {
        private readonly List<RefSeries> _seriesBuffer = [];
        private readonly List<RefSample> _sampleBuffer = [];

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var dir = owner._walDirectory;
            if (WriteAheadLog.LatestCheckpoint(dir) is { } checkpoint)
            {
                // Series only: a checkpoint's samples were in segments already sent (or deleted before we ran).
                foreach (var (index, path) in WalWriter.ListSegments(checkpoint.Path))
                {
                    using var r = new WalSegmentReader(path, index);
                    while (r.Next())
                    {
                        if (WalRecords.TypeOf(r.Record) == WalRecordType.Series)
                        {
                            ApplySeries(r.Record, new WalPosition(index, r.LastGoodOffset));
                        }
                    }
                }
            }

            var start = owner._startAt;
            var segments = WalWriter.ListSegments(dir);
            var segment = segments.Count > 0 ? segments[0].Index : start.Segment;
            var offset = 0L;
            if (segments.Count > 0 && start.Segment < segment && start != default)
            {
                MissedSegments(start.Segment, segment);
            }

            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var path = Path.Combine(dir, WalWriter.SegmentName(segment));
                var newer = NextSegmentAfter(segment);
                WalCorruption? corruption;
                try
                {
                    using var reader = new WalSegmentReader(path, segment, offset);
                    while (true)
                    {
                        var recordStart = reader.LastGoodOffset;
                        if (!reader.Next())
                        {
                            break;
                        }

                        var at = new WalPosition(segment, recordStart);
                        if (Decode(reader.Record, at))
                        {
                            await EnqueueAsync(at, cancellationToken).ConfigureAwait(false);
                        }

                        offset = reader.LastGoodOffset;
                        AdvanceReadPosition(new WalPosition(segment, offset));
                    }

                    corruption = reader.Corruption;
                }
                catch (FileNotFoundException)
                {
                    // Deleted (by a checkpoint while no sender held it, or before we started), or not created yet.
                    if (newer is { } n)
                    {
                        if (offset > 0 || segment >= start.Segment)
                        {
                            MissedSegments(segment, n);
                        }

                        (segment, offset) = (n, 0);
                        continue;
                    }

                    await Task.Delay(owner.Options.WalPollInterval, owner.Time, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                if (newer is { } next)
                {
                    // The writer had moved on before this read, so the segment was complete: what stopped us is its end.
                    if (corruption is { } bad)
                    {
                        Interlocked.Increment(ref owner._segmentCorruptions);
                        Log.SegmentCorrupt(owner._logger, owner.Options.Name, segment, bad.BadOffset, bad.Reason);
                    }

                    (segment, offset) = (next, 0);
                    AdvanceReadPosition(new WalPosition(segment, 0));
                    continue;
                }

                // The live segment: a torn record at its end is one being written; look again shortly.
                await Task.Delay(owner.Options.WalPollInterval, owner.Time, cancellationToken).ConfigureAwait(false);
            }
        }

        private void AdvanceReadPosition(WalPosition position)
        {
            lock (owner._readLock)
            {
                if (position > owner._readPosition)
                {
                    owner._readPosition = position;
                }
            }
        }

        private void MissedSegments(int from, int next)
        {
            Interlocked.Add(ref owner._segmentsMissed, next - from);
            Log.SegmentsMissed(owner._logger, owner.Options.Name, from, next - 1, next);
        }

        private int? NextSegmentAfter(int segment)
        {
            int? best = null;
            foreach (var (index, _) in WalWriter.ListSegments(owner._walDirectory))
            {
                if (index > segment && (best is null || index < best))
                {
                    best = index;
                }
            }

            return best;
        }

        /// <summary>Applies a Series record, or decodes a Samples record into the buffer (true: samples to queue).</summary>
        private bool Decode(ReadOnlySpan<byte> record, WalPosition at)
        {
            switch (WalRecords.TypeOf(record))
            {
                case WalRecordType.Series:
                    ApplySeries(record, at);
                    return false;
                case WalRecordType.Samples:
                    if (at < owner._startAt)
                    {
                        return false;
                    }

                    _sampleBuffer.Clear();
                    try
                    {
                        WalRecords.DecodeSamples(record, _sampleBuffer);
                    }
                    catch (InvalidDataException ex)
                    {
                        Log.RecordUndecodable(owner._logger, owner.Options.Name, at.Segment, at.Offset, ex.Message);
                        return false;
                    }

                    return _sampleBuffer.Count > 0;
                default:
                    return false;
            }
        }

        private async ValueTask EnqueueAsync(WalPosition at, CancellationToken cancellationToken)
        {
            var shards = Volatile.Read(ref owner._shards);
            var desired = Volatile.Read(ref owner._desiredShards);
            if (desired != shards.Length)
            {
                await owner.ReshardAsync(desired, cancellationToken).ConfigureAwait(false);
                shards = Volatile.Read(ref owner._shards);
            }

            var resume = owner._resume;
            var n = (ulong)shards.Length;
            long queued = 0, dropped = 0, skipped = 0, highest = long.MinValue;
            for (var i = 0; i < _sampleBuffer.Count; i++)
            {
                var s = _sampleBuffer[i];
                if (!owner._series.TryGetValue(s.Ref, out var entry) || entry is null)
                {
                    dropped++;
                    continue;
                }

                highest = Math.Max(highest, s.T);
                var id = new SampleId(at, i);
                var shard = shards[(int)(entry.Hash % n)];
                if (resume is not null && resume.Marks[shard.Index] is { } mark && id.CompareTo(mark) <= 0)
                {
                    skipped++;
                    continue;
                }

                await shard.AddAsync(new PendingSample(entry, s.T, BitConverter.UInt64BitsToDouble(s.V), id), cancellationToken).ConfigureAwait(false);
                queued++;
            }

            InterlockedMax(ref owner._highestRead, highest);
            Interlocked.Add(ref owner._samplesQueued, queued);
            Interlocked.Add(ref owner._samplesDropped, dropped);
            Interlocked.Add(ref owner._samplesSkipped, skipped);
            owner._metrics?.Read(queued, dropped, highest);
        }

        private void ApplySeries(ReadOnlySpan<byte> record, WalPosition at)
        {
            _seriesBuffer.Clear();
            try
            {
                WalRecords.DecodeSeries(record, _seriesBuffer);
            }
            catch (InvalidDataException ex)
            {
                Log.RecordUndecodable(owner._logger, owner.Options.Name, at.Segment, at.Offset, ex.Message);
                return;
            }

            foreach (var s in _seriesBuffer)
            {
                // A reference names one label set for the WAL's lifetime; the checkpoint and a kept segment may both hold it.
                if (!owner._series.ContainsKey(s.Ref))
                {
                    owner._series[s.Ref] = owner.MakeEntry(s.Labels);
                }
            }
        }
    }
}
