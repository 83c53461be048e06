using System.Diagnostics;
using FsCheck;
using FsCheck.Fluent;

namespace Metrics.Coordination.RemoteWrite.Tests.Snappy;

public class SnappyCodecTests
{
    private const int MiB = 1 << 20;

    private static Gen<int> Size() => Gen.Frequency(
        (3, Gen.Choose(0, 100)),
        (3, Gen.Choose(0, 70_000)),
        (1, Gen.Choose(0, MiB)),
        (1, Gen.Elements(0, 1, 14, 15, 16, 65_535, 65_536, 65_537, 131_072, MiB)));

    private static Gen<(DataKind Kind, int Size, int Seed)> Inputs() =>
        from kind in Gen.Elements(Enum.GetValues<DataKind>())
        from size in Size()
        from seed in Gen.Choose(0, int.MaxValue)
        select (kind, size, seed);

    [Test]
    public void Compress_AnyInput_RoundTripsAndStaysWithinBound()
    {
        var property = Prop.ForAll(Inputs().ToArbitrary(), input =>
        {
            var data = SnappyTestData.Make(input.Kind, input.Size, input.Seed);
            var compressed = new byte[SnappyCodec.GetMaxCompressedLength(data.Length)];
            var n = SnappyCodec.Compress(data, compressed);
            SnappyCodec.GetUncompressedLength(compressed.AsSpan(0, n)).Should().Be(data.Length);
            var output = new byte[data.Length];
            SnappyCodec.Decompress(compressed.AsSpan(0, n), output).Should().Be(data.Length);
            output.AsSpan().SequenceEqual(data).Should().BeTrue($"{input} must round-trip");
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(150), property);
    }

    [TestCase(DataKind.Repetitive, 0.2)]
    [TestCase(DataKind.Zeros, 0.06)]
    [TestCase(DataKind.Text, 0.8)]
    public void Compress_CompressibleData_Shrinks(DataKind kind, double maxRatio)
    {
        var data = SnappyTestData.Make(kind, MiB, 3);
        SnappyCodec.Compress(data).Length.Should().BeLessThan((int)(data.Length * maxRatio));
    }

    [Test]
    public void Compress_RandomData_GrowsLessThanTheBound()
    {
        var data = SnappyTestData.Make(DataKind.Random, MiB, 4);
        SnappyCodec.Compress(data).Length.Should().BeLessThan(data.Length + (data.Length / 1000) + 16);
    }

    [Test]
    public void Compress_DestinationTooSmall_Throws()
    {
        var act = () => SnappyCodec.Compress(new byte[100], new byte[100]);
        act.Should().Throw<ArgumentException>().WithMessage("*needs up to 148*");
    }

    [Test]
    public void Decompress_KnownElements_DecodesEachForm()
    {
        // 11 bytes: literal "abcd" (tag 0x0C), copy-1 len 4 off 4 (tag 0x01, 0x04), copy-2 len 2 off 1 (tag 0x06, 01 00),
        // then a literal "x" with a 1-byte length (tag 60<<2, len-1 = 0).
        byte[] block = [11, 0x0C, (byte)'a', (byte)'b', (byte)'c', (byte)'d', 0x01, 0x04, 0x06, 0x01, 0x00, 0xF0, 0x00, (byte)'x'];
        System.Text.Encoding.ASCII.GetString(SnappyCodec.Decompress(block)).Should().Be("abcdabcddd" + "x");

        // copy-4: len 3 off 2 after "ab": "ab" + "aba".
        byte[] four = [5, 0x04, (byte)'a', (byte)'b', 0x0B, 0x02, 0x00, 0x00, 0x00];
        System.Text.Encoding.ASCII.GetString(SnappyCodec.Decompress(four)).Should().Be("ababa");
        SnappyCodec.Decompress([0]).Should().BeEmpty();
    }

    private static IEnumerable<TestCaseData> Malformed()
    {
        yield return new TestCaseData(Array.Empty<byte>(), SnappyError.BadPreamble, 0L).SetName("Decompress_EmptyInput_BadPreamble");
        yield return new TestCaseData(new byte[] { 0x80, 0x80 }, SnappyError.BadPreamble, 2L).SetName("Decompress_CutVarint_BadPreamble");
        yield return new TestCaseData(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 }, SnappyError.BadPreamble, 4L).SetName("Decompress_SixByteVarint_BadPreamble");
        yield return new TestCaseData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F }, SnappyError.BadPreamble, 0L).SetName("Decompress_LengthOver2GiB_BadPreamble");
        yield return new TestCaseData(new byte[] { 4, 0x0C, 1, 2 }, SnappyError.Truncated, 1L).SetName("Decompress_TruncatedLiteral_Truncated");
        yield return new TestCaseData(new byte[] { 4, 0xF4, 3 }, SnappyError.Truncated, 1L).SetName("Decompress_TruncatedLiteralLength_Truncated");
        yield return new TestCaseData(new byte[] { 8, 0x0C, 1, 2, 3, 4, 0x01 }, SnappyError.Truncated, 6L).SetName("Decompress_TruncatedCopy1_Truncated");
        yield return new TestCaseData(new byte[] { 8, 0x0C, 1, 2, 3, 4, 0x0E, 4 }, SnappyError.Truncated, 6L).SetName("Decompress_TruncatedCopy2_Truncated");
        yield return new TestCaseData(new byte[] { 8, 0x0C, 1, 2, 3, 4, 0x0F, 4, 0, 0 }, SnappyError.Truncated, 6L).SetName("Decompress_TruncatedCopy4_Truncated");
        yield return new TestCaseData(new byte[] { 8, 0x0C, 1, 2, 3, 4, 0x01, 0x00 }, SnappyError.BadOffset, 6L).SetName("Decompress_CopyOffsetZero_BadOffset");
        yield return new TestCaseData(new byte[] { 8, 0x0C, 1, 2, 3, 4, 0x01, 0x05 }, SnappyError.BadOffset, 6L).SetName("Decompress_CopyBeyondOutput_BadOffset");
        yield return new TestCaseData(new byte[] { 4, 0x01, 0x01 }, SnappyError.BadOffset, 1L).SetName("Decompress_CopyFirst_BadOffset");
        yield return new TestCaseData(new byte[] { 6, 0x0C, 1, 2, 3, 4, 0x01, 0x04 }, SnappyError.OutputOverrun, 6L).SetName("Decompress_CopyPastDeclaredLength_OutputOverrun");
        yield return new TestCaseData(new byte[] { 2, 0x0C, 1, 2, 3, 4 }, SnappyError.OutputOverrun, 1L).SetName("Decompress_LiteralPastDeclaredLength_OutputOverrun");
        yield return new TestCaseData(new byte[] { 9, 0x0C, 1, 2, 3, 4, 0x01, 0x04 }, SnappyError.LengthMismatch, 8L).SetName("Decompress_ShortOutput_LengthMismatch");
    }

    [TestCaseSource(nameof(Malformed))]
    public void Decompress_Malformed_ThrowsSpecificError(byte[] input, SnappyError error, long offset)
    {
        var act = () => SnappyCodec.Decompress(input);
        var ex = act.Should().Throw<SnappyFormatException>().Which;
        ex.Error.Should().Be(error);
        ex.Offset.Should().Be(offset);
        ex.Message.Should().Contain($"offset {offset}");
        ex.IsTransient.Should().BeFalse();
    }

    [Test]
    public void Decompress_EveryTruncationOfValidData_ThrowsNeverOverReads()
    {
        var data = SnappyTestData.Make(DataKind.Mixed, 20_000, 9);
        var compressed = SnappyCodec.Compress(data);
        var output = new byte[data.Length];
        for (var cut = 0; cut < compressed.Length; cut++)
        {
            // A slice of a larger array: reading past the slice would see the rest of the block and "succeed".
            var act = () => SnappyCodec.Decompress(compressed.AsSpan(0, cut), output);
            act.Should().Throw<SnappyFormatException>();
        }
    }

    [Test]
    public void Decompress_RandomCorruptions_ThrowFormatErrorsOrDecode()
    {
        var data = SnappyTestData.Make(DataKind.Mixed, 30_000, 10);
        var compressed = SnappyCodec.Compress(data);
        var random = new Random(12);
        var output = new byte[1 << 20];
        for (var i = 0; i < 3000; i++)
        {
            var bad = (byte[])compressed.Clone();
            for (var k = random.Next(1, 4); k > 0; k--)
            {
                bad[random.Next(bad.Length)] = (byte)random.Next(256);
            }

            try
            {
                SnappyCodec.Decompress(bad, output);
            }
            catch (SnappyFormatException)
            {
            }
            catch (ArgumentException)
            {
                // The corrupted preamble declares more than the output holds.
            }
        }
    }

    [Test]
    [Category("Integration")]
    public void PythonSnappy_BothDirections_Agree()
    {
        using var dir = new Metrics.Coordination.Testing.TempDirectory("snappy");
        var inputs = new List<byte[]>();
        var kinds = Enum.GetValues<DataKind>();
        int[] sizes = [0, 1, 15, 100, 4096, 65_536, 65_537, 300_000, MiB];
        var i = 0;
        foreach (var kind in kinds)
        {
            foreach (var size in sizes)
            {
                var data = SnappyTestData.Make(kind, size, i);
                inputs.Add(data);
                File.WriteAllBytes(dir.Combine($"{i}.raw"), data);
                File.WriteAllBytes(dir.Combine($"{i}.ours"), SnappyCodec.Compress(data));
                i++;
            }
        }

        // Python compresses every raw file (independent encoder) and decompresses every file we compressed.
        const string script = """
            import snappy, sys, os
            d = sys.argv[1]
            n = int(sys.argv[2])
            for i in range(n):
                raw = open(os.path.join(d, f"{i}.raw"), "rb").read()
                open(os.path.join(d, f"{i}.py"), "wb").write(snappy.compress(raw))
                ours = open(os.path.join(d, f"{i}.ours"), "rb").read()
                open(os.path.join(d, f"{i}.back"), "wb").write(snappy.decompress(ours))
            print("ok", n)
            """;
        File.WriteAllText(dir.Combine("run.py"), script);
        RunPython(dir.Combine("run.py"), dir.Path, inputs.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));

        for (var k = 0; k < inputs.Count; k++)
        {
            var fromPython = File.ReadAllBytes(dir.Combine($"{k}.py"));
            SnappyCodec.Decompress(fromPython).Should().Equal(inputs[k], $"python-snappy's block {k} must decode");
            File.ReadAllBytes(dir.Combine($"{k}.back")).Should().Equal(inputs[k], $"python-snappy must decode our block {k}");
        }
    }

    private static void RunPython(params string[] args)
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python))
        {
            Assert.Fail("python3 is missing: install python3 and python3-snappy (apt-get install -y python3-snappy; ./test.sh does)");
        }

        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit(120_000).Should().BeTrue("python must finish");
        if (process.ExitCode != 0)
        {
            var err = stderr.Result;
            Assert.Fail(err.Contains("No module named 'snappy'", StringComparison.Ordinal)
                ? "python3-snappy is missing: apt-get install -y python3-snappy (./test.sh does)\n" + err
                : $"python exited with {process.ExitCode}: {stdout.Result}\n{err}");
        }
    }
}
