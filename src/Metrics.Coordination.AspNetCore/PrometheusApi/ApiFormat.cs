using System.Buffers.Text;
using System.Globalization;

namespace Metrics.Coordination.AspNetCore.PrometheusApi;

/// <summary>
/// Numbers and times as Prometheus's API writes them, into UTF-8 spans: sample values as Go's
/// <c>strconv.FormatFloat(v, 'f', -1, 64)</c> (switching to <c>'e'</c> below 1e-6 and from 1e21), alert values as
/// <c>FormatFloat(v, 'e', -1, 64)</c>, timestamps as seconds with up to three decimals, wall times as RFC 3339 with
/// nanosecond precision (Go's <c>time.Time</c> JSON).
/// </summary>
internal static class ApiFormat
{
    /// <summary>
    /// Room for any formatted double: 17 significant digits, a sign, a point, and either an exponent (<c>e-324</c>) or
    /// the zeros of the widest plain form (values from 1e-6 to 1e21: at most 6 leading or 21 integer digits).
    /// </summary>
    public const int MaxFloatBytes = 64;

    /// <summary>Room for a timestamp in seconds: a sign, 16 integer digits, a point and 3 decimals.</summary>
    public const int MaxTimestampBytes = 24;

    /// <summary>Room for an RFC 3339 time with 7 fraction digits (ticks) and <c>Z</c>.</summary>
    public const int MaxRfc3339Bytes = 40;

    /// <summary>Writes a sample value as Prometheus's JSON does (without quotes); returns the byte count.</summary>
    public static int FormatSample(double value, Span<byte> destination)
    {
        if (double.IsNaN(value))
        {
            return Copy("NaN"u8, destination);
        }

        if (double.IsInfinity(value))
        {
            return Copy(value > 0 ? "+Inf"u8 : "-Inf"u8, destination);
        }

        var abs = Math.Abs(value);
        var exponent = abs != 0 && (abs < 1e-6 || abs >= 1e21);
        return Format(value, exponent, destination);
    }

    /// <summary>Writes Go's <c>strconv.FormatFloat(value, 'e', -1, 64)</c>: <c>1e+00</c>, <c>1.5e-07</c>; returns the byte count.</summary>
    public static int FormatExponent(double value, Span<byte> destination)
    {
        if (double.IsNaN(value))
        {
            return Copy("NaN"u8, destination);
        }

        if (double.IsInfinity(value))
        {
            return Copy(value > 0 ? "+Inf"u8 : "-Inf"u8, destination);
        }

        return Format(value, exponent: true, destination);
    }

    /// <summary>
    /// Writes milliseconds as seconds the way Prometheus does (<c>1435781451.781</c>, <c>12.500</c>, <c>7</c>): the
    /// fraction, when not zero, always has three digits. Returns the byte count.
    /// </summary>
    public static int FormatTimestamp(long ms, Span<byte> destination)
    {
        var n = 0;
        if (ms < 0)
        {
            destination[n++] = (byte)'-';
        }

        // Unsigned so that long.MinValue negates without overflow.
        var magnitude = ms < 0 ? (ulong)-(ms + 1) + 1 : (ulong)ms;
        Utf8Formatter.TryFormat(magnitude / 1000, destination[n..], out var written);
        n += written;
        var fraction = (int)(magnitude % 1000);
        if (fraction != 0)
        {
            destination[n++] = (byte)'.';
            destination[n++] = (byte)('0' + (fraction / 100));
            destination[n++] = (byte)('0' + (fraction / 10 % 10));
            destination[n++] = (byte)('0' + (fraction % 10));
        }

        return n;
    }

