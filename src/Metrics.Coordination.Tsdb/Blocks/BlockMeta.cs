using System.Text;
using System.Text.Json;
using Metrics.Coordination.Tsdb.Wal;

namespace Metrics.Coordination.Tsdb.Blocks;

/// <summary>A block's <c>meta.json</c> (see <c>docs/format/block.md</c>).</summary>
internal sealed record BlockMeta
{
    public const string FileName = "meta.json";

    public required string Ulid { get; init; }

    /// <summary>Inclusive.</summary>
    public required long MinTime { get; init; }

    /// <summary>Exclusive.</summary>
    public required long MaxTime { get; init; }

    public long NumSamples { get; init; }

    public long NumSeries { get; init; }

    public long NumChunks { get; init; }

    public long NumTombstones { get; init; }

    public int Level { get; init; } = 1;

    public IReadOnlyList<string> Sources { get; init; } = [];

    public IReadOnlyList<string> Hints { get; init; } = [];

    /// <summary>The direct inputs of a compaction result (<c>compaction.parents</c>), empty for a block cut from the head.</summary>
    public IReadOnlyList<BlockDesc> Parents { get; init; } = [];

    /// <summary><c>compaction.deletable</c>: a compaction found nothing left in this block; it goes at the next reload.</summary>
    public bool Deletable { get; init; }

    /// <summary>Writes <c>meta.json</c> in <paramref name="directory"/> through a <c>.tmp</c> file, fsynced and renamed.</summary>
    public void Write(string directory)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, IndentCharacter = '\t', IndentSize = 1 }))
        {
            json.WriteStartObject();
            json.WriteString("ulid", Ulid);
            json.WriteNumber("minTime", MinTime);
            json.WriteNumber("maxTime", MaxTime);
            json.WriteStartObject("stats");
            WriteIfNonZero(json, "numSamples", NumSamples);
            WriteIfNonZero(json, "numSeries", NumSeries);
            WriteIfNonZero(json, "numChunks", NumChunks);
            WriteIfNonZero(json, "numTombstones", NumTombstones);
            json.WriteEndObject();
            json.WriteStartObject("compaction");
            json.WriteNumber("level", Level);
            json.WriteStartArray("sources");
            foreach (var s in Sources)
            {
                json.WriteStringValue(s);
            }

            json.WriteEndArray();
            if (Deletable)
            {
                json.WriteBoolean("deletable", true);
            }

            if (Parents.Count > 0)
            {
                // Prometheus's member order: level, sources, deletable, parents, failed, hints.
                json.WriteStartArray("parents");
                foreach (var parent in Parents)
                {
                    json.WriteStartObject();
                    json.WriteString("ulid", parent.Ulid);
                    json.WriteNumber("minTime", parent.MinTime);
                    json.WriteNumber("maxTime", parent.MaxTime);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            if (Hints.Count > 0)
            {
                json.WriteStartArray("hints");
                foreach (var h in Hints)
                {
                    json.WriteStringValue(h);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
            json.WriteNumber("version", 1);
            json.WriteEndObject();
        }

        var path = Path.Combine(directory, FileName);
        var tmp = path + ".tmp";
        using (var file = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            file.Write(stream.GetBuffer().AsSpan(0, (int)stream.Length));
            file.Flush(flushToDisk: true);
        }

        FileSystem.RenameDurably(tmp, path, isDirectory: false);
    }

    /// <summary>Reads and checks <c>meta.json</c> in <paramref name="directory"/>.</summary>
    /// <exception cref="TsdbCorruptionException">Missing members, a bad ULID or a version other than 1.</exception>
    public static BlockMeta Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            var version = root.GetProperty("version").GetInt32();
            if (version != 1)
            {
                throw new TsdbCorruptionException(path, 0, $"unsupported meta.json version {version}");
            }

            var ulid = root.GetProperty("ulid").GetString() ?? string.Empty;
            if (!Blocks.Ulid.IsValid(ulid))
            {
                throw new TsdbCorruptionException(path, 0, $"invalid ULID '{ulid}'");
            }

            var stats = root.TryGetProperty("stats", out var s) ? s : default;
            var compaction = root.TryGetProperty("compaction", out var c) ? c : default;
            return new BlockMeta
            {
                Ulid = ulid,
                MinTime = root.GetProperty("minTime").GetInt64(),
                MaxTime = root.GetProperty("maxTime").GetInt64(),
                NumSamples = Number(stats, "numSamples"),
                NumSeries = Number(stats, "numSeries"),
                NumChunks = Number(stats, "numChunks"),
                NumTombstones = Number(stats, "numTombstones"),
                Level = (int)Number(compaction, "level"),
                Sources = Strings(compaction, "sources"),
                Hints = Strings(compaction, "hints"),
                Deletable = compaction.ValueKind == JsonValueKind.Object && compaction.TryGetProperty("deletable", out var d) && d.ValueKind == JsonValueKind.True,
                Parents = ParentsOf(compaction),
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new TsdbCorruptionException(path, 0, "unreadable meta.json: " + ex.Message, ex);
        }
    }

    private static void WriteIfNonZero(Utf8JsonWriter json, string name, long value)
    {
        // Prometheus's stats members are omitempty.
        if (value != 0)
        {
            json.WriteNumber(name, value);
        }
    }

    private static BlockDesc[] ParentsOf(JsonElement compaction) =>
        compaction.ValueKind == JsonValueKind.Object && compaction.TryGetProperty("parents", out var v) && v.ValueKind == JsonValueKind.Array
            ? [.. v.EnumerateArray().Select(e => new BlockDesc(e.GetProperty("ulid").GetString() ?? string.Empty, e.GetProperty("minTime").GetInt64(), e.GetProperty("maxTime").GetInt64()))]
            : [];

    private static long Number(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var v) ? v.GetInt64() : 0;

    private static string[] Strings(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? [.. v.EnumerateArray().Select(e => e.GetString() ?? string.Empty)]
            : [];

    /// <inheritdoc />
    public override string ToString() => new StringBuilder().Append(Ulid).Append(" [").Append(MinTime).Append(", ").Append(MaxTime).Append(')').ToString();
}

/// <summary>A block named in another block's <c>compaction.parents</c>.</summary>
/// <param name="Ulid">The parent's ULID.</param>
/// <param name="MinTime">The parent's minTime.</param>
/// <param name="MaxTime">The parent's maxTime.</param>
internal readonly record struct BlockDesc(string Ulid, long MinTime, long MaxTime);
