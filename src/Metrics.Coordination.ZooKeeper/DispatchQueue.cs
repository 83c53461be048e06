namespace Metrics.Coordination.ZooKeeper;

/// <summary>
/// The hand-off from the read loop (and the session loop) to the client's dispatcher thread: a list under a monitor.
/// Posting never blocks on the consumer and never runs user code; the dispatcher thread sleeps in
/// <see cref="Monitor.Wait(object)"/> while the list is empty and is woken by the post that fills it.
/// </summary>
/// <remarks>
/// This replaced an unbounded <c>Channel</c> read by an async loop: each notification then cost a thread-pool work
/// item for the loop's continuation, which waited behind whatever else the 2 pool threads of a small machine were
/// running (the watch-latency tail). A dedicated thread, like the Java client's <c>EventThread</c>, is woken by the OS
/// directly. Items are taken a whole list at a time (swapped with the consumer's empty one), so a burst costs one wake-up
/// and no allocation per item.
/// </remarks>
internal sealed class DispatchQueue
{
    // Monitor.Wait/Pulse need a plain object (System.Threading.Lock has no condition variable).
    private readonly object _gate = new();
    private List<DispatchItem> _items = [];
    private bool _completed;
    private bool _waiting;

    /// <summary>Queues <paramref name="item"/>; false once <see cref="Complete"/> was called.</summary>
    public bool Post(in DispatchItem item)
    {
        lock (_gate)
        {
            if (_completed)
            {
                return false;
            }

            _items.Add(item);
            if (_waiting)
            {
                Monitor.Pulse(_gate);
            }

            return true;
        }
    }

    /// <summary>No more items: the consumer drains what is queued, then <see cref="Take"/> returns false.</summary>
    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>
    /// Blocks until items are queued and swaps them into <paramref name="batch"/> (which must be empty: it becomes the
    /// queue's next list); false when completed and drained.
    /// </summary>
    public bool Take(ref List<DispatchItem> batch)
    {
        lock (_gate)
        {
            while (_items.Count == 0)
            {
                if (_completed)
                {
                    return false;
                }

                _waiting = true;
                Monitor.Wait(_gate);
                _waiting = false;
            }

            (batch, _items) = (_items, batch);
            return true;
        }
    }
}
