using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Metrics.Coordination.Tsdb.Ingestion;
using Metrics.Coordination.Tsdb.Scrape;

namespace Metrics.Coordination.Benchmarks.Tsdb;

/// <summary>
/// Chunk bytes per sample of the standard jittered workload (shared/workloads, ±5 ms) after scrape-timestamp snapping,
/// per tolerance. Run as
/// <c>dotnet …/Metrics.Coordination.Benchmarks.dll snapping-bytes schedule.om jitter.om outdir 0,2,5,10</c>
/// with two files from <c>gen_openmetrics.py</c>: the standard jittered one (defaults) and its schedule
/// (<c>--jitter-sigma 0</c>: the same target phases, jitter always 0; <c>--jitter-ms 0</c> would not do, it draws
/// other phases).
/// </summary>
/// <remarks>
/// The two files have the same lines and differ only in timestamps, so line by line the schedule file's timestamp is
/// the target's scheduled time and the jittered one the time the scrape "ran". Each series' timestamps go through the scrape
/// loop's own <see cref="ScrapeTimestampSnapper"/> (one per series, fed in time order, as one loop per target does),
/// the rewritten file through <see cref="OpenMetricsImport.CreateBlocks"/> (the head's chunk cutting and XOR encoder,
/// then the block writer, as for the 2.909 / 4.606 figures), and the chunk files' sizes are divided by the samples.
/// For comparison, tolerance entries prefixed with <c>p</c> (e.g. <c>p2</c>) use a model of Prometheus 2.42's own
/// alignment instead (grid anchored at the first scrape, only scrapes 0 to tolerance late snap).
/// </remarks>
internal static class SnappingBytesMeasurement
{
    public static int Run(string[] args)
    {
        if (args.Length != 4)
        {
            Console.Error.WriteLine("usage: snapping-bytes <schedule.om> <jitter.om> <output dir> <tolerances ms, e.g. 0,2,5,10,p2,p10>");
            return 2;
        }

        var schedule = File.ReadAllBytes(args[0]);
        var jittered = File.ReadAllBytes(args[1]);
        foreach (var entry in args[3].Split(','))
        {
            var prometheusModel = entry.StartsWith('p');
            var tolerance = long.Parse(prometheusModel ? entry[1..] : entry, CultureInfo.InvariantCulture);
            var (text, samples, snapped, maxMove) = Rewrite(schedule, jittered, tolerance, prometheusModel);
            var dir = Path.Combine(args[2], (prometheusModel ? "prometheus-model-" : "snap-") + tolerance.ToString(CultureInfo.InvariantCulture) + "ms");
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }

            var blocks = OpenMetricsImport.CreateBlocks(text, dir);
            long chunkBytes = 0, indexBytes = 0, blockSamples = 0, chunks = 0;
            foreach (var b in blocks)
            {
                var blockDir = Path.Combine(dir, b.Ulid);
                chunkBytes += Directory.GetFiles(Path.Combine(blockDir, "chunks")).Sum(f => new FileInfo(f).Length);
                indexBytes += new FileInfo(Path.Combine(blockDir, "index")).Length;
                blockSamples += b.Samples;
                chunks += b.Chunks;
            }

            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{(prometheusModel ? "prometheus-2.42-model" : "snapper")} tolerance={tolerance}ms samples={samples} inBlocks={blockSamples} chunks={chunks} snapped={snapped / (double)samples:P1} maxMoveMs={maxMove} chunkBytes/sample={chunkBytes / (double)blockSamples:F3} index/sample={indexBytes / (double)blockSamples:F3}"));
        }

        return 0;
    }

    /// <summary>The jittered file with each sample's timestamp snapped; also the sample count, how many moved and the largest move.</summary>
    private static (byte[] Text, long Samples, long Snapped, long MaxMove) Rewrite(byte[] schedule, byte[] jittered, long tolerance, bool prometheusModel)
    {
        var output = new MemoryStream(jittered.Length + (jittered.Length / 50));
        var snappers = new Dictionary<string, ScrapeTimestampSnapper>(StringComparer.Ordinal);
        var grids = new Dictionary<string, (long Aligned, bool Started)>(StringComparer.Ordinal);
        long samples = 0, snapped = 0, maxMove = 0;
        int a = 0, b = 0;
        Span<byte> scratch = stackalloc byte[32];
        while (b < jittered.Length)
        {
            var aEnd = Array.IndexOf(schedule, (byte)'\n', a);
            var bEnd = Array.IndexOf(jittered, (byte)'\n', b);
            var line = jittered.AsSpan(b, bEnd - b);
            if (line.Length == 0 || line[0] == (byte)'#')
            {
                output.Write(jittered, b, bEnd + 1 - b);
            }
            else
            {
                var lineA = schedule.AsSpan(a, aEnd - a);
                var tsStart = line.LastIndexOf((byte)' ') + 1;
                var valueStart = line[..(tsStart - 1)].LastIndexOf((byte)' ');
                var key = Encoding.UTF8.GetString(line[..valueStart]);
                var actual = Milliseconds(line[tsStart..]);
                var scheduled = Milliseconds(lineA[(lineA.LastIndexOf((byte)' ') + 1)..]);
                long result;
                if (prometheusModel)
                {
                    // Prometheus 2.42 scrape loop: aligned starts at the first scrape's time, advances by whole intervals
                    // while the scrape is an interval or more past it; a scrape at most the tolerance past it snaps.
                    const long interval = 15_000;
                    var (aligned, started) = grids.GetValueOrDefault(key);
                    if (!started)
                    {
                        aligned = actual;
                    }

                    while (actual - aligned >= interval)
                    {
                        aligned += interval;
                    }

                    result = actual - aligned <= tolerance ? aligned : actual;
                    grids[key] = (aligned, true);
                }
                else
                {
                    if (!snappers.TryGetValue(key, out var snapper))
                    {
                        snapper = new ScrapeTimestampSnapper(tolerance);
                    }

                    result = snapper.Snap(actual, scheduled);
                    snappers[key] = snapper;
                }

                samples++;
                if (result != actual)
                {
                    snapped++;
                    maxMove = Math.Max(maxMove, Math.Abs(result - actual));
                }

                output.Write(line[..tsStart]);
                output.Write(scratch[..SecondsText(result, scratch)]);
                output.WriteByte((byte)'\n');
            }

            a = aEnd + 1;
            b = bEnd + 1;
        }

        return (output.ToArray(), samples, snapped, maxMove);
    }

    /// <summary>"1699999200.107" (optionally with more digits, as the generator writes) → 1699999200107.</summary>
    private static long Milliseconds(ReadOnlySpan<byte> text)
    {
        var dot = text.IndexOf((byte)'.');
        if (!Utf8Parser.TryParse(text[..dot], out long seconds, out _) || !Utf8Parser.TryParse(text.Slice(dot + 1, 3), out int ms, out _))
        {
            throw new InvalidDataException("unexpected timestamp " + Encoding.ASCII.GetString(text));
        }

        return (seconds * 1000) + ms;
    }

    /// <summary>Seconds text that converts back to exactly <paramref name="ms"/> (the generator's trick: "01" appended when the double falls a hair short).</summary>
    private static int SecondsText(long ms, Span<byte> into)
    {
        var s = string.Create(CultureInfo.InvariantCulture, $"{ms / 1000}.{ms % 1000:D3}");
        if ((long)(double.Parse(s, CultureInfo.InvariantCulture) * 1000) != ms)
        {
            s += "01";
        }

        return Encoding.ASCII.GetBytes(s, into);
    }
}
