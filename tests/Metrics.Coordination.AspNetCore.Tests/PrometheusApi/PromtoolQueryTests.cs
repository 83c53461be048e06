using System.Globalization;
using System.Text.Json;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules.PromQL;
using Metrics.Coordination.Testing;
using static Metrics.Coordination.AspNetCore.Tests.PrometheusApi.PrometheusApiHost;

namespace Metrics.Coordination.AspNetCore.Tests.PrometheusApi;

/// <summary>
/// The real <c>promtool query instant</c> and <c>promtool query range</c> (Prometheus 2.42's Go API client) against
/// <c>MapPrometheusApi</c> return what the engine returns for the same query, series by series and point by point,
/// and report our errors as Prometheus's.
/// </summary>
[TestFixture]
[Category("Integration")]
public class PromtoolQueryTests
{
    private const long InstantMs = T0 + (30 * 60_000);
    private const long RangeEndMs = T0 + 3_600_000;

    private static readonly string[] InstantExpressions =
    [
        "http_requests_total",
        "rate(http_requests_total[5m])",
        "sum by (job) (rate(http_requests_total[5m]))",
        "topk(2, http_requests_total)",
        "sort_desc(http_requests_total)",
        "http_requests_total[1m]",
        "scalar(sum(one))",
        "1 + 2",
        "pi()",
        "time()",
        "special",
        "special * -1",
        "temperature",
        "avg_over_time(temperature[10m])",
        "absent(nonexistent)",
        "nonexistent",
        "sparse",
        "count_values(\"v\", dup)",
        "label_replace(one, \"x\", \"$1\", \"a\", \"(.*)\")",
        "dup / on(a) group_left one",
    ];

    private static readonly string[] RangeExpressions =
    [
        "rate(http_requests_total[5m])",
        "sum(http_requests_total)",
        "sum by (code) (increase(http_requests_total[10m]))",
        "special",
        "sparse",
        "1",
        "time()",
        "temperature * 2",
        "http_requests_total offset 10m",
        "max_over_time(one[2m]) - 0.1",
    ];

    private PrometheusApiHost _host = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _host = await PrometheusApiHost.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [TestCaseSource(nameof(InstantExpressions))]
    public async Task QueryInstant_Promtool_ReturnsTheEngineResult(string expression)
    {
        var expected = _host.Engine.InstantQuery(_host.Db, expression, InstantMs);

        var run = await Promtool.RunAsync(["query", "instant", "-o", "json", "--time=" + Seconds(InstantMs), _host.ServerUrl, expression]);

        run.ExitCode.Should().Be(0, run.ToString());
        Canonical(run.Stdout, expected.Type).Should().Equal(Canonical(expected), run.Stdout);
    }

    [TestCaseSource(nameof(RangeExpressions))]
    public async Task QueryRange_Promtool_ReturnsTheEngineResult(string expression)
    {
        var expected = _host.Engine.RangeQuery(_host.Db, expression, T0, RangeEndMs, 60_000);

        // promtool sends the step as float seconds ("60"); the duration form is covered by the endpoint tests.
        var run = await Promtool.RunAsync(
            ["query", "range", "-o", "json", "--start=" + Seconds(T0), "--end=" + Seconds(RangeEndMs), "--step=1m", _host.ServerUrl, expression]);

        run.ExitCode.Should().Be(0, run.ToString());
        var lines = Canonical(run.Stdout, PromQLValueType.RangeVector);
        lines.Should().Equal(Canonical(expected), run.Stdout);
        lines.Should().NotBeEmpty();
    }

    [Test]
    public async Task QueryInstant_ParseError_PromtoolReportsBadDataWithPosition()
    {
        const string Expression = "sum(rate(x[5m])";
        var parse = () => _host.Engine.Parse(Expression);
        var expected = parse.Should().Throw<PromQLParseException>().Which;

        var run = await Promtool.RunAsync(["query", "instant", "--time=" + Seconds(InstantMs), _host.ServerUrl, Expression]);

        run.ExitCode.Should().Be(1, run.ToString());
        run.Stderr.Trim().Should().Be($"query error: bad_data: invalid parameter \"query\": {expected.Message}");
    }

    [Test]
    public async Task QueryInstant_ExecutionError_PromtoolReportsExecution()
    {
        const string Expression = "one + on(a) dup";
        var query = () => _host.Engine.InstantQuery(_host.Db, Expression, InstantMs);
        var expected = query.Should().Throw<PromQLQueryException>().Which;

        var run = await Promtool.RunAsync(["query", "instant", "--time=" + Seconds(InstantMs), _host.ServerUrl, Expression]);

        run.ExitCode.Should().Be(1, run.ToString());
        run.Stderr.Trim().Should().Be($"query error: execution: {expected.Message}");
    }

