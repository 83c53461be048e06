namespace Metrics.Coordination.Rules.Templating;

/// <summary>
/// The Go types a value in an alert template can have. Go's <c>text/template</c> works on reflection over arbitrary
/// Go values; the set reachable from Prometheus's alert template data and functions is small and closed, so we model
/// exactly that set (and each kind's Go type name, which shows in Go's error messages).
/// </summary>
internal enum GoKind : byte
{
    /// <summary>reflect.Value{}: a missing value (prints <c>&lt;no value&gt;</c>).</summary>
    Invalid,

    /// <summary>bool.</summary>
    Bool,

    /// <summary>int (template integer constants, <c>len</c>, range indexes).</summary>
    Int,

    /// <summary>int64 (<c>Unix()</c> and friends).</summary>
    Int64,

    /// <summary>uint8 (indexing a string).</summary>
    Uint8,

    /// <summary>float64.</summary>
    Float,

    /// <summary>string.</summary>
    String,

    /// <summary>html/template.HTML (the result of <c>safeHtml</c>): a string kind with another type name.</summary>
    Html,

    /// <summary>map[string]string (<c>.Labels</c>, <c>.ExternalLabels</c>, a sample's labels).</summary>
    StringMap,

    /// <summary>map[string]interface {} (the result of <c>args</c>).</summary>
    AnyMap,

    /// <summary>*template.sample (may be a nil pointer: <see cref="GoValue.Ref"/> null).</summary>
    Sample,

    /// <summary>template.queryResult ([]*sample).</summary>
    QueryResult,

    /// <summary>*time.Time (the result of <c>toTime</c>); nanoseconds since the epoch in <see cref="GoValue.Int"/>.</summary>
    Time,

    /// <summary>time.Duration (nanoseconds in <see cref="GoValue.Int"/>).</summary>
    Duration,

    /// <summary>The alert template data struct (the root <c>.</c>).</summary>
    Data,
}

/// <summary>
/// A Go value as the template executor sees it: a kind plus an unboxed integer/float payload or a reference. A struct,
/// so numbers and bools never allocate.
/// </summary>
internal readonly struct GoValue
{
    public static readonly GoValue Missing;
    public static readonly GoValue True = new(GoKind.Bool, 1, 0, null);
    public static readonly GoValue False = new(GoKind.Bool, 0, 0, null);
    public static readonly GoValue EmptyString = new(GoKind.String, 0, 0, string.Empty);

    public readonly GoKind Kind;
    public readonly long Int;
    public readonly double Float;
    public readonly object? Ref;

    private GoValue(GoKind kind, long i, double f, object? r)
    {
        Kind = kind;
        Int = i;
        Float = f;
        Ref = r;
    }

    public bool IsValid => Kind != GoKind.Invalid;

    public bool Bool => Int != 0;

    public string Str => (string)Ref!;

    public static GoValue FromBool(bool b) => b ? True : False;

    public static GoValue FromInt(long i) => new(GoKind.Int, i, 0, null);

    public static GoValue FromInt64(long i) => new(GoKind.Int64, i, 0, null);

    public static GoValue FromUint8(byte b) => new(GoKind.Uint8, b, 0, null);

    public static GoValue FromFloat(double f) => new(GoKind.Float, 0, f, null);

    public static GoValue FromString(string s) => s.Length == 0 ? EmptyString : new(GoKind.String, 0, 0, s);

    public static GoValue FromHtml(string s) => new(GoKind.Html, 0, 0, s);

    public static GoValue FromStringMap(IReadOnlyDictionary<string, string>? map) => new(GoKind.StringMap, 0, 0, map);

    public static GoValue FromAnyMap(Dictionary<string, GoValue> map) => new(GoKind.AnyMap, 0, 0, map);

    public static GoValue FromSample(TemplateSample? sample) => new(GoKind.Sample, 0, 0, sample);

    public static GoValue FromQueryResult(TemplateSample[]? samples) => new(GoKind.QueryResult, 0, 0, samples);

    public static GoValue FromTime(long unixNanos) => new(GoKind.Time, unixNanos, 0, null);

    public static GoValue FromDuration(long nanos) => new(GoKind.Duration, nanos, 0, null);

    public static GoValue FromData(AlertTemplateData data) => new(GoKind.Data, 0, 0, data);

    /// <summary>Whether the Go kind is string (string and template.HTML): <c>fmt</c>'s "is a string" for spacing, comparisons.</summary>
    public bool IsStringKind => Kind is GoKind.String or GoKind.Html;

    /// <summary>The Go type name, as <c>%T</c> and <c>reflect.Type.String()</c> print it.</summary>
    public string TypeName => TypeNameOf(Kind);

    public static string TypeNameOf(GoKind kind) => kind switch
    {
        GoKind.Invalid => "<nil>",
        GoKind.Bool => "bool",
        GoKind.Int => "int",
        GoKind.Int64 => "int64",
        GoKind.Uint8 => "uint8",
        GoKind.Float => "float64",
        GoKind.String => "string",
        GoKind.Html => "template.HTML",
        GoKind.StringMap => "map[string]string",
        GoKind.AnyMap => "map[string]interface {}",
        GoKind.Sample => "*template.sample",
        GoKind.QueryResult => "template.queryResult",
        GoKind.Time => "*time.Time",
        GoKind.Duration => "time.Duration",
        GoKind.Data => DataTypeName,
        _ => "?",
    };

    /// <summary>The anonymous struct Prometheus 2.42's <c>AlertTemplateData</c> returns, as reflect names it.</summary>
    public const string DataTypeName = "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }";

    /// <summary>Go's truth (text/template <c>isTrue</c>): zero values, empty collections and nil pointers are false; NaN is true.</summary>
    public bool IsTrue => Kind switch
    {
        GoKind.Invalid => false,
        GoKind.Bool => Int != 0,
        GoKind.Int or GoKind.Int64 or GoKind.Uint8 or GoKind.Duration => Int != 0,
        GoKind.Float => Float != 0,
        GoKind.String or GoKind.Html => Str.Length > 0,
        GoKind.StringMap => Ref is IReadOnlyDictionary<string, string> { Count: > 0 },
        GoKind.AnyMap => Ref is Dictionary<string, GoValue> { Count: > 0 },
        GoKind.Sample => Ref is not null,
        GoKind.QueryResult => Ref is TemplateSample[] { Length: > 0 },
        GoKind.Time => true,
        GoKind.Data => true,
        _ => true,
    };
}
