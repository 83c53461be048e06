using System.Globalization;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb.Head;
using Metrics.Coordination.Tsdb.Records;
using Metrics.Coordination.Tsdb.Wal;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Tsdb.Tests.Wal;

/// <summary>
/// The batched, series-regrouped, parallel WAL replay (<see cref="WalReplayer"/>) against a plain sequential replay
/// that applies every record and sample in log order (what replay did before batching): the same randomized WALs must
/// give the same head, sample by sample and chunk by chunk (bytes, time ranges, legacy stray-byte flags, out-of-order
/// samples), the same head time range and tombstones, and the same counters. The WALs interleave series like scrapes,
/// with series created mid-WAL, series records repeated (same reference, or the same labels under a new reference, or
/// a reference re-used for other labels), samples before their series' record, samples before the head's minimum valid
/// time, in-order, duplicate, and out-of-order samples inside and outside the window, tombstones, m-map markers, and
/// (in one case) an undecodable last record. Batches are shrunk so that many batch boundaries and the parallel path
/// are crossed.
/// </summary>
public class WalReplayerTests
{
    private const long Start = 1_699_999_200_000;
    private const long Hour = 3_600_000;

    private static readonly WalReplayer.ReplayTuning[] Tunings =
    [
        new(BatchSamples: 64, Workers: 1, MinParallelSamples: 0),
        new(BatchSamples: 997, Workers: 3, MinParallelSamples: 0),
        new(BatchSamples: 5_000, Workers: 2, MinParallelSamples: 0),
        WalReplayer.ReplayTuning.Default,
    ];

    [Test]
    public void Replay_RandomizedWal_SameHeadAsSequentialReplay(
        [Values(0, 30 * 60 * 1000)] long outOfOrderWindow,
        [Values(1, 2, 3)] int seed,
        [Range(0, 3)] int tuning)
    {
        using var dir = new TempDirectory("walreplay");
        var minValid = seed == 2 ? Start + Hour : long.MinValue;
        WriteRandomWal(dir.Path, seed, undecodableTail: false);

        var expected = NewHead(outOfOrderWindow, minValid);
        var expectedResult = SequentialReplay(dir.Path, expected);
        var actual = NewHead(outOfOrderWindow, minValid);
        var actualResult = WriteAheadLog.Replay(dir.Path, actual, NullLogger.Instance, Tunings[tuning]);

        actualResult.Corruptions.Should().Be(0);
        expectedResult.Samples.Should().BeGreaterThan(10_000, "the WAL is big enough to cross many batches");
        expectedResult.UnknownSeriesSamples.Should().BePositive("some samples come before their series' record");
        if (outOfOrderWindow > 0)
        {
            expectedResult.OutOfOrderSamples.Should().BePositive("some samples are kept out of order");
        }

        if (minValid != long.MinValue)
        {
            expectedResult.SamplesSkipped.Should().BePositive();
        }

        ShouldBeSame(actual, actualResult, expected, expectedResult);
    }

    [Test]
    public void ReplayReadOnly_UndecodableLastRecord_SameHeadAsSequentialReplayAndReported([Values(0, 30 * 60 * 1000)] long outOfOrderWindow)
    {
        using var dir = new TempDirectory("walreplay");
        WriteRandomWal(dir.Path, seed: 4, undecodableTail: true);

        var expected = NewHead(outOfOrderWindow, long.MinValue);
        var expectedResult = SequentialReplay(dir.Path, expected);
        var actual = NewHead(outOfOrderWindow, long.MinValue);
        var actualResult = WriteAheadLog.ReplayReadOnly(dir.Path, actual, NullLogger.Instance, Tunings[1])!;

        expectedResult.Corruptions.Should().Be(1);
        actualResult.Corruptions.Should().Be(1);
        actualResult.CorruptionDetails.Single().Reason.Should().StartWith("undecodable record");
        ShouldBeSame(actual, actualResult, expected, expectedResult);
    }

    private static Tsdb.Head.Head NewHead(long outOfOrderWindow, long minValid) =>
        new(new HeadOptions(HeadOptions.DefaultBlockRange, OutOfOrderWindow: outOfOrderWindow)) { MinValidTime = minValid };

