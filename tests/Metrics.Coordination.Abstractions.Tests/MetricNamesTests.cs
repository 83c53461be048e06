namespace Metrics.Coordination.Abstractions.Tests;

[TestFixture]
public sealed class MetricNamesTests
{
    // Expected values follow prometheus/common model.EscapeName for names that are not legacy-valid.
    [TestCase("my.metric_name", NameEscaping.Underscores, "my_metric_name")]
    [TestCase("my.metric_name", NameEscaping.Dots, "my_dot_metric__name")]
    [TestCase("my.metric_name", NameEscaping.Values, "U__my_2e_metric__name")]
    [TestCase("my.metric_name", NameEscaping.AllowUtf8, "my.metric_name")]
    [TestCase("🙂", NameEscaping.Underscores, "_")]
    [TestCase("🙂", NameEscaping.Dots, "__")]
    [TestCase("🙂", NameEscaping.Values, "U___1f642_")]
    [TestCase("🙂", NameEscaping.AllowUtf8, "🙂")]
    [TestCase("1abc", NameEscaping.Underscores, "_abc")]
    [TestCase("1abc", NameEscaping.Values, "U___31_abc")]
    [TestCase("http.requests-é", NameEscaping.Values, "U__http_2e_requests_2d__e9_")]
    [TestCase("a b", NameEscaping.Dots, "a__b")]
    public void Escape_NonLegacyMetricName_FollowsScheme(string name, NameEscaping escaping, string expected)
    {
        MetricNames.Escape(name, escaping).Should().Be(expected);
    }

    [TestCase(NameEscaping.Underscores)]
    [TestCase(NameEscaping.Dots)]
    [TestCase(NameEscaping.Values)]
    [TestCase(NameEscaping.AllowUtf8)]
    public void Escape_LegacyValidName_IsUnchangedByEveryScheme(NameEscaping escaping)
    {
        // As Prometheus's exposition encoders do (they escape only names that need it).
        MetricNames.Escape("http_requests_total:rate5m", escaping).Should().Be("http_requests_total:rate5m");
    }

    [Test]
    public void Escape_ColonInLabelName_IsEscapedButAllowedInMetricName()
    {
        MetricNames.Escape("a:b", NameEscaping.Underscores, isMetricName: false).Should().Be("a_b");
        MetricNames.Escape("a:b", NameEscaping.Underscores).Should().Be("a:b");
    }

    [TestCase("up", true, true)]
    [TestCase("_x:y", true, false)]
    [TestCase(":x", true, false)]
    [TestCase("x1", true, true)]
    [TestCase("1x", false, false)]
    [TestCase("a.b", false, false)]
    [TestCase("", false, false)]
    [TestCase("é", false, false)]
    public void IsValidLegacyName_Grammar_MatchesPrometheus(string name, bool metric, bool label)
    {
        MetricNames.IsValidLegacyMetricName(name).Should().Be(metric);
        MetricNames.IsValidLegacyLabelName(name).Should().Be(label);
    }

    [Test]
    public void IsValidUtf8Name_UnpairedSurrogate_IsInvalid()
    {
        MetricNames.IsValidUtf8Name("my.metric 🙂").Should().BeTrue();
        MetricNames.IsValidUtf8Name(string.Empty).Should().BeFalse();
        MetricNames.IsValidUtf8Name("a\uD800").Should().BeFalse();
        MetricNames.IsValidUtf8Name("\uDC00a").Should().BeFalse();
    }
}
