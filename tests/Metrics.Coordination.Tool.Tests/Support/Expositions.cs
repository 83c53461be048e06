namespace Metrics.Coordination.Tool.Tests.Support;

/// <summary>Exposition inputs shared by the tests.</summary>
internal static class Expositions
{
    /// <summary>Prometheus text that promtool finds nothing wrong with.</summary>
    public const string CleanText =
        "# HELP http_requests_total Requests handled.\n" +
        "# TYPE http_requests_total counter\n" +
        "http_requests_total{code=\"200\",method=\"get\"} 1027\n" +
        "http_requests_total{code=\"500\",method=\"get\"} 3\n" +
        "# HELP process_resident_memory_bytes Resident memory.\n" +
        "# TYPE process_resident_memory_bytes gauge\n" +
        "process_resident_memory_bytes 2.4e+07\n" +
        "# HELP request_duration_seconds Request latency.\n" +
        "# TYPE request_duration_seconds histogram\n" +
        "request_duration_seconds_bucket{le=\"0.1\"} 5\n" +
        "request_duration_seconds_bucket{le=\"1\"} 8\n" +
        "request_duration_seconds_bucket{le=\"+Inf\"} 9\n" +
        "request_duration_seconds_sum 3.5\n" +
        "request_duration_seconds_count 9\n" +
        "# HELP rpc_duration_seconds RPC latency.\n" +
        "# TYPE rpc_duration_seconds summary\n" +
        "rpc_duration_seconds{quantile=\"0.5\"} 0.01\n" +
        "rpc_duration_seconds{quantile=\"0.99\"} 0.2\n" +
        "rpc_duration_seconds_sum 12\n" +
        "rpc_duration_seconds_count 300\n";

    /// <summary>OpenMetrics, clean: counter family without <c>_total</c> (its samples have it), unit, info, exemplar.</summary>
    public const string CleanOpenMetrics =
        "# TYPE http_requests counter\n" +
        "# HELP http_requests Requests handled.\n" +
        "http_requests_total{code=\"200\"} 1027 # {trace_id=\"abc123\"} 1 1700000000.5\n" +
        "http_requests_created{code=\"200\"} 1.7e+09\n" +
        "# TYPE request_duration_seconds histogram\n" +
        "# UNIT request_duration_seconds seconds\n" +
        "# HELP request_duration_seconds Request latency.\n" +
        "request_duration_seconds_bucket{le=\"0.1\"} 5\n" +
        "request_duration_seconds_bucket{le=\"+Inf\"} 9\n" +
        "request_duration_seconds_sum 3.5\n" +
        "request_duration_seconds_count 9\n" +
        "# TYPE build info\n" +
        "# HELP build Build information.\n" +
        "build_info{version=\"1.2.3\"} 1\n" +
        "# EOF\n";

    /// <summary>Prometheus text with an unterminated label value on line 3.</summary>
    public const string BrokenText =
        "# HELP up Whether the target is up.\n" +
        "# TYPE up gauge\n" +
        "up{job=\"api 1\n";

    /// <summary>Many lint problems at once, each family carrying its own (mirrors the promtool run in the report).</summary>
    public const string ManyProblems =
        "# TYPE foo counter\n" +
        "foo 1\n" +
        "# TYPE bar_total gauge\n" +
        "bar_total{fooBar=\"x\",le=\"1\",quantile=\"2\"} 1\n" +
        "# HELP req_milliseconds x\n" +
        "# TYPE req_milliseconds gauge\n" +
        "req_milliseconds 1\n" +
        "# HELP a:b x\n" +
        "# TYPE a:b gauge\n" +
        "a:b 1\n" +
        "# HELP someName x\n" +
        "# TYPE someName gauge\n" +
        "someName 1\n" +
        "# HELP x_count x\n" +
        "# TYPE x_count gauge\n" +
        "x_count 1\n" +
        "# HELP x_sum x\n" +
        "# TYPE x_sum gauge\n" +
        "x_sum 1\n" +
        "# HELP y_bucket x\n" +
        "# TYPE y_bucket summary\n" +
        "y_bucket_sum 1\n" +
        "y_bucket_count 1\n" +
        "# HELP lat_ms x\n" +
        "# TYPE lat_ms gauge\n" +
        "lat_ms 1\n" +
        "# HELP foo_gauge x\n" +
        "# TYPE foo_gauge gauge\n" +
        "foo_gauge 1\n" +
        "# HELP temp_fahrenheit x\n" +
        "# TYPE temp_fahrenheit gauge\n" +
        "temp_fahrenheit 1\n";

    /// <summary>The problems promtool 2.42 prints (on stderr; mctl on stdout) for <see cref="ManyProblems"/>, in its order.</summary>
    public const string ManyProblemsPromtoolOutput =
        "a:b metric names should not contain ':'\n" +
        "bar_total label names should be written in 'snake_case' not 'camelCase'\n" +
        "bar_total no help text\n" +
        "bar_total non-counter metrics should not have \"_total\" suffix\n" +
        "bar_total non-histogram metrics should not have \"le\" label\n" +
        "bar_total non-summary metrics should not have \"quantile\" label\n" +
        "foo counter metrics should have \"_total\" suffix\n" +
        "foo no help text\n" +
        "foo_gauge metric name should not include type 'gauge'\n" +
        "lat_ms metric names should not contain abbreviated units\n" +
        "req_milliseconds use base unit \"seconds\" instead of \"milliseconds\"\n" +
        "someName metric names should be written in 'snake_case' not 'camelCase'\n" +
        "temp_fahrenheit use base unit \"celsius\" instead of \"fahrenheit\"\n" +
        "x_count non-histogram and non-summary metrics should not have \"_count\" suffix\n" +
        "x_sum non-histogram and non-summary metrics should not have \"_sum\" suffix\n" +
        "y_bucket non-histogram metrics should not have \"_bucket\" suffix\n";

    /// <summary>A one-family gauge exposition with help, for rule tests.</summary>
    public static string Gauge(string name, string labels = "") =>
        $"# HELP {name} Some help.\n# TYPE {name} gauge\n{name}{labels} 1\n";
}
