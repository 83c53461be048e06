using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Web;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Hosting.Tests;

/// <summary>
/// Highly available alerting end to end: three app replicas in separate processes (the ReplicaHelper: generic host +
/// AddMetricsCoordination), a real 3-member ZooKeeper ensemble and a real Alertmanager 0.25 behind a recording proxy.
/// The leader is SIGKILLed ten times; the alert must stay firing in Alertmanager with one <c>startsAt</c>, and the
/// senders (from <c>generatorURL</c>'s <c>sender</c>/<c>term</c>) must never interleave.
/// </summary>
[Category("Integration")]
[Category("LongRunning")]
public class HaAlertingEndToEndTests
{
    // Short session so a crash costs seconds; ZooKeeper expires sessions on tick boundaries, so a 200 ms tick keeps the
    // expiry within 200 ms of the timeout (with the default 1 s tick it could be up to 1 s late). initLimit/syncLimit
    // are in ticks: raised so a loaded 2-core machine does not drop followers.
    private const int SessionTimeoutMs = 3000;
    private const int EvaluationIntervalMs = 1000;

    // A firing alert is sent with endsAt = send time + 4 × max(resend delay, interval) = 12 s: longer than a failover
    // (≈ session timeout + 0.2 s + the next evaluation), so Alertmanager never resolves the alert on its own meanwhile.
    private const int ResendDelayMs = 3000;
    private const int Rounds = 10;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Test]
    public async Task ThreeReplicas_LeaderKilledTenTimes_AlertKeepsFiringWithOneStartsAtAndOneSenderAtATime()
    {
        var total = Stopwatch.StartNew();
        await using var ensemble = await ZooKeeperEnsemble.StartAsync(3, new ZooKeeperServerOptions
        {
            TickTimeMs = 200,
            MinSessionTimeoutMs = 400,
            ExtraConfig = ["initLimit=50", "syncLimit=25"],
        });
        await using var alertmanager = await AlertmanagerServer.StartAsync();
        using var forward = new HttpClient { BaseAddress = alertmanager.BaseUrl, Timeout = TimeSpan.FromSeconds(10) };
        await using var proxy = new LoopbackHttpServer(request => Forward(forward, request));
        using var directory = new TempDirectory("ha-alerting");
        var ruleFile = directory.Combine("ha.rules.yml");
        await File.WriteAllTextAsync(ruleFile, """
            groups:
              - name: ha
                rules:
                  - alert: AlwaysOn
                    expr: vector(1)
                    for: 2s
                    labels:
                      severity: page
                    annotations:
                      summary: always on
            """);
        var electionPath = "/ha-" + Guid.NewGuid().ToString("N")[..8];
        ReplicaProcess Start(string id) => ReplicaProcess.Start(id, ensemble.ConnectionString, electionPath, SessionTimeoutMs, proxy.BaseUrl, ruleFile, EvaluationIntervalMs, ResendDelayMs);

        var replicas = new Dictionary<string, ReplicaProcess>();
        var all = new List<ReplicaProcess>();
        try
        {
            foreach (var id in new[] { "a", "b", "c" })
            {
                replicas[id] = Start(id);
                all.Add(replicas[id]);
            }

            foreach (var r in replicas.Values)
            {
                await r.WaitForAsync("READY", Wait);
            }

            // The first alert in Alertmanager: its startsAt is the one every later send must carry.
            var first = (await alertmanager.WaitForAlertsAsync(a => a.Any(x => x["alertname"] == "AlwaysOn"), Wait, "AlwaysOn firing")).Single();
            var startsAt = first.StartsAt;
            TestContext.Out.WriteLine($"first alert after {total.Elapsed.TotalSeconds:0.0} s: {first} from {first.GeneratorUrl}");

            // Alertmanager's view, polled all along: the alert must be active at every poll.
            using var stopPolling = new CancellationTokenSource();
            var polls = new List<string>();
            var poller = PollAsync(alertmanager, startsAt, polls, stopPolling.Token);

            var failovers = new List<double>();
            for (var round = 1; round <= Rounds; round++)
            {
                var leader = await WaitForSingleLeaderAsync(replicas.Values);
                var token = leader.CurrentToken!.Value;
                await WaitForPostAsync(proxy, leader.Id, token, Wait);

                var killedAt = await leader.KillAsync();
                var survivors = replicas.Values.Where(r => r != leader).ToList();
                var next = await WaitForLeaderAfterAsync(survivors, killedAt, Wait);
                var failover = (next.LeaderSince!.Value - killedAt) / 1e6;
                failovers.Add(failover);
                TestContext.Out.WriteLine($"round {round}: killed {leader.Id} (term {token}); {next.Id} leads (term {next.CurrentToken}) {failover:0} ms later");
                failover.Should().BeLessThan(SessionTimeoutMs + 1000, $"round {round}: another replica leads within the session timeout + 1 s of the SIGKILL");

                // The new leader sends in its own term, and Alertmanager still has the alert with the first startsAt.
                await WaitForPostAsync(proxy, next.Id, next.CurrentToken!.Value, Wait);
                var listed = (await alertmanager.GetAlertsAsync()).Where(a => a["alertname"] == "AlwaysOn").ToList();
                listed.Should().ContainSingle().Which.StartsAt.Should().Be(startsAt, $"round {round}: the new leader continues the alert");

                // Restore: the killed replica comes back under the same id (it queues behind the others).
                var restarted = Start(leader.Id);
                all.Add(restarted);
                replicas[leader.Id] = restarted;
                await restarted.WaitForAsync("READY", Wait);
            }

            await stopPolling.CancelAsync();
            await poller;

            // 1. Alertmanager never saw two senders at once: in receive order the terms never go down, and each term
            //    has one sender, which was leader in that term (its LEADER event carried the token).
            var posts = Posts(proxy);
            posts.Should().NotBeEmpty();
            for (var i = 1; i < posts.Count; i++)
            {
                posts[i].Term.Should().BeGreaterThanOrEqualTo(posts[i - 1].Term, $"POST {i} ({posts[i]}) came after {posts[i - 1]}: terms must never interleave");
            }

            foreach (var term in posts.GroupBy(p => p.Term))
            {
                term.Select(p => p.Sender).Distinct().Should().ContainSingle($"term {term.Key} has one sender");
                var sender = term.First().Sender;
                all.Where(r => r.Id == sender).SelectMany(r => r.Events).Should().Contain(e => e.Kind == "LEADER" && e.Argument == term.Key.ToString(CultureInfo.InvariantCulture), $"{sender} led in term {term.Key}");
            }

            posts.Select(p => p.Term).Distinct().Count().Should().BeGreaterThanOrEqualTo(Rounds + 1);
            posts.Should().OnlyContain(p => p.StartsAt == startsAt, "every send carried the first startsAt");

            // 2. No flapping: Alertmanager had the alert active at every poll and never notified a resolution.
            polls.Should().NotBeEmpty().And.OnlyContain(p => p == "ok", "the alert stayed active with the same startsAt");
            var notifications = alertmanager.Webhook!.Requests.Select(r => JsonDocument.Parse(r.Body).RootElement).ToList();
            notifications.Should().NotBeEmpty();
            notifications.SelectMany(n => n.GetProperty("alerts").EnumerateArray())
                .Should().OnlyContain(a => a.GetProperty("status").GetString() == "firing", "Alertmanager never resolved the alert");

            failovers.Sort();
            TestContext.Out.WriteLine($"failover (SIGKILL -> next LEADER) over {failovers.Count} rounds: min {failovers[0]:0} ms, median {failovers[failovers.Count / 2]:0} ms, max {failovers[^1]:0} ms (session timeout {SessionTimeoutMs} ms); {posts.Count} POSTs in {posts.Select(p => p.Term).Distinct().Count()} terms; {polls.Count} polls; total {total.Elapsed.TotalSeconds:0} s");
        }
        catch
        {
            foreach (var r in all)
            {
                TestContext.Out.WriteLine(r.Describe());
            }

            throw;
        }
        finally
        {
            foreach (var r in all)
            {
                await r.DisposeAsync();
            }
        }
    }

    private static LoopbackHttpReply Forward(HttpClient http, LoopbackHttpRequest request)
    {
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Target.TrimStart('/'));
        message.Content = new ByteArrayContent(request.Body);
        message.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(request.Header("Content-Type") ?? "application/json");
        using var response = http.Send(message);
        using var reader = new StreamReader(response.Content.ReadAsStream());
        return new LoopbackHttpReply((int)response.StatusCode, reader.ReadToEnd(), "application/json");
    }

    private static async Task PollAsync(AlertmanagerServer alertmanager, DateTimeOffset startsAt, List<string> polls, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var alerts = (await alertmanager.GetAlertsAsync()).Where(a => a["alertname"] == "AlwaysOn").ToList();
            var verdict = alerts.Count == 1 && alerts[0].State == "active" && alerts[0].StartsAt == startsAt && alerts[0].EndsAt > TimeProvider.System.GetUtcNow()
                ? "ok"
                : $"at {TimeProvider.System.GetUtcNow():O}: {string.Join("; ", alerts)}";
            lock (polls)
            {
                polls.Add(verdict);
            }

            try
            {
                await Task.Delay(250, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static async Task<ReplicaProcess> WaitForSingleLeaderAsync(IEnumerable<ReplicaProcess> replicas)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var leaders = replicas.Where(r => !r.HasExited && r.CurrentToken is not null).ToList();
            if (leaders.Count == 1)
            {
                return leaders[0];
            }

            // Two at once can only be a moment where one replica's NOTLEADER line is still in its pipe; what they
            // sent (the POSTs' terms) is the real check, below.
            clock.Elapsed.Should().BeLessThan(Wait, "one replica should lead");
            await Task.Delay(20);
        }
    }

    private static async Task<ReplicaProcess> WaitForLeaderAfterAsync(IReadOnlyList<ReplicaProcess> candidates, long afterNs, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var next = candidates.FirstOrDefault(r => r.CurrentToken is not null && r.LeaderSince > afterNs);
            if (next is not null)
            {
                return next;
            }

            clock.Elapsed.Should().BeLessThan(timeout, "a surviving replica should lead after the SIGKILL: " + string.Join(" || ", candidates.Select(c => c.Describe())));
            await Task.Delay(10);
        }
    }

    private static async Task WaitForPostAsync(LoopbackHttpServer proxy, string sender, long term, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!Posts(proxy).Any(p => p.Sender == sender && p.Term == term))
        {
            clock.Elapsed.Should().BeLessThan(timeout, $"{sender} should send in term {term}; seen: {string.Join(", ", Posts(proxy).TakeLast(5))}");
            await Task.Delay(50);
        }
    }

    /// <summary>Every alert the replicas POSTed through the proxy, in receive order, with sender and term from its generatorURL.</summary>
    private static List<Post> Posts(LoopbackHttpServer proxy) =>
        [.. proxy.Requests.Where(r => r.Method == "POST" && r.Target.EndsWith("/api/v2/alerts", StringComparison.Ordinal))
            .SelectMany(r => JsonDocument.Parse(r.Body).RootElement.EnumerateArray().Select(a =>
            {
                var url = new Uri(a.GetProperty("generatorURL").GetString()!);
                var query = HttpUtility.ParseQueryString(url.Query);
                return new Post(r.ReceivedAt, query["sender"] ?? "", long.Parse(query["term"] ?? "0", CultureInfo.InvariantCulture), DateTimeOffset.Parse(a.GetProperty("startsAt").GetString()!, CultureInfo.InvariantCulture));
            }))];

    private sealed record Post(DateTimeOffset ReceivedAt, string Sender, long Term, DateTimeOffset StartsAt)
    {
        public override string ToString() => $"{ReceivedAt:HH:mm:ss.fff} {Sender} term {Term}";
    }
}
