using Metrics.Coordination.Shared;

namespace Metrics.Coordination.Registry.Tests;

/// <summary>The one equal-jitter backoff schedule shared by the Pushgateway client, the notifier and the ZooKeeper client.</summary>
[TestFixture]
public sealed class BackoffTests
{
    private static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(2);

    [TestCase(1, 50)]
    [TestCase(2, 100)]
    [TestCase(3, 200)]
    [TestCase(6, 1600)]
    [TestCase(7, 2000)] // 3,200 ms capped at the maximum.
    [TestCase(1000, 2000)] // No overflow far past the cap.
    [TestCase(int.MaxValue, 2000)]
    [TestCase(0, 50)] // Attempt numbers below 1 mean the first delay, not half of it.
    public void Ceiling_DoublesPerAttemptUpToMax(int attempt, int expectedMs) =>
        Backoff.Ceiling(Initial, Max, attempt).Should().Be(TimeSpan.FromMilliseconds(expectedMs));

    [Test]
    public void Delay_IsInUpperHalfOfCeiling_AndSpreads()
    {
        var seen = new HashSet<long>();
        for (var attempt = 1; attempt <= 10; attempt++)
        {
            var ceiling = Backoff.Ceiling(Initial, Max, attempt);
            for (var i = 0; i < 200; i++)
            {
                var delay = Backoff.Delay(Initial, Max, attempt);
                delay.Should().BeGreaterThanOrEqualTo(ceiling / 2).And.BeLessThanOrEqualTo(ceiling);
                seen.Add(delay.Ticks);
            }
        }

        // Jitter: 2,000 draws over ten ceilings give far more than ten distinct delays.
        seen.Count.Should().BeGreaterThan(1000);
    }

    [Test]
    public void Jitter_OfZero_IsZero() => Backoff.Jitter(TimeSpan.Zero).Should().Be(TimeSpan.Zero);
}
