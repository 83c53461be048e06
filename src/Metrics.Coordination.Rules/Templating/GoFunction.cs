namespace Metrics.Coordination.Rules.Templating;

/// <summary>The Go parameter types of template functions (what text/template checks arguments against).</summary>
internal enum ParamType : byte
{
    /// <summary>reflect.Value (the builtins): anything, a missing value included.</summary>
    Value,

    /// <summary>interface {}: anything.</summary>
    Any,

    String,
    Float64,
    Int,
    Bool,
    Sample,
    QueryResult,
}

/// <summary>Runs a function over evaluated arguments; throws <see cref="GoCallError"/> for Go's returned error.</summary>
internal delegate GoValue GoInvoker(ExecContext context, ReadOnlySpan<GoValue> args);

/// <summary>A template function: its name, Go signature and implementation.</summary>
internal sealed class GoFunction(string name, ParamType[] parameters, bool variadic, GoInvoker invoke, bool builtin = false)
{
    public string Name { get; } = name;

    /// <summary>The parameter types; when <see cref="Variadic"/>, the last one is the element type of the <c>...</c> parameter.</summary>
    public ParamType[] Parameters { get; } = parameters;

    public bool Variadic { get; } = variadic;

    public bool Builtin { get; } = builtin;

    public GoInvoker Invoke { get; } = invoke;

    public static string TypeName(ParamType t) => t switch
    {
        ParamType.Value => "reflect.Value",
        ParamType.Any => "interface {}",
        ParamType.String => "string",
        ParamType.Float64 => "float64",
        ParamType.Int => "int",
        ParamType.Bool => "bool",
        ParamType.Sample => "*template.sample",
        ParamType.QueryResult => "template.queryResult",
        _ => "?",
    };
}

/// <summary>An error a template function returned (Go: the second result, or a recovered panic).</summary>
internal sealed class GoCallError(string message) : Exception(message);

/// <summary>What functions may use from the expansion: the alert data (query, timestamp, external URL).</summary>
internal sealed class ExecContext(AlertTemplateData data)
{
    public AlertTemplateData Data { get; } = data;
}
