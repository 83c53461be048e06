using System.Globalization;
using System.Text;

namespace Metrics.Coordination.Rules.Templating;

/// <summary>Go text/template's predefined functions (Go 1.19 semantics, as in Prometheus 2.42).</summary>
internal static class Builtins
{
    private static readonly ParamType[] ValueVariadic = [ParamType.Value, ParamType.Value];
    private static readonly ParamType[] OneValue = [ParamType.Value];
    private static readonly ParamType[] TwoValues = [ParamType.Value, ParamType.Value];
    private static readonly ParamType[] AnyVariadic = [ParamType.Any];

    public static IEnumerable<GoFunction> All()
    {
        // and/or are evaluated by the executor (they short-circuit); the invokers are never called.
        yield return new GoFunction("and", ValueVariadic, variadic: true, (_, a) => a[^1], builtin: true);
        yield return new GoFunction("or", ValueVariadic, variadic: true, (_, a) => a[^1], builtin: true);
        yield return new GoFunction("call", ValueVariadic, variadic: true, (_, a) => Call(a), builtin: true);
        yield return new GoFunction("html", AnyVariadic, variadic: true, (_, a) => GoValue.FromString(HtmlEscape(EvalArgs(a))), builtin: true);
        yield return new GoFunction("index", ValueVariadic, variadic: true, (_, a) => Index(a), builtin: true);
        yield return new GoFunction("slice", ValueVariadic, variadic: true, (_, a) => Slice(a), builtin: true);
        yield return new GoFunction("js", AnyVariadic, variadic: true, (_, a) => GoValue.FromString(JsEscape(EvalArgs(a))), builtin: true);
        yield return new GoFunction("len", OneValue, variadic: false, (_, a) => GoValue.FromInt(Length(a[0])), builtin: true);
        yield return new GoFunction("not", OneValue, variadic: false, (_, a) => GoValue.FromBool(!a[0].IsTrue), builtin: true);
        yield return new GoFunction("print", AnyVariadic, variadic: true, (_, a) => GoValue.FromString(GoFmt.Sprint(a)), builtin: true);
        yield return new GoFunction("printf", [ParamType.String, ParamType.Any], variadic: true, (_, a) => GoValue.FromString(GoFmt.Sprintf(a[0].Str, a[1..])), builtin: true);
        yield return new GoFunction("println", AnyVariadic, variadic: true, (_, a) => GoValue.FromString(GoFmt.Sprintln(a)), builtin: true);
        yield return new GoFunction("urlquery", AnyVariadic, variadic: true, (_, a) => GoValue.FromString(QueryEscape(EvalArgs(a))), builtin: true);
        yield return new GoFunction("eq", ValueVariadic, variadic: true, (_, a) => GoValue.FromBool(Eq(a[0], a[1..])), builtin: true);
        yield return new GoFunction("ge", TwoValues, variadic: false, (_, a) => GoValue.FromBool(!Lt(a[0], a[1])), builtin: true);
        yield return new GoFunction("gt", TwoValues, variadic: false, (_, a) => GoValue.FromBool(!Le(a[0], a[1])), builtin: true);
        yield return new GoFunction("le", TwoValues, variadic: false, (_, a) => GoValue.FromBool(Le(a[0], a[1])), builtin: true);
        yield return new GoFunction("lt", TwoValues, variadic: false, (_, a) => GoValue.FromBool(Lt(a[0], a[1])), builtin: true);
        yield return new GoFunction("ne", TwoValues, variadic: false, (_, a) => GoValue.FromBool(!Eq(a[0], a[1..])), builtin: true);
    }

    private static GoValue Call(ReadOnlySpan<GoValue> a)
    {
        // No value reachable from alert template data is a Go func, so call always fails as Go's does for non-funcs.
        if (!a[0].IsValid)
        {
            throw new GoCallError("call of nil");
        }

        throw new GoCallError("non-function of type " + a[0].TypeName);
    }

    /// <summary>text/template evalArgs: a lone string as is, otherwise fmt.Sprint of the arguments.</summary>
    private static string EvalArgs(ReadOnlySpan<GoValue> a)
    {
        if (a.Length == 1 && a[0].Kind == GoKind.String)
        {
            return a[0].Str;
        }

        return GoFmt.Sprint(a);
    }

