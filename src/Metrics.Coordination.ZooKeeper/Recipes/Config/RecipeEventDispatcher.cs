using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.ZooKeeper.Recipes;

/// <summary>
/// Runs a recipe's user callbacks (change events, listeners) in order on one background loop, so a slow or throwing
/// handler never blocks the recipe's own loop or the client's read loop. Exceptions are caught, logged and counted.
/// </summary>
internal sealed class RecipeEventDispatcher : IAsyncDisposable
{
    private readonly Channel<(string Name, Action Callback)> _queue = Channel.CreateUnbounded<(string, Action)>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
    private readonly ILogger _logger;
    private readonly string _recipe;
    private readonly Action _onHandlerError;
    private readonly Task _loop;

    public RecipeEventDispatcher(ILogger logger, string recipe, Action onHandlerError)
    {
        _logger = logger;
        _recipe = recipe;
        _onHandlerError = onHandlerError;
        _loop = RunAsync();
    }

    public void Post(string name, Action callback) => _queue.Writer.TryWrite((name, callback));

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        await Task.Yield();
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var item))
            {
                try
                {
                    item.Callback();
                }
                catch (Exception ex)
                {
                    _onHandlerError();
                    CoordinationRecipeLog.HandlerFailed(_logger, _recipe, item.Name, ex);
                }
            }
        }
    }
}

/// <summary>Client helpers the config, discovery and lock recipes share.</summary>
internal static class RecipeClient
{
    /// <summary>A pause before asking a <see cref="RecoveringZooKeeperClient"/> again when it still hands out an ended session.</summary>
    public static readonly TimeSpan ReplacementPoll = TimeSpan.FromMilliseconds(20);

    public static bool IsTerminal(ZooKeeperState state) => state is ZooKeeperState.Expired or ZooKeeperState.AuthFailed or ZooKeeperState.Closed;

    /// <summary>The holder's client once it is not terminal (the replacement of an expired session may lag the expiry by a moment).</summary>
    public static async Task<ZooKeeperClient> GetLiveClientAsync(RecoveringZooKeeperClient holder, TimeProvider time, CancellationToken token)
    {
        while (true)
        {
            var client = await holder.GetClientAsync(token).ConfigureAwait(false);
            if (!IsTerminal(client.State))
            {
                return client;
            }

            await Task.Delay(ReplacementPoll, time, token).ConfigureAwait(false);
        }
    }
}
