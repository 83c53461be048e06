using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes;

/// <summary>A 3-member ensemble per fixture class; clients (and their latches) opened by a test are closed after it.</summary>
[Category("Integration")]
public abstract class ElectionFixture
{
    private readonly OwnedResources _owned = new();

    protected ZooKeeperEnsemble Ensemble { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartEnsemble() => Ensemble = await ZooKeeperEnsemble.StartAsync(3);

    [OneTimeTearDown]
    public async Task StopEnsemble()
    {
        if (Ensemble is not null)
        {
            await Ensemble.DisposeAsync();
        }
    }

    [TearDown]
    public Task DisposeOwned() => _owned.DisposeAllAsync();

    protected static string ElectionPath() => "/election-" + Guid.NewGuid().ToString("N")[..10];

    protected T Own<T>(T disposable)
        where T : IAsyncDisposable => _owned.Own(disposable);

    protected async Task<RecoveringZooKeeperClient> ConnectAsync(string? connectionString = null, TimeSpan? sessionTimeout = null) =>
        Own(await RecoveringZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectionString = connectionString ?? Ensemble.ConnectionString,
            SessionTimeout = sessionTimeout ?? TimeSpan.FromSeconds(10),
            ConnectTimeout = TimeSpan.FromSeconds(30),
        }));

    protected async Task<(LeaderLatch Latch, Recorder Recorder)> StartLatchAsync(RecoveringZooKeeperClient client, string path, string id, LeaderSuspensionPolicy policy = LeaderSuspensionPolicy.DropOnSuspended, bool watchTwoAhead = false)
    {
        var latch = Own(new LeaderLatch(client, new LeaderLatchOptions { Path = path, ParticipantId = id, SuspensionPolicy = policy, CloseMode = LeaderLatchCloseMode.NotifyLeader, WatchTwoAhead = watchTwoAhead }));
        var recorder = new Recorder();
        latch.AddListener(recorder);
        latch.Start();
        await Eventually(() => latch.NodePath is not null, TimeSpan.FromSeconds(30), $"{id} should create its node");
        return (latch, recorder);
    }

    /// <summary>The sum of <c>Total watches</c> over the running members (<c>wchs</c>).</summary>
    protected async Task<int> TotalWatchesAsync()
    {
        var total = 0;
        foreach (var server in Ensemble.Servers.Where(s => s.IsRunning))
        {
            var wchs = await server.FourLetterWordAsync("wchs");
            var match = Regex.Match(wchs, @"Total watches:(\d+)");
            match.Success.Should().BeTrue(wchs);
            total += int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        return total;
    }

    protected static async Task Eventually(Func<bool> condition, TimeSpan timeout, string because)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            clock.Elapsed.Should().BeLessThan(timeout, because);
            await Task.Delay(10);
        }
    }

    protected static async Task Eventually(Func<Task<bool>> condition, TimeSpan timeout, string because)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            clock.Elapsed.Should().BeLessThan(timeout, because);
            await Task.Delay(20);
        }
    }
}

/// <summary>Records leadership callbacks with their Stopwatch time.</summary>
public sealed class Recorder : ILeaderLatchListener
{
    private readonly ConcurrentQueue<Entry> _entries = new();

    public IReadOnlyList<Entry> Entries => [.. _entries];

    public IReadOnlyList<Entry> Elected => [.. _entries.Where(e => e.IsLeader)];

    public IReadOnlyList<Entry> Lost => [.. _entries.Where(e => !e.IsLeader)];

    public void IsLeader(LeaderTerm term) => _entries.Enqueue(new Entry(true, term, null, Stopwatch.GetTimestamp()));

    public void NotLeader(LeaderTerm term, LeadershipLossReason reason) => _entries.Enqueue(new Entry(false, term, reason, Stopwatch.GetTimestamp()));

    public sealed record Entry(bool IsLeader, LeaderTerm Term, LeadershipLossReason? Reason, long Timestamp);
}
