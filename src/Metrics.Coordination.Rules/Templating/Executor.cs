using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Metrics.Coordination.Rules.Templating;

/// <summary>An execution error, already formatted as Go's text/template formats it.</summary>
internal sealed class TemplateExecException(string message) : Exception(message);

/// <summary>
/// Go's text/template executor (Go 1.19 semantics, <c>missingkey=zero</c> as Prometheus sets it) over
/// <see cref="GoValue"/>s: no reflection, values are unboxed structs, output goes to one <see cref="StringBuilder"/>.
/// </summary>
internal sealed class Executor
{
    /// <summary>
    /// Go allows 100,000 nested template calls on its growable stacks; a .NET thread's stack does not hold that many
    /// recursive walks, so a runaway recursion stops at this depth instead (same message, smaller number).
    /// </summary>
    internal const int MaxExecDepth = 1000;

    private readonly GoTemplate _template;
    private readonly ExecContext _context;
    private readonly StringBuilder _out;
    private readonly List<(string Name, GoValue Value)> _vars = new(8);
    private string _name;
    private Node? _node;
    private int _depth;

    private Executor(GoTemplate template, ExecContext context, StringBuilder output)
    {
        _template = template;
        _context = context;
        _out = output;
        _name = template.Name;
    }

    private enum Flow : byte
    {
        Normal,
        Break,
        Continue,
    }

    /// <summary>Executes the main template with <paramref name="dot"/>; throws <see cref="TemplateExecException"/>.</summary>
    public static void Execute(GoTemplate template, ExecContext context, GoValue dot, StringBuilder output)
    {
        var e = new Executor(template, context, output);
        e._vars.Add(("$", dot));
        e.Walk(dot, template.Root);
    }

    private TemplateExecException Errorf(string message)
    {
        if (_node is null)
        {
            return new TemplateExecException("template: " + _name + ": " + message);
        }

        var (line, col) = Location(_template.Text, _node.Pos);
        return new TemplateExecException(string.Create(
            CultureInfo.InvariantCulture,
            $"template: {_template.Name}:{line}:{col}: executing {GoFmt.Quote(_name)} at <{_node}>: {message}"));
    }

    /// <summary>Go's ErrorContext location: 1-based line, 0-based byte offset within the line.</summary>
    internal static (int Line, int Column) Location(string text, int pos)
    {
        pos = Math.Clamp(pos, 0, text.Length);
        var lastNewline = text.LastIndexOf('\n', Math.Max(0, pos - 1));
        if (pos == 0)
        {
            lastNewline = -1;
        }

        var line = 1;
        for (var i = 0; i < pos; i++)
        {
            if (text[i] == '\n')
            {
                line++;
            }
        }

        var col = Encoding.UTF8.GetByteCount(text.AsSpan(lastNewline + 1, pos - lastNewline - 1));
        return (line, col);
    }

    private Flow Walk(GoValue dot, Node node)
    {
        _node = node;
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            throw Errorf("exceeded maximum template depth (" + MaxExecDepth.ToString(CultureInfo.InvariantCulture) + ")");
        }

