using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tsdb.Blocks;
using Metrics.Coordination.Tsdb.Head;

namespace Metrics.Coordination.Tsdb.Tests.Blocks;

/// <summary>How blocks are written from a finished sample set.</summary>
internal enum BackfillStyle
{
    /// <summary>Our defaults: legacy index sections, no stray chunk byte.</summary>
    Modern,

    /// <summary>Exactly what promtool 2.42 writes: legacy index sections and the pre-3.0 stray chunk byte.</summary>
    Promtool242,
}

/// <summary>
/// Writes blocks from a complete sample set the way promtool's <c>create-blocks-from</c> does: one head per 2 h range
/// with a chunk range of twice the block range, block [first sample, last sample + 1).
/// </summary>
internal static class Backfill
{
    public const long BlockRange = 7_200_000;

    public static int Write(OpenMetricsWorkload workload, string directory, BackfillStyle style)
    {
        Directory.CreateDirectory(directory);
        var options = new BlockWriterOptions(LegacyIndexSections: true, LegacyTrailingByte: style == BackfillStyle.Promtool242);
        var byRange = workload.Samples
            .SelectMany(kv => kv.Value.Select(s => (Range: s.T / BlockRange, Labels: kv.Key, s.T, s.V)))
            .GroupBy(x => x.Range)
            .OrderBy(g => g.Key);
        var blocks = 0;
        foreach (var range in byRange)
        {
            var head = new Tsdb.Head.Head(new HeadOptions(2 * BlockRange));
            foreach (var series in range.GroupBy(x => x.Labels))
            {
                var app = head.Appender();
                foreach (var (_, labels, t, v) in series.OrderBy(x => x.T))
                {
                    app.Append(new AppendRequest { Labels = labels, TimestampMs = t, Value = BitConverter.UInt64BitsToDouble(v) });
                }

                app.Commit();
            }

            var series2 = BlockWriter.FromHead(head, long.MinValue, long.MaxValue);
            var meta = BlockWriter.Write(directory, series2, head.MinTime, head.MaxTime + 1, TimeProvider.System, options);
            blocks += meta is null ? 0 : 1;
        }

        return blocks;
    }
}
