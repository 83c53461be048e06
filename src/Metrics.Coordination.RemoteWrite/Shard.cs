using System.Net;
using System.Net.Http.Headers;
using Metrics.Coordination.RemoteWrite.Protocol;
using Metrics.Coordination.RemoteWrite.Wal;

namespace Metrics.Coordination.RemoteWrite;

/// <summary>
/// One shard: a queue of samples (a partial batch plus full batches, at most <c>Capacity</c> samples) and one send loop
/// that sends batches in order, retrying recoverable failures, so the shard acknowledges its samples in WAL order.
/// </summary>
internal sealed class Shard
{
    private readonly RemoteWriteSender _owner;
    private readonly RemoteWriteQueueOptions _queue;
    private readonly Lock _lock = new();
    private readonly Queue<Batch> _ready = new();
    private readonly SemaphoreSlim _dataSignal = new(0);
    private readonly SemaphoreSlim _spaceSignal = new(0);
    private readonly WriteRequestEncoder _encoder = new();
    private byte[] _compressed = [];
    private PendingSample[] _partial;
    private int _partialCount;
    private Batch? _sending;
    private int _pending;
    private bool _producerWaiting;
    private bool _closed;
    private SampleId? _acked;

    public Shard(RemoteWriteSender owner, int index, RemoteWriteQueueOptions queue)
    {
        _owner = owner;
        Index = index;
        _queue = queue;
        _partial = new PendingSample[queue.MaxSamplesPerSend];
    }

    public int Index { get; }

    /// <summary>The last acknowledged (or dropped) sample, or null.</summary>
    public SampleId? Acked
    {
        get
        {
            lock (_lock)
            {
                return _acked;
            }
        }
    }

    public int Pending => Volatile.Read(ref _pending);

    public Task Loop { get; private set; } = Task.CompletedTask;

    public void Start(CancellationToken sendCancellation) => Loop = RunAsync(sendCancellation);

    /// <summary>The oldest unacknowledged sample's id, or null when the shard holds none.</summary>
    public SampleId? OldestPending()
    {
        lock (_lock)
        {
            if (_sending is { } s)
            {
                return s.Samples[0].Id;
            }

            if (_ready.TryPeek(out var b))
            {
                return b.Samples[0].Id;
            }

            return _partialCount > 0 ? _partial[0].Id : null;
        }
    }

    /// <summary>Queues a sample; waits while the shard holds <c>Capacity</c> samples or more.</summary>
    public ValueTask AddAsync(in PendingSample sample, CancellationToken cancellationToken)
    {
        bool full;
        lock (_lock)
        {
            _partial[_partialCount++] = sample;
            _pending++;
            if (_partialCount == _partial.Length)
            {
                _ready.Enqueue(new Batch(_partial, _partialCount));
                _partial = new PendingSample[_queue.MaxSamplesPerSend];
                _partialCount = 0;
                _dataSignal.Release();
            }

            full = _pending >= _queue.Capacity;
            if (full)
            {
                _producerWaiting = true;
            }
        }

        return full ? WaitForSpaceAsync(cancellationToken) : ValueTask.CompletedTask;
    }

