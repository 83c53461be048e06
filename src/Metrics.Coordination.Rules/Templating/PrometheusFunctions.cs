using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Metrics.Coordination.Rules.Templating;

/// <summary>
/// The functions Prometheus adds to alert templates (its <c>template</c> package), with Prometheus's output formats.
/// Semantics follow Prometheus 2.42 (the version our agreement tests run); <c>toDuration</c> and <c>now</c> come from
/// later versions. <c>tmpl</c> is console-only in Prometheus and therefore not defined for alert templates.
/// </summary>
internal static class PrometheusFunctions
{
    private static readonly ParamType[] OneString = [ParamType.String];
    private static readonly ParamType[] OneAny = [ParamType.Any];

    public static IEnumerable<GoFunction> All()
    {
        yield return new GoFunction("query", OneString, variadic: false, (c, a) => Query(c, a[0].Str));
        yield return new GoFunction("first", [ParamType.QueryResult], variadic: false, (_, a) => First(a[0]));
        yield return new GoFunction("label", [ParamType.String, ParamType.Sample], variadic: false, (_, a) =>
            GoValue.FromString(Deref(a[1]).Labels.TryGetValue(a[0].Str, out var v) ? v : string.Empty));
        yield return new GoFunction("value", [ParamType.Sample], variadic: false, (_, a) => GoValue.FromFloat(Deref(a[0]).Value));
        yield return new GoFunction("strvalue", [ParamType.Sample], variadic: false, (_, a) =>
            GoValue.FromString(Deref(a[0]).Labels.TryGetValue("__value__", out var v) ? v : string.Empty));
        yield return new GoFunction("args", [ParamType.Any], variadic: true, (_, a) => Args(a));
        yield return new GoFunction("reReplaceAll", [ParamType.String, ParamType.String, ParamType.String], variadic: false, (_, a) =>
            GoValue.FromString(TemplateRegex.ReplaceAll(TemplateRegex.MustCompile(a[0].Str), a[2].Str, a[1].Str)));
        yield return new GoFunction("safeHtml", OneString, variadic: false, (_, a) => GoValue.FromHtml(a[0].Str));
        yield return new GoFunction("match", [ParamType.String, ParamType.String], variadic: false, (_, a) =>
            GoValue.FromBool(TemplateRegex.IsMatch(TemplateRegex.Compile(a[0].Str), a[1].Str)));
        yield return new GoFunction("title", OneString, variadic: false, (_, a) => GoValue.FromString(Title(a[0].Str)));
        yield return new GoFunction("toUpper", OneString, variadic: false, (_, a) => GoValue.FromString(MapCase(a[0].Str, upper: true)));
        yield return new GoFunction("toLower", OneString, variadic: false, (_, a) => GoValue.FromString(MapCase(a[0].Str, upper: false)));
        yield return new GoFunction("graphLink", OneString, variadic: false, (_, a) =>
            GoValue.FromString("/graph?g0.expr=" + Builtins.QueryEscape(a[0].Str) + "&g0.tab=0"));
        yield return new GoFunction("tableLink", OneString, variadic: false, (_, a) =>
            GoValue.FromString("/graph?g0.expr=" + Builtins.QueryEscape(a[0].Str) + "&g0.tab=1"));
        yield return new GoFunction("sortByLabel", [ParamType.String, ParamType.QueryResult], variadic: false, (_, a) => SortByLabel(a[0].Str, a[1]));
        yield return new GoFunction("stripPort", OneString, variadic: false, (_, a) => GoValue.FromString(StripPort(a[0].Str)));
        yield return new GoFunction("stripDomain", OneString, variadic: false, (_, a) => GoValue.FromString(StripDomain(a[0].Str)));
        yield return new GoFunction("humanize", OneAny, variadic: false, (_, a) => GoValue.FromString(Humanize(ConvertToFloat(a[0]))));
        yield return new GoFunction("humanize1024", OneAny, variadic: false, (_, a) => GoValue.FromString(Humanize1024(ConvertToFloat(a[0]))));
        yield return new GoFunction("humanizeDuration", OneAny, variadic: false, (_, a) => GoValue.FromString(HumanizeDuration(ConvertToFloat(a[0]))));
        yield return new GoFunction("humanizePercentage", OneAny, variadic: false, (_, a) =>
            GoValue.FromString(GoFloat.Format(ConvertToFloat(a[0]) * 100, 'g', 4) + "%"));
        yield return new GoFunction("humanizeTimestamp", OneAny, variadic: false, (_, a) => GoValue.FromString(HumanizeTimestamp(ConvertToFloat(a[0]))));
        yield return new GoFunction("toTime", OneAny, variadic: false, (_, a) => ToTime(ConvertToFloat(a[0])));
        yield return new GoFunction("toDuration", OneAny, variadic: false, (_, a) => ToDuration(ConvertToFloat(a[0])));
        yield return new GoFunction("now", [], variadic: false, (c, _) => GoValue.FromFloat(c.Data.TimestampMs / 1000.0));
        yield return new GoFunction("pathPrefix", [], variadic: false, (c, _) => GoValue.FromString(PathPrefix(c.Data.ExternalUrl)));
        yield return new GoFunction("externalURL", [], variadic: false, (c, _) => GoValue.FromString(c.Data.ExternalUrl));
        yield return new GoFunction("parseDuration", OneString, variadic: false, (_, a) => GoValue.FromFloat(ParseDuration(a[0].Str)));
    }

