using System.Globalization;
using System.Text.RegularExpressions;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;

namespace Metrics.Coordination.Rules.PromQL.Testing;

/// <summary>
/// Storage a test script runs against: <c>load</c> appends through <see cref="IAppendable"/>, <c>eval</c> reads
/// through <see cref="IQueryable"/>, <c>clear</c> disposes it and asks the factory for a new one.
/// </summary>
public interface IPromQLTestStorage : IAppendable, IQueryable, IDisposable
{
}

/// <summary>How a script's evals are run.</summary>
public sealed class PromQLTestScriptOptions
{
    /// <summary>Makes an empty storage (at the start and at every <c>clear</c>). Required.</summary>
    public Func<IPromQLTestStorage>? StorageFactory { get; set; }

    /// <summary>
    /// Also run each instant eval as upstream does: with <c>@ &lt;time&gt;</c> added to every selector and evaluated at
    /// other times, and as a range query around the time. Default true.
    /// </summary>
    public bool ExtraChecks { get; set; } = true;

    /// <summary>Engine settings. Default: Prometheus's test-runner settings (5 m lookback; delayed name removal, experimental functions, duration expressions, fill modifiers, extended range selectors and type-and-unit labels on).</summary>
    public PromQLEngineOptions? EngineOptions { get; set; }
}

/// <summary>Whether an eval passed.</summary>
public enum PromQLEvalStatus
{
    /// <summary>The result matched.</summary>
    Passed,

    /// <summary>The result did not match, or the query failed unexpectedly.</summary>
    Failed,
}

/// <summary>One <c>eval</c> of a script.</summary>
/// <param name="Line">The 1-based line of the eval command.</param>
/// <param name="Query">The query text.</param>
public sealed record PromQLTestEval(int Line, string Query);

/// <summary>The outcome of one eval.</summary>
/// <param name="Line">The 1-based line of the eval command.</param>
/// <param name="Query">The query.</param>
/// <param name="Status">Passed or failed.</param>
/// <param name="Message">Why it failed; null when it passed.</param>
/// <param name="Feature">
/// An optional PromQL feature the eval needs and this engine lacks (<c>native histograms</c>, <c>info()</c>,
/// <c>fill modifiers</c>, <c>extended range selectors</c>, <c>duration expressions</c>, <c>type and unit labels</c>,
/// <c>start timestamps</c>), or null. Set whether or not the eval passed.
/// </param>
public sealed record PromQLEvalOutcome(int Line, string Query, PromQLEvalStatus Status, string? Message, string? Feature);

/// <summary>A script failed to parse: the line and what is wrong.</summary>
public sealed class PromQLTestScriptException : MetricsCoordinationException
{
    /// <summary>Creates the exception.</summary>
    public PromQLTestScriptException(string scriptName, int line, string message)
        : base($"{scriptName}:{line}: {message}")
    {
        ScriptName = scriptName;
        Line = line;
    }

    /// <summary>The script's name.</summary>
    public string ScriptName { get; }

    /// <summary>The 1-based line.</summary>
    public int Line { get; }
}

/// <summary>
/// A PromQL test script in Prometheus's <c>load</c>/<c>eval</c> language (<c>promql/promqltest</c>): parse it, list
/// its evals, run them against a storage. The same implementation serves the test suite and <c>mctl promql test</c>.
/// </summary>
public sealed partial class PromQLTestScript
{
    private readonly List<Command> _commands;

    private PromQLTestScript(string name, List<Command> commands)
    {
        Name = name;
        _commands = commands;
    }

    /// <summary>The script's name (its file name, typically).</summary>
    public string Name { get; }

    /// <summary>The evals in script order.</summary>
    public IReadOnlyList<PromQLTestEval> Evals => _commands.OfType<EvalCommand>().Select(e => new PromQLTestEval(e.Line, e.Query)).ToList();