    /// <summary>
    /// Writes a time as Go's <c>time.Time</c> marshals to JSON (RFC 3339, fraction without trailing zeros, <c>Z</c> for
    /// UTC); null writes Go's zero time, <c>0001-01-01T00:00:00Z</c>, as Prometheus does for a never-evaluated rule.
    /// </summary>
    public static int FormatRfc3339(DateTimeOffset? time, Span<byte> destination)
    {
        var t = time?.UtcDateTime ?? DateTime.MinValue;
        t.TryFormat(destination, out var n, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        var ticks = (int)(t.Ticks % TimeSpan.TicksPerSecond);
        if (ticks != 0)
        {
            destination[n++] = (byte)'.';
            var digits = 7;
            while (ticks % 10 == 0)
            {
                ticks /= 10;
                digits--;
            }

            for (var i = digits - 1; i >= 0; i--)
            {
                destination[n + i] = (byte)('0' + (ticks % 10));
                ticks /= 10;
            }

            n += digits;
        }

        destination[n++] = (byte)'Z';
        return n;
    }

    private static int Copy(ReadOnlySpan<byte> text, Span<byte> destination)
    {
        text.CopyTo(destination);
        return text.Length;
    }

    /// <summary>Shortest round-trip digits of a finite value, laid out as Go's 'f' or 'e' format.</summary>
    private static int Format(double value, bool exponent, Span<byte> destination)
    {
        // .NET's "R" gives the shortest round-trip digits, but switches to its own exponent form at other thresholds
        // than Go; take the digits and the decimal point position from it and lay them out again.
        Span<byte> raw = stackalloc byte[MaxFloatBytes];
        value.TryFormat(raw, out var rawLength, "R", CultureInfo.InvariantCulture);
        raw = raw[..rawLength];
        var negative = raw[0] == (byte)'-';
        Span<byte> digits = stackalloc byte[32];
        var count = 0;
        var integerDigits = -1;
        var i = negative ? 1 : 0;
        for (; i < raw.Length && raw[i] != (byte)'E'; i++)
        {
            if (raw[i] == (byte)'.')
            {
                integerDigits = count;
            }
            else
            {
                digits[count++] = raw[i];
            }
        }

        if (integerDigits < 0)
        {
            integerDigits = count;
        }

        var exp10 = 0;
        if (i < raw.Length)
        {
            Utf8Parser.TryParse(raw[(i + 1)..], out exp10, out _);
        }

        // The decimal point sits after `point` digits (negative: that many zeros come first).
        var point = integerDigits + exp10;
        var start = 0;
        while (start < count - 1 && digits[start] == (byte)'0')
        {
            start++;
            point--;
        }

        digits = digits[start..count];
        count = digits.Length;
        while (count > 1 && digits[count - 1] == (byte)'0')
        {
            count--;
        }

        digits = digits[..count];
        var isZero = count == 1 && digits[0] == (byte)'0';
        if (isZero)
        {
            point = 1;
        }

        var n = 0;
        if (negative)
        {
            destination[n++] = (byte)'-';
        }

        if (exponent)
        {
            destination[n++] = digits[0];
            if (count > 1)
            {
                destination[n++] = (byte)'.';
                digits[1..].CopyTo(destination[n..]);
                n += count - 1;
            }

            var e = isZero ? 0 : point - 1;
            destination[n++] = (byte)'e';
            destination[n++] = e < 0 ? (byte)'-' : (byte)'+';
            e = Math.Abs(e);
            if (e < 10)
            {
                destination[n++] = (byte)'0';
            }

            Utf8Formatter.TryFormat(e, destination[n..], out var written);
            return n + written;
        }

        if (point <= 0)
        {
            destination[n++] = (byte)'0';
            destination[n++] = (byte)'.';
            destination.Slice(n, -point).Fill((byte)'0');
            n += -point;
            digits.CopyTo(destination[n..]);
            return n + count;
        }

        if (point >= count)
        {
            digits.CopyTo(destination[n..]);
            n += count;
            destination.Slice(n, point - count).Fill((byte)'0');
            return n + point - count;
        }

        digits[..point].CopyTo(destination[n..]);
        n += point;
        destination[n++] = (byte)'.';
        digits[point..].CopyTo(destination[n..]);
        return n + count - point;
    }
}
