using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Rules.PromQL.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Metrics.Coordination.Rules.Tests.Evaluation;

public sealed class RuleManagerTests
{
    private const long Minute = 60_000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private string _dir = null!;

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("rule-manager-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string yaml)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    /// <summary>Advances fake time in small steps (so timers registered meanwhile fire) until <paramref name="condition"/> holds.</summary>
    private static async Task AdvanceUntilAsync(FakeTimeProvider time, TimeSpan step, Func<bool> condition)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            started.Elapsed.Should().BeLessThan(Patience, "the condition should hold after advancing fake time");
            time.Advance(step);
            await Task.Delay(5);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            started.Elapsed.Should().BeLessThan(Patience);
            await Task.Delay(5);
        }
    }

    private static (RuleManager Manager, FakeTimeProvider Time, InMemoryPromQLStorage Storage, RecordingSender Sender, MetricRegistry Registry) Create()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000));
        var storage = new InMemoryPromQLStorage();
        var sender = new RecordingSender();
        var registry = new MetricRegistry();
        var manager = new RuleManager(new RuleManagerOptions
        {
            Queryable = storage,
            Appendable = storage,
            AlertSender = sender,
            TimeProvider = time,
            EvaluationInterval = TimeSpan.FromMinutes(1),
            MetricRegistry = registry,
        });
        return (manager, time, storage, sender, registry);
    }

    [Test]
    public async Task Start_EvaluatesEachGroupOnItsAlignedSchedule()
    {
        var (manager, time, storage, _, _) = Create();
        await using var _ = manager;
        using var __ = storage;
        StorageReader.Load(storage, "x", (time.GetUtcNow().ToUnixTimeMilliseconds(), 5));
        var file = Write("r.yml", "groups:\n- name: g\n  interval: 10s\n  rules:\n  - record: y\n    expr: x * 2\n");
        await manager.LoadAsync([file]);
        manager.Start();

        await AdvanceUntilAsync(time, TimeSpan.FromSeconds(1), () => manager.GetRuleGroups()[0].LastEvaluation is not null);
        var group = manager.GetRuleGroups()[0];
        var first = group.LastEvaluation!.Value.ToUnixTimeMilliseconds();
        group.Rules[0].Health.Should().Be(RuleHealth.Ok);
        group.Interval.Should().Be(TimeSpan.FromSeconds(10));

        await AdvanceUntilAsync(time, TimeSpan.FromSeconds(1), () => manager.GetRuleGroups()[0].LastEvaluation!.Value.ToUnixTimeMilliseconds() > first);
        var second = manager.GetRuleGroups()[0].LastEvaluation!.Value.ToUnixTimeMilliseconds();
        (second - first).Should().Be(10_000, "evaluations are one interval apart at the group's stable offset");
        StorageReader.Samples(storage, Labels.FromStrings("__name__", "y")).Should().Contain((first, 10.0));
    }

    [Test]
    public async Task Loop_StalledClock_CountsMissedIterationsInsteadOfBunching()
    {
        var (manager, time, storage, _, registry) = Create();
        await using var _ = manager;
        using var __ = storage;
        var file = Write("r.yml", "groups:\n- name: g\n  interval: 10s\n  rules:\n  - record: y\n    expr: vector(1)\n");
        await manager.LoadAsync([file]);
        manager.Start();
        await AdvanceUntilAsync(time, TimeSpan.FromSeconds(1), () => manager.GetRuleGroups()[0].LastEvaluation is not null);
        var first = manager.GetRuleGroups()[0].LastEvaluation!.Value.ToUnixTimeMilliseconds();

        // Jump 55 s at once: the loop runs one evaluation for the latest slot and counts the 4 slots in between as missed.
        time.Advance(TimeSpan.FromSeconds(55));
        await WaitUntilAsync(() => manager.GetRuleGroups()[0].LastEvaluation!.Value.ToUnixTimeMilliseconds() > first);
        var last = manager.GetRuleGroups()[0].LastEvaluation!.Value.ToUnixTimeMilliseconds();
        last.Should().Be(first + 50_000);
        var writes = StorageReader.Samples(storage, Labels.FromStrings("__name__", "y"));
        writes.Select(s => s.T).Should().Equal(first, last);
        var key = file + ";g";
        var exposition = registry.ToText();
        exposition.Should().Contain($"rule_group_iterations_missed_total{{rule_group=\"{key}\"}} 4");
    }

    [Test]
    public async Task LoadAsync_BadFile_KeepsPreviousSetAndSaysWhy()
    {
        var (manager, _, storage, _, _) = Create();
        await using var _ = manager;
        using var __ = storage;
        var good = Write("good.yml", "groups:\n- name: g\n  rules:\n  - record: y\n    expr: vector(1)\n");
        await manager.LoadAsync([good]);
        var bad = Write("bad.yml", "groups:\n- name: g\n  rules:\n  - record: 'not valid'\n    expr: sum(\n");
        var act = () => manager.LoadAsync([bad]);
        var problems = (await act.Should().ThrowAsync<RuleFileException>()).Which.Problems;
        problems.Should().HaveCount(2);
        manager.LastReloadError.Should().Contain("invalid recording rule name: not valid");
        manager.GetRuleGroups().Should().ContainSingle().Which.File.Should().Be(good);

        await manager.LoadAsync([good]);
        manager.LastReloadError.Should().BeNull();
    }

    [Test]
    public async Task LoadAsync_BrokenVersionOfALoadedFile_ListsItInFileErrorsAndOnItsGroupsUntilFixed()
    {
        var (manager, _, storage, _, _) = Create();
        await using var _ = manager;
        using var __ = storage;
        var a = Write("a.yml", "groups:\n- name: a\n  rules:\n  - record: y\n    expr: vector(1)\n");
        var b = Write("b.yml", "groups:\n- name: b\n  rules:\n  - record: z\n    expr: vector(2)\n");
        await manager.LoadAsync([a, b]);
        manager.FileErrors.Should().BeEmpty();

        Write("a.yml", "groups:\n- name: a\n  rules:\n  - record: y\n    expr: sum(\n");
        var neverLoaded = Write("c.yml", "groups: [ { name: c, rules: [ { record: w, expr: 'x +' } ] } ]\n");
        var act = () => manager.LoadAsync([a, b, neverLoaded]);
        await act.Should().ThrowAsync<RuleFileException>();

        manager.FileErrors.Keys.Should().BeEquivalentTo([a, neverLoaded], "one entry per refused file");
        manager.FileErrors[a].Should().StartWith(a + ": 5:").And.Contain("group \"a\", rule 1, \"y\": ", "the error names the file, line, column and rule");
        var groups = manager.GetRuleGroups();
        groups.Select(g => g.Name).Should().Equal(["a", "b"], "the last good set keeps running");
        groups[0].FileError.Should().Be(manager.FileErrors[a]);
        groups[1].FileError.Should().BeNull("b.yml itself is fine");

        Write("a.yml", "groups:\n- name: a\n  rules:\n  - record: y\n    expr: vector(3)\n");
        await manager.LoadAsync([a, b]);
        manager.FileErrors.Should().BeEmpty();
        manager.GetRuleGroups().Should().OnlyContain(g => g.FileError == null);
    }

    [Test]
    public async Task SetFileErrors_FromAnotherLoader_ShownOnTheGroupsOfThatFileOnly()
    {
        var (manager, _, storage, _, _) = Create();
        await using var _ = manager;
        using var __ = storage;
        var files = new List<RuleFile>
        {
            RuleFileParser.Parse("groups: [ { name: g1, rules: [ { record: y, expr: vector(1) } ] } ]", "/rules/one"),
            RuleFileParser.Parse("groups: [ { name: g2, rules: [ { record: z, expr: vector(1) } ] } ]", "/rules/two"),
        };
        await manager.UpdateAsync(files);

        var errors = new Dictionary<string, string> { ["/rules/two"] = "/rules/two: 1:40: broken", ["/rules/three"] = "/rules/three: 2:1: broken" };
        manager.SetFileErrors(errors);
        errors.Clear();

        manager.FileErrors.Should().HaveCount(2, "the dictionary is copied");
        manager.GetRuleGroups().Select(g => g.FileError).Should().Equal([null, "/rules/two: 1:40: broken"]);
        await manager.UpdateAsync(files);
        manager.GetRuleGroups()[1].FileError.Should().NotBeNull("only the loader that reported them clears them");
        manager.SetFileErrors(new Dictionary<string, string>());
        manager.GetRuleGroups().Should().OnlyContain(g => g.FileError == null);
        manager.FileErrors.Should().BeEmpty();
    }

    [Test]
    public async Task LoadAsync_Reload_CarriesAlertStateForUnchangedRules()
    {
        var (manager, time, storage, sender, _) = Create();
        await using var _ = manager;
        using var __ = storage;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        StorageReader.Load(storage, "x", Enumerable.Range(0, 20).Select(i => (now + (i * 30_000L), 1.0)).ToArray());
        var file = Write("r.yml", "groups:\n- name: g\n  interval: 30s\n  rules:\n  - alert: A\n    expr: x > 0\n    for: 1h\n");
        await manager.LoadAsync([file]);
        manager.Start();
        await AdvanceUntilAsync(time, TimeSpan.FromSeconds(5), () => manager.GetAlerts().Count == 1);
        var activeAt = manager.GetAlerts()[0].ActiveAt;
        activeAt.Should().NotBeNull();

        // Same rule, another annotation: state carries over. Then a changed expression: state starts over.
        Write("r.yml", "groups:\n- name: g\n  interval: 30s\n  rules:\n  - alert: A\n    expr: x > 0\n    for: 1h\n    annotations: {a: b}\n");
        await manager.LoadAsync([file]);
        manager.GetAlerts().Should().ContainSingle().Which.ActiveAt.Should().Be(activeAt);
        Write("r.yml", "groups:\n- name: g\n  interval: 30s\n  rules:\n  - alert: A\n    expr: x >= 1\n    for: 1h\n");
        await manager.LoadAsync([file]);
        manager.GetAlerts().Should().BeEmpty();
        sender.Batches.Should().BeEmpty("pending alerts are not sent");
    }

    [Test]
    public async Task DisposeAsync_StopsLoops()
    {
        var (manager, time, storage, _, _) = Create();
        using var __ = storage;
        var file = Write("r.yml", "groups:\n- name: g\n  interval: 10s\n  rules:\n  - record: y\n    expr: vector(1)\n");
        await manager.LoadAsync([file]);
        manager.Start();
        await AdvanceUntilAsync(time, TimeSpan.FromSeconds(1), () => manager.GetRuleGroups()[0].LastEvaluation is not null);
        await manager.DisposeAsync();
        var count = StorageReader.Samples(storage, Labels.FromStrings("__name__", "y")).Count;
        time.Advance(TimeSpan.FromMinutes(5));
        await Task.Delay(50);
        StorageReader.Samples(storage, Labels.FromStrings("__name__", "y")).Should().HaveCount(count);
    }

    [Test]
    public async Task LoadAsync_GroupRemoved_MarksItsSeriesStale()
    {
        var (manager, time, storage, _, _) = Create();
        await using var _ = manager;
        using var __ = storage;
        var one = Write("one.yml", "groups:\n- name: g\n  interval: 10s\n  rules:\n  - record: y\n    expr: vector(1)\n");
        var two = Write("two.yml", "groups:\n- name: h\n  interval: 10s\n  rules:\n  - record: z\n    expr: vector(1)\n");
        await manager.LoadAsync([one, two]);
        manager.Start();
        await AdvanceUntilAsync(time, TimeSpan.FromSeconds(1), () => manager.GetRuleGroups().All(g => g.LastEvaluation is not null));
        await manager.LoadAsync([one]);
        var z = StorageReader.Samples(storage, Labels.FromStrings("__name__", "z"));
        StaleMarker.IsStale(z[^1].V).Should().BeTrue();
        manager.GetRuleGroups().Should().ContainSingle();
    }
}
