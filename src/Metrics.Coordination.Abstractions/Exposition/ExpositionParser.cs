using System.Buffers;
using System.Text;

namespace Metrics.Coordination.Abstractions.Exposition;

/// <summary>
/// Parses whole Prometheus text 0.0.4 or OpenMetrics 1.0 expositions into <see cref="MetricFamily"/> objects, with the
/// validation of <see cref="ExpositionReader"/>. For scrape paths that should not build objects, use the reader.
/// </summary>
/// <remarks>
/// Grouping: metadata lines start a family; a sample joins the open family when its name is the family name plus a
/// suffix the family's type owns (OpenMetrics: <c>_total</c>/<c>_created</c> for counters; <c>_bucket</c>,
/// <c>_count</c>, <c>_sum</c>, <c>_created</c> for histograms; <c>_bucket</c>, <c>_gcount</c>, <c>_gsum</c> for gauge
/// histograms; none, <c>_count</c>, <c>_sum</c>, <c>_created</c> for summaries; <c>_info</c> for info; none for the
/// rest. Prometheus text has no <c>_created</c>, <c>_total</c> or <c>_info</c> suffixes: a counter's samples carry
/// its full name). Any other sample starts an untyped family named after it. Sample names keep their suffix; labels
/// exclude <c>__name__</c>; OpenMetrics timestamps (seconds) become milliseconds. An empty OpenMetrics HELP or UNIT
/// reads as absent (null), as the specification says.
/// </remarks>
public static class ExpositionParser
{
    /// <summary>Parses an exposition held in a possibly multi-segment buffer.</summary>
    /// <exception cref="ExpositionParseException">The input is malformed or exceeds a limit of <paramref name="options"/>.</exception>
    public static IReadOnlyList<MetricFamily> Parse(ReadOnlySequence<byte> input, ExpositionFormat format, ExpositionParserOptions? options = null)
    {
        var reader = new ExpositionReader(input, format, options);
        try
        {
            return Build(ref reader);
        }
        finally
        {
            reader.Dispose();
        }
    }

    /// <summary>Parses an exposition held in contiguous UTF-8 bytes.</summary>
    /// <exception cref="ExpositionParseException">The input is malformed or exceeds a limit of <paramref name="options"/>.</exception>
    public static IReadOnlyList<MetricFamily> Parse(ReadOnlySpan<byte> input, ExpositionFormat format, ExpositionParserOptions? options = null)
    {
        var reader = new ExpositionReader(input, format, options);
        try
        {
            return Build(ref reader);
        }
        finally
        {
            reader.Dispose();
        }
    }

    /// <summary>Parses an exposition held in a string (encoded to UTF-8 first; an unpaired surrogate is a parse error).</summary>
    /// <exception cref="ExpositionParseException">The input is malformed or exceeds a limit of <paramref name="options"/>.</exception>
    public static IReadOnlyList<MetricFamily> Parse(string input, ExpositionFormat format, ExpositionParserOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ThrowOnUnpairedSurrogate(input);
        var length = Encoding.UTF8.GetByteCount(input);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            var written = Encoding.UTF8.GetBytes(input, buffer);
            return Parse(buffer.AsSpan(0, written), format, options);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The format of a response from its <c>Content-Type</c>: OpenMetrics for <c>application/openmetrics-text</c>
    /// (any version or parameters, case-insensitive), Prometheus text otherwise (including a missing header, which is
    /// what Prometheus assumes).
    /// </summary>
    public static ExpositionFormat DetectFormat(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return ExpositionFormat.PrometheusText;
        }

        var span = contentType.AsSpan();
        var semicolon = span.IndexOf(';');
        var mediaType = (semicolon < 0 ? span : span[..semicolon]).Trim();
        return mediaType.Equals("application/openmetrics-text", StringComparison.OrdinalIgnoreCase)
            ? ExpositionFormat.OpenMetrics
            : ExpositionFormat.PrometheusText;
    }

    private static List<MetricFamily> Build(ref ExpositionReader reader)
    {
        var families = new List<MetricFamily>();
        var cache = new Utf8StringCache();
        var openMetrics = reader.Format == ExpositionFormat.OpenMetrics;
        var index = -1;
        string name = string.Empty;
        var type = MetricType.Unknown;
        string? help = null;
        string? unit = null;
        MetricFamily? family = null;
        while (reader.Read())
        {
            var kind = reader.Kind;
            if (kind is ExpositionEntryKind.Comment or ExpositionEntryKind.Eof)
            {
                continue;
            }

            if (reader.FamilyIndex != index)
            {
                if (index >= 0 && family is null)
                {
                    families.Add(new MetricFamily(name, type, help, unit));
                }

                index = reader.FamilyIndex;
                name = reader.FamilyName;
                type = MetricType.Unknown;
                help = null;
                unit = null;
                family = null;
            }

            switch (kind)
            {
                case ExpositionEntryKind.Type:
                    type = reader.Type;
                    break;
                case ExpositionEntryKind.Help:
                    help = reader.TextUtf8.IsEmpty && openMetrics ? null : reader.GetText();
                    break;
                case ExpositionEntryKind.Unit:
                    unit = reader.TextUtf8.IsEmpty ? null : reader.GetText();
                    break;
                case ExpositionEntryKind.Sample:
                    if (family is null)
                    {
                        // Metadata precedes samples (the reader enforces it), so the family is complete here.
                        family = new MetricFamily(name, type, help, unit);
                        families.Add(family);
                    }

                    family.Samples.Add(new MetricSample(
                        reader.GetMetricName(cache),
                        reader.GetLabels(cache),
                        reader.Value,
                        reader.TimestampMs,
                        reader.GetExemplar(cache)));
                    break;
            }
        }

        if (index >= 0 && family is null)
        {
            families.Add(new MetricFamily(name, type, help, unit));
        }

        return families;
    }

    private static void ThrowOnUnpairedSurrogate(string input)
    {
        var first = input.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (first < 0)
        {
            return;
        }

        for (var i = first; i < input.Length; i++)
        {
            var c = input[i];
            if (char.IsHighSurrogate(c) && i + 1 < input.Length && char.IsLowSurrogate(input[i + 1]))
            {
                i++;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                var lineStart = i == 0 ? 0 : input.LastIndexOf('\n', i - 1) + 1;
                var line = 1 + input.AsSpan(0, lineStart).Count('\n');
                var column = 1 + Encoding.UTF8.GetByteCount(input.AsSpan(lineStart, i - lineStart));
                throw new ExpositionParseException(line, column, "unpaired UTF-16 surrogate: the text cannot be encoded as UTF-8");
            }
        }
    }
}
