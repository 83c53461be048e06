using System.Globalization;
using System.Text;

namespace Metrics.Coordination.Rules.Templating;

/// <summary>
/// Go's text/template parser (the <c>parse</c> package's recursive descent, with its three-item look-ahead), producing
/// the set of named trees of one template text: the main one plus every <c>define</c>/<c>block</c>. Errors read as Go's:
/// <c>template: NAME:LINE: message</c>, LINE being that of the last item read.
/// </summary>
internal sealed class Parser
{
    private readonly string _name;
    private readonly string _text;
    private readonly List<Item> _items;
    private readonly Dictionary<string, ListNode> _treeSet;
    private readonly Func<string, GoFunction?> _functions;
    private int _next;
    private readonly Item[] _token = new Item[3];
    private int _peekCount;
    private List<string> _vars = ["$"];
    private int _actionLine;
    private int _rangeDepth;
    private int _depth;

    /// <summary>
    /// Nesting limit for parenthesized pipelines and control structures, so a hostile rule file cannot exhaust the
    /// thread's stack (Go's parser has the same guard at 10,000 on its growable stacks; .NET stacks are smaller).
    /// </summary>
    internal const int MaxDepth = 500;

    private Parser(string name, string text, List<Item> items, Dictionary<string, ListNode> treeSet, Func<string, GoFunction?> functions)
    {
        _name = name;
        _text = text;
        _items = items;
        _treeSet = treeSet;
        _functions = functions;
    }

    /// <summary>Parses <paramref name="text"/>; returns the trees by name (the main one under <paramref name="name"/>).</summary>
    /// <exception cref="TemplateParseException">The text does not parse.</exception>
    public static Dictionary<string, ListNode> Parse(string name, string text, Func<string, GoFunction?> functions)
    {
        var items = Lexer.Lex(text);
        var trees = new Dictionary<string, ListNode>(StringComparer.Ordinal);
        var parser = new Parser(name, text, items, trees, functions);
        try
        {
            var root = parser.ParseRoot();
            parser.Add(name, root);
        }
        catch (ParseError e)
        {
            throw new TemplateParseException(name, e.Line, e.Reason);
        }

        return trees;
    }

    private sealed class ParseError(int line, string reason) : Exception(reason)
    {
        public int Line { get; } = line;

        public string Reason { get; } = reason;
    }

    private ParseError Errorf(string message) => new(_token[0].Line, message);

    private Item LexNext()
    {
        var item = _items[Math.Min(_next, _items.Count - 1)];
        if (_next < _items.Count)
        {
            _next++;
        }

        return item;
    }

    private Item Next()
    {
        if (_peekCount > 0)
        {
            _peekCount--;
        }
        else
        {
            _token[0] = LexNext();
        }

        return _token[_peekCount];
    }

    private void Backup() => _peekCount++;

    private void Backup2(Item t1)
    {
        _token[1] = t1;
        _peekCount = 2;
    }

    private void Backup3(Item t2, Item t1)
    {
        _token[1] = t1;
        _token[2] = t2;
        _peekCount = 3;
    }

    private Item Peek()
    {
        if (_peekCount > 0)
        {
            return _token[_peekCount - 1];
        }

        _peekCount = 1;
        _token[0] = LexNext();
        return _token[0];
    }

    private Item NextNonSpace()
    {
        Item token;
        do
        {
            token = Next();
        }
        while (token.Type == ItemType.Space);

        return token;
    }

    private Item PeekNonSpace()
    {
        var token = NextNonSpace();
        Backup();
        return token;
    }

    private Item Expect(ItemType expected, string context)
    {
        var token = NextNonSpace();
        if (token.Type != expected)
        {
            throw Unexpected(token, context);
        }

        return token;
    }

    private Item ExpectOneOf(ItemType expected1, ItemType expected2, string context)
    {
        var token = NextNonSpace();
        if (token.Type != expected1 && token.Type != expected2)
        {
            throw Unexpected(token, context);
        }

        return token;
    }

