using System.Globalization;
using System.Text;

namespace Metrics.Coordination.Rules.PromQL;

internal enum TokenKind
{
    Eof,
    Identifier,
    MetricIdentifier,
    Number,
    Duration,
    String,
    Keyword,
    LeftParen,
    RightParen,
    LeftBrace,
    RightBrace,
    LeftBracket,
    RightBracket,
    Comma,
    Colon,
    At,

    // Operators.
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eql,
    EqlC,
    Neq,
    Lss,
    Lte,
    Gtr,
    Gte,
    EqlRegex,
    NeqRegex,
}

/// <summary>A token: its kind, the raw text span, and for strings the unescaped value, for keywords the lower-cased word.</summary>
internal readonly record struct Token(TokenKind Kind, int Start, int End, string Text)
{
    public PositionRange Range => new(Start, End);

    public bool IsKeyword(string word) => Kind == TokenKind.Keyword && Text == word;

    /// <summary>Prometheus-style description for "unexpected ..." messages.</summary>
    public string Describe()
    {
        switch (Kind)
        {
            case TokenKind.Eof: return "end of input";
            case TokenKind.Keyword:
                return Lexer.AggregateKeywords.Contains(Text) ? $"<aggr:{Text}>" :
                       Text is "and" or "or" or "unless" or "atan2" ? $"<op:{Text}>" : $"<{Text}>";
            case TokenKind.Identifier: return $"identifier {Quote(Text)}";
            case TokenKind.MetricIdentifier: return $"metric identifier {Quote(Text)}";
            case TokenKind.Number: return $"number {Quote(Text)}";
            case TokenKind.Duration: return $"duration {Quote(Text)}";
            case TokenKind.String: return $"string {Quote(Text)}";
            case TokenKind.LeftParen: return "\"(\"";
            case TokenKind.RightParen: return "\")\"";
            case TokenKind.LeftBrace: return "\"{\"";
            case TokenKind.RightBrace: return "\"}\"";
            case TokenKind.LeftBracket: return "\"[\"";
            case TokenKind.RightBracket: return "\"]\"";
            case TokenKind.Comma: return "\",\"";
            case TokenKind.Colon: return "\":\"";
            case TokenKind.At: return "\"@\"";
            case TokenKind.Eql: return "\"=\"";
            default: return $"<op:{Text}>";
        }
    }

    private static string Quote(string s) => s.Length > 35 ? "\"" + s[..35] + "\"..." : "\"" + s + "\"";
}

