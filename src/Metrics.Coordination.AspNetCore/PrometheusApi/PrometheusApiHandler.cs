using System.IO.Pipelines;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Rules;
using Metrics.Coordination.Rules.PromQL;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Metrics.Coordination.AspNetCore.PrometheusApi;

/// <summary>The immutable settings a <see cref="PrometheusApiHandler"/> runs with, copied from <see cref="PrometheusApiOptions"/>.</summary>
/// <remarks>
/// <see cref="Queryable"/> and <see cref="RuleManager"/> are fixed when given or registered at mapping time; otherwise
/// they come from <see cref="Components"/> on every request (a host that creates them when it starts).
/// </remarks>
internal sealed record PrometheusApiSettings(
    IQueryable? Queryable,
    PromQLEngine Engine,
    RuleManager? RuleManager,
    IMetricsCoordinationComponents? Components,
    string? ApiKey,
    string ApiKeyHeader,
    int MaxConcurrentQueries,
    TimeSpan QueryTimeout,
    int MaxPointsPerSeries,
    string Version,
    TimeProvider TimeProvider,
    ILogger Logger);

/// <summary>Serves the endpoints of Prometheus's HTTP API that <see cref="PrometheusApiEndpointRouteBuilderExtensions.MapPrometheusApi"/> maps.</summary>
internal sealed class PrometheusApiHandler
{
    /// <summary>
    /// How many bytes of JSON are buffered before they are flushed to the client: large enough that small answers go
    /// out in one write, small enough that a matrix of millions of points streams instead of growing one buffer.
    /// </summary>
    private const int FlushThresholdBytes = 64 * 1024;

    /// <summary>How a rule's <c>lastError</c> and the <c>/rules</c> warnings introduce a refused rule file's error (which starts with the file's path).</summary>
    internal const string RefusedFileRulePrefix = "rule file refused, this rule runs its last good version: ";

    /// <summary>The <c>/rules</c> warning for a refused file whose last good version is running.</summary>
    internal const string RefusedFileRunningPrefix = "rule file refused, its groups keep running their last good version: ";

    /// <summary>The <c>/rules</c> warning for a refused file that never loaded (no group of it runs).</summary>
    internal const string RefusedFileNeverLoadedPrefix = "rule file refused, none of its rules run (it never loaded): ";