        switch (node)
        {
            case ActionNode action:
            {
                var val = EvalPipeline(dot, action.Pipe);
                if (action.Pipe.Decl.Count == 0)
                {
                    PrintValue(action, val);
                }

                return Flow.Normal;
            }

            case BreakNode:
                return Flow.Break;
            case ContinueNode:
                return Flow.Continue;
            case BranchNode { Kind: BranchKind.Range } range:
                WalkRange(dot, range);
                return Flow.Normal;
            case BranchNode branch:
                return WalkIfOrWith(dot, branch);
            case ListNode list:
                foreach (var n in list.Nodes)
                {
                    var flow = Walk(dot, n);
                    if (flow != Flow.Normal)
                    {
                        return flow;
                    }
                }

                return Flow.Normal;
            case TemplateNode t:
                WalkTemplate(dot, t);
                return Flow.Normal;
            case TextNode text:
                _out.Append(text.Text);
                return Flow.Normal;
            default:
                throw Errorf("unknown node: " + node);
        }
    }

    private Flow WalkIfOrWith(GoValue dot, BranchNode node)
    {
        var mark = _vars.Count;
        try
        {
            var val = EvalPipeline(dot, node.Pipe);
            if (val.IsTrue)
            {
                return Walk(node.Kind == BranchKind.With ? val : dot, node.List);
            }

            if (node.ElseList is not null)
            {
                return Walk(dot, node.ElseList);
            }

            return Flow.Normal;
        }
        finally
        {
            Pop(mark);
        }
    }

    private void WalkRange(GoValue dot, BranchNode r)
    {
        _node = r;
        var outer = _vars.Count;
        try
        {
            var val = EvalPipeline(dot, r.Pipe);
            var mark = _vars.Count;
            switch (val.Kind)
            {
                case GoKind.QueryResult:
                {
                    var samples = (TemplateSample[]?)val.Ref;
                    if (samples is null || samples.Length == 0)
                    {
                        break;
                    }

                    for (var i = 0; i < samples.Length; i++)
                    {
                        if (OneIteration(r, GoValue.FromInt(i), GoValue.FromSample(samples[i]), mark) == Flow.Break)
                        {
                            break;
                        }
                    }

                    return;
                }

                case GoKind.StringMap:
                {
                    var map = (IReadOnlyDictionary<string, string>?)val.Ref;
                    if (map is null || map.Count == 0)
                    {
                        break;
                    }

                    var keys = new string[map.Count];
                    var k = 0;
                    foreach (var key in map.Keys)
                    {
                        keys[k++] = key;
                    }

                    Array.Sort(keys, GoFmt.StringComparer);
                    foreach (var key in keys)
                    {
                        if (OneIteration(r, GoValue.FromString(key), GoValue.FromString(map[key]), mark) == Flow.Break)
                        {
                            break;
                        }
                    }

                    return;
                }

                case GoKind.AnyMap:
                {
                    var map = (Dictionary<string, GoValue>)val.Ref!;
                    if (map.Count == 0)
                    {
                        break;
                    }

                    var keys = map.Keys.ToArray();
                    Array.Sort(keys, GoFmt.StringComparer);
                    foreach (var key in keys)
                    {
                        if (OneIteration(r, GoValue.FromString(key), map[key], mark) == Flow.Break)
                        {
                            break;
                        }
                    }

                    return;
                }

                case GoKind.Invalid:
                    break;
                default:
                    throw Errorf("range can't iterate over " + GoFmt.Sprint([val]));
            }

            if (r.ElseList is not null)
            {
                Walk(dot, r.ElseList);
            }
        }
        finally
        {
            Pop(outer);
        }
    }

    private Flow OneIteration(BranchNode r, GoValue index, GoValue elem, int mark)
    {
        var decl = r.Pipe.Decl;
        if (decl.Count > 0)
        {
            if (r.Pipe.IsAssign)
            {
                SetVar(decl[0].Ident[0], decl.Count > 1 ? index : elem);
            }
            else
            {
                SetTopVar(1, elem);
            }
        }

        if (decl.Count > 1)
        {
            if (r.Pipe.IsAssign)
            {
                SetVar(decl[1].Ident[0], elem);
            }
            else
            {
                SetTopVar(2, index);
            }
        }

        try
        {
            return Walk(elem, r.List);
        }
        finally
        {
            Pop(mark);
        }
    }

    private void WalkTemplate(GoValue dot, TemplateNode t)
    {
        _node = t;
        if (!_template.Trees.TryGetValue(t.Name, out var tree))
        {
            throw Errorf("template " + GoFmt.Quote(t.Name) + " not defined");
        }

        if (_depth >= MaxExecDepth)
        {
            throw Errorf("exceeded maximum template depth (" + MaxExecDepth.ToString(CultureInfo.InvariantCulture) + ")");
        }

        var newDot = t.Pipe is null ? GoValue.Missing : EvalPipeline(dot, t.Pipe);
        var sub = new Executor(_template, _context, _out)
        {
            _depth = _depth + 1,
            _name = t.Name,
        };
        sub._vars.Add(("$", newDot));
        sub.Walk(newDot, tree);
    }

    private void Pop(int mark)
    {
        if (_vars.Count > mark)
        {
            _vars.RemoveRange(mark, _vars.Count - mark);
        }
    }

    private void SetVar(string name, GoValue value)
    {
        for (var i = _vars.Count - 1; i >= 0; i--)
        {
            if (_vars[i].Name == name)
            {
                _vars[i] = (name, value);
                return;
            }
        }

        throw Errorf("undefined variable: " + name);
    }

    private void SetTopVar(int n, GoValue value) => _vars[^n] = (_vars[^n].Name, value);

    private GoValue VarValue(string name)
    {
        for (var i = _vars.Count - 1; i >= 0; i--)
        {
            if (_vars[i].Name == name)
            {
                return _vars[i].Value;
            }
        }

        throw Errorf("undefined variable: " + name);
    }

    private GoValue EvalPipeline(GoValue dot, PipeNode pipe)
    {
        _node = pipe;
        var value = GoValue.Missing;
        var hasFinal = false;
        foreach (var cmd in pipe.Cmds)
        {
            value = EvalCommand(dot, cmd, value, hasFinal);
            hasFinal = true;
        }

        foreach (var variable in pipe.Decl)
        {
            if (pipe.IsAssign)
            {
                SetVar(variable.Ident[0], value);
            }
            else
            {
                _vars.Add((variable.Ident[0], value));
            }
        }

        return value;
    }

    private GoValue EvalCommand(GoValue dot, CommandNode cmd, GoValue final, bool hasFinal)
    {
        var firstWord = cmd.Args[0];
        switch (firstWord)
        {
            case FieldNode field:
                _node = field;
                return EvalFieldChain(dot, dot, field, field.Ident, 0, cmd.Args, final, hasFinal);
            case ChainNode chain:
                return EvalChainNode(dot, chain, cmd.Args, final, hasFinal);
            case IdentifierNode id:
                return EvalFunction(dot, id, cmd, cmd.Args, final, hasFinal);
            case PipeNode pipe:
                NotAFunction(cmd.Args, hasFinal);
                return EvalPipeline(dot, pipe);
            case VariableNode variable:
                return EvalVariableNode(dot, variable, cmd.Args, final, hasFinal);
        }

        _node = firstWord;
        NotAFunction(cmd.Args, hasFinal);
        switch (firstWord)
        {
            case BoolNode b:
                return GoValue.FromBool(b.True);
            case DotNode:
                return dot;
            case NilNode:
                throw Errorf("nil is not a command");
            case NumberNode n:
                return IdealConstant(n);
            case StringNode s:
                return s.Value;
        }

        throw Errorf("can't evaluate command " + GoFmt.Quote(firstWord.ToString()));
    }

    private void NotAFunction(List<Node> args, bool hasFinal)
    {
        if (args.Count > 1 || hasFinal)
        {
            throw Errorf("can't give argument to non-function " + args[0]);
        }
    }

    private GoValue IdealConstant(NumberNode n)
    {
        _node = n;
        if (n.IsFloat && !IsHexInt(n.Text) && !IsRuneInt(n.Text) && n.Text.AsSpan().IndexOfAny(".eEpP") >= 0)
        {
            return GoValue.FromFloat(n.Float64);
        }

        if (n.IsInt)
        {
            return GoValue.FromInt(n.Int64);
        }

        if (n.IsUint)
        {
            throw Errorf(n.Text + " overflows int");
        }

        return GoValue.Missing;
    }

    private static bool IsRuneInt(string s) => s.Length > 0 && s[0] == '\'';

    private static bool IsHexInt(string s) =>
        s.Length > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s.AsSpan().IndexOfAny("pP") < 0;

    private GoValue EvalVariableNode(GoValue dot, VariableNode variable, List<Node>? args, GoValue final, bool hasFinal)
    {
        _node = variable;
        var value = VarValue(variable.Ident[0]);
        if (variable.Ident.Length == 1)
        {
            if (args is not null)
            {
                NotAFunction(args, hasFinal);
            }

            return value;
        }

        return EvalFieldChain(dot, value, variable, variable.Ident, 1, args, final, hasFinal);
    }

    private GoValue EvalChainNode(GoValue dot, ChainNode chain, List<Node>? args, GoValue final, bool hasFinal)
    {
        _node = chain;
        if (chain.Node is NilNode)
        {
            throw Errorf("indirection through explicit nil in " + chain);
        }

        var pipe = EvalArg(dot, null, chain.Node);
        return EvalFieldChain(dot, pipe, chain, [.. chain.Field], 0, args, final, hasFinal);
    }

    private GoValue EvalFieldChain(GoValue dot, GoValue receiver, Node node, string[] ident, int start, List<Node>? args, GoValue final, bool hasFinal)
    {
        var n = ident.Length;
        for (var i = start; i < n - 1; i++)
        {
            receiver = EvalField(ident[i], node, null, default, false, receiver);
        }

        return EvalField(ident[n - 1], node, args, final, hasFinal, receiver);
    }

    private GoValue EvalField(string fieldName, Node node, List<Node>? args, GoValue final, bool hasFinal, GoValue receiver)
    {
        if (!receiver.IsValid)
        {
            return GoValue.Missing;
        }

        var hasArgs = (args is not null && args.Count > 1) || hasFinal;
        switch (receiver.Kind)
        {
            case GoKind.Data:
            {
                var data = (AlertTemplateData)receiver.Ref!;
                GoValue? field = fieldName switch
                {
                    "Labels" => GoValue.FromStringMap(data.Labels),
                    "ExternalLabels" => GoValue.FromStringMap(data.ExternalLabels),
                    "ExternalURL" => GoValue.FromString(data.ExternalUrl),
                    "Value" => GoValue.FromFloat(data.Value),
                    _ => null,
                };
                if (field is not null)
                {
                    if (hasArgs)
                    {
                        throw Errorf(fieldName + " has arguments but cannot be invoked as function");
                    }

                    return field.Value;
                }

                break;
            }

            case GoKind.Sample:
            {
                var sample = (TemplateSample?)receiver.Ref;
                if (fieldName is "Labels" or "Value")
                {
                    if (sample is null)
                    {
                        throw Errorf("nil pointer evaluating *template.sample." + fieldName);
                    }

                    if (hasArgs)
                    {
                        throw Errorf(fieldName + " has arguments but cannot be invoked as function");
                    }

                    return fieldName == "Labels" ? GoValue.FromStringMap(sample.Labels) : GoValue.FromFloat(sample.Value);
                }

                break;
            }

            case GoKind.StringMap:
            {
                if (hasArgs)
                {
                    throw Errorf(fieldName + " is not a method but has arguments");
                }

                var map = (IReadOnlyDictionary<string, string>?)receiver.Ref;
                return map is not null && map.TryGetValue(fieldName, out var s) ? GoValue.FromString(s) : GoValue.EmptyString;
            }

            case GoKind.AnyMap:
            {
                if (hasArgs)
                {
                    throw Errorf(fieldName + " is not a method but has arguments");
                }

                return ((Dictionary<string, GoValue>)receiver.Ref!).TryGetValue(fieldName, out var v) ? v : GoValue.Missing;
            }

            case GoKind.Time:
            {
                var method = TimeMethod(fieldName, receiver.Int);
                if (method is not null)
                {
                    if (hasArgs)
                    {
                        throw Errorf("wrong number of args for " + fieldName + ": want 0 got " + ((args?.Count ?? 1) - 1 + (hasFinal ? 1 : 0)).ToString(CultureInfo.InvariantCulture));
                    }

                    return method.Value;
                }

                break;
            }
        }

        throw Errorf("can't evaluate field " + fieldName + " in type " + receiver.TypeName);
    }

    /// <summary>The argument-less methods of time.Time that are useful in templates (on a UTC time).</summary>
    private static GoValue? TimeMethod(string name, long unixNanos)
    {
        var seconds = Math.DivRem(unixNanos, 1_000_000_000L, out var nanos);
        if (nanos < 0)
        {
            seconds--;
            nanos += 1_000_000_000L;
        }

        return name switch
        {
            "Unix" => GoValue.FromInt64(seconds),
            "UnixMilli" => GoValue.FromInt64((seconds * 1000) + (nanos / 1_000_000)),
            "UnixNano" => GoValue.FromInt64(unixNanos),
            "UTC" => GoValue.FromTime(unixNanos),
            "String" => GoValue.FromString(GoFmt.FormatTime(unixNanos)),
            "Year" => GoValue.FromInt(DateTimeOffset.FromUnixTimeSeconds(seconds).Year),
            "YearDay" => GoValue.FromInt(DateTimeOffset.FromUnixTimeSeconds(seconds).DayOfYear),
            "Day" => GoValue.FromInt(DateTimeOffset.FromUnixTimeSeconds(seconds).Day),
            "Hour" => GoValue.FromInt(DateTimeOffset.FromUnixTimeSeconds(seconds).Hour),
            "Minute" => GoValue.FromInt(DateTimeOffset.FromUnixTimeSeconds(seconds).Minute),
            "Second" => GoValue.FromInt(DateTimeOffset.FromUnixTimeSeconds(seconds).Second),
            "Nanosecond" => GoValue.FromInt(nanos),
            _ => null,
        };
    }

    private GoValue EvalFunction(GoValue dot, IdentifierNode node, Node cmd, List<Node>? args, GoValue final, bool hasFinal)
    {
        _node = node;
        return EvalCall(dot, node.Function, cmd, node.Ident, args, final, hasFinal);
    }

    private GoValue EvalCall(GoValue dot, GoFunction fun, Node node, string name, List<Node>? allArgs, GoValue final, bool hasFinal)
    {
        var argCount = allArgs is null ? 0 : allArgs.Count - 1;
        var numIn = argCount + (hasFinal ? 1 : 0);
        var parameters = fun.Parameters;
        var numFixed = argCount;
        if (fun.Variadic)
        {
            numFixed = parameters.Length - 1;
            if (numIn < numFixed)
            {
                throw Errorf(string.Create(CultureInfo.InvariantCulture, $"wrong number of args for {name}: want at least {parameters.Length - 1} got {argCount}"));
            }
        }
        else if (numIn != parameters.Length)
        {
            throw Errorf(string.Create(CultureInfo.InvariantCulture, $"wrong number of args for {name}: want {parameters.Length} got {numIn}"));
        }

        if (fun.Builtin && name is "and" or "or")
        {
            var v = GoValue.Missing;
            for (var i = 1; i <= argCount; i++)
            {
                v = EvalArg(dot, ParamType.Value, allArgs![i]);
                if (v.IsTrue == (name == "or"))
                {
                    return v;
                }
            }

            if (hasFinal)
            {
                v = final;
            }

            return v;
        }

        var argv = numIn <= 8 ? new GoValue[numIn] : new GoValue[numIn];
        var k = 0;
        for (; k < numFixed && k < argCount; k++)
        {
            argv[k] = EvalArg(dot, parameters[k], allArgs![k + 1]);
        }

        if (fun.Variadic)
        {
            var elem = parameters[^1];
            for (; k < argCount; k++)
            {
                argv[k] = EvalArg(dot, elem, allArgs![k + 1]);
            }
        }

        if (hasFinal)
        {
            ParamType t;
            if (fun.Variadic)
            {
                t = numIn - 1 < numFixed ? parameters[numIn - 1] : parameters[^1];
            }
            else
            {
                t = parameters[^1];
            }

            argv[k] = ValidateType(final, t);
        }

        try
        {
            return fun.Invoke(_context, argv);
        }
        catch (GoCallError e)
        {
            _node = node;
            throw Errorf("error calling " + name + ": " + e.Message);
        }
    }

    private GoValue EvalArg(GoValue dot, ParamType? typ, Node n)
    {
        _node = n;
        switch (n)
        {
            case DotNode:
                return ValidateType(dot, typ);
            case NilNode:
                if (typ is null or ParamType.Any or ParamType.Value or ParamType.Sample or ParamType.QueryResult)
                {
                    return typ switch
                    {
                        ParamType.Sample => GoValue.FromSample(null),
                        ParamType.QueryResult => GoValue.FromQueryResult(null),
                        _ => GoValue.Missing,
                    };
                }

                throw Errorf("cannot assign nil to " + GoFunction.TypeName(typ.Value));
            case FieldNode field:
                return ValidateType(EvalFieldChain(dot, dot, field, field.Ident, 0, [n], default, false), typ);
            case VariableNode variable:
                return ValidateType(EvalVariableNode(dot, variable, null, default, false), typ);
            case PipeNode pipe:
                return ValidateType(EvalPipeline(dot, pipe), typ);
            case IdentifierNode id:
                return ValidateType(EvalFunction(dot, id, id, null, default, false), typ);
            case ChainNode chain:
                return ValidateType(EvalChainNode(dot, chain, null, default, false), typ);
        }

        switch (typ)
        {
            case ParamType.Bool:
                if (n is BoolNode b)
                {
                    return GoValue.FromBool(b.True);
                }

                throw Errorf("expected bool; found " + n);
            case ParamType.Float64:
                if (n is NumberNode { IsFloat: true } f)
                {
                    return GoValue.FromFloat(f.Float64);
                }

                throw Errorf("expected float; found " + n);
            case ParamType.Int:
                if (n is NumberNode { IsInt: true } i)
                {
                    return GoValue.FromInt(i.Int64);
                }

                throw Errorf("expected integer; found " + n);
            case ParamType.String:
                if (n is StringNode s)
                {
                    return s.Value;
                }

                throw Errorf("expected string; found " + n);
            case null:
            case ParamType.Any:
            case ParamType.Value:
                return EvalEmptyInterface(dot, n);
            default:
                throw Errorf("can't handle " + n + " for arg of type " + GoFunction.TypeName(typ.Value));
        }
    }

    private GoValue EvalEmptyInterface(GoValue dot, Node n)
    {
        _node = n;
        switch (n)
        {
            case BoolNode b:
                return GoValue.FromBool(b.True);
            case NumberNode num:
                return IdealConstant(num);
            case StringNode s:
                return s.Value;
        }

        throw Errorf("can't handle assignment of " + n + " to empty interface argument");
    }

    private GoValue ValidateType(GoValue value, ParamType? typ)
    {
        if (typ is null or ParamType.Any or ParamType.Value)
        {
            return value;
        }

        if (!value.IsValid)
        {
            return typ switch
            {
                ParamType.Sample => GoValue.FromSample(null),
                ParamType.QueryResult => GoValue.FromQueryResult(null),
                _ => throw Errorf("invalid value; expected " + GoFunction.TypeName(typ.Value)),
            };
        }

        var ok = typ switch
        {
            ParamType.String => value.Kind == GoKind.String,
            ParamType.Float64 => value.Kind == GoKind.Float,
            ParamType.Int => value.Kind == GoKind.Int,
            ParamType.Bool => value.Kind == GoKind.Bool,
            ParamType.Sample => value.Kind == GoKind.Sample,
            ParamType.QueryResult => value.Kind == GoKind.QueryResult,
            _ => false,
        };
        if (!ok)
        {
            throw Errorf("wrong type for value; expected " + GoFunction.TypeName(typ.Value) + "; got " + value.TypeName);
        }

        return value;
    }

    private void PrintValue(Node n, GoValue v)
    {
        _node = n;
        switch (v.Kind)
        {
            case GoKind.Invalid:
                _out.Append("<no value>");
                return;
            case GoKind.String:
            case GoKind.Html:
                _out.Append(v.Str);
                return;
            case GoKind.Float:
                GoFloat.Append(_out, v.Float, 'g', -1);
                return;
            case GoKind.Int:
            case GoKind.Int64:
            case GoKind.Uint8:
                _out.Append(v.Int);
                return;
            case GoKind.Sample when v.Ref is not null:
                // text/template prints what a pointer points to.
                var sample = (TemplateSample)v.Ref;
                _out.Append('{');
                GoFmt.AppendValue(_out, GoValue.FromStringMap(sample.Labels));
                _out.Append(' ');
                GoFloat.Append(_out, sample.Value, 'g', -1);
                _out.Append('}');
                return;
            default:
                GoFmt.AppendValue(_out, v);
                return;
        }
    }
}
