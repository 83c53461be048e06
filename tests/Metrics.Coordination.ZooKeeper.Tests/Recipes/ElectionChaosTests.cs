using System.Diagnostics;
using System.Globalization;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes;

/// <summary>
/// Election safety under chaos: 5 contender processes on a 3-member ensemble behind fault proxies, for 2 minutes of
/// SIGKILLed contenders (the leader included), SIGKILLed ensemble members, cut and stalled connections, and graceful
/// hand-overs.
/// </summary>
/// <remarks>
/// Soundness of the check: a contender "acts" in steps; each step reads the clock (before), checks
/// <c>HasLeadership</c>, reads the clock again (after), and appends <c>A token before after</c> to its own log with one
/// flushed write. A term's acting interval is [first before, last after] over its steps, so the real moment of every
/// check lies inside it: if two intervals of different nodes do not overlap, no two contenders ever acted as leader at
/// the same time. A SIGKILLed contender cannot act after its death, and its log ends with its last completed step. A
/// contender that loses and regains leadership with the same node keeps its token (no one else can lead while that
/// node exists and is first), so one interval per (process, token) is still a valid bound. Clocks: all processes read
/// CLOCK_MONOTONIC on the same machine.
/// </remarks>
[Category("LongRunning")]
[Category("Integration")]
public class ElectionChaosTests
{
    private const int Contenders = 5;
    private const int SessionTimeoutMs = 3000;
    private static readonly TimeSpan ChaosDuration = TimeSpan.FromMinutes(2);

