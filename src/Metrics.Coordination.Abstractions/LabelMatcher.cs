using System.Text.RegularExpressions;
using Metrics.Coordination.Shared;

namespace Metrics.Coordination.Abstractions;

/// <summary>The four PromQL label matcher kinds.</summary>
public enum MatchType
{
    /// <summary><c>=</c>: equal.</summary>
    Equal,

    /// <summary><c>!=</c>: not equal.</summary>
    NotEqual,

    /// <summary><c>=~</c>: fully anchored regex match.</summary>
    Regex,

    /// <summary><c>!~</c>: fully anchored regex non-match.</summary>
    NotRegex,
}

/// <summary>
/// A label matcher such as <c>job=~"api|web"</c>. Regexes are fully anchored, as in Prometheus
/// (<c>^(?:re)$</c>). An absent label matches as the empty string.
/// </summary>
public sealed class LabelMatcher
{
    private readonly Regex? _regex;

    /// <summary>Creates a matcher. Throws <see cref="ArgumentException"/> naming the pattern when a regex does not compile.</summary>
    public LabelMatcher(MatchType type, string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        Type = type;
        Name = name;
        Value = value;
        if (type is MatchType.Regex or MatchType.NotRegex)
        {
            try
            {
                // RE2 syntax translated as everywhere else; anchored (.NET's $ would also match before a final
                // newline, RE2's does not); "." matches newline, as RE2 does with the s flag Prometheus sets.
                _regex = new GoRegex(value, anchored: true, dotAll: true, TimeSpan.FromSeconds(5)).Regex;
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"Invalid regular expression '{value}' for label '{name}': {ex.Message}", nameof(value), ex);
            }
        }
    }

    /// <summary>The kind of match.</summary>
    public MatchType Type { get; }

    /// <summary>The label name.</summary>
    public string Name { get; }

    /// <summary>The literal value or regex source.</summary>
    public string Value { get; }

    /// <summary>Whether <paramref name="value"/> (the empty string for an absent label) satisfies the matcher.</summary>
    public bool Matches(string value) => Type switch
    {
        MatchType.Equal => string.Equals(value, Value, StringComparison.Ordinal),
        MatchType.NotEqual => !string.Equals(value, Value, StringComparison.Ordinal),
        MatchType.Regex => _regex!.IsMatch(value),
        MatchType.NotRegex => !_regex!.IsMatch(value),
        _ => false,
    };

    /// <summary>Whether the label set satisfies the matcher.</summary>
    public bool Matches(Labels labels) => Matches(labels.Get(Name));

    /// <inheritdoc />
    public override string ToString()
    {
        var op = Type switch { MatchType.Equal => "=", MatchType.NotEqual => "!=", MatchType.Regex => "=~", _ => "!~" };
        var name = MetricNames.IsValidLegacyLabelName(Name) ? Name : Quote(Name);
        return name + op + Quote(Value);
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"";
}
