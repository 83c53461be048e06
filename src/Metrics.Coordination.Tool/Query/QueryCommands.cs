using System.Globalization;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules.PromQL;
using Metrics.Coordination.Tool.Cli;
using Metrics.Coordination.Tool.Tsdb;

namespace Metrics.Coordination.Tool.Query;

/// <summary>
/// <c>mctl query instant --data=DIR [--time=T] EXPR</c>: promtool's <c>query instant</c>, evaluated locally with
/// <see cref="PromQLEngine"/> over a TSDB directory instead of over a server's HTTP API. Output as promtool prints it.
/// </summary>
internal sealed class QueryInstantCommand : Command
{
    private static readonly OptionSpec Time = new("time", "TIME", "Query evaluation time (RFC3339 or Unix timestamp in seconds). Default: now.");

    public override string Name => "instant";

    public override string Summary => "Run an instant query over a TSDB directory (promtool query instant).";

    public override IReadOnlyList<OptionSpec> Options => [QueryRunner.Data, Time];

    public override IReadOnlyList<ArgumentSpec> Arguments => [new("expr", "PromQL query expression.", Required: true)];

    public override Task<int> ExecuteAsync(CommandContext context, ParsedArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(arguments);
        long timeMs;
        string dir;
        try
        {
            dir = QueryRunner.RequireData(arguments);
            timeMs = arguments.Get(Time.Name) is { } t ? QueryRunner.ParseTime(Time.Name, t) : QueryRunner.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        }
        catch (UsageException e)
        {
            return Task.FromResult(QueryRunner.Usage(context, e));
        }

        return Task.FromResult(QueryRunner.Run(context, dir, arguments.Positional(0)!, expr => PromQLQuery.Instant(expr, timeMs)));
    }
}

/// <summary>
/// <c>mctl query range --data=DIR [--start=T] [--end=T] [--step=D] EXPR</c>: promtool's <c>query range</c>, evaluated
/// locally over a TSDB directory. Defaults as promtool's: end now, start five minutes before end, step a 250th of the range (at least 1s).
/// </summary>
internal sealed class QueryRangeCommand : Command
{
    private static readonly OptionSpec Start = new("start", "TIME", "Query range start time (RFC3339 or Unix timestamp in seconds). Default: end - 5m.");

    private static readonly OptionSpec End = new("end", "TIME", "Query range end time (RFC3339 or Unix timestamp in seconds). Default: now.");

    private static readonly OptionSpec Step = new("step", "DURATION", "Query step size (duration such as 15s or 1m, or seconds). Default: range / 250, at least 1s.");

    public override string Name => "range";

    public override string Summary => "Run a range query over a TSDB directory (promtool query range).";

    public override IReadOnlyList<OptionSpec> Options => [QueryRunner.Data, Start, End, Step];

    public override IReadOnlyList<ArgumentSpec> Arguments => [new("expr", "PromQL query expression.", Required: true)];

    public override Task<int> ExecuteAsync(CommandContext context, ParsedArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(arguments);
        long startMs, endMs, stepMs;
        string dir;
        try
        {
            dir = QueryRunner.RequireData(arguments);
            endMs = arguments.Get(End.Name) is { } e ? QueryRunner.ParseTime(End.Name, e) : QueryRunner.Clock.GetUtcNow().ToUnixTimeMilliseconds();
            startMs = arguments.Get(Start.Name) is { } s ? QueryRunner.ParseTime(Start.Name, s) : endMs - 300_000;
            if (startMs > endMs)
            {
                throw new UsageException("start time is not before end time");
            }

            stepMs = arguments.Get(Step.Name) is { } st
                ? QueryRunner.ParseStep(Step.Name, st)
                : Math.Max((endMs - startMs) / 1000 / 250, 1) * 1000;
            if ((endMs - startMs) / stepMs > 11_000)
            {
                throw new UsageException("exceeded maximum resolution of 11,000 points per timeseries; try decreasing the query resolution (--step)");
            }
        }
        catch (UsageException e)
        {
            return Task.FromResult(QueryRunner.Usage(context, e));
        }

        return Task.FromResult(QueryRunner.Run(context, dir, arguments.Positional(0)!, expr => PromQLQuery.Range(expr, startMs, endMs, stepMs)));
    }
}

/// <summary>What the two query verbs share: argument parsing, opening the database, evaluation and error reporting.</summary>
internal static class QueryRunner
{
    /// <summary>The clock for the default evaluation times ("now").</summary>
    public static TimeProvider Clock { get; set; } = TimeProvider.System;

    public static readonly OptionSpec Data = new("data", "DIR", "The TSDB directory to query (required).");

    public static string RequireData(ParsedArguments arguments) =>
        arguments.Get(Data.Name) is { Length: > 0 } dir ? dir : throw new UsageException("required flag --data not provided");

