using System.Threading.Tasks.Sources;

namespace Metrics.Coordination.ZooKeeper;

/// <summary>What a successful reply registers on the client.</summary>
internal enum WatchRegistration : byte
{
    None,
    Data,
    Child,
    Persistent,
    PersistentRecursive,
}

/// <summary>
/// One request from submission to reply: its arguments, its parsed results and the awaitable the caller waits on.
/// Pooled per client: a caller that read a successful result returns it; a request that failed or was cancelled is
/// left to the GC, because the wire may still hold it (a cancelled request stays in the pending FIFO until its reply
/// arrives and is skipped). Exactly one completion wins (<see cref="TryComplete"/>); continuations always run on the
/// thread pool, never on the read loop.
/// </summary>
internal sealed class Request : IValueTaskSource, IValueTaskSource<DataResult>, IValueTaskSource<Stat>, IValueTaskSource<Stat?>, IValueTaskSource<CreateResult>
{
    /// <summary>Tells the writer to send a ping (xid -2); never completed.</summary>
    public static readonly Request PingMarker = new() { OpCode = OpCode.Ping };

    /// <summary>Wakes the writer so it notices its connection is gone; never completed.</summary>
    public static readonly Request WakeupMarker = new() { OpCode = OpCode.Notification };

    private static readonly Action<object?, CancellationToken> CancelCallback = static (state, token) =>
        ((Request)state!).TryComplete(new OperationCanceledException(token));

    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private int _completed;
    private CancellationTokenRegistration _cancellation;

    // Arguments.
    public OpCode OpCode;
    public int Xid;
    public string? Path;
    public ReadOnlyMemory<byte> Data;
    public int Version;
    public CreateMode Mode;
    public long Ttl;
    public IReadOnlyList<Acl>? Acl;
    public int IntArgument;
    public Action<WatchedEvent>? Watcher;
    public WatchRegistration Registration;
    public IReadOnlyList<Op>? Ops;
    public string? AuthScheme;
    public WatchSnapshot? Watches;
    public long StartTimestamp;
    public bool Sent;

    /// <summary>The request's frame on the wire (length prefix included), counted until its reply arrives.</summary>
    public int FrameBytes;

    // Results.
    public Stat Stat;
    public bool HasStat;
    public byte[]? ResultData;
    public string? ResultPath;
    public List<string>? ResultStrings;
    public List<Acl>? ResultAcl;
    public int ResultInt;
    public List<OpResult>? ResultOps;

    /// <summary>The pool a typed result returns this request to, once read (hot operations without async state machines).</summary>
    public Stack<Request>? Pool;

    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    public short Version16 => _core.Version;

    public ValueTask AsValueTask() => new(this, _core.Version);

    public void Reset()
    {
        _core.Reset();
        _completed = 0;
        _cancellation = default;
        OpCode = default;
        Xid = 0;
        Path = null;
        Data = default;
        Version = -1;
        Mode = CreateMode.Persistent;
        Ttl = -1;
        Acl = null;
        IntArgument = 0;
        Watcher = null;
        Registration = WatchRegistration.None;
        Ops = null;
        AuthScheme = null;
        Watches = null;
        StartTimestamp = 0;
        Sent = false;
        FrameBytes = 0;
        Stat = default;
        HasStat = false;
        ResultData = null;
        ResultPath = null;
        ResultStrings = null;
        ResultAcl = null;
        ResultInt = 0;
        ResultOps = null;
    }

    public void RegisterCancellation(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(CancelCallback, this);
        }
    }

    /// <summary>Completes the request (with <paramref name="error"/>, or successfully); false if it was already completed.</summary>
    public bool TryComplete(Exception? error = null)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return false;
        }

        if (error is null)
        {
            _core.SetResult(true);
        }
        else
        {
            _core.SetException(error);
        }

        return true;
    }

    /// <summary>Called by the owner after a successful await, before reading results and returning it to the pool.</summary>
    public void ReleaseCancellation() => _cancellation.Dispose();

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    // The typed results: read the fields, then go back to the pool (a failed or cancelled request throws first and is
    // left to the GC, since the wire may still hold it).
    DataResult IValueTaskSource<DataResult>.GetResult(short token)
    {
        _core.GetResult(token);
        var result = new DataResult(ResultData ?? [], Stat);
        ReturnToPool();
        return result;
    }

    Stat IValueTaskSource<Stat>.GetResult(short token)
    {
        _core.GetResult(token);
        var result = Stat;
        ReturnToPool();
        return result;
    }

    Stat? IValueTaskSource<Stat?>.GetResult(short token)
    {
        _core.GetResult(token);
        Stat? result = HasStat ? Stat : null;
        ReturnToPool();
        return result;
    }

    CreateResult IValueTaskSource<CreateResult>.GetResult(short token)
    {
        _core.GetResult(token);
        var result = new CreateResult(ResultPath!, Stat);
        ReturnToPool();
        return result;
    }

    private void ReturnToPool()
    {
        _cancellation.Dispose();
        var pool = Pool;
        if (pool is null)
        {
            return;
        }

        lock (pool)
        {
            if (pool.Count < PoolLimit)
            {
                pool.Push(this);
            }
        }
    }

    /// <summary>Enough pooled requests for 1,000 in flight without allocating in steady state.</summary>
    public const int PoolLimit = 2048;
}