    private ParseError Unexpected(Item token, string context)
    {
        if (token.Type == ItemType.Error)
        {
            var extra = string.Empty;
            if (_actionLine != 0 && _actionLine != token.Line)
            {
                extra = string.Create(CultureInfo.InvariantCulture, $" in action started at {_name}:{_actionLine}");
                if (token.Val.EndsWith(" action", StringComparison.Ordinal))
                {
                    extra = extra[" in action".Length..];
                }
            }

            return Errorf(token.Val + extra);
        }

        return Errorf("unexpected " + token + " in " + context);
    }

    private void Add(string name, ListNode root)
    {
        if (!_treeSet.TryGetValue(name, out var existing) || IsEmptyTree(existing))
        {
            _treeSet[name] = root;
            return;
        }

        if (!IsEmptyTree(root))
        {
            throw Errorf("template: multiple definition of template " + GoFmt.Quote(name));
        }
    }

    private static bool IsEmptyTree(Node n) => n switch
    {
        ListNode l => l.Nodes.TrueForAll(IsEmptyTree),
        TextNode t => string.IsNullOrWhiteSpace(t.Text),
        _ => false,
    };

    private ListNode ParseRoot()
    {
        var root = new ListNode(Peek().Pos);
        while (Peek().Type != ItemType.Eof)
        {
            if (Peek().Type == ItemType.LeftDelim)
            {
                var delim = Next();
                if (NextNonSpace().Type == ItemType.Define)
                {
                    var savedVars = _vars;
                    _vars = ["$"];
                    ParseDefinition();
                    _vars = savedVars;
                    continue;
                }

                Backup2(delim);
            }

            var n = TextOrAction();
            if (n is EndNode or ElseNode)
            {
                throw Errorf("unexpected " + n);
            }

            root.Nodes.Add(n);
        }

        return root;
    }

    private void ParseDefinition()
    {
        const string context = "define clause";
        var nameItem = ExpectOneOf(ItemType.String, ItemType.RawString, context);
        var name = Unquote(nameItem.Val) ?? throw Errorf("invalid syntax");
        Expect(ItemType.RightDelim, context);
        var (list, end) = ItemList();
        if (end is not EndNode)
        {
            throw Errorf("unexpected " + end + " in " + context);
        }

        Add(name, list);
    }

    private (ListNode List, Node Next) ItemList()
    {
        var list = new ListNode(PeekNonSpace().Pos);
        while (PeekNonSpace().Type != ItemType.Eof)
        {
            var n = TextOrAction();
            if (n is EndNode or ElseNode)
            {
                return (list, n);
            }

            list.Nodes.Add(n);
        }

        throw Errorf("unexpected EOF");
    }

    private Node TextOrAction()
    {
        var token = NextNonSpace();
        switch (token.Type)
        {
            case ItemType.Text:
                return new TextNode(token.Pos, token.Val);
            case ItemType.LeftDelim:
                _actionLine = token.Line;
                try
                {
                    return Action();
                }
                finally
                {
                    _actionLine = 0;
                }

            default:
                throw Unexpected(token, "input");
        }
    }

    private Node Action()
    {
        if (++_depth > MaxDepth)
        {
            throw Errorf("max expression depth exceeded");
        }

        try
        {
            return ActionBody();
        }
        finally
        {
            _depth--;
        }
    }

    private Node ActionBody()
    {
        var token = NextNonSpace();
        switch (token.Type)
        {
            case ItemType.Block:
                return BlockControl();
            case ItemType.Break:
                return BreakControl(token);
            case ItemType.Continue:
                return ContinueControl(token);
            case ItemType.Else:
                return ElseControl();
            case ItemType.End:
                return new EndNode(Expect(ItemType.RightDelim, "end").Pos);
            case ItemType.If:
                return Control(BranchKind.If, allowElseIf: true, "if");
            case ItemType.Range:
                return Control(BranchKind.Range, allowElseIf: false, "range");
            case ItemType.Template:
                return TemplateControl();
            case ItemType.With:
                return Control(BranchKind.With, allowElseIf: false, "with");
        }

        Backup();
        token = Peek();
        return new ActionNode(token.Pos, token.Line, Pipeline("command", ItemType.RightDelim));
    }

