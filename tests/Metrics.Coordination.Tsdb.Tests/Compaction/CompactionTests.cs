using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb.Blocks;
using Metrics.Coordination.Tsdb.Compaction;
using Metrics.Coordination.Tsdb.Tests.Blocks;

namespace Metrics.Coordination.Tsdb.Tests.Compaction;

public class CompactionTests
{
    private const long H = 3_600_000;

    /// <summary>A multiple of 18 h (and so of 6 h and 2 h): Prometheus aligns compaction ranges to the epoch.</summary>
    private const long AlignedStart = 1_700_028_000_000;

    [Test]
    public void Ranges_DefaultRetention_TwoSixEighteenHours()
    {
        LeveledCompactor.Ranges(2 * H, 15 * 24 * H).Should().Equal(2 * H, 6 * H, 18 * H);
        LeveledCompactor.Ranges(2 * H, 0).Should().Equal(2 * H, 6 * H, 18 * H, 54 * H, 162 * H, 486 * H);
        LeveledCompactor.Ranges(2 * H, 365L * 24 * H).Should().Equal([2 * H, 6 * H, 18 * H, 54 * H, 162 * H, 486 * H], "31 d caps the largest block");
        LeveledCompactor.Ranges(2 * H, 6 * H).Should().Equal([2 * H], "10 % of 6 h is below one block range");
    }

    [Test]
    public void Plan_Scenarios_AsPrometheus()
    {
        long[] ranges = [20, 60, 180, 540];
        static BlockMeta M(string id, long min, long max, long tombstones = 0, long series = 10) =>
            new() { Ulid = id, MinTime = min, MaxTime = max, NumSeries = series, NumTombstones = tombstones };

        LeveledCompactor.Plan([M("a", 0, 20), M("b", 20, 40)], ranges).Should().BeEmpty("the newest block is left out, one block is nothing to merge");
        LeveledCompactor.Plan([M("a", 0, 20), M("b", 20, 40), M("c", 40, 60), M("d", 60, 80)], ranges).Select(m => m.Ulid).Should().Equal("a", "b", "c");
        LeveledCompactor.Plan([M("a", 0, 20), M("b", 20, 40), M("c", 40, 60)], ranges).Should().BeEmpty("a part-filled range waits while it reaches past the start of the newest block considered");
        LeveledCompactor.Plan([M("a", 0, 20), M("b", 20, 40), M("c", 60, 80), M("d", 80, 100)], ranges).Select(m => m.Ulid).Should().Equal(["a", "b"], "a part-filled range ending before the newest considered block is merged");
        LeveledCompactor.Plan([M("a", 0, 60), M("b", 60, 120), M("c", 120, 180), M("d", 180, 200)], ranges).Select(m => m.Ulid).Should().Equal("a", "b", "c");
        LeveledCompactor.Plan([M("a", 0, 20), M("b", 10, 30), M("c", 40, 60)], ranges).Select(m => m.Ulid).Should().Equal(["a", "b"], "overlapping blocks come first");
        LeveledCompactor.Plan([M("a", 0, 20), M("b", 40, 60), M("c", 50, 70)], ranges).Select(m => m.Ulid).Should().Equal(["b", "c"], "vertical compaction includes the newest block");
        LeveledCompactor.Plan([M("a", 0, 180, tombstones: 2, series: 10), M("b", 180, 200)], ranges).Select(m => m.Ulid).Should().Equal(["a"], "a big block with > 5 % tombstones is rewritten");
        LeveledCompactor.Plan([M("a", 0, 20, tombstones: 10, series: 10), M("b", 20, 40)], ranges).Select(m => m.Ulid).Should().Equal(["a"], "a small block deleted entirely is rewritten");
        LeveledCompactor.Plan([M("a", 0, 20, tombstones: 1, series: 10), M("b", 20, 40)], ranges).Should().BeEmpty();
    }

