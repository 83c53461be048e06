using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Metrics.Coordination.Registry;

/// <summary>
/// Turns tag values into label values the way the OpenTelemetry attribute specification turns non-string attributes
/// into strings: booleans as <c>true</c>/<c>false</c>, numbers in invariant culture (doubles shortest round-trip),
/// arrays as JSON arrays. Strings pass through untouched, so the common case costs a type check. Formatted values
/// are cached (boxed status codes are the common non-string tag), so a repeated value allocates nothing.
/// </summary>
internal sealed class TagValueFormatter
{
    // HTTP status codes and small enumerations fit below this; their strings are built once each.
    private const int SmallIntegerCacheSize = 1024;

    // Past this many distinct non-string, non-small values the cache stops growing and values are formatted on each
    // measurement (allocating), so a tag carrying a counter or timestamp cannot grow memory without bound.
    private const int MaxCachedValues = 4096;

    private readonly string?[] _smallIntegers = new string?[SmallIntegerCacheSize];
    private readonly ConcurrentDictionary<object, string> _cache = new();

    /// <summary>The label value, or null when the tag has no value (treated as absent).</summary>
    public string? Format(object? value)
    {
        if (value is string s)
        {
            return s;
        }

        if (value is null)
        {
            return null;
        }

        if (value is int i && (uint)i < SmallIntegerCacheSize)
        {
            return _smallIntegers[i] ??= i.ToString(CultureInfo.InvariantCulture);
        }

        if (value is bool b)
        {
            return b ? "true" : "false";
        }

        return FormatOther(value);
    }

    private string FormatOther(object value)
    {
        if (value is Array)
        {
            return FormatUncached(value);
        }

        if (_cache.TryGetValue(value, out var cached))
        {
            return cached;
        }

        var formatted = FormatUncached(value);
        if (_cache.Count < MaxCachedValues)
        {
            _cache.TryAdd(value, formatted);
        }

        return formatted;
    }

    internal static string FormatUncached(object? value) => value switch
    {
        null => string.Empty,
        string s => s,
        bool b => b ? "true" : "false",
        double d => FormatDouble(d),
        float f => FormatDouble(f),
        char c => c.ToString(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable e => FormatArray(e),
        _ => value.ToString() ?? string.Empty,
    };

    private static string FormatDouble(double d) => d switch
    {
        double.PositiveInfinity => "Infinity",
        double.NegativeInfinity => "-Infinity",
        _ => d.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string FormatArray(IEnumerable values)
    {
        var sb = new StringBuilder("[");
        var first = true;
        foreach (var v in values)
        {
            if (!first)
            {
                sb.Append(',');
            }

            first = false;
            switch (v)
            {
                case null:
                    sb.Append("null");
                    break;
                case string s:
                    AppendJsonString(sb, s);
                    break;
                case bool or double or float or byte or sbyte or short or ushort or int or uint or long or ulong or decimal:
                    var text = FormatUncached(v);
                    if (v is double or float && !double.IsFinite(Convert.ToDouble(v, CultureInfo.InvariantCulture)))
                    {
                        AppendJsonString(sb, text);
                    }
                    else
                    {
                        sb.Append(text);
                    }

                    break;
                default:
                    AppendJsonString(sb, FormatUncached(v));
                    break;
            }
        }

        return sb.Append(']').ToString();
    }

    private static void AppendJsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < ' ')
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append('"');
    }
}