    private BreakNode BreakControl(Item token)
    {
        var next = NextNonSpace();
        if (next.Type != ItemType.RightDelim)
        {
            throw Unexpected(next, "{{break}}");
        }

        if (_rangeDepth == 0)
        {
            throw Errorf("{{break}} outside {{range}}");
        }

        return new BreakNode(token.Pos, token.Line);
    }

    private ContinueNode ContinueControl(Item token)
    {
        var next = NextNonSpace();
        if (next.Type != ItemType.RightDelim)
        {
            throw Unexpected(next, "{{continue}}");
        }

        if (_rangeDepth == 0)
        {
            throw Errorf("{{continue}} outside {{range}}");
        }

        return new ContinueNode(token.Pos, token.Line);
    }

    private ElseNode ElseControl()
    {
        var peek = PeekNonSpace();
        if (peek.Type == ItemType.If)
        {
            return new ElseNode(peek.Pos, peek.Line);
        }

        var token = Expect(ItemType.RightDelim, "else");
        return new ElseNode(token.Pos, token.Line);
    }

    private BranchNode Control(BranchKind kind, bool allowElseIf, string context)
    {
        var mark = _vars.Count;
        try
        {
            var pipe = Pipeline(context, ItemType.RightDelim);
            if (kind == BranchKind.Range)
            {
                _rangeDepth++;
            }

            var (list, next) = ItemList();
            if (kind == BranchKind.Range)
            {
                _rangeDepth--;
            }

            ListNode? elseList = null;
            if (next is ElseNode)
            {
                if (allowElseIf && Peek().Type == ItemType.If)
                {
                    Next();
                    elseList = new ListNode(next.Pos);
                    elseList.Nodes.Add(Control(BranchKind.If, allowElseIf: true, "if"));
                }
                else
                {
                    (elseList, next) = ItemList();
                    if (next is not EndNode)
                    {
                        throw Errorf("expected end; found " + next);
                    }
                }
            }

            return new BranchNode(kind, pipe.Pos, pipe.Line, pipe, list, elseList);
        }
        finally
        {
            _vars.RemoveRange(mark, _vars.Count - mark);
        }
    }

    private TemplateNode BlockControl()
    {
        const string context = "block clause";
        var token = NextNonSpace();
        var name = ParseTemplateName(token, context);
        var pipe = Pipeline(context, ItemType.RightDelim);
        var savedVars = _vars;
        var savedRangeDepth = _rangeDepth;
        _vars = ["$"];
        _rangeDepth = 0;
        var (list, end) = ItemList();
        _vars = savedVars;
        _rangeDepth = savedRangeDepth;
        if (end is not EndNode)
        {
            throw Errorf("unexpected " + end + " in " + context);
        }

        Add(name, list);
        return new TemplateNode(token.Pos, token.Line, name, pipe);
    }

    private TemplateNode TemplateControl()
    {
        const string context = "template clause";
        var token = NextNonSpace();
        var name = ParseTemplateName(token, context);
        PipeNode? pipe = null;
        if (NextNonSpace().Type != ItemType.RightDelim)
        {
            Backup();
            pipe = Pipeline(context, ItemType.RightDelim);
        }

        return new TemplateNode(token.Pos, token.Line, name, pipe);
    }

    private string ParseTemplateName(Item token, string context)
    {
        if (token.Type is ItemType.String or ItemType.RawString)
        {
            return Unquote(token.Val) ?? throw Errorf("invalid syntax");
        }

        throw Unexpected(token, context);
    }

