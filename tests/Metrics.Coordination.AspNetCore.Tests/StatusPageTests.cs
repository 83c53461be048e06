using System.Net;
using System.Text.RegularExpressions;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper;
using Microsoft.Extensions.DependencyInjection;

namespace Metrics.Coordination.AspNetCore.Tests;

/// <summary>The status page over HTTP: sections from DI, escaping, graph errors, and a real ZooKeeper session.</summary>
public partial class StatusPageTests
{
    private static HttpClient Client() => new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };

    [GeneratedRegex("<polyline [^>]*points=\"[^\"]+\"")]
    private static partial Regex Polyline();

    [Test]
    public async Task MapMetricsStatusPage_RefusedRuleFiles_ShowsEachErrorAndMarksTheGroupStillRunningItsLastGoodVersion()
    {
        await using var scenario = await StatusPageScenario.StartAsync();
        using var client = Client();
        scenario.Rules.SetFileErrors(new Dictionary<string, string>
        {
            ["queue.rules.yml"] = "6:18: group \"queue-rules\", rule 2: could not parse expression <x>",
            ["/rules/never-loaded.yml"] = "yaml: line 3: mapping values are not allowed in this context",
        });

        var html = await client.GetStringAsync(scenario.Host.Url("/"));

        html.Should().Contain("<ul id=\"rule-file-errors\" class=\"error\">");
        html.Should().Contain("<li><span class=\"file\">/rules/never-loaded.yml</span>: yaml: line 3: mapping values are not allowed in this context</li>");
        html.Should().Contain("<li><span class=\"file\">queue.rules.yml</span>: 6:18: group &quot;queue-rules&quot;, rule 2: could not parse expression &lt;x&gt;</li>");
        html.Should().Contain("<td class=\"error\">rule file refused, running the last good version: 6:18: group &quot;queue-rules&quot;", "the group row carries its file's error");
        html.Should().Contain("<td class=\"rule-name\">QueueTooDeep</td>", "the last good rules are still listed");

        scenario.Rules.SetFileErrors(new Dictionary<string, string>());
        var fixedHtml = await client.GetStringAsync(scenario.Host.Url("/"));
        fixedHtml.Should().NotContain("rule-file-errors").And.NotContain("rule file refused");
    }

    [Test]
    public async Task MapMetricsStatusPage_ComponentsInDi_ShowsRulesAlertsLeadershipTsdbAndGraph()
    {
        await using var scenario = await StatusPageScenario.StartAsync();
        using var client = Client();

        using var response = await client.GetAsync(scenario.Host.Url("/?expr=demo_queue_depth&range=15m"));
        var html = await response.Content.ReadAsStringAsync();

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.ToString().Should().Be("text/html; charset=utf-8");
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        csp.Should().StartWith("default-src 'none'; style-src 'sha256-").And.NotContain("unsafe").And.NotContain("script-src");
        response.Headers.GetValues("X-Content-Type-Options").Single().Should().Be("nosniff");
        html.Should().NotContain("<script", "the page runs no script");

        // Rule groups: the group with its file, both rules with their health.
        html.Should().Contain("<table id=\"rule-groups\">");
        html.Should().Contain("<span class=\"group-name\">queue-rules</span>").And.Contain("queue.rules.yml");
        html.Should().Contain("<td class=\"rule-name\">job:demo_queue_depth:max</td><td>record</td>");
        html.Should().Contain("<td class=\"rule-name\">QueueTooDeep</td><td>alert</td>");
        html.Should().Contain("<code>demo_queue_depth &gt; 5</code>");
        Regex.Matches(html, "<td class=\"health-ok\">ok</td>").Count.Should().Be(3, "the group and both rules are ok");

        // Alerts: both firing, since when, with labels.
        html.Should().Contain("<table id=\"alerts-table\">");
        Regex.Matches(html, "<tr class=\"alert\"><td class=\"alertname\">QueueTooDeep</td>").Count.Should().Be(2);
        html.Should().Contain("<span class=\"label\">job=\"billing\"</span>");
        html.Should().Contain("<span class=\"label\">severity=\"page\"</span>");
        Regex.Matches(html, "<td class=\"state-firing\">firing</td><td><time>\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC</time>").Count.Should().Be(2);

        // Leadership (local), no ZooKeeper, TSDB head.
        html.Should().Contain("<td id=\"is-leader\" class=\"leader-yes\">yes</td>").And.Contain("local (always leader)");
        html.Should().Contain("No ZooKeeper client is registered.");
        var stats = scenario.Database.GetStatistics();
        html.Should().MatchRegex("<td id=\"head-series\">(\\d+)</td>");
        int.Parse(Regex.Match(html, "<td id=\"head-series\">(\\d+)</td>").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)
            .Should().BeGreaterThanOrEqualTo(3, "two input series and at least one recorded series");
        html.Should().Contain("<td id=\"head-min-time\">" + StatusPage.FormatTime(DateTimeOffset.FromUnixTimeMilliseconds(stats.HeadMinTime)) + "</td>");

        // Graph: the expression kept in the form, one polyline per series, axes and a legend naming both.
        html.Should().Contain("<textarea name=\"expr\" spellcheck=\"false\">demo_queue_depth</textarea>");
        html.Should().Contain("name=\"range\" value=\"15m\"");
        html.Should().Contain("<svg id=\"graph-svg\"");
        Polyline().Matches(html).Count.Should().Be(2);
        html.Should().Contain("<g class=\"legend\">").And.Contain("demo_queue_depth{job=&quot;billing&quot;}");
        html.Should().Contain("time (UTC)");
    }

    [Test]
    public async Task MapMetricsStatusPage_HostileLabelValueAndExpression_AreEscapedEverywhere()
    {
        await using var scenario = await StatusPageScenario.StartAsync();
        using var client = Client();

        // The series' job label reaches the alerts table and the graph legend; the query's text reaches the form and the parse error.
        var withLabel = await client.GetStringAsync(scenario.Host.Url("/?expr=" + Uri.EscapeDataString("demo_queue_depth") + "&range=" + Uri.EscapeDataString("10m\"><script>x()</script>")));
        var hostileExpr = "demo_queue_depth{job=\"</textarea><script>alert(1)</script>\"} + <img src=x onerror=alert(2)>";
        var withExpr = await client.GetStringAsync(scenario.Host.Url("/?range=5m&expr=" + Uri.EscapeDataString(hostileExpr)));

        foreach (var html in new[] { withLabel, withExpr })
        {
            html.Should().NotContain("<script").And.NotContain("<img").And.NotContain("</textarea><script");
            html.Should().Contain("<span class=\"label\">job=\"&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;\"</span>", "the hostile label value is shown, encoded, in the alerts table");
        }

        withLabel.Should().Contain("<p id=\"graph-error\" class=\"error\">Invalid range &quot;10m&quot;&gt;&lt;script&gt;x()&lt;/script&gt;&quot;");
        withExpr.Should().Contain("&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
        withExpr.Should().Contain("<p id=\"graph-error\" class=\"error\">").And.NotContain("<svg id=\"graph-svg\"");

        var legend = await client.GetStringAsync(scenario.Host.Url("/?expr=demo_queue_depth&range=10m"));
        legend.Should().Contain("<text x=\"90\" y=\"").And.Contain("demo_queue_depth{job=&quot;&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;\\&quot;&quot;}");
    }

    [Test]
    public async Task MapMetricsStatusPage_NothingRegistered_EachSectionSaysNotConfigured()
    {
        await using var host = await TestWebHost.StartAsync(app => app.MapMetricsStatusPage("/status"));
        using var client = Client();

        var html = await client.GetStringAsync(host.Url("/status?expr=up"));

        html.Should().Contain("No ILeadershipGate is registered");
        html.Should().Contain("No ZooKeeper client is registered.");
        html.Should().Contain("No TimeSeriesDatabase is registered.");
        html.Should().Contain("No RuleManager is registered.");
        html.Should().Contain("Nothing to query: no TimeSeriesDatabase or IQueryable is registered.");
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, host.Url("/status")));
        head.StatusCode.Should().Be(HttpStatusCode.OK);
        using var post = await client.PostAsync(host.Url("/status"), new StringContent(""));
        post.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
    }

    [Test]
    public async Task MapMetricsStatusPage_DefaultExpressionAndEngineErrors_GraphsOrExplains()
    {
        await using var scenario = await StatusPageScenario.StartAsync(options: new StatusPageOptions { DefaultExpression = "job:demo_queue_depth:max", MaxGraphRange = TimeSpan.FromHours(2) });
        using var client = Client();

        var byDefault = await client.GetStringAsync(scenario.Host.Url("/"));
        byDefault.Should().Contain(">job:demo_queue_depth:max</textarea>").And.Contain("<svg id=\"graph-svg\"");

        var tooLong = await client.GetStringAsync(scenario.Host.Url("/?expr=up&range=3h"));
        tooLong.Should().Contain("The range 3h is longer than the page allows (2h).");

        var parseError = await client.GetStringAsync(scenario.Host.Url("/?expr=" + Uri.EscapeDataString("sum(")));
        parseError.Should().MatchRegex("<p id=\"graph-error\" class=\"error\">1:4: parse error: unclosed left parenthesis</p>");

        var noData = await client.GetStringAsync(scenario.Host.Url("/?expr=no_such_metric"));
        noData.Should().Contain("The expression returned no finite values in this range.");

        var cleared = await client.GetStringAsync(scenario.Host.Url("/?expr="));
        cleared.Should().NotContain("<svg").And.Contain("Enter a PromQL expression");
    }

    [Test]
    public async Task MapMetricsStatusPage_ComponentsCallback_ResolvesOnEachRequest()
    {
        await using var scenario = await StatusPageScenario.StartAsync();
        StatusPageComponents? current = null;
        var calls = 0;
        await using var host = await TestWebHost.StartAsync(app => app.MapMetricsStatusPage("/", new StatusPageOptions
        {
            Components = _ =>
            {
                Interlocked.Increment(ref calls);
                return current;
            },
        }));
        using var client = Client();

        // Before the host's parts exist: each section says so.
        var before = await client.GetStringAsync(host.Url("/?expr=demo_queue_depth"));
        before.Should().Contain("No RuleManager is registered.").And.Contain("No TimeSeriesDatabase is registered.");

        // Once they exist (as a hosting layer builds them at start), the next request shows them.
        current = new StatusPageComponents { RuleManager = scenario.Rules, Database = scenario.Database, LeadershipGate = Rules.Notifications.AlwaysLeaderGate.Instance };
        var after = await client.GetStringAsync(host.Url("/?expr=demo_queue_depth"));
        after.Should().Contain("<table id=\"rule-groups\">").And.Contain("<table id=\"alerts-table\">").And.Contain("<td id=\"is-leader\" class=\"leader-yes\">yes</td>");
        Polyline().Matches(after).Count.Should().Be(2);
        calls.Should().Be(2);
    }

    [Test]
    [Category("Integration")]
    public async Task MapMetricsStatusPage_ZooKeeperClientRegistered_ShowsConnectedSession()
    {
        await using var server = await ZooKeeperServer.StartAsync();
        await using var zk = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = server.ConnectionString, SessionTimeout = TimeSpan.FromSeconds(4) });
        await using var host = await TestWebHost.StartAsync(app => app.MapMetricsStatusPage("/"), s => s.AddSingleton(zk));
        using var client = Client();

        var html = await client.GetStringAsync(host.Url("/"));

        html.Should().Contain("<td id=\"zk-state\" class=\"health-ok\">Connected</td>");
        html.Should().Contain("<code>0x" + zk.SessionId.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + "</code>");
        zk.SessionId.Should().NotBe(0);
        html.Should().Contain("<td>" + server.ConnectionString + "</td>");

        await server.DisposeAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string after;
        do
        {
            await Task.Delay(100);
            after = await client.GetStringAsync(host.Url("/"));
        }
        while (after.Contains("health-ok\">Connected<", StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(30));

        after.Should().MatchRegex("<td id=\"zk-state\" class=\"health-err\">(Suspended|Connecting|Expired)</td>", "the server is gone");
    }

    [TestCase(0, 12)]
    [TestCase(3, 3)]
    [TestCase(0, 0)]
    [TestCase(-0.004, 0.013)]
    [TestCase(1e15, 1e15 + 64)]
    [TestCase(-1e308, 1e308)]
    public void SvgGraph_ValueAxis_TicksCoverTheValues(double min, double max)
    {
        var (low, high, tick) = SvgGraph.ValueAxis(min, max);

        low.Should().BeLessThanOrEqualTo(min);
        high.Should().BeGreaterThanOrEqualTo(max).And.BeGreaterThan(low);
        tick.Should().BePositive();
        ((high / tick) - (low / tick)).Should().BeLessThanOrEqualTo(20, "a handful of gridlines");
    }
}