    public static int Usage(CommandContext context, UsageException e)
    {
        context.Console.Error.WriteLine($"{Mctl.ToolName}: error: {e.Message}, try '{context.CommandPath} --help'");
        return ExitCodes.Usage;
    }

    /// <summary>promtool's <c>parseTime</c>: a (fractional) Unix timestamp in seconds, or RFC3339.</summary>
    public static long ParseTime(string option, string text)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds))
        {
            return (long)Math.Round(seconds * 1000, MidpointRounding.AwayFromZero);
        }

        if (DateTimeOffset.TryParseExact(text, ["yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mm:ssK"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
        {
            return time.ToUnixTimeMilliseconds();
        }

        throw new UsageException($"invalid value '{text}' for flag '--{option}': expected an RFC3339 time or a Unix timestamp in seconds");
    }

    /// <summary>A step: a Prometheus duration (<c>1m30s</c>, <c>500ms</c>) or a number of seconds; must be positive.</summary>
    public static long ParseStep(string option, string text)
    {
        long ms;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds))
        {
            ms = (long)Math.Round(seconds * 1000, MidpointRounding.AwayFromZero);
        }
        else if (!TryParseDuration(text, out ms))
        {
            throw new UsageException($"invalid value '{text}' for flag '--{option}': expected a duration such as 15s or a number of seconds");
        }

        return ms > 0 ? ms : throw new UsageException($"invalid value '{text}' for flag '--{option}': the step must be positive");
    }

    private static bool TryParseDuration(string text, out long ms)
    {
        ms = 0;
        var i = 0;
        if (text.Length == 0)
        {
            return false;
        }

        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            if (i == start || !long.TryParse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                return false;
            }

            long unit;
            if (text.AsSpan(i).StartsWith("ms", StringComparison.Ordinal))
            {
                unit = 1;
                i += 2;
            }
            else if (i < text.Length)
            {
                unit = text[i] switch
                {
                    's' => 1000,
                    'm' => 60_000,
                    'h' => 3_600_000,
                    'd' => 86_400_000,
                    'w' => 604_800_000,
                    'y' => 31_536_000_000,
                    _ => 0,
                };
                i++;
            }
            else
            {
                unit = 0;
            }

            if (unit == 0)
            {
                return false;
            }

            ms = checked(ms + (n * unit));
        }

        return true;
    }

    /// <summary>Parses <paramref name="query"/>, evaluates it over <paramref name="dir"/> and prints the result.</summary>
    public static int Run(CommandContext context, string dir, string query, Func<PromQLExpression, PromQLQuery> makeQuery)
    {
        var console = context.Console;
        PromQLExpression expression;
        try
        {
            expression = PromQLExpression.Parse(query);
        }
        catch (PromQLParseException e)
        {
            console.Error.WriteLine($"{context.CommandPath}: error: {e.Message}");
            return ExitCodes.Failure;
        }

        if (!TsdbDirectory.Exists(context, dir))
        {
            return ExitCodes.Failure;
        }

        try
        {
            using var db = TsdbDirectory.Open(context, dir);
            var engine = new PromQLEngine(new PromQLEngineOptions());
            var result = engine.Execute(db, makeQuery(expression), context.CancellationToken);
            console.Out.Write(PromtoolFormat.Result(result));
            return ExitCodes.Success;
        }
        catch (PromQLParseException e)
        {
            console.Error.WriteLine($"{context.CommandPath}: error: {e.Message}");
            return ExitCodes.Failure;
        }
        catch (PromQLQueryException e)
        {
            console.Error.WriteLine($"{context.CommandPath}: error: query error: {e.Message}");
            return ExitCodes.Failure;
        }
        catch (Exception e) when (TsdbDirectory.IsStorageError(e))
        {
            console.Error.WriteLine($"{context.CommandPath}: error: {e.Message}");
            return ExitCodes.Failure;
        }
    }
}

