using System.Buffers.Binary;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb.Chunks;
using Metrics.Coordination.Tsdb.Records;
using Metrics.Coordination.Tsdb.Tests.Head;
using Metrics.Coordination.Tsdb.Wal;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Tsdb.Tests.Wal;

public class WalTests
{
    private const int PageSize = 32 * 1024;
    private const long Start = 1_699_999_200_000;

    [Test]
    public void SamplesRecord_Layout_MatchesFactSheet()
    {
        var buffer = new ByteBuffer();
        WalRecords.EncodeSamples(buffer, [new RefSample(7, 1000, 0x3FF0000000000000), new RefSample(5, 1015, StaleMarker.Bits)], static s => s);
        // type 2 | BE64 ref0 7 | BE64 t0 1000 | varint 0, varint 0, BE64 1.0 | varint -2 (zig-zag 3), varint 15 (30), BE64 stale
        Convert.ToHexString(buffer.Span).Should().Be("02" + "0000000000000007" + "00000000000003E8" + "00" + "00" + "3FF0000000000000" + "03" + "1E" + "7FF0000000000002");
    }

    [Test]
    public void SamplesRecord_HotPathEncoder_SameBytesAsGeneric()
    {
        var random = new Random(8);
        var series = Enumerable.Range(0, 50).Select(i => new Tsdb.Head.MemSeries((ulong)random.NextInt64(1, 1L << 40), Labels.FromStrings("a", i.ToString(System.Globalization.CultureInfo.InvariantCulture)))).ToArray();
        var pending = Enumerable.Range(0, 500).Select(_ => new Tsdb.Head.PendingSample(series[random.Next(series.Length)], random.NextInt64(long.MinValue / 4, long.MaxValue / 4), (ulong)random.NextInt64())).ToList();
        var generic = new ByteBuffer();
        WalRecords.EncodeSamples(generic, pending, static p => new RefSample(p.Series.Ref, p.T, p.V));
        var fast = new ByteBuffer(16);
        WriteAheadLog.EncodeSamples(fast, pending);
        Convert.ToHexString(fast.Span).Should().Be(Convert.ToHexString(generic.Span));
    }

    [Test]
    public void Records_RoundTrip()
    {
        var buffer = new ByteBuffer();
        var labels = Labels.FromStrings("__name__", "up", "job", "äpi", "x", "");
        WalRecords.EncodeSeries(buffer, [(3UL, labels), (ulong.MaxValue, Labels.Empty)], static s => s);
        var series = new List<RefSeries>();
        WalRecords.DecodeSeries(buffer.Span, series);
        series.Should().Equal(new RefSeries(3, labels), new RefSeries(ulong.MaxValue, Labels.Empty));

        buffer.Clear();
        RefSample[] samples = [new(10, long.MinValue / 2, 1), new(2, long.MaxValue / 2, ulong.MaxValue), new(ulong.MaxValue, -5, 0)];
        WalRecords.EncodeSamples(buffer, samples, static s => s);
        var decoded = new List<RefSample>();
        WalRecords.DecodeSamples(buffer.Span, decoded);
        decoded.Should().Equal(samples);

        buffer.Clear();
        RefTombstone[] stones = [new(1, -10, 10), new(9, long.MinValue, long.MaxValue)];
        WalRecords.EncodeTombstones(buffer, stones);
        var decodedStones = new List<RefTombstone>();
        WalRecords.DecodeTombstones(buffer.Span, decodedStones);
        decodedStones.Should().Equal(stones);
    }

