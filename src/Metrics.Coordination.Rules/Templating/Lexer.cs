using System.Globalization;

namespace Metrics.Coordination.Rules.Templating;

/// <summary>Item types of Go's text/template lexer (keywords after <see cref="Keyword"/>).</summary>
internal enum ItemType : byte
{
    Error,
    Bool,
    Char,
    CharConstant,
    Comment,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    Keyword,
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

/// <summary>A lexed item: its type, its offset (UTF-16 index into the template text), its text and its 1-based line.</summary>
internal readonly record struct Item(ItemType Type, int Pos, string Val, int Line)
{
    /// <summary>How Go's parser quotes an item in "unexpected ..." messages.</summary>
    public override string ToString()
    {
        if (Type == ItemType.Eof)
        {
            return "EOF";
        }

        if (Type == ItemType.Error)
        {
            return Val;
        }

        if (Type > ItemType.Keyword)
        {
            return "<" + Val + ">";
        }

        if (Val.Length > 10)
        {
            // %.10q: the first ten runes, quoted, then "...".
            return GoFmt.Sprintf("%.10q...", [GoValue.FromString(Val)]);
        }

        return GoFmt.Quote(Val);
    }
}

/// <summary>
/// Go's text/template lexer (delimiters <c>{{ }}</c>, trim markers, comments, actions), run to completion up front:
/// the Go lexer's state does not depend on the parser (we define no <c>break</c>/<c>continue</c> functions), so the item
/// sequence is the same. Lexing stops at the first error item, as Go's does.
/// </summary>
internal sealed class Lexer
{
    private const string LeftDelim = "{{";
    private const string RightDelim = "}}";
    private const string LeftComment = "/*";
    private const string RightComment = "*/";

    private readonly string _input;
    private readonly List<Item> _items = [];
    private int _pos;
    private int _start;
    private int _line = 1;
    private int _startLine = 1;
    private int _parenDepth;

    private Lexer(string input)
    {
        _input = input;
    }

    public static List<Item> Lex(string input)
    {
        var lexer = new Lexer(input);
        lexer.Run();
        return lexer._items;
    }

    private const int Eof = -1;

    private void Run()
    {
        var state = State.Text;
        while (true)
        {
            state = state switch
            {
                State.Text => LexText(),
                State.LeftDelim => LexLeftDelim(),
                State.Comment => LexComment(),
                State.RightDelim => LexRightDelim(),
                State.InsideAction => LexInsideAction(),
                _ => State.Done,
            };
            if (state == State.Done)
            {
                return;
            }
        }
    }

    private enum State
    {
        Done,
        Text,
        LeftDelim,
        Comment,
        RightDelim,
        InsideAction,
    }

    private int Next()
    {
        if (_pos >= _input.Length)
        {
            return Eof;
        }

        int r = _input[_pos];
        var width = 1;
        if (char.IsHighSurrogate(_input[_pos]) && _pos + 1 < _input.Length && char.IsLowSurrogate(_input[_pos + 1]))
        {
            r = char.ConvertToUtf32(_input[_pos], _input[_pos + 1]);
            width = 2;
        }

        _pos += width;
        if (r == '\n')
        {
            _line++;
        }

        return r;
    }

    private int Peek()
    {
        var pos = _pos;
        var line = _line;
        var r = Next();
        _pos = pos;
        _line = line;
        return r;
    }

    private void Backup(int r)
    {
        if (r == Eof)
        {
            return;
        }

        _pos -= r >= 0x10000 ? 2 : 1;
        if (r == '\n')
        {
            _line--;
        }
    }

    private void Emit(ItemType t)
    {
        _items.Add(new Item(t, _start, _input[_start.._pos], _startLine));
        _start = _pos;
        _startLine = _line;
    }

    private void Ignore()
    {
        _line += CountNewlines(_start, _pos);
        _start = _pos;
        _startLine = _line;
    }

    private int CountNewlines(int from, int to)
    {
        var n = 0;
        for (var i = from; i < to; i++)
        {
            if (_input[i] == '\n')
            {
                n++;
            }
        }

        return n;
    }

    private State Errorf(string message)
    {
        _items.Add(new Item(ItemType.Error, _start, message, _startLine));
        return State.Done;
    }