    /// <summary>Parses a script. Throws <see cref="PromQLTestScriptException"/> naming the line of a syntax error.</summary>
    public static PromQLTestScript Parse(string text, string name)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(name);
        return new PromQLTestScript(name, ScriptParser.Parse(text, name));
    }

    /// <summary>Runs every command in order and returns one outcome per eval.</summary>
    public IReadOnlyList<PromQLEvalOutcome> Run(PromQLTestScriptOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var factory = options.StorageFactory ?? throw new ArgumentException("StorageFactory is required.", nameof(options));
        var engineOptions = options.EngineOptions ?? new PromQLEngineOptions
        {
            EnableDelayedNameRemoval = true,
            EnableExperimentalFunctions = true,
            EnableDurationExpressions = true,
            EnableFillModifiers = true,
            EnableExtendedRangeSelectors = true,
            EnableTypeAndUnitLabels = true,
            Timeout = TimeSpan.FromSeconds(100),
        };
        var engine = new PromQLEngine(engineOptions);
        var outcomes = new List<PromQLEvalOutcome>();
        var storage = factory();
        var state = new LoadState();
        try
        {
            foreach (var command in _commands)
            {
                cancellationToken.ThrowIfCancellationRequested();
                switch (command)
                {
                    case ClearCommand:
                        storage.Dispose();
                        storage = factory();
                        state = new LoadState();
                        break;
                    case LoadCommand load:
                        load.Apply(storage, state);
                        break;
                    case EvalCommand eval:
                        outcomes.Add(eval.Run(engine, storage, state, options.ExtraChecks, cancellationToken));
                        break;
                }
            }
        }
        finally
        {
            storage.Dispose();
        }

        return outcomes;
    }

    /// <summary>What the loads so far put into the storage that the engine cannot see (for classifying evals).</summary>
    internal sealed class LoadState
    {
        /// <summary>Series that were loaded with native-histogram samples (or made by load_with_nhcb).</summary>
        public List<Labels> HistogramSeries { get; } = [];

        public bool StartTimestamps { get; set; }

        /// <summary>Series with <c>__type__</c>/<c>__unit__</c> labels were loaded (Prometheus drops those with the name when its type-and-unit feature is on).</summary>
        public bool TypeAndUnitLabels { get; set; }
    }

    internal abstract class Command(int line)
    {
        public int Line { get; } = line;
    }

    internal sealed class ClearCommand(int line) : Command(line);
}

/// <summary>Values of a series line: per slot a float, a gap, a stale marker, or a native histogram.</summary>
internal readonly record struct SequenceValue(double Value, bool Omitted, bool Histogram);