    private PipeNode Pipeline(string context, ItemType end)
    {
        if (++_depth > MaxDepth)
        {
            throw Errorf("max expression depth exceeded");
        }

        try
        {
            return PipelineBody(context, end);
        }
        finally
        {
            _depth--;
        }
    }

    private PipeNode PipelineBody(string context, ItemType end)
    {
        var token = PeekNonSpace();
        var pipe = new PipeNode(token.Pos, token.Line);
    decls:
        var v = PeekNonSpace();
        if (v.Type == ItemType.Variable)
        {
            Next();
            var tokenAfterVariable = Peek();
            var next = PeekNonSpace();
            if (next.Type is ItemType.Assign or ItemType.Declare)
            {
                pipe.IsAssign = next.Type == ItemType.Assign;
                NextNonSpace();
                pipe.Decl.Add(new VariableNode(v.Pos, [v.Val]));
                _vars.Add(v.Val);
            }
            else if (next.Type == ItemType.Char && next.Val == ",")
            {
                NextNonSpace();
                pipe.Decl.Add(new VariableNode(v.Pos, [v.Val]));
                _vars.Add(v.Val);
                if (context == "range" && pipe.Decl.Count < 2)
                {
                    var p = PeekNonSpace().Type;
                    if (p is ItemType.Variable or ItemType.RightDelim or ItemType.RightParen)
                    {
                        goto decls;
                    }

                    throw Errorf("range can only initialize variables");
                }

                throw Errorf("too many declarations in " + context);
            }
            else if (tokenAfterVariable.Type == ItemType.Space)
            {
                Backup3(v, tokenAfterVariable);
            }
            else
            {
                Backup2(v);
            }
        }

        while (true)
        {
            var t = NextNonSpace();
            if (t.Type == end)
            {
                if (pipe.Cmds.Count == 0)
                {
                    throw Errorf("missing value for " + context);
                }

                for (var i = 1; i < pipe.Cmds.Count; i++)
                {
                    if (pipe.Cmds[i].Args[0] is BoolNode or DotNode or NilNode or NumberNode or StringNode)
                    {
                        throw Errorf("non executable command in pipeline stage " + (i + 1).ToString(CultureInfo.InvariantCulture));
                    }
                }

                return pipe;
            }

            switch (t.Type)
            {
                case ItemType.Bool:
                case ItemType.CharConstant:
                case ItemType.Complex:
                case ItemType.Dot:
                case ItemType.Field:
                case ItemType.Identifier:
                case ItemType.Number:
                case ItemType.Nil:
                case ItemType.RawString:
                case ItemType.String:
                case ItemType.Variable:
                case ItemType.LeftParen:
                    Backup();
                    pipe.Cmds.Add(Command());
                    break;
                default:
                    throw Unexpected(t, context);
            }
        }
    }

    private CommandNode Command()
    {
        var cmd = new CommandNode(PeekNonSpace().Pos);
        while (true)
        {
            PeekNonSpace();
            var operand = Operand();
            if (operand is not null)
            {
                cmd.Args.Add(operand);
            }

            var token = Next();
            switch (token.Type)
            {
                case ItemType.Space:
                    continue;
                case ItemType.RightDelim:
                case ItemType.RightParen:
                    Backup();
                    break;
                case ItemType.Pipe:
                    break;
                default:
                    throw Unexpected(token, "operand");
            }

            break;
        }

        if (cmd.Args.Count == 0)
        {
            throw Errorf("empty command");
        }

        return cmd;
    }