    [Test]
    [Category("Integration")]
    public async Task Compact_FourteenHours_LeveledBlocksWithLineagePassPromtool()
    {
        using var dir = new TempDirectory("compact");
        var workload = OpenMetricsWorkload.Generate(seed: 21, hours: 16, start: AlignedStart, weirdValues: false);
        var logs = new CapturingLoggerFactory();
        using (var db = TimeSeriesDatabase.Open(Options(dir.Path, logs)))
        {
            BlockTests.Append(db, workload);
            db.Compact(flushHead: true).Should().Be(8);

            // [0,6h) and [6h,12h) become level-2 blocks of three parents each. [12h,18h) is not full and reaches past
            // the start of the newest block considered ([12h,14h); the newest of all, [14h,16h), is never considered).
            db.Blocks.Select(b => (b.Meta.Level, b.Meta.Parents.Count, b.Meta.Sources.Count)).Should().Equal((2, 3, 3), (2, 3, 3), (1, 0, 1), (1, 0, 1));
            db.Blocks.Select(b => b.Meta.MaxTime - AlignedStart).Should().Equal(6 * H, 12 * H, 14 * H, 16 * H);
            db.Blocks.Sum(b => b.Meta.NumSamples).Should().Be(workload.SampleCount);
            db.GetStatistics().Compactions.Should().Be(2);
            logs.Entries.Count(e => e.EventId.Id == 2230).Should().Be(2);
            foreach (var block in db.Blocks.Where(b => b.Meta.Level == 2))
            {
                block.Meta.Parents.Select(p => p.Ulid).Should().BeEquivalentTo(block.Meta.Sources, "level-1 parents are their own sources");
                block.Meta.Parents.Select(p => p.Ulid).Should().OnlyContain(u => !Directory.Exists(Path.Combine(dir.Path, u)), "parents are deleted once the child is durable");
                var json = await File.ReadAllTextAsync(Path.Combine(block.Directory, "meta.json"));
                json.Should().Contain("\"parents\": [").And.Contain("\"level\": 2");
            }

            BlockTests.ReadAll(db).ShouldEqualSamples(workload.Samples, "compaction keeps every sample");
        }

        using (var reopened = TimeSeriesDatabase.Open(Options(dir.Path)))
        {
            reopened.Blocks.Should().HaveCount(4);
            BlockTests.ReadAll(reopened).ShouldEqualSamples(workload.Samples);
            var level2 = reopened.Blocks[0].Meta.Ulid;
            var analyze = await Promtool.RunAsync(["tsdb", "analyze", dir.Path, level2]);
            analyze.ExitCode.Should().Be(0, analyze.ToString());
            analyze.Stdout.Should().Contain("Block ID: " + level2);
        }

        var dump = await Promtool.RunAsync(["tsdb", "dump", dir.Path], timeout: TimeSpan.FromMinutes(2));
        dump.ExitCode.Should().Be(0, dump.Stderr);
        PromtoolTests.CompareDump(OpenMetricsWorkload.ParseDump(dump.Stdout), workload);
    }

    [Test]
    public void Compact_OverlappingBlocks_VerticallyMergedWithoutDuplicates()
    {
        using var dir = new TempDirectory("compact");
        var workload = OpenMetricsWorkload.Generate(seed: 22, hours: 2, weirdValues: false);
        var target = Path.Combine(dir.Path, "data");
        Directory.CreateDirectory(target);

        // Two blocks over the same range: one lacks every third sample, the other every third-plus-one; the rest is in both.
        for (var part = 0; part < 2; part++)
        {
            var source = Path.Combine(dir.Path, "part" + part);
            var subset = workload.Samples.ToDictionary(kv => kv.Key, kv => kv.Value.Where((_, i) => i % 3 != part).ToList());
            using (var db = TimeSeriesDatabase.Open(Options(source)))
            {
                Append(db, subset);
                db.Compact(flushHead: true).Should().Be(1);
            }

            foreach (var block in Directory.EnumerateDirectories(source).Where(d => Ulid.IsValid(Path.GetFileName(d))))
            {
                Directory.Move(block, Path.Combine(target, Path.GetFileName(block)));
            }
        }

        using var merged = TimeSeriesDatabase.Open(Options(target));
        merged.Blocks.Should().HaveCount(2);
        BlockTests.ReadAll(merged).ShouldEqualSamples(workload.Samples, "queries already de-duplicate overlapping blocks");
        merged.Compact();
        merged.Blocks.Should().ContainSingle();
        merged.Blocks[0].Meta.Level.Should().Be(2);
        merged.Blocks[0].Meta.NumSamples.Should().Be(workload.SampleCount, "samples present in both blocks are kept once");
        BlockTests.ReadAll(merged).ShouldEqualSamples(workload.Samples);
    }

