using System.Globalization;
using System.Text;
using Metrics.Coordination.Abstractions;
using MatchType = Metrics.Coordination.Abstractions.MatchType;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Tool.Cli;

namespace Metrics.Coordination.Tool.Tsdb;

/// <summary>
/// <c>mctl tsdb dump DIR [--match=SELECTOR] [--min-time=MS] [--max-time=MS]</c>: promtool's <c>tsdb dump</c>, one
/// sample per line as <c>{labels} value timestamp</c> (Go's <c>%s %g %d</c>), series in label order, over the blocks
/// and the head. Opens the directory read-only (no lock, nothing written), so it can dump the directory of a running
/// service; the head is the WAL as far as it was written when the dump started.
/// </summary>
internal sealed class TsdbDumpCommand : Command
{
    private static readonly OptionSpec Match = new("match", "SELECTOR", "Series selector, e.g. 'up{job=\"a\"}'. Default: every series.");

    private static readonly OptionSpec MinTime = new("min-time", "MS", "Minimum timestamp to dump, in milliseconds (inclusive).");

    private static readonly OptionSpec MaxTime = new("max-time", "MS", "Maximum timestamp to dump, in milliseconds (inclusive).");

    public override string Name => "dump";

    public override string Summary => "Dump samples from a TSDB directory (promtool tsdb dump).";

    public override string Description =>
        "Opens the directory read-only: takes no lock and writes nothing, so it is safe on the data directory of a running service. " +
        "Blocks are read as they are; the WAL is replayed into memory up to its last complete record (a torn or corrupt record is reported on stderr and ends the replay). " +
        "Exit code 1 when a block was unreadable (reported, its samples left out).";

    public override IReadOnlyList<OptionSpec> Options => [Match, MinTime, MaxTime];

    public override IReadOnlyList<ArgumentSpec> Arguments => [new("dir", "The TSDB directory.", Required: true)];

    public override Task<int> ExecuteAsync(CommandContext context, ParsedArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(arguments);
        var console = context.Console;
        var dir = arguments.Positional(0)!;
        LabelMatcher[] matchers;
        long mint, maxt;
        try
        {
            matchers = arguments.Get(Match.Name) is { } selector
                ? SeriesSelector.Parse(selector)
                : [new LabelMatcher(MatchType.Regex, "__name__", ".*")];
            mint = TsdbDirectory.ParseTime(arguments, MinTime.Name, long.MinValue);
            maxt = TsdbDirectory.ParseTime(arguments, MaxTime.Name, long.MaxValue);
        }
        catch (Exception e) when (e is UsageException or ArgumentException)
        {
            console.Error.WriteLine($"{Mctl.ToolName}: error: {e.Message}, try '{context.CommandPath} --help'");
            return Task.FromResult(ExitCodes.Usage);
        }

        if (!TsdbDirectory.Exists(context, dir))
        {
            return Task.FromResult(ExitCodes.Failure);
        }

        try
        {
            using var db = TsdbDirectory.Open(context, dir);
            using var querier = db.Querier(mint, maxt);
            var buffer = new StringBuilder();
            ISampleIterator? iterator = null;
            foreach (var series in querier.Select(true, new SelectHints { Start = mint, End = maxt }, matchers))
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                var labels = GoFormat.Labels(series.Labels);
                iterator = series.Iterator(iterator);
                while (iterator.Next())
                {
                    buffer.Append(labels).Append(' ').Append(GoFormat.Float(iterator.Value)).Append(' ')
                        .Append(iterator.Timestamp.ToString(CultureInfo.InvariantCulture)).Append('\n');
                    if (buffer.Length > 1 << 16)
                    {
                        console.Out.Write(buffer.ToString());
                        buffer.Clear();
                    }
                }

                if (iterator.Error is { } error)
                {
                    throw error;
                }
            }

            console.Out.Write(buffer.ToString());
            return Task.FromResult(TsdbDirectory.ExitCode(db));
        }
        catch (Exception e) when (TsdbDirectory.IsStorageError(e))
        {
            console.Error.WriteLine($"{context.CommandPath}: error: {e.Message}");
            return Task.FromResult(ExitCodes.Failure);
        }
    }
}
