using System.Reflection;
using Metrics.Coordination.Tool.Check;
using Metrics.Coordination.Tool.Cli;
using Metrics.Coordination.Tool.PromQL;
using Metrics.Coordination.Tool.Query;
using Metrics.Coordination.Tool.Rules;
using Metrics.Coordination.Tool.Tsdb;

namespace Metrics.Coordination.Tool;

/// <summary>
/// The <c>mctl</c> verb tree and dispatcher. Later verbs (<c>tsdb</c>, <c>promql</c>, <c>query</c>, <c>rules</c>) are
/// one more <see cref="CommandGroup"/> or <see cref="Command"/> in <see cref="CreateCommands"/>.
/// </summary>
internal static class Mctl
{
    public const string ToolName = "mctl";

    /// <summary>The verb tree.</summary>
    public static CommandGroup CreateCommands() => new(
        ToolName,
        "Tooling for Metrics.Coordination and Prometheus-compatible metrics (in the manner of promtool).",
        [
            new CommandGroup("check", "Check the resources for validity.", [new CheckMetricsCommand(), new CheckRulesCommand()]),
            new CommandGroup("tsdb", "Inspect TSDB directories.", [new TsdbListCommand(), new TsdbDumpCommand(), new TsdbAnalyzeCommand(), new CommandGroup("import", "Import samples from input and produce TSDB blocks.", [new TsdbImportOpenMetricsCommand()])]),
            new CommandGroup("promql", "PromQL tooling.", [new PromQLTestCommand()]),
            new CommandGroup("query", "Run PromQL queries over a TSDB directory.", [new QueryInstantCommand(), new QueryRangeCommand()]),
            new CommandGroup("test", "Unit testing.", [new TestRulesCommand()]),
        ]);

    /// <summary>The tool version (the assembly's informational version without a source revision suffix).</summary>
    public static string Version
    {
        get
        {
            var version = typeof(Mctl).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                ?? typeof(Mctl).Assembly.GetName().Version?.ToString() ?? "0.0.0";
            var plus = version.IndexOf('+', StringComparison.Ordinal);
            return plus < 0 ? version : version[..plus];
        }
    }

    /// <summary>Parses <paramref name="args"/>, runs the selected command and returns the exit code.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, ToolConsole console, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        CommandGroup group = CreateCommands();
        var path = ToolName;
        var i = 0;
        while (true)
        {
            if (i >= args.Count)
            {
                console.Error.WriteLine($"{ToolName}: error: expected command, try --help");
                console.Error.WriteLine();
                HelpWriter.WriteGroup(console.Error, path, group, isRoot: path == ToolName);
                return ExitCodes.Usage;
            }

            var word = args[i];
            if (word is "-h" or "--help" or "help")
            {
                HelpWriter.WriteGroup(console.Error, path, group, isRoot: path == ToolName);
                return ExitCodes.Usage;
            }

            if (word == "--version" && path == ToolName)
            {
                console.Out.WriteLine($"{ToolName}, version {Version} (Metrics.Coordination.Tool, .NET {Environment.Version})");
                return ExitCodes.Success;
            }

            var child = word.StartsWith('-') ? null : group.Find(word);
            if (child is null)
            {
                var what = word.StartsWith('-') ? $"unknown flag '{word}'" : $"unknown command '{word}'";
                console.Error.WriteLine($"{ToolName}: error: {what}, try '{path} --help'");
                console.Error.WriteLine();
                HelpWriter.WriteGroup(console.Error, path, group, isRoot: path == ToolName);
                return ExitCodes.Usage;
            }

            path += " " + child.Name;
            i++;
            if (child is CommandGroup subgroup)
            {
                group = subgroup;
                continue;
            }

            var command = (Command)child;
            var rest = args.Skip(i).ToList();
            var dashDash = rest.IndexOf("--");
            var beforeDashDash = dashDash < 0 ? rest : rest.Take(dashDash);
            if (beforeDashDash.Any(a => a is "-h" or "--help"))
            {
                HelpWriter.WriteCommand(console.Error, path, command);
                return ExitCodes.Usage;
            }

            ParsedArguments parsed;
            try
            {
                parsed = ArgumentParser.Parse(rest, command.Options, command.Arguments);
            }
            catch (UsageException e)
            {
                console.Error.WriteLine($"{ToolName}: error: {e.Message}, try '{path} --help'");
                console.Error.WriteLine();
                HelpWriter.WriteCommand(console.Error, path, command);
                return ExitCodes.Usage;
            }

            try
            {
                return await command.ExecuteAsync(new CommandContext(console, path, cancellationToken), parsed).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                console.Error.WriteLine($"{ToolName}: interrupted");
                return ExitCodes.Interrupted;
            }
        }
    }
}