    [Test]
    public void Open_CrashAfterChildWrittenBeforeParentsDeleted_ParentsRemovedNothingDoubled()
    {
        using var dir = new TempDirectory("compact");
        var workload = OpenMetricsWorkload.Generate(seed: 23, hours: 10, start: AlignedStart, weirdValues: false);
        var db = TimeSeriesDatabase.Open(Options(dir.Path));
        db.CompactionHook = stage =>
        {
            if (stage == "compact-swapped")
            {
                throw new IOException("simulated crash after the child was renamed into place");
            }
        };
        BlockTests.Append(db, workload);
        var crash = () => db.Compact(flushHead: true);
        crash.Should().Throw<IOException>();
        var child = db.Blocks.Single(b => b.Meta.Level == 2).Meta;
        child.Parents.Should().HaveCount(3);
        child.Parents.Should().OnlyContain(p => Directory.Exists(Path.Combine(dir.Path, p.Ulid)), "the crash came before the parents went");
        db.Dispose();

        var logs = new CapturingLoggerFactory();
        using var reopened = TimeSeriesDatabase.Open(Options(dir.Path, logs));
        child.Parents.Should().OnlyContain(p => !Directory.Exists(Path.Combine(dir.Path, p.Ulid)));
        logs.Entries.Count(e => e.EventId.Id == 2231).Should().Be(3);
        reopened.GetStatistics().BlocksCorrupt.Should().Be(0);
        reopened.Blocks.Select(b => b.Meta.Level).Should().Equal(2, 1, 1);
        BlockTests.ReadAll(reopened).ShouldEqualSamples(workload.Samples);
    }

    [Test]
    public void Open_CrashWhileWritingChild_LeftoverRemovedParentsKept()
    {
        using var dir = new TempDirectory("compact");
        var workload = OpenMetricsWorkload.Generate(seed: 24, hours: 10, start: AlignedStart, weirdValues: false);
        var db = TimeSeriesDatabase.Open(Options(dir.Path));
        db.CompactionHook = stage =>
        {
            if (stage == "compact")
            {
                // What a kill during the write leaves: a half-written temp directory.
                var leftover = Path.Combine(dir.Path, Ulid.New(DateTimeOffset.UnixEpoch.AddYears(60)) + BlockWriter.CreationSuffix);
                Directory.CreateDirectory(Path.Combine(leftover, "chunks"));
                File.WriteAllBytes(Path.Combine(leftover, "chunks", "000001"), [0x85, 0xBD]);
                throw new IOException("simulated crash while writing the child");
            }
        };
        BlockTests.Append(db, workload);
        var crash = () => db.Compact(flushHead: true);
        crash.Should().Throw<IOException>();
        db.Dispose();

        using var reopened = TimeSeriesDatabase.Open(Options(dir.Path));
        Directory.EnumerateDirectories(dir.Path, "*" + BlockWriter.CreationSuffix).Should().BeEmpty();
        reopened.Blocks.Should().HaveCount(5).And.OnlyContain(b => b.Meta.Level == 1);
        BlockTests.ReadAll(reopened).ShouldEqualSamples(workload.Samples);
        reopened.Compact();
        reopened.Blocks.Select(b => b.Meta.Level).Should().Equal(2, 1, 1);
        BlockTests.ReadAll(reopened).ShouldEqualSamples(workload.Samples);
    }

    [Test]
    public void Retention_Time_DeletesBlocksBehindTheNewestByTheRetention()
    {
        using var dir = new TempDirectory("retention");
        var workload = OpenMetricsWorkload.Generate(seed: 25, hours: 14, weirdValues: false);
        var logs = new CapturingLoggerFactory();
        var options = Options(dir.Path, logs);
        options.RetentionTime = TimeSpan.FromHours(6); // 10 % is below 2 h: no leveled compaction
        using var db = TimeSeriesDatabase.Open(options);
        BlockTests.Append(db, workload);
        db.Compact(flushHead: true).Should().Be(7);

        // Newest block ends at 14 h; blocks ending at or before 8 h are 6 h or more behind it.
        db.Blocks.Select(b => b.Meta.MaxTime - OpenMetricsWorkload.Start).Should().Equal(10 * H, 12 * H, 14 * H);
        db.GetStatistics().TimeRetentionDeletions.Should().Be(4);
        logs.Entries.Count(e => e.EventId.Id == 2232).Should().Be(4);
        var cut = OpenMetricsWorkload.Start + (8 * H);
        BlockTests.ReadAll(db).ShouldEqualSamples(workload.Samples.ToDictionary(kv => kv.Key, kv => kv.Value.Where(s => s.T >= cut).ToList()));
    }

