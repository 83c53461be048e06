using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Rules;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static Metrics.Coordination.AspNetCore.Tests.PrometheusApi.PrometheusApiHost;

namespace Metrics.Coordination.AspNetCore.Tests.PrometheusApi;

/// <summary>Who may call the API (API key, ASP.NET Core authorization), where its parts come from, and how a rejected rule reload shows.</summary>
[TestFixture]
public class PrometheusApiAccessTests
{
    [Test]
    public async Task ApiKey_BearerToken_IsRequired()
    {
        await using var host = await PrometheusApiHost.StartAsync(o => o.ApiKey = "s3cret");

        using var none = await host.Client.GetAsync("/api/v1/labels");
        using var wrong = await Send(host, "/api/v1/labels", "Authorization", "Bearer s3cres");
        using var right = await Send(host, "/api/v1/labels", "Authorization", "Bearer s3cret");
        using var lowerScheme = await Send(host, "/api/v1/status/buildinfo", "Authorization", "bearer s3cret");

        none.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        none.Headers.WwwAuthenticate.Should().ContainSingle().Which.Scheme.Should().Be("Bearer");
        wrong.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        right.StatusCode.Should().Be(HttpStatusCode.OK);
        lowerScheme.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Test]
    [Category("Integration")]
    public async Task ApiKey_PromtoolRangeQueryWithHeader_Succeeds()
    {
        await using var host = await PrometheusApiHost.StartAsync(o => o.ApiKey = "s3cret");
        string[] query = ["query", "range", "--start=" + Seconds(T0), "--end=" + Seconds(T0 + 60_000), "--step=15s"];

        var refused = await Promtool.RunAsync([.. query, host.ServerUrl, "one"]);
        var accepted = await Promtool.RunAsync([.. query, "--header=Authorization=Bearer s3cret", host.ServerUrl, "one"]);

        refused.ExitCode.Should().NotBe(0, refused.ToString());
        refused.Stderr.Should().Contain("401");
        accepted.ExitCode.Should().Be(0, accepted.ToString());
        accepted.Stdout.Should().Contain("one{a=\"1\"} =>");
    }