    internal static string HtmlEscape(string s)
    {
        if (s.AsSpan().IndexOfAny("'\"&<>\0") < 0)
        {
            return s;
        }

        var sb = new StringBuilder(s.Length + 16);
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("&#34;"); break;
                case '\'': sb.Append("&#39;"); break;
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '\0': sb.Append('\uFFFD'); break;
                default: sb.Append(c); break;
            }
        }

        return sb.ToString();
    }

    internal static string JsEscape(string s)
    {
        var sb = new StringBuilder(s.Length + 16);
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c < 0x80)
            {
                switch (c)
                {
                    case '\\': sb.Append("\\\\"); continue;
                    case '\'': sb.Append("\\'"); continue;
                    case '"': sb.Append("\\\""); continue;
                    case '<': sb.Append("\\u003C"); continue;
                    case '>': sb.Append("\\u003E"); continue;
                    case '&': sb.Append("\\u0026"); continue;
                    case '=': sb.Append("\\u003D"); continue;
                }

                if (c < ' ')
                {
                    sb.Append("\\u00").Append("0123456789ABCDEF"[c >> 4]).Append("0123456789ABCDEF"[c & 0xF]);
                    continue;
                }

                sb.Append(c);
                continue;
            }

            int r = c;
            var width = 1;
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                r = char.ConvertToUtf32(c, s[i + 1]);
                width = 2;
            }

            if (GoFmt.IsPrint(r))
            {
                sb.Append(s, i, width);
            }
            else
            {
                sb.Append("\\u").Append(r.ToString("X4", CultureInfo.InvariantCulture));
            }

            i += width - 1;
        }

        return sb.ToString();
    }

    /// <summary>net/url.QueryEscape.</summary>
    internal static string QueryEscape(string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        var sb = new StringBuilder(bytes.Length * 2);
        foreach (var b in bytes)
        {
            if (b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'_' or (byte)'.' or (byte)'~')
            {
                sb.Append((char)b);
            }
            else if (b == ' ')
            {
                sb.Append('+');
            }
            else
            {
                sb.Append('%').Append("0123456789ABCDEF"[b >> 4]).Append("0123456789ABCDEF"[b & 0xF]);
            }
        }

        return sb.ToString();
    }

    internal static long Length(GoValue v) => v.Kind switch
    {
        GoKind.String or GoKind.Html => GoFmt.Utf8Length(v.Str),
        GoKind.StringMap => ((IReadOnlyDictionary<string, string>?)v.Ref)?.Count ?? 0,
        GoKind.AnyMap => ((Dictionary<string, GoValue>)v.Ref!).Count,
        GoKind.QueryResult => ((TemplateSample[]?)v.Ref)?.Length ?? 0,
        GoKind.Sample when v.Ref is null => throw new GoCallError("len of nil pointer"),
        GoKind.Sample => throw new GoCallError("len of type template.sample"),
        GoKind.Time => throw new GoCallError("len of type time.Time"),
        GoKind.Invalid => throw new GoCallError("reflect: call of reflect.Value.Type on zero Value"),
        _ => throw new GoCallError("len of type " + v.TypeName),
    };

    private static long IndexArg(GoValue index, long cap)
    {
        long x;
        switch (index.Kind)
        {
            case GoKind.Int or GoKind.Int64 or GoKind.Uint8 or GoKind.Duration:
                x = index.Int;
                break;
            case GoKind.Invalid:
                throw new GoCallError("cannot index slice/array with nil");
            default:
                throw new GoCallError("cannot index slice/array with type " + index.TypeName);
        }

        if (x < 0 || x > cap)
        {
            throw new GoCallError("index out of range: " + x.ToString(CultureInfo.InvariantCulture));
        }

        return x;
    }

    private static string MapKey(GoValue index)
    {
        if (index.Kind == GoKind.String)
        {
            return index.Str;
        }

        if (!index.IsValid)
        {
            throw new GoCallError("value is nil; should be of type string");
        }

        throw new GoCallError("value has type " + index.TypeName + "; should be string");
    }

    private static GoValue Index(ReadOnlySpan<GoValue> a)
    {
        var item = a[0];
        if (!item.IsValid)
        {
            throw new GoCallError("index of untyped nil");
        }

        for (var i = 1; i < a.Length; i++)
        {
            var index = a[i];
            switch (item.Kind)
            {
                case GoKind.String or GoKind.Html:
                {
                    var bytes = Encoding.UTF8.GetBytes(item.Str);
                    var x = IndexArg(index, bytes.Length);
                    if (x == bytes.Length)
                    {
                        // Go 1.19 lets index == len through to reflect, which panics with this text.
                        throw new GoCallError("reflect: string index out of range");
                    }

                    item = GoValue.FromUint8(bytes[x]);
                    break;
                }

                case GoKind.QueryResult:
                {
                    var samples = (TemplateSample[]?)item.Ref ?? [];
                    var x = IndexArg(index, samples.Length);
                    if (x == samples.Length)
                    {
                        throw new GoCallError("reflect: slice index out of range");
                    }

                    item = GoValue.FromSample(samples[x]);
                    break;
                }

                case GoKind.StringMap:
                {
                    var key = MapKey(index);
                    var map = (IReadOnlyDictionary<string, string>?)item.Ref;
                    item = map is not null && map.TryGetValue(key, out var s) ? GoValue.FromString(s) : GoValue.EmptyString;
                    break;
                }

                case GoKind.AnyMap:
                {
                    var key = MapKey(index);
                    item = ((Dictionary<string, GoValue>)item.Ref!).TryGetValue(key, out var v) ? v : GoValue.Missing;
                    if (!item.IsValid && i + 1 < a.Length)
                    {
                        throw new GoCallError("index of untyped nil");
                    }

                    break;
                }

                case GoKind.Sample when item.Ref is null:
                    throw new GoCallError("index of nil pointer");
                case GoKind.Sample:
                    throw new GoCallError("can't index item of type template.sample");
                case GoKind.Time:
                    throw new GoCallError("can't index item of type time.Time");
                default:
                    throw new GoCallError("can't index item of type " + item.TypeName);
            }
        }

        return item;
    }

    private static GoValue Slice(ReadOnlySpan<GoValue> a)
    {
        var item = a[0];
        if (!item.IsValid)
        {
            throw new GoCallError("slice of untyped nil");
        }

        var indexes = a[1..];
        if (indexes.Length > 3)
        {
            throw new GoCallError("too many slice indexes: " + indexes.Length.ToString(CultureInfo.InvariantCulture));
        }

        byte[]? bytes = null;
        TemplateSample[]? samples = null;
        long cap;
        switch (item.Kind)
        {
            case GoKind.String or GoKind.Html:
                if (indexes.Length == 3)
                {
                    throw new GoCallError("cannot 3-index slice a string");
                }

                bytes = Encoding.UTF8.GetBytes(item.Str);
                cap = bytes.Length;
                break;
            case GoKind.QueryResult:
                samples = (TemplateSample[]?)item.Ref ?? [];
                cap = samples.Length;
                break;
            case GoKind.Sample when item.Ref is not null:
                throw new GoCallError("can't slice item of type *template.sample");
            default:
                throw new GoCallError("can't slice item of type " + item.TypeName);
        }

        Span<long> idx = [0, cap, cap];
        for (var i = 0; i < indexes.Length; i++)
        {
            idx[i] = IndexArg(indexes[i], cap);
        }

        if (idx[0] > idx[1])
        {
            throw new GoCallError(string.Create(CultureInfo.InvariantCulture, $"invalid slice index: {idx[0]} > {idx[1]}"));
        }

        if (indexes.Length == 3 && idx[1] > idx[2])
        {
            throw new GoCallError(string.Create(CultureInfo.InvariantCulture, $"invalid slice index: {idx[1]} > {idx[2]}"));
        }

        if (bytes is not null)
        {
            var s = Encoding.UTF8.GetString(bytes, (int)idx[0], (int)(idx[1] - idx[0]));
            return item.Kind == GoKind.Html ? GoValue.FromHtml(s) : GoValue.FromString(s);
        }

        return GoValue.FromQueryResult(samples.AsSpan((int)idx[0], (int)(idx[1] - idx[0])).ToArray());
    }

    private enum BasicKind
    {
        Invalid,
        Bool,
        Int,
        Uint,
        Float,
        String,
    }

    private static BasicKind KindOf(GoValue v) => v.Kind switch
    {
        GoKind.Bool => BasicKind.Bool,
        GoKind.Int or GoKind.Int64 or GoKind.Duration => BasicKind.Int,
        GoKind.Uint8 => BasicKind.Uint,
        GoKind.Float => BasicKind.Float,
        GoKind.String or GoKind.Html => BasicKind.String,
        _ => BasicKind.Invalid,
    };

    private const string BadComparison = "incompatible types for comparison";
    private const string BadComparisonType = "invalid type for comparison";

    internal static bool Eq(GoValue arg1, ReadOnlySpan<GoValue> arg2)
    {
        if (arg2.Length == 0)
        {
            throw new GoCallError("missing argument for comparison");
        }

        var k1 = KindOf(arg1);
        foreach (var arg in arg2)
        {
            var k2 = KindOf(arg);
            bool truth;
            if (k1 != k2)
            {
                if (k1 == BasicKind.Int && k2 == BasicKind.Uint)
                {
                    truth = arg1.Int >= 0 && arg1.Int == arg.Int;
                }
                else if (k1 == BasicKind.Uint && k2 == BasicKind.Int)
                {
                    truth = arg.Int >= 0 && arg1.Int == arg.Int;
                }
                else
                {
                    if (arg1.IsValid && arg.IsValid)
                    {
                        throw new GoCallError(BadComparison);
                    }

                    truth = false;
                }
            }
            else
            {
                switch (k1)
                {
                    case BasicKind.Bool:
                    case BasicKind.Int:
                    case BasicKind.Uint:
                        truth = arg1.Int == arg.Int;
                        break;
                    case BasicKind.Float:
                        truth = arg1.Float == arg.Float;
                        break;
                    case BasicKind.String:
                        truth = string.Equals(arg1.Str, arg.Str, StringComparison.Ordinal);
                        break;
                    default:
                        // Go 1.19: same types required, nil compares with nil, maps and slices are not comparable.
                        if (arg1.IsValid && arg.IsValid && arg1.Kind != arg.Kind)
                        {
                            throw new GoCallError("non-comparable types " + GoFmt.Sprintf("%s", [arg1]) + ": " + arg1.TypeName + ", " + arg.TypeName + ": " + GoFmt.Sprint([arg]));
                        }

                        if (IsNil(arg1) || IsNil(arg))
                        {
                            truth = IsNil(arg1) == IsNil(arg);
                        }
                        else
                        {
                            if (!IsComparable(arg))
                            {
                                throw new GoCallError("non-comparable type " + GoFmt.Sprintf("%s", [arg]) + ": " + arg.TypeName);
                            }

                            truth = arg1.Kind == arg.Kind && ReferenceEquals(arg1.Ref, arg.Ref) && arg1.Kind != GoKind.Time;
                        }

                        break;
                }
            }

            if (truth)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsNil(GoValue v) => !v.IsValid || (v.Kind is GoKind.StringMap or GoKind.Sample or GoKind.QueryResult && v.Ref is null);

    private static bool IsComparable(GoValue v) => v.Kind is not (GoKind.StringMap or GoKind.AnyMap or GoKind.QueryResult or GoKind.Data);

    internal static bool Lt(GoValue arg1, GoValue arg2)
    {
        var k1 = KindOf(arg1);
        if (k1 == BasicKind.Invalid)
        {
            throw new GoCallError(BadComparisonType);
        }

        var k2 = KindOf(arg2);
        if (k2 == BasicKind.Invalid)
        {
            throw new GoCallError(BadComparisonType);
        }

        if (k1 != k2)
        {
            if (k1 == BasicKind.Int && k2 == BasicKind.Uint)
            {
                return arg1.Int < 0 || arg1.Int < arg2.Int;
            }

            if (k1 == BasicKind.Uint && k2 == BasicKind.Int)
            {
                return arg2.Int >= 0 && arg1.Int < arg2.Int;
            }

            throw new GoCallError(BadComparison);
        }

        return k1 switch
        {
            BasicKind.Bool => throw new GoCallError(BadComparisonType),
            BasicKind.Float => arg1.Float < arg2.Float,
            BasicKind.Int or BasicKind.Uint => arg1.Int < arg2.Int,
            _ => GoFmt.CompareStrings(arg1.Str, arg2.Str) < 0,
        };
    }

    internal static bool Le(GoValue arg1, GoValue arg2) => Lt(arg1, arg2) || Eq(arg1, [arg2]);
}
