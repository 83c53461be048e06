using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Registry;
using Metrics.Coordination.Rules;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Metrics.Coordination.Hosting.Tests;

/// <summary>Hosts with local parts only: no ZooKeeper, no external server.</summary>
public class LocalHostTests
{
    private const string RecordingRules = """
        groups:
          - name: recording
            interval: 100ms
            rules:
              - record: job:up:sum
                expr: sum by (job) (up)
        """;

    [Test]
    public async Task AddMetricsCoordination_LocalPartsOnly_CollectsItselfEvaluatesRulesAndAlwaysLeads()
    {
        using var dir = new TempDirectory("hosting");
        Directory.CreateDirectory(dir.Combine("rules"));
        File.WriteAllText(dir.Combine("rules", "recording.yml"), RecordingRules);
        await using var host = await TestHost.StartAsync(dir.Path, new Dictionary<string, string?>
        {
            ["Tsdb:SelfCollection:Interval"] = "00:00:00.100",
            ["Rules:Files:0"] = "rules/*.yml",
        });

        var status = host.Status;
        status.IsRunning.Should().BeTrue();
        status.Database.Should().NotBeNull();
        status.Database!.Directory.Should().BeNull("no data directory was configured: the TSDB is in memory");
        status.Leadership.Should().BeSameAs(AlwaysLeaderGate.Instance);
        status.GetLeadership().Should().BeEquivalentTo(new LeadershipStatus { Mode = LeadershipMode.Local, IsLeader = true, FencingToken = 0 });
        status.GetZooKeeperSession().Should().BeNull();
        status.Registry.Should().BeSameAs(host.Host.Services.GetRequiredService<MetricRegistry>());

        // Self-collection writes the registry (the rule manager's own metrics at least) and up{job="self"} into the TSDB.
        await TestHost.Eventually(() => TestHost.Query(status.Database, "up").Any(s => s.Samples.Count >= 2), TimeSpan.FromSeconds(30), "self-collection appends up every 100 ms");
        TestHost.Query(status.Database, "up").Single().Labels.Get("job").Should().Be("self");

        // The recording rule reads it back and records job:up:sum.
        await TestHost.Eventually(() => TestHost.Query(status.Database, "job:up:sum").Any(s => s.Samples.Count > 0), TimeSpan.FromSeconds(30), "the recording rule evaluates every 100 ms");
        var groups = status.GetRuleGroups();
        groups.Should().ContainSingle().Which.Name.Should().Be("recording");
        groups[0].File.Should().Be(dir.Combine("rules", "recording.yml"));
        status.GetRuleSources().Sources.Should().Equal(dir.Combine("rules", "recording.yml"));
        status.GetRuleSources().LastError.Should().BeNull();

        var tsdb = status.GetTsdb()!;
        tsdb.HeadSeries.Should().BeGreaterThan(0);
        tsdb.HeadMinTime.Should().NotBeNull();
        tsdb.HeadMaxTime.Should().BeOnOrAfter(tsdb.HeadMinTime!.Value);
        host.Logs.Entries.Should().Contain(e => e.EventId.Id == 5001, "the start is logged");

        await host.StopAsync();
        status.IsRunning.Should().BeFalse();
        status.Database.Should().BeNull("the parts are released after stop");
        host.Logs.Entries.Should().Contain(e => e.EventId.Id == 5002);
    }

    [Test]
    public async Task AddMetricsCoordination_Defaults_StartsWithInMemoryTsdbAndNoRules()
    {
        using var dir = new TempDirectory("hosting");
        await using var host = await TestHost.StartAsync(dir.Path, new Dictionary<string, string?>());
        host.Status.IsRunning.Should().BeTrue();
        host.Status.Database.Should().NotBeNull();
        host.Status.RuleManager.Should().BeNull("no rule files or ZooKeeper path were configured");
        host.Status.GetRuleGroups().Should().BeEmpty();
        host.Status.GetAlertmanagers().Should().BeEmpty();
    }

