using System.Text.RegularExpressions;
using Metrics.Coordination.Hosting;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.AspNetCore.Tests;

/// <summary>The status page rendered by a real browser: headless Chromium (Debian <c>chromium</c>) dumps the DOM and a screenshot.</summary>
[Category("Integration")]
public partial class StatusPageChromiumTests
{
    private const string InstallHint = "apt-get install -y --no-install-recommends chromium";

    // Chromium logs every console message (console.* calls, uncaught errors, Content-Security-Policy violations such
    // as a blocked style block or resource) at INFO with the CONSOLE tag when logging goes to stderr.
    [GeneratedRegex(@"^.*:CONSOLE[:(].*$", RegexOptions.Multiline)]
    private static partial Regex ConsoleLine();

    [GeneratedRegex("<polyline [^>]*points=\"[^\"]+\"")]
    private static partial Regex Polyline();

    [Test]
    public async Task StatusPage_InHeadlessChromium_RendersRulesAlertsAndGraphWithoutConsoleErrors()
    {
        await using var scenario = await StatusPageScenario.StartAsync();
        var dom = await RenderAsync(scenario.Host.Url("/?expr=" + Uri.EscapeDataString("demo_queue_depth") + "&range=15m"), "status-page.png");

        dom.Should().Contain("<table id=\"rule-groups\">");
        dom.Should().Contain("<span class=\"group-name\">queue-rules</span>");
        dom.Should().Contain("<td class=\"rule-name\">job:demo_queue_depth:max</td>").And.Contain("<td class=\"rule-name\">QueueTooDeep</td>");
        dom.Should().Contain("<table id=\"alerts-table\">");
        Regex.Matches(dom, "<td class=\"state-firing\">firing</td>").Count.Should().Be(2);
        dom.Should().Contain("<td id=\"is-leader\" class=\"leader-yes\">yes</td>");
        dom.Should().MatchRegex("<td id=\"head-series\">[1-9][0-9]*</td>");
        dom.Should().Contain("<svg id=\"graph-svg\"");
        Polyline().Matches(dom).Count.Should().Be(2, "one line per series");
        dom.Should().Contain("<g class=\"legend\">");

        // The hostile label value is text in the DOM, never an element: the browser parsed no script.
        dom.Should().NotContain("<script").And.Contain("&lt;script&gt;alert('x')&lt;/script&gt;");
    }

    [Test]
    public async Task StatusPage_HostingWiredInHeadlessChromium_RendersTheHostedRulesAlertsAndGraphWithoutConsoleErrors()
    {
        // MapMetricsStatusPage() with no arguments in an app wired only by AddMetricsCoordination.
        using var dir = new TempDirectory("chromium-hosted");
        File.WriteAllText(dir.Combine("hosted.rules.yml"), HostedComponentsTests.RuleText);
        await using var host = await TestWebHost.StartAsync(
            app => app.MapMetricsStatusPage(),
            services => services.AddMetricsCoordination(o =>
            {
                o.Tsdb.SelfCollection.Interval = TimeSpan.FromMilliseconds(200);
                o.Tsdb.SelfCollection.Job = "hosted";
                o.Rules.Files.Add(dir.Combine("hosted.rules.yml"));
                o.Rules.EvaluationInterval = TimeSpan.FromMilliseconds(200);
            }));
        using (var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.BaseUrl, Timeout = TimeSpan.FromSeconds(30) })
        {
            await HostedComponentsTests.EventuallyAsync(client, "/?expr=up&range=1m", html => html.Contains("<td class=\"state-firing\">firing</td>", StringComparison.Ordinal) && Polyline().IsMatch(html));
        }

        var dom = await RenderAsync(host.Url("/?expr=up&range=1m"), "status-page-hosted.png");

        dom.Should().NotContain("id=\"host-state\"", "the hosted components are running");
        dom.Should().Contain("<span class=\"group-name\">hosted</span>");
        dom.Should().Contain("<td class=\"rule-name\">job:up:sum</td>").And.Contain("<td class=\"rule-name\">HostedUp</td>");
        dom.Should().Contain("<table id=\"alerts-table\">").And.Contain("<td class=\"state-firing\">firing</td>");
        dom.Should().Contain("<td id=\"is-leader\" class=\"leader-yes\">yes</td>");
        dom.Should().MatchRegex("<td id=\"head-series\">[1-9][0-9]*</td>");
        Polyline().Matches(dom).Count.Should().Be(1, "one up series, from self-collection");
    }

    /// <summary>Loads <paramref name="url"/> in headless Chromium; checks the screenshot and that nothing reached the console; returns the DOM after load.</summary>
    private static async Task<string> RenderAsync(Uri url, string screenshotName)
    {
        var chromium = PeerBinary.Find("chromium", InstallHint);
        using var profile = new TempDirectory("chromium-profile");
        var screenshots = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots");
        Directory.CreateDirectory(screenshots);
        var screenshot = Path.Combine(screenshots, screenshotName);
        File.Delete(screenshot);

        // One run prints the DOM after load and writes the screenshot; a fresh profile keeps parallel runs apart.
        var result = await PeerProcess.RunAsync(
            chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-proxy-server", "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--user-data-dir=" + profile.Path,
                "--window-size=1280,1600", "--screenshot=" + screenshot, "--dump-dom", url.ToString(),
            ],
            timeout: TimeSpan.FromSeconds(120));

        result.ExitCode.Should().Be(0, result.ToString());
        File.Exists(screenshot).Should().BeTrue($"chromium writes the screenshot; {result}");
        TestContext.AddTestAttachment(screenshot, "The status page as headless Chromium rendered it");
        var png = await File.ReadAllBytesAsync(screenshot);
        png.AsSpan(0, 8).ToArray().Should().Equal([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG file");
        png.Length.Should().BeGreaterThan(10_000, "a rendered page, not a blank one");

        var console = ConsoleLine().Matches(result.Stderr).Select(m => m.Value).ToList();
        console.Should().BeEmpty("the page logs nothing to the console (no script errors, no CSP violations, no blocked loads)");

        result.Stdout.Should().Contain("<table id=\"rule-groups\">", result.ToString());
        return result.Stdout;
    }
}
