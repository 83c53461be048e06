using System.Text;

namespace Metrics.Coordination.Rules.Templating;

/// <summary>A node of a parsed template. <see cref="ToString"/> prints it as Go's parse package does (error contexts).</summary>
internal abstract class Node
{
    protected Node(int pos)
    {
        Pos = pos;
    }

    /// <summary>UTF-16 offset of the node in the template text.</summary>
    public int Pos { get; }

    public abstract void Write(StringBuilder sb);

    public override string ToString()
    {
        var sb = new StringBuilder();
        Write(sb);
        return sb.ToString();
    }
}

internal sealed class ListNode(int pos) : Node(pos)
{
    public List<Node> Nodes { get; } = [];

    public override void Write(StringBuilder sb)
    {
        foreach (var n in Nodes)
        {
            n.Write(sb);
        }
    }
}

internal sealed class TextNode(int pos, string text) : Node(pos)
{
    public string Text { get; } = text;

    public override void Write(StringBuilder sb) => sb.Append(Text);
}

internal sealed class ActionNode(int pos, int line, PipeNode pipe) : Node(pos)
{
    public int Line { get; } = line;

    public PipeNode Pipe { get; } = pipe;

    public override void Write(StringBuilder sb)
    {
        sb.Append("{{");
        Pipe.Write(sb);
        sb.Append("}}");
    }
}

internal sealed class PipeNode(int pos, int line) : Node(pos)
{
    public int Line { get; } = line;

    public bool IsAssign { get; set; }

    public List<VariableNode> Decl { get; } = [];

    public List<CommandNode> Cmds { get; } = [];

    public override void Write(StringBuilder sb)
    {
        if (Decl.Count > 0)
        {
            for (var i = 0; i < Decl.Count; i++)
            {
                if (i > 0)
                {
                    sb.Append(", ");
                }

                Decl[i].Write(sb);
            }

            sb.Append(IsAssign ? " = " : " := ");
        }

        for (var i = 0; i < Cmds.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(" | ");
            }

            Cmds[i].Write(sb);
        }
    }
}

internal sealed class CommandNode(int pos) : Node(pos)
{
    public List<Node> Args { get; } = [];

    public override void Write(StringBuilder sb)
    {
        for (var i = 0; i < Args.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(' ');
            }

            if (Args[i] is PipeNode p)
            {
                sb.Append('(');
                p.Write(sb);
                sb.Append(')');
                continue;
            }

            Args[i].Write(sb);
        }
    }
}

internal sealed class IdentifierNode(int pos, string ident, GoFunction function) : Node(pos)
{
    public string Ident { get; } = ident;

    public GoFunction Function { get; } = function;

    public override void Write(StringBuilder sb) => sb.Append(Ident);
}

internal sealed class VariableNode(int pos, string[] ident) : Node(pos)
{
    /// <summary>The variable name (with <c>$</c>) followed by field names.</summary>
    public string[] Ident { get; } = ident;

    public override void Write(StringBuilder sb) => sb.AppendJoin('.', Ident);
}

internal sealed class DotNode(int pos) : Node(pos)
{
    public override void Write(StringBuilder sb) => sb.Append('.');
}

internal sealed class NilNode(int pos) : Node(pos)
{
    public override void Write(StringBuilder sb) => sb.Append("nil");
}

internal sealed class FieldNode(int pos, string[] ident) : Node(pos)
{
    public string[] Ident { get; } = ident;

    public override void Write(StringBuilder sb)
    {
        foreach (var id in Ident)
        {
            sb.Append('.').Append(id);
        }
    }
}

internal sealed class ChainNode(int pos, Node node) : Node(pos)
{
    public Node Node { get; } = node;

    public List<string> Field { get; } = [];

    public override void Write(StringBuilder sb)
    {
        if (Node is PipeNode)
        {
            sb.Append('(');
            Node.Write(sb);
            sb.Append(')');
        }
        else
        {
            Node.Write(sb);
        }

        foreach (var f in Field)
        {
            sb.Append('.').Append(f);
        }
    }
}

internal sealed class BoolNode(int pos, bool value) : Node(pos)
{
    public bool True { get; } = value;

    public override void Write(StringBuilder sb) => sb.Append(True ? "true" : "false");
}

internal sealed class NumberNode(int pos, string text) : Node(pos)
{
    public string Text { get; } = text;

    public bool IsInt { get; set; }

    public bool IsUint { get; set; }

    public bool IsFloat { get; set; }

    public bool IsComplex { get; set; }

    public long Int64 { get; set; }

    public double Float64 { get; set; }

    public override void Write(StringBuilder sb) => sb.Append(Text);
}

internal sealed class StringNode(int pos, string quoted, string text) : Node(pos)
{
    public string Quoted { get; } = quoted;

    public string Text { get; } = text;

    public GoValue Value { get; } = GoValue.FromString(text);

    public override void Write(StringBuilder sb) => sb.Append(Quoted);
}

internal sealed class EndNode(int pos) : Node(pos)
{
    public override void Write(StringBuilder sb) => sb.Append("{{end}}");
}

internal sealed class ElseNode(int pos, int line) : Node(pos)
{
    public int Line { get; } = line;

    public override void Write(StringBuilder sb) => sb.Append("{{else}}");
}

internal enum BranchKind : byte
{
    If,
    Range,
    With,
}

internal sealed class BranchNode(BranchKind kind, int pos, int line, PipeNode pipe, ListNode list, ListNode? elseList) : Node(pos)
{
    public BranchKind Kind { get; } = kind;

    public int Line { get; } = line;

    public PipeNode Pipe { get; } = pipe;

    public ListNode List { get; } = list;

    public ListNode? ElseList { get; } = elseList;

    public override void Write(StringBuilder sb)
    {
        var name = Kind switch { BranchKind.If => "if", BranchKind.Range => "range", _ => "with" };
        sb.Append("{{").Append(name).Append(' ');
        Pipe.Write(sb);
        sb.Append("}}");
        List.Write(sb);
        if (ElseList is not null)
        {
            sb.Append("{{else}}");
            ElseList.Write(sb);
        }

        sb.Append("{{end}}");
    }
}

internal sealed class TemplateNode(int pos, int line, string name, PipeNode? pipe) : Node(pos)
{
    public int Line { get; } = line;

    public string Name { get; } = name;

    public PipeNode? Pipe { get; } = pipe;

    public override void Write(StringBuilder sb)
    {
        sb.Append("{{template ").Append(GoFmt.Quote(Name));
        if (Pipe is not null)
        {
            sb.Append(' ');
            Pipe.Write(sb);
        }

        sb.Append("}}");
    }
}

internal sealed class BreakNode(int pos, int line) : Node(pos)
{
    public int Line { get; } = line;

    public override void Write(StringBuilder sb) => sb.Append("{{break}}");
}

internal sealed class ContinueNode(int pos, int line) : Node(pos)
{
    public int Line { get; } = line;

    public override void Write(StringBuilder sb) => sb.Append("{{continue}}");
}