    private static readonly JsonWriterOptions JsonOptions = new()
    {
        // Go's encoder leaves non-ASCII text as is; the default .NET encoder would escape every accented letter.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private readonly PrometheusApiSettings _settings;
    private readonly SemaphoreSlim _queryGate;
    private readonly byte[]? _apiKey;
    private readonly bool _bearer;

    public PrometheusApiHandler(PrometheusApiSettings settings)
    {
        _settings = settings;
        _queryGate = new SemaphoreSlim(settings.MaxConcurrentQueries, settings.MaxConcurrentQueries);
        _apiKey = settings.ApiKey is null ? null : Encoding.UTF8.GetBytes(settings.ApiKey);
        _bearer = string.Equals(settings.ApiKeyHeader, "Authorization", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The package version that <c>/status/buildinfo</c> reports by default (the informational version without the commit).</summary>
    public static string PackageVersion
    {
        get
        {
            var informational = typeof(PrometheusApiHandler).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
            var plus = informational.IndexOf('+', StringComparison.Ordinal);
            return plus < 0 ? informational : informational[..plus];
        }
    }

    /// <summary>Runs <paramref name="endpoint"/> after the API key check, turning <see cref="ApiError"/> into Prometheus's error body.</summary>
    public async Task ServeAsync(HttpContext context, Func<PrometheusApiHandler, HttpContext, Task> endpoint)
    {
        if (!Authorized(context.Request))
        {
            Log.ApiKeyRefused(_settings.Logger, context.Request.Path, context.Connection.RemoteIpAddress?.ToString() ?? "unknown");
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            if (_bearer)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
            }

            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync("Unauthorized\n", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        try
        {
            await endpoint(this, context).ConfigureAwait(false);
        }
        catch (ApiError error) when (!context.Response.HasStarted)
        {
            await WriteErrorAsync(context, error).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody reads an answer.
        }
        catch (Exception ex) when (!context.Response.HasStarted && ex is not ApiError && _settings.Queryable is null && _settings.Components is { State: not MetricsCoordinationState.Running } components)
        {
            // The host stopped its components while this request read them (a disposed TSDB, say): not a server bug.
            await WriteErrorAsync(context, NotRunning(components.State)).ConfigureAwait(false);
        }
        catch (Exception ex) when (!context.Response.HasStarted && ex is not ApiError)
        {
            Log.InternalError(_settings.Logger, context.Request.Path, ex);
            await WriteErrorAsync(context, ApiError.Internal(ex.Message)).ConfigureAwait(false);
        }
    }

    /// <summary><c>/query</c>: an instant query at <c>time</c> (default now).</summary>
    public async Task QueryAsync(HttpContext context)
    {
        var p = await RequestParameters.ReadAsync(context.Request).ConfigureAwait(false);
        var timeMs = ParseTime(p, "time", _settings.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds());
        var timeout = ParseTimeout(p);
        var expression = ParseQuery(p.Value("query") ?? string.Empty);
        var result = await ExecuteAsync(PromQLQuery.Instant(expression, timeMs), timeout, context.RequestAborted).ConfigureAwait(false);
        await WriteQueryResultAsync(context, result).ConfigureAwait(false);
    }

    /// <summary><c>/query_range</c>: a range query from <c>start</c> to <c>end</c> every <c>step</c>.</summary>
    public async Task QueryRangeAsync(HttpContext context)
    {
        var p = await RequestParameters.ReadAsync(context.Request).ConfigureAwait(false);
        var startMs = ParseTime(p, "start", null);
        var endMs = ParseTime(p, "end", null);
        if (endMs < startMs)
        {
            throw ApiError.BadData("end timestamp must not be before start time");
        }

        var stepText = p.Value("step") ?? string.Empty;
        if (ApiParameters.TryParseDuration(stepText, out var stepMs) is { } stepError)
        {
            throw ApiError.InvalidParameter("step", stepError);
        }

        if (stepMs <= 0)
        {
            throw ApiError.BadData("zero or negative query resolution step widths are not accepted. Try a positive integer");
        }

        // For safety, limit the number of returned points per timeseries (as Prometheus does; 11,000 by default).
        if ((endMs - startMs) / stepMs > _settings.MaxPointsPerSeries)
        {
            throw ApiError.BadData(string.Create(
                System.Globalization.CultureInfo.InvariantCulture,
                $"exceeded maximum resolution of {_settings.MaxPointsPerSeries:N0} points per timeseries. Try decreasing the query resolution (?step=XX)"));
        }

        var timeout = ParseTimeout(p);
        var expression = ParseQuery(p.Value("query") ?? string.Empty);
        if (expression.Type is not (PromQLValueType.InstantVector or PromQLValueType.Scalar))
        {
            throw ApiError.InvalidParameter(
                "query",
                $"invalid expression type \"{DocumentedType(expression.Type)}\" for range query, must be Scalar or instant Vector");
        }

        var result = await ExecuteAsync(PromQLQuery.Range(expression, startMs, endMs, stepMs), timeout, context.RequestAborted).ConfigureAwait(false);
        await WriteQueryResultAsync(context, result).ConfigureAwait(false);
    }

    /// <summary><c>/series</c>: the label sets of the series any <c>match[]</c> selects between <c>start</c> and <c>end</c>.</summary>
    public async Task SeriesAsync(HttpContext context)
    {
        var p = await RequestParameters.ReadAsync(context.Request).ConfigureAwait(false);
        var matchers = ParseMatchers(p);
        if (matchers.Count == 0)
        {
            throw ApiError.BadData("no match[] parameter provided");
        }

        var startMs = ParseTime(p, "start", ApiParameters.MinTimeMs);
        var endMs = ParseTime(p, "end", ApiParameters.MaxTimeMs);
        var hints = new SelectHints { Start = startMs, End = endMs, Function = "series" };
        var seen = new HashSet<Labels>();
        var series = new List<Labels>();
        ReadStorage(() =>
        {
            using var querier = Storage().Querier(startMs, endMs);
            foreach (var set in matchers)
            {
                foreach (var s in querier.Select(true, hints, set))
                {
                    context.RequestAborted.ThrowIfCancellationRequested();
                    if (seen.Add(s.Labels))
                    {
                        series.Add(s.Labels);
                    }
                }
            }
        });
        if (matchers.Count > 1)
        {
            series.Sort(LabelsComparer.Instance);
        }

        using var json = StartSuccess(context, out var body);
        json.WritePropertyName("data"u8);
        json.WriteStartArray();
        foreach (var labels in series)
        {
            WriteLabels(json, labels);
            await FlushIfFullAsync(json, body, context.RequestAborted).ConfigureAwait(false);
        }

        json.WriteEndArray();
        await EndAsync(json, body, null, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary><c>/labels</c>: the label names of all series, or of those any <c>match[]</c> selects.</summary>
    public async Task LabelNamesAsync(HttpContext context)
    {
        var p = await RequestParameters.ReadAsync(context.Request).ConfigureAwait(false);
        var startMs = ParseTime(p, "start", ApiParameters.MinTimeMs);
        var endMs = ParseTime(p, "end", ApiParameters.MaxTimeMs);
        var matchers = ParseMatchers(p);
        var names = ReadStorage(() => Union(matchers, m =>
        {
            using var querier = Storage().Querier(startMs, endMs);
            return querier.LabelNames(m);
        }));
        await WriteStringsAsync(context, names).ConfigureAwait(false);
    }

    /// <summary><c>/label/{name}/values</c>: the values of one label on all series, or on those any <c>match[]</c> selects.</summary>
    public async Task LabelValuesAsync(HttpContext context)
    {
        var name = context.Request.RouteValues["name"] as string ?? string.Empty;
        if (name.Length == 0)
        {
            throw ApiError.BadData($"invalid label name: \"{name}\"");
        }

        var p = await RequestParameters.ReadAsync(context.Request).ConfigureAwait(false);
        var startMs = ParseTime(p, "start", ApiParameters.MinTimeMs);
        var endMs = ParseTime(p, "end", ApiParameters.MaxTimeMs);
        var matchers = ParseMatchers(p);
        var values = ReadStorage(() => Union(matchers, m =>
        {
            using var querier = Storage().Querier(startMs, endMs);
            return querier.LabelValues(name, m);
        }));
        await WriteStringsAsync(context, values).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>/metadata</c>: metric types and help per metric name. The storage interface carries no metadata, so the answer
    /// is an empty object, as Prometheus gives before it has scraped anything; Grafana's query editor then offers names
    /// without help texts.
    /// </summary>
    public async Task MetadataAsync(HttpContext context)
    {
        using var json = StartSuccess(context, out var body);
        json.WritePropertyName("data"u8);
        json.WriteStartObject();
        json.WriteEndObject();
        await EndAsync(json, body, null, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>/query_exemplars</c>: the parameters are checked as Prometheus checks them (<c>start</c>, <c>end</c>,
    /// <c>query</c>); the storage interface reads no exemplars, so the list is empty. Grafana asks for exemplars beside
    /// range queries and treats an empty list as none.
    /// </summary>
    public async Task QueryExemplarsAsync(HttpContext context)
    {
        var p = await RequestParameters.ReadAsync(context.Request).ConfigureAwait(false);
        var startMs = ParseTime(p, "start", ApiParameters.MinTimeMs);
        var endMs = ParseTime(p, "end", ApiParameters.MaxTimeMs);
        if (endMs < startMs)
        {
            throw ApiError.BadData("end timestamp must not be before start time");
        }

        ParseQuery(p.Value("query") ?? string.Empty);
        await WriteStringsAsync(context, []).ConfigureAwait(false);
    }

    /// <summary><c>/rules</c>: the rule groups with their rules' health and active alerts, optionally only <c>type=alert</c> or <c>type=record</c>.</summary>
    public async Task RulesAsync(HttpContext context)
    {
        var type = context.Request.Query["type"].ToString().ToLowerInvariant();
        if (type is not ("" or "alert" or "record"))
        {
            throw ApiError.InvalidParameter("type", $"not supported value \"{type}\"");
        }

        var ruleManager = Rules();
        var groups = ruleManager?.GetRuleGroups() ?? [];
        var reloadError = ruleManager?.LastReloadError;
        var fileErrors = ruleManager?.FileErrors ?? new Dictionary<string, string>();
        using var json = StartSuccess(context, out var body);
        json.WritePropertyName("data"u8);
        json.WriteStartObject();
        json.WritePropertyName("groups"u8);
        json.WriteStartArray();
        foreach (var group in groups)
        {
            json.WriteStartObject();
            json.WriteString("name"u8, group.Name);
            json.WriteString("file"u8, group.File);
            json.WritePropertyName("rules"u8);
            json.WriteStartArray();
            foreach (var rule in group.Rules)
            {
                if ((type == "alert" && rule.Kind != RuleKind.Alerting) || (type == "record" && rule.Kind != RuleKind.Recording))
                {
                    continue;
                }

                WriteRule(json, rule, group.FileError);
            }

            json.WriteEndArray();
            json.WriteNumber("interval"u8, group.Interval.TotalSeconds);
            json.WriteNumber("limit"u8, group.Limit);
            json.WriteNumber("evaluationTime"u8, group.EvaluationDuration.TotalSeconds);
            WriteTime(json, "lastEvaluation"u8, group.LastEvaluation);
            json.WriteEndObject();
            await FlushIfFullAsync(json, body, context.RequestAborted).ConfigureAwait(false);
        }

        json.WriteEndArray();
        json.WriteEndObject();

        await EndAsync(json, body, RuleWarnings(groups, fileErrors, reloadError), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// The envelope's <c>warnings</c> for <c>/rules</c>: one per refused rule file (a rejected reload keeps the last good
    /// rules running), so that a file that never loaded, and so has no group to carry the error, is still visible.
    /// Prometheus's own envelope field; clients that ignore it still parse the answer.
    /// </summary>
    private static List<PromQLAnnotation>? RuleWarnings(IReadOnlyList<RuleGroupSnapshot> groups, IReadOnlyDictionary<string, string> fileErrors, string? reloadError)
    {
        if (fileErrors.Count == 0)
        {
            return reloadError is null ? null : [new PromQLAnnotation(PromQLAnnotationKind.Warning, "rule reload failed, the last good rules are still in force: " + reloadError)];
        }

        var warnings = new List<PromQLAnnotation>(fileErrors.Count);
        foreach (var (file, error) in fileErrors.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var running = groups.Any(g => string.Equals(g.File, file, StringComparison.Ordinal));
            warnings.Add(new PromQLAnnotation(PromQLAnnotationKind.Warning, (running ? RefusedFileRunningPrefix : RefusedFileNeverLoadedPrefix) + error));
        }

        return warnings;
    }

    /// <summary><c>/alerts</c>: the pending and firing alerts of every alerting rule.</summary>
    public async Task AlertsAsync(HttpContext context)
    {
        var alerts = Rules()?.GetAlerts() ?? [];
        using var json = StartSuccess(context, out var body);
        json.WritePropertyName("data"u8);
        json.WriteStartObject();
        json.WritePropertyName("alerts"u8);
        json.WriteStartArray();
        foreach (var alert in alerts)
        {
            WriteAlert(json, alert);
        }

        json.WriteEndArray();
        json.WriteEndObject();
        await EndAsync(json, body, null, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary><c>/status/buildinfo</c>: the version fields Prometheus reports (Grafana reads <c>version</c>).</summary>
    public async Task BuildInfoAsync(HttpContext context)
    {
        using var json = StartSuccess(context, out var body);
        json.WritePropertyName("data"u8);
        json.WriteStartObject();
        json.WriteString("version"u8, _settings.Version);
        json.WriteString("revision"u8, Revision);
        json.WriteString("branch"u8, string.Empty);
        json.WriteString("buildUser"u8, string.Empty);
        json.WriteString("buildDate"u8, string.Empty);
        json.WriteString("goVersion"u8, System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription);
        json.WriteEndObject();
        await EndAsync(json, body, null, context.RequestAborted).ConfigureAwait(false);
    }

    private static string Revision
    {
        get
        {
            var informational = typeof(PrometheusApiHandler).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? string.Empty;
            var plus = informational.IndexOf('+', StringComparison.Ordinal);
            return plus < 0 ? string.Empty : informational[(plus + 1)..];
        }
    }

    private bool Authorized(HttpRequest request)
    {
        if (_apiKey is null)
        {
            return true;
        }

        var presented = request.Headers[_settings.ApiKeyHeader];
        if (presented.Count != 1 || presented[0] is not { } value)
        {
            return false;
        }

        var token = value.AsSpan().Trim();
        if (_bearer)
        {
            if (token.Length < 7 || !token[..7].Equals("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            token = token[7..].Trim();
        }

        // Compared in constant time so that response timing does not reveal how much of a guess was right.
        var bytes = Encoding.UTF8.GetBytes(token.ToString());
        return CryptographicOperations.FixedTimeEquals(bytes, _apiKey);
    }

    private static string DocumentedType(PromQLValueType type) => type switch
    {
        PromQLValueType.Scalar => "scalar",
        PromQLValueType.InstantVector => "instant vector",
        PromQLValueType.RangeVector => "range vector",
        PromQLValueType.String => "string",
        _ => type.ToString(),
    };

    private static long ParseTime(RequestParameters p, string name, long? defaultMs)
    {
        var text = p.Value(name);
        if (string.IsNullOrEmpty(text) && defaultMs is { } d)
        {
            return d;
        }

        text ??= string.Empty;
        return ApiParameters.TryParseTime(text, out var ms)
            ? ms
            : throw ApiError.InvalidParameter(name, $"cannot parse \"{text}\" to a valid timestamp");
    }

    private TimeSpan ParseTimeout(RequestParameters p)
    {
        var text = p.Value("timeout");
        if (string.IsNullOrEmpty(text))
        {
            return _settings.QueryTimeout;
        }

        if (ApiParameters.TryParseDuration(text, out var ms) is { } error)
        {
            throw ApiError.InvalidParameter("timeout", error);
        }

        // A zero or negative timeout has already expired, as a Go context with that deadline has.
        var requested = TimeSpan.FromMilliseconds(Math.Max(ms, 0));
        return requested < _settings.QueryTimeout ? requested : _settings.QueryTimeout;
    }

    private PromQLExpression ParseQuery(string text)
    {
        try
        {
            return _settings.Engine.Parse(text);
        }
        catch (PromQLParseException ex)
        {
            throw ApiError.InvalidParameter("query", ex.Message);
        }
    }

    private static List<LabelMatcher[]> ParseMatchers(RequestParameters p)
    {
        var sets = new List<LabelMatcher[]>();
        foreach (var selector in p.Values("match[]"))
        {
            try
            {
                sets.Add(PromQLExpression.ParseSeriesSelector(selector ?? string.Empty));
            }
            catch (PromQLParseException ex)
            {
                throw ApiError.InvalidParameter("match[]", ex.Message);
            }
        }

        return sets;
    }

    private static List<string> Union(List<LabelMatcher[]> matcherSets, Func<LabelMatcher[], IReadOnlyList<string>> read)
    {
        if (matcherSets.Count == 0)
        {
            return [.. read([])];
        }

        var all = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var set in matcherSets)
        {
            all.UnionWith(read(set));
        }

        return [.. all];
    }

    /// <summary>The storage to read: the one fixed at mapping time, else the host's running TSDB.</summary>
    /// <exception cref="ApiError"><c>unavailable</c> while the host is not running or runs no TSDB.</exception>
    private IQueryable Storage()
    {
        if (_settings.Queryable is { } fixedStorage)
        {
            return fixedStorage;
        }

        var components = RunningComponents()!;
        return components.GetComponent<IQueryable>()
            ?? throw ApiError.Unavailable("no storage to query: the host runs no TSDB (MetricsCoordination:Tsdb:Enabled is false)");
    }

    /// <summary>The rule manager: the one fixed at mapping time, else the host's running one, else none (empty lists).</summary>
    /// <exception cref="ApiError"><c>unavailable</c> while the host is not running.</exception>
    private RuleManager? Rules() => _settings.RuleManager ?? RunningComponents()?.GetComponent<RuleManager>();

    private IMetricsCoordinationComponents? RunningComponents()
    {
        var components = _settings.Components;
        if (components is not null && components.State != MetricsCoordinationState.Running)
        {
            throw NotRunning(components.State);
        }

        return components;
    }

    private static ApiError NotRunning(MetricsCoordinationState state) => ApiError.Unavailable(state == MetricsCoordinationState.Starting
        ? "the metrics components are starting (TSDB, rules); try again in a moment"
        : "the metrics components are stopped: the host is shutting down");

    private static void ReadStorage(Action read) => ReadStorage(() =>
    {
        read();
        return 0;
    });

    private static T ReadStorage<T>(Func<T> read)
    {
        try
        {
            return read();
        }
        catch (StorageException ex)
        {
            // Prometheus answers storage failures of the metadata endpoints as execution errors.
            throw ApiError.Execution(ex.Message);
        }
    }

    private async Task<PromQLResult> ExecuteAsync(PromQLQuery query, TimeSpan timeout, CancellationToken requestAborted)
    {
        var storage = Storage();
        if (timeout <= TimeSpan.Zero)
        {
            throw ApiError.Timeout("query timed out in query queue");
        }

        using var timeoutSource = new CancellationTokenSource(timeout, _settings.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(requestAborted, timeoutSource.Token);
        try
        {
            await _queryGate.WaitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!requestAborted.IsCancellationRequested)
        {
            throw ApiError.Timeout("query timed out in query queue");
        }

        try
        {
            return _settings.Engine.Execute(storage, query, linked.Token);
        }
        catch (OperationCanceledException) when (!requestAborted.IsCancellationRequested)
        {
            throw ApiError.Timeout("query timed out in expression evaluation");
        }
        catch (OperationCanceledException)
        {
            throw ApiError.Canceled("query was canceled in expression evaluation");
        }
        catch (PromQLQueryException ex)
        {
            throw ex.Kind switch
            {
                PromQLErrorKind.Timeout => ApiError.Timeout(ex.Message),
                PromQLErrorKind.Storage => ApiError.Internal(ex.Message),
                _ => ApiError.Execution(ex.Message),
            };
        }
        finally
        {
            _queryGate.Release();
        }
    }

    private static Utf8JsonWriter StartSuccess(HttpContext context, out PipeWriter body)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        body = context.Response.BodyWriter;
        var json = new Utf8JsonWriter(body, JsonOptions);
        json.WriteStartObject();
        json.WriteString("status"u8, "success"u8);
        return json;
    }

    /// <summary>Writes the warnings and infos, closes the envelope and flushes.</summary>
    private static async Task EndAsync(Utf8JsonWriter json, PipeWriter body, IReadOnlyList<PromQLAnnotation>? annotations, CancellationToken cancellationToken)
    {
        if (annotations is { Count: > 0 })
        {
            WriteAnnotations(json, "warnings"u8, annotations, PromQLAnnotationKind.Warning);
            WriteAnnotations(json, "infos"u8, annotations, PromQLAnnotationKind.Info);
        }

        json.WriteEndObject();
        await json.FlushAsync(cancellationToken).ConfigureAwait(false);
        await body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void WriteAnnotations(Utf8JsonWriter json, ReadOnlySpan<byte> property, IReadOnlyList<PromQLAnnotation> annotations, PromQLAnnotationKind kind)
    {
        var any = false;
        foreach (var a in annotations)
        {
            if (a.Kind != kind)
            {
                continue;
            }

            if (!any)
            {
                json.WritePropertyName(property);
                json.WriteStartArray();
                any = true;
            }

            json.WriteStringValue(a.Message);
        }

        if (any)
        {
            json.WriteEndArray();
        }
    }

    private static async ValueTask FlushIfFullAsync(Utf8JsonWriter json, PipeWriter body, CancellationToken cancellationToken)
    {
        if (json.BytesPending >= FlushThresholdBytes)
        {
            json.Flush();
            await body.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task WriteErrorAsync(HttpContext context, ApiError error)
    {
        context.Response.StatusCode = error.StatusCode;
        context.Response.ContentType = "application/json";
        var body = context.Response.BodyWriter;
        using var json = new Utf8JsonWriter(body, JsonOptions);
        json.WriteStartObject();
        json.WriteString("status"u8, "error"u8);
        json.WriteString("errorType"u8, error.ErrorType);
        json.WriteString("error"u8, error.Message);
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        await body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task WriteStringsAsync(HttpContext context, List<string> values)
    {
        using var json = StartSuccess(context, out var body);
        json.WritePropertyName("data"u8);
        json.WriteStartArray();
        foreach (var v in values)
        {
            json.WriteStringValue(v);
            await FlushIfFullAsync(json, body, context.RequestAborted).ConfigureAwait(false);
        }

        json.WriteEndArray();
        await EndAsync(json, body, null, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task WriteQueryResultAsync(HttpContext context, PromQLResult result)
    {
        using var json = StartSuccess(context, out var body);
        json.WritePropertyName("data"u8);
        json.WriteStartObject();
        switch (result.Type)
        {
            case PromQLValueType.Scalar:
                json.WriteString("resultType"u8, "scalar"u8);
                json.WritePropertyName("result"u8);
                WritePoint(json, result.TimestampMs, result.Scalar);
                break;
            case PromQLValueType.String:
                json.WriteString("resultType"u8, "string"u8);
                json.WritePropertyName("result"u8);
                json.WriteStartArray();
                WriteTimestamp(json, result.TimestampMs);
                json.WriteStringValue(result.String);
                json.WriteEndArray();
                break;
            case PromQLValueType.InstantVector:
                json.WriteString("resultType"u8, "vector"u8);
                json.WritePropertyName("result"u8);
                json.WriteStartArray();
                foreach (var sample in result.Vector)
                {
                    json.WriteStartObject();
                    json.WritePropertyName("metric"u8);
                    WriteLabels(json, sample.Metric);
                    json.WritePropertyName("value"u8);
                    WritePoint(json, sample.TimestampMs, sample.Value);
                    json.WriteEndObject();
                    await FlushIfFullAsync(json, body, context.RequestAborted).ConfigureAwait(false);
                }

                json.WriteEndArray();
                break;
            default:
                json.WriteString("resultType"u8, "matrix"u8);
                json.WritePropertyName("result"u8);
                json.WriteStartArray();
                foreach (var series in result.Matrix)
                {
                    json.WriteStartObject();
                    json.WritePropertyName("metric"u8);
                    WriteLabels(json, series.Metric);
                    json.WritePropertyName("values"u8);
                    json.WriteStartArray();
                    foreach (var point in series.Points)
                    {
                        WritePoint(json, point.TimestampMs, point.Value);
                        await FlushIfFullAsync(json, body, context.RequestAborted).ConfigureAwait(false);
                    }

                    json.WriteEndArray();
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                break;
        }

        json.WriteEndObject();
        await EndAsync(json, body, result.Annotations, context.RequestAborted).ConfigureAwait(false);
    }

    private static void WriteLabels(Utf8JsonWriter json, Labels labels)
    {
        json.WriteStartObject();
        foreach (var label in labels.AsSpan())
        {
            json.WriteString(label.Name, label.Value);
        }

        json.WriteEndObject();
    }

    private static void WriteTimestamp(Utf8JsonWriter json, long ms)
    {
        Span<byte> buffer = stackalloc byte[ApiFormat.MaxTimestampBytes];
        var n = ApiFormat.FormatTimestamp(ms, buffer);
        json.WriteRawValue(buffer[..n], skipInputValidation: true);
    }

    private static void WritePoint(Utf8JsonWriter json, long ms, double value)
    {
        json.WriteStartArray();
        WriteTimestamp(json, ms);
        Span<byte> buffer = stackalloc byte[ApiFormat.MaxFloatBytes];
        var n = ApiFormat.FormatSample(value, buffer);
        json.WriteStringValue(buffer[..n]);
        json.WriteEndArray();
    }

    private static void WriteTime(Utf8JsonWriter json, ReadOnlySpan<byte> property, DateTimeOffset? time)
    {
        Span<byte> buffer = stackalloc byte[ApiFormat.MaxRfc3339Bytes];
        var n = ApiFormat.FormatRfc3339(time, buffer);
        json.WriteString(property, buffer[..n]);
    }

    private static void WriteRule(Utf8JsonWriter json, RuleSnapshot rule, string? fileError)
    {
        json.WriteStartObject();
        if (rule.Kind == RuleKind.Alerting)
        {
            json.WriteString("state"u8, StateName(rule.State));
            json.WriteString("name"u8, rule.Name);
            json.WriteString("query"u8, rule.Query);
            json.WriteNumber("duration"u8, rule.For.TotalSeconds);
            json.WriteNumber("keepFiringFor"u8, rule.KeepFiringFor.TotalSeconds);
            json.WritePropertyName("labels"u8);
            WriteLabels(json, rule.Labels);
            json.WritePropertyName("annotations"u8);
            WriteLabels(json, rule.Annotations);
            json.WritePropertyName("alerts"u8);
            json.WriteStartArray();
            foreach (var alert in rule.Alerts)
            {
                WriteAlert(json, alert);
            }

            json.WriteEndArray();
        }
        else
        {
            json.WriteString("name"u8, rule.Name);
            json.WriteString("query"u8, rule.Query);
            if (rule.Labels.Count > 0)
            {
                json.WritePropertyName("labels"u8);
                WriteLabels(json, rule.Labels);
            }
        }

        json.WriteString("health"u8, rule.Health switch
        {
            RuleHealth.Ok => "ok"u8,
            RuleHealth.Error => "err"u8,
            _ => "unknown"u8,
        });
        // A refused change of the rule's file is reported on each of its rules: lastError is the one error field that
        // Prometheus's rule objects have (health stays what the last evaluation gave).
        var lastError = fileError is null
            ? rule.LastError
            : string.IsNullOrEmpty(rule.LastError) ? RefusedFileRulePrefix + fileError : rule.LastError + "; " + RefusedFileRulePrefix + fileError;
        if (!string.IsNullOrEmpty(lastError))
        {
            json.WriteString("lastError"u8, lastError);
        }

        json.WriteNumber("evaluationTime"u8, rule.EvaluationDuration.TotalSeconds);
        WriteTime(json, "lastEvaluation"u8, rule.LastEvaluation);
        json.WriteString("type"u8, rule.Kind == RuleKind.Alerting ? "alerting"u8 : "recording"u8);
        json.WriteEndObject();
    }

    private static void WriteAlert(Utf8JsonWriter json, AlertSnapshot alert)
    {
        json.WriteStartObject();
        json.WritePropertyName("labels"u8);
        WriteLabels(json, alert.Labels);
        json.WritePropertyName("annotations"u8);
        WriteLabels(json, alert.Annotations);
        json.WriteString("state"u8, StateName(alert.State));
        if (alert.ActiveAt is not null)
        {
            WriteTime(json, "activeAt"u8, alert.ActiveAt);
        }

        if (alert.KeepFiringSince is not null)
        {
            WriteTime(json, "keepFiringSince"u8, alert.KeepFiringSince);
        }

        Span<byte> buffer = stackalloc byte[ApiFormat.MaxFloatBytes];
        var n = ApiFormat.FormatExponent(alert.Value, buffer);
        json.WriteString("value"u8, buffer[..n]);
        json.WriteEndObject();
    }

    private static ReadOnlySpan<byte> StateName(AlertState state) => state switch
    {
        AlertState.Firing => "firing"u8,
        AlertState.Pending => "pending"u8,
        _ => "inactive"u8,
    };

    /// <summary>Orders label sets as Prometheus's <c>labels.Compare</c>: label by label, name then value, shorter first.</summary>
    private sealed class LabelsComparer : IComparer<Labels>
    {
        public static readonly LabelsComparer Instance = new();

        public int Compare(Labels? x, Labels? y)
        {
            var a = x!.AsSpan();
            var b = y!.AsSpan();
            var n = Math.Min(a.Length, b.Length);
            for (var i = 0; i < n; i++)
            {
                var c = string.CompareOrdinal(a[i].Name, b[i].Name);
                if (c != 0)
                {
                    return c;
                }

                c = string.CompareOrdinal(a[i].Value, b[i].Value);
                if (c != 0)
                {
                    return c;
                }
            }

            return a.Length.CompareTo(b.Length);
        }
    }
}

/// <summary>
/// The request's parameters as Go's <c>r.FormValue</c> and <c>r.Form</c> see them: an urlencoded POST body first,
/// then the URL query.
/// </summary>
internal readonly struct RequestParameters
{
    private readonly IQueryCollection _query;
    private readonly IFormCollection? _form;

    private RequestParameters(IQueryCollection query, IFormCollection? form)
    {
        _query = query;
        _form = form;
    }

    public static async ValueTask<RequestParameters> ReadAsync(HttpRequest request)
    {
        IFormCollection? form = null;
        if (HttpMethods.IsPost(request.Method) && request.HasFormContentType)
        {
            try
            {
                form = await request.ReadFormAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
            }
            catch (InvalidDataException ex)
            {
                throw ApiError.BadData("error parsing form values: " + ex.Message);
            }
        }

        return new RequestParameters(request.Query, form);
    }

    /// <summary>The first value of <paramref name="name"/>, or null when absent.</summary>
    public string? Value(string name)
    {
        if (_form is not null && _form.TryGetValue(name, out var fromBody) && fromBody.Count > 0)
        {
            return fromBody[0];
        }

        var fromQuery = _query[name];
        return fromQuery.Count > 0 ? fromQuery[0] : null;
    }

    /// <summary>Every value of <paramref name="name"/>: the body's, then the query's.</summary>
    public IEnumerable<string?> Values(string name)
    {
        var fromBody = _form is not null && _form.TryGetValue(name, out var v) ? v : StringValues.Empty;
        return fromBody.Concat(_query[name]);
    }
}