    /// <summary>
    /// A scrape-like WAL: ~3,000 records over ~12 h (many chunk cuts and 2 h range boundaries), 1 MiB segments. Most
    /// records are Samples records of 1–60 samples, mostly in order per series, some older (inside and outside a
    /// 30 min window), some repeating a series' newest time with the same or other bits, some for references not
    /// logged yet; the rest are Series records (new series, repeats, remaps), Tombstones and MmapMarkers records.
    /// </summary>
    private static void WriteRandomWal(string walDir, int seed, bool undecodableTail)
    {
        var random = new Random(seed);
        var buffer = new ByteBuffer();
        var labels = new List<(ulong Ref, Labels Labels)>();
        var newest = new Dictionary<ulong, (long T, ulong V)>();
        ulong nextRef = 1;
        var nextName = 0;
        Labels NewLabels() => Labels.FromStrings("__name__", "m" + (nextName % 7).ToString(CultureInfo.InvariantCulture), "i", (nextName++).ToString(CultureInfo.InvariantCulture));

        using var writer = WalWriter.Open(walDir, 1 << 20);
        void Write() => writer.Append(buffer.Span);

        // Refs that will get a series record later: their early samples are unknown.
        var future = new List<ulong>();
        for (var i = 0; i < 40; i++)
        {
            labels.Add((nextRef++, NewLabels()));
        }

        buffer.Clear();
        WalRecords.EncodeSeries(buffer, labels, static s => s);
        Write();
        for (var i = 0; i < 5; i++)
        {
            future.Add(nextRef + (ulong)i + 3);
        }

        var now = Start;
        for (var record = 0; record < 3000; record++)
        {
            now += random.Next(0, 30_000);
            buffer.Clear();
            var kind = random.Next(100);
            if (kind < 4)
            {
                var logged = new List<(ulong, Labels)>();
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    switch (random.Next(5))
                    {
                        case 0 or 1:
                            // A new series (sometimes one whose samples came first).
                            var r = future.Count > 0 && random.Next(2) == 0 ? future[0] : nextRef;
                            future.Remove(r);
                            nextRef = Math.Max(nextRef, r + 1);
                            var l = NewLabels();
                            labels.Add((r, l));
                            logged.Add((r, l));
                            future.Add(nextRef + (ulong)random.Next(2, 9));
                            break;
                        case 2:
                            // The same series logged again under its reference.
                            logged.Add(labels[random.Next(labels.Count)]);
                            break;
                        case 3:
                            // The same labels under a new reference (collected and re-created): later samples of either go to one series.
                            var existing = labels[random.Next(labels.Count)];
                            labels.Add((nextRef, existing.Labels));
                            logged.Add((nextRef++, existing.Labels));
                            break;
                        default:
                            // A logged reference for other labels: a fresh series, the reference mapped to it from here on.
                            var taken = labels[random.Next(labels.Count)];
                            var other = NewLabels();
                            labels.Add((taken.Ref, other));
                            logged.Add((taken.Ref, other));
                            break;
                    }
                }

                WalRecords.EncodeSeries(buffer, logged, static s => s);
            }
            else if (kind < 6)
            {
                var stones = new List<RefTombstone>();
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    var mint = now - random.Next(0, 4 * 3_600_000);
                    stones.Add(new RefTombstone(labels[random.Next(labels.Count)].Ref, mint, mint + random.Next(0, 3_600_000)));
                }

                WalRecords.EncodeTombstones(buffer, stones);
            }
            else if (kind < 7)
            {
                buffer.Byte((byte)WalRecordType.MmapMarkers);
                buffer.Be64(labels[0].Ref);
                buffer.Be64(0x1_0000_0008);
            }
            else
            {
                var samples = new List<RefSample>();
                for (var i = random.Next(1, 61); i > 0; i--)
                {
                    var r = random.Next(50) == 0 && future.Count > 0 ? future[random.Next(future.Count)] : labels[random.Next(labels.Count)].Ref;
                    newest.TryGetValue(r, out var last);
                    var v = random.Next(4) switch
                    {
                        0 => BitConverter.DoubleToUInt64Bits(random.Next(100)),
                        1 => BitConverter.DoubleToUInt64Bits(Math.Round(random.NextDouble() * 100, 2)),
                        2 => last.V,
                        _ => (ulong)random.NextInt64(),
                    };
                    var t = random.Next(40) switch
                    {
                        0 => last.T, // the newest time again: same bits dropped, other bits refused
                        1 => now - random.Next(1, 60 * 60 * 1000), // older: inside or outside a 30 min window
                        2 => now - random.Next(1, 5 * 60 * 1000),
                        _ => now + random.Next(0, 15_000),
                    };
                    samples.Add(new RefSample(r, t, v));
                    if (t > last.T)
                    {
                        newest[r] = (t, v);
                    }
                }

                WalRecords.EncodeSamples(buffer, samples, static s => s);
            }

