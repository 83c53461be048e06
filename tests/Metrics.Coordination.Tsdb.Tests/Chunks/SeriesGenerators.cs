using FsCheck;
using FsCheck.Fluent;

namespace Metrics.Coordination.Tsdb.Tests.Chunks;

/// <summary>FsCheck generators for chunk contents: timestamps with every dod bucket, values with every awkward bit pattern.</summary>
internal static class SeriesGenerators
{
    public const ulong StaleNaN = 0x7FF0000000000002UL;

    /// <summary>Values by bits: the ones that break naive float code, mixed with realistic counters and gauges.</summary>
    public static Gen<ulong> ValueBits() => Gen.Frequency(
        (3, Gen.Elements(
            StaleNaN,
            0x7FF8000000000001UL, // Prometheus's ordinary NaN
            0xFFF8000000000000UL, // .NET's double.NaN
            0x7FF0000000000001UL,
            0xFFFFFFFFFFFFFFFFUL,
            0x7FF0000000000000UL, // +Inf
            0xFFF0000000000000UL, // -Inf
            0x8000000000000000UL, // -0.0
            0UL,
            1UL, // smallest subnormal
            BitConverter.DoubleToUInt64Bits(double.MaxValue),
            BitConverter.DoubleToUInt64Bits(double.Epsilon))),
        (2, from payload in Gen.Choose(1, int.MaxValue) from sign in Gen.Elements(0UL, 0x8000000000000000UL) select sign | 0x7FF0000000000000UL | (uint)payload),
        (4, Gen.Choose(0, 1_000_000).Select(i => BitConverter.DoubleToUInt64Bits(i))),
        (4, Gen.Choose(-100_000, 100_000).Select(i => BitConverter.DoubleToUInt64Bits(i / 100.0))),
        (2, from hi in Gen.Choose(int.MinValue, int.MaxValue) from lo in Gen.Choose(int.MinValue, int.MaxValue) select ((ulong)(uint)hi << 32) | (uint)lo));

    /// <summary>A timestamp step: regular, jittered, every dod bucket edge, huge and negative gaps.</summary>
    public static Gen<long> Step() => Gen.Frequency(
        (6, Gen.Constant(15_000L)),
        (4, Gen.Choose(-5, 5).Select(j => 15_000L + j)),
        (2, Gen.Elements(0L, 1L, -1L, 8192L, 8193L, -8191L, -8192L, 65536L, 65537L, -65535L, -65536L, 524288L, 524289L, -524287L, -524288L)),
        (2, Gen.Choose(-10_000_000, 10_000_000).Select(i => (long)i)),
        (1, Gen.Choose(int.MinValue, int.MaxValue).Select(i => (long)i * 1_000_000L)));

    public static Gen<(long T, ulong V)[]> Series(int maxLength = 300) =>
        from length in Gen.Frequency((1, Gen.Choose(0, 3)), (4, Gen.Choose(1, maxLength)))
        from start in Gen.Frequency(
            (3, Gen.Constant(1_699_999_200_000L)),
            (1, Gen.Choose(int.MinValue, int.MaxValue).Select(i => (long)i * 4_000_000L)),
            (1, Gen.Elements(0L, -1L, 1L, long.MaxValue / 4, long.MinValue / 4)))
        from steps in Step().ArrayOf(length)
        from values in Gen.Frequency(
            (1, ValueBits().ArrayOf(length)),
            (2, RepeatingValues(length)))
        select Build(start, steps, values);

    private static Gen<ulong[]> RepeatingValues(int length) =>
        // Runs of equal values (x = 0) and slowly moving ones, as real counters and gauges produce.
        from seed in ValueBits()
        from moves in Gen.Frequency((3, Gen.Constant(0UL)), (2, ValueBits())).ArrayOf(length)
        select Runs(seed, moves);

    private static ulong[] Runs(ulong seed, ulong[] moves)
    {
        var values = new ulong[moves.Length];
        var current = seed;
        for (var i = 0; i < moves.Length; i++)
        {
            if (moves[i] != 0)
            {
                current = moves[i];
            }

            values[i] = current;
        }

        return values;
    }

    private static (long T, ulong V)[] Build(long start, long[] steps, ulong[] values)
    {
        var samples = new (long, ulong)[steps.Length];
        var t = start;
        for (var i = 0; i < steps.Length; i++)
        {
            samples[i] = (t, values[i]);
            t += steps[i];
        }

        return samples;
    }
}