    private bool Accept(string valid)
    {
        var r = Next();
        if (r != Eof && valid.Contains((char)r, StringComparison.Ordinal) && r < 0x10000)
        {
            return true;
        }

        Backup(r);
        return false;
    }

    private void AcceptRun(string valid)
    {
        while (true)
        {
            var r = Next();
            if (r == Eof || r >= 0x10000 || !valid.Contains((char)r, StringComparison.Ordinal))
            {
                Backup(r);
                return;
            }
        }
    }

    private static bool IsSpace(int r) => r is ' ' or '\t' or '\r' or '\n';

    private static bool IsAlphaNumeric(int r) =>
        r == '_' || (r >= 0 && (r < 0x10000 ? char.IsLetter((char)r) || IsDigitRune(r) : IsLetterOrDigitRune(r)));

    private static bool IsDigitRune(int r) => CharUnicodeInfo.GetUnicodeCategory(r) == UnicodeCategory.DecimalDigitNumber;

    private static bool IsLetterOrDigitRune(int r)
    {
        var c = CharUnicodeInfo.GetUnicodeCategory(r);
        return c is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber;
    }

    private bool HasLeftTrimMarker(int at) =>
        at + 1 < _input.Length && _input[at] == '-' && IsSpace(_input[at + 1]);

    private bool HasRightTrimMarker(int at) =>
        at + 1 < _input.Length && IsSpace(_input[at]) && _input[at + 1] == '-';

    private (bool Delim, bool Trim) AtRightDelim()
    {
        if (HasRightTrimMarker(_pos) && string.CompareOrdinal(_input, _pos + 2, RightDelim, 0, 2) == 0)
        {
            return (true, true);
        }

        if (string.CompareOrdinal(_input, _pos, RightDelim, 0, 2) == 0)
        {
            return (true, false);
        }

        return (false, false);
    }

    private bool StartsWithAt(int at, string s) => at + s.Length <= _input.Length && string.CompareOrdinal(_input, at, s, 0, s.Length) == 0;

    private State LexText()
    {
        var x = _input.IndexOf(LeftDelim, _pos, StringComparison.Ordinal);
        if (x >= 0)
        {
            _pos = x;
            var trimLength = 0;
            if (HasLeftTrimMarker(_pos + LeftDelim.Length))
            {
                var k = _pos;
                while (k > _start && IsSpace(_input[k - 1]))
                {
                    k--;
                }

                trimLength = _pos - k;
            }

            _pos -= trimLength;
            if (_pos > _start)
            {
                _line += CountNewlines(_start, _pos);
                Emit(ItemType.Text);
            }

            _pos += trimLength;
            Ignore();
            return State.LeftDelim;
        }

        _pos = _input.Length;
        if (_pos > _start)
        {
            _line += CountNewlines(_start, _pos);
            _items.Add(new Item(ItemType.Text, _start, _input[_start.._pos], _startLine));
            _start = _pos;
            _startLine = _line;
        }

        _items.Add(new Item(ItemType.Eof, _pos, string.Empty, _line));
        return State.Done;
    }

    private State LexLeftDelim()
    {
        _pos += LeftDelim.Length;
        var trimSpace = HasLeftTrimMarker(_pos);
        var afterMarker = trimSpace ? 2 : 0;
        if (StartsWithAt(_pos + afterMarker, LeftComment))
        {
            _pos += afterMarker;
            Ignore();
            return State.Comment;
        }

        Emit(ItemType.LeftDelim);
        _pos += afterMarker;
        Ignore();
        _parenDepth = 0;
        return State.InsideAction;
    }

    private State LexComment()
    {
        _pos += LeftComment.Length;
        var x = _input.IndexOf(RightComment, _pos, StringComparison.Ordinal);
        if (x < 0)
        {
            return Errorf("unclosed comment");
        }

        _pos = x + RightComment.Length;
        var (delim, trimSpace) = AtRightDelim();
        if (!delim)
        {
            return Errorf("comment ends before closing delimiter");
        }

        // Comments are not emitted (Go emits them only in ParseComments mode).
        if (trimSpace)
        {
            _pos += 2;
        }

        _pos += RightDelim.Length;
        if (trimSpace)
        {
            while (_pos < _input.Length && IsSpace(_input[_pos]))
            {
                _pos++;
            }
        }

        Ignore();
        return State.Text;
    }

