using FsCheck;
using FsCheck.Fluent;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Tsdb.Tests.Compaction;

/// <summary>
/// Randomized operation sequences (append/commit/rollback, head compaction, head flush with leveled compaction and
/// time retention, deletion, tombstone cleaning, reopen) against a plain in-memory model: after every step, queries
/// over random ranges and matchers return exactly the model's samples. 10 sequences of 10–60 operations per run
/// (a few seconds of CPU); <c>TSDB_MODEL_TESTS=N</c> runs more (300 passed while developing).
/// </summary>
public class ReferenceModelTests
{
    private const long T0 = 1_700_028_000_000;

    /// <summary>A 10-minute block range keeps blocks small and many: leveled ranges 10, 30, 90 min ...</summary>
    private const long BlockMs = 600_000;

    private static readonly Labels[] Pool =
    [
        Labels.FromStrings("__name__", "a", "job", "x"),
        Labels.FromStrings("__name__", "a", "job", "y"),
        Labels.FromStrings("__name__", "b", "job", "x"),
        Labels.FromStrings("__name__", "b", "job", "z"),
        Labels.FromStrings("__name__", "c", "job", "y"),
        Labels.FromStrings("__name__", "a", "job", "z", "extra", "1"),
    ];

    private static readonly LabelMatcher[][] MatcherSets =
    [
        [],
        [new(MatchType.Equal, "__name__", "a")],
        [new(MatchType.NotEqual, "job", "x")],
        [new(MatchType.Regex, "job", "x|y")],
        [new(MatchType.NotRegex, "__name__", "b|c"), new(MatchType.Equal, "extra", "")],
        [new(MatchType.Regex, "__name__", "a|b"), new(MatchType.NotEqual, "job", "z")],
    ];

