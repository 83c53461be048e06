using System.Globalization;
using Metrics.Coordination.Rules;
using Metrics.Coordination.Tool.Cli;

namespace Metrics.Coordination.Tool.Rules;

/// <summary>
/// <c>mctl check rules FILE...</c>: promtool's <c>check rules</c>. Per file <c>Checking FILE</c>, then
/// <c>  SUCCESS: N rules found</c> or <c>  FAILED:</c> and every problem (file, line:column, group, rule index and
/// name) on standard error, as promtool prints them. Exit 1 when any file has a problem.
/// </summary>
/// <remarks>promtool stops at the first YAML decoding error of a file; we report every problem the file has.</remarks>
internal sealed class CheckRulesCommand : Command
{
    public override string Name => "rules";

    public override string Summary => "Check if the rule files are valid or not (promtool check rules).";

    public override string Description => "Exit codes: 0 all files valid, 1 a file is unreadable or has problems, 2 bad usage.";

    public override IReadOnlyList<ArgumentSpec> Arguments =>
        [new("rule-files", "The rule files to check.", Required: true, Repeatable: true)];

    public override Task<int> ExecuteAsync(CommandContext context, ParsedArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(arguments);
        var o = context.Console.Out;
        var e = context.Console.Error;
        var failed = false;
        foreach (var file in arguments.Positionals)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            o.WriteLine($"Checking {file}");
            try
            {
                var rules = RuleFileParser.Load(file);
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  SUCCESS: {rules.RuleCount} rules found"));
            }
            catch (RuleFileException ex)
            {
                failed = true;
                e.WriteLine("  FAILED:");
                foreach (var problem in ex.Problems)
                {
                    e.WriteLine(problem.ToString());
                }
            }

            o.WriteLine();
        }

        return Task.FromResult(failed ? ExitCodes.Failure : ExitCodes.Success);
    }
}
