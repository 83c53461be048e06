using System.Diagnostics;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Rules;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Tsdb;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Metrics.Coordination.AspNetCore.Tests;

/// <summary>
/// An app with a TSDB holding ten minutes of a queue-depth series (one job with a hostile label value), a rule group
/// with one recording and one alerting rule that fires, local leadership, and the status page at <c>/</c>; all from DI.
/// </summary>
internal sealed class StatusPageScenario : IAsyncDisposable
{
    public const string HostileJob = "<script>alert('x')</script>&\"";

    public const string RuleText = """
        groups:
          - name: queue-rules
            interval: 1s
            rules:
              - record: job:demo_queue_depth:max
                expr: max by (job) (demo_queue_depth)
              - alert: QueueTooDeep
                expr: demo_queue_depth > 5
                labels:
                  severity: page
                annotations:
                  summary: "Queue {{ $labels.job }} holds {{ $value }} items"
        """;

    private StatusPageScenario(TimeSeriesDatabase database, RuleManager rules, TestWebHost host)
    {
        Database = database;
        Rules = rules;
        Host = host;
    }

    public TimeSeriesDatabase Database { get; }

    public RuleManager Rules { get; }

    public TestWebHost Host { get; }

    public static async Task<StatusPageScenario> StartAsync(Action<IServiceCollection>? services = null, StatusPageOptions? options = null)
    {
        var database = TimeSeriesDatabase.Open(new TsdbOptions());
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        var appender = database.Appender();
        for (var t = now - 600_000; t <= now; t += 5_000)
        {
            // billing climbs from 0 to 12 over ten minutes; the hostile job stays at 2, below the threshold until the end.
            var billing = Math.Round(12.0 * (t - (now - 600_000)) / 600_000, 2);
            appender.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "demo_queue_depth", "job", "billing"), TimestampMs = t, Value = billing });
            appender.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "demo_queue_depth", "job", HostileJob), TimestampMs = t, Value = t == now ? 9 : 2 });
        }

        appender.Commit();

        var rules = new RuleManager(new RuleManagerOptions
        {
            Queryable = database,
            Appendable = database,
            EvaluationInterval = TimeSpan.FromSeconds(1),
        });
        await rules.UpdateAsync([RuleFileParser.Parse(RuleText, "queue.rules.yml")]);
        rules.Start();

        // Both jobs are above 5 at the newest sample and the rule has no `for`: the first evaluation fires both alerts.
        var clock = Stopwatch.StartNew();
        while (!(rules.GetAlerts().Count(a => a.State == AlertState.Firing) == 2 && rules.GetRuleGroups().Single().Rules.All(r => r.Health == RuleHealth.Ok)))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                await rules.DisposeAsync();
                database.Dispose();
                Assert.Fail($"The alert did not fire within 30 s; alerts: {string.Join(", ", rules.GetAlerts())}");
            }

            await Task.Delay(50);
        }

        var host = await TestWebHost.StartAsync(
            app => app.MapMetricsStatusPage("/", options),
            s =>
            {
                s.AddSingleton(database);
                s.AddSingleton(rules);
                s.AddSingleton<ILeadershipGate>(AlwaysLeaderGate.Instance);
                services?.Invoke(s);
            });
        return new StatusPageScenario(database, rules, host);
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Rules.DisposeAsync();
        Database.Dispose();
    }
}
