using System.Globalization;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules.PromQL.Testing;
using Metrics.Coordination.Tool.Cli;

namespace Metrics.Coordination.Tool.PromQL;

/// <summary>
/// <c>mctl promql test FILE...</c>: runs PromQL test scripts (Prometheus's <c>load</c>/<c>eval</c> language) with
/// <see cref="PromQLTestScript"/> over an in-memory storage. Per file: evals passed and failed, each failure as
/// <c>file:line: message</c>; then a plain <c>N passed, N failed</c> line. Exit 0 when everything passed, 1 otherwise.
/// </summary>
internal sealed class PromQLTestCommand : Command
{
    public override string Name => "test";

    public override string Summary => "Run PromQL test scripts (load/eval format).";

    public override string Description =>
        "Each file is parsed and run on its own in-memory storage. A file that cannot be read or parsed counts as a failure.\n" +
        "Exit codes: 0 all evals passed, 1 failures, 2 bad usage.";

    public override IReadOnlyList<ArgumentSpec> Arguments =>
        [new("file.test", "The scripts to run.", Required: true, Repeatable: true)];

    public override Task<int> ExecuteAsync(CommandContext context, ParsedArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(arguments);
        var o = context.Console.Out;
        int passed = 0, failed = 0;
        var fileErrors = 0;
        foreach (var file in arguments.Positionals)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            IReadOnlyList<PromQLEvalOutcome> outcomes;
            try
            {
                var script = PromQLTestScript.Parse(File.ReadAllText(file), file);
                outcomes = script.Run(new PromQLTestScriptOptions { StorageFactory = () => new InMemoryPromQLStorage() }, context.CancellationToken);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or MetricsCoordinationException)
            {
                o.WriteLine($"{file}: FAILED");
                o.WriteLine(e is PromQLTestScriptException ? $"  {e.Message}" : $"  {file}: {e.Message}");
                fileErrors++;
                continue;
            }

            var filePassed = outcomes.Count(x => x.Status == PromQLEvalStatus.Passed);
            var fileFailed = outcomes.Count - filePassed;
            passed += filePassed;
            failed += fileFailed;
            o.WriteLine($"{file}: {Invariant(filePassed)} passed, {Invariant(fileFailed)} failed");
            foreach (var outcome in outcomes.Where(x => x.Status != PromQLEvalStatus.Passed))
            {
                var feature = outcome.Feature is { Length: > 0 } f ? $" (needs {f})" : string.Empty;
                o.WriteLine($"  {file}:{Invariant(outcome.Line)}: {outcome.Query}: {outcome.Message}{feature}");
            }
        }

        o.WriteLine($"{Invariant(passed)} passed, {Invariant(failed)} failed");
        return Task.FromResult(failed == 0 && fileErrors == 0 ? ExitCodes.Success : ExitCodes.Failure);
    }

    private static string Invariant(int v) => v.ToString(CultureInfo.InvariantCulture);
}
