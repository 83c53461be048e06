using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tsdb.Head;
using Metrics.Coordination.Tsdb.Querying;

namespace Metrics.Coordination.Tsdb.Tests.Head;

public class HeadTests
{
    private const long Start = 1_699_999_200_000; // a 2 h boundary

    [Test]
    public void Commit_SamplesVisibleToQuerier_ByBits()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var app = db.Appender();
        var a = Labels.FromStrings("__name__", "up", "job", "api");
        var b = Labels.FromStrings("__name__", "up", "job", "web");
        app.Append(new AppendRequest { Labels = a, TimestampMs = Start, Value = 1 });
        app.Append(new AppendRequest { Labels = b, TimestampMs = Start, Value = StaleMarker.Value });
        app.Append(new AppendRequest { Labels = a, TimestampMs = Start + 15_000, Value = -0.0 });
        app.Append(new AppendRequest { Labels = b, TimestampMs = Start + 15_000, Value = BitConverter.UInt64BitsToDouble(0x7FF8000000000001) });
        db.Querier(Start, Start + 60_000).Select(true, default, Eq("__name__", "up")).Should().BeEmpty("nothing is visible before commit");
        app.Commit();

        var result = Read(db.Querier(Start, Start + 60_000), Eq("__name__", "up"));
        result.Keys.Should().Equal(a, b);
        result[a].Should().Equal((Start, 0x3FF0000000000000UL), (Start + 15_000, 0x8000000000000000UL));
        result[b].Should().Equal((Start, StaleMarker.Bits), (Start + 15_000, 0x7FF8000000000001UL));
        db.GetStatistics().SamplesAppended.Should().Be(4);
        db.GetStatistics().HeadSeries.Should().Be(2);
    }

    [Test]
    public void Rollback_DiscardsSamples_KeepsNothingVisible()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var app = db.Appender();
        app.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "x"), TimestampMs = Start, Value = 1 });
        app.Rollback();
        Read(db.Querier(long.MinValue, long.MaxValue)).Should().BeEmpty();
        var again = db.Appender();
        again.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "x"), TimestampMs = Start, Value = 2 });
        again.Commit();
        Read(db.Querier(long.MinValue, long.MaxValue)).Single().Value.Should().Equal((Start, BitConverter.DoubleToUInt64Bits(2)));
    }

    [Test]
    public void Append_SeriesRefFastPath_ReusesSeriesWithoutLabels()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var labels = Labels.FromStrings("__name__", "x", "a", "1");
        var app = db.Appender();
        var r = app.Append(new AppendRequest { Labels = labels, TimestampMs = Start, Value = 1 });
        r.IsSet.Should().BeTrue();
        app.Append(new AppendRequest { Ref = r, Labels = Labels.Empty, TimestampMs = Start + 1, Value = 2 }).Should().Be(r);
        app.Commit();
        var next = db.Appender();
        next.Append(new AppendRequest { Ref = r, Labels = Labels.Empty, TimestampMs = Start + 2, Value = 3 }).Should().Be(r);
        next.Append(new AppendRequest { Labels = labels, TimestampMs = Start + 3, Value = 4 }).Should().Be(r, "the same labels find the same series");
        next.Commit();
        Read(db.Querier(long.MinValue, long.MaxValue))[labels].Should().HaveCount(4);
        db.GetStatistics().HeadSeries.Should().Be(1);
    }

    [Test]
    public void Append_OutOfOrderAndDuplicates_RejectedAndCounted()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var labels = Labels.FromStrings("__name__", "x");
        var app = db.Appender();
        var r = app.Append(new AppendRequest { Labels = labels, TimestampMs = Start + 10, Value = 1 });
        Rejects(() => app.Append(new AppendRequest { Ref = r, Labels = labels, TimestampMs = Start + 5, Value = 1 })).Should().Be(SampleRejectionReason.OutOfOrder, "order is checked within the batch too");
        Rejects(() => app.Append(new AppendRequest { Ref = r, Labels = labels, TimestampMs = Start + 10, Value = 2 })).Should().Be(SampleRejectionReason.DuplicateTimestamp);
        app.Append(new AppendRequest { Ref = r, Labels = labels, TimestampMs = Start + 10, Value = 1 }).Should().Be(r, "an exact duplicate is accepted and dropped");
        app.Commit();

        var next = db.Appender();
        Rejects(() => next.Append(new AppendRequest { Labels = labels, TimestampMs = Start + 9, Value = 1 })).Should().Be(SampleRejectionReason.OutOfOrder);
        Rejects(() => next.Append(new AppendRequest { Labels = labels, TimestampMs = Start + 10, Value = double.NaN })).Should().Be(SampleRejectionReason.DuplicateTimestamp, "NaN bits differ from 1.0");
        next.Append(new AppendRequest { Labels = labels, TimestampMs = Start + 11, Value = 3 });
        next.Commit();

        var stats = db.GetStatistics();
        stats.OutOfOrderSamples.Should().Be(2);
        stats.DuplicateSamples.Should().Be(2);
        Read(db.Querier(long.MinValue, long.MaxValue))[labels].Select(s => s.T).Should().Equal(Start + 10, Start + 11);
    }

    [Test]
    public void Append_StaleMarkerDuplicate_ComparedByBits()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var labels = Labels.FromStrings("__name__", "x");
        var app = db.Appender();
        app.Append(new AppendRequest { Labels = labels, TimestampMs = Start, Value = StaleMarker.Value });
        app.Commit();
        var next = db.Appender();
        next.Append(new AppendRequest { Labels = labels, TimestampMs = Start, Value = StaleMarker.Value });
        Rejects(() => next.Append(new AppendRequest { Labels = labels, TimestampMs = Start, Value = double.NaN })).Should().Be(SampleRejectionReason.DuplicateTimestamp, "a plain NaN is not the stale marker");
        next.Commit();
    }

    [Test]
    public void Append_TooOld_OutOfBounds()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var app = db.Appender();
        app.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "x"), TimestampMs = Start + 7_200_000, Value = 1 });
        app.Commit();
        var next = db.Appender();
        Rejects(() => next.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "y"), TimestampMs = Start + 3_600_000 - 1, Value = 1 }))
            .Should().Be(SampleRejectionReason.OutOfBounds, "half a block range behind the newest sample is the limit");
        next.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "y"), TimestampMs = Start + 3_600_000, Value = 1 });
        next.Commit();
        db.GetStatistics().OutOfBoundsSamples.Should().Be(1);
    }

    [Test]
    public void Append_EmptyValuesDropped_EmptySetRejected()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var app = db.Appender();
        var r1 = app.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "x", "a", ""), TimestampMs = Start, Value = 1 });
        var r2 = app.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "x"), TimestampMs = Start + 1, Value = 1 });
        r1.Should().Be(r2, "an empty label value means the label is absent");
        Rejects(() => app.Append(new AppendRequest { Labels = Labels.FromStrings("a", ""), TimestampMs = Start, Value = 1 })).Should().Be(SampleRejectionReason.InvalidLabels);
        app.Commit();
    }

    [Test]
    public void Commit_FifteenSecondScrapesOverTwoHours_FourChunksOf120()
    {
        var head = new Tsdb.Head.Head(new HeadOptions(HeadOptions.DefaultBlockRange));
        var app = head.Appender();
        var labels = Labels.FromStrings("__name__", "x");
        for (var i = 0; i < 480; i++)
        {
            app.Append(new AppendRequest { Labels = labels, TimestampMs = Start + (i * 15_000L), Value = i });
        }

        app.Commit();
        var chunks = new List<HeadChunk>();
        var s = head.Series.GetByLabels(labels)!;
        s.ChunksForBlock(long.MinValue, long.MaxValue, chunks);
        chunks.Select(c => c.MinTime).Should().Equal(Start, Start + 1_800_000, Start + 3_600_000, Start + 5_400_000);
        chunks.Select(c => (int)((c.Data[0] << 8) | c.Data[1])).Should().AllBeEquivalentTo(120);
    }

    [Test]
    public void ChunkCutting_RandomTimestamps_MatchesPrometheus242Rule()
    {
        // Reference: write_block.py's cut_chunks (the 2.42 head's rule), ported as-is.
        var random = new Random(5);
        for (var round = 0; round < 200; round++)
        {
            var range = random.Next(3) switch { 0 => 7_200_000L, 1 => 14_400_000L, _ => random.Next(1_000, 100_000) };
            var t = Start + random.Next(-10_000_000, 10_000_000);
            var times = new List<long>();
            var step = random.Next(1, 60_000);
            for (var i = random.Next(1, 2000); i > 0; i--)
            {
                times.Add(t);
                t += random.Next(4) == 0 ? random.Next(1, 200_000) : step;
            }

            var series = new MemSeries(1, Labels.FromStrings("__name__", "x"));
            foreach (var ts in times)
            {
                series.Append(ts, 0, range, 120).Should().BeTrue();
            }

            var chunks = new List<HeadChunk>();
            series.ChunksForBlock(long.MinValue, long.MaxValue, chunks);
            chunks.Select(c => (c.MinTime, c.MaxTime)).Should().Equal(ReferenceCut(times, range), $"round {round}, range {range}");
        }
    }

    [Test]
    public void Querier_TimeRangeAndSeek_ClampAcrossChunks()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var labels = Labels.FromStrings("__name__", "x");
        var app = db.Appender();
        for (var i = 0; i < 1000; i++)
        {
            app.Append(new AppendRequest { Labels = labels, TimestampMs = Start + (i * 10_000L), Value = i });
        }

        app.Commit();
        var series = db.Querier(Start + 1_000_000, Start + 2_000_000).Select(false, default, Eq("__name__", "x")).Single();
        var it = series.Iterator();
        var all = new List<long>();
        while (it.Next())
        {
            all.Add(it.Timestamp);
        }

        all.Should().HaveCount(101).And.BeInAscendingOrder();
        all[0].Should().Be(Start + 1_000_000);
        all[^1].Should().Be(Start + 2_000_000);

        it = series.Iterator(it);
        it.Seek(Start + 1_500_001).Should().BeTrue();
        it.Timestamp.Should().Be(Start + 1_510_000);
        it.Value.Should().Be(151);
        it.Seek(0).Should().BeTrue();
        it.Timestamp.Should().Be(Start + 1_510_000);
        it.Seek(Start + 2_000_001).Should().BeFalse();
        it.Error.Should().BeNull();

        var fromStart = series.Iterator();
        fromStart.Seek(0).Should().BeTrue();
        fromStart.Timestamp.Should().Be(Start + 1_000_000, "seek never goes before the querier's range");
    }

    [Test]
    public void LabelNamesAndValues_WithAndWithoutMatchers()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var app = db.Appender();
        foreach (var (job, inst) in new[] { ("api", "a"), ("api", "b"), ("web", "c") })
        {
            app.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "up", "job", job, "instance", inst), TimestampMs = Start, Value = 1 });
        }

        app.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "other", "zone", "z"), TimestampMs = Start, Value = 1 });
        app.Commit();
        var q = db.Querier(long.MinValue, long.MaxValue);
        q.LabelNames().Should().Equal("__name__", "instance", "job", "zone");
        q.LabelNames(Eq("__name__", "up")).Should().Equal("__name__", "instance", "job");
        q.LabelValues("job").Should().Equal("api", "web");
        q.LabelValues("instance", Eq("job", "api")).Should().Equal("a", "b");
        q.LabelValues("nope").Should().BeEmpty();

        // A range that misses the head's samples has no labels, as Prometheus's head index reader answers.
        using var before = db.Querier(0, Start - 1);
        before.LabelNames().Should().BeEmpty();
        before.LabelValues("job").Should().BeEmpty();
        using var after = db.Querier(Start + 1, long.MaxValue);
        after.LabelNames(Eq("__name__", "up")).Should().BeEmpty();
        using var touching = db.Querier(Start, Start);
        touching.LabelValues("job").Should().Equal("api", "web");
    }

    [Test]
    public void Appenders_ConcurrentThreads_AllSamplesCommitted()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        const int Threads = 4, SeriesPerThread = 200, Rounds = 50;
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, thread =>
        {
            var refs = new SeriesRef[SeriesPerThread];
            for (var round = 0; round < Rounds; round++)
            {
                var app = db.Appender();
                for (var s = 0; s < SeriesPerThread; s++)
                {
                    // Half the series are shared between threads: their samples race but never corrupt.
                    var name = s % 2 == 0 ? $"t{thread}_s{s}" : $"shared_s{s}";
                    try
                    {
                        refs[s] = app.Append(new AppendRequest { Ref = refs[s], Labels = Labels.FromStrings("__name__", name), TimestampMs = Start + (round * 1000L) + thread, Value = round });
                    }
                    catch (SampleRejectedException ex) when (s % 2 == 1)
                    {
                        // Another thread got a newer sample into the shared series first.
                        ex.Reason.Should().Be(SampleRejectionReason.OutOfOrder);
                    }
                }

                app.Commit();
            }
        });

        var result = Read(db.Querier(long.MinValue, long.MaxValue));
        result.Should().HaveCount((Threads * SeriesPerThread / 2) + (SeriesPerThread / 2));
        foreach (var (labels, samples) in result)
        {
            samples.Select(s => s.T).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
            if (!labels.Name.StartsWith("shared", StringComparison.Ordinal))
            {
                samples.Should().HaveCount(Rounds);
            }
        }
    }

    internal static LabelMatcher Eq(string name, string value) => new(MatchType.Equal, name, value);

    internal static Dictionary<Labels, List<(long T, ulong V)>> Read(IQuerier querier, params LabelMatcher[] matchers)
    {
        var result = new Dictionary<Labels, List<(long, ulong)>>();
        foreach (var s in querier.Select(true, default, matchers))
        {
            var it = s.Iterator();
            var list = new List<(long, ulong)>();
            while (it.Next())
            {
                list.Add((it.Timestamp, BitConverter.DoubleToUInt64Bits(it.Value)));
            }

            it.Error.Should().BeNull();
            result.Add(s.Labels, list);
        }

        return result;
    }

    private static SampleRejectionReason Rejects(Action append)
    {
        try
        {
            append();
        }
        catch (SampleRejectedException ex)
        {
            return ex.Reason;
        }

        throw new AssertionException("expected the sample to be rejected");
    }

    private static List<(long, long)> ReferenceCut(List<long> times, long chunkRange)
    {
        static long RangeEnd(long t, long w) => (t / w * w) + w;
        var chunks = new List<(long, long)>();
        var cur = new List<long>();
        long nextAt = 0;
        foreach (var t in times)
        {
            if (cur.Count == 0)
            {
                nextAt = RangeEnd(t, chunkRange);
            }
            else
            {
                var n = cur.Count;
                if (n == 30)
                {
                    long start = cur[0], last = cur[^1];
                    var k = (nextAt - start) / ((last - start + 1) * 4);
                    if (k > 1)
                    {
                        nextAt = start + ((nextAt - start) / k);
                    }
                }

                if (t >= nextAt || n >= 240)
                {
                    chunks.Add((cur[0], cur[^1]));
                    cur.Clear();
                    nextAt = RangeEnd(t, chunkRange);
                }
            }

            cur.Add(t);
        }

        if (cur.Count > 0)
        {
            chunks.Add((cur[0], cur[^1]));
        }

        return chunks;
    }
}