    private Node? Operand()
    {
        var node = Term();
        if (node is null)
        {
            return null;
        }

        if (Peek().Type == ItemType.Field)
        {
            var chain = new ChainNode(Peek().Pos, node);
            while (Peek().Type == ItemType.Field)
            {
                chain.Field.Add(Next().Val[1..]);
            }

            switch (node)
            {
                case FieldNode f:
                    return new FieldNode(chain.Pos, [.. f.Ident, .. chain.Field]);
                case VariableNode v:
                    return new VariableNode(chain.Pos, [.. v.Ident, .. chain.Field]);
                case BoolNode or StringNode or NumberNode or NilNode or DotNode:
                    throw Errorf("unexpected . after term " + GoFmt.Quote(node.ToString()));
                default:
                    return chain;
            }
        }

        return node;
    }

    private Node? Term()
    {
        var token = NextNonSpace();
        switch (token.Type)
        {
            case ItemType.Identifier:
            {
                var function = _functions(token.Val) ?? throw Errorf("function " + GoFmt.Quote(token.Val) + " not defined");
                return new IdentifierNode(token.Pos, token.Val, function);
            }

            case ItemType.Dot:
                return new DotNode(token.Pos);
            case ItemType.Nil:
                return new NilNode(token.Pos);
            case ItemType.Variable:
                return UseVar(token.Pos, token.Val);
            case ItemType.Field:
                return new FieldNode(token.Pos, [token.Val[1..]]);
            case ItemType.Bool:
                return new BoolNode(token.Pos, token.Val == "true");
            case ItemType.CharConstant:
            case ItemType.Complex:
            case ItemType.Number:
                return NewNumber(token);
            case ItemType.LeftParen:
                return Pipeline("parenthesized pipeline", ItemType.RightParen);
            case ItemType.String:
            case ItemType.RawString:
            {
                var s = Unquote(token.Val) ?? throw Errorf("invalid syntax");
                return new StringNode(token.Pos, token.Val, s);
            }
        }

        Backup();
        return null;
    }

    private VariableNode UseVar(int pos, string name)
    {
        var ident = name.Split('.');
        if (!_vars.Contains(ident[0]))
        {
            throw Errorf("undefined variable " + GoFmt.Quote(ident[0]));
        }

        return new VariableNode(pos, ident);
    }

    private NumberNode NewNumber(Item token)
    {
        var text = token.Val;
        var n = new NumberNode(token.Pos, text);
        if (token.Type == ItemType.CharConstant)
        {
            var (rune, tail) = UnquoteChar(text, 1, '\'');
            if (rune < 0)
            {
                throw Errorf("invalid syntax");
            }

            if (tail != text.Length - 1 || text[^1] != '\'')
            {
                throw Errorf("malformed character constant: " + text);
            }

            n.Int64 = rune;
            n.IsInt = true;
            n.IsUint = true;
            n.Float64 = rune;
            n.IsFloat = true;
            return n;
        }

        if (token.Type == ItemType.Complex || text.EndsWith('i'))
        {
            // Complex numbers have no use in alert templates; Go would accept them, we refuse them plainly.
            throw Errorf("illegal number syntax: " + GoFmt.Quote(text));
        }

        if (TryParseInteger(text, out var i, out var isUintOnly))
        {
            if (!isUintOnly)
            {
                n.IsInt = true;
                n.Int64 = i;
                n.IsFloat = true;
                n.Float64 = i;
            }
            else
            {
                n.IsUint = true;
                n.IsFloat = true;
                n.Float64 = (ulong)i;
            }

            if (i >= 0 || isUintOnly)
            {
                n.IsUint = true;
            }

            return n;
        }

        if (TryParseFloat(text, out var f))
        {
            if (text.AsSpan().IndexOfAny(".eEpP") < 0)
            {
                throw Errorf("integer overflow: " + GoFmt.Quote(text));
            }

            n.IsFloat = true;
            n.Float64 = f;
            if (f is >= long.MinValue and < 9.2233720368547758E+18 && Math.Truncate(f) == f)
            {
                n.IsInt = true;
                n.Int64 = (long)f;
            }

            return n;
        }

        throw Errorf("illegal number syntax: " + GoFmt.Quote(text));
    }

