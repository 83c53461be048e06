using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Rules.PromQL;
using Metrics.Coordination.Tsdb;
using Metrics.Coordination.ZooKeeper;
using Metrics.Coordination.ZooKeeper.Recipes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Metrics.Coordination.AspNetCore;

/// <summary>
/// Renders the status page. Every text that did not come from this file (rule names, expressions, label values,
/// errors, the visitor's expression and range) goes through <see cref="HtmlEncoder"/>, which escapes <c>&lt; &gt; &amp; ' "</c>
/// and everything outside ASCII, so it is inert in element content and in quoted attributes alike. The response's
/// Content-Security-Policy allows no script at all and only the one style block below (by its hash), so even a
/// missed escape could not run code.
/// </summary>
internal sealed class StatusPage
{
    // Prometheus's API refuses range queries of more than 11,000 points per series.
    private const int MaxGraphPoints = 11_000;

    // A page listing more series than this is unreadable; the cap also bounds the SVG's size.
    private const int MaxGraphSeriesLimit = 1_000;

    private const string Css =
        "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}" +
        "header{background:#24303c;color:#fff;padding:12px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#c5ced8;font-size:13px}" +
        "nav{padding:8px 24px;background:#e6e9ed;font-size:14px}nav a{margin-right:16px;color:#1d4f91}" +
        "main{padding:8px 24px 32px}section{margin-top:20px}h2{font-size:17px;margin:0 0 8px}" +
        ".cards{display:flex;flex-wrap:wrap;gap:16px}.cards section{margin-top:0;background:#fff;border:1px solid #d5dae0;border-radius:4px;padding:10px 14px;min-width:240px}" +
        "table{border-collapse:collapse;background:#fff;font-size:13px}th,td{border:1px solid #d5dae0;padding:4px 8px;text-align:left;vertical-align:top}" +
        "th{background:#eef0f3}tr.group td{background:#e9eef5;font-weight:600}.kv th{width:150px}" +
        "code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;white-space:pre-wrap;word-break:break-all}" +
        ".health-ok,.state-inactive,.leader-yes{color:#17702e;font-weight:600}.health-err,.state-firing{color:#b3261e;font-weight:600}" +
        ".health-unknown,.leader-no{color:#6b7480;font-weight:600}.state-pending{color:#a15c00;font-weight:600}" +
        ".error{color:#b3261e;white-space:pre-wrap}.muted{color:#6b7480}.label{display:inline-block;background:#eef0f3;border-radius:3px;padding:0 4px;margin:1px 2px}" +
        "form{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end;margin-bottom:8px}textarea{width:640px;max-width:100%;height:44px;font-family:ui-monospace,Menlo,Consolas,monospace}" +
        "input[type=text]{width:80px}button{padding:4px 14px}svg{background:#fff;border:1px solid #d5dae0}" +
        "svg text{font-size:11px;fill:#1d232a}svg .axis{stroke:#6b7480;stroke-width:1}svg .grid{stroke:#e3e6ea;stroke-width:1}";

    // The style block is the only thing the page's policy lets the browser apply; nothing may load or run.
    private static readonly string ContentSecurityPolicy =
        "default-src 'none'; style-src 'sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(Css))) + "'; " +
        "img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    private static readonly HtmlEncoder Encoder = HtmlEncoder.Default;

    private readonly IServiceProvider _services;
    private readonly IMetricsCoordinationComponents? _host;
    private readonly string _title;
    private readonly RuleManager? _ruleManager;
    private readonly ILeadershipGate? _leadershipGate;
    private readonly ZooKeeperClient? _zooKeeperClient;
    private readonly TimeSeriesDatabase? _database;
    private readonly IQueryable? _queryable;
    private readonly Func<IServiceProvider, StatusPageComponents?>? _components;
    private readonly PromQLEngine? _engine;
    private readonly TimeProvider? _timeProvider;
    private readonly string? _defaultExpression;
    private readonly TimeSpan _defaultRange;
    private readonly TimeSpan _maxRange;
    private readonly int _graphPoints;
    private readonly int _maxSeries;
    private PromQLEngine? _defaultEngine;

