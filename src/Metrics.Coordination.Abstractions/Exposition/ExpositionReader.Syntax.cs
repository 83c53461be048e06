using System.Buffers;
using System.Globalization;
using System.Text;

namespace Metrics.Coordination.Abstractions.Exposition;

/// <content>Line syntax of both formats: names, label sets, quoted strings, values, timestamps, exemplars.</content>
public ref partial struct ExpositionReader
{
    private bool ReadPrometheusLine()
    {
        var pos = SkipBlanks(0);
        if (pos == _line.Length)
        {
            return false; // blank lines are allowed in Prometheus text
        }

        if (_line[pos] == (byte)'#')
        {
            ReadPrometheusComment(pos);
            return true;
        }

        ReadPrometheusSample(pos);
        return true;
    }

    private void ReadPrometheusComment(int hash)
    {
        var len = _line.Length;
        var keywordStart = SkipBlanks(hash + 1);
        var keywordEnd = keywordStart;
        while (keywordEnd < len && !IsSeparator(_line[keywordEnd]))
        {
            keywordEnd++;
        }

        var keyword = _line[keywordStart..keywordEnd];
        var isHelp = keyword.SequenceEqual("HELP"u8);
        var isType = !isHelp && keyword.SequenceEqual("TYPE"u8);
        var pos = SkipBlanks(keywordEnd);
        if ((!isHelp && !isType) || pos == len)
        {
            // Any other '#' line is a comment; so is a bare "# HELP" (Go's expfmt reads it that way too).
            _kind = ExpositionEntryKind.Comment;
            _text = new Slice(hash + 1, len - hash - 1, false);
            return;
        }

        ParseMetadataName(ref pos);
        if (isHelp)
        {
            if (pos < len && !IsSeparator(_line[pos]))
            {
                throw InvalidMetricNameCharacter(pos);
            }

            pos = SkipBlanks(pos);
            _textPos = pos;
            _text = UnescapeHelp(pos);
            _kind = ExpositionEntryKind.Help;
        }
        else
        {
            if (pos < len && !IsSeparator(_line[pos]))
            {
                throw InvalidMetricNameCharacter(pos);
            }

            pos = SkipBlanks(pos);
            if (pos == len)
            {
                throw Error(pos, "missing metric type after the name in a TYPE line");
            }

            var end = TokenEnd(pos);
            if (end == pos)
            {
                throw Unexpected(pos, "a metric type");
            }

            _textPos = pos;
            _declaredType = ParsePrometheusType(_line[pos..end]) ?? throw Error(
                pos,
                $"unknown metric type '{Excerpt(_line[pos..end])}': Prometheus text allows counter, gauge, histogram, summary and untyped");
            var rest = SkipBlanks(end);
            if (rest != len)
            {
                throw Unexpected(rest, "end of line after the metric type");
            }

            _kind = ExpositionEntryKind.Type;
        }

        OnMetadata();
    }

    private void ReadPrometheusSample(int pos)
    {
        CountSample(pos);
        var len = _line.Length;
        pos = ParseNameAndLabels(pos);
        pos = SkipBlanks(pos);
        if (pos == len)
        {
            throw Error(pos, "missing value after the metric name");
        }

        var end = TokenEnd(pos);
        if (end == pos)
        {
            throw Unexpected(pos, "a value");
        }

        _valuePos = pos;
        _value = ParseFloatToken(pos, end, "value");
        pos = SkipBlanks(end);
        if (pos < len)
        {
            if (_line[pos] == (byte)'#')
            {
                throw Error(pos, "exemplars are only allowed in OpenMetrics, not in Prometheus text format");
            }

            end = TokenEnd(pos);
            if (end == pos)
            {
                throw Unexpected(pos, "a timestamp or end of line");
            }

            var status = ExpositionNumbers.TryParseMilliseconds(_line[pos..end], out _timestamp);
            if (status != NumberStatus.Ok)
            {
                throw Error(pos, status == NumberStatus.OutOfRange
                    ? $"timestamp '{Excerpt(_line[pos..end])}' is out of the int64 range"
                    : $"invalid timestamp '{Excerpt(_line[pos..end])}': Prometheus text timestamps are integer milliseconds");
            }

            _hasTimestamp = true;
            pos = SkipBlanks(end);
            if (pos < len)
            {
                throw Unexpected(pos, "end of line after the timestamp");
            }
        }

        OnSample();
    }

    private bool ReadOpenMetricsLine()
    {
        if (_line.IsEmpty)
        {
            throw Error(0, "empty line: OpenMetrics does not allow blank lines");
        }

        if (_line[0] == (byte)'#')
        {
            ReadOpenMetricsDescriptor();
        }
        else
        {
            ReadOpenMetricsSample();
        }

        return true;
    }

    private void ReadOpenMetricsDescriptor()
    {
        var len = _line.Length;
        if (len < 2 || _line[1] != (byte)' ')
        {
            throw Error(Math.Min(1, len), "a line starting with '#' must be '# TYPE', '# HELP', '# UNIT' or '# EOF': OpenMetrics has no comments");
        }

        var rest = _line[2..];
        if (rest.SequenceEqual("EOF"u8))
        {
            _sawEof = true;
            _kind = ExpositionEntryKind.Eof;
            EndFamily();
            return;
        }

        ExpositionEntryKind kind;
        if (rest.StartsWith("TYPE "u8))
        {
            kind = ExpositionEntryKind.Type;
        }
        else if (rest.StartsWith("HELP "u8))
        {
            kind = ExpositionEntryKind.Help;
        }
        else if (rest.StartsWith("UNIT "u8))
        {
            kind = ExpositionEntryKind.Unit;
        }
        else if (rest.StartsWith("EOF"u8))
        {
            throw Error(5, "unexpected text after '# EOF'");
        }
        else
        {
            throw Error(2, "unknown descriptor: OpenMetrics allows only '# TYPE', '# HELP', '# UNIT' and '# EOF' lines starting with '#'");
        }

        var pos = 7;
        if (pos >= len)
        {
            throw Error(pos, "missing metric name");
        }

        ParseMetadataName(ref pos);
        switch (kind)
        {
            case ExpositionEntryKind.Type:
                if (pos >= len)
                {
                    throw Error(pos, "missing metric type after the name in a TYPE line");
                }

                if (_line[pos] != (byte)' ')
                {
                    throw InvalidMetricNameCharacter(pos);
                }

                pos++;
                var end = TokenEnd(pos);
                if (end != len)
                {
                    throw Unexpected(end, "end of line after the metric type");
                }

                _textPos = pos;
                _declaredType = ParseOpenMetricsType(_line[pos..]) ?? throw Error(
                    pos,
                    $"unknown metric type '{Excerpt(_line[pos..])}': OpenMetrics allows counter, gauge, histogram, gaugehistogram, stateset, info, summary and unknown");
                break;
            case ExpositionEntryKind.Help:
                if (pos < len && _line[pos] != (byte)' ')
                {
                    throw InvalidMetricNameCharacter(pos);
                }

                pos = Math.Min(pos + 1, len);
                _textPos = pos;
                _text = UnescapeHelp(pos);
                break;
            default:
                if (pos < len && _line[pos] != (byte)' ')
                {
                    throw InvalidMetricNameCharacter(pos);
                }

                pos = Math.Min(pos + 1, len);
                var bad = _line[pos..].IndexOfAnyExcept(ExpositionSyntax.MetricNameBytes);
                if (bad >= 0)
                {
                    throw Unexpected(pos + bad, "a unit made of [a-zA-Z0-9_:]");
                }

                _textPos = pos;
                _text = new Slice(pos, len - pos, false);
                break;
        }

        _kind = kind;
        OnMetadata();
    }

    private void ReadOpenMetricsSample()
    {
        CountSample(0);
        var len = _line.Length;
        var pos = ParseNameAndLabels(0);
        if (pos >= len)
        {
            throw Error(pos, "missing value after the metric name");
        }

        if (_line[pos] != (byte)' ')
        {
            throw Unexpected(pos, "' ' before the value");
        }

        pos++;
        var end = TokenEnd(pos);
        if (end == pos)
        {
            throw Unexpected(pos, "a value");
        }

        _valuePos = pos;
        _value = ParseFloatToken(pos, end, "value");
        pos = end;
        if (pos < len)
        {
            if (_line[pos] != (byte)' ')
            {
                throw Unexpected(pos, "' ' or end of line after the value");
            }

            pos++;
            if (pos < len && _line[pos] != (byte)'#')
            {
                end = TokenEnd(pos);
                if (end == pos)
                {
                    throw Unexpected(pos, "a timestamp or '# ' and an exemplar");
                }

                _timestamp = ParseOpenMetricsTimestamp(pos, end);
                _hasTimestamp = true;
                pos = end;
                if (pos == len)
                {
                    OnSample();
                    return;
                }

                if (_line[pos] != (byte)' ')
                {
                    throw Unexpected(pos, "' ' or end of line after the timestamp");
                }

                pos++;
                if (pos >= len || _line[pos] != (byte)'#')
                {
                    throw Unexpected(pos, "'# ' and an exemplar after the timestamp");
                }
            }

            if (pos >= len)
            {
                throw Unexpected(pos, "a timestamp or '# ' and an exemplar after ' '");
            }

            ParseExemplar(pos);
        }

        OnSample();
    }

    private void ParseExemplar(int pos)
    {
        var len = _line.Length;
        _exemplarPos = pos;
        if (pos + 1 >= len || _line[pos + 1] != (byte)' ')
        {
            throw Unexpected(pos + 1, "' ' after '#' before the exemplar");
        }

        pos += 2;
        if (pos >= len || _line[pos] != (byte)'{')
        {
            throw Unexpected(pos, "'{' to start the exemplar's label set");
        }

        _exemplarBracePos = pos;
        pos = ParseLabels(pos + 1, afterComma: false, exemplar: true);
        if (pos >= len || _line[pos] != (byte)' ')
        {
            throw Unexpected(pos, "' ' and the exemplar value");
        }

        pos++;
        var end = TokenEnd(pos);
        if (end == pos)
        {
            throw Unexpected(pos, "the exemplar value");
        }

        _exemplarValue = ParseFloatToken(pos, end, "exemplar value");
        pos = end;
        if (pos < len)
        {
            if (_line[pos] != (byte)' ')
            {
                throw Unexpected(pos, "' ' or end of line after the exemplar value");
            }

            pos++;
            end = TokenEnd(pos);
            if (end == pos)
            {
                throw Unexpected(pos, "the exemplar timestamp");
            }

            _exemplarTimestamp = ParseOpenMetricsTimestamp(pos, end);
            _hasExemplarTimestamp = true;
            if (end < len)
            {
                throw Unexpected(end, "end of line after the exemplar timestamp");
            }
        }

        _hasExemplar = true;
    }

    /// <summary>Parses <c>name</c>, <c>name{labels}</c> or <c>{"name", labels}</c>; returns the position after it.</summary>
    private int ParseNameAndLabels(int pos)
    {
        var len = _line.Length;
        _namePos = pos;
        if (_line[pos] == (byte)'{')
        {
            pos = SkipBlanksInPrometheus(pos + 1);
            if (pos >= len || _line[pos] != (byte)'"')
            {
                throw Error(_namePos, "missing metric name: a sample starts with a name, or with '{' and a quoted name");
            }

            var quote = pos;
            var name = ParseQuoted(ref pos);
            var after = SkipBlanksInPrometheus(pos);
            if (after < len && _line[after] == (byte)'=')
            {
                throw Error(_namePos, "missing metric name: the first item in braces is a label, not a quoted metric name");
            }

            if (name.Length == 0)
            {
                throw Error(quote, "metric name must not be empty");
            }

            _name = name;
            if (after >= len)
            {
                throw Error(after, "unterminated label set: missing '}'");
            }

            if (_line[after] == (byte)',')
            {
                return ParseLabels(after + 1, afterComma: true, exemplar: false);
            }

            if (_line[after] == (byte)'}')
            {
                return after + 1;
            }

            throw Unexpected(after, "',' or '}' after the quoted metric name");
        }

        if (!IsMetricNameStart(_line[pos]))
        {
            throw InvalidMetricNameStart(pos);
        }

        var end = EndOfName(pos, ExpositionSyntax.MetricNameBytes);
        _name = new Slice(pos, end - pos, false);
        var next = SkipBlanksInPrometheus(end);
        if (next < len && _line[next] == (byte)'{')
        {
            return ParseLabels(next + 1, afterComma: false, exemplar: false);
        }

        if (end < len && !IsSeparator(_line[end]))
        {
            throw InvalidMetricNameCharacter(end);
        }

        return end;
    }

    /// <summary>Parses a quoted or legacy metric name in a HELP/TYPE/UNIT line into <see cref="_name"/>.</summary>
    private void ParseMetadataName(ref int pos)
    {
        _namePos = pos;
        if (_line[pos] == (byte)'"')
        {
            var quote = pos;
            _name = ParseQuoted(ref pos);
            if (_name.Length == 0)
            {
                throw Error(quote, "metric name must not be empty");
            }

            return;
        }

        if (!IsMetricNameStart(_line[pos]))
        {
            throw InvalidMetricNameStart(pos);
        }

        var end = EndOfName(pos, ExpositionSyntax.MetricNameBytes);
        _name = new Slice(pos, end - pos, false);
        pos = end;
    }

    /// <summary>Parses labels after '{' up to and including '}'; returns the position after '}'.</summary>
    private int ParseLabels(int pos, bool afterComma, bool exemplar)
    {
        var len = _line.Length;
        while (true)
        {
            pos = SkipBlanksInPrometheus(pos);
            if (pos >= len)
            {
                throw Error(pos, "unterminated label set: missing '}'");
            }

            if (_line[pos] == (byte)'}')
            {
                if (afterComma && _openMetrics)
                {
                    throw Error(pos - 1, "trailing comma in a label set: OpenMetrics does not allow one");
                }

                return pos + 1;
            }

            pos = ParseLabel(pos, exemplar);
            pos = SkipBlanksInPrometheus(pos);
            if (pos >= len)
            {
                throw Error(pos, "unterminated label set: missing '}'");
            }

            if (_line[pos] == (byte)',')
            {
                pos++;
                afterComma = true;
                continue;
            }

            if (_line[pos] == (byte)'}')
            {
                return pos + 1;
            }

            throw Unexpected(pos, "',' or '}' after a label value");
        }
    }

    private int ParseLabel(int pos, bool exemplar)
    {
        var len = _line.Length;
        var namePos = pos;
        Slice name;
        var quoted = false;
        if (_line[pos] == (byte)'"')
        {
            quoted = true;
            name = ParseQuoted(ref pos);
            if (name.Length == 0)
            {
                throw Error(namePos, "label name must not be empty");
            }
        }
        else if (IsLabelNameStart(_line[pos]))
        {
            var end = EndOfName(pos, ExpositionSyntax.LabelNameBytes);
            name = new Slice(pos, end - pos, false);
            pos = end;
        }
        else
        {
            throw _line[pos] == (byte)'\r'
                ? Unexpected(pos, "a label name")
                : Error(pos, $"invalid label name starting with {Describe(pos)}: label names match [a-zA-Z_][a-zA-Z0-9_]* unless quoted");
        }

        var eq = SkipBlanksInPrometheus(pos);
        if (eq >= len || _line[eq] != (byte)'=')
        {
            if (quoted && eq < len && _line[eq] is (byte)',' or (byte)'}')
            {
                throw Error(namePos, "a quoted metric name must be the first item in braces");
            }

            if (!quoted && eq == pos && eq < len && !IsSeparator(_line[eq]) && _line[eq] != (byte)'\r')
            {
                throw Error(eq, $"invalid character {Describe(eq)} in label name: quote names outside [a-zA-Z_][a-zA-Z0-9_]*");
            }

            throw Unexpected(eq, "'=' after the label name");
        }

        pos = SkipBlanksInPrometheus(eq + 1);
        if (pos >= len || _line[pos] != (byte)'"')
        {
            throw Unexpected(pos, "'\"' to start the label value");
        }

        var valuePos = pos;
        var value = ParseQuoted(ref pos);

        var index = _labelCount + _exemplarLabelCount;
        if ((exemplar ? _exemplarLabelCount : _labelCount) >= _maxLabels)
        {
            throw Error(namePos, $"too many labels: the limit is {_maxLabels} per {(exemplar ? "exemplar" : "sample")} (ExpositionParserOptions.MaxLabelsPerSample)");
        }

        if (name.Length > _maxLabelNameLength)
        {
            throw Error(namePos, $"label name is {name.Length} bytes long; the limit is {_maxLabelNameLength} bytes (ExpositionParserOptions.MaxLabelNameLength)");
        }

        if (value.Length > _maxLabelValueLength)
        {
            throw Error(valuePos, $"label value is {value.Length} bytes long; the limit is {_maxLabelValueLength} bytes (ExpositionParserOptions.MaxLabelValueLength)");
        }

        if (Resolve(name).SequenceEqual("__name__"u8))
        {
            throw Error(namePos, "label name '__name__' is reserved for the metric name");
        }

        if (_labels is null || index >= _labels.Length)
        {
            var bigger = ArrayPool<LabelSlot>.Shared.Rent(Math.Max(InitialLabelSlots, index * 2));
            if (_labels is not null)
            {
                _labels.AsSpan(0, index).CopyTo(bigger);
                ArrayPool<LabelSlot>.Shared.Return(_labels);
            }

            _labels = bigger;
        }

        _labels[index] = new LabelSlot { Name = name, Value = value, NamePos = namePos, ValuePos = valuePos };
        if (exemplar)
        {
            _exemplarLabelCount++;
        }
        else
        {
            _labelCount++;
        }

        return pos;
    }

    /// <summary>Parses a double-quoted string at <paramref name="pos"/>, unescaping into the scratch buffer if needed.</summary>
    private Slice ParseQuoted(ref int pos)
    {
        var open = pos;
        var start = pos + 1;
        var rest = _line[start..];
        var i = rest.IndexOfAny(ExpositionSyntax.QuoteOrBackslash);
        if (i < 0)
        {
            throw Error(open, "unterminated quoted string: missing closing '\"'");
        }

        if (rest[i] == (byte)'"')
        {
            pos = start + i + 1;
            return new Slice(start, i, false);
        }

        EnsureScratch();
        var destination = _scratch.AsSpan();
        var outStart = _scratchLength;
        var w = outStart;
        rest[..i].CopyTo(destination[w..]);
        w += i;
        var j = i;
        while (true)
        {
            // rest[j] is a backslash.
            if (j + 1 >= rest.Length)
            {
                throw Error(open, "unterminated quoted string: missing closing '\"'");
            }

            switch (rest[j + 1])
            {
                case (byte)'\\':
                    destination[w++] = (byte)'\\';
                    j += 2;
                    break;
                case (byte)'"':
                    destination[w++] = (byte)'"';
                    j += 2;
                    break;
                case (byte)'n':
                    destination[w++] = (byte)'\n';
                    j += 2;
                    break;
                default:
                    if (!_openMetrics)
                    {
                        throw Error(start + j, $"invalid escape sequence '\\{DescribeRaw(start + j + 1)}': Prometheus text allows \\\\, \\\" and \\n");
                    }

                    // OpenMetrics ABNF: a backslash before any other character stands for itself.
                    destination[w++] = (byte)'\\';
                    j += 1;
                    break;
            }

            var k = rest[j..].IndexOfAny(ExpositionSyntax.QuoteOrBackslash);
            if (k < 0)
            {
                throw Error(open, "unterminated quoted string: missing closing '\"'");
            }

            rest.Slice(j, k).CopyTo(destination[w..]);
            w += k;
            j += k;
            if (rest[j] == (byte)'"')
            {
                pos = start + j + 1;
                _scratchLength = w;
                return new Slice(outStart, w - outStart, true);
            }
        }
    }

    /// <summary>Unescapes HELP text from <paramref name="pos"/> to the end of the line.</summary>
    private Slice UnescapeHelp(int pos)
    {
        var rest = _line[pos..];
        var i = rest.IndexOf((byte)'\\');
        if (i < 0)
        {
            return new Slice(pos, rest.Length, false);
        }

        EnsureScratch();
        var destination = _scratch.AsSpan();
        var outStart = _scratchLength;
        var w = outStart;
        rest[..i].CopyTo(destination[w..]);
        w += i;
        var j = i;
        while (true)
        {
            if (j + 1 >= rest.Length)
            {
                throw Error(pos + j, "incomplete escape sequence at the end of the HELP text");
            }

            switch (rest[j + 1])
            {
                case (byte)'\\':
                    destination[w++] = (byte)'\\';
                    j += 2;
                    break;
                case (byte)'n':
                    destination[w++] = (byte)'\n';
                    j += 2;
                    break;
                case (byte)'"' when _openMetrics:
                    destination[w++] = (byte)'"';
                    j += 2;
                    break;
                default:
                    if (!_openMetrics)
                    {
                        throw Error(pos + j, $"invalid escape sequence '\\{DescribeRaw(pos + j + 1)}' in HELP: Prometheus text allows \\\\ and \\n");
                    }

                    destination[w++] = (byte)'\\';
                    j += 1;
                    break;
            }

            var k = rest[j..].IndexOf((byte)'\\');
            if (k < 0)
            {
                rest[j..].CopyTo(destination[w..]);
                w += rest.Length - j;
                _scratchLength = w;
                return new Slice(outStart, w - outStart, true);
            }

            rest.Slice(j, k).CopyTo(destination[w..]);
            w += k;
            j += k;
        }
    }

    private void EnsureScratch()
    {
        // Unescaped text is never longer than its source and strings of one line do not overlap, so one line's length
        // is enough for all of them; growing only before the first use on a line keeps earlier slices valid.
        if (_scratch is null || _scratch.Length < _line.Length)
        {
            EnsureCapacity(ref _scratch, _line.Length, _scratchLength);
        }
    }

    private readonly double ParseFloatToken(int pos, int end, string what)
    {
        var token = _line[pos..end];
        var status = ExpositionNumbers.TryParseFloat(token, out var value);
        return status switch
        {
            NumberStatus.Ok => value,
            NumberStatus.OutOfRange => throw Error(pos, $"{what} '{Excerpt(token)}' is out of the float64 range"),
            _ => throw Error(pos, $"invalid {what} '{Excerpt(token)}': expected a float such as 1, -2.5e-3, +Inf or NaN"),
        };
    }

    private readonly long ParseOpenMetricsTimestamp(int pos, int end)
    {
        var token = _line[pos..end];
        var status = ExpositionNumbers.TryParseSecondsAsMilliseconds(token, out var ms);
        return status switch
        {
            NumberStatus.Ok => ms,
            NumberStatus.OutOfRange => throw Error(pos, $"timestamp '{Excerpt(token)}' is out of range (±9.2e15 seconds)"),
            _ => throw Error(pos, $"invalid timestamp '{Excerpt(token)}': OpenMetrics timestamps are finite decimal seconds such as 1520879607.789"),
        };
    }

    private void CountSample(int pos)
    {
        if (++_sampleCount > _maxSamples)
        {
            throw Error(pos, $"too many samples: the limit is {_maxSamples} (ExpositionParserOptions.MaxSamples)");
        }
    }

    private static MetricType? ParsePrometheusType(ReadOnlySpan<byte> s)
    {
        if (s.SequenceEqual("counter"u8))
        {
            return MetricType.Counter;
        }

        if (s.SequenceEqual("gauge"u8))
        {
            return MetricType.Gauge;
        }

        if (s.SequenceEqual("histogram"u8))
        {
            return MetricType.Histogram;
        }

        if (s.SequenceEqual("summary"u8))
        {
            return MetricType.Summary;
        }

        return s.SequenceEqual("untyped"u8) ? MetricType.Unknown : null;
    }

    private static MetricType? ParseOpenMetricsType(ReadOnlySpan<byte> s)
    {
        if (s.SequenceEqual("counter"u8))
        {
            return MetricType.Counter;
        }

        if (s.SequenceEqual("gauge"u8))
        {
            return MetricType.Gauge;
        }

        if (s.SequenceEqual("histogram"u8))
        {
            return MetricType.Histogram;
        }

        if (s.SequenceEqual("gaugehistogram"u8))
        {
            return MetricType.GaugeHistogram;
        }

        if (s.SequenceEqual("stateset"u8))
        {
            return MetricType.StateSet;
        }

        if (s.SequenceEqual("info"u8))
        {
            return MetricType.Info;
        }

        if (s.SequenceEqual("summary"u8))
        {
            return MetricType.Summary;
        }

        return s.SequenceEqual("unknown"u8) ? MetricType.Unknown : null;
    }

    private static bool IsMetricNameStart(byte b) => char.IsAsciiLetter((char)b) || b is (byte)'_' or (byte)':';

    private static bool IsLabelNameStart(byte b) => char.IsAsciiLetter((char)b) || b == (byte)'_';

    private readonly int EndOfName(int pos, SearchValues<byte> chars)
    {
        var i = _line[(pos + 1)..].IndexOfAnyExcept(chars);
        return i < 0 ? _line.Length : pos + 1 + i;
    }

    /// <summary>Token separator: space, and in Prometheus text also tab.</summary>
    private readonly bool IsSeparator(byte b) => b == (byte)' ' || (b == (byte)'\t' && !_openMetrics);

    private readonly int SkipBlanks(int pos)
    {
        while (pos < _line.Length && _line[pos] is (byte)' ' or (byte)'\t')
        {
            pos++;
        }

        return pos;
    }

    private readonly int SkipBlanksInPrometheus(int pos) => _openMetrics ? pos : SkipBlanks(pos);

    /// <summary>The end of a value or timestamp token: the next separator or carriage return, or the end of the line.</summary>
    private readonly int TokenEnd(int pos)
    {
        var i = _line[pos..].IndexOfAny(_openMetrics ? ExpositionSyntax.SpaceOrCr : ExpositionSyntax.BlankOrCr);
        return i < 0 ? _line.Length : pos + i;
    }

    private readonly ExpositionParseException Error(int pos, string reason) => new(_lineNumber, pos + 1, reason);

    private readonly ExpositionParseException Unexpected(int pos, string expected) =>
        pos < _line.Length && _line[pos] == (byte)'\r'
            ? Error(pos, "carriage return (\\r) in the line: lines must end with \\n alone; CRLF line endings are not allowed")
            : Error(pos, $"unexpected {Describe(pos)}; expected {expected}");

    private readonly ExpositionParseException InvalidMetricNameStart(int pos) =>
        _line[pos] is (byte)'\r' or (byte)' ' or (byte)'\t'
            ? Unexpected(pos, "a metric name")
            : Error(pos, $"invalid metric name starting with {Describe(pos)}: unquoted names match [a-zA-Z_:][a-zA-Z0-9_:]*; quote others as {{\"name\"}}");

    private readonly ExpositionParseException InvalidMetricNameCharacter(int pos) =>
        _line[pos] == (byte)'\r'
            ? Unexpected(pos, "end of the metric name")
            : Error(pos, $"invalid character {Describe(pos)} in metric name: unquoted names match [a-zA-Z_:][a-zA-Z0-9_:]*; quote others as {{\"name\"}}");

    /// <summary>Describes the character at <paramref name="pos"/> for an error message.</summary>
    private readonly string Describe(int pos)
    {
        if (pos >= _line.Length)
        {
            return "end of line";
        }

        return _line[pos] switch
        {
            (byte)'\r' => "carriage return (\\r)",
            (byte)'\t' => "tab",
            (byte)' ' => "' '",
            _ => "'" + DescribeRaw(pos) + "'",
        };
    }

    private readonly string DescribeRaw(int pos)
    {
        if (pos >= _line.Length)
        {
            return string.Empty;
        }

        var b = _line[pos];
        if (b < 0x20 || b == 0x7F)
        {
            return b switch
            {
                (byte)'\t' => "\\t",
                (byte)'\r' => "\\r",
                _ => string.Create(CultureInfo.InvariantCulture, $"\\x{b:X2}"),
            };
        }

        return Rune.DecodeFromUtf8(_line[pos..], out var rune, out _) == OperationStatus.Done ? rune.ToString() : "?";
    }

    /// <summary>Renders a token for an error message: at most 40 characters, control characters escaped.</summary>
    internal static string Excerpt(ReadOnlySpan<byte> token)
    {
        const int MaxChars = 40;
        var text = Encoding.UTF8.GetString(token.Length > MaxChars * 4 ? token[..(MaxChars * 4)] : token);
        var sb = new StringBuilder(Math.Min(text.Length, MaxChars) + 4);
        foreach (var c in text)
        {
            if (sb.Length >= MaxChars)
            {
                sb.Append('…');
                break;
            }

            switch (c)
            {
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case < ' ' or '\x7F': sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:X2}"); break;
                default: sb.Append(c); break;
            }
        }

        return sb.ToString();
    }
}

/// <summary>Character sets of the exposition grammar.</summary>
internal static class ExpositionSyntax
{
    public static readonly SearchValues<byte> MetricNameBytes =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:"u8);

    public static readonly SearchValues<byte> LabelNameBytes =
        SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"u8);

    public static readonly SearchValues<byte> QuoteOrBackslash = SearchValues.Create("\"\\"u8);

    public static readonly SearchValues<byte> BlankOrCr = SearchValues.Create(" \t\r"u8);

    public static readonly SearchValues<byte> SpaceOrCr = SearchValues.Create(" \r"u8);
}
