using Metrics.Coordination.Rules;
using Metrics.Coordination.Tool.Cli;

namespace Metrics.Coordination.Tool.Rules;

/// <summary>
/// <c>mctl test rules FILE...</c>: promtool's <c>test rules</c>. Per file <c>Unit Testing:  FILE</c>, then
/// <c>  SUCCESS</c>, or <c>  FAILED:</c> and every failure (expected vs got) on standard error. Exit 0 when every file
/// passed, 1 otherwise.
/// </summary>
internal sealed class TestRulesCommand : Command
{
    public override string Name => "rules";

    public override string Summary => "Unit tests for rules (promtool test rules format).";

    public override string Description => "Exit codes: 0 all tests passed, 1 a test failed or a file could not be read, 2 bad usage.";

    public override IReadOnlyList<ArgumentSpec> Arguments =>
        [new("test-rule-file", "The unit test files.", Required: true, Repeatable: true)];

    public override Task<int> ExecuteAsync(CommandContext context, ParsedArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(arguments);
        var o = context.Console.Out;
        var e = context.Console.Error;
        var runner = new RuleTestRunner();
        var failed = false;
        foreach (var file in arguments.Positionals)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            o.WriteLine($"Unit Testing:  {file}");
            var result = runner.Run(file, context.CancellationToken);
            foreach (var warning in result.Warnings)
            {
                e.WriteLine($"  WARNING: {warning}");
            }

            if (result.Passed)
            {
                o.WriteLine("  SUCCESS");
            }
            else
            {
                failed = true;
                e.WriteLine("  FAILED:");
                foreach (var error in result.Errors)
                {
                    e.WriteLine(error);
                }
            }

            o.WriteLine();
        }

        return Task.FromResult(failed ? ExitCodes.Failure : ExitCodes.Success);
    }
}
