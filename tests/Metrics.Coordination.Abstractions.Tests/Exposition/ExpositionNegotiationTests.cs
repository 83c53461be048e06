using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Abstractions.Tests.Exposition;

[TestFixture]
public sealed class ExpositionNegotiationTests
{
    [Test]
    public void Negotiate_Prometheus2Header_ChoosesOpenMetricsWithUnderscores()
    {
        // What Prometheus 2.42 sends by default.
        var result = ExpositionNegotiation.Negotiate(
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");

        result.Should().Be(new ExpositionContent(ExpositionFormat.OpenMetrics, NameEscaping.Underscores, "application/openmetrics-text; version=1.0.0; charset=utf-8"));
    }

    [Test]
    public void Negotiate_Prometheus3Header_ChoosesOpenMetricsWithUtf8Names()
    {
        // What Prometheus 3 sends with its default scrape_protocols (weights descend from 0.5).
        var result = ExpositionNegotiation.Negotiate(
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4," +
            "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1");

        result.Format.Should().Be(ExpositionFormat.OpenMetrics);
        result.Escaping.Should().Be(NameEscaping.AllowUtf8);
        result.ContentType.Should().Be("application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8");
    }

    [Test]
    public void Negotiate_Prometheus3TextOnlyHeader_ChoosesText1WithUtf8Names()
    {
        // text/plain;version=1.0.0 is 0.0.4 plus quoted UTF-8 names: Prometheus 3 prefers it over 0.0.4.
        var result = ExpositionNegotiation.Negotiate("text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1");

        result.Should().Be(new ExpositionContent(ExpositionFormat.PrometheusText, NameEscaping.AllowUtf8, "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8"));
    }

    [Test]
    public void Negotiate_Text004WithAllowUtf8_HonoursTheExplicitRequest()
    {
        // Not something Prometheus sends, but a client that names allow-utf-8 gets quoted names, as client_golang does.
        var result = ExpositionNegotiation.Negotiate("text/plain;version=0.0.4;escaping=allow-utf-8");

        result.Should().Be(new ExpositionContent(ExpositionFormat.PrometheusText, NameEscaping.AllowUtf8, "text/plain; version=0.0.4; charset=utf-8; escaping=allow-utf-8"));
    }

    [TestCase("application/openmetrics-text;version=1.0.0;escaping=dots", NameEscaping.Dots)]
    [TestCase("application/openmetrics-text;version=1.0.0;escaping=values", NameEscaping.Values)]
    [TestCase("application/openmetrics-text;version=1.0.0;escaping=underscores", NameEscaping.Underscores)]
    [TestCase("application/openmetrics-text;version=1.0.0;escaping=bogus", NameEscaping.Underscores)]
    [TestCase("Application/OpenMetrics-Text; Version=1.0.0; Escaping=\"allow-utf-8\"", NameEscaping.AllowUtf8)]
    public void Negotiate_EscapingParameter_SelectsScheme(string accept, NameEscaping expected)
    {
        var result = ExpositionNegotiation.Negotiate(accept);

        result.Format.Should().Be(ExpositionFormat.OpenMetrics);
        result.Escaping.Should().Be(expected);
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("   ")]
    [TestCase("application/json")]
    [TestCase("*/*")]
    [TestCase("text/plain")]
    [TestCase("text/plain;version=0.0.4")]
    [TestCase("application/openmetrics-text;q=0,text/plain;q=0.1")]
    [TestCase("application/openmetrics-text;version=2.0.0")]
    public void Negotiate_NoUsableOpenMetricsPreference_ChoosesPrometheusText(string? accept)
    {
        var result = ExpositionNegotiation.Negotiate(accept);

        result.Format.Should().Be(ExpositionFormat.PrometheusText);
        result.ContentType.Should().Be(ExpositionNegotiation.PrometheusTextContentType);
    }

    [Test]
    public void Negotiate_TextPreferredOverOpenMetrics_ChoosesText()
    {
        ExpositionNegotiation.Negotiate("application/openmetrics-text;q=0.2,text/plain;version=0.0.4;q=0.9").Format.Should().Be(ExpositionFormat.PrometheusText);
    }

    [TestCase(NameEscaping.AllowUtf8, "allow-utf-8")]
    [TestCase(NameEscaping.Underscores, "underscores")]
    [TestCase(NameEscaping.Dots, "dots")]
    [TestCase(NameEscaping.Values, "values")]
    public void EscapingName_Scheme_IsAcceptHeaderSpelling(NameEscaping escaping, string expected)
    {
        ExpositionNegotiation.EscapingName(escaping).Should().Be(expected);
    }
}
