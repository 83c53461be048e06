namespace Metrics.Coordination.Tool.Cli;

/// <summary>The options and positional arguments of one command invocation.</summary>
internal sealed class ParsedArguments
{
    private readonly Dictionary<string, string?> _options;

    public ParsedArguments(Dictionary<string, string?> options, IReadOnlyList<string> positionals)
    {
        _options = options;
        Positionals = positionals;
    }

    /// <summary>The positional arguments in order.</summary>
    public IReadOnlyList<string> Positionals { get; }

    /// <summary>Whether the flag or option was given.</summary>
    public bool Has(string name) => _options.ContainsKey(name);

    /// <summary>The value of an option, or null when it was not given.</summary>
    public string? Get(string name) => _options.TryGetValue(name, out var v) ? v : null;

    /// <summary>The positional argument at <paramref name="index"/>, or null.</summary>
    public string? Positional(int index) => index < Positionals.Count ? Positionals[index] : null;
}