    [Test]
    public void Writer_RandomRecords_ReadBackAndPageRulesHold()
    {
        using var dir = new TempDirectory("wal");
        var random = new Random(1);
        var records = new List<byte[]>();
        using (var writer = WalWriter.Open(dir.Path, 8 * PageSize))
        {
            for (var i = 0; i < 200; i++)
            {
                var size = random.Next(5) switch
                {
                    0 => random.Next(1, 20),
                    1 => random.Next(1, 2000),
                    2 => PageSize - 7 - random.Next(0, 3),
                    3 => random.Next(PageSize, 3 * PageSize),
                    _ => random.Next(1, 100),
                };
                var record = new byte[size];
                random.NextBytes(record);
                record[0] = 1;
                records.Add(record);
                writer.Append(record);
                if (random.Next(3) == 0)
                {
                    writer.Flush();
                }
            }
        }

        var read = new List<byte[]>();
        var segments = WalWriter.ListSegments(dir.Path);
        segments.Should().HaveCountGreaterThan(3);
        foreach (var (index, path) in segments)
        {
            var bytes = File.ReadAllBytes(path);
            if (index != segments[^1].Index)
            {
                (bytes.Length % PageSize).Should().Be(0, "completed segments are whole pages");
            }

            foreach (var record in ReferenceParse(bytes))
            {
                read.Add(record);
            }

            using var reader = new WalSegmentReader(path, index);
            var viaReader = new List<byte[]>();
            while (reader.Next())
            {
                viaReader.Add(reader.Record.ToArray());
            }

            reader.Corruption.Should().BeNull();
            var reference = ReferenceParse(bytes);
            viaReader.Count.Should().Be(reference.Count);
            viaReader.Zip(reference).All(p => p.First.SequenceEqual(p.Second)).Should().BeTrue();
        }

        read.Count.Should().Be(records.Count);
        read.Zip(records).All(p => p.First.SequenceEqual(p.Second)).Should().BeTrue();
    }

