using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Metrics.Coordination.Abstractions.Exposition;

/// <summary>What the current line of an <see cref="ExpositionReader"/> holds.</summary>
public enum ExpositionEntryKind
{
    /// <summary>No entry: before the first <see cref="ExpositionReader.Read"/> or after the end.</summary>
    None = 0,

    /// <summary><c># HELP name text</c>: <see cref="ExpositionReader.MetricNameUtf8"/> and <see cref="ExpositionReader.TextUtf8"/> (unescaped).</summary>
    Help,

    /// <summary><c># TYPE name type</c>: <see cref="ExpositionReader.MetricNameUtf8"/> and <see cref="ExpositionReader.Type"/>.</summary>
    Type,

    /// <summary>OpenMetrics <c># UNIT name unit</c>: <see cref="ExpositionReader.MetricNameUtf8"/> and <see cref="ExpositionReader.TextUtf8"/>.</summary>
    Unit,

    /// <summary>A sample line: name, labels, value, optional timestamp and (OpenMetrics) exemplar.</summary>
    Sample,

    /// <summary>A Prometheus text comment (any other <c>#</c> line); <see cref="ExpositionReader.TextUtf8"/> is the text after <c>#</c>.</summary>
    Comment,

    /// <summary>OpenMetrics <c># EOF</c>.</summary>
    Eof,
}