    [Test]
    public void RandomOperations_QueriesEqualReferenceModel()
    {
        var coverage = new Coverage();
        var property = Prop.ForAll(Scenario().ToArbitrary(), scenario =>
        {
            Run(scenario.Retention, scenario.Ops, coverage);
            return true;
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(MaxTests).WithEndSize(40), property);
        TestContext.Out.WriteLine($"{coverage.LeveledCompactions} block compactions, {coverage.RetentionDeletions} retention deletions, {coverage.Cleaned} blocks cleaned, {coverage.Reopens} reopens, {coverage.Deletes} deletes, {coverage.Samples} samples appended");

        // The generator must reach the features, or the property proves little (each is expected dozens of times per run).
        coverage.LeveledCompactions.Should().BeGreaterThan(0);
        coverage.RetentionDeletions.Should().BeGreaterThan(0);
        coverage.Reopens.Should().BeGreaterThan(0);
        coverage.Deletes.Should().BeGreaterThan(0);
    }

    private static int MaxTests => int.TryParse(Environment.GetEnvironmentVariable("TSDB_MODEL_TESTS"), out var n) ? n : 10;

    private static Gen<(long Retention, Op[] Ops)> Scenario() =>
        from retention in Gen.Elements(0L, 3_600_000L, 3 * 3_600_000L, 10 * 3_600_000L)
        from length in Gen.Choose(10, 60)
        from ops in OpGen().ArrayOf(length)
        select (retention, ops);

    private static Gen<Op> OpGen() => Gen.Frequency(
        (12, from series in Gen.Choose(0, Pool.Length - 1).ArrayOf(Pool.Length)
             from advance in Gen.Frequency((3, Gen.Choose(1_000, 60_000)), (3, Gen.Choose(60_000, 1_800_000)), (1, Gen.Choose(1_800_000, 4 * 3_600_000)))
             from value in Gen.Choose(-1000, 1000)
             from rollback in Gen.Frequency((9, Gen.Constant(false)), (1, Gen.Constant(true)))
             select (Op)new AppendOp(series, advance, value / 8.0, rollback)),
        (2, Gen.Constant((Op)new CompactOp(false))),
        (2, Gen.Constant((Op)new CompactOp(true))),
        (2, from back in Gen.Choose(0, 4 * 3_600_000)
            from length in Gen.Choose(0, 2 * 3_600_000)
            from matchers in Gen.Choose(0, MatcherSets.Length - 1)
            select (Op)new DeleteOp(back, length, matchers)),
        (1, Gen.Constant((Op)new CleanOp())),
        (1, Gen.Constant((Op)new ReopenOp())));

    private static void Run(long retention, Op[] ops, Coverage coverage)
    {
        using var dir = new TempDirectory("model");
        var options = new TsdbOptions
        {
            Directory = dir.Path,
            BlockDuration = TimeSpan.FromMilliseconds(BlockMs),
            RetentionTime = TimeSpan.FromMilliseconds(retention),
            CompactionInterval = TimeSpan.Zero,
            WalFsyncPolicy = WalFsyncPolicy.None,
            WalSegmentSize = 64 * 1024,
        };
        var model = Pool.Select(_ => new SortedDictionary<long, ulong>()).ToArray();
        var db = TimeSeriesDatabase.Open(options);
        var now = T0;
        var random = new Random(ops.Length);
        try
        {
            for (var step = 0; step < ops.Length; step++)
            {
                var op = ops[step];
                var blocksBefore = db.Blocks.Select(b => (b.Meta.MinTime, b.Meta.MaxTime)).ToList();
                switch (op)
                {
                    case AppendOp a:
                        now += a.Advance;
                        var app = db.Appender();
                        var accepted = new List<int>();
                        foreach (var i in a.Series.Distinct())
                        {
                            try
                            {
                                app.Append(new AppendRequest { Labels = Pool[i], TimestampMs = now, Value = a.Value + i });
                                accepted.Add(i);
                            }
                            catch (SampleRejectedException)
                            {
                                // The model only holds what the database accepted; rejections are the head's business.
                            }
                        }

                        if (a.Rollback)
                        {
                            app.Rollback();
                        }
                        else
                        {
                            app.Commit();
                            coverage.Samples += accepted.Count;
                            accepted.ForEach(i => model[i][now] = BitConverter.DoubleToUInt64Bits(a.Value + i));
                        }

                        break;
                    case CompactOp c:
                        db.Compact(c.Flush);
                        if (c.Flush)
                        {
                            // Flushing persists the current range too; appends resume after its end.
                            now = Math.Max(now, ((now / BlockMs) + 1) * BlockMs);
                        }

                        break;
                    case DeleteOp d:
                        var mint = now - d.Back;
                        var maxt = mint + d.Length;
                        var matchers = MatcherSets[d.Matchers];
                        db.Delete(mint, maxt, matchers);
                        coverage.Deletes++;
                        for (var i = 0; i < Pool.Length; i++)
                        {
                            if (matchers.All(m => m.Matches(Pool[i])))
                            {
                                foreach (var t in model[i].Keys.Where(t => t >= mint && t <= maxt).ToList())
                                {
                                    model[i].Remove(t);
                                }
                            }
                        }

                        break;
                    case CleanOp:
                        db.CleanTombstones();
                        break;
                    case ReopenOp:
                        coverage.Count(db);
                        coverage.Reopens++;
                        db.Dispose();
                        db = TimeSeriesDatabase.Open(options);
                        break;
                }

                ApplyRetention(db, retention, blocksBefore, model, $"step {step} ({op})");
                Verify(db, model, now, random, $"after step {step} ({op}) of [{string.Join(", ", ops.Take(step + 1))}], retention {retention}");
            }
        }
        finally
        {
            coverage.Count(db);
            db.Dispose();
        }
    }

    /// <summary>
    /// Retention deletes the oldest blocks: every persisted sample before the oldest surviving block is gone. Checks the
    /// rule too: no surviving block is retention-old, and every vanished block with data was.
    /// </summary>
    private static void ApplyRetention(TimeSeriesDatabase db, long retention, List<(long MinTime, long MaxTime)> before, SortedDictionary<long, ulong>[] model, string where)
    {
        var after = db.Blocks.Select(b => (b.Meta.MinTime, b.Meta.MaxTime)).ToList();
        if (after.Count > 0 && retention > 0)
        {
            var newest = after.Max(b => b.MaxTime);
            after.Should().OnlyContain(b => newest - b.MaxTime < retention, $"time retention leaves no old block ({where})");
            foreach (var gone in before.Where(b => !after.Any(a => a.MinTime <= b.MinTime && a.MaxTime >= b.MaxTime)))
            {
                var hadData = model.Any(m => m.Keys.Any(t => t >= gone.MinTime && t < gone.MaxTime));
                (newest - gone.MaxTime >= retention || !hadData).Should().BeTrue($"block [{gone.MinTime}, {gone.MaxTime}) went without being retention-old ({where})");
            }
        }

        var survivingMin = after.Count > 0 ? after.Min(b => b.MinTime) : long.MaxValue;
        var cutoff = Math.Min(survivingMin, db.Head.MinValidTime);
        foreach (var m in model)
        {
            foreach (var t in m.Keys.Where(t => t < cutoff).ToList())
            {
                m.Remove(t);
            }
        }
    }

    private static void Verify(TimeSeriesDatabase db, SortedDictionary<long, ulong>[] model, long now, Random random, string where)
    {
        CheckQuery(db, model, long.MinValue, long.MaxValue, [], where);
        for (var q = 0; q < 3; q++)
        {
            var mint = T0 + random.NextInt64(Math.Max(1, now - T0 + 1));
            var maxt = mint + random.NextInt64(3 * 3_600_000);
            CheckQuery(db, model, mint, maxt, MatcherSets[random.Next(MatcherSets.Length)], where);
        }
    }

    private static void CheckQuery(TimeSeriesDatabase db, SortedDictionary<long, ulong>[] model, long mint, long maxt, LabelMatcher[] matchers, string where)
    {
        var expected = new Dictionary<Labels, List<(long T, ulong V)>>();
        for (var i = 0; i < Pool.Length; i++)
        {
            if (matchers.All(m => m.Matches(Pool[i])))
            {
                var samples = model[i].Where(kv => kv.Key >= mint && kv.Key <= maxt).Select(kv => (kv.Key, kv.Value)).ToList();
                if (samples.Count > 0)
                {
                    expected[Pool[i]] = samples;
                }
            }
        }

        using var querier = db.Querier(mint, maxt);
        var actual = DeletionTests.NonEmpty(Head.HeadTests.Read(querier, matchers));
        actual.ShouldEqualSamples(expected, $"query [{mint}, {maxt}] {{{string.Join(", ", matchers.Select(m => m.ToString()))}}} {where}");
    }

    private sealed class Coverage
    {
        public long LeveledCompactions;
        public long RetentionDeletions;
        public long Cleaned;
        public long Reopens;
        public long Deletes;
        public long Samples;

        public void Count(TimeSeriesDatabase db)
        {
            var stats = db.GetStatistics();
            LeveledCompactions += stats.Compactions;
            RetentionDeletions += stats.TimeRetentionDeletions;
            Cleaned += stats.TombstonesCleaned;
        }
    }

    private abstract record Op;

    private sealed record AppendOp(int[] Series, long Advance, double Value, bool Rollback) : Op
    {
        public override string ToString() => $"Append([{string.Join(",", Series)}] +{Advance}{(Rollback ? " rollback" : string.Empty)})";
    }

    private sealed record CompactOp(bool Flush) : Op;

    private sealed record DeleteOp(long Back, long Length, int Matchers) : Op;

    private sealed record CleanOp : Op;

    private sealed record ReopenOp : Op;
}
