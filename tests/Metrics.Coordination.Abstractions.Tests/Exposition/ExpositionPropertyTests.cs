using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Abstractions.Tests.Exposition;

/// <summary>FsCheck properties: writer/parser round trips, and malformed input only ever failing with a parse error.</summary>
[TestFixture]
public sealed class ExpositionPropertyTests
{
    [TestCase(ExpositionFormat.PrometheusText)]
    [TestCase(ExpositionFormat.OpenMetrics)]
    public void WriteThenParse_RandomValidFamilies_GivesTheSameFamilies(ExpositionFormat format)
    {
        var property = Prop.ForAll(ExpositionGenerators.Exposition(format).ToArbitrary(), (GeneratedExposition g) =>
        {
            var parsed = ExpositionParser.Parse(g.Text, format);

            FamilyAssertions.ShouldEqual(parsed, g.Families, g.ToString());
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(400), property);
    }

    [TestCase(ExpositionFormat.PrometheusText)]
    [TestCase(ExpositionFormat.OpenMetrics)]
    public void WriteThenRead_RandomValidFamiliesInRandomSegments_GivesTheSameFamilies(ExpositionFormat format)
    {
        var property = Prop.ForAll(ExpositionGenerators.Exposition(format).ToArbitrary(), Gen.Choose(1, 16).ToArbitrary(), (GeneratedExposition g, int segment) =>
        {
            var parsed = ExpositionParser.Parse(TestSequences.Split(g.Text, segment), format);

            FamilyAssertions.ShouldEqual(parsed, g.Families, g.ToString());
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), property);
    }

    [Test]
    public void Parse_RandomBytes_OnlyEverThrowsParseException()
    {
        var property = Prop.ForAll(Garbage().ToArbitrary(), Gen.Choose(1, 8).ToArbitrary(), (byte[] data, int segment) => ParsesOrFailsCleanly(data, segment));

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(3000), property);
    }

