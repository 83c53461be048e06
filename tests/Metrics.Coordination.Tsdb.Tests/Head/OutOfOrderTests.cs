using FsCheck;
using FsCheck.Fluent;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Tsdb.Tests.Head;

/// <summary>
/// The out-of-order window (<see cref="TsdbOptions.OutOfOrderTimeWindow"/>): off, older samples are refused and
/// counted; on, they are accepted within the window, merged into queries, written into blocks at compaction and
/// restored by WAL replay. A reference model predicts exactly which samples each operation sequence keeps.
/// </summary>
public class OutOfOrderTests
{
    private const long Start = 1_699_999_200_000; // a 2 h boundary
    private static readonly Labels A = Labels.FromStrings("__name__", "a");

    private static ulong Bits(double v) => BitConverter.DoubleToUInt64Bits(v);

    private static void Append(TimeSeriesDatabase db, Labels labels, params (long T, double V)[] samples)
    {
        var app = db.Appender();
        foreach (var (t, v) in samples)
        {
            app.Append(new AppendRequest { Labels = labels, TimestampMs = t, Value = v });
        }

        app.Commit();
    }

    [Test]
    public void Append_WindowOff_OlderSampleRefusedAndCounted()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        Append(db, A, (Start + 10_000, 1));

        var app = db.Appender();
        var act = () => app.Append(new AppendRequest { Labels = A, TimestampMs = Start + 5_000, Value = 2 });

