using System.Globalization;
using System.Text;

namespace Metrics.Coordination.Abstractions.Exposition;

/// <summary>The outcome of parsing a number token.</summary>
internal enum NumberStatus
{
    /// <summary>Parsed.</summary>
    Ok,

    /// <summary>Not a number in the format's grammar.</summary>
    Invalid,

    /// <summary>Well-formed but outside the representable range (a float beyond ±1.8e308, a timestamp beyond ±2^63 ms).</summary>
    OutOfRange,
}

/// <summary>
/// Number syntax shared by Prometheus text 0.0.4 and OpenMetrics 1.0. Floats follow Go's <c>strconv.ParseFloat</c>
/// for decimal input (what Prometheus uses): <c>[+-]</c>digits with optional fraction and <c>e</c>/<c>E</c> exponent,
/// <c>[+-]Inf</c>/<c>[+-]Infinity</c> and <c>NaN</c> in any case. Hexadecimal floats and digit underscores, which Go
/// also accepts, are rejected: no exposer writes them and the OpenMetrics ABNF excludes them.
/// </summary>
internal static class ExpositionNumbers
{
    /// <summary>Parses a sample value, exemplar value or <c>le</c>/<c>quantile</c> label value.</summary>
    public static NumberStatus TryParseFloat(ReadOnlySpan<byte> s, out double value)
    {
        value = 0;
        if (s.IsEmpty)
        {
            return NumberStatus.Invalid;
        }

        var signLength = s[0] is (byte)'+' or (byte)'-' ? 1 : 0;
        var body = s[signLength..];
        if (body.Length is 3 or 8 && (body[0] | 0x20) == 'i')
        {
            if (Ascii.EqualsIgnoreCase(body, "inf"u8) || Ascii.EqualsIgnoreCase(body, "infinity"u8))
            {
                value = s[0] == (byte)'-' ? double.NegativeInfinity : double.PositiveInfinity;
                return NumberStatus.Ok;
            }

            return NumberStatus.Invalid;
        }

        // Go accepts NaN without a sign only.
        if (signLength == 0 && body.Length == 3 && (body[0] | 0x20) == 'n')
        {
            if (Ascii.EqualsIgnoreCase(body, "nan"u8))
            {
                value = double.NaN;
                return NumberStatus.Ok;
            }

            return NumberStatus.Invalid;
        }

        if (!IsDecimal(s, out _))
        {
            return NumberStatus.Invalid;
        }

        // The grammar is checked above, so the BCL parser (correctly rounded) sees only what it parses the same way.
        if (!double.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out value))
        {
            return NumberStatus.Invalid;
        }

