using System.Diagnostics;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb.Chunks;

namespace Metrics.Coordination.Tsdb.Tests.Chunks;

public class XorChunkTests
{
    private static readonly Config Quick = Config.QuickThrowOnFailure.WithMaxTest(500);

    [Test]
    public void Crc32C_CheckValue_MatchesCastagnoli()
    {
        Crc32C.Compute("123456789"u8).Should().Be(0xE3069283u);
        Crc32C.Compute(ReadOnlySpan<byte>.Empty).Should().Be(0u);
        Crc32C.Compute("1234"u8, "56789"u8).Should().Be(0xE3069283u);
    }

    [Test]
    public void Crc32C_AnyLengthAndSplit_MatchesBitwiseReference()
    {
        var random = new Random(7);
        for (var length = 0; length < 80; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            var split = length == 0 ? 0 : random.Next(length);
            Crc32C.Compute(data).Should().Be(BitwiseCrc32C(data));
            Crc32C.Compute(data.AsSpan(0, split), data.AsSpan(split)).Should().Be(BitwiseCrc32C(data));
        }
    }

    [Test]
    public void BitStream_RandomWidths_ReadBackExactly()
    {
        var random = new Random(11);
        var writer = new BitWriter(0, 4);
        var written = new List<(ulong, int)>();
        for (var i = 0; i < 5000; i++)
        {
            var width = random.Next(1, 65);
            var value = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40);
            value &= width == 64 ? ulong.MaxValue : (1UL << width) - 1;
            writer.WriteBits(value, width);
            written.Add((value, width));
        }

