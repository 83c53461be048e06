using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb.Blocks;
using Metrics.Coordination.Tsdb.Tests.Blocks;
using Metrics.Coordination.Tsdb.Tests.Head;

namespace Metrics.Coordination.Tsdb.Tests.Compaction;

public class DeletionTests
{
    private const long H = 3_600_000;

    [Test]
    [Category("Integration")]
    public async Task Delete_BlockAndHead_HonouredByQueriesReopenCompactionPromtoolAndClean()
    {
        using var dir = new TempDirectory("delete");
        var workload = OpenMetricsWorkload.Generate(seed: 31, hours: 5, weirdValues: false);
        var (from, to) = (OpenMetricsWorkload.Start + H, OpenMetricsWorkload.Start + (3 * H));
        var api = HeadTests.Eq("job", "api");
        var expected = workload.Samples.ToDictionary(kv => kv.Key, kv => kv.Value.Where(s => kv.Key.Get("job") != "api" || s.T < from || s.T > to).ToList());
        var logs = new CapturingLoggerFactory();
        using (var db = TimeSeriesDatabase.Open(CompactionTests.Options(dir.Path, logs)))
        {
            BlockTests.Append(db, workload);
            db.Compact().Should().Be(1, "[0,2h) is a block, the rest stays in the head");
            db.Delete(from, to, api);
            NonEmpty(BlockTests.ReadAll(db)).ShouldEqualSamples(expected, "block tombstones and head tombstones hide the range at once");
            logs.Entries.Should().Contain(e => e.EventId.Id == 2233);
            var block = db.Blocks[0];
            Tombstones.Read(block.Directory).Should().NotBeEmpty();
            BlockMeta.Read(block.Directory).NumTombstones.Should().BeGreaterThan(0);
            db.GetStatistics().HeadTombstones.Should().Be(workload.Samples.Keys.Count(l => l.Get("job") == "api"));

            using var narrow = db.Querier(from + 600_000, from + 1_200_000);
            narrow.Select(false, default, api).Should().BeEmpty("every chunk of the range is deleted");
        }

        using (var reopened = TimeSeriesDatabase.Open(CompactionTests.Options(dir.Path)))
        {
            NonEmpty(BlockTests.ReadAll(reopened)).ShouldEqualSamples(expected, "the tombstones file and the WAL's Tombstones record survive a restart");
            reopened.Compact(flushHead: true).Should().Be(2);
            reopened.Blocks.Skip(1).Sum(b => b.Meta.NumSamples).Should().Be(expected.Values.Sum(l => l.Count(s => s.T >= OpenMetricsWorkload.Start + (2 * H))), "head tombstones are applied when blocks are cut");
            NonEmpty(BlockTests.ReadAll(reopened)).ShouldEqualSamples(expected);
        }

        // promtool reads our tombstones file and leaves the deleted samples out of its dump too.
        var dump = await Promtool.RunAsync(["tsdb", "dump", dir.Path], timeout: TimeSpan.FromMinutes(2));
        dump.ExitCode.Should().Be(0, dump.Stderr);
        var dumped = OpenMetricsWorkload.ParseDump(dump.Stdout);
        dumped.Values.Sum(l => l.Count).Should().Be(expected.Values.Sum(l => l.Count));

        using (var again = TimeSeriesDatabase.Open(CompactionTests.Options(dir.Path)))
        {
            var old = again.Blocks[0].Meta;
            again.CleanTombstones().Should().Be(1);
            again.Blocks.Should().NotContain(b => b.HasTombstones);
            var cleaned = again.Blocks[0].Meta;
            cleaned.Parents.Should().ContainSingle().Which.Ulid.Should().Be(old.Ulid);
            cleaned.NumSamples.Should().BeLessThan(old.NumSamples);
            Directory.Exists(Path.Combine(dir.Path, old.Ulid)).Should().BeFalse();
            again.GetStatistics().TombstonesCleaned.Should().Be(1);
            NonEmpty(BlockTests.ReadAll(again)).ShouldEqualSamples(expected);
        }
    }

    [Test]
    public void Delete_EverythingInABlock_CompactionDropsTheBlock()
    {
        using var dir = new TempDirectory("delete");
        var workload = OpenMetricsWorkload.Generate(seed: 32, hours: 2, weirdValues: false);
        using var db = TimeSeriesDatabase.Open(CompactionTests.Options(dir.Path));
        BlockTests.Append(db, workload);
        db.Compact(flushHead: true).Should().Be(1);
        db.Delete(long.MinValue, long.MaxValue);
        NonEmpty(BlockTests.ReadAll(db)).Should().BeEmpty();
        db.CleanTombstones().Should().Be(1);
        db.Blocks.Should().BeEmpty("a block left with no samples is deleted, not rewritten");
        Directory.EnumerateDirectories(dir.Path).Where(d => Ulid.IsValid(Path.GetFileName(d))).Should().BeEmpty();
    }

    [Test]
    public void Delete_LaterSamples_NotAffected_AndInMemoryDatabaseSupported()
    {
        using var db = TimeSeriesDatabase.Open(new TsdbOptions());
        var labels = Labels.FromStrings("__name__", "x");
        var app = db.Appender();
        app.Append(new Abstractions.Storage.AppendRequest { Labels = labels, TimestampMs = 1000, Value = 1 });
        app.Append(new Abstractions.Storage.AppendRequest { Labels = labels, TimestampMs = 2000, Value = 2 });
        app.Commit();
        db.Delete(0, 10_000);
        app = db.Appender();
        app.Append(new Abstractions.Storage.AppendRequest { Labels = labels, TimestampMs = 3000, Value = 3 });
        app.Commit();
        BlockTests.ReadAll(db)[labels].Select(s => s.T).Should().Equal([3000L], "the deleted range is clamped to the data present when deleting, as in Prometheus");
        var bad = () => db.Delete(5, 4);
        bad.Should().Throw<ArgumentException>();
    }

    internal static Dictionary<Labels, List<(long T, ulong V)>> NonEmpty(Dictionary<Labels, List<(long T, ulong V)>> data) =>
        data.Where(kv => kv.Value.Count > 0).ToDictionary(kv => kv.Key, kv => kv.Value);
}