    [Test]
    public void Writer_SevenBytesLeftInPage_WritesEmptyFirstFragment()
    {
        using var dir = new TempDirectory("wal");
        using (var writer = WalWriter.Open(dir.Path, 4 * PageSize))
        {
            writer.Append(new byte[PageSize - 14]); // 7 header + payload leaves exactly 7 bytes
            writer.Append([1, 2, 3]);
        }

        var bytes = File.ReadAllBytes(Path.Combine(dir.Path, "00000000"));
        bytes[PageSize - 7].Should().Be(2, "a 'first' fragment with no payload fills the last 7 bytes of the page");
        BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(PageSize - 6)).Should().Be(0);
        bytes[PageSize].Should().Be(4, "the payload follows as the 'last' fragment on the next page");
        ReferenceParse(bytes).Select(r => r.Length).Should().Equal(PageSize - 14, 3);
    }

    [Test]
    public void Reader_EveryTruncationPoint_KeepsCompleteRecordsOnly()
    {
        using var dir = new TempDirectory("wal");
        var lengths = new[] { 10, 40_000, 5, 100, 33_000, 7 };
        using (var writer = WalWriter.Open(dir.Path, 8 * PageSize))
        {
            foreach (var n in lengths)
            {
                writer.Append(Enumerable.Repeat((byte)n, n).ToArray());
                writer.Flush();
            }
        }

        var path = Path.Combine(dir.Path, "00000000");
        var full = File.ReadAllBytes(path);
        var ends = new List<long>();
        using (var reader = new WalSegmentReader(path, 0))
        {
            while (reader.Next())
            {
                ends.Add(reader.LastGoodOffset);
            }
        }

        var random = new Random(2);
        foreach (var cut in Enumerable.Range(0, 300).Select(_ => random.Next(full.Length)).Append(0).Append(full.Length - 1))
        {
            File.WriteAllBytes(path, full[..cut]);
            using var reader = new WalSegmentReader(path, 0);
            var count = 0;
            while (reader.Next())
            {
                reader.Record.Length.Should().Be(lengths[count]);
                count++;
            }

            var complete = ends.Count(e => e <= cut);
            count.Should().Be(complete, $"cut at {cut}");
            if (reader.Corruption is { } c)
            {
                c.Offset.Should().Be(complete == 0 ? 0 : ends[complete - 1]);
            }
        }
    }

    [Test]
    public void Reopen_AllFsyncPolicies_RestoresEveryCommittedSample([Values] WalFsyncPolicy policy)
    {
        using var dir = new TempDirectory("tsdb");
        var expected = WriteBatches(dir.Path, policy, batches: 30, series: 50);
        using var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path });
        HeadTests.Read(db.Querier(long.MinValue, long.MaxValue)).Should().BeEquivalentTo(expected);
        db.GetStatistics().WalCorruptions.Should().Be(0);
        db.GetStatistics().WalSamplesReplayed.Should().Be(30 * 50);

        // New series and samples after reopening go on with fresh references; a second reopen sees both.
        var app = db.Appender();
        app.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "after"), TimestampMs = Start + 100_000_000, Value = 1 });
        app.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "m", "i", "0"), TimestampMs = Start + 100_000_000, Value = 2 });
        app.Commit();
        db.Dispose();
        using var again = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path });
        var all = HeadTests.Read(again.Querier(long.MinValue, long.MaxValue));
        all.Should().HaveCount(51);
        all[Labels.FromStrings("__name__", "m", "i", "0")].Should().HaveCount(31);
    }

    [Test]
    public void Reopen_CorruptByteInEverySegmentPosition_TruncatesAndReports()
    {
        using var dir = new TempDirectory("tsdb");
        var random = new Random(9);
        var expected = WriteBatches(dir.Path, WalFsyncPolicy.None, batches: 300, series: 50, segmentSize: 2 * PageSize);
        var walDir = Path.Combine(dir.Path, "wal");
        var pristine = WalWriter.ListSegments(walDir).ToDictionary(s => s.Path, s => File.ReadAllBytes(s.Path));
        pristine.Should().HaveCountGreaterThan(2);
        for (var round = 0; round < 25; round++)
        {
            foreach (var (path, bytes) in pristine)
            {
                File.WriteAllBytes(path, bytes);
            }

            var victim = pristine.Keys.Where(p => pristine[p].Length > 0).OrderBy(_ => random.Next()).First();
            var data = (byte[])pristine[victim].Clone();
            var at = random.Next(data.Length);
            var truncate = random.Next(3) == 0;
            if (truncate)
            {
                data = data[..at];
            }
            else
            {
                data[at] ^= (byte)(1 << random.Next(8));
            }

            File.WriteAllBytes(victim, data);
            var logs = new CapturingLoggerFactory();
            using var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path, LoggerFactory = logs });
            var got = HeadTests.Read(db.Querier(long.MinValue, long.MaxValue));

            // Whatever survived is a prefix of the committed batches, sample for sample.
            foreach (var (labels, samples) in got)
            {
                samples.Should().Equal(expected[labels].Take(samples.Count), $"round {round}: {labels} keeps a prefix");
            }

            if (db.GetStatistics().WalCorruptions > 0)
            {
                logs.Entries.Should().Contain(e => e.EventId.Id == 2101);
            }
            else
            {
                truncate.Should().BeTrue($"a flipped bit at {at} of {Path.GetFileName(victim)} must be detected");
            }

            db.Dispose();
            foreach (var (_, path) in WalWriter.ListSegments(walDir).Where(s => !pristine.ContainsKey(s.Path)))
            {
                File.Delete(path);
            }
        }
    }

    [Test]
    public void Reopen_TornTail_TruncatedThenAppendable()
    {
        using var dir = new TempDirectory("tsdb");
        var expected = WriteBatches(dir.Path, WalFsyncPolicy.None, batches: 10, series: 10);
        var walDir = Path.Combine(dir.Path, "wal");
        var last = WalWriter.ListSegments(walDir).Last(s => new FileInfo(s.Path).Length > 0).Path;
        var bytes = File.ReadAllBytes(last);
        File.WriteAllBytes(last, bytes[..^5]);

        using (var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path }))
        {
            db.GetStatistics().WalCorruptions.Should().Be(1);
            var got = HeadTests.Read(db.Querier(long.MinValue, long.MaxValue));
            got.Values.Sum(v => v.Count).Should().Be(90, "the torn last batch is gone, the nine before it are whole");
            var app = db.Appender();
            app.Append(new AppendRequest { Labels = Labels.FromStrings("__name__", "m", "i", "0"), TimestampMs = Start + 9_000, Value = 42 });
            app.Commit();
        }

        using var again = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path });
        again.GetStatistics().WalCorruptions.Should().Be(0, "the repair left a clean WAL");
        HeadTests.Read(again.Querier(long.MinValue, long.MaxValue))[Labels.FromStrings("__name__", "m", "i", "0")].Should().HaveCount(10);
        _ = expected;
    }

    [Test]
    public void Checkpoint_KeepsLiveSeriesAndNewSamples_ReplayEquivalent()
    {
        using var dir = new TempDirectory("tsdb");
        WriteBatches(dir.Path, WalFsyncPolicy.None, batches: 40, series: 200, segmentSize: 2 * PageSize);
        var walDir = Path.Combine(dir.Path, "wal");
        var segments = WalWriter.ListSegments(walDir);
        var last = segments[^2].Index;
        var mint = Start + (20 * 1000);

        // Keep even series, samples from batch 20 on.
        var keep = new HashSet<ulong>();
        using (var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path }))
        {
            foreach (var s in db.Head.Series.All())
            {
                if (int.Parse(s.Labels.Get("i"), System.Globalization.CultureInfo.InvariantCulture) % 2 == 0)
                {
                    keep.Add(s.Ref);
                }
            }
        }

        WriteAheadLog.Checkpoint(walDir, last, keep.Contains, mint, 2 * PageSize, NullLogger.Instance);
        Directory.Exists(Path.Combine(walDir, $"checkpoint.{last:D8}")).Should().BeTrue();
        WalWriter.ListSegments(walDir).Should().OnlyContain(s => s.Index > last);

        using var reopened = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path });
        var got = HeadTests.Read(reopened.Querier(long.MinValue, long.MaxValue));
        foreach (var (labels, samples) in got)
        {
            var even = int.Parse(labels.Get("i"), System.Globalization.CultureInfo.InvariantCulture) % 2 == 0;
            if (even)
            {
                samples.Select(s => s.T).Should().Contain(Enumerable.Range(20, 20).Select(b => Start + (b * 1000L)));
            }
        }

        got.Keys.Should().HaveCount(100).And.OnlyContain(l => int.Parse(l.Get("i"), System.Globalization.CultureInfo.InvariantCulture) % 2 == 0, "dropped series lose their Series record, so their later samples have no series");
        reopened.Replayed.UnknownSeriesSamples.Should().BeGreaterThan(0);
    }

    /// <summary>Commits <paramref name="batches"/> batches of one sample per series; returns what was committed.</summary>
    internal static Dictionary<Labels, List<(long T, ulong V)>> WriteBatches(string dir, WalFsyncPolicy policy, int batches, int series, int segmentSize = TsdbOptions.DefaultWalSegmentSize)
    {
        var expected = new Dictionary<Labels, List<(long, ulong)>>();
        using var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir, WalFsyncPolicy = policy, WalSegmentSize = segmentSize });
        var refs = new SeriesRef[series];
        for (var b = 0; b < batches; b++)
        {
            var app = db.Appender();
            for (var s = 0; s < series; s++)
            {
                var labels = Labels.FromStrings("__name__", "m", "i", s.ToString(System.Globalization.CultureInfo.InvariantCulture));
                var v = (b * 1.5) + s;
                refs[s] = app.Append(new AppendRequest { Ref = refs[s], Labels = labels, TimestampMs = Start + (b * 1000L), Value = v });
                if (!expected.TryGetValue(labels, out var list))
                {
                    expected[labels] = list = [];
                }

                list.Add((Start + (b * 1000L), BitConverter.DoubleToUInt64Bits(v)));
            }

            app.Commit();
        }

        return expected;
    }

    /// <summary>An independent reader written from docs/format/wal.md: parses every page strictly and returns the records.</summary>
    internal static List<byte[]> ReferenceParse(byte[] segment)
    {
        var records = new List<byte[]>();
        var current = new List<byte>();
        var inRecord = false;
        for (var page = 0; page * PageSize < segment.Length; page++)
        {
            var p = page * PageSize;
            var end = Math.Min(segment.Length, p + PageSize);
            while (p < end)
            {
                if (segment[p] == 0)
                {
                    segment.AsSpan(p, end - p).ContainsAnyExcept((byte)0).Should().BeFalse("padding is all zero");
                    break;
                }

                (end - p).Should().BeGreaterThanOrEqualTo(7, "a fragment header never straddles a page end");
                var type = segment[p];
                var length = BinaryPrimitives.ReadUInt16BigEndian(segment.AsSpan(p + 1));
                var crc = BinaryPrimitives.ReadUInt32BigEndian(segment.AsSpan(p + 3));
                (p + 7 + length).Should().BeLessThanOrEqualTo(end, "a fragment never crosses a page");
                var payload = segment.AsSpan(p + 7, length);
                Crc32C.Compute(payload).Should().Be(crc);
                switch (type)
                {
                    case 1:
                        inRecord.Should().BeFalse();
                        records.Add(payload.ToArray());
                        break;
                    case 2:
                        inRecord.Should().BeFalse();
                        inRecord = true;
                        current.Clear();
                        current.AddRange(payload.ToArray());
                        break;
                    case 3:
                        inRecord.Should().BeTrue();
                        current.AddRange(payload.ToArray());
                        break;
                    case 4:
                        inRecord.Should().BeTrue();
                        current.AddRange(payload.ToArray());
                        records.Add([.. current]);
                        inRecord = false;
                        break;
                    default:
                        throw new AssertionException($"fragment type {type}");
                }

                p += 7 + length;
            }
        }

        inRecord.Should().BeFalse("a record never crosses a segment");
        return records;
    }
}
