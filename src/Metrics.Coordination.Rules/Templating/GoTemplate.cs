using System.Collections.Frozen;
using System.Text;

namespace Metrics.Coordination.Rules.Templating;

/// <summary>A parsed Go template: its name, text and the trees it defines (the main one under <see cref="Name"/>).</summary>
internal sealed class GoTemplate
{
    /// <summary>Go's builtins and Prometheus's alert template functions (immutable).</summary>
    internal static readonly FrozenDictionary<string, GoFunction> Functions =
        Builtins.All().Concat(PrometheusFunctions.All()).ToFrozenDictionary(f => f.Name, StringComparer.Ordinal);

    private GoTemplate(string name, string text, Dictionary<string, ListNode> trees)
    {
        Name = name;
        Text = text;
        Trees = trees;
        Root = trees[name];
    }

    public string Name { get; }

    public string Text { get; }

    public Dictionary<string, ListNode> Trees { get; }

    public ListNode Root { get; }

    /// <exception cref="TemplateParseException">The text does not parse.</exception>
    public static GoTemplate Parse(string name, string text) =>
        new(name, text, Parser.Parse(name, text, static n => Functions.GetValueOrDefault(n)));

    /// <summary>Executes with <paramref name="dot"/> as data; throws <see cref="TemplateExecException"/> on an error.</summary>
    public void Execute(StringBuilder output, ExecContext context, GoValue dot) => Executor.Execute(this, context, dot, output);
}