    [TestCase(ExpositionFormat.PrometheusText)]
    [TestCase(ExpositionFormat.OpenMetrics)]
    public void Parse_MutatedValidExposition_OnlyEverThrowsParseException(ExpositionFormat format)
    {
        var mutated =
            from g in ExpositionGenerators.Exposition(format)
            from extra in Gen.Elements(string.Empty, ExpositionSamples.OpenMetrics)
            from mutations in Mutation().ArrayOf().Select(m => m.Take(6).ToArray())
            select Mutate(Encoding.UTF8.GetBytes(g.Text + (format == ExpositionFormat.OpenMetrics ? string.Empty : extra)), mutations);
        var property = Prop.ForAll(mutated.ToArbitrary(), Gen.Choose(1, 8).ToArbitrary(), (byte[] data, int segment) => ParsesOrFailsCleanly(data, segment));

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1500), property);
    }

    [Test]
    public void Parse_MutatedSampleWithTightLimits_OnlyEverThrowsParseException()
    {
        var options = new ExpositionParserOptions { MaxLineLength = 60, MaxLabelsPerSample = 2, MaxLabelNameLength = 4, MaxLabelValueLength = 5, MaxSamples = 20 };
        var mutated = Mutation().ArrayOf().Select(m => Mutate(Encoding.UTF8.GetBytes(ExpositionSamples.OpenMetrics), [.. m.Take(3)]));
        var property = Prop.ForAll(mutated.ToArbitrary(), (byte[] data) => ParsesOrFailsCleanly(data, 5, options));

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), property);
    }

    /// <summary>
    /// Parses in both formats from a span, from a segmented sequence and with the bare reader; any exception other
    /// than <see cref="ExpositionParseException"/> escapes and fails the property. The span and sequence paths must
    /// agree exactly: the same families, or an error at the same position.
    /// </summary>
    private static void ParsesOrFailsCleanly(byte[] data, int segment, ExpositionParserOptions? options = null)
    {
        var lines = 1 + data.Count(b => b == (byte)'\n');
        foreach (var format in new[] { ExpositionFormat.PrometheusText, ExpositionFormat.OpenMetrics })
        {
            var fromSpan = Outcome(() => ExpositionParser.Parse(data.AsSpan(), format, options));
            var fromSequence = Outcome(() => ExpositionParser.Parse(TestSequences.Split(data, segment), format, options));
            if (fromSpan.Error is { } e)
            {
                e.Line.Should().BeInRange(1, lines + 1);
                e.Column.Should().BeGreaterThanOrEqualTo(1);
                fromSequence.Error.Should().NotBeNull();
                (fromSequence.Error!.Line, fromSequence.Error.Column, fromSequence.Error.Reason).Should().Be((e.Line, e.Column, e.Reason));
            }
            else
            {
                fromSequence.Error.Should().BeNull();
                FamilyAssertions.ShouldEqual(fromSequence.Families!, fromSpan.Families!);
            }

            ReadEverything(data, format, options);
        }
    }

    private static (IReadOnlyList<MetricFamily>? Families, ExpositionParseException? Error) Outcome(Func<IReadOnlyList<MetricFamily>> parse)
    {
        try
        {
            return (parse(), null);
        }
        catch (ExpositionParseException e)
        {
            return (null, e);
        }
    }

    private static void ReadEverything(byte[] data, ExpositionFormat format, ExpositionParserOptions? options)
    {
        var reader = new ExpositionReader(data, format, options);
        try
        {
            while (reader.Read())
            {
                _ = reader.MetricNameUtf8.Length + reader.TextUtf8.Length + reader.FamilyNameUtf8.Length + reader.FamilyName.Length;
                for (var i = 0; i < reader.LabelCount; i++)
                {
                    _ = reader.GetLabelNameUtf8(i).Length + reader.GetLabelValueUtf8(i).Length;
                }

                _ = reader.GetLabels();
                _ = reader.GetExemplar();
            }
        }
        catch (ExpositionParseException)
        {
        }
        finally
        {
            reader.Dispose();
        }
    }

    private static Gen<byte[]> Garbage()
    {
        // Mostly bytes the grammar cares about, so the garbage gets past the first token often enough.
        var interesting = "abcxyz_:{}\"\\=,# \t\n\r.-+0123456789eEInfNa"u8.ToArray().Concat(new byte[] { 0, 0x7F, 0x80, 0xC3, 0xA9, 0xF0, 0x9F, 0x99, 0x82, 0xFF }).ToArray();
        var words = new[] { "# TYPE ", "# HELP ", "# UNIT ", "# EOF", "counter", "histogram", "_bucket", "_total", "le=\"", "+Inf", "NaN", "quantile=\"", " # {", "\n" }
            .Select(Encoding.UTF8.GetBytes).ToArray();
        var piece = Gen.Frequency(
            (6, Gen.Elements(interesting).Select(b => new[] { b })),
            (2, Gen.Choose(0, 255).Select(b => new[] { (byte)b })),
            (2, Gen.Elements(words)));
        return piece.ArrayOf().Select(p => p.SelectMany(x => x).ToArray());
    }

    private sealed record MutationStep(int Kind, int Position, int Length, byte Byte);

    private static Gen<MutationStep> Mutation() =>
        from kind in Gen.Choose(0, 5)
        from position in Gen.Choose(0, 1 << 20)
        from length in Gen.Choose(1, 40)
        from b in Gen.Elements("{}\"\\=,# \n\r.-+0eI"u8.ToArray().Concat(new byte[] { 0xFF, 0xC3, 0 }).ToArray())
        select new MutationStep(kind, position, length, b);

    private static byte[] Mutate(byte[] data, MutationStep[] steps)
    {
        var bytes = data.ToList();
        foreach (var step in steps)
        {
            if (bytes.Count == 0)
            {
                bytes.Add(step.Byte);
                continue;
            }

            var at = step.Position % bytes.Count;
            var length = Math.Min(step.Length, bytes.Count - at);
            switch (step.Kind)
            {
                case 0: bytes.RemoveAt(at); break;
                case 1: bytes.Insert(at, step.Byte); break;
                case 2: bytes[at] = step.Byte; break;
                case 3: bytes.InsertRange(at, bytes.GetRange(at, length)); break; // duplicate a range (repeats lines, labels)
                case 4: bytes.RemoveRange(at, length); break;
                default: bytes.RemoveRange(at, bytes.Count - at); break; // truncate
            }
        }

        return [.. bytes];
    }
}