    public StatusPage(StatusPageOptions options, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options.Title, nameof(options.Title));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.GraphPoints, 2, nameof(options.GraphPoints));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.GraphPoints, MaxGraphPoints, nameof(options.GraphPoints));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxGraphSeries, 1, nameof(options.MaxGraphSeries));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxGraphSeries, MaxGraphSeriesLimit, nameof(options.MaxGraphSeries));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxGraphRange, TimeSpan.FromSeconds(1), nameof(options.MaxGraphRange));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.DefaultGraphRange, TimeSpan.FromMilliseconds(1), nameof(options.DefaultGraphRange));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.DefaultGraphRange, options.MaxGraphRange, nameof(options.DefaultGraphRange));
        _services = services;
        _host = services.GetService<IMetricsCoordinationComponents>();
        _title = options.Title;
        _ruleManager = options.RuleManager;
        _leadershipGate = options.LeadershipGate;
        _zooKeeperClient = options.ZooKeeperClient;
        _database = options.Database;
        _queryable = options.Queryable;
        _components = options.Components;
        _engine = options.Engine;
        _timeProvider = options.TimeProvider;
        _defaultExpression = string.IsNullOrWhiteSpace(options.DefaultExpression) ? null : options.DefaultExpression;
        _defaultRange = options.DefaultGraphRange;
        _maxRange = options.MaxGraphRange;
        _graphPoints = options.GraphPoints;
        _maxSeries = options.MaxGraphSeries;
    }

    public async Task HandleAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/html; charset=utf-8";
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers.CacheControl = "no-store";
        headers["Referrer-Policy"] = "no-referrer";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        var html = Render(context.Request.Query, context.RequestAborted);
        await response.WriteAsync(html, Encoding.UTF8, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The whole page for one request.</summary>
    internal string Render(IQueryCollection query, CancellationToken cancellationToken)
    {
        var time = _timeProvider ?? _services.GetService<TimeProvider>() ?? TimeProvider.System;
        var now = time.GetUtcNow();
        var sb = new StringBuilder(16 * 1024);
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(Encode(_title)).Append(" status</title>")
            .Append("<link rel=\"icon\" href=\"data:,\">")
            .Append("<style>").Append(Css).Append("</style></head>\n<body>");
        sb.Append("<header><h1>").Append(Encode(_title)).Append(" status</h1><p>Rendered at ").Append(FormatTime(now)).Append("</p></header>\n");
        sb.Append("<nav><a href=\"#overview\">Overview</a><a href=\"#alerts\">Alerts</a><a href=\"#rules\">Rules</a><a href=\"#graph\">Graph</a></nav>\n<main>");

        StatusPageComponents? c = null;
        try
        {
            c = _components?.Invoke(_services);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            sb.Append("<p class=\"error\">StatusPageOptions.Components failed: ").Append(Encode(ex.GetType().Name + ": " + ex.Message)).Append("</p>");
        }

        if (_host is { State: not MetricsCoordinationState.Running and var state })
        {
            // AddMetricsCoordination opens the TSDB and builds the rule manager when the host starts; say why they are missing.
            sb.Append("<p id=\"host-state\" class=\"state-pending\">")
                .Append(state == MetricsCoordinationState.Starting
                    ? "Starting: the metrics components (TSDB, rules, ZooKeeper session) are not running yet; reload in a moment."
                    : "Stopped: the host is shutting down its metrics components.")
                .Append("</p>");
        }

        sb.Append("<div class=\"cards\" id=\"overview\">");
        Section(sb, "leadership", "Leadership", () => RenderLeadership(sb, c));
        Section(sb, "zookeeper", "ZooKeeper session", () => RenderZooKeeper(sb, c));
        Section(sb, "tsdb", "TSDB head", () => RenderTsdb(sb, c));
        sb.Append("</div>\n");

        var rules = _ruleManager ?? c?.RuleManager ?? _services.GetService<RuleManager>() ?? _host?.GetComponent<RuleManager>();
        Section(sb, "alerts", "Active alerts", () => RenderAlerts(sb, rules, now));
        Section(sb, "rules", "Rule groups", () => RenderRules(sb, rules, now));
        Section(sb, "graph", "Graph", () => RenderGraph(sb, c, query, time, now, cancellationToken));
        sb.Append("</main></body></html>\n");
        return sb.ToString();
    }

    private static void Section(StringBuilder sb, string id, string heading, Action body)
    {
        sb.Append("<section id=\"").Append(id).Append("\"><h2>").Append(heading).Append("</h2>");
        var mark = sb.Length;
        try
        {
            body();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A component that fails (disposed during shutdown, say) costs its own section, not the page.
            sb.Length = mark;
            sb.Append("<p class=\"error\">Could not read this section: ").Append(Encode(ex.GetType().Name + ": " + ex.Message)).Append("</p>");
        }

        sb.Append("</section>\n");
    }

    private void RenderLeadership(StringBuilder sb, StatusPageComponents? c)
    {
        var gate = _leadershipGate ?? c?.LeadershipGate ?? _services.GetService<ILeadershipGate>() ?? _host?.GetComponent<ILeadershipGate>();
        if (gate is null)
        {
            Missing(sb, "leadership gate", "No ILeadershipGate is registered; notifications are not gated.");
            return;
        }

        var leader = gate.IsLeader;
        sb.Append("<table class=\"kv\"><tr><th>Leader</th><td id=\"is-leader\" class=\"").Append(leader ? "leader-yes\">yes" : "leader-no\">no").Append("</td></tr>");
        sb.Append("<tr><th>Fencing token</th><td id=\"fencing-token\">").Append(gate.FencingToken.ToString(CultureInfo.InvariantCulture)).Append("</td></tr>");
        sb.Append("<tr><th>Kind</th><td>").Append(gate is AlwaysLeaderGate ? "local (always leader)" : Encode(gate.GetType().Name)).Append("</td></tr></table>");
    }

    private void RenderZooKeeper(StringBuilder sb, StatusPageComponents? c)
    {
        var client = _zooKeeperClient ?? c?.ZooKeeperClient ?? _services.GetService<ZooKeeperClient>() ?? _services.GetService<RecoveringZooKeeperClient>()?.Current
            ?? _host?.GetComponent<ZooKeeperClient>();
        if (client is null)
        {
            Missing(sb, "ZooKeeper session", "No ZooKeeper client is registered.");
            return;
        }

        var state = client.State;
        var healthy = state is ZooKeeperState.Connected or ZooKeeperState.ConnectedReadOnly;
        sb.Append("<table class=\"kv\"><tr><th>State</th><td id=\"zk-state\" class=\"").Append(healthy ? "health-ok" : "health-err").Append("\">")
            .Append(Encode(state.ToString())).Append("</td></tr>");
        sb.Append("<tr><th>Session id</th><td><code>0x").Append(client.SessionId.ToString("x", CultureInfo.InvariantCulture)).Append("</code></td></tr>");
        sb.Append("<tr><th>Session timeout</th><td>").Append(FormatDuration(client.SessionTimeout)).Append("</td></tr>");
        sb.Append("<tr><th>Server</th><td>").Append(Encode(client.Server ?? "")).Append("</td></tr>");
        sb.Append("<tr><th>Last zxid</th><td><code>0x").Append(client.LastZxid.ToString("x", CultureInfo.InvariantCulture)).Append("</code></td></tr></table>");
    }

    private void RenderTsdb(StringBuilder sb, StatusPageComponents? c)
    {
        var db = _database ?? c?.Database ?? _services.GetService<TimeSeriesDatabase>() ?? _host?.GetComponent<TimeSeriesDatabase>();
        if (db is null)
        {
            Missing(sb, "TSDB", "No TimeSeriesDatabase is registered.");
            return;
        }

        var stats = db.GetStatistics();
        var empty = stats.HeadMinTime == long.MaxValue || stats.HeadMaxTime == long.MinValue;
        sb.Append("<table class=\"kv\"><tr><th>Head series</th><td id=\"head-series\">").Append(stats.HeadSeries.ToString(CultureInfo.InvariantCulture)).Append("</td></tr>");
        sb.Append("<tr><th>Samples appended</th><td id=\"head-samples\">").Append(stats.SamplesAppended.ToString(CultureInfo.InvariantCulture))
            .Append(" <span class=\"muted\">since open, plus ").Append(stats.WalSamplesReplayed.ToString(CultureInfo.InvariantCulture)).Append(" replayed</span></td></tr>");
        sb.Append("<tr><th>Head min time</th><td id=\"head-min-time\">").Append(empty ? "empty" : FormatTime(DateTimeOffset.FromUnixTimeMilliseconds(stats.HeadMinTime))).Append("</td></tr>");
        sb.Append("<tr><th>Head max time</th><td id=\"head-max-time\">").Append(empty ? "empty" : FormatTime(DateTimeOffset.FromUnixTimeMilliseconds(stats.HeadMaxTime))).Append("</td></tr>");
        sb.Append("<tr><th>Blocks</th><td>").Append(stats.Blocks.ToString(CultureInfo.InvariantCulture)).Append("</td></tr>");
        var refused = stats.OutOfOrderSamples + stats.DuplicateSamples + stats.OutOfBoundsSamples + stats.InvalidSamples;
        sb.Append("<tr><th>Samples refused</th><td>").Append(refused.ToString(CultureInfo.InvariantCulture)).Append("</td></tr></table>");
    }

    private void RenderAlerts(StringBuilder sb, RuleManager? rules, DateTimeOffset now)
    {
        if (rules is null)
        {
            Missing(sb, "rule manager", "No RuleManager is registered.");
            return;
        }

        // Firing first, then pending, then resolved ones still retained for notification; by name within a state.
        var alerts = rules.GetAlerts()
            .OrderBy(a => a.State switch { AlertState.Firing => 0, AlertState.Pending => 1, _ => 2 })
            .ThenBy(a => a.Labels.Get("alertname"), StringComparer.Ordinal)
            .ThenBy(a => a.Labels.ToString(), StringComparer.Ordinal)
            .ToList();
        if (alerts.Count == 0)
        {
            sb.Append("<p id=\"no-alerts\" class=\"muted\">No active alerts.</p>");
            return;
        }

        sb.Append("<table id=\"alerts-table\"><thead><tr><th>Alert</th><th>Labels</th><th>State</th><th>Active since</th><th>Firing since</th><th>Value</th></tr></thead><tbody>");
        foreach (var alert in alerts)
        {
            var state = StateName(alert.State);
            sb.Append("<tr class=\"alert\"><td class=\"alertname\">").Append(Encode(alert.Labels.Get("alertname") ?? "")).Append("</td><td>");
            AppendLabels(sb, alert.Labels, skip: "alertname");
            sb.Append("</td><td class=\"state-").Append(state).Append("\">").Append(state).Append("</td><td>").Append(FormatSince(alert.ActiveAt, now))
                .Append("</td><td>").Append(FormatSince(alert.FiredAt, now))
                .Append("</td><td>").Append(Encode(FormatValue(alert.Value))).Append("</td></tr>");
        }

        sb.Append("</tbody></table>");
    }

    private void RenderRules(StringBuilder sb, RuleManager? rules, DateTimeOffset now)
    {
        if (rules is null)
        {
            Missing(sb, "rule manager", "No RuleManager is registered.");
            return;
        }

        if (rules.LastReloadError is { } reloadError)
        {
            sb.Append("<p id=\"reload-error\" class=\"error\">The last rule reload failed; the previous rules keep running. ").Append(Encode(reloadError)).Append("</p>");
        }

        // Rule files refused by the last load (disk or ZooKeeper): the groups they held keep their last good version.
        var fileErrors = rules.FileErrors;
        if (fileErrors.Count > 0)
        {
            sb.Append("<ul id=\"rule-file-errors\" class=\"error\">");
            foreach (var (file, error) in fileErrors.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                sb.Append("<li><span class=\"file\">").Append(Encode(file)).Append("</span>: ").Append(Encode(error)).Append("</li>");
            }

            sb.Append("</ul>");
        }

        var groups = rules.GetRuleGroups();
        if (groups.Count == 0)
        {
            sb.Append("<p id=\"no-rules\" class=\"muted\">No rule groups loaded.</p>");
            return;
        }

        sb.Append("<table id=\"rule-groups\"><thead><tr><th>Rule</th><th>Kind</th><th>Expression</th><th>Health</th><th>Last error</th><th>Last evaluation</th><th>Duration</th><th>State</th></tr></thead>");
        foreach (var group in groups)
        {
            var health = GroupHealth(group);
            sb.Append("<tbody class=\"rule-group\"><tr class=\"group\"><td colspan=\"3\"><span class=\"group-name\">").Append(Encode(group.Name))
                .Append("</span> <span class=\"muted\">").Append(Encode(group.File)).Append(" · every ").Append(FormatDuration(group.Interval))
                .Append("</span></td><td class=\"health-").Append(health).Append("\">").Append(health).Append("</td><td class=\"error\">")
                .Append(group.FileError is { } fileError ? "rule file refused, running the last good version: " + Encode(fileError) : "").Append("</td><td>")
                .Append(FormatSince(group.LastEvaluation, now)).Append("</td><td>").Append(FormatDuration(group.EvaluationDuration)).Append("</td><td></td></tr>");
            foreach (var rule in group.Rules)
            {
                var ruleHealth = HealthName(rule.Health);
                var alerting = rule.Kind == RuleKind.Alerting;
                sb.Append("<tr class=\"rule\"><td class=\"rule-name\">").Append(Encode(rule.Name)).Append("</td><td>").Append(alerting ? "alert" : "record")
                    .Append("</td><td><code>").Append(Encode(rule.Query)).Append("</code>");
                if (rule.Labels.Count > 0)
                {
                    sb.Append("<br>");
                    AppendLabels(sb, rule.Labels, skip: null);
                }

                if (alerting && rule.For > TimeSpan.Zero)
                {
                    sb.Append("<br><span class=\"muted\">for ").Append(FormatDuration(rule.For)).Append("</span>");
                }

                sb.Append("</td><td class=\"health-").Append(ruleHealth).Append("\">").Append(ruleHealth).Append("</td><td class=\"error\">").Append(Encode(rule.LastError ?? ""))
                    .Append("</td><td>").Append(FormatSince(rule.LastEvaluation, now)).Append("</td><td>").Append(FormatDuration(rule.EvaluationDuration)).Append("</td><td>");
                if (alerting)
                {
                    var state = StateName(rule.State);
                    sb.Append("<span class=\"state-").Append(state).Append("\">").Append(state).Append("</span>");
                    if (rule.Alerts.Count > 0)
                    {
                        sb.Append(" (").Append(rule.Alerts.Count.ToString(CultureInfo.InvariantCulture)).Append(')');
                    }
                }

                sb.Append("</td></tr>");
            }

            sb.Append("</tbody>");
        }

        sb.Append("</table>");
    }

    private void RenderGraph(StringBuilder sb, StatusPageComponents? c, IQueryCollection query, TimeProvider time, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var exprField = query["expr"].ToString();
        var rangeField = query["range"].ToString();
        var expr = query.ContainsKey("expr") ? exprField.Trim() : _defaultExpression ?? "";
        var rangeText = rangeField.Trim().Length > 0 ? rangeField.Trim() : FormatDuration(_defaultRange);

        sb.Append("<form method=\"get\" id=\"graph-form\"><label>Expression<br><textarea name=\"expr\" spellcheck=\"false\">").Append(Encode(expr))
            .Append("</textarea></label><label>Range<br><input type=\"text\" name=\"range\" value=\"").Append(Encode(rangeText))
            .Append("\"></label><button type=\"submit\">Graph</button></form>");
        if (expr.Length == 0)
        {
            sb.Append("<p class=\"muted\">Enter a PromQL expression to graph it over the range (a duration such as 30m, 1h or 1d) ending now.</p>");
            return;
        }

        if (!RuleFileParser.TryParseDuration(rangeText, out var range) || range <= TimeSpan.Zero)
        {
            GraphError(sb, $"Invalid range \"{rangeText}\": use a positive duration such as 30m, 1h or 1d.");
            return;
        }

        if (range > _maxRange)
        {
            GraphError(sb, $"The range {rangeText} is longer than the page allows ({FormatDuration(_maxRange)}).");
            return;
        }

        var storage = _queryable ?? _database ?? c?.Queryable ?? c?.Database ?? _services.GetService<TimeSeriesDatabase>() ?? _services.GetService<IQueryable>()
            ?? _host?.GetComponent<IQueryable>();
        if (storage is null)
        {
            GraphError(sb, _host is null ? "Nothing to query: no TimeSeriesDatabase or IQueryable is registered." : MissingMessage("TSDB", ""));
            return;
        }

        var engine = _engine ?? _services.GetService<PromQLEngine>() ?? DefaultEngine(time);
        var endMs = now.ToUnixTimeMilliseconds();
        var rangeMs = (long)range.TotalMilliseconds;
        var startMs = endMs - rangeMs;
        var stepMs = Math.Max(1, (rangeMs + _graphPoints - 1) / _graphPoints);
        PromQLResult result;
        try
        {
            result = engine.RangeQuery(storage, expr, startMs, endMs, stepMs, cancellationToken);
        }
        catch (PromQLParseException ex)
        {
            GraphError(sb, ex.Message);
            return;
        }
        catch (MetricsCoordinationException ex)
        {
            GraphError(sb, ex.Message);
            return;
        }

        foreach (var annotation in result.Annotations)
        {
            sb.Append("<p class=\"muted annotation\">").Append(Encode(annotation.Message)).Append("</p>");
        }

        SvgGraph.Render(sb, result.Matrix, startMs, endMs, stepMs, _maxSeries);
    }

    private PromQLEngine DefaultEngine(TimeProvider time) =>
        _defaultEngine ??= new PromQLEngine(new PromQLEngineOptions { TimeProvider = time });

    private static void GraphError(StringBuilder sb, string message) =>
        sb.Append("<p id=\"graph-error\" class=\"error\">").Append(Encode(message)).Append("</p>");

    private static void NotConfigured(StringBuilder sb, string message) =>
        sb.Append("<p class=\"muted not-configured\">").Append(Encode(message)).Append("</p>");

    /// <summary>Says why a component is missing: not registered, or (with a hosting layer) not configured, not started yet, or stopped.</summary>
    private void Missing(StringBuilder sb, string part, string notRegistered) => NotConfigured(sb, MissingMessage(part, notRegistered));

    private string MissingMessage(string part, string notRegistered) => _host?.State switch
    {
        null => notRegistered,
        MetricsCoordinationState.Running => $"Not configured: the host runs no {part}.",
        MetricsCoordinationState.Starting => $"Starting: the {part} is not running yet.",
        _ => $"Stopped: the host has closed the {part}.",
    };

    private static void AppendLabels(StringBuilder sb, Labels labels, string? skip)
    {
        foreach (var label in labels)
        {
            if (label.Name == skip)
            {
                continue;
            }

            sb.Append("<span class=\"label\">").Append(Encode(label.Name)).Append("=\"").Append(Encode(label.Value)).Append("\"</span>");
        }
    }

    /// <summary>A group is <c>err</c> when any rule failed, <c>unknown</c> before its first evaluation, else <c>ok</c>.</summary>
    private static string GroupHealth(RuleGroupSnapshot group)
    {
        if (group.Rules.Any(r => r.Health == RuleHealth.Error))
        {
            return "err";
        }

        return group.Rules.Count > 0 && group.Rules.All(r => r.Health == RuleHealth.Unknown) ? "unknown" : "ok";
    }

    // Prometheus's own words for health and state.
    private static string HealthName(RuleHealth health) => health switch
    {
        RuleHealth.Ok => "ok",
        RuleHealth.Error => "err",
        _ => "unknown",
    };

    private static string StateName(AlertState state) => state switch
    {
        AlertState.Firing => "firing",
        AlertState.Pending => "pending",
        _ => "inactive",
    };

    internal static string Encode(string text) => Encoder.Encode(text);

    internal static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + " UTC";

    private static string FormatSince(DateTimeOffset? time, DateTimeOffset now)
    {
        if (time is not { } t)
        {
            return "<span class=\"muted\">never</span>";
        }

        var ago = now - t;
        return "<time>" + FormatTime(t) + "</time> <span class=\"muted\">(" +
            (ago < TimeSpan.Zero ? "in the future" : FormatDuration(TimeSpan.FromSeconds(Math.Floor(ago.TotalSeconds))) + " ago") + ")</span>";
    }

    /// <summary>A Prometheus-style duration: <c>1h30m</c>, <c>15s</c>, <c>250ms</c>, <c>0s</c>.</summary>
    internal static string FormatDuration(TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            return "0s";
        }

        var ms = (long)duration.TotalMilliseconds;
        if (ms == 0)
        {
            return duration.TotalMicroseconds.ToString("0", CultureInfo.InvariantCulture) + "µs";
        }

        var sb = new StringBuilder();
        void Part(long unitMs, string unit)
        {
            if (ms >= unitMs)
            {
                sb.Append((ms / unitMs).ToString(CultureInfo.InvariantCulture)).Append(unit);
                ms %= unitMs;
            }
        }

        Part(86_400_000, "d");
        Part(3_600_000, "h");
        Part(60_000, "m");
        Part(1_000, "s");
        Part(1, "ms");
        return sb.ToString();
    }

    internal static string FormatValue(double value) =>
        double.IsNaN(value) ? "NaN" :
        double.IsPositiveInfinity(value) ? "+Inf" :
        double.IsNegativeInfinity(value) ? "-Inf" :
        value.ToString("G6", CultureInfo.InvariantCulture);
}