/// <summary>
/// Query results as promtool prints them: the <c>String()</c> of Prometheus's client <c>model.Value</c>s
/// (<c>metric => value @[seconds]</c>, <c>scalar: value @[seconds]</c>, a matrix's series sorted by their labels),
/// then a newline (<c>fmt.Println</c>).
/// </summary>
internal static class PromtoolFormat
{
    public static string Result(PromQLResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var sb = new StringBuilder();
        switch (result.Type)
        {
            case PromQLValueType.Scalar:
                sb.Append("scalar: ").Append(Float(result.Scalar)).Append(" @[").Append(Time(result.TimestampMs)).Append(']');
                break;
            case PromQLValueType.String:
                sb.Append(result.String);
                break;
            case PromQLValueType.InstantVector:
                var firstSample = true;
                foreach (var sample in result.Vector)
                {
                    if (!firstSample)
                    {
                        sb.Append('\n');
                    }

                    firstSample = false;
                    sb.Append(Metric(sample.Metric)).Append(" => ").Append(Float(sample.Value)).Append(" @[").Append(Time(sample.TimestampMs)).Append(']');
                }

                break;
            default:
                var series = result.Matrix.ToList();
                series.Sort((a, b) => Before(a.Metric, b.Metric) ? -1 : Before(b.Metric, a.Metric) ? 1 : 0);
                var firstSeries = true;
                foreach (var s in series)
                {
                    if (!firstSeries)
                    {
                        sb.Append('\n');
                    }

                    firstSeries = false;
                    sb.Append(Metric(s.Metric)).Append(" =>\n");
                    for (var i = 0; i < s.Points.Count; i++)
                    {
                        if (i > 0)
                        {
                            sb.Append('\n');
                        }

                        sb.Append(Float(s.Points[i].Value)).Append(" @[").Append(Time(s.Points[i].TimestampMs)).Append(']');
                    }
                }

                break;
        }

        return sb.Append('\n').ToString();
    }

    /// <summary>
    /// <c>model.Metric.String()</c>: the name, then the other labels sorted as <c>name="value"</c> (Go <c>%q</c>) in
    /// braces; <c>{}</c> for no labels, the bare name for a name alone.
    /// </summary>
    public static string Metric(Labels labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var name = string.Empty;
        var hasName = false;
        var others = new List<string>();
        foreach (var label in labels)
        {
            if (label.Name == "__name__")
            {
                name = label.Value;
                hasName = true;
                continue;
            }

            var sb = new StringBuilder(label.Name).Append('=');
            GoFormat.Quote(sb, label.Value);
            others.Add(sb.ToString());
        }

        if (others.Count == 0)
        {
            return hasName ? name : "{}";
        }

        others.Sort(StringComparer.Ordinal);
        return name + "{" + string.Join(", ", others) + "}";
    }

    /// <summary><c>model.LabelSet.Before</c>: fewer labels first, then the first differing value over the sorted union of names.</summary>
    public static bool Before(Labels a, Labels b)
    {
        if (a.Count != b.Count)
        {
            return a.Count < b.Count;
        }

        var av = a.ToDictionary(l => l.Name, l => l.Value, StringComparer.Ordinal);
        var bv = b.ToDictionary(l => l.Name, l => l.Value, StringComparer.Ordinal);
        foreach (var name in av.Keys.Concat(bv.Keys).Distinct().Order(StringComparer.Ordinal))
        {
            if (!av.TryGetValue(name, out var x))
            {
                return true;
            }

            if (!bv.TryGetValue(name, out var y))
            {
                return false;
            }

            var c = string.CompareOrdinal(x, y);
            if (c != 0)
            {
                return c < 0;
            }
        }

        return false;
    }

    /// <summary><c>model.Time.String()</c>: seconds, as <c>strconv.FormatFloat(t/1000, 'f', -1, 64)</c>.</summary>
    public static string Time(long ms) => Float(ms / 1000.0);

    /// <summary>Go's <c>strconv.FormatFloat(v, 'f', -1, 64)</c>: shortest round-trip digits, never an exponent.</summary>
    public static string Float(double v)
    {
        if (double.IsNaN(v))
        {
            return "NaN";
        }

        if (double.IsInfinity(v))
        {
            return v > 0 ? "+Inf" : "-Inf";
        }

        var negative = double.IsNegative(v);
        var r = Math.Abs(v).ToString("R", CultureInfo.InvariantCulture);
        var exponent = 0;
        var e = r.IndexOf('E', StringComparison.Ordinal);
        if (e >= 0)
        {
            exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }

        var dot = r.IndexOf('.', StringComparison.Ordinal);
        var intPart = dot < 0 ? r : r[..dot];
        var fracPart = dot < 0 ? string.Empty : r[(dot + 1)..];
        var all = intPart + fracPart;
        var digits = all.TrimStart('0');
        var dp = intPart.Length + exponent - (all.Length - digits.Length);
        digits = digits.TrimEnd('0');
        var sb = new StringBuilder();
        if (negative)
        {
            sb.Append('-');
        }

        if (digits.Length == 0)
        {
            return sb.Append('0').ToString();
        }

        if (dp <= 0)
        {
            sb.Append("0.").Append('0', -dp).Append(digits);
        }
        else if (dp >= digits.Length)
        {
            sb.Append(digits).Append('0', dp - digits.Length);
        }
        else
        {
            sb.Append(digits, 0, dp).Append('.').Append(digits, dp, digits.Length - dp);
        }

        return sb.ToString();
    }
}
