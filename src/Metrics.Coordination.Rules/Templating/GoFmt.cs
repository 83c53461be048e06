using System.Globalization;
using System.Text;

namespace Metrics.Coordination.Rules.Templating;

/// <summary>
/// Go's <c>fmt</c> package over <see cref="GoValue"/>s: <c>Sprint</c>, <c>Sprintln</c> and <c>Sprintf</c> with Go's verbs,
/// flags, width/precision, <c>%!verb(type=value)</c> error forms and default (%v) formatting of each kind.
/// </summary>
internal static class GoFmt
{
    public static string Sprint(ReadOnlySpan<GoValue> args)
    {
        var sb = new StringBuilder();
        AppendSprint(sb, args);
        return sb.ToString();
    }

    /// <summary>fmt.Sprint: spaces between operands when neither side is a string.</summary>
    public static void AppendSprint(StringBuilder sb, ReadOnlySpan<GoValue> args)
    {
        var p = new Printer(sb);
        var prevString = false;
        for (var i = 0; i < args.Length; i++)
        {
            var isString = args[i].IsStringKind;
            if (i > 0 && !isString && !prevString)
            {
                sb.Append(' ');
            }

            p.PrintArg(args[i], 'v');
            prevString = isString;
        }
    }

    /// <summary>fmt.Sprintln: always spaces between operands, and a newline.</summary>
    public static string Sprintln(ReadOnlySpan<GoValue> args)
    {
        var sb = new StringBuilder();
        var p = new Printer(sb);
        for (var i = 0; i < args.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(' ');
            }

            p.PrintArg(args[i], 'v');
        }