/// <summary>
/// A streaming, validating reader of Prometheus text 0.0.4 and OpenMetrics 1.0 exposition text, one entry per line,
/// in place over the input: names, label names and values are handed out as UTF-8 spans into the input (or into a
/// reused scratch buffer when a line straddles buffer segments or contains escapes), and nothing is allocated per line
/// unless the caller asks for strings or <see cref="Labels"/>. Spans stay valid until the next <see cref="Read"/>.
/// <para>
/// Besides syntax, the reader enforces the structural rules of the formats as it goes: metric families are
/// contiguous and never repeat, metadata precedes a family's samples and is not duplicated, sample names carry the
/// suffixes their family type allows, histogram buckets are sorted by <c>le</c>, cumulative, end with
/// <c>le="+Inf"</c> and agree with <c>_count</c>, quantiles lie in [0, 1], and in OpenMetrics counters are neither
/// NaN nor negative, exemplars sit only on <c>_total</c> and <c>_bucket</c> samples and the text ends with
/// <c># EOF</c>. Any violation throws <see cref="ExpositionParseException"/>; nothing else is thrown for bad input.
/// </para>
/// <para>Dispose the reader to return its pooled buffers.</para>
/// </summary>
public ref partial struct ExpositionReader
{
    // Label slots rented up front: typical samples carry under 10 labels, so 16 rarely grows; growth doubles up to
    // MaxLabelsPerSample (plus the exemplar's).
    private const int InitialLabelSlots = 16;

    // Smallest scratch or line-copy buffer: a typical line is 50 to 200 bytes, and the pool rounds small requests up
    // anyway, so one rent usually serves the whole scrape.
    private const int MinimumBufferSize = 256;

    private readonly bool _fromSequence;
    private readonly bool _openMetrics;
    private readonly int _maxLineLength;
    private readonly int _maxSamples;
    private readonly int _maxLabels;
    private readonly int _maxLabelNameLength;
    private readonly int _maxLabelValueLength;

    private ReadOnlySpan<byte> _remaining;
    private SequenceReader<byte> _sequenceReader;
    private bool _lastLineTerminated;

    private ReadOnlySpan<byte> _line;
    private int _lineNumber;
    private byte[]? _lineCopy;
    private byte[]? _scratch;
    private int _scratchLength;

    private ExpositionEntryKind _kind;
    private Slice _name;
    private int _namePos;
    private Slice _text;
    private int _textPos;
    private MetricType _declaredType;
    private LabelSlot[]? _labels;
    private int[]? _order;
    private int _labelCount;
    private int _exemplarLabelCount;
    private double _value;
    private int _valuePos;
    private long _timestamp;
    private bool _hasTimestamp;
    private bool _hasExemplar;
    private double _exemplarValue;
    private long _exemplarTimestamp;
    private bool _hasExemplarTimestamp;
    private int _exemplarPos;
    private int _exemplarBracePos;
    private int _sampleCount;
    private bool _sawEof;
    private bool _finished;

    private Dictionary<byte[], FamilyRecord>? _families;
    private FamilyRecord? _family;
    private int _familyIndex;

    // The series (MetricPoint) being checked in a histogram or summary family: its label set without le/quantile,
    // encoded as length-prefixed name/value pairs sorted by name.
    private byte[]? _pointKey;
    private int _pointKeyLength;
    private byte[]? _keyScratch;
    private bool _pointActive;
    private PointState _point;

    /// <summary>Creates a reader over a possibly multi-segment buffer (a pipe's read result, say); lines may span segments.</summary>
    /// <param name="input">The exposition text, UTF-8.</param>
    /// <param name="format">The format to read, from <see cref="ExpositionParser.DetectFormat"/> on the content type.</param>
    /// <param name="options">Limits, or null for <see cref="ExpositionParserOptions.Default"/>.</param>
    public ExpositionReader(ReadOnlySequence<byte> input, ExpositionFormat format, ExpositionParserOptions? options = null)
        : this(format, options)
    {
        _fromSequence = true;
        _sequenceReader = new SequenceReader<byte>(input);
    }

    /// <summary>Creates a reader over contiguous UTF-8 text.</summary>
    /// <param name="input">The exposition text, UTF-8.</param>
    /// <param name="format">The format to read.</param>
    /// <param name="options">Limits, or null for <see cref="ExpositionParserOptions.Default"/>.</param>
    public ExpositionReader(ReadOnlySpan<byte> input, ExpositionFormat format, ExpositionParserOptions? options = null)
        : this(format, options)
    {
        _remaining = input;
    }

    private ExpositionReader(ExpositionFormat format, ExpositionParserOptions? options)
    {
        if (format is not (ExpositionFormat.PrometheusText or ExpositionFormat.OpenMetrics))
        {
            throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown exposition format.");
        }

        options ??= ExpositionParserOptions.Default;
        options.Validate();
        _openMetrics = format == ExpositionFormat.OpenMetrics;
        _maxLineLength = options.MaxLineLength;
        _maxSamples = options.MaxSamples;
        _maxLabels = options.MaxLabelsPerSample;
        _maxLabelNameLength = options.MaxLabelNameLength;
        _maxLabelValueLength = options.MaxLabelValueLength;
        _familyIndex = -1;
    }

    /// <summary>The format being read.</summary>
    public readonly ExpositionFormat Format => _openMetrics ? ExpositionFormat.OpenMetrics : ExpositionFormat.PrometheusText;

    /// <summary>What the current entry is.</summary>
    public readonly ExpositionEntryKind Kind => _kind;

    /// <summary>The 1-based line number of the current entry.</summary>
    public readonly int LineNumber => _lineNumber;

    /// <summary>The number of sample lines read so far, the current one included.</summary>
    public readonly int SampleCount => _sampleCount;

    /// <summary>
    /// The metric name, unescaped UTF-8: for <see cref="ExpositionEntryKind.Sample"/> the full sample name with its
    /// suffix (<c>foo_bucket</c>), for metadata the family name. Empty for other entries.
    /// </summary>
    public readonly ReadOnlySpan<byte> MetricNameUtf8 => Resolve(_name);

    /// <summary>The declared type of a <see cref="ExpositionEntryKind.Type"/> entry (<c>untyped</c> reads as <see cref="MetricType.Unknown"/>).</summary>
    public readonly MetricType Type => _declaredType;

    /// <summary>
    /// The 0-based ordinal of the metric family the current entry belongs to; it increases by one whenever a family
    /// starts (by metadata, or by a sample that fits no open family), so callers group by it.
    /// </summary>
    public readonly int FamilyIndex => _familyIndex;

    /// <summary>The name of the current entry's family, unescaped UTF-8 (a sample's name without suffix, or the whole name for untyped samples).</summary>
    public readonly ReadOnlySpan<byte> FamilyNameUtf8 => _family is null ? default : _family.Name;

    /// <summary>The name of the current entry's family as a string (allocated once per family).</summary>
    public readonly string FamilyName => _family is null ? string.Empty : _family.NameString ??= Encoding.UTF8.GetString(_family.Name);

    /// <summary>The type of the current entry's family so far: <see cref="MetricType.Unknown"/> until a TYPE line says otherwise.</summary>
    public readonly MetricType FamilyType => _family?.Type ?? MetricType.Unknown;

    /// <summary>The unescaped text of a HELP entry, the unit of a UNIT entry, or the text after <c>#</c> of a comment.</summary>
    public readonly ReadOnlySpan<byte> TextUtf8 => Resolve(_text);

    /// <summary>The number of labels on the current sample, the metric name not included.</summary>
    public readonly int LabelCount => _labelCount;

    /// <summary>The sample's value (OpenMetrics and Prometheus spellings of Inf and NaN included).</summary>
    public readonly double Value => _value;

    /// <summary>The sample's timestamp in milliseconds since the epoch (OpenMetrics seconds converted exactly), or null.</summary>
    public readonly long? TimestampMs => _hasTimestamp ? _timestamp : null;

    /// <summary>Whether the current sample carries an OpenMetrics exemplar.</summary>
    public readonly bool HasExemplar => _hasExemplar;

    /// <summary>The number of labels on the exemplar.</summary>
    public readonly int ExemplarLabelCount => _exemplarLabelCount;

    /// <summary>The exemplar's value.</summary>
    public readonly double ExemplarValue => _exemplarValue;

    /// <summary>The exemplar's timestamp in milliseconds, or null.</summary>
    public readonly long? ExemplarTimestampMs => _hasExemplarTimestamp ? _exemplarTimestamp : null;

    /// <summary>The metric name as a string.</summary>
    public readonly string GetMetricName() => Encoding.UTF8.GetString(MetricNameUtf8);

    /// <summary>The HELP text, unit or comment as a string.</summary>
    public readonly string GetText() => Encoding.UTF8.GetString(TextUtf8);

    /// <summary>The name of sample label <paramref name="index"/>, in the order written, unescaped.</summary>
    public readonly ReadOnlySpan<byte> GetLabelNameUtf8(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_labelCount, nameof(index));
        return Resolve(_labels![index].Name);
    }

    /// <summary>The value of sample label <paramref name="index"/>, in the order written, unescaped.</summary>
    public readonly ReadOnlySpan<byte> GetLabelValueUtf8(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_labelCount, nameof(index));
        return Resolve(_labels![index].Value);
    }

    /// <summary>The name of exemplar label <paramref name="index"/>, unescaped.</summary>
    public readonly ReadOnlySpan<byte> GetExemplarLabelNameUtf8(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_exemplarLabelCount, nameof(index));
        return Resolve(_labels![_labelCount + index].Name);
    }

    /// <summary>The value of exemplar label <paramref name="index"/>, unescaped.</summary>
    public readonly ReadOnlySpan<byte> GetExemplarLabelValueUtf8(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_exemplarLabelCount, nameof(index));
        return Resolve(_labels![_labelCount + index].Value);
    }

    /// <summary>Materialises the sample's labels (without <c>__name__</c>), sorted by name.</summary>
    public readonly Labels GetLabels() => BuildLabels(0, _labelCount, null);

    /// <summary>Materialises the exemplar, or returns null when the sample has none.</summary>
    public readonly Exemplar? GetExemplar() => GetExemplar(null);

    /// <summary>
    /// Moves to the next entry. Returns false at the end of the input (after checking that an OpenMetrics exposition
    /// ended with <c># EOF</c> and that the last family is complete). Blank Prometheus text lines are skipped.
    /// </summary>
    /// <exception cref="ExpositionParseException">The input is malformed or exceeds a limit.</exception>
    public bool Read()
    {
        while (true)
        {
            _kind = ExpositionEntryKind.None;
            if (_finished)
            {
                return false;
            }

            if (!NextLine())
            {
                _finished = true;
                ResetEntry();
                EndFamily();
                if (_openMetrics && !_sawEof)
                {
                    var (line, column) = _lastLineTerminated || _lineNumber == 0 ? (_lineNumber + 1, 1) : (_lineNumber, _line.Length + 1);
                    throw new ExpositionParseException(line, column, "unexpected end of input: an OpenMetrics exposition must end with '# EOF'");
                }

                return false;
            }

            ResetEntry();
            if (_sawEof)
            {
                _finished = true;
                throw Error(0, "unexpected content after '# EOF': an OpenMetrics exposition ends there");
            }

            if (!Utf8.IsValid(_line))
            {
                ThrowInvalidUtf8();
            }

            if (_openMetrics ? ReadOpenMetricsLine() : ReadPrometheusLine())
            {
                return true;
            }
        }
    }

    /// <summary>Returns pooled buffers. Spans handed out before are invalid afterwards.</summary>
    public void Dispose()
    {
        Return(ref _lineCopy);
        Return(ref _scratch);
        Return(ref _keyScratch);
        Return(ref _pointKey);
        if (_labels is not null)
        {
            ArrayPool<LabelSlot>.Shared.Return(_labels);
            _labels = null;
        }

        if (_order is not null)
        {
            ArrayPool<int>.Shared.Return(_order);
            _order = null;
        }

        _line = default;
        _finished = true;
    }

    /// <summary>Materialises the sample's labels, sharing strings through <paramref name="cache"/>.</summary>
    internal readonly Labels GetLabels(Utf8StringCache? cache) => BuildLabels(0, _labelCount, cache);

    /// <summary>Materialises the exemplar, sharing strings through <paramref name="cache"/>.</summary>
    internal readonly Exemplar? GetExemplar(Utf8StringCache? cache) => _hasExemplar
        ? new Exemplar(BuildLabels(_labelCount, _exemplarLabelCount, cache), _exemplarValue, ExemplarTimestampMs)
        : null;

    /// <summary>The metric name through <paramref name="cache"/>.</summary>
    internal readonly string GetMetricName(Utf8StringCache cache) => cache.Get(MetricNameUtf8);

    private static void Return(ref byte[]? array)
    {
        if (array is not null)
        {
            ArrayPool<byte>.Shared.Return(array);
            array = null;
        }
    }

    private readonly Labels BuildLabels(int start, int count, Utf8StringCache? cache)
    {
        if (count == 0)
        {
            return Labels.Empty;
        }

        var labels = new Label[count];
        var sorted = true;
        for (var i = 0; i < count; i++)
        {
            ref readonly var slot = ref _labels![_order![start + i]];
            var name = Resolve(slot.Name);
            var value = Resolve(slot.Value);
            labels[i] = new Label(
                cache is null ? Encoding.UTF8.GetString(name) : cache.Get(name),
                cache is null ? Encoding.UTF8.GetString(value) : cache.Get(value));
            if (i > 0 && string.CompareOrdinal(labels[i - 1].Name, labels[i].Name) > 0)
            {
                sorted = false;
            }
        }

        // The order array is sorted by UTF-8 bytes (code point order); UTF-16 ordinal order differs only for names
        // mixing supplementary characters with U+E000..U+FFFF, so this sort rarely runs.
        if (!sorted)
        {
            Array.Sort(labels, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        }

        return Labels.FromSortedUnchecked(labels);
    }

    private bool NextLine()
    {
        ReadOnlySpan<byte> line;
        if (_fromSequence)
        {
            if (_sequenceReader.End)
            {
                return false;
            }

            if (_sequenceReader.TryReadTo(out ReadOnlySequence<byte> sequence, (byte)'\n', advancePastDelimiter: true))
            {
                _lastLineTerminated = true;
            }
            else
            {
                sequence = _sequenceReader.UnreadSequence;
                _sequenceReader.AdvanceToEnd();
                _lastLineTerminated = false;
            }

            _lineNumber++;
            if (sequence.Length > _maxLineLength)
            {
                throw LineTooLong();
            }

            if (sequence.IsSingleSegment)
            {
                line = sequence.FirstSpan;
            }
            else
            {
                var length = (int)sequence.Length;
                EnsureCapacity(ref _lineCopy, length, 0);
                sequence.CopyTo(_lineCopy);
                line = _lineCopy.AsSpan(0, length);
            }
        }
        else
        {
            if (_remaining.IsEmpty)
            {
                return false;
            }

            var newline = _remaining.IndexOf((byte)'\n');
            if (newline < 0)
            {
                line = _remaining;
                _remaining = default;
                _lastLineTerminated = false;
            }
            else
            {
                line = _remaining[..newline];
                _remaining = _remaining[(newline + 1)..];
                _lastLineTerminated = true;
            }

            _lineNumber++;
            if (line.Length > _maxLineLength)
            {
                throw LineTooLong();
            }
        }

        _line = line;
        return true;
    }

    private readonly ExpositionParseException LineTooLong() => new(
        _lineNumber,
        _maxLineLength + 1,
        $"line is longer than the limit of {_maxLineLength} bytes (ExpositionParserOptions.MaxLineLength)");

    private void ResetEntry()
    {
        _kind = ExpositionEntryKind.None;
        _name = default;
        _namePos = 0;
        _text = default;
        _textPos = 0;
        _declaredType = MetricType.Unknown;
        _labelCount = 0;
        _exemplarLabelCount = 0;
        _scratchLength = 0;
        _value = 0;
        _valuePos = 0;
        _hasTimestamp = false;
        _timestamp = 0;
        _hasExemplar = false;
        _exemplarValue = 0;
        _hasExemplarTimestamp = false;
        _exemplarTimestamp = 0;
    }

    private readonly void ThrowInvalidUtf8()
    {
        var i = 0;
        while (i < _line.Length)
        {
            if (Rune.DecodeFromUtf8(_line[i..], out _, out var consumed) != OperationStatus.Done)
            {
                throw Error(i, $"invalid UTF-8 (byte 0x{_line[i]:X2}): exposition text must be valid UTF-8");
            }

            i += consumed;
        }

        throw Error(0, "invalid UTF-8");
    }

    private static void EnsureCapacity(ref byte[]? array, int needed, int preserve)
    {
        if (array is not null && array.Length >= needed)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, MinimumBufferSize));
        if (array is not null)
        {
            array.AsSpan(0, preserve).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(array);
        }

        array = bigger;
    }

    private readonly ReadOnlySpan<byte> Resolve(Slice slice) =>
        slice.InScratch ? _scratch.AsSpan(slice.Start, slice.Length) : _line.Slice(slice.Start, slice.Length);

    /// <summary>A token of the current line: in the line itself, or (unescaped) in the scratch buffer.</summary>
    private readonly record struct Slice(int Start, int Length, bool InScratch);

    /// <summary>One parsed label; positions are 0-based byte offsets in the line, for error columns.</summary>
    private struct LabelSlot
    {
        public Slice Name;
        public Slice Value;
        public int NamePos;
        public int ValuePos;
    }
}