    private static TemplateSample Deref(GoValue sample) =>
        (TemplateSample?)sample.Ref ?? throw new GoCallError("runtime error: invalid memory address or nil pointer dereference");

    private static GoValue Query(ExecContext context, string expression)
    {
        var query = context.Data.Query ?? throw new GoCallError("no query function is configured for this template expansion");
        IReadOnlyList<TemplateSample> result;
        try
        {
            result = query(expression, context.Data.TimestampMs);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new GoCallError(e.Message);
        }

        var copy = new TemplateSample[result.Count];
        for (var i = 0; i < copy.Length; i++)
        {
            copy[i] = result[i];
        }

        return GoValue.FromQueryResult(copy);
    }

    private static GoValue First(GoValue v)
    {
        var samples = (TemplateSample[]?)v.Ref;
        if (samples is { Length: > 0 })
        {
            return GoValue.FromSample(samples[0]);
        }

        throw new GoCallError("first() called on vector with no elements");
    }

    private static GoValue Args(ReadOnlySpan<GoValue> a)
    {
        var map = new Dictionary<string, GoValue>(a.Length, StringComparer.Ordinal);
        for (var i = 0; i < a.Length; i++)
        {
            map["arg" + i.ToString(CultureInfo.InvariantCulture)] = a[i];
        }

        return GoValue.FromAnyMap(map);
    }

    private static GoValue SortByLabel(string label, GoValue v)
    {
        var samples = (TemplateSample[]?)v.Ref;
        if (samples is null || samples.Length < 2)
        {
            return v;
        }

        // sort.Stable: an insertion-stable order by the label's value (byte order), in place as Go's does.
        var sorted = samples
            .Select((s, i) => (Key: s.Labels.TryGetValue(label, out var l) ? l : string.Empty, Index: i, Sample: s))
            .OrderBy(t => t.Key, GoFmt.StringComparer)
            .ThenBy(t => t.Index)
            .Select(t => t.Sample)
            .ToArray();
        sorted.CopyTo(samples, 0);
        return v;
    }

    /// <summary>Go's strings.Title (as Prometheus 2.42 uses it): upper-cases each letter that follows a separator.</summary>
    internal static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        var prev = (int)' ';
        for (var i = 0; i < s.Length; i++)
        {
            int r = s[i];
            var width = 1;
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                r = char.ConvertToUtf32(s[i], s[i + 1]);
                width = 2;
            }

            if (IsSeparator(prev))
            {
                var str = width == 1 ? char.ToUpperInvariant(s[i]).ToString() : s.Substring(i, 2).ToUpperInvariant();
                sb.Append(str);
            }
            else
            {
                sb.Append(s, i, width);
            }

