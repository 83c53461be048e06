using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper.Recipes.Internal;

/// <summary>
/// Curator's "protected" create of contender nodes, plus container parents. A sequential create that fails with
/// <see cref="ConnectionLossException"/> after it was sent may or may not have happened, and the client never learns
/// the name the server generated: retrying blindly leaves an orphan of our own live session in the queue (it never
/// goes away and blocks everyone behind it). So the name carries a random UUID (<c>_c_&lt;uuid&gt;-</c>, see
/// <see cref="ContenderNames"/>) and, before retrying, the parent is listed and a child with our UUID is adopted.
/// </summary>
internal static class ProtectedCreate
{
    /// <summary>Tries of the create + parent creation loop when a container parent vanishes in between (reaped by the server).</summary>
    private const int MaxParentRaces = 10;

    /// <summary>
    /// Creates <c>parentPath/_c_&lt;id&gt;-&lt;lockName&gt;&lt;seq&gt;</c> with <paramref name="mode"/> (normally
    /// <see cref="CreateMode.EphemeralSequential"/>), creating missing parents as containers. A connection loss is
    /// retried once the client is connected again (same session): first by looking for a child carrying
    /// <paramref name="id"/> and adopting it (for ephemeral modes only if this session owns it; a node of another
    /// session is deleted), else by creating again. Returns the node's path and Stat (<see cref="Stat.Czxid"/> is the
    /// create's zxid, for an adopted node too).
    /// </summary>
    /// <param name="client">The client (one session: a session change fails the call).</param>
    /// <param name="parentPath">The queue's parent node.</param>
    /// <param name="lockName">The name between the protection prefix and the sequence, e.g. <c>latch-</c>.</param>
    /// <param name="id">The protection UUID: fresh per create. The caller keeps it to clean up with a later session
    /// (<see cref="DeleteByIdAsync"/>) if this call ends with <see cref="SessionExpiredException"/>.</param>
    /// <param name="data">The node's data (Curator stores the participant id).</param>
    /// <param name="mode">The create mode (a sequential one).</param>
    /// <param name="logger">Where adoption and cleanup are logged.</param>
    /// <param name="cancellationToken">Cancels the create. If the create may have happened, the node is deleted
    /// (listed by its UUID and deleted, retried while the session lives) before the cancellation is rethrown.</param>
    /// <exception cref="SessionExpiredException">The session ended: the node, if any, dies with it (server side).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; no node of ours is left.</exception>
    public static async Task<CreateResult> CreateAsync(ZooKeeperClient client, string parentPath, string lockName, Guid id, ReadOnlyMemory<byte> data, CreateMode mode, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(logger);
        var path = ContenderNames.ProtectedPath(parentPath, id, lockName);
        var ephemeral = mode is CreateMode.Ephemeral or CreateMode.EphemeralSequential;
        var maybeCreated = false;
        var needParents = false;
        var parentRaces = 0;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var creating = false;
                try
                {
                    if (maybeCreated)
                    {
                        var adopted = await TryAdoptAsync(client, parentPath, id, ephemeral, logger, cancellationToken).ConfigureAwait(false);
                        if (adopted is { } found)
                        {
                            RecipeLog.AdoptedProtectedNode(logger, path, found.Path);
                            return found;
                        }

                        maybeCreated = false;
                    }

                    if (needParents)
                    {
                        await EnsurePathAsync(client, parentPath, logger, cancellationToken).ConfigureAwait(false);
                        needParents = false;
                    }

                    // From here until an answer, the create may have happened (cancellation included).
                    creating = true;
                    maybeCreated = true;
                    return await client.CreateAsync(path, data, mode, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (NoNodeException) when (creating && parentRaces++ < MaxParentRaces)
                {
                    // The server answered NoNode: nothing was created. Make the parents (containers) and try again.
                    maybeCreated = false;
                    needParents = true;
                }
                catch (ZooKeeperException ex) when (ex is ConnectionLossException or OperationTimeoutException or SessionMovedException)
                {
                    if (creating && ex is ConnectionLossException { RequestSent: false })
                    {
                        // Never left the client: certainly not created.
                        maybeCreated = false;
                    }

                    await WaitConnectedAsync(client, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (maybeCreated && (ex is OperationCanceledException || (ex is ZooKeeperException && ex is not SessionExpiredException)))
        {
            // Cancelled (or failed for good) after a create that may have happened: leave no orphan behind.
            await DeleteByIdAsync(client, parentPath, id, logger, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Deletes every child of <paramref name="parentPath"/> carrying protection <paramref name="id"/> (a node whose
    /// create was abandoned, or ours from an earlier session), retrying connection losses while the session lives.
    /// Failures are logged (the node then goes when its session ends); never throws except for cancellation.
    /// </summary>
    public static async Task DeleteByIdAsync(ZooKeeperClient client, string parentPath, Guid id, ILogger logger, CancellationToken cancellationToken)
    {
        var prefix = ContenderNames.ProtectionPrefix(id);
        while (true)
        {
            try
            {
                ChildrenResult children;
                try
                {
                    children = await client.GetChildrenAsync(parentPath, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (NoNodeException)
                {
                    return;
                }

                foreach (var child in children.Children)
                {
                    if (child.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        var childPath = ContenderNames.JoinPath(parentPath, child);
                        await DeleteIfExistsAsync(client, childPath, cancellationToken).ConfigureAwait(false);
                        RecipeLog.DeletedAbandonedNode(logger, childPath);
                    }
                }

                return;
            }
            catch (ZooKeeperException ex) when (ex.IsTransient && !IsTerminal(client))
            {
                try
                {
                    await WaitConnectedAsync(client, cancellationToken).ConfigureAwait(false);
                }
                catch (ZooKeeperException terminal)
                {
                    RecipeLog.AbandonedDeleteFailed(logger, id, parentPath, client.SessionId, terminal);
                    return;
                }
            }
            catch (Exception ex) when (ex is ZooKeeperException or ObjectDisposedException)
            {
                RecipeLog.AbandonedDeleteFailed(logger, id, parentPath, client.SessionId, ex);
                return;
            }
        }
    }

    /// <summary>
    /// Deletes <paramref name="path"/> (any version), retrying connection losses while the session lives. Returns
    /// true when it is gone (deleted, or already absent); false when the session ended first (an ephemeral node then
    /// goes with it) or the server refused.
    /// </summary>
    public static async Task<bool> GuaranteedDeleteAsync(ZooKeeperClient client, string path, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await DeleteIfExistsAsync(client, path, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (ZooKeeperException ex) when (ex.IsTransient && !IsTerminal(client))
            {
                try
                {
                    await WaitConnectedAsync(client, cancellationToken).ConfigureAwait(false);
                }
                catch (ZooKeeperException)
                {
                    return false;
                }
            }
            catch (Exception ex) when (ex is ZooKeeperException or ObjectDisposedException)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Creates <paramref name="path"/> and its missing ancestors as containers (the server deletes a container once it
    /// has had children and is empty again, so election paths do not pile up), falling back to persistent nodes on
    /// servers without containers (before 3.5: Unimplemented). An existing node is fine.
    /// </summary>
    public static async Task EnsurePathAsync(ZooKeeperClient client, string path, ILogger logger, CancellationToken cancellationToken)
    {
        if (path == "/")
        {
            return;
        }

        var end = 0;
        while (end >= 0)
        {
            end = path.IndexOf('/', end + 1);
            var prefix = end < 0 ? path : path[..end];
            try
            {
                await client.CreateAsync(prefix, ReadOnlyMemory<byte>.Empty, CreateMode.Container, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (NodeExistsException)
            {
                // Already there.
            }
            catch (ZooKeeperException ex) when (ex is UnimplementedException || ex.Code is ErrorCode.MarshallingError)
            {
                RecipeLog.ContainerFallback(logger, prefix);
                try
                {
                    await client.CreateAsync(prefix, ReadOnlyMemory<byte>.Empty, CreateMode.Persistent, cancellationToken: cancellationToken).ConfigureAwait(false);
                }
                catch (NodeExistsException)
                {
                    // Raced with another creator.
                }
            }
        }
    }

    /// <summary>Waits until <paramref name="client"/> is connected; throws the terminal error if its session ended.</summary>
    public static async Task WaitConnectedAsync(ZooKeeperClient client, CancellationToken cancellationToken)
    {
        if (client.State is ZooKeeperState.Connected)
        {
            return;
        }

        try
        {
            await client.WaitUntilConnectedAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException ex)
        {
            throw new SessionExpiredException(null, "The ZooKeeper client was closed: " + ex.Message);
        }
    }

    /// <summary>Whether the client's session is over (expired, auth failed, closed).</summary>
    public static bool IsTerminal(ZooKeeperClient client) => client.State is ZooKeeperState.Expired or ZooKeeperState.AuthFailed or ZooKeeperState.Closed;

    private static async Task DeleteIfExistsAsync(ZooKeeperClient client, string path, CancellationToken cancellationToken)
    {
        try
        {
            await client.DeleteAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (NoNodeException)
        {
            // Already gone.
        }
    }

    private static async Task<CreateResult?> TryAdoptAsync(ZooKeeperClient client, string parentPath, Guid id, bool ephemeral, ILogger logger, CancellationToken cancellationToken)
    {
        ChildrenResult children;
        try
        {
            children = await client.GetChildrenAsync(parentPath, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (NoNodeException)
        {
            return null;
        }

        var prefix = ContenderNames.ProtectionPrefix(id);
        foreach (var child in children.Children)
        {
            if (!child.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var childPath = ContenderNames.JoinPath(parentPath, child);
            var stat = await client.ExistsAsync(childPath, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (stat is not { } s)
            {
                continue;
            }

            if (ephemeral && s.EphemeralOwner != client.SessionId)
            {
                // Created by an earlier session (the caller reused the id): it dies with that session; never adopt it.
                RecipeLog.ForeignSessionNode(logger, childPath, s.EphemeralOwner, client.SessionId);
                await DeleteIfExistsAsync(client, childPath, cancellationToken).ConfigureAwait(false);
                continue;
            }

            return new CreateResult(childPath, s);
        }

        return null;
    }
}