    [Test]
    public async Task Components_ThroughTheHostsLife_StartingThenRunningPartsThenStopped()
    {
        using var dir = new TempDirectory("hosting");
        File.WriteAllText(dir.Combine("recording.yml"), RecordingRules);
        using var created = TestHost.Create(dir.Path, new Dictionary<string, string?> { ["Rules:Files:0"] = "recording.yml" }).Host;

        // The accessor ASP.NET Core's MapPrometheusApi() and MapMetricsStatusPage() read is the status object itself.
        var components = created.Services.GetRequiredService<IMetricsCoordinationComponents>();
        var status = created.Services.GetRequiredService<MetricsCoordinationStatus>();
        components.Should().BeSameAs(status);
        components.State.Should().Be(MetricsCoordinationState.Starting);
        components.GetComponent<Abstractions.Storage.IQueryable>().Should().BeNull("the TSDB opens when the host starts");
        components.GetComponent<RuleManager>().Should().BeNull();
        components.GetComponent<ILeadershipGate>().Should().BeSameAs(AlwaysLeaderGate.Instance, "the gate lives as long as the host");
        components.GetComponent<MetricRegistry>().Should().BeSameAs(created.Services.GetRequiredService<MetricRegistry>());

        await created.StartAsync();
        components.State.Should().Be(MetricsCoordinationState.Running);
        status.IsRunning.Should().BeTrue();
        components.GetComponent<Abstractions.Storage.IQueryable>().Should().BeSameAs(status.Database).And.NotBeNull();
        components.GetComponent<TimeSeriesDatabase>().Should().BeSameAs(status.Database);
        components.GetComponent<Abstractions.Storage.IAppendable>().Should().BeSameAs(status.Database);
        components.GetComponent<RuleManager>().Should().BeSameAs(status.RuleManager).And.NotBeNull();
        components.GetComponent<ZooKeeper.ZooKeeperClient>().Should().BeNull("no ZooKeeper is configured");
        components.GetComponent<Rules.Notifications.AlertmanagerNotifier>().Should().BeNull("no Alertmanager is configured");
        components.GetComponent<MetricsCoordinationStatus>().Should().BeSameAs(status);

        await created.StopAsync();
        components.State.Should().Be(MetricsCoordinationState.Stopped);
        status.IsRunning.Should().BeFalse();
        components.GetComponent<Abstractions.Storage.IQueryable>().Should().BeNull("the TSDB is closed");
        components.GetComponent<RuleManager>().Should().BeNull();
    }