        act.Should().Throw<SampleRejectedException>().Which.Reason.Should().Be(SampleRejectionReason.OutOfOrder);
        db.GetStatistics().OutOfOrderSamples.Should().Be(1);
        db.GetStatistics().OutOfOrderSamplesAppended.Should().Be(0);
    }

    [Test]
    public void Append_WithinWindow_AcceptedMergedAndCounted()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions { OutOfOrderTimeWindow = TimeSpan.FromMinutes(30) });
        Append(db, A, (Start + 60_000, 1), (Start + 120_000, 2), (Start + 180_000, 3));

        Append(db, A, (Start + 90_000, 1.5), (Start + 30_000, 0.5), (Start + 150_000, 2.5));

        var result = HeadTests.Read(db.Querier(long.MinValue, long.MaxValue));
        result[A].Should().Equal(
            (Start + 30_000, Bits(0.5)), (Start + 60_000, Bits(1)), (Start + 90_000, Bits(1.5)),
            (Start + 120_000, Bits(2)), (Start + 150_000, Bits(2.5)), (Start + 180_000, Bits(3)));
        HeadTests.Read(db.Querier(Start + 80_000, Start + 140_000))[A].Should().Equal(
            (Start + 90_000, Bits(1.5)), (Start + 120_000, Bits(2)));
        db.GetStatistics().OutOfOrderSamplesAppended.Should().Be(3);
        db.GetStatistics().OutOfOrderSamples.Should().Be(0);
    }

    [Test]
    public void Append_BeyondWindow_RefusedAsOutOfOrder()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions { OutOfOrderTimeWindow = TimeSpan.FromMinutes(10) });
        Append(db, A, (Start + 3_600_000, 1));

        var app = db.Appender();
        var act = () => app.Append(new AppendRequest { Labels = A, TimestampMs = Start + 3_600_000 - 600_001, Value = 2 });

        // Within the head's in-order bounds but beyond the window: out of order, as Prometheus's appendable check says.
        act.Should().Throw<SampleRejectedException>().Which.Reason.Should().Be(SampleRejectionReason.OutOfOrder);
        app.Append(new AppendRequest { Labels = A, TimestampMs = Start + 3_600_000 - 600_000, Value = 3 });
        app.Commit();
        HeadTests.Read(db.Querier(long.MinValue, long.MaxValue))[A].Should().HaveCount(2);
    }

    [Test]
    public void Append_OutOfOrderAtExistingTimestamp_FirstSampleStays()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions { OutOfOrderTimeWindow = TimeSpan.FromHours(1) });
        Append(db, A, (Start + 10_000, 1), (Start + 20_000, 2), (Start + 30_000, 3));
        Append(db, A, (Start + 15_000, 4));

        Append(db, A, (Start + 10_000, 9), (Start + 15_000, 9));

        HeadTests.Read(db.Querier(long.MinValue, long.MaxValue))[A].Should().Equal(
            (Start + 10_000, Bits(1)), (Start + 15_000, Bits(4)), (Start + 20_000, Bits(2)), (Start + 30_000, Bits(3)));
    }

    [Test]
    public void Reopen_OutOfOrderSamples_RestoredByWalReplay()
    {
        using var dir = new TempDirectory("ooo");
        var options = new TsdbOptions { Directory = dir.Path, OutOfOrderTimeWindow = TimeSpan.FromHours(1), CompactionInterval = TimeSpan.Zero };
        var b = Labels.FromStrings("__name__", "b");
        using (var db = TimeSeriesDatabase.Open(options))
        {
            Append(db, A, (Start + 100_000, 1), (Start + 200_000, 2));
            Append(db, b, (Start + 300_000, 7));
            Append(db, A, (Start + 150_000, 1.5), (Start + 50_000, 0.5));
            Append(db, b, (Start + 250_000, 6.5));
        }

        using var reopened = TimeSeriesDatabase.Open(options);
        var result = HeadTests.Read(reopened.Querier(long.MinValue, long.MaxValue));
        result[A].Should().Equal((Start + 50_000, Bits(0.5)), (Start + 100_000, Bits(1)), (Start + 150_000, Bits(1.5)), (Start + 200_000, Bits(2)));
        result[b].Should().Equal((Start + 250_000, Bits(6.5)), (Start + 300_000, Bits(7)));
    }

    [Test]
    public void Compact_OutOfOrderSamples_WrittenIntoTheBlock()
    {
        using var dir = new TempDirectory("ooo");
        var options = new TsdbOptions { Directory = dir.Path, OutOfOrderTimeWindow = TimeSpan.FromHours(1), CompactionInterval = TimeSpan.Zero };
        using var db = TimeSeriesDatabase.Open(options);
        var inOrder = Enumerable.Range(0, 200).Select(i => (Start + (i * 30_000L) + 15_000, (double)i)).ToArray();
        Append(db, A, inOrder);
        var late = Enumerable.Range(0, 200).Select(i => (Start + (i * 30_000L), i + 0.5)).Where(s => s.Item1 >= inOrder[^1].Item1 - 3_600_000).ToArray();
        Append(db, A, late);

        db.Compact(flushHead: true);

        db.Blocks.Should().NotBeEmpty();
        var expected = inOrder.Concat(late).OrderBy(s => s.Item1).Select(s => (s.Item1, Bits(s.Item2))).ToList();
        HeadTests.Read(db.Querier(long.MinValue, long.MaxValue))[A].Should().Equal(expected);
        var blockSamples = db.Blocks.Sum(blk => blk.Meta.NumSamples);
        blockSamples.Should().Be(expected.Count, "the block holds the in-order and out-of-order samples");
    }

    // ---- reference model ----

    [Test]
    public void RandomOperations_KeptSamplesEqualReferenceModel()
    {
        var outOfOrderAccepted = 0L;
        var property = Prop.ForAll(Scenario().ToArbitrary(), scenario =>
        {
            outOfOrderAccepted += Run(scenario.Window, scenario.Ops);
            return true;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(MaxTests).WithEndSize(40), property);
        outOfOrderAccepted.Should().BeGreaterThan(0, "the generator must reach the out-of-order path");
    }

    private static int MaxTests => int.TryParse(Environment.GetEnvironmentVariable("TSDB_MODEL_TESTS"), out var n) ? n : 12;

    /// <summary>A 10-minute block range: head compaction and flushes happen within short sequences.</summary>
    private const long BlockMs = 600_000;

    private static readonly Labels[] Pool =
    [
        Labels.FromStrings("__name__", "a", "job", "x"),
        Labels.FromStrings("__name__", "a", "job", "y"),
        Labels.FromStrings("__name__", "b", "job", "x"),
    ];

    private static Gen<(long Window, Op[] Ops)> Scenario() =>
        from window in Gen.Elements(60_000L, 240_000L, 900_000L, 2 * 3_600_000L)
        from length in Gen.Choose(10, 50)
        from ops in OpGen().ArrayOf(length)
        select (window, ops);

    private static Gen<Op> OpGen() => Gen.Frequency(
        (12, from n in Gen.Choose(1, 6)
             from samples in (from series in Gen.Choose(0, Pool.Length - 1)
                              from offset in Gen.Frequency(
                                  (4, Gen.Choose(1, 120_000)),
                                  (4, Gen.Choose(-300_000, 0)),
                                  (1, Gen.Choose(-3 * 3_600_000, -300_000)),
                                  (1, Gen.Choose(-1, 1)))
                              from value in Gen.Choose(-100, 100)
                              select (series, (long)offset, value / 4.0)).ArrayOf(n)
             from advance in Gen.Frequency((3, Gen.Choose(0, 60_000)), (1, Gen.Choose(60_000, 1_200_000)))
             select (Op)new AppendOp(samples, advance)),
        (2, Gen.Constant((Op)new CompactOp(false))),
        (1, Gen.Constant((Op)new CompactOp(true))),
        (2, Gen.Constant((Op)new ReopenOp())));

    /// <summary>Runs one sequence; returns how many samples were accepted out of order.</summary>
    private static long Run(long window, Op[] ops)
    {
        using var dir = new TempDirectory("ooo-model");
        var options = new TsdbOptions
        {
            Directory = dir.Path,
            BlockDuration = TimeSpan.FromMilliseconds(BlockMs),
            OutOfOrderTimeWindow = TimeSpan.FromMilliseconds(window),
            RetentionTime = TimeSpan.Zero,
            CompactionInterval = TimeSpan.Zero,
            WalFsyncPolicy = WalFsyncPolicy.None,
            WalSegmentSize = 64 * 1024,
        };
        var model = Pool.Select(_ => new SortedDictionary<long, ulong>()).ToArray();
        var newest = Pool.Select(_ => long.MinValue).ToArray();
        var db = TimeSeriesDatabase.Open(options);
        var now = Start + 3_600_000;
        var accepted = 0L;
        try
        {
            for (var step = 0; step < ops.Length; step++)
            {
                var op = ops[step];
                var where = $"step {step} ({op}) of [{string.Join(", ", ops.Take(step + 1))}], window {window}";
                switch (op)
                {
                    case AppendOp a:
                        now += a.Advance;
                        accepted += AppendAndPredict(db, a, now, window, model, newest, where);
                        break;
                    case CompactOp c:
                        db.Compact(c.Flush);
                        if (c.Flush)
                        {
                            now = Math.Max(now, ((now / BlockMs) + 1) * BlockMs);
                        }

                        break;
                    case ReopenOp:
                        db.Dispose();
                        db = TimeSeriesDatabase.Open(options);
                        break;
                }

                var expected = new Dictionary<Labels, List<(long T, ulong V)>>();
                for (var i = 0; i < Pool.Length; i++)
                {
                    if (model[i].Count > 0)
                    {
                        expected[Pool[i]] = [.. model[i].Select(kv => (kv.Key, kv.Value))];
                    }
                }

                using var querier = db.Querier(long.MinValue, long.MaxValue);
                Compaction.DeletionTests.NonEmpty(HeadTests.Read(querier)).ShouldEqualSamples(expected, where);
            }
        }
        finally
        {
            db.Dispose();
        }

        return accepted;
    }

    /// <summary>
    /// Appends one batch and updates the model with exactly what the rules keep. Append time: a sample older than
    /// the appender's in-order bound is refused unless within the window behind the committed head maximum; a
    /// sample older than its series' newest (committed or earlier in the batch) likewise. Commit time, sample by
    /// sample with the head maximum advancing: newer than the series' newest ⇒ in order; older and within the window
    /// (against the advanced maximum) and at a new timestamp ⇒ kept out of order; anything else dropped.
    /// </summary>
    private static long AppendAndPredict(TimeSeriesDatabase db, AppendOp a, long now, long window, SortedDictionary<long, ulong>[] model, long[] newest, string where)
    {
        var head = db.Head;
        var headMax = head.MaxTime;
        var minValid = head.MinValidTime;
        var inOrderMin = headMax == long.MinValue ? minValid : Math.Max(minValid, headMax - (BlockMs / 2));
        long OooMin(long max) => Math.Max(minValid, max == long.MinValue ? long.MinValue : max - window);

        var app = db.Appender();
        var pendingNewest = (long[])newest.Clone();
        var pending = new List<(int Series, long T, ulong V)>();
        foreach (var (series, offset, value) in a.Samples)
        {
            var t = now + offset;
            var v = BitConverter.DoubleToUInt64Bits(value);
            var expectRefused = (t < inOrderMin && t < OooMin(headMax))
                || (t < pendingNewest[series] && t < OooMin(headMax))
                || (t == pendingNewest[series] && LastBits(model, pending, series, t) != v);
            try
            {
                app.Append(new AppendRequest { Labels = Pool[series], TimestampMs = t, Value = value });
                expectRefused.Should().BeFalse($"sample {Pool[series]} @{t} should have been refused ({where})");
                if (t == pendingNewest[series])
                {
                    continue; // an exact duplicate of the newest: accepted, nothing stored
                }

                pending.Add((series, t, v));
                pendingNewest[series] = Math.Max(pendingNewest[series], t);
            }
            catch (SampleRejectedException e)
            {
                expectRefused.Should().BeTrue($"sample {Pool[series]} @{t} was refused ({e.Message}) but the rules accept it ({where})");
            }
        }

        app.Commit();
        var running = headMax;
        var ooo = 0L;
        foreach (var (series, t, v) in pending)
        {
            if (t > newest[series])
            {
                newest[series] = t;
                model[series][t] = v;
                running = Math.Max(running, t);
            }
            else if (t < newest[series] && t >= OooMin(running) && !model[series].ContainsKey(t))
            {
                model[series][t] = v;
                ooo++;
            }
        }

        return ooo;
    }

    private static ulong? LastBits(SortedDictionary<long, ulong>[] model, List<(int Series, long T, ulong V)> pending, int series, long t)
    {
        for (var i = pending.Count - 1; i >= 0; i--)
        {
            if (pending[i].Series == series && pending[i].T == t)
            {
                return pending[i].V;
            }
        }

        return model[series].TryGetValue(t, out var v) ? v : null;
    }

    private abstract record Op;

    private sealed record AppendOp((int Series, long Offset, double Value)[] Samples, long Advance) : Op
    {
        public override string ToString() => $"Append(+{Advance} [{string.Join(" ", Samples.Select(s => $"{s.Series}:{s.Offset}"))}])";
    }

    private sealed record CompactOp(bool Flush) : Op;

    private sealed record ReopenOp : Op;
}