    /// <summary>strconv.ParseInt(text, 0, 64) (and ParseUint for values above int64).</summary>
    private static bool TryParseInteger(string text, out long value, out bool isUintOnly)
    {
        value = 0;
        isUintOnly = false;
        var s = text.AsSpan();
        var neg = false;
        if (s.Length > 0 && (s[0] == '+' || s[0] == '-'))
        {
            neg = s[0] == '-';
            s = s[1..];
        }

        var numberBase = 10;
        var prefixed = false;
        if (s.Length > 1 && s[0] == '0')
        {
            switch (s[1])
            {
                case 'x' or 'X':
                    numberBase = 16;
                    s = s[2..];
                    prefixed = true;
                    break;
                case 'o' or 'O':
                    numberBase = 8;
                    s = s[2..];
                    prefixed = true;
                    break;
                case 'b' or 'B':
                    numberBase = 2;
                    s = s[2..];
                    prefixed = true;
                    break;
                default:
                    numberBase = 8;
                    s = s[1..];
                    prefixed = true;
                    break;
            }
        }

        if (s.Length == 0)
        {
            return prefixed && numberBase == 8 && text.TrimStart('+', '-') == "0" ? Zero(out value) : false;
        }

        // Underscores only between digits (or after the base prefix).
        ulong acc = 0;
        var lastUnderscore = !prefixed;
        foreach (var c in s)
        {
            if (c == '_')
            {
                if (lastUnderscore)
                {
                    return false;
                }

                lastUnderscore = true;
                continue;
            }

            lastUnderscore = false;
            var d = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                >= 'A' and <= 'F' => c - 'A' + 10,
                _ => 99,
            };
            if (d >= numberBase)
            {
                return false;
            }

            if (acc > (ulong.MaxValue - (ulong)d) / (ulong)numberBase)
            {
                return false;
            }

            acc = (acc * (ulong)numberBase) + (ulong)d;
        }

        if (lastUnderscore)
        {
            return false;
        }

        if (neg)
        {
            if (acc > 9223372036854775808UL)
            {
                return false;
            }

            value = (long)(0 - acc);
            return true;
        }

        if (acc > long.MaxValue)
        {
            value = (long)acc;
            isUintOnly = true;
            return true;
        }