    [Test]
    public async Task QueryRange_RangeVectorExpression_PromtoolReportsBadData()
    {
        var run = await Promtool.RunAsync(
            ["query", "range", "--start=" + Seconds(T0), "--end=" + Seconds(RangeEndMs), "--step=1m", _host.ServerUrl, "one[5m]"]);

        run.ExitCode.Should().Be(1, run.ToString());
        run.Stderr.Trim().Should().Be(
            "query error: bad_data: invalid parameter \"query\": invalid expression type \"range vector\" for range query, must be Scalar or instant Vector");
    }

    [Test]
    public async Task QueryInstant_StringResult_PromtoolFailsToDecodeItAsAgainstPrometheus()
    {
        // Prometheus writes a string result as [time, "text"], and the Go client of 2.42 cannot decode that shape
        // (prometheus/common#423 shows the same message against a real Prometheus); the bytes are the same here.
        var run = await Promtool.RunAsync(["query", "instant", "--time=" + Seconds(InstantMs), _host.ServerUrl, "\"hello\""]);

        run.ExitCode.Should().Be(1, run.ToString());
        run.Stderr.Should().Contain("unmarshalerDecoder: unexpected value type \"string\"")
            .And.Contain("\"string\",\"result\":[1700001800,\"hello\"]");
    }

    [Test]
    public async Task QueryInstant_DefaultFormat_PrintsPromtoolsText()
    {
        var run = await Promtool.RunAsync(["query", "instant", "--time=" + Seconds(InstantMs), _host.ServerUrl, "http_requests_total{code=\"500\"}"]);

        run.ExitCode.Should().Be(0, run.ToString());
        run.Stdout.Trim().Should().Be("http_requests_total{code=\"500\", instance=\"a:80\", job=\"api\"} => 120 @[1700001800]");
    }

    /// <summary>The engine's result as one line per sample: <c>labels|time ms|value</c>, in result order.</summary>
    private static List<string> Canonical(PromQLResult result) => result.Type switch
    {
        PromQLValueType.Scalar => [Line(Labels.Empty, result.TimestampMs, result.Scalar)],
        PromQLValueType.String => [$"string|{result.TimestampMs}|{result.String}"],
        PromQLValueType.InstantVector => [.. result.Vector.Select(s => Line(s.Metric, s.TimestampMs, s.Value))],
        _ => [.. result.Matrix.SelectMany(s => s.Points.Select(p => Line(s.Metric, p.TimestampMs, p.Value)))],
    };

    /// <summary>promtool's <c>-o json</c> output (the Go client's model values) in the same lines.</summary>
    private static List<string> Canonical(string stdout, PromQLValueType type)
    {
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        switch (type)
        {
            case PromQLValueType.Scalar:
                return [Line(Labels.Empty, Ms(root[0]), Value(root[1].GetString()!))];
            case PromQLValueType.String:
                return [$"string|{Ms(root[0])}|{root[1].GetString()}"];
            case PromQLValueType.InstantVector:
                return [.. root.EnumerateArray().Select(s => Line(Metric(s.GetProperty("metric")), Ms(s.GetProperty("value")[0]), Value(s.GetProperty("value")[1].GetString()!)))];
            default:
                var lines = new List<string>();
                foreach (var s in root.EnumerateArray())
                {
                    var metric = Metric(s.GetProperty("metric"));
                    lines.AddRange(s.GetProperty("values").EnumerateArray().Select(p => Line(metric, Ms(p[0]), Value(p[1].GetString()!))));
                }

                return lines;
        }
    }

    private static string Line(Labels metric, long ms, double value) =>
        $"{metric}|{ms}|{(double.IsNaN(value) ? "NaN" : value.ToString("R", CultureInfo.InvariantCulture))}";

    private static Labels Metric(JsonElement e)
    {
        var pairs = e.EnumerateObject().SelectMany(p => new[] { p.Name, p.Value.GetString()! }).ToArray();
        return Labels.FromStrings(pairs);
    }

    private static long Ms(JsonElement seconds) => (long)Math.Round(decimal.Parse(seconds.GetRawText(), CultureInfo.InvariantCulture) * 1000);

    private static double Value(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };
}
