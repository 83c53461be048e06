using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Rules.PromQL.Testing;
using Metrics.Coordination.Rules.Tests.Notifications;
using Microsoft.Extensions.Time.Testing;

namespace Metrics.Coordination.Rules.Tests.Evaluation;

/// <summary>
/// Two replicas (rule managers on one fake clock) share an <see cref="InMemoryAlertStateStore"/>; leadership moves by
/// switching their gates. The second replica starts seeing the condition later, so its own <c>for</c> clock is later.
/// </summary>
public sealed class AlertStateHandOverTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private string _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("handover-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public async Task LeadershipMoves_FiringAlert_NewLeaderKeepsStartsAtAndResendsOnlyAfterResendDelay()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000));
        var store = new InMemoryAlertStateStore();
        var file = Write("r.yml", "groups:\n- name: g\n  interval: 10s\n  rules:\n  - alert: A\n    expr: x > 0\n    for: 1m\n");
        await using var a = await Replica.StartAsync(time, store, file, "a", new TestGate(true, 10), conditionFromMs: 0);
        await using var b = await Replica.StartAsync(time, store, file, "b", new TestGate(false, 0), conditionFromMs: 3 * 60_000);

        // a fires and sends; b (seeing the condition 3 minutes later) fires on its own clock but sends nothing.
        await AdvanceUntilAsync(time, () => a.Sender.All.Any() && b.Manager.GetAlerts().Any(x => x.State == AlertState.Firing));
        var sentByA = a.Sender.All.First();
        b.Sender.All.Should().BeEmpty("b is not leader");
        var bOwnActiveAt = b.Manager.GetAlerts().Single().ActiveAt;
        bOwnActiveAt.Should().BeAfter(a.Manager.GetAlerts().Single().ActiveAt!.Value);
        await AdvanceUntilAsync(time, () => store.PublishedCount > 0);

        // Leadership moves to b (term 11).
        var movedAt = time.GetUtcNow();
        a.Gate.Set(false, 0);
        b.Gate.Set(true, 11);
        await AdvanceUntilAsync(time, () => b.Sender.All.Any());
        var sentByB = b.Sender.All.First();
        sentByB.StartsAt.Should().Be(sentByA.StartsAt, "the new leader continues the alert with the startsAt Alertmanager knows");
        b.Manager.GetAlerts().Single().ActiveAt.Should().Be(a.Manager.GetAlerts().Single().ActiveAt, "b's own for clock was replaced by the published one");

        // A firing alert's endsAt is its send time + 4 × max(resend delay 1m, interval 10s).
        var aLastSentAt = a.Sender.All.Last().EndsAt!.Value - TimeSpan.FromMinutes(4);
        var bFirstSentAt = sentByB.EndsAt!.Value - TimeSpan.FromMinutes(4);
        bFirstSentAt.Should().BeAfter(aLastSentAt + TimeSpan.FromMinutes(1), "b resends only after the resend delay since a's last send");
        (bFirstSentAt - movedAt).Should().BeLessThan(TimeSpan.FromMinutes(1).Add(TimeSpan.FromSeconds(11)));

        // a, deposed, comes back with its old term's token: its publication is refused (fenced).
        var fencedBefore = store.FencedCount;
        a.Gate.Set(true, 10);
        await AdvanceUntilAsync(time, () => store.FencedCount > fencedBefore);
        (await store.LoadAsync(b.GroupKey)).Should().NotBeNull().And.Match<AlertGroupState>(s => s.FencingToken == 11 && s.Publisher == "b");
    }

    [Test]
    public async Task LeadershipMoves_PendingAlert_NewLeaderFiresOnThePublishedClock()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000));
        var store = new InMemoryAlertStateStore();
        var file = Write("r.yml", "groups:\n- name: g\n  interval: 10s\n  rules:\n  - alert: A\n    expr: x > 0\n    for: 10m\n");
        await using var a = await Replica.StartAsync(time, store, file, "a", new TestGate(true, 1), conditionFromMs: 0);
        await using var b = await Replica.StartAsync(time, store, file, "b", new TestGate(false, 0), conditionFromMs: 4 * 60_000);

        await AdvanceUntilAsync(time, () => b.Manager.GetAlerts().Count == 1 && time.GetUtcNow() - a.Manager.GetAlerts().Single().ActiveAt > TimeSpan.FromMinutes(5));
        var activeAt = a.Manager.GetAlerts().Single().ActiveAt!.Value;
        b.Manager.GetAlerts().Single().ActiveAt.Should().BeAfter(activeAt);
        a.Gate.Set(false, 0);
        b.Gate.Set(true, 2);

        await AdvanceUntilAsync(time, () => b.Sender.All.Any());
        var fired = b.Manager.GetAlerts().Single();
        fired.ActiveAt.Should().Be(activeAt);
        fired.FiredAt.Should().BeOnOrAfter(activeAt.AddMinutes(10)).And.BeBefore(activeAt.AddMinutes(10).AddSeconds(11), "the for clock did not restart at the hand-over");
        b.Sender.All.First().StartsAt.Should().Be(fired.FiredAt!.Value);
        a.Sender.All.Should().BeEmpty("a never saw it fire while leader");
    }

    [Test]
    public async Task NewLeader_StoreFails_SendsNothingThenGivesUpAfterTheAttempts()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000));
        var store = new FailingStore();
        var file = Write("r.yml", "groups:\n- name: g\n  interval: 10s\n  rules:\n  - alert: A\n    expr: x > 0\n");
        await using var a = await Replica.StartAsync(time, store, file, "a", new TestGate(true, 5), conditionFromMs: 0);

        await AdvanceUntilAsync(time, () => store.Loads >= 3 && a.Sender.All.Any());
        store.Loads.Should().Be(3, "the default is 3 attempts; the term is then treated as adopted");
        a.Manager.GetAlerts().Single().State.Should().Be(AlertState.Firing);
    }

    private static async Task AdvanceUntilAsync(FakeTimeProvider time, Func<bool> condition)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            started.Elapsed.Should().BeLessThan(Patience, "the condition should hold after advancing fake time");
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(2);
        }
    }

    private string Write(string name, string yaml)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    private sealed class FailingStore : IAlertStateStore
    {
        private int _loads;

        public int Loads => Volatile.Read(ref _loads);

        public ValueTask<AlertStatePublishResult> PublishAsync(AlertGroupState state, CancellationToken cancellationToken = default) =>
            throw new IOException("store down");

        public ValueTask<AlertGroupState?> LoadAsync(string groupKey, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _loads);
            throw new IOException("store down");
        }
    }

    /// <summary>One replica: its own storage (x = 1 from <c>conditionFromMs</c> after the start), manager, gate and sender.</summary>
    private sealed class Replica : IAsyncDisposable
    {
        private Replica(RuleManager manager, InMemoryPromQLStorage storage, TestGate gate, RecordingSender sender)
        {
            Manager = manager;
            Storage = storage;
            Gate = gate;
            Sender = sender;
        }

        public RuleManager Manager { get; }

        public InMemoryPromQLStorage Storage { get; }

        public TestGate Gate { get; }

        public RecordingSender Sender { get; }

        public string GroupKey => Manager.GetRuleGroups()[0].File + ";" + Manager.GetRuleGroups()[0].Name;

        public static async Task<Replica> StartAsync(FakeTimeProvider time, IAlertStateStore store, string file, string id, TestGate gate, long conditionFromMs)
        {
            var storage = new InMemoryPromQLStorage();
            var start = time.GetUtcNow().ToUnixTimeMilliseconds();
            StorageReader.Load(storage, "x", Enumerable.Range(0, 200).Select(i => start + (i * 10_000L)).Where(t => t >= start + conditionFromMs).Select(t => (t, 1.0)).ToArray());
            var sender = new RecordingSender();
            var manager = new RuleManager(new RuleManagerOptions
            {
                Queryable = storage,
                Appendable = storage,
                AlertSender = sender,
                LeadershipGate = gate,
                AlertStateStore = store,
                InstanceId = id,
                TimeProvider = time,
                ResendDelay = TimeSpan.FromMinutes(1),
            });
            await manager.LoadAsync([file]);
            manager.Start();
            return new Replica(manager, storage, gate, sender);
        }

        public async ValueTask DisposeAsync()
        {
            await Manager.DisposeAsync();
            Storage.Dispose();
        }
    }
}