    [Test]
    public async Task ApiKey_CustomHeader_ComparesTheWholeValue()
    {
        await using var host = await PrometheusApiHost.StartAsync(o =>
        {
            o.ApiKey = "k-123";
            o.ApiKeyHeader = "X-Api-Key";
        });

        using var bearer = await Send(host, "/api/v1/labels", "Authorization", "Bearer k-123");
        using var right = await Send(host, "/api/v1/labels", "X-Api-Key", "k-123");

        bearer.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        bearer.Headers.WwwAuthenticate.Should().BeEmpty();
        right.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Test]
    public async Task AuthorizationPolicy_IsEnforcedByTheHost()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        await using var web = await TestWebHost.StartAsync(
            app => app.MapPrometheusApi("/api/v1", new PrometheusApiOptions { Queryable = db, AuthorizationPolicy = "readers" }),
            services =>
            {
                services.AddAuthentication(HeaderUserHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, HeaderUserHandler>(HeaderUserHandler.SchemeName, null);
                services.AddAuthorization(o => o.AddPolicy("readers", p => p.RequireClaim("role", "reader")));
            });
        using var client = new HttpClient { BaseAddress = web.BaseUrl };

        using var anonymous = await client.GetAsync("/api/v1/labels");
        using var writer = await SendAsync(client, "/api/v1/labels", HeaderUserHandler.Header, "writer");
        using var reader = await SendAsync(client, "/api/v1/labels", HeaderUserHandler.Header, "reader");

        anonymous.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        writer.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        reader.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Test]
    public async Task Map_WithoutOptions_TakesStorageEngineAndRulesFromServices()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var appender = db.Appender();
        appender.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "from_di", "x", "1"), TimestampMs = T0, Value = 7 });
        appender.Commit();
        await using var web = await TestWebHost.StartAsync(
            app => app.MapPrometheusApi(),
            services => services.AddSingleton<Metrics.Coordination.Abstractions.Storage.IQueryable>(db));
        using var client = new HttpClient { BaseAddress = web.BaseUrl };

        var text = await client.GetStringAsync("/api/v1/query?query=from_di&time=" + Seconds(T0));
        var rules = await client.GetStringAsync("/api/v1/rules");
        var alerts = await client.GetStringAsync("/api/v1/alerts");

        text.Should().Be("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"from_di\",\"x\":\"1\"},\"value\":[1700000000,\"7\"]}]}}");
        rules.Should().Be("{\"status\":\"success\",\"data\":{\"groups\":[]}}", "no rule manager is registered");
        alerts.Should().Be("{\"status\":\"success\",\"data\":{\"alerts\":[]}}");
    }

    [Test]
    public async Task Map_WithoutAnyStorage_ThrowsNamingWhatIsMissing()
    {
        var start = () => TestWebHost.StartAsync(app => app.MapPrometheusApi());

        (await start.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("PrometheusApiOptions.Queryable");
    }

    [Test]
    public async Task Rules_NewFileRefused_LastGoodRulesRunAndAWarningNamesTheFile()
    {
        await using var host = await PrometheusApiHost.StartAsync();
        using var dir = new TempDirectory("promapi-reload");
        var (_, before, _) = await host.CallAsync("/api/v1/rules");
        var good = before.GetProperty("data").GetProperty("groups")[0].GetProperty("file").GetString()!;
        var broken = dir.Combine("broken.yml");
        await File.WriteAllTextAsync(broken, "groups:\n- name: bad\n  rules:\n  - record: x\n    expr: sum(\n");

        var reload = () => host.Rules.LoadAsync([good, broken]);
        await reload.Should().ThrowAsync<RuleFileException>();
        var (status, body, text) = await host.CallAsync("/api/v1/rules");

        status.Should().Be(HttpStatusCode.OK, text);
        Keys(body).Should().Equal(["status", "data", "warnings"], "warnings is a field of Prometheus's envelope");
        var groups = body.GetProperty("data").GetProperty("groups").EnumerateArray().ToList();
        groups.Select(g => g.GetProperty("name").GetString()).Should().Equal(["api"], "the last good rules stay in force; the refused file has no group");
        groups[0].GetProperty("rules")[0].TryGetProperty("lastError", out _).Should().BeFalse("the running file itself is fine");
        var warning = body.GetProperty("warnings").EnumerateArray().Should().ContainSingle().Subject.GetString();
        warning.Should().StartWith("rule file refused, none of its rules run (it never loaded): " + broken + ": 5:").And.Contain("group \"bad\", rule 1, \"x\"");
    }

    [Test]
    public async Task Rules_BrokenVersionOfARunningFile_ItsRulesCarryTheErrorInLastErrorHealthAsEvaluated()
    {
        await using var host = await PrometheusApiHost.StartAsync();
        var (_, before, _) = await host.CallAsync("/api/v1/rules");
        var file = before.GetProperty("data").GetProperty("groups")[0].GetProperty("file").GetString()!;
        var good = await File.ReadAllTextAsync(file);
        await File.WriteAllTextAsync(file, good.Replace("expr: vector(1)", "expr: vector(1", StringComparison.Ordinal));

        var reload = () => host.Rules.LoadAsync([file]);
        await reload.Should().ThrowAsync<RuleFileException>();
        var (status, body, text) = await host.CallAsync("/api/v1/rules");

        status.Should().Be(HttpStatusCode.OK, text);
        var group = body.GetProperty("data").GetProperty("groups").EnumerateArray().Should().ContainSingle().Subject;
        Keys(group).Should().Equal(["name", "file", "rules", "interval", "limit", "evaluationTime", "lastEvaluation"], "no field beyond Prometheus's");
        var rules = group.GetProperty("rules").EnumerateArray().ToList();
        rules.Select(r => r.GetProperty("name").GetString()).Should().Equal(["AlwaysFiring", "LongPending", "job:one:sum", "broken"], "the last good version runs");
        Keys(rules[0]).Should().Equal(["state", "name", "query", "duration", "keepFiringFor", "labels", "annotations", "alerts", "health", "lastError", "evaluationTime", "lastEvaluation", "type"], "lastError where Prometheus puts it");
        rules[0].GetProperty("health").GetString().Should().Be("ok", "health stays what the last evaluation gave");
        var lastError = rules[0].GetProperty("lastError").GetString();
        lastError.Should().StartWith("rule file refused, this rule runs its last good version: " + file + ": 12:").And.Contain("group \"api\", rule 2, \"LongPending\"");
        Keys(rules[2]).Should().Equal(["name", "query", "labels", "health", "lastError", "evaluationTime", "lastEvaluation", "type"]);
        rules[3].GetProperty("health").GetString().Should().Be("err");
        rules[3].GetProperty("lastError").GetString().Should().Contain("; rule file refused, this rule runs its last good version: " + file, "an evaluation error comes first, the file's after it");
        body.GetProperty("warnings").EnumerateArray().Should().ContainSingle().Subject.GetString()
            .Should().StartWith("rule file refused, its groups keep running their last good version: " + file + ": 12:");

        // Fixed: the errors go.
        await File.WriteAllTextAsync(file, good);
        await host.Rules.LoadAsync([file]);
        var (_, after, afterText) = await host.CallAsync("/api/v1/rules");
        Keys(after).Should().Equal(["status", "data"], afterText);
        after.GetProperty("data").GetProperty("groups")[0].GetProperty("rules")[0].TryGetProperty("lastError", out _).Should().BeFalse();
    }

    private static string[] Keys(JsonElement e) => [.. e.EnumerateObject().Select(p => p.Name)];

    private static Task<HttpResponseMessage> Send(PrometheusApiHost host, string path, string header, string value) => SendAsync(host.Client, path, header, value);

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string path, string header, string value)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (header == "Authorization")
        {
            var space = value.IndexOf(' ');
            request.Headers.Authorization = new AuthenticationHeaderValue(value[..space], value[(space + 1)..]);
        }
        else
        {
            request.Headers.Add(header, value);
        }

        return client.SendAsync(request);
    }

    /// <summary>Signs in whoever names a role in the <c>X-Test-Role</c> header, with that role as a claim.</summary>
    private sealed class HeaderUserHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "HeaderUser";
        public const string Header = "X-Test-Role";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue(Header, out var role))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "test"), new Claim("role", role.ToString())], SchemeName);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
        }
    }
}
