using System.Globalization;
using System.Numerics;
using System.Text;

namespace Metrics.Coordination.Rules.Templating;

/// <summary>
/// Go's <c>strconv.FormatFloat</c> for the formats templates use ('e', 'E', 'f', 'g', 'G'; precision -1 = shortest).
/// Digits come from .NET's exact formatting ("R" for shortest, "E"/"F" for a fixed count); Go rounds an exact tie to
/// even where .NET rounds it away from zero, so ties (detected exactly from the binary representation) are corrected.
/// The layout (when %g switches to an exponent, trimmed zeros, two-digit exponents) follows Go's rules.
/// </summary>
internal static class GoFloat
{
    /// <summary>Formats like <c>strconv.FormatFloat(v, fmt, prec, 64)</c>.</summary>
    public static string Format(double v, char fmt, int prec)
    {
        var sb = new StringBuilder(24);
        Append(sb, v, fmt, prec);
        return sb.ToString();
    }

    /// <summary>Appends like <c>strconv.AppendFloat(dst, v, fmt, prec, 64)</c>.</summary>
    public static void Append(StringBuilder sb, double v, char fmt, int prec)
    {
        if (double.IsNaN(v))
        {
            sb.Append("NaN");
            return;
        }

        if (double.IsInfinity(v))
        {
            sb.Append(v > 0 ? "+Inf" : "-Inf");
            return;
        }

        if (double.IsNegative(v))
        {
            sb.Append('-');
        }

        var a = Math.Abs(v);
        var shortest = prec < 0;
        switch (fmt)
        {
            case 'f':
            case 'F':
                if (shortest)
                {
                    var (d, dp) = Shortest(a);
                    AppendF(sb, d, dp, Math.Max(d.Length - dp, 0));
                }
                else
                {
                    sb.Append(FixedDecimals(a, prec));
                }

                return;
            case 'e':
            case 'E':
            {
                string d;
                int dp;
                if (shortest)
                {
                    (d, dp) = Shortest(a);
                    prec = Math.Max(d.Length - 1, 0);
                }
                else
                {
                    (d, dp) = Significant(a, prec + 1);
                }

                AppendE(sb, d, dp, prec, fmt);
                return;
            }

            case 'g':
            case 'G':
            {
                string d;
                int dp;
                int eprec;
                if (shortest)
                {
                    (d, dp) = Shortest(a);
                    prec = d.Length;
                    eprec = 6;
                }
                else
                {
                    if (prec == 0)
                    {
                        prec = 1;
                    }

                    (d, dp) = Significant(a, prec);
                    eprec = prec;
                    if (eprec > d.Length && d.Length >= dp)
                    {
                        eprec = d.Length;
                    }
                }

                var exp = dp - 1;
                if (exp < -4 || exp >= eprec)
                {
                    if (prec > d.Length)
                    {
                        prec = d.Length;
                    }

                    AppendE(sb, d, dp, prec - 1, fmt == 'g' ? 'e' : 'E');
                    return;
                }

                if (prec > dp)
                {
                    prec = d.Length;
                }

                AppendF(sb, d, dp, Math.Max(prec - dp, 0));
                return;
            }

            case 'x':
            case 'X':
                AppendHex(sb, a, prec, fmt);
                return;
            default:
                sb.Append('%').Append(fmt);
                return;
        }
    }

