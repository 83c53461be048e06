namespace Metrics.Coordination.ZooKeeper.Tests;

/// <summary>
/// What a test opened and the fixture closes after it, newest first (a recipe before the client it runs on); a
/// disposal that fails or hangs is logged and does not stop the others, so one stuck recipe cannot leak the rest.
/// </summary>
internal sealed class OwnedResources
{
    private static readonly TimeSpan DisposeTimeout = TimeSpan.FromSeconds(30);
    private readonly List<IAsyncDisposable> _owned = [];

    public T Own<T>(T disposable)
        where T : IAsyncDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public async Task DisposeAllAsync()
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            try
            {
                await _owned[i].DisposeAsync().AsTask().WaitAsync(DisposeTimeout);
            }
            catch (Exception ex)
            {
                TestContext.Out.WriteLine($"cleanup: {ex.GetType().Name}: {ex.Message}");
            }
        }

        _owned.Clear();
    }
}
