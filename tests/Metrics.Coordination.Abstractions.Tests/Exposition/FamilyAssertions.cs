using System.Text;
using Metrics.Coordination.Abstractions.Exposition;

namespace Metrics.Coordination.Abstractions.Tests.Exposition;

internal static class FamilyAssertions
{
    /// <summary>Families equal in name, type, help, unit and samples (values compared by bits, exemplars included).</summary>
    public static void ShouldEqual(IReadOnlyList<MetricFamily> actual, IReadOnlyList<MetricFamily> expected, string? because = null)
    {
        Describe(actual).Should().Be(Describe(expected), because);
        actual.Should().HaveSameCount(expected);
        for (var i = 0; i < expected.Count; i++)
        {
            actual[i].Samples.Should().Equal(expected[i].Samples, because);
        }
    }

    /// <summary>A readable dump (with exact value bits) so a failure shows the first difference.</summary>
    public static string Describe(IReadOnlyList<MetricFamily> families)
    {
        var sb = new StringBuilder();
        foreach (var f in families)
        {
            sb.Append("family ").Append(f.Name).Append(' ').Append(f.Type).Append(" help=").Append(f.Help is null ? "<null>" : Quote(f.Help))
                .Append(" unit=").Append(f.Unit ?? "<null>").Append('\n');
            foreach (var s in f.Samples)
            {
                sb.Append("  ").Append(Quote(s.Name)).Append(' ').Append(s.Labels).Append(' ').Append(Bits(s.Value)).Append(" ts=").Append(s.TimestampMs);
                if (s.Exemplar is { } e)
                {
                    sb.Append(" # ").Append(e.Labels).Append(' ').Append(Bits(e.Value)).Append(" ts=").Append(e.TimestampMs);
                }

                sb.Append('\n');
            }
        }

        return sb.ToString();
    }

    private static string Bits(double d) => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "/" + BitConverter.DoubleToInt64Bits(d).ToString("X16", System.Globalization.CultureInfo.InvariantCulture);

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}

internal static class ExpositionSamples
{
    /// <summary>An OpenMetrics exposition with every type, escapes, UTF-8, timestamps and exemplars.</summary>
    public const string OpenMetrics = """
        # TYPE acme_http_router_request_seconds summary
        # UNIT acme_http_router_request_seconds seconds
        # HELP acme_http_router_request_seconds Latency though all of ACME's HTTP request router.
        acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32
        acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0
        acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0
        acme_http_router_request_seconds_sum{path="/api/v2",method="POST"} 479.3
        acme_http_router_request_seconds_count{path="/api/v2",method="POST"} 34.0
        acme_http_router_request_seconds_created{path="/api/v2",method="POST"} 1605281325.0
        # TYPE go_goroutines gauge
        # HELP go_goroutines Number of goroutines that currently exist: "many" \\ \n ünïcödé 🙂.
        go_goroutines{quote="\"",backslash="\\",newline="\n",emoji="🙂"} 69
        # TYPE process_cpu_seconds counter
        # UNIT process_cpu_seconds seconds
        # HELP process_cpu_seconds Total user and system CPU time spent in seconds.
        process_cpu_seconds_total 4.20072246e+06 1605281325.5 # {trace_id="KOO5S4vxi0o"} 0.67 1605281325.25
        process_cpu_seconds_created 1605281325.0
        # TYPE foo histogram
        foo_bucket{le="0.0"} 0
        foo_bucket{le="1e-05"} 0
        foo_bucket{le="0.0001"} 5
        foo_bucket{le="0.1"} 8 # {} 0.054
        foo_bucket{le="1.0"} 10 # {trace_id="KOO5S4vxi0o"} 0.67
        foo_bucket{le="10.0"} 11 # {trace_id="oHg5SJYRHA0"} 9.8 1520879607.789
        foo_bucket{le="100000.0"} 11
        foo_bucket{le="1e+06"} 15
        foo_bucket{le="1e+23"} 16
        foo_bucket{le="1.1e+23"} 17
        foo_bucket{le="+Inf"} 17
        foo_count 17
        foo_sum 324789.3
        foo_created 1520430000.123
        # TYPE q gaugehistogram
        q_bucket{le="0.01"} 20.0
        q_bucket{le="0.1"} 25.0
        q_bucket{le="1"} 34.0
        q_bucket{le="10"} 34.0
        q_bucket{le="+Inf"} 42.0
        q_gcount 42.0
        q_gsum 3289.3
        # TYPE s stateset
        s{entity="controller",s="a"} 1.0
        s{entity="controller",s="bb"} 0.0
        s{entity="replica",s="a"} 1.0
        # TYPE build info
        build_info{name="pretty name",version="8.2.7"} 1
        # TYPE "my.metric" unknown
        {"my.metric","label.x"="v"} 42.23 -1.5
        untyped_without_metadata NaN
        # TYPE empty gauge
        # EOF

        """;
}
