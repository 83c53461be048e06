using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Metrics.Coordination.Abstractions.Exposition;

/// <summary>
/// Writes Prometheus text 0.0.4 or OpenMetrics 1.0 into an <see cref="IBufferWriter{T}"/>, with exact escaping and
/// shortest round-trip float formatting. Two levels: <see cref="WriteFamily(MetricFamily)"/> for the object model,
/// and <see cref="WriteSample(ReadOnlySpan{byte}, ReadOnlySpan{byte}, ReadOnlySpan{byte}, double, long?, Exemplar?)"/>
/// over pre-encoded names and label pairs (see <see cref="EncodeName"/> and the EncodeLabelPairs overloads), which the
/// registry caches per series so a scrape copies bytes and formats one number per line.
/// </summary>
public sealed class ExpositionWriter
{
    // Room for the fixed parts of a sample line besides name and labels: braces, comma, space, a 24-byte value,
    // a 24-byte timestamp and newline, with margin. Exemplars and long label sets are measured separately.
    private const int LineOverhead = 96;

    private readonly IBufferWriter<byte> _output;

    /// <summary>Creates a writer.</summary>
    public ExpositionWriter(IBufferWriter<byte> output, ExpositionFormat format, NameEscaping escaping = NameEscaping.Underscores)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        Format = format;
        Escaping = escaping;
    }

    /// <summary>The format being written.</summary>
    public ExpositionFormat Format { get; }

    /// <summary>How non-legacy names are written.</summary>
    public NameEscaping Escaping { get; }

    /// <summary>
    /// Encodes a metric or label name for <paramref name="escaping"/>: escaped to the legacy character set, or for
    /// <see cref="NameEscaping.AllowUtf8"/> quoted (<c>"my.metric"</c>) when it is not legacy-valid.
    /// </summary>
    public static byte[] EncodeName(string name, NameEscaping escaping, bool isMetricName = true)
    {
        var valid = isMetricName ? MetricNames.IsValidLegacyMetricName(name) : MetricNames.IsValidLegacyLabelName(name);
        if (valid)
        {
            return Encoding.UTF8.GetBytes(name);
        }

        if (escaping != NameEscaping.AllowUtf8)
        {
            return Encoding.UTF8.GetBytes(MetricNames.Escape(name, escaping, isMetricName));
        }

        var buffer = new ArrayBufferWriter<byte>(name.Length + 8);
        WriteQuoted(buffer, name);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes label pairs as <c>a="x",b="y"</c> (no braces), names escaped for <paramref name="escaping"/>, values escaped.</summary>
    public static byte[] EncodeLabelPairs(ReadOnlySpan<string> names, ReadOnlySpan<string> values, NameEscaping escaping)
    {
        if (names.Length != values.Length)
        {
            throw new ArgumentException("Label names and values differ in count.", nameof(values));
        }

        var buffer = new ArrayBufferWriter<byte>(16 * names.Length + 8);
        for (var i = 0; i < names.Length; i++)
        {
            if (i > 0)
            {
                buffer.Write(","u8);
            }

            buffer.Write(EncodeName(names[i], escaping, isMetricName: false));
            buffer.Write("="u8);
            WriteQuoted(buffer, values[i]);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Encodes label pairs from a label set (without <c>__name__</c>).</summary>
    public static byte[] EncodeLabelPairs(Labels labels, NameEscaping escaping)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var names = new List<string>(labels.Count);
        var values = new List<string>(labels.Count);
        foreach (var l in labels)
        {
            if (l.Name != Labels.MetricName)
            {
                names.Add(l.Name);
                values.Add(l.Value);
            }
        }

        return EncodeLabelPairs(names.ToArray(), values.ToArray(), escaping);
    }

    /// <summary>
    /// Encodes the <c>le</c> or <c>quantile</c> pair for a bound: Go-style shortest float in Prometheus text
    /// (<c>le="0.5"</c>, <c>le="1"</c>), canonical OpenMetrics float with <c>.0</c> on integers (<c>le="1.0"</c>), <c>+Inf</c>.
    /// </summary>
    public static byte[] EncodeBoundPair(string labelName, double bound, ExpositionFormat format)
    {
        var buffer = new ArrayBufferWriter<byte>(32);
        buffer.Write(Encoding.UTF8.GetBytes(labelName));
        buffer.Write("=\""u8);
        var span = buffer.GetSpan(40);
        var n = FormatDouble(bound, span);
        if (format == ExpositionFormat.OpenMetrics && double.IsFinite(bound) && span[..n].IndexOfAny("."u8[0], (byte)'e') < 0)
        {
            ".0"u8.CopyTo(span[n..]);
            n += 2;
        }

        buffer.Advance(n);
        buffer.Write("\""u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes <c># HELP</c>, <c># TYPE</c> and (OpenMetrics, when given) <c># UNIT</c> for a family.</summary>
    /// <param name="familyName">The family name as OpenMetrics defines it (counters without <c>_total</c>).</param>
    /// <param name="type">The type.</param>
    /// <param name="help">Help text, or null to omit the line.</param>
    /// <param name="unit">Unit, or null.</param>
    public void WriteMetadata(string familyName, MetricType type, string? help, string? unit = null)
    {
        ArgumentNullException.ThrowIfNull(familyName);
        WriteMetadata(EncodeName(MetadataName(familyName, type, Format), Escaping), type, help, unit);
    }

    /// <summary>
    /// The name a family's metadata lines carry. Prometheus text names a family like its samples, so counters get
    /// <c>_total</c> and info families (written as gauges) <c>_info</c>. OpenMetrics names the family without those
    /// suffixes, so a Prometheus-style <c>foo_total</c> counter (or <c>foo_info</c> info) is declared as <c>foo</c>,
    /// as client_golang does; otherwise its <c>foo_total</c> samples would not belong to the family.
    /// </summary>
    private static string MetadataName(string familyName, MetricType type, ExpositionFormat format)
    {
        var suffix = type switch
        {
            MetricType.Counter => "_total",
            MetricType.Info => "_info",
            _ => null,
        };
        if (suffix is null)
        {
            return familyName;
        }

        var hasSuffix = familyName.Length > suffix.Length && familyName.EndsWith(suffix, StringComparison.Ordinal);
        if (format == ExpositionFormat.PrometheusText)
        {
            return hasSuffix ? familyName : familyName + suffix;
        }

        return hasSuffix ? familyName[..^suffix.Length] : familyName;
    }

    /// <summary>Writes metadata lines for a pre-encoded family name (see <see cref="EncodeName"/>).</summary>
    public void WriteMetadata(ReadOnlySpan<byte> encodedFamilyName, MetricType type, string? help, string? unit = null)
    {
        if (help is not null)
        {
            Write("# HELP "u8);
            Write(encodedFamilyName);
            Write(" "u8);
            WriteEscapedHelp(help);
            Write("\n"u8);
        }

        Write("# TYPE "u8);
        Write(encodedFamilyName);
        Write(" "u8);
        Write(TypeName(type));
        Write("\n"u8);
        if (unit is { Length: > 0 } && Format == ExpositionFormat.OpenMetrics)
        {
            Write("# UNIT "u8);
            Write(encodedFamilyName);
            Write(" "u8);
            Write(Encoding.UTF8.GetBytes(unit));
            Write("\n"u8);
        }
    }

    /// <summary>
    /// Writes one sample line: <c>name{pairs,extra} value [timestamp] [# exemplar]</c>.
    /// </summary>
    /// <param name="encodedName">The sample name from <see cref="EncodeName"/> (quoted for UTF-8 names).</param>
    /// <param name="encodedLabelPairs">Pairs from <see cref="EncodeLabelPairs(ReadOnlySpan{string}, ReadOnlySpan{string}, NameEscaping)"/>, or empty.</param>
    /// <param name="extraPair">One more pre-encoded pair such as <c>le="0.5"</c> (see <see cref="EncodeBoundPair"/>), or empty.</param>
    /// <param name="value">The value.</param>
    /// <param name="timestampMs">Milliseconds since the epoch, or null.</param>
    /// <param name="exemplar">An exemplar (written in OpenMetrics only), or null.</param>
    public void WriteSample(ReadOnlySpan<byte> encodedName, ReadOnlySpan<byte> encodedLabelPairs, ReadOnlySpan<byte> extraPair, double value, long? timestampMs = null, Exemplar? exemplar = null)
    {
        var span = _output.GetSpan(encodedName.Length + encodedLabelPairs.Length + extraPair.Length + LineOverhead);
        var pos = WriteSeriesName(span, encodedName, encodedLabelPairs, extraPair);
        span[pos++] = (byte)' ';
        pos += FormatDouble(value, span[pos..]);
        if (timestampMs is { } ts)
        {
            span[pos++] = (byte)' ';
            pos += FormatTimestamp(ts, span[pos..]);
        }

        if (exemplar is not null && Format == ExpositionFormat.OpenMetrics)
        {
            _output.Advance(pos);
            WriteExemplar(exemplar);
            span = _output.GetSpan(1);
            pos = 0;
        }

        span[pos++] = (byte)'\n';
        _output.Advance(pos);
    }

    /// <summary>
    /// Writes a sample whose value is a Unix time in milliseconds, as exact decimal seconds (<c>_created</c> lines):
    /// <c>1700000000.123</c>, with no float rounding and no float formatting cost.
    /// </summary>
    public void WriteUnixSecondsSample(ReadOnlySpan<byte> encodedName, ReadOnlySpan<byte> encodedLabelPairs, long unixMilliseconds)
    {
        var span = _output.GetSpan(encodedName.Length + encodedLabelPairs.Length + LineOverhead);
        var pos = WriteSeriesName(span, encodedName, encodedLabelPairs, default);
        span[pos++] = (byte)' ';
        pos += FormatMillisecondsAsSeconds(unixMilliseconds, span[pos..]);
        span[pos++] = (byte)'\n';
        _output.Advance(pos);
    }

    private static int WriteSeriesName(Span<byte> span, ReadOnlySpan<byte> encodedName, ReadOnlySpan<byte> encodedLabelPairs, ReadOnlySpan<byte> extraPair)
    {
        var pos = 0;
        var quotedName = encodedName.Length > 0 && encodedName[0] == (byte)'"';
        if (quotedName)
        {
            span[pos++] = (byte)'{';
            encodedName.CopyTo(span[pos..]);
            pos += encodedName.Length;
            if (encodedLabelPairs.Length > 0 || extraPair.Length > 0)
            {
                span[pos++] = (byte)',';
            }
        }
        else
        {
            encodedName.CopyTo(span);
            pos = encodedName.Length;
            if (encodedLabelPairs.Length > 0 || extraPair.Length > 0)
            {
                span[pos++] = (byte)'{';
            }
        }

        if (encodedLabelPairs.Length > 0)
        {
            encodedLabelPairs.CopyTo(span[pos..]);
            pos += encodedLabelPairs.Length;
            if (extraPair.Length > 0)
            {
                span[pos++] = (byte)',';
            }
        }

        if (extraPair.Length > 0)
        {
            extraPair.CopyTo(span[pos..]);
            pos += extraPair.Length;
        }

        if (quotedName || encodedLabelPairs.Length > 0 || extraPair.Length > 0)
        {
            span[pos++] = (byte)'}';
        }

        return pos;
    }

    /// <summary>Writes pre-encoded bytes as they are, such as metadata lines cached from an earlier scrape.</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes) => Write(bytes);

    /// <summary>Writes <c># EOF</c> (OpenMetrics only; a no-op for Prometheus text).</summary>
    public void WriteEof()
    {
        if (Format == ExpositionFormat.OpenMetrics)
        {
            Write("# EOF\n"u8);
        }
    }

    /// <summary>
    /// Writes a whole family from the object model. Sample names are written as given; for Prometheus text a counter's
    /// <c>_created</c> samples are skipped (that format has no such line; Prometheus 2 would ingest them as a separate series).
    /// </summary>
    public void WriteFamily(MetricFamily family)
    {
        ArgumentNullException.ThrowIfNull(family);
        WriteMetadata(family.Name, family.Type, family.Help, family.Unit);
        foreach (var s in family.Samples)
        {
            if (Format == ExpositionFormat.PrometheusText && s.Name.EndsWith("_created", StringComparison.Ordinal) &&
                family.Type is MetricType.Counter or MetricType.Histogram or MetricType.Summary)
            {
                continue;
            }

            var labels = s.Labels;
            ReadOnlySpan<byte> extra = default;
            var boundName = family.Type switch
            {
                MetricType.Histogram or MetricType.GaugeHistogram => "le",
                MetricType.Summary => "quantile",
                _ => null,
            };
            // The exposition float syntax, so "+Inf" (which double.TryParse rejects) is recognised and written last too.
            if (boundName is not null && labels.Has(boundName) &&
                ExpositionNumbers.TryParseFloat(labels.Get(boundName), out var bound))
            {
                extra = EncodeBoundPair(boundName, bound, Format);
                labels = labels.Without(boundName);
            }

            WriteSample(EncodeName(s.Name, Escaping), EncodeLabelPairs(labels, Escaping), extra, s.Value, s.TimestampMs, s.Exemplar);
        }
    }

    /// <summary>The type keyword for a family type in the writer's format.</summary>
    public ReadOnlySpan<byte> TypeName(MetricType type) => (Format, type) switch
    {
        (_, MetricType.Counter) => "counter"u8,
        (_, MetricType.Gauge) => "gauge"u8,
        (_, MetricType.Histogram) => "histogram"u8,
        (_, MetricType.Summary) => "summary"u8,
        (ExpositionFormat.OpenMetrics, MetricType.Info) => "info"u8,
        (ExpositionFormat.OpenMetrics, MetricType.StateSet) => "stateset"u8,
        (ExpositionFormat.OpenMetrics, MetricType.GaugeHistogram) => "gaugehistogram"u8,
        (ExpositionFormat.OpenMetrics, _) => "unknown"u8,

        // Prometheus text has no info/stateset/gaugehistogram: they are gauges (and a histogram) there.
        (_, MetricType.Info) => "gauge"u8,
        (_, MetricType.StateSet) => "gauge"u8,
        (_, MetricType.GaugeHistogram) => "histogram"u8,
        _ => "untyped"u8,
    };

    /// <summary>
    /// Formats a double the way Prometheus reads it back exactly: shortest round-trip digits, <c>+Inf</c>, <c>-Inf</c>,
    /// <c>NaN</c>, lower-case <c>e</c>. Integers below 1e15 take an integer fast path; everything else is .NET's shortest
    /// round-trip form, which keeps plain digits below 1e17 and from 1e-4 (<c>1000000000000000</c>, <c>0.0001</c>) and
    /// uses an exponent beyond (<c>1e+17</c>, <c>1e-05</c>). Returns the bytes written (at most 32).
    /// </summary>
    public static int FormatDouble(double value, Span<byte> destination)
    {
        if (double.IsNaN(value))
        {
            "NaN"u8.CopyTo(destination);
            return 3;
        }

        if (double.IsInfinity(value))
        {
            (value > 0 ? "+Inf"u8 : "-Inf"u8).CopyTo(destination);
            return 4;
        }

        // Integral values in long range format as integers: the common counter case, and cheaper than the double path.
        if (value == Math.Floor(value) && Math.Abs(value) < 1e15 && !(value == 0 && double.IsNegative(value)))
        {
            Utf8Formatter.TryFormat((long)value, destination, out var written);
            return written;
        }

        value.TryFormat(destination, out var n, "R", CultureInfo.InvariantCulture);
        for (var i = 0; i < n; i++)
        {
            if (destination[i] == (byte)'E')
            {
                destination[i] = (byte)'e';
                break;
            }
        }

        return n;
    }

    private int FormatTimestamp(long ms, Span<byte> destination)
    {
        if (Format == ExpositionFormat.PrometheusText)
        {
            Utf8Formatter.TryFormat(ms, destination, out var written);
            return written;
        }

        return FormatMillisecondsAsSeconds(ms, destination);
    }

    /// <summary>Formats milliseconds as exact decimal seconds (<c>-0.5</c>, <c>12</c>, <c>1700000000.123</c>).</summary>
    private static int FormatMillisecondsAsSeconds(long ms, Span<byte> destination)
    {
        // OpenMetrics timestamps are seconds; write exact milliseconds as a decimal fraction, sign first so
        // -500 ms is -0.5 (not -1 + 0.5), trailing zeros trimmed.
        var pos = 0;
        ulong magnitude;
        if (ms < 0)
        {
            destination[pos++] = (byte)'-';
            magnitude = (ulong)(-(ms + 1)) + 1;
        }
        else
        {
            magnitude = (ulong)ms;
        }

        var seconds = magnitude / 1000;
        var rem = (int)(magnitude % 1000);
        Utf8Formatter.TryFormat(seconds, destination[pos..], out var n);
        pos += n;
        if (rem != 0)
        {
            destination[pos++] = (byte)'.';
            destination[pos++] = (byte)('0' + (rem / 100));
            if (rem % 100 != 0)
            {
                destination[pos++] = (byte)('0' + (rem / 10 % 10));
                if (rem % 10 != 0)
                {
                    destination[pos++] = (byte)('0' + (rem % 10));
                }
            }
        }

        return pos;
    }

    private void WriteExemplar(Exemplar exemplar)
    {
        Write(" # {"u8);
        var first = true;
        foreach (var l in exemplar.Labels)
        {
            if (!first)
            {
                Write(","u8);
            }

            first = false;
            Write(EncodeName(l.Name, Escaping, isMetricName: false));
            Write("="u8);
            WriteQuoted(_output, l.Value);
        }

        Write("} "u8);
        var span = _output.GetSpan(64);
        var pos = FormatDouble(exemplar.Value, span);
        if (exemplar.TimestampMs is { } ts)
        {
            span[pos++] = (byte)' ';
            pos += FormatTimestamp(ts, span[pos..]);
        }

        _output.Advance(pos);
    }

    private void WriteEscapedHelp(string help)
    {
        // Prometheus text escapes backslash and newline in HELP; OpenMetrics also escapes the double quote.
        var escapeQuote = Format == ExpositionFormat.OpenMetrics;
        var bytes = Encoding.UTF8.GetBytes(help);
        var start = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            ReadOnlySpan<byte> esc = b switch
            {
                (byte)'\\' => "\\\\"u8,
                (byte)'\n' => "\\n"u8,
                (byte)'"' when escapeQuote => "\\\""u8,
                _ => default,
            };
            if (esc.Length > 0)
            {
                Write(bytes.AsSpan(start, i - start));
                Write(esc);
                start = i + 1;
            }
        }

        Write(bytes.AsSpan(start));
    }

    /// <summary>Writes <paramref name="value"/> in double quotes, escaping backslash, double quote and newline.</summary>
    internal static void WriteQuoted(IBufferWriter<byte> output, string value)
    {
        var max = Encoding.UTF8.GetMaxByteCount(value.Length) * 2 + 2;
        var span = output.GetSpan(max);
        var pos = 0;
        span[pos++] = (byte)'"';
        var rest = value.AsSpan();
        while (rest.Length > 0)
        {
            var i = rest.IndexOfAny('\\', '"', '\n');
            var chunk = i < 0 ? rest : rest[..i];
            pos += Encoding.UTF8.GetBytes(chunk, span[pos..]);
            if (i < 0)
            {
                break;
            }

            span[pos++] = (byte)'\\';
            span[pos++] = rest[i] == '\n' ? (byte)'n' : (byte)rest[i];
            rest = rest[(i + 1)..];
        }

        span[pos++] = (byte)'"';
        output.Advance(pos);
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        var span = _output.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        _output.Advance(bytes.Length);
    }
}
