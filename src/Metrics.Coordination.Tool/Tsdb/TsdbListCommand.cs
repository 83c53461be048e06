using System.Globalization;
using Metrics.Coordination.Tool.Cli;

namespace Metrics.Coordination.Tool.Tsdb;

/// <summary><c>mctl tsdb list [--human-readable] DIR</c>: promtool's <c>tsdb list</c>, the persisted blocks in a table.</summary>
internal sealed class TsdbListCommand : Command
{
    private static readonly OptionSpec HumanReadable = new("human-readable", null, "Print times as UTC dates and sizes with units, like promtool -r.");

    public override string Name => "list";

    public override string Summary => "List the blocks of a TSDB directory (promtool tsdb list).";

    public override string Description => "Reads each block's meta.json only: no lock, nothing written, safe on the directory of a running service. " +
        "The head (WAL) is not a block and is not listed (see 'tsdb analyze' for its series and samples).";

    public override IReadOnlyList<OptionSpec> Options => [HumanReadable];

    public override IReadOnlyList<ArgumentSpec> Arguments => [new("dir", "The TSDB directory.", Required: true)];

    public override Task<int> ExecuteAsync(CommandContext context, ParsedArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(arguments);
        var dir = arguments.Positional(0)!;
        if (!TsdbDirectory.Exists(context, dir))
        {
            return Task.FromResult(ExitCodes.Failure);
        }

        var problems = new List<string>();
        var blocks = TsdbDirectory.ReadBlocks(dir, problems);
        var human = arguments.Has(HumanReadable.Name);
        var table = new ColumnWriter(13, 2, padLastCell: false);
        table.AddRow("BLOCK ULID", "MIN TIME", "MAX TIME", "DURATION", "NUM SAMPLES", "NUM CHUNKS", "NUM SERIES", "SIZE");
        foreach (var b in blocks)
        {
            table.AddRow(
                b.Ulid,
                human ? FormatTime(b.MinTime) : Invariant(b.MinTime),
                human ? FormatTime(b.MaxTime) : Invariant(b.MaxTime),
                GoFormat.Duration(b.MaxTime - b.MinTime),
                Invariant(b.NumSamples),
                Invariant(b.NumChunks),
                Invariant(b.NumSeries),
                human ? FormatBytes(b.SizeBytes) : Invariant(b.SizeBytes));
        }

        table.WriteTo(context.Console.Out);
        foreach (var problem in problems)
        {
            context.Console.Error.WriteLine($"{context.CommandPath}: error: {problem}");
        }

        return Task.FromResult(problems.Count == 0 ? ExitCodes.Success : ExitCodes.Failure);
    }

    private static string Invariant(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string FormatTime(long ms) =>
        DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " +0000 UTC";

    // alecthomas/units Base2Bytes.String(), as promtool -r prints sizes: "5KiB307B".
    private static string FormatBytes(long bytes)
    {
        string[] prefixes = [string.Empty, "K", "M", "G", "T", "P", "E"];
        var parts = new List<string>();
        var n = bytes;
        for (var i = 0; i < prefixes.Length; i++)
        {
            if (n % 1024 != 0 || (i == 0 && n == 0))
            {
                parts.Insert(0, Invariant(n % 1024) + prefixes[i] + (i == 0 ? "B" : "iB"));
            }

            n /= 1024;
            if (n == 0)
            {
                break;
            }
        }

        return string.Concat(parts);
    }
}