        // .NET rounds overflow to infinity; Go and OpenMetrics ("MUST fit within the range of a 64-bit float") reject it.
        return double.IsInfinity(value) ? NumberStatus.OutOfRange : NumberStatus.Ok;
    }

    /// <summary>The UTF-16 variant of <see cref="TryParseFloat(ReadOnlySpan{byte}, out double)"/>, for label values in the object model.</summary>
    public static bool TryParseFloat(ReadOnlySpan<char> s, out double value)
    {
        value = 0;
        if (s.Length is 0 or > 128 || !Ascii.IsValid(s))
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[s.Length];
        for (var i = 0; i < s.Length; i++)
        {
            bytes[i] = (byte)s[i];
        }

        return TryParseFloat(bytes, out value) == NumberStatus.Ok;
    }

    /// <summary>Parses a Prometheus text timestamp: <c>[+-]</c>digits, milliseconds, as Go's <c>strconv.ParseInt</c>.</summary>
    public static NumberStatus TryParseMilliseconds(ReadOnlySpan<byte> s, out long value)
    {
        value = 0;
        var i = s.Length > 0 && s[0] is (byte)'+' or (byte)'-' ? 1 : 0;
        if (i == s.Length)
        {
            return NumberStatus.Invalid;
        }

        var negative = s[0] == (byte)'-';
        ulong magnitude = 0;
        var overflow = false;
        for (; i < s.Length; i++)
        {
            var d = (uint)(s[i] - '0');
            if (d > 9)
            {
                return NumberStatus.Invalid;
            }

            if (magnitude > (ulong.MaxValue - d) / 10)
            {
                overflow = true;
            }
            else
            {
                magnitude = (magnitude * 10) + d;
            }
        }

        if (overflow || magnitude > (negative ? (ulong)long.MaxValue + 1 : long.MaxValue))
        {
            return NumberStatus.OutOfRange;
        }

        value = negative ? (long)(0 - magnitude) : (long)magnitude;
        return NumberStatus.Ok;
    }

    /// <summary>
    /// Parses an OpenMetrics timestamp (decimal seconds, no Inf/NaN) into milliseconds, exactly for decimal input:
    /// sub-millisecond digits are truncated toward zero, as Prometheus's <c>int64(seconds * 1000)</c> does, but without
    /// its binary rounding (1520879607.789 is 1520879607789, not ...788).
    /// </summary>
    public static NumberStatus TryParseSecondsAsMilliseconds(ReadOnlySpan<byte> s, out long milliseconds)
    {
        milliseconds = 0;
        if (!IsDecimal(s, out var hasExponent))
        {
            return NumberStatus.Invalid;
        }

        var negative = s[0] == (byte)'-';
        var i = s[0] is (byte)'+' or (byte)'-' ? 1 : 0;

        // Fast path: plain decimals whose whole seconds fit in 15 digits (every timestamp until year 31 million).
        if (!hasExponent)
        {
            while (i < s.Length - 1 && s[i] == (byte)'0' && s[i + 1] != (byte)'.')
            {
                i++; // leading zeros are explicitly allowed
            }

            var dot = s[i..].IndexOf((byte)'.');
            var whole = dot < 0 ? s[i..] : s.Slice(i, dot);
            if (whole.Length <= 15)
            {
                long ms = 0;
                foreach (var b in whole)
                {
                    ms = (ms * 10) + (b - '0');
                }

                ms *= 1000;
                if (dot >= 0)
                {
                    var fraction = s[(i + dot + 1)..];
                    var scale = 100;
                    for (var k = 0; k < fraction.Length && k < 3; k++)
                    {
                        ms += (fraction[k] - '0') * scale;
                        scale /= 10;
                    }
                }

                milliseconds = negative ? -ms : ms;
                return NumberStatus.Ok;
            }
        }

        if (!decimal.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var seconds))
        {
            return NumberStatus.OutOfRange;
        }

        // |seconds| < 1e16 keeps seconds * 1000 far inside decimal's range; the long check follows.
        if (Math.Abs(seconds) >= 10_000_000_000_000_000m)
        {
            return NumberStatus.OutOfRange;
        }

        var truncated = decimal.Truncate(seconds * 1000m);
        if (truncated < long.MinValue || truncated > long.MaxValue)
        {
            return NumberStatus.OutOfRange;
        }

        milliseconds = (long)truncated;
        return NumberStatus.Ok;
    }

    /// <summary>
    /// Whether <paramref name="s"/> is <c>[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?</c>: the decimal
    /// part of Go's float syntax and the OpenMetrics <c>realnumber</c>.
    /// </summary>
    private static bool IsDecimal(ReadOnlySpan<byte> s, out bool hasExponent)
    {
        hasExponent = false;
        var i = 0;
        if (i < s.Length && s[i] is (byte)'+' or (byte)'-')
        {
            i++;
        }

        var digits = 0;
        while (i < s.Length && char.IsAsciiDigit((char)s[i]))
        {
            i++;
            digits++;
        }

        if (i < s.Length && s[i] == (byte)'.')
        {
            i++;
            while (i < s.Length && char.IsAsciiDigit((char)s[i]))
            {
                i++;
                digits++;
            }
        }

        if (digits == 0)
        {
            return false;
        }

        if (i < s.Length && (s[i] | 0x20) == 'e')
        {
            hasExponent = true;
            i++;
            if (i < s.Length && s[i] is (byte)'+' or (byte)'-')
            {
                i++;
            }

            var exponentDigits = 0;
            while (i < s.Length && char.IsAsciiDigit((char)s[i]))
            {
                i++;
                exponentDigits++;
            }

            if (exponentDigits == 0)
            {
                return false;
            }
        }

        return i == s.Length;
    }
}
