using System.Diagnostics;
using Metrics.Coordination.Abstractions.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Rules.PromQL;

/// <summary>Engine settings. Defaults are Prometheus 3's server defaults.</summary>
public sealed class PromQLEngineOptions
{
    /// <summary>How far back an instant-vector selector looks for the latest sample. Default 5 minutes.</summary>
    public TimeSpan LookbackDelta { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The most samples a query may hold in memory at once (Prometheus's <c>--query.max-samples</c>). Default 50,000,000.</summary>
    public int MaxSamples { get; set; } = 50_000_000;

    /// <summary>The longest a query may run (Prometheus's <c>--query.timeout</c>). Default 2 minutes.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The resolution of subqueries written without one (<c>x[5m:]</c>): Prometheus uses the global evaluation interval. Default 1 minute.</summary>
    public TimeSpan DefaultSubqueryStep { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Keep <c>__name__</c> on intermediate results and drop it only from the final result, so that functions such as
    /// <c>label_replace</c> can still read it (Prometheus's <c>promql-delayed-name-removal</c> feature). Default false, as in Prometheus.
    /// </summary>
    public bool EnableDelayedNameRemoval { get; set; }

    /// <summary>
    /// Treat <c>__type__</c> and <c>__unit__</c> as part of the metric name: they are dropped with it and ignored in
    /// vector matching (Prometheus's <c>type-and-unit-labels</c> feature). Default false.
    /// </summary>
    public bool EnableTypeAndUnitLabels { get; set; }

    /// <summary>Parse query strings with experimental functions enabled (see <see cref="PromQLParserOptions.EnableExperimentalFunctions"/>). Default false.</summary>
    public bool EnableExperimentalFunctions { get; set; }

    /// <summary>Parse query strings with duration expressions enabled (see <see cref="PromQLParserOptions.EnableDurationExpressions"/>). Default false.</summary>
    public bool EnableDurationExpressions { get; set; }

    /// <summary>Parse query strings with fill modifiers enabled (see <see cref="PromQLParserOptions.EnableFillModifiers"/>). Default false.</summary>
    public bool EnableFillModifiers { get; set; }

    /// <summary>Parse query strings with anchored/smoothed enabled (see <see cref="PromQLParserOptions.EnableExtendedRangeSelectors"/>). Default false.</summary>
    public bool EnableExtendedRangeSelectors { get; set; }

    /// <summary>The clock that times queries out. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the engine logs slow and failed queries. Default <see cref="NullLoggerFactory.Instance"/>.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;
}

/// <summary>
/// What to evaluate: an expression at one time (<see cref="Instant"/>) or over a time range (<see cref="Range"/>).
/// A struct so that later settings (per-query lookback, statistics) do not need new methods.
/// </summary>
public readonly record struct PromQLQuery
{
    /// <summary>The expression.</summary>
    public required PromQLExpression Expression { get; init; }

    /// <summary>The evaluation time of an instant query, or the first step of a range query, in ms.</summary>
    public required long StartMs { get; init; }

    /// <summary>The last step of a range query in ms (equal to <see cref="StartMs"/> for an instant query).</summary>
    public long EndMs { get; init; }

    /// <summary>The range-query resolution in ms; 0 for an instant query.</summary>
    public long StepMs { get; init; }

    /// <summary>Whether this is an instant query.</summary>
    public bool IsInstant => StepMs == 0;

    /// <summary>An instant query at <paramref name="timeMs"/>.</summary>
    public static PromQLQuery Instant(PromQLExpression expression, long timeMs) => new() { Expression = expression, StartMs = timeMs, EndMs = timeMs };

    /// <summary>A range query evaluated at <paramref name="startMs"/>, <paramref name="startMs"/> + <paramref name="stepMs"/>, ... up to <paramref name="endMs"/>.</summary>
    public static PromQLQuery Range(PromQLExpression expression, long startMs, long endMs, long stepMs) =>
        new() { Expression = expression, StartMs = startMs, EndMs = endMs, StepMs = stepMs };
}

/// <summary>
/// Evaluates PromQL over any <see cref="IQueryable"/>. Thread-safe; one engine serves many concurrent queries.
/// Each query opens one querier over the time range it needs and reads every selected series once.
/// </summary>
public sealed class PromQLEngine
{
    private readonly EngineSettings _settings;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly PromQLParserOptions _parserOptions;

    /// <summary>Creates an engine; the options are validated and copied.</summary>
    public PromQLEngine(PromQLEngineOptions? options = null)
    {
        options ??= new PromQLEngineOptions();
        if (options.LookbackDelta <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "LookbackDelta must be positive.");
        }

        if (options.MaxSamples <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxSamples must be positive.");
        }

        if (options.Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Timeout must be positive.");
        }

        if (options.DefaultSubqueryStep <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "DefaultSubqueryStep must be positive.");
        }

        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentNullException.ThrowIfNull(options.LoggerFactory);
        _settings = new EngineSettings(
            (long)options.LookbackDelta.TotalMilliseconds,
            options.MaxSamples,
            (long)options.DefaultSubqueryStep.TotalMilliseconds,
            options.EnableDelayedNameRemoval,
            options.EnableTypeAndUnitLabels);
        _timeout = options.Timeout;
        _timeProvider = options.TimeProvider;
        _logger = options.LoggerFactory.CreateLogger("Metrics.Coordination.Rules.PromQL.PromQLEngine");
        _parserOptions = new PromQLParserOptions
        {
            EnableExperimentalFunctions = options.EnableExperimentalFunctions,
            EnableDurationExpressions = options.EnableDurationExpressions,
            EnableFillModifiers = options.EnableFillModifiers,
            EnableExtendedRangeSelectors = options.EnableExtendedRangeSelectors,
        };
    }

    /// <summary>Parses <paramref name="query"/> with this engine's parser settings.</summary>
    public PromQLExpression Parse(string query) => PromQLExpression.Parse(query, _parserOptions);

    /// <summary>Evaluates <paramref name="query"/> at <paramref name="timeMs"/>.</summary>
    public PromQLResult InstantQuery(IQueryable storage, string query, long timeMs, CancellationToken cancellationToken = default) =>
        Execute(storage, PromQLQuery.Instant(Parse(query), timeMs), cancellationToken);

    /// <summary>Evaluates <paramref name="query"/> from <paramref name="startMs"/> to <paramref name="endMs"/> every <paramref name="stepMs"/>.</summary>
    public PromQLResult RangeQuery(IQueryable storage, string query, long startMs, long endMs, long stepMs, CancellationToken cancellationToken = default) =>
        Execute(storage, PromQLQuery.Range(Parse(query), startMs, endMs, stepMs), cancellationToken);

    /// <summary>
    /// Runs a query. Throws <see cref="PromQLQueryException"/> for evaluation errors, timeouts and the sample limit, and
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public PromQLResult Execute(IQueryable storage, in PromQLQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(query.Expression);
        if (!query.IsInstant)
        {
            if (query.StepMs < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(query), "The step must be positive.");
            }

            if (query.EndMs < query.StartMs)
            {
                throw new ArgumentOutOfRangeException(nameof(query), "The end time must not be before the start time.");
            }

            // Prometheus's API refuses more than 11,000 points per series; the engine itself only needs the count to fit.
            if ((query.EndMs - query.StartMs) / query.StepMs > int.MaxValue / 4)
            {
                throw new ArgumentOutOfRangeException(nameof(query), "Too many steps in the range query.");
            }
        }

        using var timeoutSource = new CancellationTokenSource(_timeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var root = query.Expression.Root;
            var (minT, maxT) = TimeBounds.Compute(root, query, _settings);
            using var querier = storage.Querier(minT, maxT);
            var evaluator = new Evaluator(querier, _settings, query.StartMs, query.EndMs, linked.Token);
            return evaluator.Run(root, query);
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            Log.QueryTimedOut(_logger, query.Expression.Query, _timeout);
            throw new PromQLQueryException(PromQLErrorKind.Timeout, "query timed out in expression evaluation");
        }
        catch (PromQLQueryException ex)
        {
            Log.QueryFailed(_logger, query.Expression.Query, ex.Message);
            throw;
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (elapsed > _timeout / 2)
            {
                Log.SlowQuery(_logger, query.Expression.Query, elapsed);
            }
        }
    }
}

/// <summary>The engine's immutable settings, copied from <see cref="PromQLEngineOptions"/>.</summary>
internal sealed record EngineSettings(long LookbackMs, int MaxSamples, long DefaultSubqueryStepMs, bool DelayedNameRemoval, bool TypeAndUnitLabels = false);

/// <summary>Log messages of the Rules package; event IDs 3000–3999 belong to it (3000–3099: the PromQL engine).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Warning, Message = "PromQL query timed out after {Timeout}: {Query}")]
    public static partial void QueryTimedOut(ILogger logger, string query, TimeSpan timeout);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "PromQL query failed: {Error}; query: {Query}")]
    public static partial void QueryFailed(ILogger logger, string query, string error);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Slow PromQL query took {Elapsed}: {Query}")]
    public static partial void SlowQuery(ILogger logger, string query, TimeSpan elapsed);
}
