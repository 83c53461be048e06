using System.Globalization;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules.PromQL;

namespace Metrics.Coordination.Rules;

/// <summary>A parsed, validated rule file (Prometheus's <c>rulefmt</c>): its groups in file order.</summary>
public sealed class RuleFile
{
    internal RuleFile(string path, IReadOnlyList<RuleGroupDefinition> groups)
    {
        Path = path;
        Groups = groups;
    }

    /// <summary>The file name the rules were loaded from (as given to the loader).</summary>
    public string Path { get; }

    /// <summary>The groups, in file order.</summary>
    public IReadOnlyList<RuleGroupDefinition> Groups { get; }

    /// <summary>How many rules the file holds in all groups.</summary>
    public int RuleCount => Groups.Sum(g => g.Rules.Count);
}

/// <summary>One <c>groups[]</c> entry of a rule file.</summary>
public sealed class RuleGroupDefinition
{
    internal RuleGroupDefinition(string file, string name, TimeSpan? interval, TimeSpan? queryOffset, int limit, Labels labels, IReadOnlyList<RuleDefinition> rules, int line)
    {
        File = file;
        Name = name;
        Interval = interval;
        QueryOffset = queryOffset;
        Limit = limit;
        Labels = labels;
        Rules = rules;
        Line = line;
    }

    /// <summary>The file the group came from.</summary>
    public string File { get; }

    /// <summary>The group name, unique within its file.</summary>
    public string Name { get; }

    /// <summary>The evaluation interval, or null for the manager's default (<c>interval</c> absent or 0).</summary>
    public TimeSpan? Interval { get; }

    /// <summary>How far in the past to evaluate (<c>query_offset</c>), or null for the manager's default.</summary>
    public TimeSpan? QueryOffset { get; }

    /// <summary>The most series a rule may produce (alerts for alerting rules); 0 means no limit.</summary>
    public int Limit { get; }

    /// <summary>Labels added to every rule's output unless the rule sets the same label (<c>labels</c> of the group).</summary>
    public Labels Labels { get; }

    /// <summary>The rules, in evaluation order.</summary>
    public IReadOnlyList<RuleDefinition> Rules { get; }

    /// <summary>The 1-based line of the group's <c>name</c>.</summary>
    public int Line { get; }
}

/// <summary>Whether a rule records a series or raises alerts.</summary>
public enum RuleKind
{
    /// <summary>A recording rule (<c>record</c>).</summary>
    Recording,

    /// <summary>An alerting rule (<c>alert</c>).</summary>
    Alerting,
}

/// <summary>One rule of a group, validated.</summary>
public sealed class RuleDefinition
{
    internal RuleDefinition(RuleKind kind, string name, PromQLExpression expression, TimeSpan @for, TimeSpan keepFiringFor, Labels labels, Labels annotations, int index, int line)
    {
        Kind = kind;
        Name = name;
        Expression = expression;
        For = @for;
        KeepFiringFor = keepFiringFor;
        Labels = labels;
        Annotations = annotations;
        Index = index;
        Line = line;
    }

    /// <summary>Recording or alerting.</summary>
    public RuleKind Kind { get; }

    /// <summary>The recorded metric name or the alert name.</summary>
    public string Name { get; }

    /// <summary>The parsed expression.</summary>
    public PromQLExpression Expression { get; }

    /// <summary>How long an alert stays pending before it fires (<c>for</c>); zero for recording rules.</summary>
    public TimeSpan For { get; }

    /// <summary>How long an alert keeps firing after its condition cleared (<c>keep_firing_for</c>).</summary>
    public TimeSpan KeepFiringFor { get; }

    /// <summary>The rule's labels (template text for alerting rules).</summary>
    public Labels Labels { get; }

    /// <summary>The annotations (template text); empty for recording rules.</summary>
    public Labels Annotations { get; }

    /// <summary>The 1-based position of the rule in its group.</summary>
    public int Index { get; }

    /// <summary>The 1-based line of the rule's <c>record</c>/<c>alert</c> key.</summary>
    public int Line { get; }
}

/// <summary>
/// One thing wrong with a rule file, with where it is: file, group, rule (1-based index and name) and line/column
/// (1-based; 0 when the problem has no single place). <see cref="ToString"/> reads like <c>promtool check rules</c>.
/// </summary>
/// <param name="File">The file.</param>
/// <param name="Group">The group name, or null for file-level problems.</param>
/// <param name="RuleIndex">The 1-based rule index within the group, or 0.</param>
/// <param name="RuleName">The rule's record/alert name, or null.</param>
/// <param name="Line">The 1-based line, or 0.</param>
/// <param name="Column">The 1-based column, or 0.</param>
/// <param name="Message">What is wrong.</param>
public sealed record RuleFileProblem(string File, string? Group, int RuleIndex, string? RuleName, int Line, int Column, string Message)
{
    /// <summary>The problem as <c>file: line:col: group "g", rule 1, "name": message</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(File).Append(": ");
        if (Line > 0)
        {
            sb.Append(Line.ToString(CultureInfo.InvariantCulture)).Append(':').Append(Column.ToString(CultureInfo.InvariantCulture)).Append(": ");
        }

        if (Group is not null && RuleIndex > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"group \"{Group}\", rule {RuleIndex}, \"{RuleName}\": ");
        }
        else if (Group is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"group \"{Group}\": ");
        }

        sb.Append(Message);
        return sb.ToString();
    }
}

/// <summary>A rule file (or several) could not be loaded; <see cref="Problems"/> lists every problem found, not just the first.</summary>
public sealed class RuleFileException : MetricsCoordinationException
{
    /// <summary>Creates the exception from the problems found.</summary>
    public RuleFileException(IReadOnlyList<RuleFileProblem> problems)
        : base(BuildMessage(problems))
    {
        Problems = problems;
    }

    /// <summary>Every problem, in file order.</summary>
    public IReadOnlyList<RuleFileProblem> Problems { get; }

    private static string BuildMessage(IReadOnlyList<RuleFileProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        return problems.Count == 1
            ? problems[0].ToString()
            : string.Create(CultureInfo.InvariantCulture, $"{problems.Count} problems in rule files:\n") + string.Join('\n', problems.Select(p => p.ToString()));
    }
}
