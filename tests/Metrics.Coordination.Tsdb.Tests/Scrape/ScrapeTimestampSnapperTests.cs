using FsCheck;
using FsCheck.Fluent;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb.Scrape;
using Microsoft.Extensions.Time.Testing;

namespace Metrics.Coordination.Tsdb.Tests.Scrape;

/// <summary>Scrape-timestamp snapping: never moves a timestamp by more than the tolerance, never reorders, snaps what it can.</summary>
public class ScrapeTimestampSnapperTests
{
    private const long Interval = 15_000;

    [Test]
    public void Snap_WithinToleranceEarlyOrLate_ReturnsSchedule()
    {
        var snapper = new ScrapeTimestampSnapper(2);
        snapper.Snap(100_002, 100_000).Should().Be(100_000, "2 ms late");
        snapper.Snap(114_998, 115_000).Should().Be(115_000, "2 ms early");
        snapper.Snap(130_003, 130_000).Should().Be(130_003, "3 ms late is outside the tolerance");
        snapper.Snap(144_997, 145_000).Should().Be(144_997, "3 ms early is outside the tolerance");
        snapper.Snap(160_000, 160_000).Should().Be(160_000);
    }

    [Test]
    public void Snap_ZeroTolerance_ReturnsActualTime()
    {
        var snapper = new ScrapeTimestampSnapper(0);
        snapper.Snap(100_001, 100_000).Should().Be(100_001);
        snapper.Snap(114_999, 115_000).Should().Be(114_999);
    }

    [Test]
    public void Snap_ClockSteppedBack_ReturnsActualTimeUnchanged()
    {
        var snapper = new ScrapeTimestampSnapper(5);
        snapper.Snap(100_000, 100_000).Should().Be(100_000);
        snapper.Snap(90_001, 90_000).Should().Be(90_001, "a time not after the previous one is left for the storage to refuse");
        snapper.Snap(105_001, 105_000).Should().Be(105_000, "snapping resumes after it");
    }

    [Test]
    public void Snap_ForwardSnapOvertakesNextScrape_KeepsOrderWithinTolerance()
    {
        // Two scrapes 1 ms apart (impossible on a real schedule, the tolerance being ≤ 1 % of the interval): the first
        // snaps 4 ms forward past the second, which then moves just after it, still within the tolerance.
        var snapper = new ScrapeTimestampSnapper(5);
        snapper.Snap(99_996, 100_000).Should().Be(100_000);
        snapper.Snap(99_997, 99_999).Should().Be(100_001, "99,999 would reorder; 100,001 is 4 ms from the actual time");
    }

    [Test]
    public void Snap_NegativeTolerance_Throws()
    {
        var act = () => new ScrapeTimestampSnapper(-1);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Test]
    public void Manager_NegativeTimestampTolerance_Throws()
    {
        var act = () => new ScrapeManager(new RecordingStorage(), new ScrapeManagerOptions { TimestampTolerance = TimeSpan.FromMilliseconds(-1) });
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    /// <summary>Any strictly increasing times, any schedule, any tolerance: moves ≤ tolerance, output strictly increasing.</summary>
    [Test]
    public void Snap_ArbitraryTimesAndSchedules_NeverMovesMoreThanToleranceNorReorders()
    {
        var scenario =
            from tolerance in Gen.Choose(0, 20)
            from steps in (from gap in Gen.Frequency((3, Gen.Choose(1, 30)), (3, Gen.Choose((int)Interval - 30, (int)Interval + 30)), (1, Gen.Choose(1, 200_000)))
                           from scheduleOffset in Gen.Frequency((4, Gen.Choose(-25, 25)), (1, Gen.Choose(-20_000, 20_000)))
                           select (gap, scheduleOffset)).ArrayOf()
            select (tolerance, steps);
        var property = Prop.ForAll(scenario.ToArbitrary(), s =>
        {
            var snapper = new ScrapeTimestampSnapper(s.tolerance);
            var actual = 1_700_000_000_000L;
            var previous = long.MinValue;
            foreach (var (gap, scheduleOffset) in s.steps)
            {
                actual += gap;
                var result = snapper.Snap(actual, actual + scheduleOffset);
                Math.Abs(result - actual).Should().BeLessThanOrEqualTo(s.tolerance, "a timestamp never moves by more than the tolerance");
                result.Should().BeGreaterThan(previous, "snapping never reorders (nor merges) samples");
                previous = result;
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), property);
    }

    /// <summary>
    /// The scrape loop's case: a fixed schedule (tolerance ≤ 1 % of the interval) and any jitter: exactly the scrapes
    /// within the tolerance of their schedule land on it, the others keep their time.
    /// </summary>
    [Test]
    public void Snap_ScheduleWithJitter_SnapsExactlyTheScrapesWithinTolerance()
    {
        var scenario =
            from tolerance in Gen.Choose(0, 150)
            from jitters in Gen.Choose(-400, 400).ArrayOf()
            select (tolerance, jitters);
        var property = Prop.ForAll(scenario.ToArbitrary(), s =>
        {
            var snapper = new ScrapeTimestampSnapper(s.tolerance);
            var scheduled = 1_700_000_003_210L;
            foreach (var jitter in s.jitters)
            {
                scheduled += Interval;
                var expected = Math.Abs(jitter) <= s.tolerance ? scheduled : scheduled + jitter;
                snapper.Snap(scheduled + jitter, scheduled).Should().Be(expected);
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), property);
    }

    /// <summary>End to end through the scrape loop on a fake clock: scrapes 0–2 ms late are stored on the schedule, 3 ms late at their time.</summary>
    [Test]
    [Category("Integration")]
    public async Task ScrapeLoop_LateScrapes_StoredOnScheduleWithinTolerance()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text("m 1\n"));
        var start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
        var time = new FakeTimeProvider(start);
        var job = new ScrapeJobOptions { JobName = "j", ScrapeInterval = TimeSpan.FromSeconds(10), StaticTargets = [new ScrapeTargetGroup { Targets = [target.Target] }] };
        var offset = ScrapeTarget.Populate(job, Abstractions.Relabeling.Relabeler.Empty, job.StaticTargets, []).Single()
            .Offset(job.ScrapeInterval, 0, start.ToUnixTimeMilliseconds() * 1_000_000);
        var storage = new RecordingStorage();
        await using var manager = new ScrapeManager(storage, new ScrapeManagerOptions { Jobs = [job], TimeProvider = time });
        await manager.StartAsync();

        long[] lateMs = [1, 2, 0, 3, 1];
        var expected = new List<long>();
        var lastLate = 0L;
        for (var i = 0; i < lateMs.Length; i++)
        {
            time.Advance(i == 0 ? offset + TimeSpan.FromMilliseconds(lateMs[0]) : job.ScrapeInterval + TimeSpan.FromMilliseconds(lateMs[i] - lastLate));
            lastLate = lateMs[i];
            var scheduled = (start + offset + (i * job.ScrapeInterval)).ToUnixTimeMilliseconds();
            expected.Add(lateMs[i] <= 2 ? scheduled : scheduled + lateMs[i]);
            await ScrapeManagerTests.PollAsync(() => storage.Samples.Count(s => s.Labels.Name == "up"), n => n >= i + 1, TimeSpan.FromSeconds(30), $"scrape {i + 1}");
        }

        storage.Samples.Where(s => s.Labels.Name == "up").Select(s => s.T).Should().Equal(expected, "the default 2 ms tolerance snaps the scrapes at most 2 ms late");
    }
}