/// <summary>
/// Turns a query into tokens. Keywords are case-insensitive outside braces; inside braces every word is a label name.
/// Numbers followed by a unit letter are durations (<c>1h30m</c>); <c>Inf</c>/<c>NaN</c> in any case are numbers.
/// </summary>
internal sealed class Lexer
{
    public static readonly HashSet<string> AggregateKeywords = new(StringComparer.Ordinal)
    {
        "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk", "count_values", "quantile", "limitk", "limit_ratio",
    };

    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "and", "or", "unless", "atan2", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "start", "end",
        "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk", "count_values", "quantile", "limitk", "limit_ratio",
    };

    private readonly string _input;
    private int _pos;
    private int _braceDepth;

    public Lexer(string input) => _input = input;

    public static List<Token> Tokenize(string input)
    {
        var lexer = new Lexer(input);
        var tokens = new List<Token>();
        while (true)
        {
            var t = lexer.Next();
            tokens.Add(t);
            if (t.Kind == TokenKind.Eof)
            {
                return tokens;
            }
        }
    }

    private Token Next()
    {
        SkipSpaceAndComments();
        if (_pos >= _input.Length)
        {
            if (_braceDepth > 0)
            {
                throw Error(_pos, _pos, "unexpected end of input inside braces");
            }

            return new Token(TokenKind.Eof, _pos, _pos, string.Empty);
        }

        var start = _pos;
        var c = _input[_pos];
        if (_braceDepth > 0)
        {
            return InsideBraces(start, c);
        }

        switch (c)
        {
            case '(': _pos++; return Tok(TokenKind.LeftParen, start);
            case ')': _pos++; return Tok(TokenKind.RightParen, start);
            case '[': _pos++; return Tok(TokenKind.LeftBracket, start);
            case ']': _pos++; return Tok(TokenKind.RightBracket, start);
            case '{': _pos++; _braceDepth++; return Tok(TokenKind.LeftBrace, start);
            case '}': throw Error(start, start + 1, "unexpected right brace '}'");
            case ',': _pos++; return Tok(TokenKind.Comma, start);
            case ':': _pos++; return Tok(TokenKind.Colon, start);
            case '@': _pos++; return Tok(TokenKind.At, start);
            case '+': _pos++; return Tok(TokenKind.Add, start);
            case '-': _pos++; return Tok(TokenKind.Sub, start);
            case '*': _pos++; return Tok(TokenKind.Mul, start);
            case '/': _pos++; return Tok(TokenKind.Div, start);
            case '%': _pos++; return Tok(TokenKind.Mod, start);
            case '^': _pos++; return Tok(TokenKind.Pow, start);
            case '=':
                _pos++;
                if (Peek() == '=')
                {
                    _pos++;
                    return Tok(TokenKind.EqlC, start);
                }

                if (Peek() == '~')
                {
                    _pos++;
                    return Tok(TokenKind.EqlRegex, start);
                }

                return Tok(TokenKind.Eql, start);
            case '!':
                _pos++;
                if (Peek() == '=')
                {
                    _pos++;
                    return Tok(TokenKind.Neq, start);
                }

                if (Peek() == '~')
                {
                    _pos++;
                    return Tok(TokenKind.NeqRegex, start);
                }

                throw Error(start, _pos, $"unexpected character after '!': {Describe(Peek())}");
            case '<':
                _pos++;
                if (Peek() == '=')
                {
                    _pos++;
                    return Tok(TokenKind.Lte, start);
                }

                return Tok(TokenKind.Lss, start);
            case '>':
                _pos++;
                if (Peek() == '=')
                {
                    _pos++;
                    return Tok(TokenKind.Gte, start);
                }

                return Tok(TokenKind.Gtr, start);
            case '"' or '\'' or '`':
                return LexString(start, c);
        }

        if (char.IsAsciiDigit(c) || (c == '.' && _pos + 1 < _input.Length && char.IsAsciiDigit(_input[_pos + 1])))
        {
            return LexNumberOrDuration(start);
        }

        if (IsIdentStart(c))
        {
            while (_pos < _input.Length && (IsIdentChar(_input[_pos]) || _input[_pos] == ':'))
            {
                _pos++;
            }

            var word = _input[start.._pos];
            if (word.Contains(':', StringComparison.Ordinal))
            {
                return new Token(TokenKind.MetricIdentifier, start, _pos, word);
            }

            var lower = word.ToLowerInvariant();
            if (lower is "inf" or "nan")
            {
                return new Token(TokenKind.Number, start, _pos, word);
            }

            return Keywords.Contains(lower) ? new Token(TokenKind.Keyword, start, _pos, lower) : new Token(TokenKind.Identifier, start, _pos, word);
        }

        throw Error(start, start + 1, $"unexpected character: {Describe(c)}");
    }

    private Token InsideBraces(int start, char c)
    {
        switch (c)
        {
            case '}': _pos++; _braceDepth--; return Tok(TokenKind.RightBrace, start);
            case '{': throw Error(start, start + 1, "unexpected left brace '{' inside braces");
            case ',': _pos++; return Tok(TokenKind.Comma, start);
            case '"' or '\'' or '`': return LexString(start, c);
            case '=':
                _pos++;
                if (Peek() == '~')
                {
                    _pos++;
                    return Tok(TokenKind.EqlRegex, start);
                }

                if (Peek() == '=')
                {
                    throw Error(start, _pos + 1, "unexpected character inside braces: '='");
                }

                return Tok(TokenKind.Eql, start);
            case '!':
                _pos++;
                if (Peek() == '=')
                {
                    _pos++;
                    return Tok(TokenKind.Neq, start);
                }

                if (Peek() == '~')
                {
                    _pos++;
                    return Tok(TokenKind.NeqRegex, start);
                }

                throw Error(start, _pos, $"unexpected character after '!' inside braces: {Describe(Peek())}");
        }

        if (IsIdentStart(c))
        {
            while (_pos < _input.Length && (IsIdentChar(_input[_pos]) || _input[_pos] == ':'))
            {
                _pos++;
            }

            var word = _input[start.._pos];
            return new Token(word.Contains(':', StringComparison.Ordinal) ? TokenKind.MetricIdentifier : TokenKind.Identifier, start, _pos, word);
        }

        throw Error(start, start + 1, $"unexpected character inside braces: {Describe(c)}");
    }

    private Token LexNumberOrDuration(int start)
    {
        // Hex integers.
        if (_input[_pos] == '0' && _pos + 1 < _input.Length && (_input[_pos + 1] is 'x' or 'X'))
        {
            _pos += 2;
            while (_pos < _input.Length && char.IsAsciiHexDigit(_input[_pos]))
            {
                _pos++;
            }

            CheckNumberEnd(start);
            return new Token(TokenKind.Number, start, _pos, _input[start.._pos]);
        }

        while (_pos < _input.Length && char.IsAsciiDigit(_input[_pos]))
        {
            _pos++;
        }

        var plainInteger = true;
        if (Peek() == '.')
        {
            plainInteger = false;
            _pos++;
            while (_pos < _input.Length && char.IsAsciiDigit(_input[_pos]))
            {
                _pos++;
            }
        }

        if (Peek() is 'e' or 'E' && _pos + 1 < _input.Length &&
            (char.IsAsciiDigit(_input[_pos + 1]) || (_input[_pos + 1] is '+' or '-' && _pos + 2 < _input.Length && char.IsAsciiDigit(_input[_pos + 2]))))
        {
            plainInteger = false;
            _pos += 2;
            while (_pos < _input.Length && char.IsAsciiDigit(_input[_pos]))
            {
                _pos++;
            }
        }

        if (plainInteger && _pos < _input.Length && IsDurationUnitStart(_input[_pos]))
        {
            // A duration: digits unit [digits unit ...].
            while (_pos < _input.Length && (char.IsAsciiDigit(_input[_pos]) || IsDurationUnitStart(_input[_pos])))
            {
                _pos++;
            }

            CheckNumberEnd(start);
            var text = _input[start.._pos];
            if (!Durations.TryParse(text, out _))
            {
                throw Error(start, _pos, $"bad number or duration syntax: \"{text}\"");
            }

            return new Token(TokenKind.Duration, start, _pos, text);
        }

        CheckNumberEnd(start);
        return new Token(TokenKind.Number, start, _pos, _input[start.._pos]);
    }

    private void CheckNumberEnd(int start)
    {
        if (_pos < _input.Length && (IsIdentChar(_input[_pos]) || _input[_pos] == '.'))
        {
            while (_pos < _input.Length && (IsIdentChar(_input[_pos]) || _input[_pos] == '.'))
            {
                _pos++;
            }

            throw Error(start, _pos, $"bad number or duration syntax: \"{_input[start.._pos]}\"");
        }
    }

    private Token LexString(int start, char quote)
    {
        _pos++;
        var sb = new StringBuilder();
        var bytes = new List<byte>();
        while (true)
        {
            if (_pos >= _input.Length)
            {
                throw Error(start, _pos, "unterminated quoted string");
            }

            var c = _input[_pos];
            if (!(c == '\\' && _pos + 1 < _input.Length && (_input[_pos + 1] is 'x' or (>= '0' and <= '7'))))
            {
                FlushBytes(sb, bytes);
            }

            if (c == quote)
            {
                _pos++;
                return new Token(TokenKind.String, start, _pos, sb.ToString());
            }

            if (quote == '`')
            {
                sb.Append(c);
                _pos++;
                continue;
            }

            if (c == '\n')
            {
                throw Error(start, _pos, "unterminated quoted string");
            }

            if (c != '\\')
            {
                sb.Append(c);
                _pos++;
                continue;
            }

            var escStart = _pos;
            _pos++;
            if (_pos >= _input.Length)
            {
                throw Error(start, _pos, "unterminated quoted string");
            }

            var e = _input[_pos++];
            switch (e)
            {
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case '\\': sb.Append('\\'); break;
                case '"' when quote == '"': sb.Append('"'); break;
                case '\'' when quote == '\'': sb.Append('\''); break;
                case 'x': bytes.Add((byte)ReadDigits(escStart, 2, 16)); continue;
                case 'u': AppendCodePoint(sb, ReadDigits(escStart, 4, 16), escStart); break;
                case 'U': AppendCodePoint(sb, ReadDigits(escStart, 8, 16), escStart); break;
                case >= '0' and <= '7':
                    _pos--;
                    var octal = ReadDigits(escStart, 3, 8);
                    if (octal > 255)
                    {
                        throw Error(escStart, _pos, "escape sequence is invalid Unicode code point");
                    }

                    bytes.Add((byte)octal);
                    continue;
                default:
                    throw Error(escStart, _pos, $"unknown escape sequence {Describe(e)}");
            }
        }
    }

    private int ReadDigits(int escStart, int count, int radix)
    {
        var value = 0;
        for (var i = 0; i < count; i++)
        {
            if (_pos >= _input.Length)
            {
                throw Error(escStart, _pos, "unterminated quoted string");
            }

            var c = _input[_pos];
            var d = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiHexDigit(c) ? char.ToLowerInvariant(c) - 'a' + 10 : 99;
            if (d >= radix)
            {
                throw Error(escStart, _pos + 1, $"illegal character {Describe(c)} in escape sequence");
            }

            value = (value * radix) + d;
            _pos++;
        }

        return value;
    }

    private void AppendCodePoint(StringBuilder sb, int cp, int escStart)
    {
        if (cp is > 0x10FFFF or (>= 0xD800 and <= 0xDFFF))
        {
            throw Error(escStart, _pos, "escape sequence is invalid Unicode code point");
        }

        sb.Append(char.ConvertFromUtf32(cp));
    }

    /// <summary>
    /// Byte escapes (\xNN, \NNN) name UTF-8 bytes, as in Go. Valid sequences become their characters; a byte that is
    /// not valid UTF-8 is kept as the lone surrogate U+DC00+byte (Python's "surrogateescape"), so the string stays
    /// recognisably invalid (label-name validation rejects it) and prints back as \xNN.
    /// </summary>
    internal static void FlushBytes(StringBuilder sb, List<byte> bytes)
    {
        if (bytes.Count == 0)
        {
            return;
        }

        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes);
        while (span.Length > 0)
        {
            var status = System.Text.Rune.DecodeFromUtf8(span, out var rune, out var consumed);
            if (status == System.Buffers.OperationStatus.Done)
            {
                sb.Append(rune.ToString());
            }
            else
            {
                consumed = 1;
                sb.Append((char)(0xDC00 + span[0]));
            }

            span = span[consumed..];
        }

        bytes.Clear();
    }

    private void SkipSpaceAndComments()
    {
        while (_pos < _input.Length)
        {
            var c = _input[_pos];
            if (c is ' ' or '\t' or '\n' or '\r')
            {
                _pos++;
            }
            else if (c == '#')
            {
                while (_pos < _input.Length && _input[_pos] != '\n')
                {
                    _pos++;
                }
            }
            else
            {
                break;
            }
        }
    }

    private char Peek() => _pos < _input.Length ? _input[_pos] : '\0';

    private Token Tok(TokenKind kind, int start) => new(kind, start, _pos, _input[start.._pos]);

    private PromQLParseException Error(int start, int end, string message) => new(_input, start, end, message);

    private static string Describe(char c) => c == '\0' ? "end of input" : $"'{c}'";

    internal static bool IsIdentStart(char c) => char.IsAsciiLetter(c) || c == '_';

    internal static bool IsIdentChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static bool IsDurationUnitStart(char c) => c is 's' or 'm' or 'h' or 'd' or 'w' or 'y';
}