    private State LexRightDelim()
    {
        var trimSpace = HasRightTrimMarker(_pos);
        if (trimSpace)
        {
            _pos += 2;
            Ignore();
        }

        _pos += RightDelim.Length;
        Emit(ItemType.RightDelim);
        if (trimSpace)
        {
            while (_pos < _input.Length && IsSpace(_input[_pos]))
            {
                _pos++;
            }

            Ignore();
        }

        return State.Text;
    }

    private State LexInsideAction()
    {
        var (delim, _) = AtRightDelim();
        if (delim)
        {
            if (_parenDepth == 0)
            {
                return State.RightDelim;
            }

            return Errorf("unclosed left paren");
        }

        var r = Next();
        switch (r)
        {
            case Eof:
                return Errorf("unclosed action");
            case ' ' or '\t' or '\r' or '\n':
                Backup(r);
                return LexSpace();
            case '=':
                Emit(ItemType.Assign);
                break;
            case ':':
                if (Next() != '=')
                {
                    return Errorf("expected :=");
                }

                Emit(ItemType.Declare);
                break;
            case '|':
                Emit(ItemType.Pipe);
                break;
            case '"':
                return LexQuote();
            case '`':
                return LexRawQuote();
            case '$':
                return LexVariable();
            case '\'':
                return LexChar();
            case '.':
                if (_pos < _input.Length)
                {
                    var c = _input[_pos];
                    if (c < '0' || c > '9')
                    {
                        return LexFieldOrVariable(ItemType.Field);
                    }
                }

                Backup(r);
                return LexNumber();
            case '+' or '-' or (>= '0' and <= '9'):
                Backup(r);
                return LexNumber();
            case '(':
                Emit(ItemType.LeftParen);
                _parenDepth++;
                break;
            case ')':
                Emit(ItemType.RightParen);
                _parenDepth--;
                if (_parenDepth < 0)
                {
                    return Errorf("unexpected right paren " + FormatRune(r));
                }

                break;
            default:
                if (IsAlphaNumeric(r))
                {
                    Backup(r);
                    return LexIdentifier();
                }

                if (r <= 0x7f && r >= 0x20 && r != 0x7f)
                {
                    Emit(ItemType.Char);
                    break;
                }

                return Errorf("unrecognized character in action: " + FormatRune(r));
        }

        return State.InsideAction;
    }

    /// <summary>Go's %#U: <c>U+0021 '!'</c> (the quoted rune only when printable).</summary>
    internal static string FormatRune(int r)
    {
        var s = "U+" + r.ToString("X4", CultureInfo.InvariantCulture);
        if (r >= 0 && GoFmt.IsPrint(r))
        {
            s += " '" + char.ConvertFromUtf32(r) + "'";
        }

        return s;
    }

    private State LexSpace()
    {
        var numSpaces = 0;
        while (true)
        {
            var r = Peek();
            if (!IsSpace(r))
            {
                break;
            }

            Next();
            numSpaces++;
        }

        if (HasRightTrimMarker(_pos - 1) && StartsWithAt(_pos - 1 + 2, RightDelim))
        {
            Backup(_input[_pos - 1]);
            if (numSpaces == 1)
            {
                return State.RightDelim;
            }
        }

        Emit(ItemType.Space);
        return State.InsideAction;
    }

    private State LexIdentifier()
    {
        while (true)
        {
            var r = Next();
            if (IsAlphaNumeric(r))
            {
                continue;
            }

            Backup(r);
            var word = _input[_start.._pos];
            if (!AtTerminator())
            {
                return Errorf("bad character " + FormatRune(r));
            }

            var keyword = KeywordOf(word);
            if (keyword != ItemType.Error)
            {
                Emit(keyword);
            }
            else if (word[0] == '.')
            {
                Emit(ItemType.Field);
            }
            else if (word is "true" or "false")
            {
                Emit(ItemType.Bool);
            }
            else
            {
                Emit(ItemType.Identifier);
            }

            return State.InsideAction;
        }
    }

