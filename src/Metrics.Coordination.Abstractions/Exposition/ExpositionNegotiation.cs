namespace Metrics.Coordination.Abstractions.Exposition;

/// <summary>The outcome of content negotiation for a scrape.</summary>
/// <param name="Format">The format to write.</param>
/// <param name="Escaping">How to write names outside the legacy character set.</param>
/// <param name="ContentType">The <c>Content-Type</c> response header value.</param>
public readonly record struct ExpositionContent(ExpositionFormat Format, NameEscaping Escaping, string ContentType);

/// <summary>Chooses format and name escaping from an HTTP <c>Accept</c> header, as Prometheus scrapers expect.</summary>
public static class ExpositionNegotiation
{
    /// <summary>The Prometheus text 0.0.4 content type.</summary>
    public const string PrometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>Prometheus 3's text format 1.0.0: 0.0.4's syntax plus quoted UTF-8 names.</summary>
    public const string PrometheusText1ContentType = "text/plain; version=1.0.0; charset=utf-8";

    /// <summary>The OpenMetrics 1.0 content type.</summary>
    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// <summary>Prometheus text with the default (underscores) escaping: the answer when the client states no preference.</summary>
    public static readonly ExpositionContent Default = new(ExpositionFormat.PrometheusText, NameEscaping.Underscores, PrometheusTextContentType);

    /// <summary>
    /// Picks OpenMetrics when the header accepts <c>application/openmetrics-text</c> with a higher (or equal and earlier)
    /// quality than <c>text/plain</c>, and Prometheus text otherwise. The <c>escaping</c> parameter of the chosen media
    /// range (<c>allow-utf-8</c>, <c>underscores</c>, <c>dots</c>, <c>values</c>) selects name escaping; absent or
    /// unknown means underscores, which every scraper reads.
    /// </summary>
    public static ExpositionContent Negotiate(string? accept)
    {
        if (string.IsNullOrWhiteSpace(accept))
        {
            return Default;
        }

        var bestFormat = ExpositionFormat.PrometheusText;
        var bestQuality = -1.0;
        var bestEscaping = NameEscaping.Underscores;
        var bestHadEscaping = false;
        var bestText1 = false;
        foreach (var rangeRaw in accept.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = rangeRaw.Split(';', StringSplitOptions.TrimEntries);
            var mediaType = parts[0].ToLowerInvariant();
            ExpositionFormat? format = mediaType switch
            {
                "application/openmetrics-text" => ExpositionFormat.OpenMetrics,
                "text/plain" or "text/*" or "*/*" => ExpositionFormat.PrometheusText,
                _ => null,
            };
            if (format is null)
            {
                continue;
            }

            var quality = 1.0;
            var escaping = NameEscaping.Underscores;
            var hadEscaping = false;
            var versionOk = true;
            var text1 = false;
            for (var i = 1; i < parts.Length; i++)
            {
                var eq = parts[i].IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    continue;
                }

                var key = parts[i][..eq].Trim().ToLowerInvariant();
                var value = parts[i][(eq + 1)..].Trim().Trim('"');
                switch (key)
                {
                    case "q":
                        if (!double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out quality))
                        {
                            quality = 0;
                        }

                        break;
                    case "escaping":
                        hadEscaping = true;
                        escaping = value.ToLowerInvariant() switch
                        {
                            "allow-utf-8" => NameEscaping.AllowUtf8,
                            "dots" => NameEscaping.Dots,
                            "values" => NameEscaping.Values,
                            _ => NameEscaping.Underscores,
                        };
                        break;
                    case "version":
                        // OpenMetrics 0.0.1 and 1.0.0 share the text syntax we write. text/plain 1.0.0 is Prometheus 3's
                        // 0.0.4 plus quoted UTF-8 names, which the writer produces under allow-utf-8 escaping.
                        versionOk = format == ExpositionFormat.OpenMetrics
                            ? value is "1.0.0" or "0.0.1"
                            : value is "0.0.4" or "1.0.0";
                        text1 = format == ExpositionFormat.PrometheusText && value == "1.0.0";
                        break;
                }
            }

            if (!versionOk || quality <= 0)
            {
                continue;
            }

            if (quality > bestQuality)
            {
                bestQuality = quality;
                bestFormat = format.Value;
                bestEscaping = escaping;
                bestHadEscaping = hadEscaping;
                bestText1 = text1;
            }
        }

        if (bestQuality < 0)
        {
            return Default;
        }

        var contentType = bestFormat == ExpositionFormat.OpenMetrics ? OpenMetricsContentType
            : bestText1 ? PrometheusText1ContentType : PrometheusTextContentType;
        if (bestHadEscaping)
        {
            contentType += "; escaping=" + EscapingName(bestEscaping);
        }

        return new ExpositionContent(bestFormat, bestEscaping, contentType);
    }

    /// <summary>
    /// Whether an <c>Accept-Encoding</c> value admits gzip: <c>gzip</c> (or <c>x-gzip</c>) named with q &gt; 0, or
    /// <c>*</c> with q &gt; 0 and gzip not refused. Several header lines may be passed joined with commas.
    /// </summary>
    public static bool AcceptsGzip(string? acceptEncoding)
    {
        if (string.IsNullOrEmpty(acceptEncoding))
        {
            return false;
        }

        bool? gzip = null;
        var star = false;
        foreach (var item in acceptEncoding.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = item.Split(';', StringSplitOptions.TrimEntries);
            var quality = 1.0;
            for (var i = 1; i < parts.Length; i++)
            {
                if (parts[i].StartsWith("q=", StringComparison.OrdinalIgnoreCase)
                    && !double.TryParse(parts[i].AsSpan(2), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out quality))
                {
                    quality = 0;
                }
            }

            if (parts[0].Equals("gzip", StringComparison.OrdinalIgnoreCase) || parts[0].Equals("x-gzip", StringComparison.OrdinalIgnoreCase))
            {
                gzip = quality > 0;
            }
            else if (parts[0] == "*")
            {
                star = quality > 0;
            }
        }

        return gzip ?? star;
    }

    /// <summary>The Accept-header spelling of an escaping scheme.</summary>
    public static string EscapingName(NameEscaping escaping) => escaping switch
    {
        NameEscaping.AllowUtf8 => "allow-utf-8",
        NameEscaping.Dots => "dots",
        NameEscaping.Values => "values",
        _ => "underscores",
    };
}
