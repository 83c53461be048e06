using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Tsdb.Tests;

/// <summary>Fast exact comparison of sample sets (FluentAssertions' structural equivalence is far too slow for 100 k tuples).</summary>
internal static class SampleAssertions
{
    public static void ShouldEqualSamples(this Dictionary<Labels, List<(long T, ulong V)>> actual, Dictionary<Labels, List<(long T, ulong V)>> expected, string because = "")
    {
        var missing = expected.Keys.Where(k => !actual.ContainsKey(k)).Take(5).ToList();
        var extra = actual.Keys.Where(k => !expected.ContainsKey(k)).Take(5).ToList();
        missing.Should().BeEmpty($"series are missing {because}");
        extra.Should().BeEmpty($"no unexpected series {because}");
        foreach (var (labels, samples) in expected)
        {
            var got = actual[labels];
            if (got.SequenceEqual(samples))
            {
                continue;
            }

            var i = 0;
            while (i < got.Count && i < samples.Count && got[i] == samples[i])
            {
                i++;
            }

            throw new AssertionException($"{labels}: samples differ at index {i} of {samples.Count} expected / {got.Count} read " +
                $"(expected {(i < samples.Count ? samples[i].ToString() : "end")}, read {(i < got.Count ? got[i].ToString() : "end")}) {because}");
        }
    }
}
