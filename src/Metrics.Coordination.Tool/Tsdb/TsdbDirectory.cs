using System.Globalization;
using System.Text.Json;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tool.Cli;
using Metrics.Coordination.Tsdb;

namespace Metrics.Coordination.Tool.Tsdb;

/// <summary>A block as its <c>meta.json</c> describes it, plus its size on disk (all its files, as promtool counts).</summary>
internal sealed record BlockSummary(string Ulid, long MinTime, long MaxTime, long NumSamples, long NumChunks, long NumSeries, long SizeBytes, long ChunkBytes);

/// <summary>Reading a TSDB directory for the <c>mctl tsdb</c> verbs.</summary>
internal static class TsdbDirectory
{
    /// <summary>Checks that <paramref name="dir"/> exists; prints an error and returns false otherwise.</summary>
    public static bool Exists(CommandContext context, string dir)
    {
        if (System.IO.Directory.Exists(dir))
        {
            return true;
        }

        context.Console.Error.WriteLine($"{context.CommandPath}: error: no such directory '{dir}'");
        return false;
    }

    /// <summary>
    /// The blocks of <paramref name="dir"/>, by min time then ULID, read from their <c>meta.json</c> files only
    /// (nothing is opened for writing). Blocks whose meta.json is unreadable are reported in <paramref name="problems"/>.
    /// </summary>
    public static List<BlockSummary> ReadBlocks(string dir, List<string> problems)
    {
        var blocks = new List<BlockSummary>();
        foreach (var blockDir in System.IO.Directory.EnumerateDirectories(dir))
        {
            var metaPath = Path.Combine(blockDir, "meta.json");
            if (!File.Exists(metaPath))
            {
                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(metaPath));
                var root = doc.RootElement;
                var stats = root.TryGetProperty("stats", out var s) ? s : default;
                long Stat(string name) => stats.ValueKind == JsonValueKind.Object && stats.TryGetProperty(name, out var v) ? v.GetInt64() : 0;
                var files = new DirectoryInfo(blockDir).EnumerateFiles("*", SearchOption.AllDirectories).ToList();
                var chunksDir = Path.Combine(blockDir, "chunks");
                blocks.Add(new BlockSummary(
                    root.GetProperty("ulid").GetString() ?? Path.GetFileName(blockDir),
                    root.GetProperty("minTime").GetInt64(),
                    root.GetProperty("maxTime").GetInt64(),
                    Stat("numSamples"),
                    Stat("numChunks"),
                    Stat("numSeries"),
                    files.Sum(f => f.Length),
                    System.IO.Directory.Exists(chunksDir) ? new DirectoryInfo(chunksDir).EnumerateFiles().Sum(f => f.Length) : 0));
            }
            catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                problems.Add($"{metaPath}: {e.Message}");
            }
        }

        blocks.Sort((a, b) => a.MinTime != b.MinTime ? a.MinTime.CompareTo(b.MinTime) : string.CompareOrdinal(a.Ulid, b.Ulid));
        return blocks;
    }

    /// <summary>
    /// Opens the database read-only (<see cref="TimeSeriesDatabase.OpenReadOnly"/>): no lock, nothing written, so it is
    /// safe on the directory of a running service; the blocks are read and the WAL replayed into an in-memory head (head
    /// samples are included, as promtool includes them). What the open worked around (a torn WAL tail, an unreadable
    /// block, a block compacted away meanwhile) is printed to stderr as a warning.
    /// </summary>
    public static TimeSeriesDatabase Open(CommandContext context, string dir)
    {
        var db = TimeSeriesDatabase.OpenReadOnly(new TsdbOptions { Directory = dir });
        foreach (var warning in db.OpenWarnings)
        {
            context.Console.Error.WriteLine($"{context.CommandPath}: warning: {warning}");
        }

        return db;
    }

    /// <summary>The exit code after reading <paramref name="db"/>: failure when a block was unreadable (its samples are missing from the output).</summary>
    public static int ExitCode(TimeSeriesDatabase db) => db.GetStatistics().BlocksCorrupt > 0 ? ExitCodes.Failure : ExitCodes.Success;

    /// <summary>Parses a millisecond timestamp option, or returns <paramref name="fallback"/> when absent.</summary>
    public static long ParseTime(ParsedArguments arguments, string option, long fallback)
    {
        var text = arguments.Get(option);
        if (text is null)
        {
            return fallback;
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new UsageException($"invalid value '{text}' for flag '--{option}': expected a timestamp in milliseconds");
    }

    /// <summary>Whether <paramref name="e"/> is an error opening or reading a database (reported, exit 1).</summary>
    public static bool IsStorageError(Exception e) => e is StorageException or IOException or UnauthorizedAccessException;
}
