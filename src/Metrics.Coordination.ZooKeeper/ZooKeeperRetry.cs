using Metrics.Coordination.Shared;

namespace Metrics.Coordination.ZooKeeper;

/// <summary>Settings of <see cref="ZooKeeperRetry"/>.</summary>
public sealed class ZooKeeperRetryOptions
{
    /// <summary>The most attempts, the first included. Default: 5.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The delay before the second attempt; doubles per attempt, with jitter. Default: 50 ms.</summary>
    public TimeSpan InitialDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The longest delay between attempts. Default: 2 s.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long an attempt after a connection loss waits for the client to reconnect (on top of the delay).
    /// Default: 10 s.
    /// </summary>
    public TimeSpan ReconnectWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The clock for delays. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}

/// <summary>
/// Retries a ZooKeeper operation only when that is safe. A <see cref="ConnectionLossException"/> whose request never
/// left the client is always retried; one whose outcome is unknown (<see cref="ConnectionLossException.RequestSent"/>)
/// and an <see cref="OperationTimeoutException"/> are retried only for operations declared idempotent (reads,
/// versioned writes, creates of fixed paths whose NodeExists the caller handles; never sequential creates).
/// Throttling is always retried (the server did not apply it); every other error, and the terminal ones (expired
/// session, failed auth, closed client), are thrown at once.
/// </summary>
public static class ZooKeeperRetry
{
    /// <summary>Whether retrying <paramref name="exception"/> is safe for an operation that is (or is not) idempotent.</summary>
    public static bool IsSafeToRetry(ZooKeeperException exception, bool idempotent)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            ConnectionLossException loss => !loss.RequestSent || idempotent,
            ThrottledException => true,
            OperationTimeoutException or SessionMovedException => idempotent,
            _ => false,
        };
    }

    /// <summary>Runs <paramref name="operation"/>, retrying as described on <see cref="ZooKeeperRetry"/>.</summary>
    public static async Task<T> ExecuteAsync<T>(ZooKeeperClient client, Func<CancellationToken, ValueTask<T>> operation, bool idempotent, ZooKeeperRetryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(operation);
        options ??= new ZooKeeperRetryOptions();
        if (options.MaxAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxAttempts, "MaxAttempts must be at least 1.");
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await operation(cancellationToken).ConfigureAwait(false);
            }
            catch (ZooKeeperException ex) when (attempt < options.MaxAttempts && IsSafeToRetry(ex, idempotent))
            {
                var delay = Backoff.Delay(options.InitialDelay, options.MaxDelay, attempt);
                await Task.Delay(delay, options.TimeProvider, cancellationToken).ConfigureAwait(false);
                if (ex is ConnectionLossException && client.State is not (ZooKeeperState.Connected or ZooKeeperState.ConnectedReadOnly))
                {
                    using var wait = new CancellationTokenSource(options.ReconnectWait, options.TimeProvider);
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, wait.Token);
                    try
                    {
                        await client.WaitUntilConnectedAsync(linked.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        // Not back yet: the next attempt fails fast with ConnectionLoss (unsent) and counts.
                    }
                }
            }
        }
    }

    /// <summary>Runs <paramref name="operation"/>, retrying as described on <see cref="ZooKeeperRetry"/>.</summary>
    public static async Task ExecuteAsync(ZooKeeperClient client, Func<CancellationToken, ValueTask> operation, bool idempotent, ZooKeeperRetryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(operation);
        await ExecuteAsync<bool>(
            client,
            async ct =>
            {
                await operation(ct).ConfigureAwait(false);
                return true;
            },
            idempotent,
            options,
            cancellationToken).ConfigureAwait(false);
    }
}