    private static ItemType KeywordOf(string word) => word switch
    {
        "." => ItemType.Dot,
        "block" => ItemType.Block,
        "break" => ItemType.Break,
        "continue" => ItemType.Continue,
        "define" => ItemType.Define,
        "else" => ItemType.Else,
        "end" => ItemType.End,
        "if" => ItemType.If,
        "range" => ItemType.Range,
        "nil" => ItemType.Nil,
        "template" => ItemType.Template,
        "with" => ItemType.With,
        _ => ItemType.Error,
    };

    private State LexVariable()
    {
        if (AtTerminator())
        {
            Emit(ItemType.Variable);
            return State.InsideAction;
        }

        return LexFieldOrVariable(ItemType.Variable);
    }

    private State LexFieldOrVariable(ItemType typ)
    {
        if (AtTerminator())
        {
            Emit(typ == ItemType.Variable ? ItemType.Variable : ItemType.Dot);
            return State.InsideAction;
        }

        int r;
        while (true)
        {
            r = Next();
            if (!IsAlphaNumeric(r))
            {
                Backup(r);
                break;
            }
        }

        if (!AtTerminator())
        {
            return Errorf("bad character " + FormatRune(r));
        }

        Emit(typ);
        return State.InsideAction;
    }

    private bool AtTerminator()
    {
        var r = Peek();
        if (IsSpace(r))
        {
            return true;
        }

        return r is Eof or '.' or ',' or '|' or ':' or ')' or '(' or '}';
    }

    private State LexChar()
    {
        while (true)
        {
            var r = Next();
            if (r == '\\')
            {
                r = Next();
                if (r != Eof && r != '\n')
                {
                    continue;
                }
            }

            if (r is Eof or '\n')
            {
                return Errorf("unterminated character constant");
            }

            if (r == '\'')
            {
                break;
            }
        }

        Emit(ItemType.CharConstant);
        return State.InsideAction;
    }

    private State LexNumber()
    {
        if (!ScanNumber())
        {
            return Errorf("bad number syntax: " + GoFmt.Quote(_input[_start.._pos]));
        }

        var sign = Peek();
        if (sign is '+' or '-')
        {
            if (!ScanNumber() || _input[_pos - 1] != 'i')
            {
                return Errorf("bad number syntax: " + GoFmt.Quote(_input[_start.._pos]));
            }

            Emit(ItemType.Complex);
        }
        else
        {
            Emit(ItemType.Number);
        }

        return State.InsideAction;
    }

    private bool ScanNumber()
    {
        Accept("+-");
        var digits = "0123456789_";
        if (Accept("0"))
        {
            if (Accept("xX"))
            {
                digits = "0123456789abcdefABCDEF_";
            }
            else if (Accept("oO"))
            {
                digits = "01234567_";
            }
            else if (Accept("bB"))
            {
                digits = "01_";
            }
        }

        AcceptRun(digits);
        if (Accept("."))
        {
            AcceptRun(digits);
        }

        if (digits.Length == 11 && Accept("eE"))
        {
            Accept("+-");
            AcceptRun("0123456789_");
        }

        if (digits.Length == 23 && Accept("pP"))
        {
            Accept("+-");
            AcceptRun("0123456789_");
        }

        Accept("i");
        if (IsAlphaNumeric(Peek()))
        {
            Next();
            return false;
        }

        return true;
    }

    private State LexQuote()
    {
        while (true)
        {
            var r = Next();
            if (r == '\\')
            {
                r = Next();
                if (r != Eof && r != '\n')
                {
                    continue;
                }
            }

            if (r is Eof or '\n')
            {
                return Errorf("unterminated quoted string");
            }

            if (r == '"')
            {
                break;
            }
        }

        Emit(ItemType.String);
        return State.InsideAction;
    }

    private State LexRawQuote()
    {
        while (true)
        {
            var r = Next();
            if (r == Eof)
            {
                return Errorf("unterminated raw quoted string");
            }

            if (r == '`')
            {
                break;
            }
        }

        Emit(ItemType.RawString);
        return State.InsideAction;
    }
}