/// <summary>Prometheus duration strings: <c>1y2w3d4h5m6s7ms</c>, units in that order, each at most once, integer counts.</summary>
internal static class Durations
{
    private static readonly (string Unit, long Ms)[] Units =
    [
        ("y", 365L * 24 * 3600 * 1000), ("w", 7L * 24 * 3600 * 1000), ("d", 24L * 3600 * 1000), ("h", 3600L * 1000), ("m", 60L * 1000), ("s", 1000L), ("ms", 1L),
    ];

    public static bool TryParse(string s, out long milliseconds)
    {
        milliseconds = 0;
        if (s == "0")
        {
            return true;
        }

        var pos = 0;
        var nextUnit = 0;
        var any = false;
        while (pos < s.Length)
        {
            var digitsStart = pos;
            while (pos < s.Length && char.IsAsciiDigit(s[pos]))
            {
                pos++;
            }

            if (pos == digitsStart)
            {
                return false;
            }

            if (!long.TryParse(s.AsSpan(digitsStart, pos - digitsStart), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                return false;
            }

            var unitStart = pos;
            while (pos < s.Length && char.IsAsciiLetter(s[pos]))
            {
                pos++;
            }

            var unit = s.AsSpan(unitStart, pos - unitStart);
            var found = -1;
            for (var i = nextUnit; i < Units.Length; i++)
            {
                if (unit.SequenceEqual(Units[i].Unit))
                {
                    found = i;
                    break;
                }
            }

            if (found < 0)
            {
                return false;
            }

            try
            {
                milliseconds = checked(milliseconds + checked(n * Units[found].Ms));
            }
            catch (OverflowException)
            {
                return false;
            }

            nextUnit = found + 1;
            any = true;
        }

        return any;
    }

    /// <summary>Formats a non-negative duration the way Prometheus prints one (<c>1h30m</c>, <c>0s</c>).</summary>
    public static string Format(long milliseconds)
    {
        if (milliseconds == 0)
        {
            return "0s";
        }

        if (milliseconds < 0)
        {
            return "-" + Format(-milliseconds);
        }

        var sb = new StringBuilder();
        var rest = milliseconds;
        foreach (var (unit, ms) in Units)
        {
            // Prometheus prints weeks and years only when they divide the whole duration.
            if ((unit is "y" or "w") && milliseconds % ms != 0)
            {
                continue;
            }

            var n = rest / ms;
            if (n > 0)
            {
                sb.Append(n.ToString(CultureInfo.InvariantCulture)).Append(unit);
                rest -= n * ms;
            }
        }

        return sb.ToString();
    }
}
