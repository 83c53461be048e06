using System.Diagnostics;
using System.Text.Json;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules.Notifications;

namespace Metrics.Coordination.Rules.Tests.Notifications;

/// <summary>A leadership gate tests switch by hand.</summary>
internal sealed class TestGate : ILeadershipGate
{
    private volatile bool _isLeader;
    private long _token;

    public TestGate(bool isLeader = true, long token = 1)
    {
        _isLeader = isLeader;
        _token = token;
    }

    public bool IsLeader => _isLeader;

    public long FencingToken => Interlocked.Read(ref _token);

    public event EventHandler? Changed;

    public void Set(bool isLeader, long token)
    {
        Interlocked.Exchange(ref _token, token);
        _isLeader = isLeader;
        Changed?.Invoke(this, EventArgs.Empty);
    }
}

internal static class NotifierTestKit
{
    public static NotificationAlert Alert(string name, DateTimeOffset startsAt, DateTimeOffset? endsAt = null, params string[] labels) =>
        new()
        {
            Labels = Labels.FromStrings(["alertname", name, .. labels]),
            Annotations = Labels.FromStrings("summary", $"{name} is firing"),
            StartsAt = startsAt,
            EndsAt = endsAt,
            GeneratorUrl = "http://rules.example/graph?g0.expr=up%20%3D%3D%200",
        };

    /// <summary>Options with quick retries for tests (delays of tens of milliseconds).</summary>
    public static AlertmanagerNotifierOptions FastOptions(params Uri[] alertmanagers) =>
        new()
        {
            Alertmanagers = alertmanagers,
            InitialRetryDelay = TimeSpan.FromMilliseconds(20),
            MaxRetryDelay = TimeSpan.FromMilliseconds(200),
            MaxRetryDuration = TimeSpan.FromSeconds(20),
            RequestTimeout = TimeSpan.FromSeconds(10),
            DrainTimeout = TimeSpan.FromSeconds(5),
        };

    /// <summary>The alerts of every posted batch, in order.</summary>
    public static List<JsonElement> PostedAlerts(IEnumerable<Testing.LoopbackHttpRequest> requests) =>
        requests.SelectMany(r => JsonDocument.Parse(r.Body).RootElement.EnumerateArray().Select(e => e.Clone())).ToList();

    public static Dictionary<string, string> Map(JsonElement element) =>
        element.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);

    /// <summary>Polls <paramref name="condition"/> every 20 ms until true, or fails with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                Assert.Fail($"Waited {timeout.TotalSeconds:0.#} s for {what()}");
            }

            await Task.Delay(20);
        }
    }

    public static long Dropped(this AlertmanagerNotifier notifier, NotificationDropReason reason, int target = 0) =>
        notifier.GetStatus()[target].Dropped[reason];
}
