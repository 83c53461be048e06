using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Tool.Cli;
using Metrics.Coordination.Tool.Lint;

namespace Metrics.Coordination.Tool.Check;

/// <summary>
/// <c>mctl check metrics [FILE|URL]</c>: promtool's <c>check metrics</c>. Parse errors go to standard error (exit 1),
/// lint problems to standard output as <c>name message</c> (exit 3); with <c>--extended</c> and no problems, a table of
/// series per family.
/// </summary>
/// <remarks>
/// promtool 2.42 writes its findings to standard error; we write them to standard output, because they are the
/// command's result (so <c>mctl check metrics | grep</c> works), and keep standard error for failures and usage.
/// </remarks>
internal sealed class CheckMetricsCommand : Command
{
    private static readonly OptionSpec Extended = new(
        "extended", null, "Print cardinality statistics per metric family (when lint finds no problems), like promtool.");

    private static readonly OptionSpec Format = new(
        "format",
        "FORMAT",
        "Parse as 'text' (Prometheus 0.0.4) or 'openmetrics'. Default: the HTTP Content-Type, else OpenMetrics when the input ends with '# EOF', else text.",
        ["text", "openmetrics"]);

    public override string Name => "metrics";

    public override string Summary => "Lint metrics exposition for correctness and naming conventions (promtool check metrics).";

    public override string Description =>
        "Reads standard input, a file, or an http(s):// URL (fetched like a Prometheus scrape).\n" +
        "Exit codes: 0 clean, 1 unreadable or unparsable input, 2 bad usage, 3 lint problems.";

    public override IReadOnlyList<OptionSpec> Options => [Extended, Format];

    public override IReadOnlyList<ArgumentSpec> Arguments =>
        [new("file|url", "The exposition to check; standard input when absent or '-'.")];

    public override async Task<int> ExecuteAsync(CommandContext context, ParsedArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(arguments);
        var console = context.Console;
        ExpositionFormat? requested = arguments.Get(Format.Name) switch
        {
            "text" => ExpositionFormat.PrometheusText,
            "openmetrics" => ExpositionFormat.OpenMetrics,
            _ => null,
        };

        ExpositionSource source;
        try
        {
            source = await ExpositionSource.ReadAsync(arguments.Positional(0), console.Input, Mctl.Version, context.CancellationToken)
                .ConfigureAwait(false);
        }
        catch (ExpositionSourceException e)
        {
            console.Error.WriteLine(e.Message);
            return ExitCodes.Failure;
        }

        var format = source.ResolveFormat(requested);
        var where = source.Description == "stdin" ? string.Empty : " " + source.Description;
        IReadOnlyList<MetricFamily> families;
        try
        {
            families = ExpositionParser.Parse(source.Content, format);
        }
        catch (ExpositionParseException e)
        {
            console.Error.WriteLine($"error while linting{where}: line {e.Line}, column {e.Column}: {e.Reason}");
            return ExitCodes.Failure;
        }
        catch (MetricsCoordinationException e)
        {
            console.Error.WriteLine($"error while linting{where}: {e.Message}");
            return ExitCodes.Failure;
        }

        var problems = MetricsLinter.Lint(families);
        foreach (var problem in problems)
        {
            console.Out.WriteLine(problem.ToString());
        }

        if (problems.Count > 0)
        {
            return ExitCodes.LintProblems;
        }

        if (arguments.Has(Extended.Name))
        {
            var (stats, total) = CardinalityReport.Compute(families);
            CardinalityReport.Write(console.Out, stats, total);
        }

        return ExitCodes.Success;
    }
}
