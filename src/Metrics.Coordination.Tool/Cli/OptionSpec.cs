namespace Metrics.Coordination.Tool.Cli;

/// <summary>
/// A command's option: <c>--name</c> for a flag, <c>--name VALUE</c> or <c>--name=VALUE</c> when
/// <paramref name="ValueName"/> is set.
/// </summary>
/// <param name="Name">The long name without dashes (<c>format</c>).</param>
/// <param name="ValueName">The placeholder shown in help (<c>FORMAT</c>), or null for a flag.</param>
/// <param name="Description">One line for the help.</param>
/// <param name="AllowedValues">When set, the only values accepted (compared case-insensitively).</param>
internal sealed record OptionSpec(string Name, string? ValueName, string Description, IReadOnlyList<string>? AllowedValues = null)
{
    public bool IsFlag => ValueName is null;

    public string Syntax => IsFlag ? "--" + Name : $"--{Name}={ValueName}";
}

/// <summary>A positional argument.</summary>
/// <param name="Name">The placeholder shown in help (<c>FILE|URL</c>).</param>
/// <param name="Description">One line for the help.</param>
/// <param name="Required">Whether it must be given.</param>
/// <param name="Repeatable">Whether it takes every remaining positional (only for the last argument).</param>
internal sealed record ArgumentSpec(string Name, string Description, bool Required = false, bool Repeatable = false)
{
    /// <summary>How the argument is shown in usage: <c>&lt;name&gt;</c>, <c>[&lt;name&gt;]</c>, with <c>...</c> when repeatable.</summary>
    public string Syntax => (Required ? $"<{Name}>" : $"[<{Name}>]") + (Repeatable ? "..." : string.Empty);
}
