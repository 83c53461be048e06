namespace Metrics.Coordination.Tool.Cli;

/// <summary>A node of the verb tree: a group of subcommands (<c>check</c>, later <c>tsdb</c>) or a runnable command.</summary>
internal abstract class CommandNode
{
    /// <summary>The word that selects the node on the command line.</summary>
    public abstract string Name { get; }

    /// <summary>One line for the parent's command list and the help.</summary>
    public abstract string Summary { get; }
}

/// <summary>A verb that only selects one of its subcommands: <c>mctl check metrics</c>, later <c>mctl tsdb analyze</c>.</summary>
internal sealed class CommandGroup(string name, string summary, IReadOnlyList<CommandNode> children) : CommandNode
{
    public override string Name { get; } = name;

    public override string Summary { get; } = summary;

    public IReadOnlyList<CommandNode> Children { get; } = children;

    public CommandNode? Find(string word) =>
        Children.FirstOrDefault(c => string.Equals(c.Name, word, StringComparison.Ordinal));
}

/// <summary>
/// A runnable command. Declares its options and positional arguments (for parsing and help) and runs with them.
/// A new verb is a subclass plus one line in <see cref="Mctl.CreateCommands"/>.
/// </summary>
internal abstract class Command : CommandNode
{
    /// <summary>A paragraph for the command's help, after the summary.</summary>
    public virtual string? Description => null;

    public virtual IReadOnlyList<OptionSpec> Options => [];

    public virtual IReadOnlyList<ArgumentSpec> Arguments => [];

    /// <summary>Runs the command and returns the process exit code (see <see cref="ExitCodes"/>).</summary>
    public abstract Task<int> ExecuteAsync(CommandContext context, ParsedArguments arguments);
}

/// <summary>What a running command gets besides its arguments.</summary>
/// <param name="Console">The standard streams.</param>
/// <param name="CommandPath">The words that selected the command (<c>mctl check metrics</c>), for messages.</param>
/// <param name="CancellationToken">Cancelled on Ctrl+C.</param>
internal sealed record CommandContext(ToolConsole Console, string CommandPath, CancellationToken CancellationToken);