        var padded = new byte[writer.Length + BitReader.Padding];
        writer.Buffer.AsSpan(0, writer.Length).CopyTo(padded);
        var reader = default(BitReader);
        reader.Reset(padded, 0, writer.Length);
        foreach (var (value, width) in written)
        {
            reader.ReadBits(width).Should().Be(value);
        }
    }

    [Test]
    public void BitReader_PastEnd_ReportsOverrun()
    {
        var data = new byte[2 + BitReader.Padding];
        data[0] = 0xFF;
        data[1] = 0x01;
        var reader = default(BitReader);
        reader.Reset(data, 0, 2);
        reader.ReadBits(12).Should().Be(0xFF0);
        reader.Overrun.Should().BeFalse();
        reader.ReadBits(4).Should().Be(1);
        reader.Overrun.Should().BeFalse();
        reader.ReadBit();
        reader.Overrun.Should().BeTrue();
        var unpadded = () => default(BitReader).Reset(new byte[10], 0, 10);
        unpadded.Should().Throw<ArgumentException>();
    }

    [Test]
    public void Encode_KnownChunk_MatchesHandDecodedBytes()
    {
        // t0 = 1000 (zig-zag 2000 = d0 0f), v0 = 1.0, t1 = 1015 (uvarint 15 = 0f), v1 = 1.0 (x = 0: bit 0),
        // t2 = 1030 (dod 0: bit 0), v2 = 2.0 (x = 0x7FF0..: '11', L = 1, S = 11 → 0b11 00001 001011 + 11 bits).
        var chunk = XorChunk.Encode([1000, 1015, 1030], [BitConverter.DoubleToUInt64Bits(1.0), BitConverter.DoubleToUInt64Bits(1.0), BitConverter.DoubleToUInt64Bits(2.0)]);
        Convert.ToHexString(chunk.Bytes).Should().Be(Convert.ToHexString(ReferenceXorEncoder.Encode([(1000, 0x3FF0000000000000), (1015, 0x3FF0000000000000), (1030, 0x4000000000000000)])));
        Convert.ToHexString(chunk.Bytes).Should().StartWith("0003" + "D00F" + "3FF0000000000000" + "0F");
    }

    [Test]
    public void EncodeDecode_RandomSeries_IdentityByBits()
    {
        var iterator = new XorIterator();
        var property = Prop.ForAll(SeriesGenerators.Series().ToArbitrary(), samples =>
        {
            var chunk = Encode(samples);
            var bytes = chunk.ToArray();
            iterator.Reset(bytes);
            var decoded = Drain(iterator);
            iterator.Error.Should().BeNull();
            decoded.Should().Equal(samples);
        });
        Check.One(Quick, property);
    }

    [Test]
    public void Encode_RandomSeries_EqualsFromSpecEncoder()
    {
        var property = Prop.ForAll(SeriesGenerators.Series().ToArbitrary(), samples =>
        {
            var chunk = Encode(samples);
            Convert.ToHexString(chunk.ToArray()).Should().Be(Convert.ToHexString(ReferenceXorEncoder.Encode(samples)));
            Convert.ToHexString(chunk.ToArray(legacyTrailingByte: true)).Should().Be(Convert.ToHexString(ReferenceXorEncoder.Encode(samples, legacy: true)));
            ReferenceXorEncoder.Decode(chunk.ToArray()).Should().Equal(samples);
        });
        Check.One(Quick, property);
    }

    [Test]
    public void Decode_ReuseWindowBeforeAnyNewWindow_Means64Bits()
    {
        // An appender reopened on an existing chunk takes the reader's L = T = 0, so '10' may come first.
        var writer = new BitWriter(2, 32);
        writer.WriteBits(0b0000_0010, 8); // varint t0 = 1
        writer.WriteBits(0x4000000000000000UL, 64); // v0 = 2.0
        writer.WriteBits(5, 8); // Δ = 5
        writer.WriteBits(0b10, 2);
        writer.WriteBits(0x4000000000000000UL ^ 0x3FF0000000000000UL, 64);
        var bytes = writer.ToArray();
        bytes[1] = 2;
        var iterator = new XorIterator();
        iterator.Reset(bytes);
        Drain(iterator).Should().Equal((1L, 0x4000000000000000UL), (6L, 0x3FF0000000000000UL));
    }

    [Test]
    public void Iterator_Seek_SkipsForwardNeverBack()
    {
        var samples = Enumerable.Range(0, 200).Select(i => (T: 1000L + (i * 15_000L), V: BitConverter.DoubleToUInt64Bits(i))).ToArray();
        var bytes = Encode(samples).ToArray();
        var it = new XorIterator();
        it.Reset(bytes);
        it.Seek(1000 + (15_000 * 10) - 1).Should().BeTrue();
        it.Timestamp.Should().Be(1000 + (15_000 * 10));
        it.Seek(0).Should().BeTrue("seek never moves backwards");
        it.Timestamp.Should().Be(1000 + (15_000 * 10));
        it.Value.Should().Be(10);
        it.Next().Should().BeTrue();
        it.Value.Should().Be(11);
        it.Seek(long.MaxValue).Should().BeFalse();
        it.Next().Should().BeFalse();
    }

    [Test]
    public void Iterator_CountLimit_DecodesPrefixOfGrowingChunk()
    {
        var chunk = new XorChunk();
        var it = new XorIterator();
        for (var i = 0; i < 300; i++)
        {
            chunk.Append(i * 1000L, BitConverter.DoubleToUInt64Bits(i * 1.5));
            it.Reset(chunk.Bytes, count: i / 2);
            Drain(it).Should().HaveCount(i / 2);
        }
    }

    [Test]
    public void Iterator_TruncatedChunk_ReportsErrorWithoutThrowing()
    {
        var samples = Enumerable.Range(0, 50).Select(i => ((long)i * 1000, BitConverter.DoubleToUInt64Bits(Math.Sqrt(i)))).ToArray();
        var bytes = Encode(samples).ToArray();
        var it = new XorIterator();
        for (var cut = 0; cut < bytes.Length; cut++)
        {
            it.Reset(bytes.AsSpan(0, cut));
            Drain(it);
            it.Error.Should().NotBeNull($"a chunk cut at {cut} of {bytes.Length} bytes is incomplete");
        }
    }

    [Test]
    public void Append_StaleMarkerAndNaNPayloads_SurviveAsBits()
    {
        ulong[] values = [SeriesGenerators.StaleNaN, 0x7FF8000000000001, 0xFFF8000000000000, 0x8000000000000000, 0, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF4000000000000];
        var samples = values.Select((v, i) => ((long)i, v)).ToArray();
        var it = new XorIterator();
        it.Reset(Encode(samples).ToArray());
        var seen = new List<ulong>();
        while (it.Next())
        {
            seen.Add(BitConverter.DoubleToUInt64Bits(it.Value));
        }

        seen.Should().Equal(values);
    }

    [Test]
    public void Encode_SampleOfCases_EqualsPythonFromSpecEncoder_WhenSharedWorkloadsPresent()
    {
        var script = Path.GetFullPath(Path.Combine(PublicApiSnapshot.RepositoryRoot(), "..", "shared", "workloads", "analyze_blocks.py"));
        if (!File.Exists(script))
        {
            Assert.Ignore($"Optional cross-check: {script} is not here (a clean clone); the ported ReferenceXorEncoder covers the same property.");
        }

        var cases = SeriesGenerators.Series(150).Sample(50, 40).ToList();
        var input = new StringBuilder();
        foreach (var samples in cases)
        {
            input.AppendLine(string.Join(' ', samples.Select(s => $"{s.T}:{s.V}")));
        }

        var program = $"""
            import sys
            sys.path.insert(0, {Quote(Path.GetDirectoryName(script)!)})
            from analyze_blocks import xor_encode
            for line in sys.stdin:
                samples = [tuple(int(x) for x in p.split(':')) for p in line.split()]
                print(xor_encode(samples).hex(), xor_encode(samples, legacy=True).hex())
            """;
        var psi = new ProcessStartInfo("python3", ["-c", program]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(psi)!;
        // Read both outputs while writing the input: python answers line by line, so writing everything first
        // deadlocks once its output fills the pipe (64 KiB) and it stops reading ours.
        var stdoutTask = process.StandardOutput.ReadToEndAsync();
        var stderrTask = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(input.ToString());
        process.StandardInput.Close();
        var stdout = stdoutTask.GetAwaiter().GetResult();
        var stderr = stderrTask.GetAwaiter().GetResult();
        process.WaitForExit();
        process.ExitCode.Should().Be(0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(cases.Count);
        for (var i = 0; i < cases.Count; i++)
        {
            var chunk = Encode(cases[i]);
            var parts = lines[i].Split(' ');
            Convert.ToHexString(chunk.ToArray()).Should().BeEquivalentTo(parts[0]);
            Convert.ToHexString(chunk.ToArray(legacyTrailingByte: true)).Should().BeEquivalentTo(parts[1]);
        }
    }

    internal static XorChunk Encode(IReadOnlyList<(long T, ulong V)> samples)
    {
        var chunk = new XorChunk(4);
        foreach (var (t, v) in samples)
        {
            chunk.Append(t, v);
        }

        return chunk;
    }

    internal static List<(long T, ulong V)> Drain(XorIterator it)
    {
        var list = new List<(long, ulong)>();
        while (it.Next())
        {
            list.Add((it.Timestamp, it.ValueBits));
        }

        return list;
    }

    private static string Quote(string s) => "'" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    private static uint BitwiseCrc32C(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }

        return ~crc;
    }
}
