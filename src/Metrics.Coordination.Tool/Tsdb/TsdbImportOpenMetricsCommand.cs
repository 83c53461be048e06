using System.Globalization;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Tool.Cli;
using Metrics.Coordination.Tool.Query;
using Metrics.Coordination.Tsdb.Ingestion;

namespace Metrics.Coordination.Tool.Tsdb;

/// <summary>
/// <c>mctl tsdb import openmetrics [--max-block-duration=D] [--quiet] FILE [DIR]</c>: promtool's
/// <c>tsdb create-blocks-from openmetrics</c>, backfilling an OpenMetrics file into blocks.
/// </summary>
internal sealed class TsdbImportOpenMetricsCommand : Command
{
    private static readonly OptionSpec MaxBlockDuration = new("max-block-duration", "DURATION", "Largest block duration (2h and up, rounded down to 2h×3^n as promtool does). Default: 2h.");

    private static readonly OptionSpec Quiet = new("quiet", null, "Print nothing about the blocks written.");

    public override string Name => "openmetrics";

    public override string Summary => "Import samples from an OpenMetrics file into TSDB blocks (promtool tsdb create-blocks-from openmetrics).";

    public override string Description => "Every sample needs a timestamp. Blocks cover aligned ranges of the block duration; the output directory (default data/) is created if missing.";

    public override IReadOnlyList<OptionSpec> Options => [MaxBlockDuration, Quiet];

    public override IReadOnlyList<ArgumentSpec> Arguments => [new("input file", "The OpenMetrics file.", Required: true), new("output directory", "Where to write the blocks. Default: data/.")];

    public override async Task<int> ExecuteAsync(CommandContext context, ParsedArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(arguments);
        var input = arguments.Positional(0)!;
        var output = arguments.Positional(1) ?? "data/";
        TimeSpan? max = null;
        if (arguments.Get(MaxBlockDuration.Name) is { } text)
        {
            try
            {
                max = TimeSpan.FromMilliseconds(QueryRunner.ParseStep(MaxBlockDuration.Name, text));
            }
            catch (UsageException e)
            {
                return QueryRunner.Usage(context, e);
            }
        }

        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(input, context.CancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            context.Console.Error.WriteLine($"{context.CommandPath}: error: open {input}: {e.Message}");
            return ExitCodes.Failure;
        }
        catch (UnauthorizedAccessException e)
        {
            context.Console.Error.WriteLine($"{context.CommandPath}: error: open {input}: {e.Message}");
            return ExitCodes.Failure;
        }

        IReadOnlyList<ImportedBlock> blocks;
        try
        {
            blocks = OpenMetricsImport.CreateBlocks(bytes, output, max);
        }
        catch (ExpositionParseException e)
        {
            context.Console.Error.WriteLine($"{context.CommandPath}: error: parse error at {input}:{e.Line}:{e.Column}: {e.Reason}");
            return ExitCodes.Failure;
        }
        catch (MetricsCoordinationException e)
        {
            context.Console.Error.WriteLine($"{context.CommandPath}: error: {e.Message}");
            return ExitCodes.Failure;
        }
        catch (IOException e)
        {
            context.Console.Error.WriteLine($"{context.CommandPath}: error: write blocks to {output}: {e.Message}");
            return ExitCodes.Failure;
        }

        if (!arguments.Has(Quiet.Name) && blocks.Count > 0)
        {
            var table = new ColumnWriter(13, 2, padLastCell: false);
            table.AddRow("BLOCK ULID", "MIN TIME", "MAX TIME", "DURATION", "NUM SAMPLES", "NUM CHUNKS", "NUM SERIES");
            foreach (var b in blocks)
            {
                table.AddRow(b.Ulid, I(b.MinTime), I(b.MaxTime), GoFormat.Duration(b.MaxTime - b.MinTime), I(b.Samples), I(b.Chunks), I(b.Series));
            }

            table.WriteTo(context.Console.Out);
        }

        return ExitCodes.Success;
    }

    private static string I(long v) => v.ToString(CultureInfo.InvariantCulture);
}