    /// <summary>Stops taking samples; the loop sends what is queued, then ends.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _closed = true;
        }

        _dataSignal.Release();
    }

    private async ValueTask WaitForSpaceAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await _spaceSignal.WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                if (_pending < _queue.Capacity)
                {
                    return;
                }

                _producerWaiting = true;
            }
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var time = _owner.Time;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Batch? batch = null;
            bool closed;
            lock (_lock)
            {
                closed = _closed;
                if (_ready.TryDequeue(out var b))
                {
                    batch = b;
                }
                else if (closed && _partialCount > 0)
                {
                    batch = TakePartialLocked();
                }

                _sending = batch;
            }

            if (batch is null)
            {
                if (closed)
                {
                    return;
                }

                using (var deadline = new CancellationTokenSource(_queue.BatchSendDeadline, time))
                using (var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken))
                {
                    try
                    {
                        await _dataSignal.WaitAsync(linked.Token).ConfigureAwait(false);
                        continue;
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        // The batch deadline passed: send whatever has gathered.
                    }
                }

                lock (_lock)
                {
                    if (_ready.Count == 0 && _partialCount > 0)
                    {
                        batch = TakePartialLocked();
                        _sending = batch;
                    }
                }

                if (batch is null)
                {
                    continue;
                }
            }

            await SendAsync(batch, cancellationToken).ConfigureAwait(false);
            lock (_lock)
            {
                _sending = null;
                _pending -= batch.Count;
                _acked = batch.Samples[batch.Count - 1].Id;
                if (_producerWaiting && _pending < _queue.Capacity)
                {
                    _producerWaiting = false;
                    _spaceSignal.Release();
                }
            }

            _owner.OnBatchDone(this, batch.Samples, batch.Count);
        }
    }

    private Batch TakePartialLocked()
    {
        var batch = new Batch(_partial, _partialCount);
        _partial = new PendingSample[_queue.MaxSamplesPerSend];
        _partialCount = 0;
        return batch;
    }

    /// <summary>Sends until acknowledged or dropped (non-recoverable); throws only when cancelled.</summary>
    private async Task SendAsync(Batch batch, CancellationToken cancellationToken)
    {
        var payload = _encoder.Encode(batch.Samples, batch.Count);
        var max = SnappyCodec.GetMaxCompressedLength(payload.Length);
        if (_compressed.Length < max)
        {
            _compressed = new byte[Math.Max(max, _compressed.Length * 2)];
        }

        var length = SnappyCodec.Compress(payload, _compressed);
        var backoff = _queue.MinBackoff;
        var time = _owner.Time;
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var started = time.GetTimestamp();
            TimeSpan? retryAfter = null;
            string failure;
            try
            {
                using var request = _owner.NewRequest(new ReadOnlyMemory<byte>(_compressed, 0, length));
                // Stopping does not cancel a request in flight (only RemoteTimeout does): cancelling one the receiver has
                // already stored would send it again after a restart, and Prometheus refuses repeated samples.
                using var timeout = new CancellationTokenSource(_owner.Options.RemoteTimeout, time);
                using var response = await _owner.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                var code = (int)response.StatusCode;
                _owner.RecordSendTime(time.GetElapsedTime(started));
                if (code is >= 200 and < 300)
                {
                    _owner.OnSent(batch.Samples, batch.Count, length);
                    return;
                }

                var body = await ReadSnippetAsync(response, timeout.Token).ConfigureAwait(false);
                var recoverable = code >= 500 || (code == (int)HttpStatusCode.TooManyRequests && _queue.RetryOnHttp429);
                if (!recoverable)
                {
                    _owner.OnFailed(batch.Count, code, body);
                    return;
                }

                retryAfter = RetryAfter(response.Headers.RetryAfter, time);
                failure = $"HTTP {code}: {body}";
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
            {
                _owner.RecordSendTime(time.GetElapsedTime(started));
                failure = ex is OperationCanceledException ? $"timed out after {_owner.Options.RemoteTimeout.TotalSeconds:0.###} s" : ex.Message;
            }

            var delay = retryAfter ?? backoff;
            _owner.OnRetry(Index, batch.Count, attempt, delay, failure);
            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _queue.MaxBackoff.Ticks));
        }
    }

    private static TimeSpan? RetryAfter(RetryConditionHeaderValue? header, TimeProvider time)
    {
        if (header?.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - time.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    private static async Task<string> ReadSnippetAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        // Error bodies are for the log; 512 characters show Prometheus's message without flooding it.
        const int MaxChars = 512;
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            text = text.Trim();
            return text.Length > MaxChars ? text[..MaxChars] + "..." : text;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            return "(body unreadable: " + ex.Message + ")";
        }
    }

    private sealed record Batch(PendingSample[] Samples, int Count);
}