    /// <summary>Go's %x/%X of a float: <c>0x1.8p+00</c> (hex mantissa with a leading 1, binary exponent).</summary>
    private static void AppendHex(StringBuilder sb, double a, int prec, char fmt)
    {
        var bits = BitConverter.DoubleToInt64Bits(a);
        var exp = (int)((bits >> 52) & 0x7FF);
        var mant = (ulong)bits & 0xF_FFFF_FFFF_FFFFUL;
        if (exp == 0)
        {
            exp++;
        }
        else
        {
            mant |= 1UL << 52;
        }

        exp -= 1023;
        if (mant == 0)
        {
            exp = 0;
        }

        mant <<= 8;
        while (mant != 0 && (mant & (1UL << 60)) == 0)
        {
            mant <<= 1;
            exp--;
        }

        if (prec >= 0 && prec < 15)
        {
            var shift = prec * 4;
            var extra = (mant << shift) & ((1UL << 60) - 1);
            mant >>= 60 - shift;
            if ((extra | (mant & 1)) > 1UL << 59)
            {
                mant++;
            }

            mant <<= 60 - shift;
            if ((mant & (1UL << 61)) != 0)
            {
                mant >>= 1;
                exp++;
            }
        }

        var hex = fmt == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
        sb.Append('0').Append(fmt).Append((char)('0' + (int)((mant >> 60) & 1)));
        mant <<= 4;
        if (prec < 0 && mant != 0)
        {
            sb.Append('.');
            while (mant != 0)
            {
                sb.Append(hex[(int)((mant >> 60) & 15)]);
                mant <<= 4;
            }
        }
        else if (prec > 0)
        {
            sb.Append('.');
            for (var i = 0; i < prec; i++)
            {
                sb.Append(hex[(int)((mant >> 60) & 15)]);
                mant <<= 4;
            }
        }

        sb.Append(fmt == 'X' ? 'P' : 'p');
        if (exp < 0)
        {
            sb.Append('-');
            exp = -exp;
        }
        else
        {
            sb.Append('+');
        }

        sb.Append(exp < 10 ? "0" : string.Empty).Append(exp.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The shortest decimal digits that round-trip (no leading/trailing zeros) and the decimal point position.</summary>
    internal static (string Digits, int DecimalPoint) Shortest(double a)
    {
        if (a == 0)
        {
            return (string.Empty, 0);
        }

        return Parse(a.ToString("R", CultureInfo.InvariantCulture));
    }

    /// <summary><paramref name="n"/> significant digits (n ≥ 1), correctly rounded with ties to even, trailing zeros trimmed.</summary>
    internal static (string Digits, int DecimalPoint) Significant(double a, int n)
    {
        if (a == 0)
        {
            return (string.Empty, 0);
        }

        var (d, dp) = Parse(a.ToString("E" + (n - 1).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));
        // The rounding position is n-1-(dp-1) digits after the decimal point of the value's leading digit.
        var k = n - dp;
        if (IsTie(a, k))
        {
            var (t, tdp) = Parse(a.ToString("E" + n.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture), trim: false);
            // t holds n+1 exact digits ending in 5; dropping it rounds down.
            var truncated = t[..^1].TrimEnd('0');
            var lastDigit = t[^2] - '0';
            if (lastDigit % 2 == 0)
            {
                return (truncated, tdp);
            }
        }

        return (d, dp);
    }

    /// <summary>Go's %.Nf digits (ties to even), without sign.</summary>
    internal static string FixedDecimals(double a, int prec)
    {
        var s = a.ToString("F" + prec.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        if (a != 0 && IsTie(a, prec))
        {
            var t = a.ToString("F" + (prec + 1).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            t = t[..^1];
            if (prec == 0)
            {
                t = t[..^1]; // the '.'
            }

            if ((t[^1] - '0') % 2 == 0)
            {
                return t;
            }
        }

        return s;
    }

    /// <summary>
    /// Whether <paramref name="a"/> × 10^<paramref name="k"/> has a fractional part of exactly one half, i.e. whether
    /// rounding to k decimals is an exact tie. With a = m·2^q that is: m·2^(q+1)·10^k is an odd integer.
    /// </summary>
    internal static bool IsTie(double a, int k)
    {
        var bits = BitConverter.DoubleToInt64Bits(a);
        var expField = (int)((bits >> 52) & 0x7FF);
        var m = (ulong)bits & 0xF_FFFF_FFFF_FFFFUL;
        int q;
        if (expField == 0)
        {
            q = -1074;
        }
        else
        {
            m |= 1UL << 52;
            q = expField - 1075;
        }

        if (m == 0)
        {
            return false;
        }

        var tz = BitOperations.TrailingZeroCount(m);
        if (tz + q + 1 + k != 0)
        {
            return false;
        }

        if (k >= 0)
        {
            return true;
        }

        // Dividing by 10^-k: the odd part of m must be divisible by 5^-k.
        if (-k > 22)
        {
            return false;
        }

        ulong pow5 = 1;
        for (var i = 0; i < -k; i++)
        {
            pow5 *= 5;
        }

        return (m >> tz) % pow5 == 0;
    }

    private static (string Digits, int DecimalPoint) Parse(string s, bool trim = true)
    {
        var e = s.IndexOfAny(['E', 'e']);
        var exp = 0;
        var mantissa = s;
        if (e >= 0)
        {
            exp = int.Parse(s.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            mantissa = s[..e];
        }

        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        string digits;
        int intLen;
        if (dot >= 0)
        {
            digits = string.Concat(mantissa.AsSpan(0, dot), mantissa.AsSpan(dot + 1));
            intLen = dot;
        }
        else
        {
            digits = mantissa;
            intLen = mantissa.Length;
        }

        var dp = intLen + exp;
        var lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0')
        {
            lead++;
        }

        if (lead > 0)
        {
            digits = digits[lead..];
            dp -= lead;
        }

        if (trim)
        {
            digits = digits.TrimEnd('0');
        }

        return (digits, dp);
    }

    private static void AppendE(StringBuilder sb, string d, int dp, int prec, char fmt)
    {
        sb.Append(d.Length == 0 ? '0' : d[0]);
        if (prec > 0)
        {
            sb.Append('.');
            var i = 1;
            var m = Math.Min(d.Length, prec + 1);
            if (i < m)
            {
                sb.Append(d, i, m - i);
                i = m;
            }

            for (; i <= prec; i++)
            {
                sb.Append('0');
            }
        }

        sb.Append(fmt);
        var exp = d.Length == 0 ? 0 : dp - 1;
        if (exp < 0)
        {
            sb.Append('-');
            exp = -exp;
        }
        else
        {
            sb.Append('+');
        }

        if (exp < 10)
        {
            sb.Append('0').Append((char)('0' + exp));
        }
        else
        {
            sb.Append(exp.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static void AppendF(StringBuilder sb, string d, int dp, int prec)
    {
        if (dp > 0)
        {
            var m = Math.Min(d.Length, dp);
            sb.Append(d, 0, m);
            for (; m < dp; m++)
            {
                sb.Append('0');
            }
        }
        else
        {
            sb.Append('0');
        }

        if (prec > 0)
        {
            sb.Append('.');
            for (var i = 1; i <= prec; i++)
            {
                var j = dp + i - 1;
                sb.Append(j >= 0 && j < d.Length ? d[j] : '0');
            }
        }
    }
}
