using System.Collections.Concurrent;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes.Config;

/// <summary>
/// The config watcher's start-up warm-up (a rehearsed change through the real notification and read path) leaves no
/// trace: no event, no parser call beyond the initial load's, no server watch beyond the watcher's own, nothing seen by
/// another watcher on the same client, and the watcher keeps working. Its own fixture (one server) so that the server's
/// watch list holds only this test's watches.
/// </summary>
public class ConfigWatcherWarmUpTests : ServerFixture
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Start_NodeModeWarmUp_NoEventNoParseNoExtraWatch_StillSeesChanges()
    {
        var path = UniquePath("warm");
        var writer = await ConnectAsync();
        await writer.CreateAsync(path, Bytes("one"));
        var source = await RecoveringClientAsync();
        var ancestor = new EventLog();
        await source.Current.AddWatchAsync(Root, ancestor.Watcher, AddWatchMode.PersistentRecursive);
        var (watcher, recorder) = Start(source, new() { Path = path });

        (await watcher.WaitForInitialLoadAsync(Wait))!.Value.Should().Be("one");
        await watcher.WarmedUp.WaitAsync(Wait);
        await AssertNoTraceAsync(recorder, ancestor, [Root, path], parses: 1);
        recorder.Changes.Select(c => (c.Kind, c.NewValue!.Value)).Should().Equal((ConfigChangeKind.Created, "one"));

        await writer.SetDataAsync(path, Bytes("two"));
        await Eventually(() => Task.FromResult(recorder.Changes.Count == 2), Wait, "the change after the warm-up is reported");
        recorder.Changes.Select(c => (c.Kind, c.NewValue!.Value)).Should().Equal((ConfigChangeKind.Created, "one"), (ConfigChangeKind.Updated, "two"));
        recorder.Parses.Should().Be(2);
        (await ancestor.WaitForAsync(e => e.Path == path, Wait)).Type.Should().Be(EventType.NodeDataChanged);
        ancestor.Events.Should().ContainSingle("the application's watcher on the same client saw the real change only");
        await Eventually(async () => (await WatchedPathsAsync()).Count == 2, Wait, "the one-shot watch is re-armed, still one per path");
    }

    [Test]
    public async Task Start_SubtreeWarmUp_NoEventNoParseNoExtraWatch_StillSeesChanges()
    {
        var root = UniquePath("tree");
        var writer = await ConnectAsync();
        await writer.CreateAsync(root, Array.Empty<byte>());
        await writer.CreateAsync(root + "/a", Bytes("a1"));
        await writer.CreateAsync(root + "/b", Bytes("b1"));
        var source = await RecoveringClientAsync();
        var ancestor = new EventLog();
        await source.Current.AddWatchAsync(Root, ancestor.Watcher, AddWatchMode.PersistentRecursive);
        var (watcher, recorder) = Start(source, new() { Path = root, Mode = ConfigWatchMode.Subtree });

        await watcher.WaitForInitialLoadAsync(Wait);
        await watcher.WarmedUp.WaitAsync(Wait);
        await AssertNoTraceAsync(recorder, ancestor, [Root, root], parses: 2);
        recorder.Changes.Select(c => (c.Path[root.Length..], c.Kind)).Should().BeEquivalentTo([("/a", ConfigChangeKind.Created), ("/b", ConfigChangeKind.Created)]);

        await writer.SetDataAsync(root + "/b", Bytes("b2"));
        await Eventually(() => Task.FromResult(recorder.Changes.Count == 3), Wait, "the change after the warm-up is reported");
        recorder.Changes.Last().Should().Match<ConfigChange<string>>(c => c.Path == root + "/b" && c.Kind == ConfigChangeKind.Updated && c.NewValue!.Value == "b2");
        recorder.Parses.Should().Be(3);
        (await ancestor.WaitForAsync(e => e.Path == root + "/b", Wait)).Type.Should().Be(EventType.NodeDataChanged);
        ancestor.Events.Should().ContainSingle("the application's watcher on the same client saw the real change only");
    }

    private (ZooKeeperConfigWatcher<string> Watcher, Recorder Recorder) Start(RecoveringZooKeeperClient source, ZooKeeperConfigWatcherOptions<string> options)
    {
        var recorder = new Recorder();
        options.Parser = data =>
        {
            Interlocked.Increment(ref recorder.ParseCount);
            return ConfigParsers.Utf8(data);
        };
        var watcher = Own(new ZooKeeperConfigWatcher<string>(source, options));
        watcher.Changed += (_, c) => recorder.Changes.Enqueue(c);
        watcher.ParseFailed += (_, e) => recorder.Errors.Enqueue(e);
        watcher.Resynchronized += (_, r) => recorder.Resyncs.Enqueue(r);
        return (watcher, recorder);
    }

    private async Task AssertNoTraceAsync(Recorder recorder, EventLog ancestor, string[] watchedPaths, int parses)
    {
        recorder.Parses.Should().Be(parses, "the parser ran for the initial load only");
        recorder.Errors.Should().BeEmpty();
        recorder.Resyncs.Should().Equal("initial load");

        // On the server: the watcher's watch and the application's, nothing on a rehearsal path.
        var watched = await WatchedPathsAsync();
        watched.Keys.Should().BeEquivalentTo(watchedPaths);
        watched.Values.Should().OnlyContain(sessions => sessions == 1, "one session watches each path");

        // The application's recursive watch on an ancestor, on the same client, was not called by the rehearsal.
        ancestor.Events.Should().BeEmpty();
    }

    /// <summary>The server's watches (<c>wchp</c>): watched path -> number of sessions watching it.</summary>
    private async Task<Dictionary<string, int>> WatchedPathsAsync()
    {
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        string? current = null;
        var wchp = await Server.FourLetterWordAsync("wchp");
        wchp.Should().NotContain("whitelist", "the fixture's server allows wchp");
        foreach (var line in wchp.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('/'))
            {
                current = line.Trim();
                result[current] = 0;
            }
            else if (current is not null && line.Trim().StartsWith("0x", StringComparison.Ordinal))
            {
                result[current]++;
            }
        }

        return result;
    }

    private sealed class Recorder
    {
        public int ParseCount;

        public ConcurrentQueue<ConfigChange<string>> Changes { get; } = new();

        public ConcurrentQueue<ConfigParseError> Errors { get; } = new();

        public ConcurrentQueue<string> Resyncs { get; } = new();

        public int Parses => Volatile.Read(ref ParseCount);
    }
}
