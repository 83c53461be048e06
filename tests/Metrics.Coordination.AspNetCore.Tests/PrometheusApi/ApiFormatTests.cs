using System.Text;
using Metrics.Coordination.AspNetCore.PrometheusApi;

namespace Metrics.Coordination.AspNetCore.Tests.PrometheusApi;

/// <summary>Numbers, times and parameters as Prometheus's API writes and reads them (expected values are Go's output).</summary>
public class ApiFormatTests
{
    [TestCase(0.0, "0")]
    [TestCase(-0.0, "-0")]
    [TestCase(1.0, "1")]
    [TestCase(-0.25, "-0.25")]
    [TestCase(1200.0, "1200")]
    [TestCase(0.1, "0.1")]
    [TestCase(1.0 / 3, "0.3333333333333333")]
    [TestCase(1e-6, "0.000001")]
    [TestCase(1.5e-7, "1.5e-07")]
    [TestCase(1e15, "1000000000000000")]
    [TestCase(123456789012345680000.0, "123456789012345680000")]
    [TestCase(1e21, "1e+21")]
    [TestCase(2.5e22, "2.5e+22")]
    [TestCase(-1.7976931348623157e308, "-1.7976931348623157e+308")]
    [TestCase(5e-324, "5e-324")]
    [TestCase(double.PositiveInfinity, "+Inf")]
    [TestCase(double.NegativeInfinity, "-Inf")]
    [TestCase(double.NaN, "NaN")]
    public void FormatSample_Value_WritesGosShortestForm(double value, string expected)
    {
        Span<byte> buffer = stackalloc byte[ApiFormat.MaxFloatBytes];
        var n = ApiFormat.FormatSample(value, buffer);

        Encoding.ASCII.GetString(buffer[..n]).Should().Be(expected);
    }

    [TestCase(1.0, "1e+00")]
    [TestCase(0.0, "0e+00")]
    [TestCase(150.0, "1.5e+02")]
    [TestCase(-0.00123, "-1.23e-03")]
    [TestCase(1e100, "1e+100")]
    [TestCase(double.NaN, "NaN")]
    [TestCase(double.PositiveInfinity, "+Inf")]
    public void FormatExponent_Value_WritesGosEForm(double value, string expected)
    {
        Span<byte> buffer = stackalloc byte[ApiFormat.MaxFloatBytes];
        var n = ApiFormat.FormatExponent(value, buffer);

        Encoding.ASCII.GetString(buffer[..n]).Should().Be(expected);
    }

    [TestCase(1_435_781_451_781L, "1435781451.781")]
    [TestCase(12_500L, "12.500")]
    [TestCase(7_000L, "7")]
    [TestCase(7_005L, "7.005")]
    [TestCase(0L, "0")]
    [TestCase(-1_500L, "-1.500")]
    [TestCase(long.MinValue, "-9223372036854775.808")]
    public void FormatTimestamp_Milliseconds_WritesSecondsWithThreeDecimals(long ms, string expected)
    {
        Span<byte> buffer = stackalloc byte[ApiFormat.MaxTimestampBytes];
        var n = ApiFormat.FormatTimestamp(ms, buffer);

        Encoding.ASCII.GetString(buffer[..n]).Should().Be(expected);
    }

    [Test]
    public void FormatRfc3339_Times_WriteAsGoMarshalsTime()
    {
        static string Format(DateTimeOffset? t)
        {
            Span<byte> buffer = stackalloc byte[ApiFormat.MaxRfc3339Bytes];
            return Encoding.ASCII.GetString(buffer[..ApiFormat.FormatRfc3339(t, buffer)]);
        }

        Format(null).Should().Be("0001-01-01T00:00:00Z");
        Format(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000)).Should().Be("2023-11-14T22:13:20Z");
        Format(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_120)).Should().Be("2023-11-14T22:13:20.12Z");
        Format(new DateTimeOffset(2018, 7, 4, 20, 27, 12, TimeSpan.FromHours(2)).AddTicks(6_060_214)).Should().Be("2018-07-04T18:27:12.6060214Z");
    }

    [TestCase("1700000000", 1_700_000_000_000L)]
    [TestCase("1700000000.5", 1_700_000_000_500L)]
    [TestCase("0.0005", 1L)]
    [TestCase("-1.5", -1_500L)]
    [TestCase("1e3", 1_000_000L)]
    [TestCase("2023-11-14T22:13:20Z", 1_700_000_000_000L)]
    [TestCase("2023-11-14T22:13:20.123456789Z", 1_700_000_000_123L)]
    [TestCase("2023-11-15T00:13:20.5+02:00", 1_700_000_000_500L)]
    [TestCase("2023-11-14T20:13:20-02:00", 1_700_000_000_000L)]
    [TestCase("-292273086-05-16T16:47:06Z", ApiParameters.MinTimeMs)]
    [TestCase("292277025-08-18T07:12:54.999999999Z", ApiParameters.MaxTimeMs)]
    public void TryParseTime_PrometheusForms_AreAccepted(string text, long expectedMs)
    {
        ApiParameters.TryParseTime(text, out var ms).Should().BeTrue();
        ms.Should().Be(expectedMs);
    }

    [TestCase("")]
    [TestCase("now")]
    [TestCase(" 1700000000")]
    [TestCase("2023-11-14 22:13:20Z")]
    [TestCase("2023-11-14T22:13:20")]
    [TestCase("2023-02-30T00:00:00Z")]
    [TestCase("NaN")]
    [TestCase("1e30")]
    public void TryParseTime_Other_IsRefused(string text) => ApiParameters.TryParseTime(text, out _).Should().BeFalse();

    [TestCase("15", 15_000L)]
    [TestCase("0.5", 500L)]
    [TestCase("15s", 15_000L)]
    [TestCase("1m30s", 90_000L)]
    [TestCase("1h", 3_600_000L)]
    [TestCase("2d", 172_800_000L)]
    [TestCase("1w", 604_800_000L)]
    [TestCase("1y", 31_536_000_000L)]
    [TestCase("100ms", 100L)]
    [TestCase("0", 0L)]
    public void TryParseDuration_DurationOrFloatSeconds_IsAccepted(string text, long expectedMs)
    {
        ApiParameters.TryParseDuration(text, out var ms).Should().BeNull();
        ms.Should().Be(expectedMs);
    }

    [TestCase("", "cannot parse \"\" to a valid duration")]
    [TestCase("5 minutes", "cannot parse \"5 minutes\" to a valid duration")]
    [TestCase("1s1m", "cannot parse \"1s1m\" to a valid duration")]
    [TestCase("-1s", "cannot parse \"-1s\" to a valid duration")]
    [TestCase("1e30", "cannot parse \"1e30\" to a valid duration. It overflows int64")]
    public void TryParseDuration_Other_IsRefusedWithPrometheusMessage(string text, string message) =>
        ApiParameters.TryParseDuration(text, out _).Should().Be(message);
}
