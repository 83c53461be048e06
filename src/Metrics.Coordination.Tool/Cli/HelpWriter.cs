namespace Metrics.Coordination.Tool.Cli;

/// <summary>Usage text for groups and commands, generated from the verb tree.</summary>
internal static class HelpWriter
{
    public static void WriteGroup(TextWriter output, string path, CommandGroup group, bool isRoot)
    {
        output.WriteLine($"usage: {path} <command> [<flags>] [<args> ...]");
        output.WriteLine();
        output.WriteLine(group.Summary);
        output.WriteLine();
        output.WriteLine("Flags:");
        var flags = new ColumnWriter(minWidth: 0, padding: 2, padLastCell: false);
        flags.AddRow("  -h, --help", "Show help (for a command: mctl <command> --help).");
        if (isRoot)
        {
            flags.AddRow("      --version", "Show the version.");
        }

        flags.WriteTo(output);
        output.WriteLine();
        output.WriteLine("Commands:");
        var commands = new ColumnWriter(minWidth: 0, padding: 2, padLastCell: false);
        foreach (var (words, summary) in Leaves(group, prefix: string.Empty))
        {
            commands.AddRow("  " + words, summary);
        }

        commands.WriteTo(output);
    }

    public static void WriteCommand(TextWriter output, string path, Command command)
    {
        var syntax = path;
        if (command.Options.Count > 0)
        {
            syntax += " [<flags>]";
        }

        foreach (var a in command.Arguments)
        {
            syntax += " " + a.Syntax;
        }

        output.WriteLine("usage: " + syntax);
        output.WriteLine();
        output.WriteLine(command.Summary);
        if (command.Description is { } description)
        {
            output.WriteLine();
            output.WriteLine(description);
        }

        output.WriteLine();
        output.WriteLine("Flags:");
        var flags = new ColumnWriter(minWidth: 0, padding: 2, padLastCell: false);
        flags.AddRow("  -h, --help", "Show this help.");
        foreach (var o in command.Options)
        {
            flags.AddRow("      " + o.Syntax, o.Description);
        }

        flags.WriteTo(output);
        if (command.Arguments.Count > 0)
        {
            output.WriteLine();
            output.WriteLine("Args:");
            var args = new ColumnWriter(minWidth: 0, padding: 2, padLastCell: false);
            foreach (var a in command.Arguments)
            {
                args.AddRow("  " + a.Syntax, a.Description);
            }

            args.WriteTo(output);
        }
    }

    // Commands are listed by their full words below the group ("check metrics"), as promtool lists them.
    private static IEnumerable<(string Words, string Summary)> Leaves(CommandGroup group, string prefix)
    {
        foreach (var child in group.Children)
        {
            var words = prefix.Length == 0 ? child.Name : prefix + " " + child.Name;
            if (child is CommandGroup g)
            {
                foreach (var leaf in Leaves(g, words))
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return (words, child.Summary);
            }
        }
    }
}