    [Test]
    public void Retention_Size_DeletesOldestBlocksUntilWalPlusBlocksFit()
    {
        using var dir = new TempDirectory("retention");
        var workload = OpenMetricsWorkload.Generate(seed: 26, hours: 10, weirdValues: false);
        long keepTwo;
        long cut;
        using (var db = TimeSeriesDatabase.Open(Options(dir.Path, retention: TimeSpan.FromHours(20))))
        {
            BlockTests.Append(db, workload);
            db.Compact(flushHead: true).Should().Be(5);
            var blocks = db.Blocks;
            blocks.Should().HaveCount(5);
            blocks.Min(b => b.Size).Should().BeGreaterThan(8192);
            var wal = new DirectoryInfo(Path.Combine(dir.Path, "wal")).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
            keepTwo = wal + blocks[^1].Size + blocks[^2].Size + 4096;
            cut = blocks[^2].Meta.MinTime;
            db.GetStatistics().BlockBytes.Should().Be(blocks.Sum(b => b.Size));
        }

        var options = Options(dir.Path, retention: TimeSpan.FromHours(20));
        options.RetentionSize = keepTwo;
        using var reopened = TimeSeriesDatabase.Open(options);
        reopened.Blocks.Should().HaveCount(2);
        reopened.GetStatistics().SizeRetentionDeletions.Should().Be(3);
        BlockTests.ReadAll(reopened).ShouldEqualSamples(workload.Samples.ToDictionary(kv => kv.Key, kv => kv.Value.Where(s => s.T >= cut).ToList()));
    }

    [Test]
    public void Open_BlockWithBadChunkOrSeriesChecksum_ReportedWithFileAndOffsetAndLeftOutOfQueries([Values("chunk", "series")] string what)
    {
        using var dir = new TempDirectory("corrupt");
        var workload = OpenMetricsWorkload.Generate(seed: 27, hours: 4, weirdValues: false);
        string victim;
        using (var db = TimeSeriesDatabase.Open(Options(dir.Path, retention: TimeSpan.FromHours(20))))
        {
            BlockTests.Append(db, workload);
            db.Compact(flushHead: true).Should().Be(2);
            victim = db.Blocks[0].Directory;
        }

        // Flip one bit in the middle of the data of the first chunk, or inside the first series entry's body.
        var file = what == "chunk" ? Path.Combine(victim, "chunks", "000001") : Path.Combine(victim, "index");
        var bytes = File.ReadAllBytes(file);
        long offset;
        using (var index = Tsdb.Index.IndexReader.Open(Path.Combine(victim, "index")))
        {
            var chunks = new List<Tsdb.Index.IndexChunk>();
            var first = index.AllPostings()[0];
            index.Series(first, chunks);
            offset = what == "chunk" ? (long)(chunks[0].Ref & 0xFFFF_FFFF) + 10 : ((long)first * 16) + 3;
        }

        bytes[offset] ^= 0x10;
        File.WriteAllBytes(file, bytes);

        var logs = new CapturingLoggerFactory();
        using var reopened = TimeSeriesDatabase.Open(Options(dir.Path, logs, TimeSpan.FromHours(20)));
        reopened.GetStatistics().BlocksCorrupt.Should().Be(1);
        reopened.Blocks.Should().ContainSingle().Which.Directory.Should().NotBe(victim);
        var error = logs.Entries.Single(e => e.EventId.Id == 2202).Exception.Should().BeOfType<TsdbCorruptionException>().Subject;
        error.Path.Should().Be(file);
        error.Message.Should().Contain(" at offset ");
        var cut = OpenMetricsWorkload.Start + (2 * H);
        BlockTests.ReadAll(reopened).ShouldEqualSamples(workload.Samples.ToDictionary(kv => kv.Key, kv => kv.Value.Where(s => s.T >= cut).ToList()), "the bad block is left out, the rest is queryable");
    }

    internal static TsdbOptions Options(string dir, CapturingLoggerFactory? logs = null, TimeSpan? retention = null) => new()
    {
        Directory = dir,
        CompactionInterval = TimeSpan.Zero,
        WalFsyncPolicy = WalFsyncPolicy.None,
        RetentionTime = retention ?? TimeSpan.FromDays(15),
        LoggerFactory = (Microsoft.Extensions.Logging.ILoggerFactory?)logs ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance,
    };

    internal static void Append(TimeSeriesDatabase db, Dictionary<Labels, List<(long T, ulong V)>> samples)
    {
        var app = db.Appender();
        foreach (var (labels, list) in samples)
        {
            var r = default(Abstractions.Storage.SeriesRef);
            foreach (var (t, v) in list)
            {
                r = app.Append(new Abstractions.Storage.AppendRequest { Ref = r, Labels = labels, TimestampMs = t, Value = BitConverter.UInt64BitsToDouble(v) });
            }
        }

        app.Commit();
    }
}
