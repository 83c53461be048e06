using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Registry;
using Microsoft.Extensions.Time.Testing;

namespace Metrics.Coordination.Registry.Tests;

public class InstrumentTests
{
    private static MetricRegistry NewRegistry(TimeProvider? time = null) =>
        new(new MetricRegistryOptions { ExposeSelfMetrics = false, TimeProvider = time ?? TimeProvider.System });

    [Test]
    public void Counter_MixedIncrements_SumsExactly()
    {
        var c = NewRegistry().CreateCounter("c_total", "h");
        c.Inc();
        c.Inc(2.5);
        c.Inc(3);
        c.Unlabeled().Inc(4L);
        c.Value.Should().Be(10.5);
        c.Unlabeled().IncTo(20);
        c.Value.Should().Be(20);
        c.Unlabeled().IncTo(5);
        c.Value.Should().Be(20, "IncTo never lowers a counter");
    }

    [Test]
    public void Counter_ConcurrentIncrements_NoneLost()
    {
        var series = NewRegistry().CreateCounter("c_total", "h", "a").WithLabels("x");
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 100_000; i++)
            {
                series.Inc();
                series.Inc(0.5);
            }
        });
        series.Value.Should().Be(600_000);
    }

    [Test]
    public void WithLabels_ConcurrentFirstUse_ReturnsOneSeries()
    {
        var c = NewRegistry().CreateCounter("c_total", "h", "a", "b");
        var seen = new System.Collections.Concurrent.ConcurrentBag<CounterSeries>();
        Parallel.For(0, 64, i =>
        {
            for (var k = 0; k < 200; k++)
            {
                var s = c.WithLabels("v" + k, "w");
                s.Inc();
                if (k == 7)
                {
                    seen.Add(s);
                }
            }
        });
        seen.Distinct().Should().HaveCount(1);
        c.SeriesCount.Should().Be(200);
        c.WithLabels("v7", "w").Value.Should().Be(64);
    }

    [Test]
    public void WithLabels_SpanAndFixedOverloads_ResolveSameSeries()
    {
        var c = NewRegistry().CreateCounter("c_total", "h", "a", "b", "c");
        var fixedArity = c.WithLabels("1", "2", "3");
        c.WithLabels(["1", "2", "3"]).Should().BeSameAs(fixedArity);
        var two = NewRegistry().CreateCounter("d_total", "h", "a", "b");
        two.WithLabels(["x", "y"]).Should().BeSameAs(two.WithLabels("x", "y"));
        var one = NewRegistry().CreateCounter("e_total", "h", "a");
        one.WithLabels(["x"]).Should().BeSameAs(one.WithLabels("x"));
    }

    [Test]
    public void SeriesTable_ManySeriesAndRemovals_StaysConsistent()
    {
        var g = NewRegistry().CreateGauge("g", "h", "k");
        for (var i = 0; i < 5000; i++)
        {
            g.WithLabels(i.ToString(CultureInfo.InvariantCulture)).Set(i);
        }

        for (var i = 0; i < 5000; i += 2)
        {
            g.RemoveLabels(i.ToString(CultureInfo.InvariantCulture)).Should().BeTrue();
        }

        g.SeriesCount.Should().Be(2500);
        for (var i = 0; i < 5000; i++)
        {
            var key = i.ToString(CultureInfo.InvariantCulture);
            var s = g.WithLabels(key);
            s.Value.Should().Be(i % 2 == 0 ? 0 : i, "removed series come back fresh");
        }

        g.SeriesCount.Should().Be(5000);
        g.RemoveLabels("nope").Should().BeFalse();
    }

    [Test]
    public void RemoveLabels_HandleAfterwards_IsRemovedAndNotExposed()
    {
        var r = NewRegistry();
        var c = r.CreateCounter("c_total", "h", "a");
        var s = c.WithLabels("x");
        s.Inc();
        c.RemoveLabels("x").Should().BeTrue();
        s.IsRemoved.Should().BeTrue();
        r.ToText().Should().NotContain("c_total{");
        c.WithLabels("x").Should().NotBeSameAs(s);
    }

    [Test]
    public void Gauge_Operations()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_500));
        var g = NewRegistry(time).CreateGauge("g", "h");
        g.Set(5);
        g.Inc();
        g.Inc(2.5);
        g.Dec();
        g.Dec(0.5);
        g.Value.Should().Be(7);
        g.SetToCurrentTime();
        g.Value.Should().Be(1_700_000_000.5);
    }

    [Test]
    public void Histogram_BoundaryValues_GoToBucketWithEqualBound()
    {
        var r = NewRegistry();
        var h = r.CreateHistogram("h_seconds", "h", new HistogramOptions { Buckets = [0.1, 1, 10] });
        foreach (var v in new[] { 0.1, 0.10000000000000002, 1, 10, 10.5, double.NaN, -5 })
        {
            h.Observe(v);
        }

        var s = h.Unlabeled();
        s.GetCumulativeCounts().Should().Equal(2, 4, 5, 7);
        s.Count.Should().Be(7);
        double.IsNaN(s.Sum).Should().BeTrue("a NaN observation poisons the sum, as in Prometheus clients");
    }

    [Test]
    public void Histogram_ManyBuckets_BinarySearchMatchesLinearDefinition()
    {
        Prop.ForAll(
            Gen.Choose(17, 60).SelectMany(n => Gen.ArrayOf(Gen.Choose(-10_000, 10_000), n)).ToArbitrary(),
            Gen.ArrayOf(Gen.Choose(-12_000, 12_000)).ToArbitrary(),
            (rawBounds, values) =>
            {
                var bounds = rawBounds.Distinct().OrderBy(x => x).Select(x => x / 10.0).ToArray();
                if (bounds.Length == 0)
                {
                    return true;
                }

                var h = NewRegistry().CreateHistogram("h", "h", new HistogramOptions { Buckets = bounds });
                var expected = new long[bounds.Length + 1];
                foreach (var raw in values)
                {
                    var v = raw / 10.0;
                    h.Observe(v);
                    var index = Array.FindIndex(bounds, b => v <= b);
                    expected[index < 0 ? bounds.Length : index]++;
                }

                var cumulative = new long[expected.Length];
                long run = 0;
                for (var i = 0; i < expected.Length; i++)
                {
                    run += expected[i];
                    cumulative[i] = run;
                }

                return h.Unlabeled().GetCumulativeCounts().SequenceEqual(cumulative);
            }).QuickCheckThrowOnFailure();
    }

    [Test]
    public void Summary_RandomData_QuantilesWithinRankError()
    {
        var objectives = new QuantileObjective[] { new(0.5, 0.05), new(0.9, 0.01), new(0.99, 0.001) };
        Prop.ForAll(
            Gen.Choose(1, 5000).SelectMany(n => Gen.ArrayOf(Gen.Choose(-1_000_000, 1_000_000), n)).ToArbitrary(),
            values =>
            {
                var s = NewRegistry().CreateSummary("s", "h", new SummaryOptions { Objectives = objectives });
                foreach (var v in values)
                {
                    s.Observe(v);
                }

                var sorted = values.OrderBy(x => x).ToArray();
                foreach (var o in objectives)
                {
                    var estimate = s.Quantile(o.Quantile);

                    // The estimate's rank must lie within epsilon * n of the true rank q * n (plus one for ceil(q n)).
                    var lowRank = Array.FindIndex(sorted, x => x == estimate);
                    var highRank = Array.FindLastIndex(sorted, x => x == estimate);
                    if (lowRank < 0)
                    {
                        return false;
                    }

                    var target = o.Quantile * sorted.Length;
                    var slack = (o.Epsilon * sorted.Length) + 1;
                    if (highRank + 1 < target - slack || lowRank > target + slack)
                    {
                        TestContext.Out.WriteLine($"n={sorted.Length} q={o.Quantile} estimate={estimate} ranks={lowRank}..{highRank} target={target} slack={slack}");
                        return false;
                    }
                }

                var ok = s.Unlabeled().Count == values.Length && s.Unlabeled().Sum == values.Sum(x => (double)x);
                if (!ok)
                {
                    TestContext.Out.WriteLine($"count {s.Unlabeled().Count} sum {s.Unlabeled().Sum} expected {values.Length} {values.Sum(x => (double)x)}");
                }

                return ok;
            }).QuickCheckThrowOnFailure();
    }

    [Test]
    public void Summary_SlidingWindow_ForgetsOldObservations()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        var s = NewRegistry(time).CreateSummary("s", "h", new SummaryOptions
        {
            Objectives = [new(0.5, 0.01)],
            MaxAge = TimeSpan.FromMinutes(10),
            AgeBuckets = 5,
        });
        for (var i = 0; i < 1000; i++)
        {
            s.Observe(100);
        }

        s.Quantile(0.5).Should().Be(100);
        time.Advance(TimeSpan.FromMinutes(5));
        for (var i = 0; i < 1000; i++)
        {
            s.Observe(1);
        }

        time.Advance(TimeSpan.FromMinutes(6));
        s.Quantile(0.5).Should().Be(1, "after MaxAge the old observations have left the window");
        time.Advance(TimeSpan.FromMinutes(30));
        double.IsNaN(s.Quantile(0.5)).Should().BeTrue("an empty window has no quantile");
        s.Unlabeled().Count.Should().Be(2000, "_count is all-time");
    }

    [Test]
    public void Summary_MemoryIsBounded()
    {
        var s = NewRegistry().CreateSummary("s", "h", new SummaryOptions { Objectives = [new(0.5, 0.05), new(0.99, 0.001)] });
        var random = new Random(42);
        for (var i = 0; i < 1_000_000; i++)
        {
            s.Observe(random.NextDouble());
        }

        s.Unlabeled().StreamEntries().Should().BeLessThan(5000, "a million observations compress to a bounded sketch");
    }

    [Test]
    public void StateSet_And_Info_Expose()
    {
        var r = NewRegistry();
        var st = r.CreateStateSet("door", "Door state.", ["open", "closed"], "room");
        st.WithLabels("hall").SetState("closed");
        st.WithLabels("hall").IsActive("closed").Should().BeTrue();
        FluentActions.Invoking(() => st.WithLabels("hall").SetState("ajar")).Should().Throw<ArgumentException>().WithMessage("*'ajar'*");
        var info = r.CreateInfo("build_info", "Build.", "version");
        info.Set("1.0");
        info.Set("2.0");
        var om = r.ToText(ExpositionFormat.OpenMetrics);
        om.Should().Contain("door{room=\"hall\",door=\"open\"} 0\ndoor{room=\"hall\",door=\"closed\"} 1\n");
        om.Should().Contain("# TYPE build info\nbuild_info{version=\"2.0\"} 1\n").And.NotContain("1.0");
    }

    [Test]
    public void HistogramTimer_ObservesElapsedFromRegistryClock()
    {
        var time = new FakeTimeProvider();
        var h = NewRegistry(time).CreateHistogram("t_seconds", "h");
        using (h.StartTimer())
        {
            time.Advance(TimeSpan.FromMilliseconds(300));
        }

        h.Unlabeled().Sum.Should().BeApproximately(0.3, 1e-9);
        h.Unlabeled().GetCumulativeCounts()[6].Should().Be(1, "0.3 s falls in the 0.5 bucket");
    }
}

internal static class SeriesExtensions
{
    public static CounterSeries Unlabeled(this Counter c) => c.GetSeries().Single();

    public static HistogramSeries Unlabeled(this Histogram h) => h.GetSeries().Single();

    public static SummarySeries Unlabeled(this Summary s) => s.GetSeries().Single();
}
