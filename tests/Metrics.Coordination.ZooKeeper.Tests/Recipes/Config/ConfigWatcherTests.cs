using System.Collections.Concurrent;
using System.Text.Json;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes.Config;

public class ConfigWatcherTests : ServerFixture
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    [Test]
    public async Task Watchers_ThousandRapidUpdates_EveryWatcherEndsInLastValueWithoutGoingBack()
    {
        var path = UniquePath("burst");
        var writer = await ConnectAsync();
        await writer.CreateAsync(path, Bytes("start"));
        var watchers = new List<ZooKeeperConfigWatcher<string>>();
        var versions = new List<ConcurrentQueue<int>>();
        for (var i = 0; i < 4; i++)
        {
            var watcher = Own(new ZooKeeperConfigWatcher<string>(await RecoveringClientAsync(Server.ConnectionString), new() { Path = path, Parser = ConfigParsers.Utf8 }));
            var seen = new ConcurrentQueue<int>();
            watcher.Changed += (_, c) => seen.Enqueue(c.NewValue!.Stat.Version);
            (await watcher.WaitForInitialLoadAsync(Wait))!.Value.Should().Be("start");
            watchers.Add(watcher);
            versions.Add(seen);
        }

        // 1,000 sets, pipelined 50 at a time: far faster than a watcher can read each one.
        for (var batch = 0; batch < 20; batch++)
        {
            var sets = new List<Task>();
            for (var i = 0; i < 50; i++)
            {
                sets.Add(writer.SetDataAsync(path, Bytes($"v{(batch * 50) + i + 1}")).AsTask());
            }

            await Task.WhenAll(sets);
        }

        foreach (var (watcher, seen) in watchers.Zip(versions))
        {
            await Eventually(() => Task.FromResult(watcher.Current?.Value == "v1000"), Wait, "every watcher ends in the last value");
            watcher.Current!.Stat.Version.Should().Be(1000);
            await Eventually(() => Task.FromResult(seen.LastOrDefault() == 1000), Wait, "the last change event carries version 1000");
            seen.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems("a coalescing watcher never reports an older version after a newer one");
            seen.Count.Should().BeLessThanOrEqualTo(1001);
        }
    }

    [Test]
    public async Task BrokenUpdate_KeepsLastGoodValue_ReportsEventLogAndError()
    {
        var path = UniquePath("json");
        var writer = await ConnectAsync();
        await writer.CreateAsync(path, Bytes("""{"name":"a","replicas":2}"""));
        var logs = new CapturingLoggerFactory();
        var watcher = Own(new ZooKeeperConfigWatcher<Settings>(await RecoveringClientAsync(Server.ConnectionString), new()
        {
            Path = path,
            Parser = ConfigParsers.Json<Settings>(),
            LoggerFactory = logs,
        }));
        var failures = new ConcurrentQueue<ConfigParseError>();
        var changes = new ConcurrentQueue<ConfigChange<Settings>>();
        watcher.ParseFailed += (_, e) => failures.Enqueue(e);
        watcher.Changed += (_, c) => changes.Enqueue(c);
        (await watcher.WaitForInitialLoadAsync(Wait))!.Value.Replicas.Should().Be(2);

        await writer.SetDataAsync(path, Bytes("""{"name":"a","replicas":"""));
        await Eventually(() => Task.FromResult(!failures.IsEmpty), Wait, "the broken version is reported");
        var failure = failures.Single();
        failure.Path.Should().Be(path);
        failure.Stat.Version.Should().Be(1);
        failure.Exception.Should().BeAssignableTo<JsonException>();
        watcher.Current!.Value.Replicas.Should().Be(2, "the last good value stays");
        watcher.Current.Stat.Version.Should().Be(0);
        watcher.LastError.Should().Be(failure);
        watcher.Errors.Should().ContainKey(path);
        logs.Entries.Should().Contain(e => e.EventId.Id == 4603 && e.Level == Microsoft.Extensions.Logging.LogLevel.Error && e.Message.Contains(path));

        await writer.SetDataAsync(path, Bytes("""{"name":"b","replicas":3}"""));
        await Eventually(() => Task.FromResult(watcher.Current?.Value.Replicas == 3), Wait, "a good version after the broken one is taken");
        watcher.Errors.Should().BeEmpty();
        await Eventually(() => Task.FromResult(changes.Count == 2), Wait, "created, then updated once");
        var update = changes.Last();
        update.Kind.Should().Be(ConfigChangeKind.Updated);
        update.OldValue!.Value.Replicas.Should().Be(2, "old value = the last good one, not the broken one");
        update.NewValue!.Value.Name.Should().Be("b");
        update.NewValue.Stat.Version.Should().Be(2);
        failures.Should().HaveCount(1, "a bad version is reported once");
    }

    [Test]
    public async Task InitialVersionBroken_WaitForInitialLoadThrowsParseException()
    {
        var path = UniquePath("broken");
        var writer = await ConnectAsync();
        await writer.CreateAsync(path, Bytes("not: [yaml"));
        var watcher = Own(new ZooKeeperConfigWatcher<Settings>(await RecoveringClientAsync(Server.ConnectionString), new() { Path = path, Parser = ConfigParsers.Yaml<Settings>() }));
        var thrown = await FluentActions.Awaiting(() => watcher.WaitForInitialLoadAsync(Wait)).Should().ThrowAsync<ZooKeeperConfigParseException>();
        thrown.Which.Error.Path.Should().Be(path);
        watcher.Current.Should().BeNull();

        await writer.SetDataAsync(path, Bytes("name: fixed\nreplicas: 5\n"));
        await Eventually(() => Task.FromResult(watcher.Current?.Value.Replicas == 5), Wait, "the YAML fix is picked up");
        watcher.Current!.Value.Name.Should().Be("fixed");
    }

    [Test]
    public async Task NodeAbsent_CreatedThenDeleted_ReportedExplicitly()
    {
        var path = UniquePath("absent");
        var watcher = Own(new ZooKeeperConfigWatcher<string>(await RecoveringClientAsync(Server.ConnectionString), new() { Path = path, Parser = ConfigParsers.Utf8 }));
        var changes = new ConcurrentQueue<ConfigChange<string>>();
        watcher.Changed += (_, c) => changes.Enqueue(c);
        (await watcher.WaitForInitialLoadAsync(Wait)).Should().BeNull("the node does not exist yet");
        watcher.IsLoaded.Should().BeTrue();

        var writer = await ConnectAsync();
        await writer.CreateAsync(path, Bytes("hello"));
        await Eventually(() => Task.FromResult(watcher.Current?.Value == "hello"), Wait, "creation is seen through the exists watch");
        await writer.DeleteAsync(path);
        await Eventually(() => Task.FromResult(watcher.Current is null && changes.Count == 2), Wait, "deletion is reported");
        changes.Select(c => c.Kind).Should().Equal(ConfigChangeKind.Created, ConfigChangeKind.Deleted);
        changes.Last().OldValue!.Value.Should().Be("hello");
        changes.Last().NewValue.Should().BeNull();

        // Re-created with the same data and version 0: seen as new by its creation zxid.
        await writer.CreateAsync(path, Bytes("hello"));
        await Eventually(() => Task.FromResult(changes.Count == 3), Wait, "re-creation is reported");
        changes.Last().Kind.Should().Be(ConfigChangeKind.Created);
    }

    [Test]
    public async Task UpdatesDuringConnectionCut_PickedUpAfterReconnect()
    {
        await using var proxy = new TcpProxy(Server.ClientPort);
        var path = UniquePath("cut");
        var writer = await ConnectAsync();
        await writer.CreateAsync(path, Bytes("before"));
        var source = await RecoveringClientAsync(proxy.Endpoint);
        var watcher = Own(new ZooKeeperConfigWatcher<string>(source, new() { Path = path, Parser = ConfigParsers.Utf8 }));
        var resyncs = new ConcurrentQueue<string>();
        watcher.Resynchronized += (_, reason) => resyncs.Enqueue(reason);
        (await watcher.WaitForInitialLoadAsync(Wait))!.Value.Should().Be("before");
        var client = source.Current;

        proxy.RefuseNewConnections = true;
        proxy.CutAll();
        await Eventually(() => Task.FromResult(client.State == ZooKeeperState.Suspended), Wait, "the watcher's client noticed the cut");
        for (var i = 1; i <= 20; i++)
        {
            await writer.SetDataAsync(path, Bytes($"during-{i}"));
        }

        watcher.Current!.Value.Should().Be("before", "the watcher cannot see anything while cut off");
        proxy.RefuseNewConnections = false;
        await Eventually(() => Task.FromResult(watcher.Current?.Value == "during-20"), Wait, "the update made during the cut is read after the reconnect");
        client.SessionId.Should().Be(source.Current.SessionId, "same session, only the connection was cut");
        await Eventually(() => Task.FromResult(resyncs.Contains("reconnected")), Wait, "the reconnect re-read is signalled");
    }

    [Test]
    public async Task SessionExpiry_NewSessionReReadsAndKeepsWatching()
    {
        await using var proxy = new TcpProxy(Server.ClientPort);
        var path = UniquePath("expiry");
        var writer = await ConnectAsync();
        await writer.CreateAsync(path, Bytes("one"));
        var source = Own(await RecoveringZooKeeperClient.ConnectAsync(Options(proxy.Endpoint, TimeSpan.FromSeconds(2))));
        var watcher = Own(new ZooKeeperConfigWatcher<string>(source, new() { Path = path, Parser = ConfigParsers.Utf8 }));
        (await watcher.WaitForInitialLoadAsync(Wait))!.Value.Should().Be("one");
        var first = source.Current;

        proxy.BlackHole = true;
        await Eventually(() => Task.FromResult(first.State == ZooKeeperState.Expired), Wait, "the session expires behind the black hole");
        await writer.SetDataAsync(path, Bytes("two"));
        proxy.BlackHole = false;
        proxy.CutAll();

        await Eventually(() => Task.FromResult(watcher.Current?.Value == "two"), Wait, "a new session re-reads the node");
        source.SessionCount.Should().Be(2);
        await writer.SetDataAsync(path, Bytes("three"));
        await Eventually(() => Task.FromResult(watcher.Current?.Value == "three"), Wait, "the new session's watch is armed");
    }

    [Test]
    public async Task Subtree_SeesChildAddsChangesAndDeletes()
    {
        var root = UniquePath("tree");
        var writer = await ConnectAsync();
        await writer.CreateAsync(root, Array.Empty<byte>());
        await writer.CreateAsync(root + "/a", Bytes("1"));
        var watcher = Own(new ZooKeeperConfigWatcher<string>(await RecoveringClientAsync(Server.ConnectionString), new() { Path = root, Mode = ConfigWatchMode.Subtree, Parser = ConfigParsers.Utf8 }));
        var changes = new ConcurrentQueue<ConfigChange<string>>();
        watcher.Changed += (_, c) => changes.Enqueue(c);
        (await watcher.WaitForInitialLoadAsync(Wait)).Should().BeNull("the root holds no data");
        watcher.Nodes.Keys.Should().BeEquivalentTo([root + "/a"]);

        await writer.CreateAsync(root + "/dir", Array.Empty<byte>());
        await writer.CreateAsync(root + "/dir/b", Bytes("2"));
        await Eventually(() => Task.FromResult(watcher.Nodes.ContainsKey(root + "/dir/b")), Wait, "a grandchild add is seen");
        await writer.SetDataAsync(root + "/a", Bytes("1b"));
        await Eventually(() => Task.FromResult(watcher.Nodes.GetValueOrDefault(root + "/a")?.Value == "1b"), Wait, "a child change is seen");
        await writer.DeleteAsync(root + "/dir/b");
        await Eventually(() => Task.FromResult(!watcher.Nodes.ContainsKey(root + "/dir/b")), Wait, "a delete is seen");
        watcher.Nodes.Keys.Should().BeEquivalentTo([root + "/a"], "the empty directory node is structure, not a value");

        await Eventually(() => Task.FromResult(changes.Count >= 4), Wait, "four changes in all");
        changes.Select(c => (c.Path[root.Length..], c.Kind)).Should().Equal(
            ("/a", ConfigChangeKind.Created),
            ("/dir/b", ConfigChangeKind.Created),
            ("/a", ConfigChangeKind.Updated),
            ("/dir/b", ConfigChangeKind.Deleted));
    }

    [Test]
    public async Task Subtree_ChangesDuringCut_ResyncedIncludingDeletes()
    {
        await using var proxy = new TcpProxy(Server.ClientPort);
        var root = UniquePath("treecut");
        var writer = await ConnectAsync();
        await writer.CreateAsync(root, Array.Empty<byte>());
        await writer.CreateAsync(root + "/keep", Bytes("k"));
        await writer.CreateAsync(root + "/gone", Bytes("g"));
        var source = await RecoveringClientAsync(proxy.Endpoint);
        var watcher = Own(new ZooKeeperConfigWatcher<string>(source, new() { Path = root, Mode = ConfigWatchMode.Subtree, Parser = ConfigParsers.Utf8 }));
        await watcher.WaitForInitialLoadAsync(Wait);
        watcher.Nodes.Should().HaveCount(2);

        proxy.RefuseNewConnections = true;
        proxy.CutAll();
        await Eventually(() => Task.FromResult(source.Current.State == ZooKeeperState.Suspended), Wait, "cut");
        await writer.DeleteAsync(root + "/gone");
        await writer.SetDataAsync(root + "/keep", Bytes("k2"));
        await writer.CreateAsync(root + "/new", Bytes("n"));
        proxy.RefuseNewConnections = false;

        await Eventually(() => Task.FromResult(watcher.Nodes.Count == 2 && watcher.Nodes.GetValueOrDefault(root + "/keep")?.Value == "k2" && watcher.Nodes.ContainsKey(root + "/new")), Wait, "the persistent watch replays nothing, the re-read finds everything");
        watcher.Nodes.Should().NotContainKey(root + "/gone");
    }

    [Test]
    public async Task HandlerThrows_LoggedAndCounted_LaterEventsStillDelivered()
    {
        var path = UniquePath("throw");
        var writer = await ConnectAsync();
        await writer.CreateAsync(path, Bytes("0"));
        var logs = new CapturingLoggerFactory();
        var watcher = Own(new ZooKeeperConfigWatcher<string>(await RecoveringClientAsync(Server.ConnectionString), new() { Path = path, Parser = ConfigParsers.Utf8, LoggerFactory = logs }));
        var seen = new ConcurrentQueue<string>();
        watcher.Changed += (_, c) =>
        {
            seen.Enqueue(c.NewValue!.Value);
            throw new InvalidOperationException("handler bug");
        };
        await watcher.WaitForInitialLoadAsync(Wait);
        await writer.SetDataAsync(path, Bytes("1"));
        await Eventually(() => Task.FromResult(seen.Contains("1")), Wait, "events keep flowing after a handler threw");
        logs.Entries.Should().Contain(e => e.EventId.Id == 4600 && e.Exception is InvalidOperationException);
    }

    [Test]
    public async Task SlowHandler_UpdatesMeanwhile_CoalescedIntoOneReadOfTheLatest()
    {
        var path = UniquePath("slow");
        var writer = await ConnectAsync();
        await writer.CreateAsync(path, Bytes("0"));
        var watcher = Own(new ZooKeeperConfigWatcher<string>(await RecoveringClientAsync(), new() { Path = path, Parser = ConfigParsers.Utf8 }));
        using var release = new ManualResetEventSlim();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var seen = new ConcurrentQueue<int>();
        watcher.Changed += (_, c) =>
        {
            seen.Enqueue(c.NewValue!.Stat.Version);
            if (c.NewValue.Stat.Version == 1)
            {
                entered.TrySetResult();
                release.Wait(Wait);
            }
        };
        await watcher.WaitForInitialLoadAsync(Wait);

        await writer.SetDataAsync(path, Bytes("1"));
        await entered.Task.WaitAsync(Wait);
        watcher.Current!.Value.Should().Be("1", "the state is updated before the handler runs");
        for (var i = 2; i <= 20; i++)
        {
            await writer.SetDataAsync(path, Bytes($"{i}"));
        }

        release.Set();
        await Eventually(() => Task.FromResult(watcher.Current?.Value == "20" && seen.LastOrDefault() == 20), Wait, "the latest version is read once the handler returns");
        seen.Where(v => v > 0).Should().Equal([1, 20], "the 19 writes during the handler are one change: the watch re-armed by version 1's read fired once, and the read after the handler finds version 20");
    }

    [Test]
    public async Task WaitForInitialLoad_ServerUnreachable_TimesOutNamingThePath()
    {
        await using var proxy = new TcpProxy(Server.ClientPort);
        var source = await RecoveringClientAsync(proxy.Endpoint);
        proxy.BlackHole = true;
        var watcher = Own(new ZooKeeperConfigWatcher<string>(source, new() { Path = "/nowhere", Parser = ConfigParsers.Utf8 }));
        var thrown = await FluentActions.Awaiting(() => watcher.WaitForInitialLoadAsync(TimeSpan.FromSeconds(1))).Should().ThrowAsync<TimeoutException>();
        thrown.Which.Message.Should().Contain("/nowhere");
        watcher.IsLoaded.Should().BeFalse();
        proxy.BlackHole = false;
        proxy.CutAll();
        (await watcher.WaitForInitialLoadAsync(Wait)).Should().BeNull("loads once the server is reachable again");
    }


    public sealed class Settings
    {
        public string Name { get; set; } = string.Empty;

        public int Replicas { get; set; }
    }
}