/// <summary>The script-language parts that are not PromQL: series descriptions, value sequences, durations.</summary>
internal static partial class ScriptSyntax
{
    /// <summary>Splits <c>name{a="b"} values...</c> into the label set and the rest.</summary>
    public static (Labels Labels, string Remainder) ParseSeriesLine(string line, string script, int lineNo)
    {
        var i = 0;
        while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] is '_' or ':'))
        {
            i++;
        }

        var name = line[..i];
        var labels = new List<Label>();
        if (name.Length > 0)
        {
            labels.Add(new Label(Labels.MetricName, name));
        }

        if (i < line.Length && line[i] == '{')
        {
            var close = FindClosingBrace(line, i);
            if (close < 0)
            {
                throw new PromQLTestScriptException(script, lineNo, "unclosed '{' in series description");
            }

            var inner = line[(i + 1)..close];
            ParseLabelPairs(inner, labels, script, lineNo);
            i = close + 1;
        }
        else if (name.Length == 0)
        {
            throw new PromQLTestScriptException(script, lineNo, $"invalid series description: {line}");
        }

        try
        {
            return (Labels.From([.. labels]), line[i..]);
        }
        catch (ArgumentException ex)
        {
            throw new PromQLTestScriptException(script, lineNo, ex.Message);
        }
    }

    private static int FindClosingBrace(string s, int open)
    {
        char quote = '\0';
        for (var i = open + 1; i < s.Length; i++)
        {
            var c = s[i];
            if (quote != '\0')
            {
                if (c == '\\' && quote != '`')
                {
                    i++;
                }
                else if (c == quote)
                {
                    quote = '\0';
                }
            }
            else if (c is '"' or '\'' or '`')
            {
                quote = c;
            }
            else if (c == '}')
            {
                return i;
            }
        }

        return -1;
    }

    private static void ParseLabelPairs(string inner, List<Label> labels, string script, int lineNo)
    {
        // Reuse the PromQL lexer: inside braces it yields identifiers, strings, '=' and commas.
        List<Token> tokens;
        try
        {
            tokens = Lexer.Tokenize("{" + inner + "}");
        }
        catch (PromQLParseException ex)
        {
            throw new PromQLTestScriptException(script, lineNo, ex.Reason);
        }

        var p = 1;
        while (tokens[p].Kind != TokenKind.RightBrace)
        {
            var t = tokens[p];
            if (t.Kind == TokenKind.String && tokens[p + 1].Kind is TokenKind.Comma or TokenKind.RightBrace)
            {
                labels.Add(new Label(Labels.MetricName, t.Text));
                p++;
            }
            else if (t.Kind is TokenKind.Identifier or TokenKind.String or TokenKind.MetricIdentifier && tokens[p + 1].Kind == TokenKind.Eql && tokens[p + 2].Kind == TokenKind.String)
            {
                labels.RemoveAll(l => l.Name == t.Text);
                labels.Add(new Label(t.Text, tokens[p + 2].Text));
                p += 3;
            }
            else
            {
                throw new PromQLTestScriptException(script, lineNo, $"invalid label pair near {t.Describe()}");
            }

            if (tokens[p].Kind == TokenKind.Comma)
            {
                p++;
            }
        }

        labels.RemoveAll(l => l.Value.Length == 0);
    }

    /// <summary>Splits a value sequence into items, keeping <c>{{...}}</c> histogram literals whole.</summary>
    public static List<string> SplitItems(string s)
    {
        var items = new List<string>();
        var i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && char.IsWhiteSpace(s[i]))
            {
                i++;
            }

            if (i >= s.Length)
            {
                break;
            }

            var start = i;
            var depth = 0;
            while (i < s.Length && (depth > 0 || !char.IsWhiteSpace(s[i])))
            {
                if (s[i] == '{')
                {
                    depth++;
                }
                else if (s[i] == '}')
                {
                    depth--;
                }

                i++;
            }

            items.Add(s[start..i]);
        }

        return items;
    }

    [GeneratedRegex(@"^(.+?)([+-])(.+)x(\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex SteppedItem();

    [GeneratedRegex(@"^(.+)x(\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex RepeatedItem();

    /// <summary>Expands a value sequence (<c>0+10x5 _ stale 1e3 {{...}}x2</c>) into one value per slot.</summary>
    public static List<SequenceValue> ParseSequence(string s, string script, int lineNo)
    {
        var values = new List<SequenceValue>();
        foreach (var item in SplitItems(s))
        {
            if (item.StartsWith("{{", StringComparison.Ordinal))
            {
                var end = item.LastIndexOf("}}", StringComparison.Ordinal);
                var times = 0;
                var tail = end >= 0 ? item[(end + 2)..] : string.Empty;
                var m = Regex.Match(tail, @"x(\d+)$", RegexOptions.CultureInvariant);
                if (m.Success)
                {
                    times = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                }

                for (var k = 0; k <= times; k++)
                {
                    values.Add(new SequenceValue(0, false, true));
                }

                continue;
            }

            if (item == "_")
            {
                values.Add(new SequenceValue(0, true, false));
                continue;
            }

            if (item.StartsWith("_x", StringComparison.Ordinal) && int.TryParse(item.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out var gaps))
            {
                for (var k = 0; k < gaps; k++)
                {
                    values.Add(new SequenceValue(0, true, false));
                }

                continue;
            }

            if (item == "stale")
            {
                values.Add(new SequenceValue(StaleMarker.Value, false, false));
                continue;
            }

            if (TryParseValue(item, out var single))
            {
                values.Add(new SequenceValue(single, false, false));
                continue;
            }

            var stepped = SteppedItem().Match(item);
            if (stepped.Success && TryParseValue(stepped.Groups[1].Value, out var a) && TryParseValue(stepped.Groups[3].Value, out var b))
            {
                if (stepped.Groups[2].Value == "-")
                {
                    b = -b;
                }

                var n = int.Parse(stepped.Groups[4].Value, CultureInfo.InvariantCulture);
                var k = a;
                for (var j = 0; j <= n; j++)
                {
                    values.Add(new SequenceValue(k, false, false));
                    k += b;
                }

                continue;
            }

            var repeated = RepeatedItem().Match(item);
            if (repeated.Success && TryParseValue(repeated.Groups[1].Value, out var r))
            {
                var n = int.Parse(repeated.Groups[2].Value, CultureInfo.InvariantCulture);
                for (var j = 0; j <= n; j++)
                {
                    values.Add(new SequenceValue(r, false, false));
                }

                continue;
            }

            throw new PromQLTestScriptException(script, lineNo, $"invalid value \"{item}\"");
        }

        return values;
    }

    public static bool TryParseValue(string s, out double value)
    {
        value = 0;
        if (s.Length == 0)
        {
            return false;
        }

        var body = s[0] is '+' or '-' ? s[1..] : s;
        switch (body.ToLowerInvariant())
        {
            case "inf":
                value = s[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity;
                return true;
            case "nan":
                value = double.NaN;
                return true;
        }

        if (body.Length == 0 || !(char.IsAsciiDigit(body[0]) || body[0] == '.'))
        {
            return false;
        }

        foreach (var c in body)
        {
            if (!(char.IsAsciiDigit(c) || c is '.' or 'e' or 'E' or '+' or '-'))
            {
                return false;
            }
        }

        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>A script time: a Prometheus duration since the epoch (<c>50m</c>, <c>10s53ms</c>, <c>0</c>), optionally negative.</summary>
    public static bool TryParseTime(string s, out long ms)
    {
        var negative = s.StartsWith('-');
        if (Durations.TryParse(negative ? s[1..] : s, out ms))
        {
            ms = negative ? -ms : ms;
            return true;
        }

        if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds))
        {
            ms = seconds * 1000;
            return true;
        }

        return false;
    }
}
