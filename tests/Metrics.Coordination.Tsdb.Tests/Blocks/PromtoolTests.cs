using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb.Blocks;

namespace Metrics.Coordination.Tsdb.Tests.Blocks;

/// <summary>
/// Compatibility both ways with the real promtool (Debian prometheus 2.42; these tests fail, never skip, without it):
/// promtool reads our blocks and WAL, we read promtool's blocks, and with promtool's chunk boundaries our chunk and
/// index files are byte-identical to its own.
/// </summary>
[Category("Integration")]
public class PromtoolTests
{
    [Test]
    public async Task PromtoolAnalyzeListDump_OurBlocksAndWal_ExactlyOurSamples()
    {
        using var dir = new TempDirectory("promtool");
        var workload = OpenMetricsWorkload.Generate(seed: 11, hours: 5);
        string ulid;
        using (var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path }))
        {
            BlockTests.Append(db, workload);
            db.Compact().Should().Be(1);
            ulid = db.Blocks[0].Meta.Ulid;
            db.GetStatistics().HeadSeries.Should().BeGreaterThan(0, "the newest 3 h stay in the head and the WAL");
        }

        var list = await Promtool.RunAsync(["tsdb", "list", dir.Path]);
        list.ExitCode.Should().Be(0, list.ToString());
        list.Stdout.Should().Contain(ulid);

        var analyze = await Promtool.RunAsync(["tsdb", "analyze", dir.Path, ulid]);
        analyze.ExitCode.Should().Be(0, analyze.ToString());
        analyze.Stdout.Should().Contain("Block ID: " + ulid).And.Contain("Series: " + workload.Samples.Count);

        // dump reads the block and replays our WAL (checkpoint + segments) into its head: both must be Prometheus's format.
        var dump = await Promtool.RunAsync(["tsdb", "dump", dir.Path], timeout: TimeSpan.FromMinutes(2));
        dump.ExitCode.Should().Be(0, dump.Stderr);
        CompareDump(OpenMetricsWorkload.ParseDump(dump.Stdout), workload);
    }

    [Test]
    public async Task CreateBlocksFromOpenMetrics_PromtoolBlocks_WeReadExactlyTheInput([Values(false, true)] bool jitter)
    {
        using var dir = new TempDirectory("promtool");
        var workload = OpenMetricsWorkload.Generate(seed: 12, hours: 5, jitter: jitter);
        var input = Path.Combine(dir.Path, "input.om");
        await File.WriteAllTextAsync(input, workload.Text);
        var output = Path.Combine(dir.Path, "out");
        var created = await Promtool.RunAsync(["tsdb", "create-blocks-from", "openmetrics", input, output], timeout: TimeSpan.FromMinutes(2));
        created.ExitCode.Should().Be(0, created.ToString());

        using var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = output });
        db.Blocks.Should().HaveCount(3, "5 h starting on a 2 h boundary");
        db.GetStatistics().BlocksCorrupt.Should().Be(0);
        BlockTests.ReadAll(db).ShouldEqualSamples(workload.Samples, "every sample promtool stored, by bits (Go's NaN payload included)");
        foreach (var block in db.Blocks)
        {
            block.Meta.NumSamples.Should().BeGreaterThan(0);
            block.Meta.Level.Should().Be(1);
        }
    }

    [Test]
    public async Task Backfill_SameInputAsPromtool_ChunksIndexTombstonesByteIdentical([Values(false, true)] bool jitter)
    {
        using var dir = new TempDirectory("promtool");
        var workload = OpenMetricsWorkload.Generate(seed: 13, hours: 6, targets: 8, jitter: jitter);
        var input = Path.Combine(dir.Path, "input.om");
        await File.WriteAllTextAsync(input, workload.Text);
        var theirs = Path.Combine(dir.Path, "promtool");
        var created = await Promtool.RunAsync(["tsdb", "create-blocks-from", "openmetrics", input, theirs], timeout: TimeSpan.FromMinutes(2));
        created.ExitCode.Should().Be(0, created.ToString());
        var ours = Path.Combine(dir.Path, "ours");
        Backfill.Write(workload, ours, BackfillStyle.Promtool242).Should().Be(3);

        var theirBlocks = BlocksByTime(theirs);
        var ourBlocks = BlocksByTime(ours);
        ourBlocks.Select(b => (b.Meta.MinTime, b.Meta.MaxTime, b.Meta.NumSamples, b.Meta.NumSeries, b.Meta.NumChunks))
            .Should().Equal(theirBlocks.Select(b => (b.Meta.MinTime, b.Meta.MaxTime, b.Meta.NumSamples, b.Meta.NumSeries, b.Meta.NumChunks)));
        foreach (var (mine, theirsBlock) in ourBlocks.Zip(theirBlocks))
        {
            foreach (var file in new[] { Path.Combine("chunks", "000001"), "index", "tombstones" })
            {
                var a = await File.ReadAllBytesAsync(Path.Combine(mine.Dir, file));
                var b = await File.ReadAllBytesAsync(Path.Combine(theirsBlock.Dir, file));
                var firstDifference = a.AsSpan().CommonPrefixLength(b);
                (firstDifference == a.Length && a.Length == b.Length).Should().BeTrue($"{file} of block [{mine.Meta.MinTime}, {mine.Meta.MaxTime}) must equal promtool's: {a.Length} vs {b.Length} bytes, first difference at {firstDifference}");
            }
        }
    }

    private static List<(string Dir, BlockMeta Meta)> BlocksByTime(string dataDir) =>
        [.. Directory.EnumerateDirectories(dataDir).Where(d => Ulid.IsValid(Path.GetFileName(d))).Select(d => (d, BlockMeta.Read(d))).OrderBy(b => b.Item2.MinTime)];

    internal static void CompareDump(Dictionary<string, List<(long T, double V)>> dumped, OpenMetricsWorkload workload)
    {
        dumped.Keys.Should().BeEquivalentTo(workload.Samples.Keys.Select(OpenMetricsWorkload.GoString));
        foreach (var (labels, expected) in workload.Samples)
        {
            var got = dumped[OpenMetricsWorkload.GoString(labels)];
            got.Count.Should().Be(expected.Count, labels.ToString());
            for (var i = 0; i < expected.Count; i++)
            {
                var want = BitConverter.UInt64BitsToDouble(expected[i].V);
                var ok = got[i].T == expected[i].T && (double.IsNaN(want) ? double.IsNaN(got[i].V) : BitConverter.DoubleToUInt64Bits(got[i].V) == expected[i].V);
                ok.Should().BeTrue($"{labels} sample {i}: dumped ({got[i].T}, {got[i].V}), stored ({expected[i].T}, {want})");
            }
        }
    }
}
