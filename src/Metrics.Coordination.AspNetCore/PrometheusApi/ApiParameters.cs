using System.Globalization;
using System.Text.RegularExpressions;

namespace Metrics.Coordination.AspNetCore.PrometheusApi;

/// <summary>Parses the API's time and duration parameters as Prometheus does (same accepted forms, same messages).</summary>
internal static partial class ApiParameters
{
    /// <summary>Prometheus's earliest time (<c>minTime</c> in its API: what an absent <c>start</c> means), in ms.</summary>
    public const long MinTimeMs = -9_223_309_901_257_974_000;

    /// <summary>Prometheus's latest time (<c>maxTime</c> in its API: what an absent <c>end</c> means), in ms.</summary>
    public const long MaxTimeMs = 9_223_309_901_257_974_999;

    // The largest number of seconds whose milliseconds still fit a long.
    private const double MaxSeconds = 9_223_372_036_854_775d;

    // How Prometheus prints minTime and maxTime; its own UI sends them back, and Go's parser cannot read those years.
    private const string MinTimeFormatted = "-292273086-05-16T16:47:06Z";
    private const string MaxTimeFormatted = "292277025-08-18T07:12:54.999999999Z";

    private const NumberStyles FloatStyle = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent;

    /// <summary>
    /// A timestamp: Unix seconds with optional decimals (rounded to the millisecond) or RFC 3339 with optional
    /// nanoseconds. Returns false for anything else.
    /// </summary>
    public static bool TryParseTime(string text, out long ms)
    {
        ms = 0;
        if (double.TryParse(text, FloatStyle, CultureInfo.InvariantCulture, out var seconds))
        {
            if (!double.IsFinite(seconds) || Math.Abs(seconds) >= MaxSeconds)
            {
                return false;
            }

            // Go's math.Modf then math.Round of the fraction: halves round away from zero.
            var whole = Math.Truncate(seconds);
            ms = ((long)whole * 1000) + (long)Math.Round((seconds - whole) * 1000, MidpointRounding.AwayFromZero);
            return true;
        }

        if (text == MinTimeFormatted)
        {
            ms = MinTimeMs;
            return true;
        }

        if (text == MaxTimeFormatted)
        {
            ms = MaxTimeMs;
            return true;
        }

        var m = Rfc3339().Match(text);
        if (!m.Success)
        {
            return false;
        }

        try
        {
            var offset = TimeSpan.Zero;
            var zone = m.Groups["zone"].Value;
            if (zone is not ("Z" or "z"))
            {
                var hours = int.Parse(zone.AsSpan(1, 2), CultureInfo.InvariantCulture);
                var minutes = int.Parse(zone.AsSpan(4, 2), CultureInfo.InvariantCulture);
                if (hours > 23 || minutes > 59)
                {
                    return false;
                }

                offset = new TimeSpan(hours, minutes, 0);
                if (zone[0] == '-')
                {
                    offset = -offset;
                }
            }

            var time = new DateTimeOffset(
                Int(m, "y"), Int(m, "mo"), Int(m, "d"), Int(m, "h"), Int(m, "mi"), Int(m, "s"), offset);
            ms = time.ToUnixTimeMilliseconds();
            var fraction = m.Groups["f"].Value;
            if (fraction.Length > 0)
            {
                // Nanoseconds truncated to milliseconds, as Prometheus's timestamp.FromTime does.
                ms += int.Parse(fraction.PadRight(9, '0').AsSpan(0, 3), CultureInfo.InvariantCulture);
            }

            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            // Day 31 of a 30-day month, hour 24 and the like.
            return false;
        }
    }

    /// <summary>
    /// A duration: float seconds (<c>15</c>, <c>0.5</c>) or a Prometheus duration (<c>1h30m</c>, <c>500ms</c>), in
    /// ms (float seconds are truncated to the millisecond). Returns an error message, or null on success.
    /// </summary>
    public static string? TryParseDuration(string text, out long ms)
    {
        ms = 0;
        if (double.TryParse(text, FloatStyle, CultureInfo.InvariantCulture, out var seconds))
        {
            // Go's time.Duration is int64 nanoseconds.
            var ns = seconds * 1e9;
            if (!double.IsFinite(ns) || ns > long.MaxValue || ns < long.MinValue)
            {
                return $"cannot parse \"{text}\" to a valid duration. It overflows int64";
            }

            ms = (long)(seconds * 1000);
            return null;
        }

        return TryParsePrometheusDuration(text, out ms) ? null : $"cannot parse \"{text}\" to a valid duration";
    }

    /// <summary>A Prometheus duration: units y, w, d, h, m, s, ms, each at most once, largest first; or <c>0</c>.</summary>
    public static bool TryParsePrometheusDuration(string text, out long ms)
    {
        ms = 0;
        if (text == "0")
        {
            return true;
        }

        var m = PrometheusDuration().Match(text);
        if (text.Length == 0 || !m.Success)
        {
            return false;
        }

        ReadOnlySpan<(string Group, long Ms)> units =
        [
            ("y", 365L * 24 * 3600 * 1000), ("w", 7L * 24 * 3600 * 1000), ("d", 24L * 3600 * 1000),
            ("h", 3600L * 1000), ("m", 60L * 1000), ("s", 1000), ("ms", 1),
        ];
        try
        {
            foreach (var (group, unitMs) in units)
            {
                var g = m.Groups[group];
                if (g.Success)
                {
                    ms = checked(ms + checked(long.Parse(g.Value, CultureInfo.InvariantCulture) * unitMs));
                }
            }
        }
        catch (Exception ex) when (ex is OverflowException)
        {
            return false;
        }

        // Prometheus refuses durations beyond int64 nanoseconds.
        return ms <= long.MaxValue / 1_000_000;
    }

    private static int Int(Match m, string group) => int.Parse(m.Groups[group].ValueSpan, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"\A(?<y>[0-9]{4})-(?<mo>[0-9]{2})-(?<d>[0-9]{2})T(?<h>[0-9]{2}):(?<mi>[0-9]{2}):(?<s>[0-9]{2})(?:\.(?<f>[0-9]{1,9}))?(?<zone>Z|[+-][0-9]{2}:[0-9]{2})\z", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339();

    [GeneratedRegex(@"\A(?:(?<y>[0-9]+)y)?(?:(?<w>[0-9]+)w)?(?:(?<d>[0-9]+)d)?(?:(?<h>[0-9]+)h)?(?:(?<m>[0-9]+)m)?(?:(?<s>[0-9]+)s)?(?:(?<ms>[0-9]+)ms)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex PrometheusDuration();
}