            prev = r;
            i += width - 1;
        }

        return sb.ToString();
    }

    private static bool IsSeparator(int r)
    {
        if (r <= 0x7F)
        {
            return !(r is (>= '0' and <= '9') or (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_');
        }

        var cat = CharUnicodeInfo.GetUnicodeCategory(r);
        if (cat is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber)
        {
            return false;
        }

        return r is 0x85 or 0xA0 || cat is UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
    }

    /// <summary>Go's net.SplitHostPort; null when it returns an error.</summary>
    internal static (string Host, string Port)? SplitHostPort(string hostport)
    {
        var i = hostport.LastIndexOf(':');
        if (i < 0)
        {
            return null;
        }

        int j = 0, k = 0;
        string host;
        if (hostport.Length > 0 && hostport[0] == '[')
        {
            var end = hostport.IndexOf(']', StringComparison.Ordinal);
            if (end < 0 || end + 1 == hostport.Length || end + 1 != i)
            {
                return null;
            }

            host = hostport[1..end];
            j = 1;
            k = end + 1;
        }
        else
        {
            host = hostport[..i];
            if (host.Contains(':', StringComparison.Ordinal))
            {
                return null;
            }
        }

        if (hostport.IndexOf('[', j) >= 0 || hostport.IndexOf(']', k) >= 0)
        {
            return null;
        }

        return (host, hostport[(i + 1)..]);
    }

    internal static string StripPort(string hostPort) => SplitHostPort(hostPort)?.Host ?? hostPort;

    internal static string StripDomain(string hostPort)
    {
        var split = SplitHostPort(hostPort);
        var host = split?.Host ?? hostPort;
        var port = split?.Port ?? string.Empty;
        if (IsGoIp(host))
        {
            return hostPort;
        }

        var dot = host.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            host = host[..dot];
        }

        if (port.Length > 0)
        {
            return host.Contains(':', StringComparison.Ordinal) ? "[" + host + "]:" + port : host + ":" + port;
        }

        return host;
    }

    /// <summary>Go's net.ParseIP != nil: dotted-quad IPv4 (no leading zeros) or IPv6 without a zone.</summary>
    private static bool IsGoIp(string s)
    {
        if (s.Contains(':', StringComparison.Ordinal))
        {
            return !s.Contains('%', StringComparison.Ordinal) && IPAddress.TryParse(s, out var ip6) && ip6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        }

        var parts = s.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        foreach (var p in parts)
        {
            if (p.Length is 0 or > 3 || (p.Length > 1 && p[0] == '0') || !p.All(char.IsAsciiDigit) || int.Parse(p, CultureInfo.InvariantCulture) > 255)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Prometheus's convertToFloat: float64, numeric strings, integers and durations (as seconds).</summary>
    internal static double ConvertToFloat(GoValue v)
    {
        switch (v.Kind)
        {
            case GoKind.Float:
                return v.Float;
            case GoKind.String:
                return ParseFloat(v.Str);
            case GoKind.Int or GoKind.Int64 or GoKind.Uint8:
                return v.Int;
            case GoKind.Duration:
                return v.Int / 1e9;
            default:
                throw new GoCallError("can't convert " + v.TypeName + " to float");
        }
    }

    /// <summary>Go's strconv.ParseFloat(s, 64) for decimal input (and Inf/NaN spellings), with Go's error texts.</summary>
    internal static double ParseFloat(string s)
    {
        var body = s.AsSpan();
        var sign = 1.0;
        if (body.Length > 0 && (body[0] == '+' || body[0] == '-'))
        {
            sign = body[0] == '-' ? -1 : 1;
            body = body[1..];
        }

        if (body.Equals("inf", StringComparison.OrdinalIgnoreCase) || body.Equals("infinity", StringComparison.OrdinalIgnoreCase))
        {
            return sign * double.PositiveInfinity;
        }

        if (body.Equals("nan", StringComparison.OrdinalIgnoreCase) && body.Length == s.Length)
        {
            return double.NaN;
        }

        var v = 0.0;
        var text = s;
        if (body.Contains('_'))
        {
            // Go accepts underscores between digits ("1_000").
            if (!UnderscoreOk(body))
            {
                throw new GoCallError("strconv.ParseFloat: parsing " + GoFmt.Quote(s) + ": invalid syntax");
            }

            text = s.Replace("_", string.Empty, StringComparison.Ordinal);
            body = text.AsSpan(text.Length - (body.Length - body.Count('_')));
        }

        var ok = body.Length > 0 && (char.IsAsciiDigit(body[0]) || body[0] == '.')
            && body.IndexOfAnyExcept("0123456789.eE+-") < 0
            && double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out v);
        if (!ok)
        {
            throw new GoCallError("strconv.ParseFloat: parsing " + GoFmt.Quote(s) + ": invalid syntax");
        }

        if (double.IsInfinity(v))
        {
            throw new GoCallError("strconv.ParseFloat: parsing " + GoFmt.Quote(s) + ": value out of range");
        }

        return v;
    }

    private static bool UnderscoreOk(ReadOnlySpan<char> s)
    {
        var saw = '^';
        foreach (var c in s)
        {
            if (char.IsAsciiDigit(c))
            {
                saw = '0';
                continue;
            }

            if (c == '_')
            {
                if (saw != '0')
                {
                    return false;
                }

                saw = '_';
                continue;
            }

            if (saw == '_')
            {
                return false;
            }

            saw = '!';
        }

        return saw != '_';
    }

    /// <summary>Go's strings.ToUpper/ToLower: per-rune simple case mapping (İ lowers to i, ı uppers to I).</summary>
    internal static string MapCase(string s, bool upper)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            sb.Append(c switch
            {
                '\u0130' when !upper => 'i',
                '\u0131' when upper => 'I',
                '\u017F' when upper => 'S',
                _ => upper ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c),
            });
        }

        return sb.ToString();
    }

    private static readonly string[] BigPrefixes = ["k", "M", "G", "T", "P", "E", "Z", "Y"];
    private static readonly string[] SmallPrefixes = ["m", "u", "n", "p", "f", "a", "z", "y"];
    private static readonly string[] BinaryPrefixes = ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"];

    internal static string Humanize(double v)
    {
        if (v == 0 || double.IsNaN(v) || double.IsInfinity(v))
        {
            return GoFloat.Format(v, 'g', 4);
        }

        var prefix = string.Empty;
        if (Math.Abs(v) >= 1)
        {
            foreach (var p in BigPrefixes)
            {
                if (Math.Abs(v) < 1000)
                {
                    break;
                }

                prefix = p;
                v /= 1000;
            }

            return GoFloat.Format(v, 'g', 4) + prefix;
        }

        foreach (var p in SmallPrefixes)
        {
            if (Math.Abs(v) >= 1)
            {
                break;
            }

            prefix = p;
            v *= 1000;
        }

        return GoFloat.Format(v, 'g', 4) + prefix;
    }

    internal static string Humanize1024(double v)
    {
        if (Math.Abs(v) <= 1 || double.IsNaN(v) || double.IsInfinity(v))
        {
            return GoFloat.Format(v, 'g', 4);
        }

        var prefix = string.Empty;
        foreach (var p in BinaryPrefixes)
        {
            if (Math.Abs(v) < 1024)
            {
                break;
            }

            prefix = p;
            v /= 1024;
        }

        return GoFloat.Format(v, 'g', 4) + prefix;
    }

    internal static string HumanizeDuration(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v))
        {
            return GoFloat.Format(v, 'g', 4);
        }

        if (v == 0)
        {
            return GoFloat.Format(v, 'g', 4) + "s";
        }

        if (Math.Abs(v) >= 1)
        {
            var sign = string.Empty;
            if (v < 0)
            {
                sign = "-";
                v = -v;
            }

            // Go's int64(v) truncates toward zero (values beyond int64 are out of any sensible range).
            var whole = v >= 9.2233720368547758E+18 ? long.MinValue : (long)v;
            var seconds = whole % 60;
            var minutes = whole / 60 % 60;
            var hours = whole / 60 / 60 % 24;
            var days = whole / 60 / 60 / 24;
            var ic = CultureInfo.InvariantCulture;
            if (days != 0)
            {
                return string.Create(ic, $"{sign}{days}d {hours}h {minutes}m {seconds}s");
            }

            if (hours != 0)
            {
                return string.Create(ic, $"{sign}{hours}h {minutes}m {seconds}s");
            }

            if (minutes != 0)
            {
                return string.Create(ic, $"{sign}{minutes}m {seconds}s");
            }

            return sign + GoFloat.Format(v, 'g', 4) + "s";
        }

        var prefix = string.Empty;
        foreach (var p in SmallPrefixes)
        {
            if (Math.Abs(v) >= 1)
            {
                break;
            }

            prefix = p;
            v *= 1000;
        }

        return GoFloat.Format(v, 'g', 4) + prefix + "s";
    }

    private const string NaNOrInf = "value is NaN or Inf";

    /// <summary>
    /// Prometheus's floatToTime: seconds to a time, through model.TimeFromUnixNano, which keeps whole milliseconds.
    /// Null for NaN/Inf.
    /// </summary>
    private static long? FloatToUnixNanos(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v))
        {
            return null;
        }

        var timestamp = v * 1e9;
        if (timestamp > 9.2233720368547758E+18 || timestamp < -9.2233720368547758E+18)
        {
            throw new GoCallError(GoFloat.Format(v, 'g', -1) + " cannot be represented as a nanoseconds timestamp since it overflows int64");
        }

        var nanos = timestamp >= 9.2233720368547758E+18 ? long.MinValue : (long)timestamp;
        var millis = nanos / 1_000_000;
        return millis * 1_000_000;
    }

    internal static string HumanizeTimestamp(double v)
    {
        var nanos = FloatToUnixNanos(v);
        return nanos is null ? GoFloat.Format(v, 'g', 4) : GoFmt.FormatTime(nanos.Value);
    }

    private static GoValue ToTime(double v)
    {
        var nanos = FloatToUnixNanos(v) ?? throw new GoCallError(NaNOrInf);
        return GoValue.FromTime(nanos);
    }

    private static GoValue ToDuration(double v)
    {
        if (double.IsNaN(v) || double.IsInfinity(v))
        {
            throw new GoCallError(NaNOrInf);
        }

        var nanos = v * 1e9;
        if (nanos > 9.2233720368547758E+18 || nanos < -9.2233720368547758E+18)
        {
            throw new GoCallError(GoFloat.Format(v, 'g', -1) + " cannot be represented as a nanoseconds duration since it overflows int64");
        }

        return GoValue.FromDuration((long)Math.Round(nanos));
    }

    /// <summary>The path of the external URL (Go's url.URL.Path): <c>/prometheus</c> for <c>http://host:9090/prometheus</c>.</summary>
    private static string PathPrefix(string externalUrl) => PathOf(externalUrl);

    private static string PathOf(string url)
    {
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        var start = scheme < 0 ? 0 : url.IndexOf('/', scheme + 3);
        if (start < 0)
        {
            return string.Empty;
        }

        var end = url.IndexOfAny(['?', '#'], start);
        return end < 0 ? url[start..] : url[start..end];
    }

    /// <summary>Prometheus's model.ParseDuration, returned in seconds.</summary>
    internal static double ParseDuration(string s)
    {
        if (s.Length == 0)
        {
            throw new GoCallError("empty duration string");
        }

        if (s == "0")
        {
            return 0;
        }

        // Units in the order they must appear, each at most once.
        ReadOnlySpan<(string Unit, long Millis)> units =
        [
            ("y", 365L * 24 * 3600 * 1000), ("w", 7L * 24 * 3600 * 1000), ("d", 24L * 3600 * 1000), ("h", 3600L * 1000),
            ("m", 60L * 1000), ("s", 1000L), ("ms", 1L),
        ];
        var invalid = new GoCallError("not a valid duration string: " + GoFmt.Quote(s));
        var pos = 0;
        var next = 0;
        decimal total = 0;
        var any = false;
        while (pos < s.Length)
        {
            var start = pos;
            while (pos < s.Length && char.IsAsciiDigit(s[pos]))
            {
                pos++;
            }

            if (pos == start)
            {
                throw invalid;
            }

            var number = decimal.Parse(s.AsSpan(start, pos - start), CultureInfo.InvariantCulture);
            var unitStart = pos;
            while (pos < s.Length && char.IsAsciiLetter(s[pos]))
            {
                pos++;
            }

            var unit = s[unitStart..pos];
            var found = -1;
            for (var u = next; u < units.Length; u++)
            {
                if (units[u].Unit == unit)
                {
                    found = u;
                    break;
                }
            }

            if (found < 0)
            {
                throw invalid;
            }

            next = found + 1;
            total += number * units[found].Millis;
            any = true;
        }

        if (!any)
        {
            throw invalid;
        }

        if (total > long.MaxValue / 1_000_000)
        {
            throw new GoCallError("duration out of range");
        }

        return (double)(total * 1_000_000) / 1e9;
    }
}