    [Test]
    public async Task AddMetricsCoordination_ActionOverload_TsdbDisabled_RunsNothingButTheRegistry()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddMetricsCoordination(o => o.Tsdb.Enabled = false);
        using var host = builder.Build();
        await host.StartAsync();
        var status = host.Services.GetRequiredService<MetricsCoordinationStatus>();
        status.IsRunning.Should().BeTrue();
        status.Database.Should().BeNull();
        status.GetTsdb().Should().BeNull();
        await host.StopAsync();
    }

    [Test]
    public async Task StartAsync_InvalidOptions_FailsWithEverySpecificError()
    {
        using var dir = new TempDirectory("hosting");
        using var host = TestHost.Create(dir.Path, new Dictionary<string, string?>
        {
            ["Tsdb:RetentionSize"] = "-1",
            ["Tsdb:SelfCollection:Interval"] = "00:00:00",
            ["Tsdb:ScrapeJobs:0:JobName"] = "node",
            ["Tsdb:ScrapeJobs:0:Targets:0"] = "no-port",
            ["Tsdb:ScrapeJobs:1:JobName"] = "node",
            ["Tsdb:ScrapeJobs:1:Targets:0"] = "127.0.0.1:9100",
            ["Tsdb:ScrapeJobs:1:Scheme"] = "ftp",
            ["Rules:Files:0"] = "rules/*/x.yml",
            ["Rules:ZooKeeperPath"] = "/rules",
            ["Alerting:Alertmanagers:0"] = "127.0.0.1:9093",
            ["ZooKeeper:Registration:Path"] = "/services/metrics",
        }).Host;

        var start = () => host.StartAsync();
        var error = (await start.Should().ThrowAsync<OptionsValidationException>()).Which;
        error.Failures.Should().BeEquivalentTo(
            "MetricsCoordination:Tsdb:RetentionSize must not be negative (0 turns size retention off); got -1.",
            "MetricsCoordination:Tsdb:SelfCollection:Interval must be a positive whole number of milliseconds; got 00:00:00.",
            "MetricsCoordination:Tsdb:ScrapeJobs:0:Targets:0 'no-port' is not host:port (e.g. 127.0.0.1:9100).",
            "MetricsCoordination:Tsdb:ScrapeJobs:1:JobName 'node' is used by another scrape job; job names must be unique.",
            "MetricsCoordination:Tsdb:ScrapeJobs:1:Scheme must be http or https; got 'ftp'.",
            "MetricsCoordination:Rules:Files:0 'rules/*/x.yml': wildcards are allowed only in the file name part (e.g. rules/*.yml), not in directories.",
            "MetricsCoordination:Rules:ZooKeeperPath '/rules' needs MetricsCoordination:ZooKeeper:ConnectionString.",
            "MetricsCoordination:Alerting:Alertmanagers:0 '127.0.0.1:9093' is not an absolute http or https URL (e.g. http://127.0.0.1:9093).",
            "MetricsCoordination:ZooKeeper:Registration:Path is set but MetricsCoordination:ZooKeeper:ConnectionString is not.");
        host.Services.GetRequiredService<MetricsCoordinationStatus>().IsRunning.Should().BeFalse();
    }

    [Test]
    public async Task StartAsync_RulesWithTsdbDisabled_FailsNamingTheConflict()
    {
        using var dir = new TempDirectory("hosting");
        using var host = TestHost.Create(dir.Path, new Dictionary<string, string?>
        {
            ["Tsdb:Enabled"] = "false",
            ["Rules:Files:0"] = "rules.yml",
        }).Host;

        var start = () => host.StartAsync();
        (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Failures.Should().Equal(
            "MetricsCoordination:Rules need the TSDB (rules read from and record into it), but Tsdb:Enabled is false.");
    }

    [Test]
    public async Task RulesFromDiskGlob_ChangedBrokenFixedAdded_ReloadsKeepsLastGoodSetAndShowsTheError()
    {
        using var dir = new TempDirectory("hosting");
        var rules = dir.Combine("rules");
        Directory.CreateDirectory(rules);
        Replace(Path.Combine(rules, "a.yml"), Group("a", "r1"));
        Replace(Path.Combine(rules, "b.yml"), Group("b", "r1"));
        Replace(Path.Combine(rules, "notes.txt"), "not a rule file");
        await using var host = await TestHost.StartAsync(dir.Path, new Dictionary<string, string?>
        {
            ["Tsdb:SelfCollection:Enabled"] = "false",
            ["Rules:Files:0"] = "rules/*.yml",

            // File-system notifications do the work; the periodic check is the safety net on a loaded machine.
            ["Rules:FileCheckInterval"] = "00:00:01",
        });
        var status = host.Status;
        Shape(status).Should().Equal("a:r1", "b:r1");

        // A changed file is reloaded.
        Replace(Path.Combine(rules, "a.yml"), Group("a", "r1", "r2"));
        // The status is updated right after the manager: wait for both (initial load + this reload).
        await TestHost.Eventually(() => Shape(status).SequenceEqual(["a:r1,r2", "b:r1"]) && status.GetRuleSources().Reloads == 2, TimeSpan.FromSeconds(20), "the changed file is reloaded");

        // A broken file: the whole new set is refused, the last good one keeps running, the error names the file and line.
        Replace(Path.Combine(rules, "b.yml"), Group("b", "r1").Replace("vector(1)", "sum(", StringComparison.Ordinal));
        await TestHost.Eventually(() => status.GetRuleSources().LastError is not null, TimeSpan.FromSeconds(20), "the broken file is noticed");
        var broken = status.GetRuleSources();
        broken.LastError.Should().Contain(Path.Combine(rules, "b.yml"));
        broken.Errors.Keys.Should().Equal(Path.Combine(rules, "b.yml"));
        broken.ReloadFailures.Should().Be(1);
        broken.Reloads.Should().Be(2);
        Shape(status).Should().Equal("a:r1,r2", "b:r1");
        host.Logs.Entries.Should().Contain(e => e.EventId.Id == 5102 && e.Message.Contains("b.yml", StringComparison.Ordinal));

        // Fixed: loaded, error cleared.
        Replace(Path.Combine(rules, "b.yml"), Group("b", "r1", "r2"));
        await TestHost.Eventually(() => Shape(status).SequenceEqual(["a:r1,r2", "b:r1,r2"]) && status.GetRuleSources().Reloads == 3, TimeSpan.FromSeconds(20), "the fixed file is loaded");
        status.GetRuleSources().LastError.Should().BeNull();
        status.GetRuleSources().Errors.Should().BeEmpty();

        // A new file matching the glob joins; a deleted one leaves.
        Replace(Path.Combine(rules, "c.yml"), Group("c", "r1"));
        File.Delete(Path.Combine(rules, "a.yml"));
        await TestHost.Eventually(() => status.GetRuleSources().Sources.SequenceEqual([Path.Combine(rules, "b.yml"), Path.Combine(rules, "c.yml")]), TimeSpan.FromSeconds(20), "the glob is expanded again");
        Shape(status).Should().Equal("b:r1,r2", "c:r1");
    }

    [Test]
    public async Task StartAsync_BrokenRuleFileOnDisk_FailsTheStartWithTheFileAndLine()
    {
        using var dir = new TempDirectory("hosting");
        File.WriteAllText(dir.Combine("rules.yml"), Group("a", "r1").Replace("vector(1)", "sum(", StringComparison.Ordinal));
        await using var host = TestHost.Create(dir.Path, new Dictionary<string, string?> { ["Rules:Files:0"] = "rules.yml" });
        var start = () => host.Host.StartAsync();
        (await start.Should().ThrowAsync<RuleFileException>()).Which.Message.Should().Contain(dir.Combine("rules.yml") + ":");
        host.Logs.Entries.Should().Contain(e => e.EventId.Id == 5003 && e.Message.Contains("rule files", StringComparison.Ordinal));
        host.Status.IsRunning.Should().BeFalse();
    }

    [Test]
    public async Task StopAsync_WithDataDirectory_FlushesTheWalSoAReopenFindsEverySample()
    {
        using var dir = new TempDirectory("hosting");
        await using var host = await TestHost.StartAsync(dir.Path, new Dictionary<string, string?>
        {
            ["Tsdb:DataDirectory"] = "data",
            ["Tsdb:SelfCollection:Interval"] = "00:00:00.050",
        });
        var db = host.Status.Database!;
        db.Directory.Should().Be(dir.Combine("data"));
        await TestHost.Eventually(() => TestHost.Query(db, "up").Sum(s => s.Samples.Count) >= 5, TimeSpan.FromSeconds(30), "self-collection runs every 50 ms");

        var seenBeforeStop = TestHost.Query(db, "up").Single().Samples;
        await host.StopAsync();

        // Everything appended until the stop (read after it: the counters outlive the close) is in the WAL.
        var appended = db.GetStatistics().SamplesAppended;
        using var reopened = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Combine("data"), CompactionInterval = TimeSpan.Zero });
        reopened.GetStatistics().WalSamplesReplayed.Should().Be(appended, "the stop flushed every committed sample to the WAL");
        var up = TestHost.Query(reopened, "up").Single().Samples;
        up.Should().StartWith(seenBeforeStop);
        up.Should().OnlyContain(s => s.V == 1);
    }

    /// <summary>Writes a file the way deployment tools and most editors do (a temporary file renamed over it), so no check sees it half written.</summary>
    private static void Replace(string path, string text)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
    }

    private static IEnumerable<string> Shape(MetricsCoordinationStatus status) =>
        status.GetRuleGroups().Select(g => g.Name + ":" + string.Join(',', g.Rules.Select(r => r.Name)));

    private static string Group(string name, params string[] records) =>
        $"""
        groups:
          - name: {name}
            interval: 1h
            rules:
        {string.Concat(records.Select(r => $"      - record: {r}\n        expr: vector(1)\n"))}
        """;
}