        sb.Append('\n');
        return sb.ToString();
    }

    /// <summary>Appends one value as <c>fmt.Fprint</c> of it alone.</summary>
    public static void AppendValue(StringBuilder sb, GoValue v) => new Printer(sb).PrintArg(v, 'v');

    public static string Sprintf(string format, ReadOnlySpan<GoValue> args)
    {
        var sb = new StringBuilder(format.Length + 16);
        new Printer(sb).DoPrintf(format, args);
        return sb.ToString();
    }

    /// <summary>strconv.Quote.</summary>
    public static string Quote(string s, bool asciiOnly = false)
    {
        var sb = new StringBuilder(s.Length + 2);
        AppendQuoted(sb, s, '"', asciiOnly);
        return sb.ToString();
    }

    public static void AppendQuoted(StringBuilder sb, string s, char quote, bool asciiOnly)
    {
        sb.Append(quote);
        for (var i = 0; i < s.Length; i++)
        {
            int r = s[i];
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                r = char.ConvertToUtf32(s[i], s[i + 1]);
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                sb.Append("\\ufffd");
                continue;
            }

            AppendEscapedRune(sb, r, quote, asciiOnly);
        }

        sb.Append(quote);
    }

    private static void AppendEscapedRune(StringBuilder sb, int r, char quote, bool asciiOnly)
    {
        if (r == quote || r == '\\')
        {
            sb.Append('\\').Append((char)r);
            return;
        }

        if (asciiOnly ? r < 0x80 && IsPrint(r) : IsPrint(r))
        {
            AppendRune(sb, r);
            return;
        }

        switch (r)
        {
            case '\a': sb.Append("\\a"); return;
            case '\b': sb.Append("\\b"); return;
            case '\f': sb.Append("\\f"); return;
            case '\n': sb.Append("\\n"); return;
            case '\r': sb.Append("\\r"); return;
            case '\t': sb.Append("\\t"); return;
            case '\v': sb.Append("\\v"); return;
        }

        if (r < ' ' || r == 0x7f)
        {
            sb.Append("\\x").Append(((byte)r).ToString("x2", CultureInfo.InvariantCulture));
        }
        else if (r < 0x10000)
        {
            sb.Append("\\u").Append(r.ToString("x4", CultureInfo.InvariantCulture));
        }
        else
        {
            sb.Append("\\U").Append(r.ToString("x8", CultureInfo.InvariantCulture));
        }
    }

    public static void AppendRune(StringBuilder sb, int r)
    {
        if (r < 0x10000)
        {
            sb.Append((char)r);
        }
        else
        {
            sb.Append(char.ConvertFromUtf32(r));
        }
    }

    /// <summary>Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.</summary>
    public static bool IsPrint(int r)
    {
        if (r < 0x80)
        {
            return r >= 0x20 && r < 0x7f;
        }

        if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
        {
            return false;
        }

        var cat = CharUnicodeInfo.GetUnicodeCategory(r);
        return cat switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
                or UnicodeCategory.OtherNotAssigned or UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator
                or UnicodeCategory.ParagraphSeparator => false,
            _ => true,
        };
    }

    /// <summary>time.Time.String() for a UTC time: <c>2006-01-02 15:04:05.999999999 +0000 UTC</c>.</summary>
    public static string FormatTime(long unixNanos)
    {
        var seconds = Math.DivRem(unixNanos, 1_000_000_000L, out var nanos);
        if (nanos < 0)
        {
            nanos += 1_000_000_000L;
            seconds--;
        }

        var sb = new StringBuilder(40);
        var dt = DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime;
        sb.Append(dt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        if (nanos != 0)
        {
            sb.Append('.').Append(nanos.ToString("D9", CultureInfo.InvariantCulture).TrimEnd('0'));
        }

        sb.Append(" +0000 UTC");
        return sb.ToString();
    }

    /// <summary>time.Duration.String(): <c>1h30m0s</c>, <c>1.5s</c>, <c>1ms</c>, <c>0s</c>.</summary>
    public static string FormatDuration(long d)
    {
        if (d == 0)
        {
            return "0s";
        }

        var neg = d < 0;
        var u = neg ? (ulong)(-(d + 1)) + 1 : (ulong)d;
        var sb = new StringBuilder();
        if (u < 1_000_000_000UL)
        {
            // Sub-second: the largest unit that keeps a non-zero integer part.
            string unit;
            ulong scale;
            if (u < 1_000UL)
            {
                sb.Append(u.ToString(CultureInfo.InvariantCulture)).Append("ns");
                return (neg ? "-" : string.Empty) + sb;
            }

            if (u < 1_000_000UL)
            {
                unit = "µs";
                scale = 1_000UL;
            }
            else
            {
                unit = "ms";
                scale = 1_000_000UL;
            }

            AppendFraction(sb, u, scale);
            sb.Append(unit);
        }
        else
        {
            var secs = u / 1_000_000_000UL;
            var frac = u % 1_000_000_000UL;
            var h = secs / 3600;
            var m = secs / 60 % 60;
            var s = secs % 60;
            if (h > 0)
            {
                sb.Append(h.ToString(CultureInfo.InvariantCulture)).Append('h');
            }

            if (h > 0 || m > 0)
            {
                sb.Append(m.ToString(CultureInfo.InvariantCulture)).Append('m');
            }

            AppendFraction(sb, (s * 1_000_000_000UL) + frac, 1_000_000_000UL);
            sb.Append('s');
        }

        return (neg ? "-" : string.Empty) + sb;
    }

    private static void AppendFraction(StringBuilder sb, ulong v, ulong scale)
    {
        sb.Append((v / scale).ToString(CultureInfo.InvariantCulture));
        var frac = v % scale;
        if (frac != 0)
        {
            var digits = scale switch { 1_000UL => 3, 1_000_000UL => 6, _ => 9 };
            sb.Append('.').Append(frac.ToString("D" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture).TrimEnd('0'));
        }
    }

    /// <summary>Byte-wise (UTF-8) ordering of strings, as Go compares them; differs from UTF-16 ordinal only around surrogates.</summary>
    public static int CompareStrings(string a, string b)
    {
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            var ca = a[i];
            var cb = b[i];
            if (ca == cb)
            {
                continue;
            }

            // Surrogates (U+10000 and up) sort after U+E000..U+FFFF in UTF-8 but before them in UTF-16.
            var sa = char.IsSurrogate(ca);
            var sb = char.IsSurrogate(cb);
            if (sa != sb && (ca >= 0xE000 || cb >= 0xE000))
            {
                return sa ? 1 : -1;
            }

            return ca < cb ? -1 : 1;
        }

        return a.Length.CompareTo(b.Length);
    }

    /// <summary>Byte-wise ordering comparer (Go's fmtsort order for string keys).</summary>
    public static readonly IComparer<string> StringComparer = Comparer<string>.Create(CompareStrings);

    /// <summary>The number of bytes <paramref name="s"/> takes in UTF-8 (Go's len of a string).</summary>
    public static int Utf8Length(string s) => Encoding.UTF8.GetByteCount(s);

    /// <summary>One fmt print state (flags reset per verb).</summary>
    private struct Printer
    {
        private readonly StringBuilder _sb;
        private bool _plus;
        private bool _minus;
        private bool _sharp;
        private bool _space;
        private bool _zero;
        private bool _plusV;
        private bool _sharpV;
        private bool _widPresent;
        private bool _precPresent;
        private int _wid;
        private int _prec;

        public Printer(StringBuilder sb)
        {
            _sb = sb;
        }

        private void ClearFlags()
        {
            _plus = _minus = _sharp = _space = _zero = _plusV = _sharpV = _widPresent = _precPresent = false;
            _wid = _prec = 0;
        }

        public void DoPrintf(string format, ReadOnlySpan<GoValue> a)
        {
            var end = format.Length;
            var argNum = 0;
            var afterIndex = false;
            var reordered = false;
            var i = 0;
            while (i < end)
            {
                var goodArgNum = true;
                var lasti = i;
                while (i < end && format[i] != '%')
                {
                    i++;
                }

                if (i > lasti)
                {
                    _sb.Append(format, lasti, i - lasti);
                }

                if (i >= end)
                {
                    break;
                }

                i++;
                ClearFlags();
                var fast = false;
                for (; i < end; i++)
                {
                    var c = format[i];
                    if (c == '#')
                    {
                        _sharp = true;
                    }
                    else if (c == '0')
                    {
                        _zero = !_minus;
                    }
                    else if (c == '+')
                    {
                        _plus = true;
                    }
                    else if (c == '-')
                    {
                        _minus = true;
                        _zero = false;
                    }
                    else if (c == ' ')
                    {
                        _space = true;
                    }
                    else
                    {
                        if (c is >= 'a' and <= 'z' && argNum < a.Length)
                        {
                            if (c == 'v')
                            {
                                _sharpV = _sharp;
                                _sharp = false;
                                _plusV = _plus;
                                _plus = false;
                            }

                            PrintArg(a[argNum], c);
                            argNum++;
                            i++;
                            fast = true;
                        }

                        break;
                    }
                }

                if (fast)
                {
                    continue;
                }

                (argNum, i, afterIndex) = ArgNumber(argNum, format, i, a.Length, ref reordered, ref goodArgNum);

                if (i < end && format[i] == '*')
                {
                    i++;
                    (_wid, _widPresent, argNum) = IntFromArg(a, argNum);
                    if (!_widPresent)
                    {
                        _sb.Append("%!(BADWIDTH)");
                    }

                    if (_wid < 0)
                    {
                        _wid = -_wid;
                        _minus = true;
                        _zero = false;
                    }

                    afterIndex = false;
                }
                else
                {
                    (_wid, _widPresent, i) = ParseNum(format, i, end);
                    if (afterIndex && _widPresent)
                    {
                        goodArgNum = false;
                    }
                }

                if (i + 1 < end && format[i] == '.')
                {
                    i++;
                    if (afterIndex)
                    {
                        goodArgNum = false;
                    }

                    (argNum, i, afterIndex) = ArgNumber(argNum, format, i, a.Length, ref reordered, ref goodArgNum);
                    if (i < end && format[i] == '*')
                    {
                        i++;
                        (_prec, _precPresent, argNum) = IntFromArg(a, argNum);
                        if (_prec < 0)
                        {
                            _prec = 0;
                            _precPresent = false;
                        }

                        if (!_precPresent)
                        {
                            _sb.Append("%!(BADPREC)");
                        }

                        afterIndex = false;
                    }
                    else
                    {
                        (_prec, _precPresent, i) = ParseNum(format, i, end);
                        if (!_precPresent)
                        {
                            _prec = 0;
                            _precPresent = true;
                        }
                    }
                }

                if (!afterIndex)
                {
                    (argNum, i, afterIndex) = ArgNumber(argNum, format, i, a.Length, ref reordered, ref goodArgNum);
                }

                if (i >= end)
                {
                    _sb.Append("%!(NOVERB)");
                    break;
                }

                int verb = format[i];
                var size = 1;
                if (char.IsHighSurrogate(format[i]) && i + 1 < end && char.IsLowSurrogate(format[i + 1]))
                {
                    verb = char.ConvertToUtf32(format[i], format[i + 1]);
                    size = 2;
                }

                i += size;
                if (verb == '%')
                {
                    _sb.Append('%');
                }
                else if (!goodArgNum)
                {
                    BadArg(verb, "BADINDEX");
                }
                else if (argNum >= a.Length)
                {
                    BadArg(verb, "MISSING");
                }
                else
                {
                    if (verb == 'v')
                    {
                        _sharpV = _sharp;
                        _sharp = false;
                        _plusV = _plus;
                        _plus = false;
                    }

                    PrintArg(a[argNum], verb);
                    argNum++;
                }
            }

            if (!reordered && argNum < a.Length)
            {
                ClearFlags();
                _sb.Append("%!(EXTRA ");
                for (var k = argNum; k < a.Length; k++)
                {
                    if (k > argNum)
                    {
                        _sb.Append(", ");
                    }

                    if (!a[k].IsValid)
                    {
                        _sb.Append("<nil>");
                    }
                    else
                    {
                        _sb.Append(a[k].TypeName).Append('=');
                        PrintArg(a[k], 'v');
                    }
                }

                _sb.Append(')');
            }
        }

        private readonly void BadArg(int verb, string what)
        {
            _sb.Append("%!");
            AppendRune(_sb, verb);
            _sb.Append('(').Append(what).Append(')');
        }

        private static (int Num, bool IsNum, int NewI) ParseNum(string s, int start, int end)
        {
            var num = 0;
            var isNum = false;
            var i = start;
            for (; i < end && s[i] >= '0' && s[i] <= '9'; i++)
            {
                if (num > 1_000_000 || num < -1_000_000)
                {
                    return (0, false, end);
                }

                num = (num * 10) + (s[i] - '0');
                isNum = true;
            }

            return (num, isNum, i);
        }

        private static (int ArgNum, int I, bool Found) ArgNumber(int argNum, string format, int i, int numArgs, ref bool reordered, ref bool goodArgNum)
        {
            if (format.Length <= i || format[i] != '[')
            {
                return (argNum, i, false);
            }

            reordered = true;
            var rest = format.AsSpan(i);
            int index;
            int wid;
            bool ok;
            if (rest.Length < 3)
            {
                (index, wid, ok) = (0, 1, false);
            }
            else
            {
                (index, wid, ok) = (0, 1, false);
                for (var k = 1; k < rest.Length; k++)
                {
                    if (rest[k] == ']')
                    {
                        var (width, isNum, newi) = ParseNum(format, i + 1, i + k);
                        (index, wid, ok) = !isNum || newi != i + k ? (0, k + 1, false) : (width - 1, k + 1, true);
                        break;
                    }
                }
            }

            if (ok && index >= 0 && index < numArgs)
            {
                return (index, i + wid, true);
            }

            goodArgNum = false;
            return (argNum, i + wid, ok);
        }

        private static (int Num, bool IsInt, int NewArgNum) IntFromArg(ReadOnlySpan<GoValue> a, int argNum)
        {
            if (argNum >= a.Length)
            {
                return (0, false, argNum);
            }

            var v = a[argNum];
            if (v.Kind is GoKind.Int or GoKind.Int64 or GoKind.Uint8 && v.Int is >= -1_000_000 and <= 1_000_000)
            {
                return ((int)v.Int, true, argNum + 1);
            }

            return (0, false, argNum + 1);
        }

        public void PrintArg(GoValue arg, int verb)
        {
            if (!arg.IsValid)
            {
                if (verb is 'T' or 'v')
                {
                    Pad("<nil>");
                }
                else
                {
                    BadVerb(verb, arg);
                }

                return;
            }

            if (verb == 'T')
            {
                FmtS(arg.TypeName);
                return;
            }

            switch (arg.Kind)
            {
                case GoKind.Bool:
                    if (verb is 't' or 'v')
                    {
                        Pad(arg.Bool ? "true" : "false");
                    }
                    else
                    {
                        BadVerb(verb, arg);
                    }

                    return;
                case GoKind.Int:
                case GoKind.Int64:
                case GoKind.Duration when verb is not ('v' or 's' or 'q' or 'x' or 'X'):
                    FmtInteger(arg.Int, verb, arg);
                    return;
                case GoKind.Uint8:
                    FmtInteger(arg.Int, verb, arg);
                    return;
                case GoKind.Float:
                    FmtFloatVerb(arg.Float, verb, arg);
                    return;
                case GoKind.String:
                case GoKind.Html:
                    FmtString(arg.Str, verb, arg);
                    return;
                case GoKind.Time:
                    // A Stringer for these verbs; other verbs print the struct behind the pointer
                    // (wall = nanoseconds, ext = seconds since year 1, loc = nil).
                    if (verb is 'v' or 's' or 'x' or 'X' or 'q')
                    {
                        FmtString(FormatTime(arg.Int), verb, arg);
                    }
                    else
                    {
                        var seconds = Math.DivRem(arg.Int, 1_000_000_000L, out var nanos);
                        if (nanos < 0)
                        {
                            nanos += 1_000_000_000L;
                            seconds--;
                        }

                        _sb.Append("&{");
                        FmtInteger(nanos, verb, GoValue.FromInt(nanos));
                        _sb.Append(' ');
                        FmtInteger(seconds + 62135596800L, verb, GoValue.FromInt64(seconds + 62135596800L));
                        _sb.Append(' ');
                        FmtInteger(0, verb, GoValue.FromInt(0));
                        _sb.Append('}');
                    }

                    return;
                case GoKind.Duration:
                    FmtString(FormatDuration(arg.Int), verb, arg);
                    return;
                default:
                    PrintComposite(arg, verb, 0);
                    return;
            }
        }

        private void PrintComposite(GoValue arg, int verb, int depth)
        {
            switch (arg.Kind)
            {
                case GoKind.StringMap:
                {
                    var map = (IReadOnlyDictionary<string, string>?)arg.Ref;
                    _sb.Append(_sharpV ? "map[string]string{" : "map[");
                    if (map is not null)
                    {
                        var first = true;
                        foreach (var key in SortedKeys(map.Keys))
                        {
                            if (!first)
                            {
                                _sb.Append(_sharpV ? ", " : " ");
                            }

                            first = false;
                            FmtString(key, verb, GoValue.FromString(key));
                            _sb.Append(':');
                            var value = map[key];
                            FmtString(value, verb, GoValue.FromString(value));
                        }
                    }

                    _sb.Append(_sharpV ? '}' : ']');
                    return;
                }

                case GoKind.AnyMap:
                {
                    var map = (Dictionary<string, GoValue>)arg.Ref!;
                    _sb.Append(_sharpV ? "map[string]interface {}{" : "map[");
                    var first = true;
                    foreach (var key in SortedKeys(map.Keys))
                    {
                        if (!first)
                        {
                            _sb.Append(_sharpV ? ", " : " ");
                        }

                        first = false;
                        FmtString(key, verb, GoValue.FromString(key));
                        _sb.Append(':');
                        var value = map[key];
                        if (!value.IsValid)
                        {
                            _sb.Append("<nil>");
                        }
                        else if (value.Kind is GoKind.StringMap or GoKind.AnyMap or GoKind.Sample or GoKind.QueryResult or GoKind.Data)
                        {
                            PrintComposite(value, verb, depth + 1);
                        }
                        else
                        {
                            PrintArg(value, verb);
                        }
                    }

                    _sb.Append(_sharpV ? '}' : ']');
                    return;
                }

                case GoKind.Sample:
                {
                    var s = (TemplateSample?)arg.Ref;
                    if (s is null)
                    {
                        _sb.Append("<nil>");
                        return;
                    }

                    if (depth == 0)
                    {
                        _sb.Append('&');
                    }

                    _sb.Append('{');
                    if (_plusV)
                    {
                        _sb.Append("Labels:");
                    }

                    PrintComposite(GoValue.FromStringMap(s.Labels), verb, depth + 1);
                    _sb.Append(' ');
                    if (_plusV)
                    {
                        _sb.Append("Value:");
                    }

                    FmtFloatVerb(s.Value, verb, GoValue.FromFloat(s.Value));
                    _sb.Append('}');
                    return;
                }

                case GoKind.QueryResult:
                {
                    var samples = (TemplateSample[]?)arg.Ref ?? [];
                    _sb.Append('[');
                    for (var i = 0; i < samples.Length; i++)
                    {
                        if (i > 0)
                        {
                            _sb.Append(' ');
                        }

                        // Go prints the pointers' addresses here; the sample itself is more useful and just as unlike Go.
                        PrintComposite(GoValue.FromSample(samples[i]), verb, depth + 1);
                    }

                    _sb.Append(']');
                    return;
                }

                case GoKind.Data:
                {
                    var d = (AlertTemplateData)arg.Ref!;
                    _sb.Append('{');
                    if (_plusV)
                    {
                        _sb.Append("Labels:");
                    }

                    PrintComposite(GoValue.FromStringMap(d.Labels), verb, depth + 1);
                    _sb.Append(' ');
                    if (_plusV)
                    {
                        _sb.Append("ExternalLabels:");
                    }

                    PrintComposite(GoValue.FromStringMap(d.ExternalLabels), verb, depth + 1);
                    _sb.Append(' ');
                    if (_plusV)
                    {
                        _sb.Append("ExternalURL:");
                    }

                    FmtString(d.ExternalUrl, verb, GoValue.FromString(d.ExternalUrl));
                    _sb.Append(' ');
                    if (_plusV)
                    {
                        _sb.Append("Value:");
                    }

                    FmtFloatVerb(d.Value, verb, GoValue.FromFloat(d.Value));
                    _sb.Append('}');
                    return;
                }

                default:
                    PrintArg(arg, verb);
                    return;
            }
        }

        private static List<string> SortedKeys(IEnumerable<string> keys)
        {
            var list = new List<string>(keys);
            list.Sort(StringComparer);
            return list;
        }

        private void BadVerb(int verb, GoValue arg)
        {
            _sb.Append("%!");
            AppendRune(_sb, verb);
            _sb.Append('(');
            if (arg.IsValid)
            {
                _sb.Append(arg.TypeName).Append('=');
                PrintArg(arg, 'v');
            }
            else
            {
                _sb.Append("<nil>");
            }

            _sb.Append(')');
        }

        private void FmtString(string s, int verb, GoValue arg)
        {
            switch (verb)
            {
                case 'v':
                    if (_sharpV)
                    {
                        FmtQ(s);
                    }
                    else
                    {
                        FmtS(s);
                    }

                    return;
                case 's':
                    FmtS(s);
                    return;
                case 'x':
                case 'X':
                    FmtSx(s, verb == 'X');
                    return;
                case 'q':
                    FmtQ(s);
                    return;
                default:
                    BadVerb(verb, arg);
                    return;
            }
        }

        private readonly string Truncate(string s)
        {
            if (_precPresent)
            {
                var n = _prec;
                for (var i = 0; i < s.Length; i++)
                {
                    if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length)
                    {
                        i++;
                    }

                    n--;
                    if (n < 0)
                    {
                        var cut = char.IsLowSurrogate(s[i]) ? i - 1 : i;
                        return s[..cut];
                    }
                }
            }

            return s;
        }

        private void FmtS(string s) => Pad(Truncate(s));

        private void FmtQ(string s)
        {
            s = Truncate(s);
            if (_sharp && CanBackquote(s))
            {
                Pad("`" + s + "`");
                return;
            }

            var sb = new StringBuilder(s.Length + 2);
            AppendQuoted(sb, s, '"', _plus);
            Pad(sb.ToString());
        }

        private static bool CanBackquote(string s)
        {
            foreach (var c in s)
            {
                if (c == '`' || c == '\uFEFF' || (c < ' ' && c != '\t') || c == 0x7f)
                {
                    return false;
                }
            }

            return true;
        }

        private void FmtSx(string s, bool upper)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            var length = bytes.Length;
            if (_precPresent && _prec < length)
            {
                length = _prec;
            }

            var digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
            var sb = new StringBuilder(length * 3);
            for (var i = 0; i < length; i++)
            {
                if (_space && i > 0)
                {
                    sb.Append(' ');
                }

                if (_sharp && (_space || i == 0))
                {
                    sb.Append('0').Append(upper ? 'X' : 'x');
                }

                sb.Append(digits[bytes[i] >> 4]).Append(digits[bytes[i] & 0xF]);
            }

            Pad(sb.ToString());
        }

        private void FmtInteger(long value, int verb, GoValue arg)
        {
            var unsigned = arg.Kind == GoKind.Uint8;
            switch (verb)
            {
                case 'v':
                case 'd':
                    FmtIntegerBase(value, 10, unsigned, verb, false);
                    return;
                case 'b':
                    FmtIntegerBase(value, 2, unsigned, verb, false);
                    return;
                case 'o':
                case 'O':
                    FmtIntegerBase(value, 8, unsigned, verb, false);
                    return;
                case 'x':
                    FmtIntegerBase(value, 16, unsigned, verb, false);
                    return;
                case 'X':
                    FmtIntegerBase(value, 16, unsigned, verb, true);
                    return;
                case 'c':
                    Pad(IsValidRune(value) ? char.ConvertFromUtf32((int)value) : "\uFFFD");
                    return;
                case 'q':
                {
                    var sb = new StringBuilder();
                    var r = IsValidRune(value) ? (int)value : 0xFFFD;
                    if (_sharp && r != '\'' && IsPrint(r) && r != '`')
                    {
                        sb.Append('\'');
                        AppendRune(sb, r);
                        sb.Append('\'');
                    }
                    else
                    {
                        sb.Append('\'');
                        AppendEscapedRune(sb, r, '\'', _plus);
                        sb.Append('\'');
                    }

                    Pad(sb.ToString());
                    return;
                }

                case 'U':
                {
                    var s = "U+" + value.ToString("X4", CultureInfo.InvariantCulture);
                    if (_sharp && IsValidRune(value) && IsPrint((int)value))
                    {
                        s += " '" + char.ConvertFromUtf32((int)value) + "'";
                    }

                    Pad(s);
                    return;
                }

                default:
                    BadVerb(verb, arg);
                    return;
            }
        }

        private static bool IsValidRune(long v) => v is >= 0 and <= 0x10FFFF and not (>= 0xD800 and <= 0xDFFF);

        private void FmtIntegerBase(long value, int numberBase, bool unsigned, int verb, bool upper)
        {
            var negative = !unsigned && value < 0;
            var u = negative ? (ulong)(-(value + 1)) + 1 : (ulong)value;
            var prec = 0;
            if (_precPresent)
            {
                prec = _prec;
                if (prec == 0 && u == 0)
                {
                    var oldZero = _zero;
                    _zero = false;
                    WritePadding(_wid);
                    _zero = oldZero;
                    return;
                }
            }
            else if (_zero && _widPresent)
            {
                prec = _wid;
                if (negative || _plus || _space)
                {
                    prec--;
                }
            }

            var digits = upper ? "0123456789ABCDEFX" : "0123456789abcdefx";
            Span<char> buf = stackalloc char[96];
            var i = buf.Length;
            if (u == 0)
            {
                buf[--i] = '0';
            }

            while (u > 0)
            {
                buf[--i] = digits[(int)(u % (ulong)numberBase)];
                u /= (ulong)numberBase;
            }

            prec = Math.Min(prec, 64);
            while (i > 0 && prec > buf.Length - i)
            {
                buf[--i] = '0';
            }

            if (_sharp)
            {
                switch (numberBase)
                {
                    case 2:
                        buf[--i] = 'b';
                        buf[--i] = '0';
                        break;
                    case 8:
                        if (buf[i] != '0')
                        {
                            buf[--i] = '0';
                        }

                        break;
                    case 16:
                        buf[--i] = digits[16];
                        buf[--i] = '0';
                        break;
                }
            }

            if (verb == 'O')
            {
                buf[--i] = 'o';
                buf[--i] = '0';
            }

            if (negative)
            {
                buf[--i] = '-';
            }
            else if (_plus)
            {
                buf[--i] = '+';
            }
            else if (_space)
            {
                buf[--i] = ' ';
            }

            var old = _zero;
            _zero = false;
            Pad(new string(buf[i..]));
            _zero = old;
        }

        private void FmtFloatVerb(double v, int verb, GoValue arg)
        {
            switch (verb)
            {
                case 'v':
                    FmtFloat(v, 'g', -1);
                    return;
                case 'g':
                case 'G':
                case 'x':
                case 'X':
                    FmtFloat(v, (char)verb, -1);
                    return;
                case 'f':
                case 'e':
                case 'E':
                    FmtFloat(v, (char)verb, 6);
                    return;
                case 'F':
                    FmtFloat(v, 'f', 6);
                    return;
                default:
                    BadVerb(verb, arg);
                    return;
            }
        }

        private void FmtFloat(double v, char verb, int prec)
        {
            if (_precPresent)
            {
                prec = _prec;
            }

            var body = GoFloat.Format(v, verb, prec);
            string num;
            if (body[0] is '-' or '+')
            {
                num = body;
            }
            else
            {
                num = "+" + body;
            }

            if (_space && num[0] == '+' && !_plus)
            {
                num = " " + num[1..];
            }

            if (num[1] is 'I' or 'N')
            {
                var oldZero = _zero;
                _zero = false;
                if (num[1] == 'N' && !_space && !_plus)
                {
                    num = num[1..];
                }

                Pad(num);
                _zero = oldZero;
                return;
            }

            if (_sharp && verb != 'b')
            {
                num = SharpFloat(num, verb, prec);
            }

            if (_plus || num[0] != '+')
            {
                if (_zero && _widPresent && _wid > num.Length)
                {
                    _sb.Append(num[0]);
                    WritePadding(_wid - num.Length);
                    _sb.Append(num, 1, num.Length - 1);
                    return;
                }

                Pad(num);
                return;
            }

            Pad(num[1..]);
        }

        /// <summary>The '#' flag for floats: always a decimal point; %g keeps trailing zeros.</summary>
        private static string SharpFloat(string num, char verb, int prec)
        {
            var digits = 0;
            if (verb is 'v' or 'g' or 'G' or 'x')
            {
                digits = prec == -1 ? 6 : prec;
            }

            var tailStart = num.IndexOfAny(['e', 'E', 'p', 'P']);
            var tail = tailStart >= 0 ? num[tailStart..] : string.Empty;
            var head = tailStart >= 0 ? num[..tailStart] : num;
            var sawNonzero = false;
            var sawDot = false;
            for (var i = 1; i < head.Length; i++)
            {
                switch (head[i])
                {
                    case '.':
                        sawDot = true;
                        break;
                    case '0':
                        if (sawNonzero)
                        {
                            digits--;
                        }

                        break;
                    default:
                        sawNonzero = true;
                        digits--;
                        break;
                }
            }

            if (!sawDot)
            {
                if (head.Length == 2 && head[1] == '0')
                {
                    digits--;
                }

                head += ".";
            }

            while (digits > 0)
            {
                head += "0";
                digits--;
            }

            return head + tail;
        }

        private readonly void WritePadding(int n)
        {
            if (n <= 0)
            {
                return;
            }

            _sb.Append(_zero ? '0' : ' ', n);
        }

        private readonly void Pad(string s)
        {
            if (!_widPresent || _wid == 0)
            {
                _sb.Append(s);
                return;
            }

            var width = _wid - RuneCount(s);
            if (!_minus)
            {
                WritePadding(width);
                _sb.Append(s);
            }
            else
            {
                _sb.Append(s);
                WritePadding(width);
            }
        }

        private static int RuneCount(string s)
        {
            var n = 0;
            for (var i = 0; i < s.Length; i++)
            {
                if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                {
                    i++;
                }

                n++;
            }

            return n;
        }
    }
}
