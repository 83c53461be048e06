using System.Globalization;
using Metrics.Coordination.Abstractions;
using MatchType = Metrics.Coordination.Abstractions.MatchType;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tool.Cli;

namespace Metrics.Coordination.Tool.Tsdb;

/// <summary>
/// <c>mctl tsdb analyze DIR [--limit=N]</c>: sizes and cardinality of a TSDB directory in the manner of promtool's
/// <c>tsdb analyze</c>, over all its blocks and the head: series, chunks, samples, bytes per sample, and the label
/// names, metric names and label pairs with the most series.
/// </summary>
internal sealed class TsdbAnalyzeCommand : Command
{
    private static readonly OptionSpec Limit = new("limit", "N", "How many items to show in each list. Default 20.");

    public override string Name => "analyze";

    public override string Summary => "Analyze series, chunks, samples, bytes per sample and label cardinality (promtool tsdb analyze).";

    public override string Description =>
        "Chunks and bytes come from the blocks (meta.json and chunk files); series, samples and labels from a query over blocks and head " +
        "(the WAL replayed into memory). Opens the directory read-only: no lock, nothing written, safe on the directory of a running service.";

    public override IReadOnlyList<OptionSpec> Options => [Limit];

    public override IReadOnlyList<ArgumentSpec> Arguments => [new("dir", "The TSDB directory.", Required: true)];

    public override Task<int> ExecuteAsync(CommandContext context, ParsedArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(arguments);
        var console = context.Console;
        var dir = arguments.Positional(0)!;
        var limit = 20;
        if (arguments.Get(Limit.Name) is { } limitText && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit <= 0))
        {
            console.Error.WriteLine($"{Mctl.ToolName}: error: invalid value '{limitText}' for flag '--limit': expected a positive integer, try '{context.CommandPath} --help'");
            return Task.FromResult(ExitCodes.Usage);
        }

        if (!TsdbDirectory.Exists(context, dir))
        {
            return Task.FromResult(ExitCodes.Failure);
        }

        var problems = new List<string>();
        var blocks = TsdbDirectory.ReadBlocks(dir, problems);
        long series = 0, samples = 0, labelPairs = 0, headSeries = 0, headSamples = 0;
        long minTime = long.MaxValue, maxTime = long.MinValue;
        var valuesByName = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var seriesByPair = new Dictionary<(string Name, string Value), long>();
        var seriesByMetric = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            using var db = TsdbDirectory.Open(context, dir);
            if (TsdbDirectory.ExitCode(db) != ExitCodes.Success)
            {
                problems.Add("unreadable blocks were left out (see the warnings above)");
            }

            var stats = db.GetStatistics();
            headSeries = stats.HeadSeries;
            headSamples = stats.WalSamplesReplayed;
            using var querier = db.Querier(long.MinValue, long.MaxValue);
            ISampleIterator? iterator = null;
            foreach (var s in querier.Select(false, new SelectHints { Start = long.MinValue, End = long.MaxValue }, new LabelMatcher(MatchType.Regex, "__name__", ".*")))
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                iterator = s.Iterator(iterator);
                var n = 0L;
                while (iterator.Next())
                {
                    minTime = Math.Min(minTime, iterator.Timestamp);
                    maxTime = Math.Max(maxTime, iterator.Timestamp);
                    n++;
                }

                if (iterator.Error is { } error)
                {
                    throw error;
                }

                if (n == 0)
                {
                    continue;
                }

                series++;
                samples += n;
                foreach (var label in s.Labels)
                {
                    labelPairs++;
                    if (!valuesByName.TryGetValue(label.Name, out var values))
                    {
                        valuesByName[label.Name] = values = new HashSet<string>(StringComparer.Ordinal);
                    }

                    values.Add(label.Value);
                    seriesByPair[(label.Name, label.Value)] = seriesByPair.GetValueOrDefault((label.Name, label.Value)) + 1;
                }

                var metric = s.Labels.Get("__name__");
                seriesByMetric[metric] = seriesByMetric.GetValueOrDefault(metric) + 1;
            }
        }
        catch (Exception e) when (TsdbDirectory.IsStorageError(e))
        {
            console.Error.WriteLine($"{context.CommandPath}: error: {e.Message}");
            return Task.FromResult(ExitCodes.Failure);
        }

        var blockSamples = blocks.Sum(b => b.NumSamples);
        var chunkBytes = blocks.Sum(b => b.ChunkBytes);
        var o = console.Out;
        o.WriteLine($"Blocks: {Invariant(blocks.Count)}");
        o.WriteLine($"Duration: {(series == 0 ? "0s" : GoFormat.Duration(maxTime - minTime))}");
        o.WriteLine($"Series: {Invariant(series)}");
        o.WriteLine($"Samples: {Invariant(samples)}");
        o.WriteLine($"Head series (WAL): {Invariant(headSeries)}");
        o.WriteLine($"Head samples (WAL): {Invariant(headSamples)}");
        o.WriteLine($"Block chunks: {Invariant(blocks.Sum(b => b.NumChunks))}");
        o.WriteLine($"Block samples: {Invariant(blockSamples)}");
        o.WriteLine($"Block chunk bytes: {Invariant(chunkBytes)}");
        o.WriteLine($"Bytes per sample: {(blockSamples == 0 ? "n/a" : ((double)chunkBytes / blockSamples).ToString("F3", CultureInfo.InvariantCulture))}");
        o.WriteLine($"Label names: {Invariant(valuesByName.Count)}");
        o.WriteLine($"Postings (unique label pairs): {Invariant(seriesByPair.Count)}");
        o.WriteLine($"Postings entries (total label pairs): {Invariant(labelPairs)}");
        WriteTop(o, "Highest cardinality labels:", valuesByName.Select(kv => (kv.Key, (long)kv.Value.Count)), limit);
        WriteTop(o, "Highest cardinality metric names:", seriesByMetric.Select(kv => (kv.Key, kv.Value)), limit);
        WriteTop(o, "Most common label pairs:", seriesByPair.Select(kv => (kv.Key.Name + "=" + kv.Key.Value, kv.Value)), limit);
        foreach (var problem in problems)
        {
            console.Error.WriteLine($"{context.CommandPath}: error: {problem}");
        }

        return Task.FromResult(problems.Count == 0 ? ExitCodes.Success : ExitCodes.Failure);
    }

    private static void WriteTop(TextWriter o, string title, IEnumerable<(string Name, long Count)> items, int limit)
    {
        o.WriteLine();
        o.WriteLine(title);
        foreach (var (name, count) in items.OrderByDescending(i => i.Count).ThenBy(i => i.Name, StringComparer.Ordinal).Take(limit))
        {
            o.WriteLine($"{Invariant(count)} {name}");
        }
    }

    private static string Invariant(long v) => v.ToString(CultureInfo.InvariantCulture);
}
