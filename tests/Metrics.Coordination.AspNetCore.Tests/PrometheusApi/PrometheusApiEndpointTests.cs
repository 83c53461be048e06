using System.Net;
using System.Text.Json;
using static Metrics.Coordination.AspNetCore.Tests.PrometheusApi.PrometheusApiHost;

namespace Metrics.Coordination.AspNetCore.Tests.PrometheusApi;

/// <summary>Each endpoint's JSON, field by field, against the shapes of Prometheus's HTTP API documentation.</summary>
[TestFixture]
public class PrometheusApiEndpointTests
{
    private static readonly string Mid = Seconds(T0 + (30 * 60_000));

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

    private static string[] Keys(JsonElement e) => [.. e.EnumerateObject().Select(p => p.Name)];

    private static Dictionary<string, string> Metric(JsonElement e) => e.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);

    private static void ShouldBeSuccess(HttpStatusCode status, JsonElement body, string text)
    {
        status.Should().Be(HttpStatusCode.OK, text);
        body.GetProperty("status").GetString().Should().Be("success", text);
        body.TryGetProperty("errorType", out _).Should().BeFalse();
        body.TryGetProperty("error", out _).Should().BeFalse();
    }

    private static void ShouldBeError(HttpStatusCode status, JsonElement body, string text, HttpStatusCode expectedStatus, string errorType, string messageStart)
    {
        status.Should().Be(expectedStatus, text);
        Keys(body).Should().Equal(["status", "errorType", "error"], text);
        body.GetProperty("status").GetString().Should().Be("error");
        body.GetProperty("errorType").GetString().Should().Be(errorType);
        body.GetProperty("error").GetString().Should().StartWith(messageStart);
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Query_Vector_ReturnsPrometheusVectorShape(bool post)
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/query", [P("query", "http_requests_total{job=\"api\"}"), P("time", Mid)], post);

        ShouldBeSuccess(status, body, text);
        Keys(body).Should().Equal("status", "data");
        var data = body.GetProperty("data");
        Keys(data).Should().Equal("resultType", "result");
        data.GetProperty("resultType").GetString().Should().Be("vector");
        var result = data.GetProperty("result").EnumerateArray().ToList();
        result.Should().HaveCount(2);
        Keys(result[0]).Should().Equal("metric", "value");
        Metric(result[0].GetProperty("metric")).Should().Equal(new Dictionary<string, string>
        {
            ["__name__"] = "http_requests_total", ["code"] = "200", ["instance"] = "a:80", ["job"] = "api",
        });
        var value = result[0].GetProperty("value");
        value.GetArrayLength().Should().Be(2);
        value[0].ValueKind.Should().Be(JsonValueKind.Number);
        value[0].GetRawText().Should().Be("1700001800", "timestamps are float seconds, without decimals when whole");
        value[1].GetString().Should().Be("1200", "sample 120 of the 200 series is 120 * 10, sent as a string");
        result[1].GetProperty("value")[1].GetString().Should().Be("120");
    }

    [Test]
    public async Task Query_FractionalTime_WritesMillisecondsAsThreeDecimals()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/query", [P("query", "time()"), P("time", "1700001800.5")]);

        ShouldBeSuccess(status, body, text);
        text.Should().Contain("\"result\":[1700001800.500,\"1700001800.5\"]", "Prometheus always writes three decimals for a fraction");
    }

    [Test]
    public async Task Query_SpecialValues_AreQuotedAsPrometheusWritesThem()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/query", [P("query", "special"), P("time", Mid)]);

        ShouldBeSuccess(status, body, text);
        var values = body.GetProperty("data").GetProperty("result").EnumerateArray()
            .ToDictionary(s => s.GetProperty("metric").GetProperty("kind").GetString()!, s => s.GetProperty("value")[1].GetString());
        values.Should().Equal(new Dictionary<string, string?>
        {
            ["huge"] = "2.5e+22", ["inf"] = "+Inf", ["nan"] = "NaN", ["neg"] = "-0.25", ["ninf"] = "-Inf", ["tiny"] = "1.5e-07",
        });
    }

    [Test]
    public async Task Query_NonAsciiLabelValue_IsWrittenAsUtf8()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/query", [P("query", "temperature"), P("time", Mid)]);

        ShouldBeSuccess(status, body, text);
        body.GetProperty("data").GetProperty("result")[0].GetProperty("metric").GetProperty("room").GetString().Should().Be("küche \"süd\"");
        text.Should().Contain("küche", "non-ASCII text is not escaped, as Go's encoder leaves it");
    }

    [Test]
    public async Task Query_Scalar_ReturnsTimeValuePair()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/query", [P("query", "1 + 2"), P("time", "2023-11-14T22:43:20Z")]);

        ShouldBeSuccess(status, body, text);
        var data = body.GetProperty("data");
        data.GetProperty("resultType").GetString().Should().Be("scalar");
        data.GetProperty("result")[0].GetRawText().Should().Be("1700001800");
        data.GetProperty("result")[1].GetString().Should().Be("3");
    }

    [Test]
    public async Task Query_String_ReturnsTimeValuePair()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/query", [P("query", "\"hello\""), P("time", Mid)]);

        ShouldBeSuccess(status, body, text);
        var data = body.GetProperty("data");
        data.GetProperty("resultType").GetString().Should().Be("string");
        data.GetProperty("result")[1].GetString().Should().Be("hello");
    }

    [Test]
    public async Task Query_RangeVectorSelector_ReturnsMatrix()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/query", [P("query", "one[1m]"), P("time", Mid)]);

        ShouldBeSuccess(status, body, text);
        var data = body.GetProperty("data");
        data.GetProperty("resultType").GetString().Should().Be("matrix");
        var series = data.GetProperty("result")[0];
        Keys(series).Should().Equal("metric", "values");
        series.GetProperty("values").GetArrayLength().Should().Be(4, "a 1m window ending on a sample holds 4 samples at 15 s (the left end is open)");
    }

    [Test]
    public async Task Query_WithoutTime_EvaluatesNow()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/query", [P("query", "time()")]);

        ShouldBeSuccess(status, body, text);
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
        body.GetProperty("data").GetProperty("result")[0].GetDouble().Should().BeApproximately(now, 60);
    }

    [Test]
    public async Task Query_Warnings_AreListedBesideData()
    {
        // A quantile outside [0, 1] draws a warning; the result is still returned.
        var (status, body, text) = await _host.CallAsync("/api/v1/query", [P("query", "quantile(2, one)"), P("time", Mid)]);

        ShouldBeSuccess(status, body, text);
        var warnings = body.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()).ToList();
        warnings.Should().ContainSingle().Which.Should().StartWith("PromQL warning: quantile value should be between 0 and 1");
        Keys(body).Should().Equal("status", "data", "warnings");
    }

    [Test]
    public async Task Query_Infos_AreListedApartFromWarnings()
    {
        // rate() over a name that does not look like a counter draws Prometheus's "might not be a counter" info.
        var (status, body, text) = await _host.CallAsync("/api/v1/query", [P("query", "rate(one[5m])"), P("time", Mid)]);

        ShouldBeSuccess(status, body, text);
        Keys(body).Should().Equal("status", "data", "infos");
        body.GetProperty("infos").EnumerateArray().Select(w => w.GetString()).Should().ContainSingle()
            .Which.Should().StartWith("PromQL info: metric might not be a counter");
    }

    [Test]
    public async Task Query_ParseError_IsBadDataWithPosition()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/query", [P("query", "sum(rate(x[5m])"), P("time", Mid)]);

        ShouldBeError(status, body, text, HttpStatusCode.BadRequest, "bad_data", "invalid parameter \"query\": 1:");
        var parse = () => _host.Engine.Parse("sum(rate(x[5m])");
        var expected = parse.Should().Throw<Metrics.Coordination.Rules.PromQL.PromQLParseException>().Which;
        body.GetProperty("error").GetString().Should().Be("invalid parameter \"query\": " + expected.Message);
        expected.Message.Should().MatchRegex("^1:[0-9]+: parse error: ", "the message carries the line and column");
    }

    [Test]
    public async Task Query_MissingQuery_IsBadData()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/query", [P("time", Mid)]);

        ShouldBeError(status, body, text, HttpStatusCode.BadRequest, "bad_data", "invalid parameter \"query\": ");
    }

    [TestCase("time", "yesterday")]
    [TestCase("time", "2023-11-14 22:43:20")]
    [TestCase("timeout", "5 minutes")]
    public async Task Query_BadParameter_IsBadDataNamingIt(string name, string value)
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/query", [P("query", "one"), P(name, value)]);

        var what = name == "time" ? "timestamp" : "duration";
        ShouldBeError(status, body, text, HttpStatusCode.BadRequest, "bad_data", $"invalid parameter \"{name}\": cannot parse \"{value}\" to a valid {what}");
    }

    [Test]
    public async Task Query_ExecutionError_Is422Execution()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/query", [P("query", "one + on(a) dup"), P("time", Mid)]);

        ShouldBeError(status, body, text, HttpStatusCode.UnprocessableEntity, "execution", string.Empty);
        var expected = () => _host.Engine.InstantQuery(_host.Db, "one + on(a) dup", T0 + (30 * 60_000));
        expected.Should().Throw<Metrics.Coordination.Rules.PromQL.PromQLQueryException>()
            .Which.Message.Should().Be(body.GetProperty("error").GetString());
    }

    [Test]
    public async Task QueryRange_DurationAndFloatSteps_ReturnTheSameMatrix()
    {
        var start = Seconds(T0);
        var end = Seconds(T0 + 3_600_000);
        var (_, byDuration, text1) = await _host.CallAsync("/api/v1/query_range", [P("query", "sum by (job) (rate(http_requests_total[5m]))"), P("start", start), P("end", end), P("step", "5m")]);
        var (status, byFloat, text2) = await _host.CallAsync("/api/v1/query_range", [P("query", "sum by (job) (rate(http_requests_total[5m]))"), P("start", start), P("end", end), P("step", "300")], post: true);

        ShouldBeSuccess(status, byFloat, text2);
        text1.Should().Be(text2);
        var data = byFloat.GetProperty("data");
        data.GetProperty("resultType").GetString().Should().Be("matrix");
        var result = data.GetProperty("result").EnumerateArray().ToList();
        result.Select(s => s.GetProperty("metric").GetProperty("job").GetString()).Should().Equal("api", "web");
        Keys(result[0]).Should().Equal("metric", "values");
        var values = result[0].GetProperty("values").EnumerateArray().ToList();
        values.Should().HaveCount(12, "5m, ..., 60m: at the start the window holds one sample, too few for a rate");
        values[0][0].GetRawText().Should().Be("1700000300");
        values[11][0].GetRawText().Should().Be("1700003600");
        values[5][1].GetString().Should().Be("0.7333333333333333", "(10 + 1) / 15 per second, written with Go's shortest digits");
    }

    [Test]
    public async Task QueryRange_Scalar_IsOneSeriesWithEmptyMetric()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/query_range", [P("query", "1"), P("start", Seconds(T0)), P("end", Seconds(T0 + 60_000)), P("step", "30s")]);

        ShouldBeSuccess(status, body, text);
        var series = body.GetProperty("data").GetProperty("result")[0];
        series.GetProperty("metric").EnumerateObject().Should().BeEmpty();
        series.GetProperty("values").GetArrayLength().Should().Be(3);
    }

    [TestCase("start", "", "invalid parameter \"start\": cannot parse \"\" to a valid timestamp")]
    [TestCase("step", "", "invalid parameter \"step\": cannot parse \"\" to a valid duration")]
    [TestCase("step", "0", "zero or negative query resolution step widths are not accepted. Try a positive integer")]
    [TestCase("step", "1ms", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")]
    [TestCase("end", "1699999999", "end timestamp must not be before start time")]
    [TestCase("query", "one[5m]", "invalid parameter \"query\": invalid expression type \"range vector\" for range query, must be Scalar or instant Vector")]
    public async Task QueryRange_BadParameters_AreBadData(string name, string value, string message)
    {
        var parameters = new Dictionary<string, string> { ["query"] = "one", ["start"] = Seconds(T0), ["end"] = Seconds(T0 + 60_000), ["step"] = "15s" };
        parameters[name] = value;

        var (status, body, text) = await _host.CallAsync("/api/v1/query_range", parameters);

        ShouldBeError(status, body, text, HttpStatusCode.BadRequest, "bad_data", message);
        body.GetProperty("error").GetString().Should().Be(message);
    }

    [TestCase("0")]
    [TestCase("-1s")]
    public async Task Query_ExpiredTimeout_Is503Timeout(string timeout)
    {
        // A timeout of zero has expired before the query is queued, as a Go context with that deadline has.
        var (status, body, text) = await _host.CallAsync("/api/v1/query_range",
            [P("query", "sum(one)"), P("start", Seconds(T0)), P("end", Seconds(T0 + 60_000)), P("step", "15s"), P("timeout", timeout)]);

        if (timeout == "-1s")
        {
            ShouldBeError(status, body, text, HttpStatusCode.BadRequest, "bad_data", "invalid parameter \"timeout\": cannot parse \"-1s\" to a valid duration");
            return;
        }

        ShouldBeError(status, body, text, HttpStatusCode.ServiceUnavailable, "timeout", "query timed out in query queue");
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Series_MatchSelectors_ReturnsSortedUnionOfLabelSets(bool post)
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/series", [P("match[]", "dup"), P("match[]", "{__name__=\"http_requests_total\", job=\"web\"}"), P("match[]", "dup{b=\"x\"}")], post);

        ShouldBeSuccess(status, body, text);
        var series = body.GetProperty("data").EnumerateArray().Select(Metric).ToList();
        series.Should().HaveCount(3, "dup{b=\"x\"} is named twice but listed once");
        series[0].Should().Equal(new Dictionary<string, string> { ["__name__"] = "dup", ["a"] = "1", ["b"] = "x" });
        series[1].Should().Equal(new Dictionary<string, string> { ["__name__"] = "dup", ["a"] = "1", ["b"] = "y" });
        series[2]["__name__"].Should().Be("http_requests_total");
    }

    [Test]
    public async Task Series_TimeRangeWithoutData_IsEmpty()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/series", [P("match[]", "one"), P("start", "2000-01-01T00:00:00Z"), P("end", "2000-01-02T00:00:00.5+02:00")]);

        ShouldBeSuccess(status, body, text);
        body.GetProperty("data").GetArrayLength().Should().Be(0);
    }

    [TestCase("", "no match[] parameter provided")]
    [TestCase("up +", "invalid parameter \"match[]\": 1:")]
    [TestCase("{job=~\".*\"}", "invalid parameter \"match[]\": 1:1: parse error: vector selector must contain at least one non-empty matcher")]
    public async Task Series_BadMatch_IsBadData(string match, string message)
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/series", match.Length == 0 ? [] : [P("match[]", match)]);

        ShouldBeError(status, body, text, HttpStatusCode.BadRequest, "bad_data", message);
    }

    [Test]
    public async Task Labels_All_ReturnsSortedNames()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/labels");

        ShouldBeSuccess(status, body, text);
        body.GetProperty("data").EnumerateArray().Select(e => e.GetString()).Should().Equal("__name__", "a", "b", "code", "instance", "job", "kind", "room");
    }

    [Test]
    public async Task Labels_WithMatch_ReturnsNamesOfMatchedSeries()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/labels", [P("match[]", "dup"), P("match[]", "sparse")], post: true);

        ShouldBeSuccess(status, body, text);
        body.GetProperty("data").EnumerateArray().Select(e => e.GetString()).Should().Equal("__name__", "a", "b", "job");
    }

    [Test]
    public async Task LabelValues_Name_ReturnsSortedValues()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/label/__name__/values");

        ShouldBeSuccess(status, body, text);
        body.GetProperty("data").EnumerateArray().Select(e => e.GetString()).Should().Equal("dup", "http_requests_total", "one", "sparse", "special", "temperature");
    }

    [Test]
    public async Task LabelValues_WithMatch_ReturnsValuesOnMatchedSeries()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/label/job/values", [P("match[]", "http_requests_total{code=\"500\"}"), P("match[]", "sparse")]);

        ShouldBeSuccess(status, body, text);
        body.GetProperty("data").EnumerateArray().Select(e => e.GetString()).Should().Equal("api");
    }

    [TestCase("/api/v1/label/job/values")]
    [TestCase("/api/v1/labels")]
    public async Task LabelQueries_RangeBeforeAnyData_AreEmpty(string path)
    {
        var (status, body, text) = await _host.CallAsync(path, [P("start", "0"), P("end", "1000")]);

        ShouldBeSuccess(status, body, text);
        body.GetProperty("data").GetArrayLength().Should().Be(0, "no series has samples in the first 1000 s of 1970");
    }

    [Test]
    public async Task Metadata_IsAnEmptyObject()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/metadata");

        ShouldBeSuccess(status, body, text);
        text.Should().Be("{\"status\":\"success\",\"data\":{}}");
    }

    [Test]
    public async Task QueryExemplars_ValidQuery_IsAnEmptyList()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/query_exemplars", [P("query", "rate(http_requests_total[5m])"), P("start", Seconds(T0)), P("end", Mid)], post: true);

        ShouldBeSuccess(status, body, text);
        text.Should().Be("{\"status\":\"success\",\"data\":[]}");
    }

    [Test]
    public async Task QueryExemplars_BadQuery_IsBadData()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/query_exemplars", [P("query", "rate("), P("start", Seconds(T0)), P("end", Mid)]);

        ShouldBeError(status, body, text, HttpStatusCode.BadRequest, "bad_data", "invalid parameter \"query\": 1:");
    }

    [Test]
    public async Task Rules_All_ReturnsGroupsWithPrometheusFields()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/rules");

        ShouldBeSuccess(status, body, text);
        var groups = body.GetProperty("data").GetProperty("groups").EnumerateArray().ToList();
        groups.Should().ContainSingle();
        var group = groups[0];
        Keys(group).Should().Equal("name", "file", "rules", "interval", "limit", "evaluationTime", "lastEvaluation");
        group.GetProperty("name").GetString().Should().Be("api");
        group.GetProperty("file").GetString().Should().EndWith("rules.yml");
        group.GetProperty("interval").GetDouble().Should().Be(1);
        DateTimeOffset.Parse(group.GetProperty("lastEvaluation").GetString()!, System.Globalization.CultureInfo.InvariantCulture).Year.Should().BeGreaterThan(2000);

        var rules = group.GetProperty("rules").EnumerateArray().ToList();
        rules.Should().HaveCount(4);
        var firing = rules[0];
        Keys(firing).Should().Equal("state", "name", "query", "duration", "keepFiringFor", "labels", "annotations", "alerts", "health", "evaluationTime", "lastEvaluation", "type");
        firing.GetProperty("state").GetString().Should().Be("firing");
        firing.GetProperty("name").GetString().Should().Be("AlwaysFiring");
        firing.GetProperty("query").GetString().Should().Be("vector(3) > 0");
        firing.GetProperty("duration").GetDouble().Should().Be(0);
        Metric(firing.GetProperty("labels")).Should().Equal(new Dictionary<string, string> { ["severity"] = "page" });
        firing.GetProperty("health").GetString().Should().Be("ok");
        firing.GetProperty("type").GetString().Should().Be("alerting");
        var alert = firing.GetProperty("alerts")[0];
        Keys(alert).Should().Equal("labels", "annotations", "state", "activeAt", "value");
        Metric(alert.GetProperty("labels")).Should().Equal(new Dictionary<string, string> { ["alertname"] = "AlwaysFiring", ["severity"] = "page" });
        Metric(alert.GetProperty("annotations")).Should().Equal(new Dictionary<string, string> { ["summary"] = "value is 3" });
        alert.GetProperty("value").GetString().Should().Be("3e+00", "alert values use Go's %e form");

        var pending = rules[1];
        pending.GetProperty("state").GetString().Should().Be("pending");
        pending.GetProperty("duration").GetDouble().Should().Be(3600);
        pending.GetProperty("keepFiringFor").GetDouble().Should().Be(300);
        pending.GetProperty("labels").EnumerateObject().Should().BeEmpty();

        var recording = rules[2];
        Keys(recording).Should().Equal("name", "query", "labels", "health", "evaluationTime", "lastEvaluation", "type");
        recording.GetProperty("type").GetString().Should().Be("recording");
        Metric(recording.GetProperty("labels")).Should().Equal(new Dictionary<string, string> { ["source"] = "test" });

        var broken = rules[3];
        Keys(broken).Should().Equal("name", "query", "health", "lastError", "evaluationTime", "lastEvaluation", "type");
        broken.GetProperty("health").GetString().Should().Be("err");
        broken.GetProperty("lastError").GetString().Should().NotBeNullOrEmpty();
    }

    [TestCase("alert", "AlwaysFiring", "LongPending")]
    [TestCase("record", "job:one:sum", "broken")]
    [TestCase("ALERT", "AlwaysFiring", "LongPending")]
    public async Task Rules_TypeFilter_KeepsOnlyThatKind(string type, string first, string second)
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/rules", [P("type", type)]);

        ShouldBeSuccess(status, body, text);
        body.GetProperty("data").GetProperty("groups")[0].GetProperty("rules").EnumerateArray().Select(r => r.GetProperty("name").GetString()).Should().Equal(first, second);
    }

    [Test]
    public async Task Rules_UnknownType_IsBadData()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/rules", [P("type", "both")]);

        ShouldBeError(status, body, text, HttpStatusCode.BadRequest, "bad_data", "invalid parameter \"type\": not supported value \"both\"");
    }

    [Test]
    public async Task Alerts_ListsPendingAndFiringAlerts()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/alerts");

        ShouldBeSuccess(status, body, text);
        Keys(body.GetProperty("data")).Should().Equal("alerts");
        var alerts = body.GetProperty("data").GetProperty("alerts").EnumerateArray().ToList();
        alerts.Select(a => a.GetProperty("state").GetString()).Should().BeEquivalentTo("firing", "pending");
        alerts.Should().AllSatisfy(a => Keys(a).Should().Equal("labels", "annotations", "state", "activeAt", "value"));
        var activeAt = DateTimeOffset.Parse(alerts[0].GetProperty("activeAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        activeAt.Should().BeCloseTo(TimeProvider.System.GetUtcNow(), TimeSpan.FromMinutes(10));
    }

    [Test]
    public async Task BuildInfo_HasPrometheusFields()
    {
        var (status, body, text) = await _host.CallAsync("/api/v1/status/buildinfo");

        ShouldBeSuccess(status, body, text);
        var data = body.GetProperty("data");
        Keys(data).Should().Equal("version", "revision", "branch", "buildUser", "buildDate", "goVersion");
        data.GetProperty("version").GetString().Should().NotBeNullOrEmpty();
    }

    [Test]
    public async Task UnsupportedMethod_IsRefused()
    {
        using var response = await _host.Client.PostAsync("/api/v1/rules", new StringContent(string.Empty));

        response.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed);
    }
}
