using System.Diagnostics;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb.Blocks;
using Metrics.Coordination.Tsdb.Tests.Head;

namespace Metrics.Coordination.Tsdb.Tests.Blocks;

public class BlockTests
{
    [Test]
    public void Compact_HeadSpanningFiveHours_WritesAlignedBlocksAndQueriesMerge()
    {
        using var dir = new TempDirectory("blocks");
        var workload = OpenMetricsWorkload.Generate(seed: 1, hours: 5);
        using (var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path }))
        {
            Append(db, workload);
            db.Compact().Should().Be(1, "only the oldest range is cut while the head spans more than 1.5 ranges");
            db.Blocks.Should().ContainSingle();
            var meta = db.Blocks[0].Meta;
            meta.MinTime.Should().BeGreaterThanOrEqualTo(OpenMetricsWorkload.Start);
            meta.MaxTime.Should().Be(OpenMetricsWorkload.Start + 7_200_000, "a head block ends at its range boundary");
            db.GetStatistics().HeadMinTime.Should().BeGreaterThanOrEqualTo(meta.MaxTime);
            ReadAll(db).ShouldEqualSamples(workload.Samples, "queries merge the block and the head");

            var app = db.Appender();
            var late = () => app.Append(new AppendRequest { Labels = workload.Samples.Keys.First(), TimestampMs = meta.MaxTime - 1, Value = 1 });
            late.Should().Throw<SampleRejectedException>().Which.Reason.Should().Be(SampleRejectionReason.OutOfBounds);
            app.Rollback();
        }

        Directory.EnumerateDirectories(Path.Combine(dir.Path, "wal"), "checkpoint.*").Should().ContainSingle("the WAL was checkpointed after the head was truncated");
        using (var reopened = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path }))
        {
            reopened.Blocks.Should().ContainSingle();
            ReadAll(reopened).ShouldEqualSamples(workload.Samples, "block + checkpoint + WAL restore everything");
            reopened.Compact(flushHead: true).Should().Be(2);
            reopened.Blocks.Should().HaveCount(3);
            reopened.GetStatistics().HeadSeries.Should().Be(0);
            ReadAll(reopened).ShouldEqualSamples(workload.Samples);
        }

        using var again = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path });
        again.GetStatistics().WalSamplesReplayed.Should().Be(0, "everything is in blocks and the WAL was checkpointed away");
        ReadAll(again).ShouldEqualSamples(workload.Samples);
    }

    [Test]
    public async Task BackgroundCompaction_EveryInterval_CutsBlocksWithoutBeingAsked()
    {
        using var dir = new TempDirectory("blocks");
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(OpenMetricsWorkload.Start));
        var workload = OpenMetricsWorkload.Generate(seed: 7, hours: 5);
        using var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path, TimeProvider = time, WalFsyncPolicy = WalFsyncPolicy.None, CompactionInterval = TimeSpan.FromMinutes(1) });
        Append(db, workload);
        db.Blocks.Should().BeEmpty();
        time.Advance(TimeSpan.FromMinutes(1));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (db.Blocks.Count == 0)
        {
            await Task.Delay(20, timeout.Token);
        }

        db.Blocks.Should().ContainSingle();
        Ulid.TimeOf(db.Blocks[0].Meta.Ulid).Should().Be(OpenMetricsWorkload.Start + 60_000, "the block ID takes its time from the injected clock");
        ReadAll(db).ShouldEqualSamples(workload.Samples);
        db.GetStatistics().CompactionFailures.Should().Be(0);
    }

    [Test]
    public void BlockQuerier_MatchersAndLabelApis_WorkOnBlocks()
    {
        using var dir = new TempDirectory("blocks");
        var workload = OpenMetricsWorkload.Generate(seed: 2, hours: 1);
        using var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path });
        Append(db, workload);
        db.Compact(flushHead: true).Should().Be(1);
        using var q = db.Querier(long.MinValue, long.MaxValue);
        q.LabelNames().Should().Equal("__name__", "code", "instance", "job");
        q.LabelValues("code").Should().Equal("200", "300", "400");
        q.LabelValues("instance", new LabelMatcher(MatchType.Equal, "job", "api")).Should().Equal("host-0:9100", "host-2:9100", "host-4:9100");
        q.Select(true, default, new LabelMatcher(MatchType.Regex, "__name__", "req.*"), new LabelMatcher(MatchType.NotEqual, "code", "300"))
            .Select(s => s.Labels).Should().Equal(workload.Samples.Keys.Where(l => l.Name == "requests" && l.Get("code") != "300").Order(Tsdb.Index.Utf8Order.Instance));

        using var narrow = db.Querier(OpenMetricsWorkload.Start + 600_000, OpenMetricsWorkload.Start + 900_000);
        var series = narrow.Select(false, default, new LabelMatcher(MatchType.Equal, "__name__", "queue_depth")).First();
        var it = series.Iterator();
        var times = new List<long>();
        while (it.Next())
        {
            times.Add(it.Timestamp);
        }

        times.Should().NotBeEmpty().And.OnlyContain(t => t >= OpenMetricsWorkload.Start + 600_000 && t <= OpenMetricsWorkload.Start + 900_000);
    }

    [Test]
    public void Block_CorruptedBytes_DetectedReportedNeverCrash()
    {
        using var dir = new TempDirectory("blocks");
        var workload = OpenMetricsWorkload.Generate(seed: 3, hours: 1);
        string blockDir;
        using (var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path }))
        {
            Append(db, workload);
            db.Compact(flushHead: true);
            blockDir = db.Blocks[0].Directory;
        }

        var random = new Random(4);
        var files = new[] { "index", Path.Combine("chunks", "000001"), "tombstones", "meta.json" };
        var pristine = files.ToDictionary(f => f, f => File.ReadAllBytes(Path.Combine(blockDir, f)));
        var detected = 0;
        for (var round = 0; round < 60; round++)
        {
            foreach (var (f, bytes) in pristine)
            {
                File.WriteAllBytes(Path.Combine(blockDir, f), bytes);
            }

            var victim = files[round % files.Length];
            var data = (byte[])pristine[victim].Clone();
            var at = random.Next(data.Length);
            if (random.Next(4) == 0)
            {
                data = data[..at];
            }
            else
            {
                data[at] ^= (byte)(1 << random.Next(8));
            }

            File.WriteAllBytes(Path.Combine(blockDir, victim), data);
            var logs = new CapturingLoggerFactory();
            using var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path, LoggerFactory = logs });
            if (db.GetStatistics().BlocksCorrupt > 0)
            {
                logs.Entries.Should().Contain(e => e.EventId.Id == 2202 && e.Exception is TsdbCorruptionException);
                detected++;
                continue;
            }

            // Opened: the damage is somewhere only reads reach (a chunk, a series entry, a postings list), or nowhere
            // anyone reads (padding, the legacy label sections), in which case the data must be intact.
            var (read, error) = TryReadAll(db);
            if (error is not null)
            {
                if (error is TsdbCorruptionException corruption)
                {
                    corruption.Path.Should().StartWith(blockDir);
                    corruption.Message.Should().Contain(" at offset ");
                }
                else
                {
                    error.Should().BeOfType<InvalidDataException>("a chunk that decodes wrongly is reported by the iterator");
                }

                detected++;
            }
            else
            {
                read.ShouldEqualSamples(workload.Samples, $"round {round}: an undetected change in {victim} at {at} must not alter data");
            }
        }

        detected.Should().BeGreaterThan(40, "almost every flipped bit is caught by a checksum");
    }

    [Test]
    public void Tombstones_InBlock_DeletedIntervalsLeftOutOfQueries()
    {
        using var dir = new TempDirectory("blocks");
        var workload = OpenMetricsWorkload.Generate(seed: 6, hours: 1, weirdValues: false);
        string blockDir;
        using (var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path }))
        {
            Append(db, workload);
            db.Compact(flushHead: true);
            blockDir = db.Blocks[0].Directory;
        }

        // Series refs in the index follow label order; delete a middle interval of the first series and all of the second.
        var ordered = workload.Samples.Keys.Order(Tsdb.Index.Utf8Order.Instance).ToList();
        var refs = new List<ulong>();
        using (var index = Tsdb.Index.IndexReader.Open(Path.Combine(blockDir, "index")))
        {
            refs.AddRange(index.AllPostings());
        }

        var first = workload.Samples[ordered[0]];
        var (from, to) = (first[10].T, first[20].T);
        File.Delete(Path.Combine(blockDir, "tombstones"));
        Tombstones.Write(blockDir, [(refs[0], from, to), (refs[1], long.MinValue, long.MaxValue)]);
        Tombstones.Read(blockDir).Should().HaveCount(2);

        using var reopened = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path });
        var read = ReadAll(reopened);
        read.Should().NotContainKey(ordered[1], "a series whose every chunk is deleted is left out");
        read[ordered[0]].Should().Equal(first.Where(s => s.T < from || s.T > to));
        read[ordered[2]].Should().Equal(workload.Samples[ordered[2]]);

        using var q = reopened.Querier(long.MinValue, long.MaxValue);
        var it = q.Select(true, default, new LabelMatcher(MatchType.Equal, "__name__", ordered[0].Name)).First(s => s.Labels.Equals(ordered[0])).Iterator();
        it.Seek(from).Should().BeTrue();
        it.Timestamp.Should().Be(first[21].T, "seek skips the deleted interval");
    }

    [Test]
    public void Ulid_FormatAndTime()
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123);
        var id = Ulid.New(now);
        Ulid.IsValid(id).Should().BeTrue();
        Ulid.TimeOf(id).Should().Be(1_700_000_000_123);
        Ulid.Encode(new byte[16]).Should().Be("00000000000000000000000000");
        Ulid.Encode(Enumerable.Repeat((byte)0xFF, 16).ToArray()).Should().Be("7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    }

    [Test]
    public void AnalyzeBlocksPy_AcceptsOurBlocks_WhenSharedWorkloadsPresent()
    {
        var script = Path.GetFullPath(Path.Combine(PublicApiSnapshot.RepositoryRoot(), "..", "shared", "workloads", "analyze_blocks.py"));
        if (!File.Exists(script))
        {
            Assert.Ignore($"Optional cross-check: {script} is not here (a clean clone); the promtool tests cover interoperability.");
        }

        using var dir = new TempDirectory("blocks");
        var workload = OpenMetricsWorkload.Generate(seed: 5, hours: 3, weirdValues: false); // the script's oracle reads NaN with Python's payload
        var om = Path.Combine(dir.Path, "input.om");
        File.WriteAllText(om, workload.Text);
        var data = Path.Combine(dir.Path, "data");
        Backfill.Write(workload, data, BackfillStyle.Modern).Should().Be(2);

        using var process = Process.Start(new ProcessStartInfo("python3", [script, data, "--om", om, "--reencode"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stderrTask = process.StandardError.ReadToEndAsync(); // both pipes drained at once: no deadlock on a chatty stderr
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = stderrTask.GetAwaiter().GetResult();
        process.WaitForExit();
        process.ExitCode.Should().Be(0, stdout + stderr);
        stdout.Should().Contain("all checks passed");
    }

    internal static void Append(TimeSeriesDatabase db, OpenMetricsWorkload workload)
    {
        // Scrape-like: one commit per 15 s step across all series, in time order.
        var refs = new Dictionary<Labels, SeriesRef>();
        var byStep = workload.Samples.SelectMany(kv => kv.Value.Select((s, i) => (Step: i, Labels: kv.Key, s.T, s.V))).GroupBy(x => x.Step).OrderBy(g => g.Key);
        foreach (var step in byStep)
        {
            var app = db.Appender();
            foreach (var (_, labels, t, v) in step)
            {
                refs[labels] = app.Append(new AppendRequest { Ref = refs.GetValueOrDefault(labels), Labels = labels, TimestampMs = t, Value = BitConverter.UInt64BitsToDouble(v) });
            }

            app.Commit();
        }
    }

    internal static (Dictionary<Labels, List<(long T, ulong V)>> Data, Exception? Error) TryReadAll(TimeSeriesDatabase db)
    {
        var result = new Dictionary<Labels, List<(long, ulong)>>();
        try
        {
            using var q = db.Querier(long.MinValue, long.MaxValue);
            foreach (var s in q.Select(true, default))
            {
                var it = s.Iterator();
                var list = new List<(long, ulong)>();
                while (it.Next())
                {
                    list.Add((it.Timestamp, BitConverter.DoubleToUInt64Bits(it.Value)));
                }

                if (it.Error is { } e)
                {
                    return (result, e);
                }

                result[s.Labels] = list;
            }
        }
        catch (TsdbCorruptionException ex)
        {
            return (result, ex);
        }

        return (result, null);
    }

    internal static Dictionary<Labels, List<(long T, ulong V)>> ReadAll(TimeSeriesDatabase db)
    {
        using var q = db.Querier(long.MinValue, long.MaxValue);
        return HeadTests.Read(q);
    }
}
