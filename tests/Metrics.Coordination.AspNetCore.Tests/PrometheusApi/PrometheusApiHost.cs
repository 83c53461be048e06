using System.Net;
using System.Text.Json;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Rules;
using Metrics.Coordination.Rules.PromQL;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb;
using Microsoft.AspNetCore.Builder;

namespace Metrics.Coordination.AspNetCore.Tests.PrometheusApi;

/// <summary>
/// A Kestrel app serving <c>MapPrometheusApi</c> over an in-memory TSDB loaded with known data (one hour at 15 s from
/// <see cref="T0"/>), plus a rule manager with a firing alert, a pending alert, a recording rule and a failing rule.
/// </summary>
internal sealed class PrometheusApiHost : IAsyncDisposable
{
    /// <summary>2023-11-14T22:13:20Z: the first sample.</summary>
    public const long T0 = 1_700_000_000_000;

    /// <summary>Samples per series: one hour every 15 s, both ends included.</summary>
    public const int Points = 241;

    public const long StepMs = 15_000;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _dir;

    private PrometheusApiHost(TempDirectory dir, TimeSeriesDatabase db, TimeSeriesDatabase ruleDb, PromQLEngine engine, RuleManager rules, TestWebHost web)
    {
        _dir = dir;
        Db = db;
        RuleDb = ruleDb;
        Engine = engine;
        Rules = rules;
        Web = web;
        Client = new HttpClient { BaseAddress = web.BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
    }

    public TimeSeriesDatabase Db { get; }

    /// <summary>The rules' own storage, so that recording rules do not add series to the data the query tests know.</summary>
    public TimeSeriesDatabase RuleDb { get; }

    public PromQLEngine Engine { get; }

    public RuleManager Rules { get; }

    public TestWebHost Web { get; }

    public HttpClient Client { get; }

    /// <summary>Where promtool points: the app's base URL without a trailing slash.</summary>
    public string ServerUrl => Web.BaseUrl.ToString().TrimEnd('/');

    public static async Task<PrometheusApiHost> StartAsync(Action<PrometheusApiOptions>? configure = null)
    {
        var dir = new TempDirectory("promapi");
        var db = TimeSeriesDatabase.Open(new TsdbOptions());
        Load(db);
        var ruleDb = TimeSeriesDatabase.Open(new TsdbOptions());
        var engine = new PromQLEngine();
        var rules = new RuleManager(new RuleManagerOptions
        {
            Queryable = ruleDb,
            Appendable = ruleDb,
            Engine = engine,
            EvaluationInterval = TimeSpan.FromSeconds(1),
        });
        var file = dir.Combine("rules.yml");
        await File.WriteAllTextAsync(file, """
            groups:
            - name: api
              interval: 1s
              rules:
              - alert: AlwaysFiring
                expr: vector(3) > 0
                labels:
                  severity: page
                annotations:
                  summary: value is {{ $value }}
              - alert: LongPending
                expr: vector(1)
                for: 1h
                keep_firing_for: 5m
              - record: job:one:sum
                expr: sum(vector(1))
                labels:
                  source: test
              - record: broken
                expr: clash + on(a) clash
            """);
        await rules.LoadAsync([file]);

        // "clash" has two series with the same "a", so the one-to-one match of the broken rule fails at evaluation.
        AppendNow(ruleDb);
        rules.Start();
        var options = new PrometheusApiOptions { Queryable = db, Engine = engine, RuleManager = rules };
        configure?.Invoke(options);
        var web = await TestWebHost.StartAsync(app => app.MapPrometheusApi("/api/v1", options));
        var host = new PrometheusApiHost(dir, db, ruleDb, engine, rules, web);
        await host.WaitForRulesAsync();
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Web.DisposeAsync();
        await Rules.DisposeAsync();
        Db.Dispose();
        RuleDb.Dispose();
        _dir.Dispose();
    }

    /// <summary>GET or POST (urlencoded form) to the API; returns the status and the parsed body.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body, string Text)> CallAsync(string path, IEnumerable<KeyValuePair<string, string>>? parameters = null, bool post = false)
    {
        var pairs = parameters?.ToList() ?? [];
        HttpResponseMessage response;
        if (post)
        {
            response = await Client.PostAsync(path, new FormUrlEncodedContent(pairs));
        }
        else
        {
            var query = string.Join("&", pairs.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
            response = await Client.GetAsync(query.Length == 0 ? path : path + "?" + query);
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            var contentType = response.Content.Headers.ContentType?.MediaType;
            if (contentType != "application/json")
            {
                return (response.StatusCode, default, text);
            }

            using var doc = JsonDocument.Parse(text);
            return (response.StatusCode, doc.RootElement.Clone(), text);
        }
    }

    public static KeyValuePair<string, string> P(string name, string value) => new(name, value);

    public static string Seconds(long ms) => (ms / 1000.0).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);

    private static void Load(TimeSeriesDatabase db)
    {
        var appender = db.Appender();
        void Add(Labels labels, long t, double v) => appender.Append(new AppendRequest { Labels = labels, TimestampMs = t, Value = v });
        var api200 = Labels.FromStrings("__name__", "http_requests_total", "code", "200", "instance", "a:80", "job", "api");
        var api500 = Labels.FromStrings("__name__", "http_requests_total", "code", "500", "instance", "a:80", "job", "api");
        var web200 = Labels.FromStrings("__name__", "http_requests_total", "code", "200", "instance", "b:80", "job", "web");
        var temperature = Labels.FromStrings("__name__", "temperature", "room", "küche \"süd\"");
        for (var i = 0; i < Points; i++)
        {
            var t = T0 + (i * StepMs);
            Add(api200, t, i * 10);
            Add(api500, t, i);

            // A counter reset half way.
            Add(web200, t, i < 120 ? i * 3 : (i - 120) * 3);
            Add(temperature, t, 20 + Math.Sin(i / 10.0));
            Add(Labels.FromStrings("__name__", "special", "kind", "inf"), t, double.PositiveInfinity);
            Add(Labels.FromStrings("__name__", "special", "kind", "ninf"), t, double.NegativeInfinity);
            Add(Labels.FromStrings("__name__", "special", "kind", "nan"), t, double.NaN);
            Add(Labels.FromStrings("__name__", "special", "kind", "tiny"), t, 1.5e-7);
            Add(Labels.FromStrings("__name__", "special", "kind", "huge"), t, 2.5e22);
            Add(Labels.FromStrings("__name__", "special", "kind", "neg"), t, -0.25);
            Add(Labels.FromStrings("__name__", "one", "a", "1"), t, 1);
            Add(Labels.FromStrings("__name__", "dup", "a", "1", "b", "x"), t, 1);
            Add(Labels.FromStrings("__name__", "dup", "a", "1", "b", "y"), t, 2);
        }

        // One sample in the middle of the hour: gaps at both ends of a range query.
        Add(Labels.FromStrings("__name__", "sparse", "job", "api"), T0 + (30 * 60_000), 42);
        appender.Commit();
    }

    private static void AppendNow(TimeSeriesDatabase db)
    {
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
        var appender = db.Appender();
        foreach (var t in new[] { now - 60_000, now })
        {
            appender.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "clash", "a", "1", "b", "x"), TimestampMs = t, Value = 1 });
            appender.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "clash", "a", "1", "b", "y"), TimestampMs = t, Value = 2 });
        }

        appender.Commit();
    }

    /// <summary>Polls until every rule was evaluated and the first alert fires (the group runs each second).</summary>
    private async Task WaitForRulesAsync()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var groups = Rules.GetRuleGroups();
            if (groups.Count == 1 && groups[0].Rules.All(r => r.LastEvaluation is not null) && groups[0].Rules[0].State == AlertState.Firing)
            {
                return;
            }

            started.Elapsed.Should().BeLessThan(Patience, "the rule group evaluates every second");
            await Task.Delay(20);
        }
    }
}