        value = (long)acc;
        return true;
    }

    private static bool Zero(out long value)
    {
        value = 0;
        return true;
    }

    private static bool TryParseFloat(string text, out double value)
    {
        var s = text.Replace("_", string.Empty, StringComparison.Ordinal);
        if (s.Contains('x', StringComparison.OrdinalIgnoreCase))
        {
            return TryParseHexFloat(s, out value);
        }

        if (s.Contains('p', StringComparison.OrdinalIgnoreCase))
        {
            value = 0;
            return false;
        }

        return double.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out value)
            && !double.IsInfinity(value);
    }

    /// <summary>A hex float literal (<c>0x1.8p3</c>): hex mantissa, mandatory binary exponent.</summary>
    private static bool TryParseHexFloat(string s, out double value)
    {
        value = 0;
        var i = 0;
        var sign = 1.0;
        if (i < s.Length && (s[i] == '+' || s[i] == '-'))
        {
            sign = s[i] == '-' ? -1 : 1;
            i++;
        }

        if (i + 2 > s.Length || s[i] != '0' || (s[i + 1] != 'x' && s[i + 1] != 'X'))
        {
            return false;
        }

        i += 2;
        double mantissa = 0;
        var fracDigits = 0;
        var seenDot = false;
        var digits = 0;
        for (; i < s.Length && s[i] != 'p' && s[i] != 'P'; i++)
        {
            if (s[i] == '.' && !seenDot)
            {
                seenDot = true;
                continue;
            }

            var d = Convert.ToInt32(s[i].ToString(), 16);
            mantissa = (mantissa * 16) + d;
            digits++;
            if (seenDot)
            {
                fracDigits++;
            }
        }

        if (digits == 0 || i >= s.Length || !int.TryParse(s.AsSpan(i + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exp))
        {
            return false;
        }

        value = sign * mantissa * Math.Pow(2, exp - (4 * fracDigits));
        return !double.IsInfinity(value);
    }

    /// <summary>strconv.Unquote for "...", `...` and '...' literals; null when invalid.</summary>
    internal static string? Unquote(string s)
    {
        if (s.Length < 2)
        {
            return null;
        }

        var quote = s[0];
        if (quote != s[^1])
        {
            return null;
        }

        if (quote == '`')
        {
            var body = s[1..^1];
            if (body.Contains('`', StringComparison.Ordinal))
            {
                return null;
            }

            return body.Contains('\r', StringComparison.Ordinal) ? body.Replace("\r", string.Empty, StringComparison.Ordinal) : body;
        }

        if (quote != '"' && quote != '\'')
        {
            return null;
        }

        if (s.IndexOf('\\', StringComparison.Ordinal) < 0 && s.IndexOf('\n', StringComparison.Ordinal) < 0)
        {
            if (quote == '"')
            {
                var inner = s[1..^1];
                return inner.Contains('"', StringComparison.Ordinal) ? null : inner;
            }
        }

        var sb = new StringBuilder(s.Length);
        var i = 1;
        var end = s.Length - 1;
        var count = 0;
        while (i < end)
        {
            if (s[i] == quote && quote == '"')
            {
                return null;
            }

            var (r, next) = UnquoteChar(s, i, quote);
            if (r < 0)
            {
                return null;
            }

            GoFmt.AppendRune(sb, r);
            i = next;
            count++;
        }

        if (quote == '\'' && count != 1)
        {
            return null;
        }

        return sb.ToString();
    }

    /// <summary>strconv.UnquoteChar at <paramref name="i"/>: the rune (-1 when invalid) and the index after it.</summary>
    private static (int Rune, int Next) UnquoteChar(string s, int i, char quote)
    {
        if (i >= s.Length)
        {
            return (-1, i);
        }

        var c = s[i];
        if (c == quote && (quote == '\'' || quote == '"'))
        {
            return (-1, i);
        }

        if (c == '\n')
        {
            return (-1, i);
        }

        if (c != '\\')
        {
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                return (char.ConvertToUtf32(c, s[i + 1]), i + 2);
            }

            return (c, i + 1);
        }

        if (i + 1 >= s.Length)
        {
            return (-1, i);
        }

        var e = s[i + 1];
        i += 2;
        switch (e)
        {
            case 'a': return (7, i);
            case 'b': return (8, i);
            case 'f': return (12, i);
            case 'n': return (10, i);
            case 'r': return (13, i);
            case 't': return (9, i);
            case 'v': return (11, i);
            case '\\': return ('\\', i);
            case '\'' or '"':
                return e == quote ? (e, i) : (-1, i);
            case 'x' or 'u' or 'U':
            {
                var n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                if (i + n > s.Length)
                {
                    return (-1, i);
                }

                if (!int.TryParse(s.AsSpan(i, n), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v))
                {
                    return (-1, i);
                }

                if (e != 'x' && (v > 0x10FFFF || v is >= 0xD800 and <= 0xDFFF))
                {
                    return (-1, i);
                }

                return (v, i + n);
            }

            case >= '0' and <= '7':
            {
                if (i + 2 > s.Length)
                {
                    return (-1, i);
                }

                var v = e - '0';
                for (var k = 0; k < 2; k++)
                {
                    var d = s[i + k] - '0';
                    if (d is < 0 or > 7)
                    {
                        return (-1, i);
                    }

                    v = (v << 3) | d;
                }

                if (v > 255)
                {
                    return (-1, i);
                }

                return (v, i + 2);
            }

            default:
                return (-1, i);
        }
    }
}