    [Test]
    [CancelAfter(6 * 60 * 1000)]
    public async Task FiveContenderProcesses_UnderKillsCutsStallsAndMemberCrashes_NoOverlappingTermsAndIncreasingTokens()
    {
        await using var ensemble = await ZooKeeperEnsemble.StartAsync(3);
        var proxies = ensemble.Servers.Select(s => new TcpProxy(s.ClientPort)).ToList();
        using var logs = new TempDirectory("election-chaos");
        var connect = string.Join(",", proxies.Select(p => p.Endpoint));
        var path = "/chaos-" + Guid.NewGuid().ToString("N")[..8];
        var random = new Random(20261130);
        var slots = new ContenderProcess?[Contenders];
        var generation = 0;
        var actions = new List<string>();
        var restarts = new List<Task>();

        ContenderProcess Spawn(int slot)
        {
            var name = $"c{slot}-{generation++}";
            return ContenderProcess.StartOurs(name, connect, path, SessionTimeoutMs, logs.Combine(name + ".log"));
        }

        try
        {
            for (var i = 0; i < Contenders; i++)
            {
                slots[i] = Spawn(i);
            }

            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < ChaosDuration)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(random.Next(800, 2500)));
                var action = random.Next(7);
                switch (action)
                {
                    case 0:
                    case 1:
                    {
                        // SIGKILL the leader if we know it (action 0), else any contender; a new process replaces it.
                        var leaderSlot = Array.FindIndex(slots, s => s is { IsLeader: true });
                        var slot = action == 0 && leaderSlot >= 0 ? leaderSlot : random.Next(Contenders);
                        if (slots[slot] is { } victim)
                        {
                            await victim.KillAsync();
                            await victim.DisposeAsync();
                            actions.Add($"{clock.Elapsed.TotalSeconds:0.0}s kill {victim.Name}{(slot == leaderSlot ? " (leader)" : string.Empty)}");
                        }

                        slots[slot] = Spawn(slot);
                        break;
                    }

                    case 2:
                    {
                        // SIGKILL one ensemble member (never two at once: the quorum stays), restart it a little later.
                        if (ensemble.Servers.All(s => s.IsRunning) && restarts.All(t => t.IsCompleted))
                        {
                            var member = ensemble.Servers[random.Next(3)];
                            await member.KillAsync();
                            actions.Add($"{clock.Elapsed.TotalSeconds:0.0}s kill zk member {member.MyId}");
                            var downFor = TimeSpan.FromMilliseconds(random.Next(1000, 5000));
                            restarts.Add(Task.Run(async () =>
                            {
                                await Task.Delay(downFor);
                                await member.RestartAsync();
                            }));
                        }

                        break;
                    }

                    case 3:
                    {
                        var proxy = proxies[random.Next(proxies.Count)];
                        var n = proxy.CutAll();
                        actions.Add($"{clock.Elapsed.TotalSeconds:0.0}s cut {n} connections at {proxy.Endpoint}");
                        break;
                    }

                    case 4:
                    {
                        // Stall shorter or longer than the session timeout: suspensions, and sometimes expiries.
                        var proxy = proxies[random.Next(proxies.Count)];
                        var stallFor = TimeSpan.FromMilliseconds(random.Next(500, 4500));
                        proxy.Stall();
                        actions.Add($"{clock.Elapsed.TotalSeconds:0.0}s stall {proxy.Endpoint} for {stallFor.TotalMilliseconds:0} ms");
                        await Task.Delay(stallFor);
                        proxy.Resume();
                        break;
                    }

                    case 5:
                    {
                        // Graceful hand-over: the leader stops acting, closes its latch and exits; a new process joins.
                        if (Array.FindIndex(slots, s => s is { IsLeader: true }) is >= 0 and var slot && slots[slot] is { } leader)
                        {
                            await leader.SendAsync("close");
                            try
                            {
                                await leader.WaitForExitAsync(TimeSpan.FromSeconds(20));
                            }
                            catch (TimeoutException)
                            {
                                await leader.KillAsync();
                            }

                            await leader.DisposeAsync();
                            actions.Add($"{clock.Elapsed.TotalSeconds:0.0}s graceful close of {leader.Name}");
                            slots[slot] = Spawn(slot);
                        }

                        break;
                    }

                    default:
                        // Quiet period: let an election complete.
                        break;
                }
            }

            await Task.WhenAll(restarts);
            foreach (var proxy in proxies)
            {
                proxy.Resume();
            }
        }
        finally
        {
            foreach (var contender in slots.Where(s => s is not null))
            {
                await contender!.DisposeAsync();
            }

            foreach (var proxy in proxies)
            {
                await proxy.DisposeAsync();
            }
        }

        TestContext.Out.WriteLine(string.Join("\n", actions));
        var terms = ReadTerms(logs.Path);
        TestContext.Out.WriteLine($"{terms.Count} terms:");
        foreach (var t in terms)
        {
            TestContext.Out.WriteLine($"  {t.Process} token 0x{t.Token:x} {t.Start / 1e6:0.0} ms .. {t.End / 1e6:0.0} ms ({t.Steps} steps)");
        }

        terms.Count.Should().BeGreaterThanOrEqualTo(5, "the chaos must have moved leadership around");
        for (var i = 1; i < terms.Count; i++)
        {
            var (previous, next) = (terms[i - 1], terms[i]);
            next.Start.Should().BeGreaterThan(previous.End, $"{next.Process} (0x{next.Token:x}) acted before {previous.Process} (0x{previous.Token:x}) had stopped");
            next.Token.Should().BeGreaterThan(previous.Token, "fencing tokens strictly increase from term to term");
        }
    }

    private static List<Term> ReadTerms(string directory)
    {
        var steps = new Dictionary<(string Process, long Token), Term>();
        foreach (var file in Directory.GetFiles(directory, "*.log"))
        {
            var process = Path.GetFileNameWithoutExtension(file);
            foreach (var line in File.ReadAllLines(file))
            {
                // A SIGKILL may cut the last line short: only complete steps count.
                var parts = line.Split(' ');
                if (parts.Length != 4 || parts[0] != "A"
                    || !long.TryParse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var token)
                    || !long.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var before)
                    || !long.TryParse(parts[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out var after))
                {
                    continue;
                }

                steps[(process, token)] = steps.TryGetValue((process, token), out var t)
                    ? t with { Start = Math.Min(t.Start, before), End = Math.Max(t.End, after), Steps = t.Steps + 1 }
                    : new Term(process, token, before, after, 1);
            }
        }

        return [.. steps.Values.OrderBy(t => t.Start)];
    }

    private sealed record Term(string Process, long Token, long Start, long End, int Steps);
}