public class OptionsBindingTests
{
    [Test]
    public void Bind_ReadmeAppSettings_GivesEverySetting()
    {
        // The README's Hosting example, bound from a real JSON file the way an app's appsettings.json is.
        var readme = File.ReadAllText(Path.Combine(PublicApiSnapshot.RepositoryRoot(), "README.md"));
        var start = readme.IndexOf("```json\n{\n  \"MetricsCoordination\"", StringComparison.Ordinal);
        start.Should().BeGreaterThan(0, "the README has a Hosting appsettings example");
        var json = readme[(start + "```json\n".Length)..readme.IndexOf("```", start + 7, StringComparison.Ordinal)];
        using var dir = new TempDirectory("hosting");
        File.WriteAllText(dir.Combine("appsettings.json"), json);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = dir.Path });
        builder.Configuration.AddJsonFile(dir.Combine("appsettings.json"));
        builder.Services.AddMetricsCoordination(builder.Configuration.GetSection(MetricsCoordinationOptions.SectionName));
        using var host = builder.Build();
        var options = host.Services.GetRequiredService<IOptions<MetricsCoordinationOptions>>().Value;

        options.Tsdb.DataDirectory.Should().Be("data");
        options.Tsdb.RetentionTime.Should().Be(TimeSpan.FromDays(15));
        options.Tsdb.SelfCollection.Interval.Should().Be(TimeSpan.FromSeconds(15));
        options.Tsdb.ScrapeJobs.Should().ContainSingle().Which.Targets.Should().Equal("127.0.0.1:9100");
        options.Rules.Files.Should().Equal("rules/*.yml");
        options.Rules.EvaluationInterval.Should().Be(TimeSpan.FromSeconds(15));
        options.Alerting.Alertmanagers.Should().Equal("http://127.0.0.1:9093");
        options.ZooKeeper.ConnectionString.Should().Be("127.0.0.1:2181");
        options.ZooKeeper.Election.Path.Should().Be("/metrics-coordination/leader");
        options.ZooKeeper.Registration.Port.Should().Be(8080);
        MetricsCoordinationOptionsValidator.Check(options).Should().BeEmpty();
    }
}
