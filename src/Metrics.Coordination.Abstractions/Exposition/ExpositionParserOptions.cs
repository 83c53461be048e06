namespace Metrics.Coordination.Abstractions.Exposition;

/// <summary>
/// Limits that the exposition parser enforces, so one hostile or broken target cannot make a scraper allocate without
/// bound. Exceeding a limit fails the whole exposition with an <see cref="ExpositionParseException"/> that names the
/// limit and its value (OpenMetrics: partial or invalid expositions are erroneous in their entirety).
/// Every limit must be at least 1; <see cref="int.MaxValue"/> effectively disables one.
/// </summary>
public sealed class ExpositionParserOptions
{
    /// <summary>
    /// 1 MiB. The parser copies a line only when it straddles two buffer segments or needs unescaping, so a generous
    /// limit costs nothing for ordinary input; it bounds the reader's scratch buffers (about 2 MiB in the worst case)
    /// and stops a body without newlines early. Real lines are far shorter: a kube-state-metrics line carrying a pod's
    /// 50 labels is about 5 KiB, while a 64 KiB limit would already reject an annotation-sized label value.
    /// </summary>
    public const int DefaultMaxLineLength = 1024 * 1024;

    /// <summary>
    /// 10,000,000 sample lines: about 1 GB of text at 100 bytes a line, and several times the largest real scrapes
    /// (federation and kube-state-metrics endpoints of big clusters expose 1 to 2 million series). Anything beyond
    /// that is a runaway exposer. Prometheus's own <c>sample_limit</c> defaults to unlimited; set this lower per target.
    /// </summary>
    public const int DefaultMaxSamples = 10_000_000;

    /// <summary>
    /// 128 labels on one sample (the metric name not counted, <c>le</c>/<c>quantile</c> counted): four times Mimir's
    /// default of 30 label names per series, and far above anything a sane exposer writes.
    /// </summary>
    public const int DefaultMaxLabelsPerSample = 128;

    /// <summary>1 KiB (UTF-8 bytes, after unescaping): Mimir's default <c>max_label_name_length</c>. Names are identifiers.</summary>
    public const int DefaultMaxLabelNameLength = 1024;

    /// <summary>
    /// 64 KiB (UTF-8 bytes, after unescaping). Label values sometimes carry long text (SQL, paths, annotations), and
    /// rejecting a whole scrape for one long value is harsh, so this is well above Mimir's 2 KiB per-series limit.
    /// </summary>
    public const int DefaultMaxLabelValueLength = 64 * 1024;

    /// <summary>The defaults.</summary>
    public static ExpositionParserOptions Default { get; } = new();

    /// <summary>Maximum length of one line in UTF-8 bytes, newline excluded. Default <see cref="DefaultMaxLineLength"/>.</summary>
    public int MaxLineLength { get; init; } = DefaultMaxLineLength;

    /// <summary>Maximum number of sample lines in one exposition. Default <see cref="DefaultMaxSamples"/>.</summary>
    public int MaxSamples { get; init; } = DefaultMaxSamples;

    /// <summary>
    /// Maximum number of labels on one sample, and separately on one exemplar; the metric name is not counted.
    /// Default <see cref="DefaultMaxLabelsPerSample"/>.
    /// </summary>
    public int MaxLabelsPerSample { get; init; } = DefaultMaxLabelsPerSample;

    /// <summary>Maximum length of a label name in UTF-8 bytes after unescaping. Default <see cref="DefaultMaxLabelNameLength"/>.</summary>
    public int MaxLabelNameLength { get; init; } = DefaultMaxLabelNameLength;

    /// <summary>Maximum length of a label value in UTF-8 bytes after unescaping. Default <see cref="DefaultMaxLabelValueLength"/>.</summary>
    public int MaxLabelValueLength { get; init; } = DefaultMaxLabelValueLength;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a limit is below 1.</summary>
    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLineLength, 1, nameof(MaxLineLength));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSamples, 1, nameof(MaxSamples));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLabelsPerSample, 1, nameof(MaxLabelsPerSample));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLabelNameLength, 1, nameof(MaxLabelNameLength));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLabelValueLength, 1, nameof(MaxLabelValueLength));
    }
}
