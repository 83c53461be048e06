using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tsdb.Blocks;
using Metrics.Coordination.Tsdb.Head;

namespace Metrics.Coordination.Tsdb.Ingestion;

/// <summary>A block written by <see cref="OpenMetricsImport"/>.</summary>
/// <param name="Ulid">The block's ULID (its directory name).</param>
/// <param name="MinTime">The first sample's timestamp (ms).</param>
/// <param name="MaxTime">One past the last sample's timestamp (ms): blocks are half-open.</param>
/// <param name="Samples">Samples in the block.</param>
/// <param name="Series">Series in the block.</param>
/// <param name="Chunks">Chunks in the block.</param>
public sealed record ImportedBlock(string Ulid, long MinTime, long MaxTime, long Samples, long Series, long Chunks);

/// <summary>
/// Backfills an OpenMetrics file into TSDB blocks as <c>promtool tsdb create-blocks-from openmetrics</c> (2.42)
/// does: every sample needs a timestamp; blocks cover aligned ranges of the block duration (2 h, or the largest of
/// Prometheus's ×3 block ranges not above the maximum given); each block spans its samples' times
/// (<c>maxTime</c> = last + 1); chunks are cut as a head with twice the block range cuts them.
/// </summary>
public static class OpenMetricsImport
{
    /// <summary>The default and minimum block duration: 2 h.</summary>
    public static readonly TimeSpan DefaultBlockDuration = TimeSpan.FromHours(2);

    // promtool commits its appender every 5000 samples to bound memory; the head here is per block, so this only
    // bounds the pending batch.
    private const int SamplesPerCommit = 5000;

    /// <summary>The block duration promtool uses for <c>--max-block-duration</c>: 2 h, or the largest of 2 h × 3^i (i &lt; 10) not above it.</summary>
    public static TimeSpan CompatibleBlockDuration(TimeSpan? maxBlockDuration)
    {
        var max = (long)(maxBlockDuration ?? TimeSpan.Zero).TotalMilliseconds;
        var block = (long)DefaultBlockDuration.TotalMilliseconds;
        if (max > block)
        {
            var ranges = new long[10];
            for (var i = 0; i < ranges.Length; i++)
            {
                ranges[i] = i == 0 ? block : ranges[i - 1] * 3;
            }

            var idx = ranges.Length - 1;
            for (var i = 0; i < ranges.Length; i++)
            {
                if (ranges[i] > max)
                {
                    idx = i - 1;
                    break;
                }
            }

            block = ranges[idx];
        }

        return TimeSpan.FromMilliseconds(block);
    }

    /// <summary>Writes the blocks for <paramref name="openMetrics"/> into <paramref name="outputDirectory"/> (created if missing).</summary>
    /// <exception cref="ExpositionParseException">The input is not valid OpenMetrics.</exception>
    /// <exception cref="StorageException">A sample has no timestamp, or is out of order or a conflicting duplicate within its series.</exception>
    public static IReadOnlyList<ImportedBlock> CreateBlocks(ReadOnlySpan<byte> openMetrics, string outputDirectory, TimeSpan? maxBlockDuration = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        var time = timeProvider ?? TimeProvider.System;
        var blockDuration = (long)CompatibleBlockDuration(maxBlockDuration).TotalMilliseconds;
        var (mint, maxt, any) = Bounds(openMetrics);
        var blocks = new List<ImportedBlock>();
        if (!any)
        {
            return blocks;
        }

        Directory.CreateDirectory(outputDirectory);
        mint = blockDuration * (mint / blockDuration); // Go's truncating division, as promtool
        var next = long.MaxValue;
        for (var t = mint; t <= maxt; t += blockDuration)
        {
            var upper = t + blockDuration;
            if (next != long.MaxValue && next >= upper)
            {
                continue;
            }

            next = long.MaxValue;
            var head = new Head.Head(new HeadOptions(2 * blockDuration));
            var appender = head.Appender();
            var pending = 0;
            var refs = new Dictionary<Labels, SeriesRef>();
            var reader = new ExpositionReader(openMetrics, ExpositionFormat.OpenMetrics);
            try
            {
                while (reader.Read())
                {
                    if (reader.Kind != ExpositionEntryKind.Sample)
                    {
                        continue;
                    }

                    var ts = reader.TimestampMs!.Value;
                    if (ts < t)
                    {
                        continue;
                    }

                    if (ts >= upper)
                    {
                        next = Math.Min(next, ts);
                        continue;
                    }

                    var labels = WithoutEmpty(reader.GetLabels().With(Labels.MetricName, reader.GetMetricName()));
                    refs.TryGetValue(labels, out var reference);
                    try
                    {
                        refs[labels] = appender.Append(new AppendRequest { Ref = reference, Labels = labels, TimestampMs = ts, Value = reader.Value });
                    }
                    catch (StorageException ex)
                    {
                        throw new StorageException($"add sample: {ex.Message} (line {reader.LineNumber})", ex);
                    }

                    if (++pending >= SamplesPerCommit)
                    {
                        appender.Commit();
                        appender = head.Appender();
                        pending = 0;
                    }
                }
            }
            finally
            {
                reader.Dispose();
            }

            appender.Commit();
            var series = BlockWriter.FromHead(head, t, upper - 1);
            if (series.Count == 0)
            {
                continue;
            }

            var meta = BlockWriter.Write(outputDirectory, series, head.MinTime, head.MaxTime + 1, time, new BlockWriterOptions());
            if (meta is not null)
            {
                blocks.Add(new ImportedBlock(meta.Ulid, meta.MinTime, meta.MaxTime, meta.NumSamples, meta.NumSeries, meta.NumChunks));
            }
        }

        return blocks;
    }

    private static (long Min, long Max, bool Any) Bounds(ReadOnlySpan<byte> input)
    {
        long min = long.MaxValue, max = long.MinValue;
        var any = false;
        var reader = new ExpositionReader(input, ExpositionFormat.OpenMetrics);
        try
        {
            while (reader.Read())
            {
                if (reader.Kind != ExpositionEntryKind.Sample)
                {
                    continue;
                }

                if (reader.TimestampMs is not { } ts)
                {
                    throw new StorageException($"expected timestamp for series {reader.GetLabels().With(Labels.MetricName, reader.GetMetricName())}, got none (line {reader.LineNumber})");
                }

                min = Math.Min(min, ts);
                max = Math.Max(max, ts);
                any = true;
            }
        }
        finally
        {
            reader.Dispose();
        }

        return (min, max, any);
    }

    private static Labels WithoutEmpty(Labels labels)
    {
        foreach (var l in labels.AsSpan())
        {
            if (l.Value.Length == 0)
            {
                return Labels.From([.. labels.Where(x => x.Value.Length > 0)]);
            }
        }

        return labels;
    }
}