            Write();
        }

        if (undecodableTail)
        {
            // Intact framing, but the last sample's value is cut short.
            buffer.Clear();
            WalRecords.EncodeSamples(buffer, [new RefSample(labels[0].Ref, now + 1, 1), new RefSample(labels[1].Ref, now + 1, 2)], static s => s);
            writer.Append(buffer.Span[..^3]);
        }
    }

    /// <summary>Sequential replay: each record in log order, each sample applied in log order (the reference semantics).</summary>
    private static WalReplayResult SequentialReplay(string walDir, Tsdb.Head.Head head)
    {
        var result = new WalReplayResult();
        var remapped = new Dictionary<ulong, MemSeries>();
        MemSeries? Find(ulong r) => remapped.TryGetValue(r, out var s) ? s : head.Series.GetByRef(r);
        foreach (var (index, path) in WalWriter.ListSegments(walDir))
        {
            using var reader = new WalSegmentReader(path, index);
            while (reader.Next())
            {
                result.Records++;
                var record = reader.Record;
                try
                {
                    switch (WalRecords.TypeOf(record))
                    {
                        case WalRecordType.Series:
                            var series = new List<RefSeries>();
                            WalRecords.DecodeSeries(record, series);
                            foreach (var s in series)
                            {
                                var taken = head.Series.GetByRef(s.Ref);
                                var created = head.GetOrCreate(s.Labels, out _, taken is null || taken.Labels.Equals(s.Labels) ? s.Ref : 0);
                                if (created.Ref != s.Ref)
                                {
                                    remapped[s.Ref] = created;
                                }

                                result.Series++;
                            }

                            break;
                        case WalRecordType.Samples:
                            var samples = new List<RefSample>();
                            WalRecords.DecodeSamples(record, samples);
                            long min = long.MaxValue, max = long.MinValue, applied = 0;
                            var runningMax = head.MaxTime;
                            foreach (var s in samples)
                            {
                                if (Find(s.Ref) is not { } target)
                                {
                                    result.UnknownSeriesSamples++;
                                    continue;
                                }

                                if (s.T < head.MinValidTime)
                                {
                                    result.SamplesSkipped++;
                                    continue;
                                }

                                var r = head.Apply(target, s.T, s.V, ref runningMax);
                                if (r is Tsdb.Head.Head.ApplyResult.Appended or Tsdb.Head.Head.ApplyResult.OutOfOrder)
                                {
                                    applied++;
                                    min = Math.Min(min, s.T);
                                    max = Math.Max(max, s.T);
                                    result.OutOfOrderSamples += r == Tsdb.Head.Head.ApplyResult.OutOfOrder ? 1 : 0;
                                }
                                else
                                {
                                    result.SamplesSkipped++;
                                }
                            }

                            result.Samples += applied;
                            if (applied > 0)
                            {
                                head.UpdateTimes(min, max);
                            }

                            break;
                        case WalRecordType.Tombstones:
                            var stones = new List<RefTombstone>();
                            WalRecords.DecodeTombstones(record, stones);
                            head.AddTombstones(stones.Select(st => Find(st.Ref) is { } t ? st with { Ref = t.Ref } : st).ToList());
                            break;
                    }
                }
                catch (InvalidDataException)
                {
                    result.Corruptions++;
                    return result;
                }
            }
        }

        return result;
    }

    private static void ShouldBeSame(Tsdb.Head.Head actual, WalReplayResult actualResult, Tsdb.Head.Head expected, WalReplayResult expectedResult)
    {
        actualResult.Records.Should().Be(expectedResult.Records);
        actualResult.Series.Should().Be(expectedResult.Series);
        actualResult.Samples.Should().Be(expectedResult.Samples);
        actualResult.SamplesSkipped.Should().Be(expectedResult.SamplesSkipped);
        actualResult.OutOfOrderSamples.Should().Be(expectedResult.OutOfOrderSamples);
        actualResult.UnknownSeriesSamples.Should().Be(expectedResult.UnknownSeriesSamples);
        actual.MinTime.Should().Be(expected.MinTime);
        actual.MaxTime.Should().Be(expected.MaxTime);
        actual.Series.Count.Should().Be(expected.Series.Count);
        actual.Series.LastRef.Should().Be(expected.Series.LastRef);

        var range = expected.Options.ChunkRange;
        var perChunk = expected.Options.SamplesPerChunk;
        foreach (var e in expected.Series.All())
        {
            var a = actual.Series.GetByRef(e.Ref);
            a.Should().NotBeNull($"series {e.Ref} {e.Labels}");
            a!.Labels.Equals(e.Labels).Should().BeTrue($"series {e.Ref}: {a.Labels} vs {e.Labels}");
            a.LastTime.Should().Be(e.LastTime, $"series {e.Labels}");
            a.LastValueBits.Should().Be(e.LastValueBits, $"series {e.Labels}");
            a.OutOfOrderCount.Should().Be(e.OutOfOrderCount, $"series {e.Labels}");
            Chunks(a, null).Should().Equal(Chunks(e, null), $"in-order chunks of {e.Labels}");
            Chunks(a, (range, perChunk)).Should().Equal(Chunks(e, (range, perChunk)), $"chunks with out-of-order samples merged of {e.Labels}");
        }

        actual.Tombstones.Keys.Order().Should().Equal(expected.Tombstones.Keys.Order());
        foreach (var (r, list) in expected.Tombstones)
        {
            actual.Tombstones[r].Should().Equal(list);
        }
    }

    private static List<string> Chunks(MemSeries s, (long Range, int PerChunk)? merged)
    {
        var chunks = new List<HeadChunk>();
        if (merged is { } m)
        {
            s.ChunksForBlock(long.MinValue, long.MaxValue, chunks, m.Range, m.PerChunk);
        }
        else
        {
            s.ChunksForBlock(long.MinValue, long.MaxValue, chunks);
        }

        return chunks.Select(c => FormattableString.Invariant($"{c.MinTime}-{c.MaxTime} {c.LegacyTrailingByte} {Convert.ToHexString(c.Data)}")).ToList();
    }
}
