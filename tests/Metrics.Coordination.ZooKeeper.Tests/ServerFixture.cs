using System.Text;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests;

/// <summary>One standalone server per fixture class (OneTimeSetUp); tests use unique paths under <see cref="Root"/>.</summary>
[Category("Integration")]
public abstract class ServerFixture
{
    private readonly List<ZooKeeperClient> _clients = [];
    private readonly OwnedResources _owned = new();

    protected ZooKeeperServer Server { get; private set; } = null!;

    /// <summary>A per-fixture root node, created in setup.</summary>
    protected string Root { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        Server = await ZooKeeperServer.StartAsync();
        Root = "/t-" + GetType().Name + "-" + Guid.NewGuid().ToString("N")[..8];
        await using var client = await ZooKeeperClient.ConnectAsync(Options(Server.ConnectionString));
        await client.CreateAsync(Root, Array.Empty<byte>());
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }

    [TearDown]
    public async Task CloseClients()
    {
        await _owned.DisposeAllAsync();
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        _clients.Clear();
    }

    protected static ZooKeeperClientOptions Options(string connectionString, TimeSpan? sessionTimeout = null) => new()
    {
        ConnectionString = connectionString,
        SessionTimeout = sessionTimeout ?? TimeSpan.FromSeconds(10),
        ConnectTimeout = TimeSpan.FromSeconds(15),
    };

    /// <summary>A client to the fixture's server (closed after the test).</summary>
    protected async Task<ZooKeeperClient> ConnectAsync(string? connectionString = null, TimeSpan? sessionTimeout = null, Action<ZooKeeperClientOptions>? configure = null)
    {
        var options = Options(connectionString ?? Server.ConnectionString, sessionTimeout);
        configure?.Invoke(options);
        var client = await ZooKeeperClient.ConnectAsync(options);
        _clients.Add(client);
        return client;
    }

    /// <summary>Closes <paramref name="disposable"/> after the test (newest first, before the plain clients).</summary>
    protected T Own<T>(T disposable)
        where T : IAsyncDisposable => _owned.Own(disposable);

    /// <summary>A session-replacing client (what recipes run on) to the fixture's server, closed after the test.</summary>
    protected async Task<RecoveringZooKeeperClient> RecoveringClientAsync(string? connectionString = null) =>
        Own(await RecoveringZooKeeperClient.ConnectAsync(Options(connectionString ?? Server.ConnectionString)));

    protected string UniquePath(string name = "n") => $"{Root}/{name}-{Guid.NewGuid():N}";

    protected static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    protected static async Task Eventually(Func<Task<bool>> condition, TimeSpan timeout, string because)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(50);
        }

        (await condition()).Should().BeTrue(because);
    }
}

/// <summary>Collects watch events for assertions.</summary>
public sealed class EventLog
{
    private readonly List<WatchedEvent> _events = [];
    private readonly Lock _lock = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Action<WatchedEvent> Watcher => OnEvent;

    public IReadOnlyList<WatchedEvent> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    public async Task<WatchedEvent> WaitForAsync(Func<WatchedEvent, bool> match, TimeSpan? timeout = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                var found = _events.FirstOrDefault(match);
                if (found is not null)
                {
                    return found;
                }

                changed = _changed.Task;
            }

            var left = limit - clock.Elapsed;
            if (left <= TimeSpan.Zero || await Task.WhenAny(changed, Task.Delay(left)) != changed)
            {
                throw new AssertionException($"No matching watch event within the timeout; got: {string.Join(", ", Events)}");
            }
        }
    }

    private void OnEvent(WatchedEvent e)
    {
        lock (_lock)
        {
            _events.Add(e);
            _changed.TrySetResult();
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }
}
