using System.Buffers;
using System.Text;

namespace Metrics.Coordination.Abstractions.Exposition;

/// <content>
/// Structural rules across lines: which family a sample belongs to, metadata order, and the per-series
/// (MetricPoint) rules of histograms and summaries.
/// </content>
public ref partial struct ExpositionReader
{
    private enum Suffix : byte
    {
        None,
        Total,
        Created,
        Bucket,
        Count,
        Sum,
        GCount,
        GSum,
        Info,
        Invalid,
    }

    private void OnMetadata()
    {
        var name = Resolve(_name);
        var family = _family;
        if (family is null || !name.SequenceEqual(family.Name))
        {
            CheckNewFamilyName(name, isSample: false);
            EndFamily();
            family = StartFamily(name);
        }

        switch (_kind)
        {
            case ExpositionEntryKind.Type:
                if (family.HasType)
                {
                    throw Error(0, $"duplicate TYPE line for '{FamilyDisplay(family)}' (the first is at line {family.TypeLine})");
                }

                if (family.HasSamples)
                {
                    throw Error(0, $"TYPE line for '{FamilyDisplay(family)}' comes after its samples; metadata must come first");
                }

                family.HasType = true;
                family.TypeLine = _lineNumber;
                family.Type = _declaredType;
                if (family.HasUnit && _declaredType is MetricType.Info or MetricType.StateSet)
                {
                    throw Error(_textPos, $"{Article(_declaredType)} {TypeName(_declaredType)} family must not have a unit, but '{FamilyDisplay(family)}' has one");
                }

                break;
            case ExpositionEntryKind.Help:
                if (family.HasHelp)
                {
                    throw Error(0, $"duplicate HELP line for '{FamilyDisplay(family)}' (the first is at line {family.HelpLine})");
                }

                if (family.HasSamples)
                {
                    throw Error(0, $"HELP line for '{FamilyDisplay(family)}' comes after its samples; metadata must come first");
                }

                family.HasHelp = true;
                family.HelpLine = _lineNumber;
                break;
            case ExpositionEntryKind.Unit:
                if (family.UnitLine != 0)
                {
                    throw Error(0, $"duplicate UNIT line for '{FamilyDisplay(family)}' (the first is at line {family.UnitLine})");
                }

                if (family.HasSamples)
                {
                    throw Error(0, $"UNIT line for '{FamilyDisplay(family)}' comes after its samples; metadata must come first");
                }

                var unit = Resolve(_text);
                family.UnitLine = _lineNumber;
                if (unit.Length > 0)
                {
                    family.HasUnit = true;
                    var familyName = family.Name.AsSpan();
                    if (!(familyName.Length > unit.Length + 1 && familyName.EndsWith(unit) && familyName[^(unit.Length + 1)] == (byte)'_'))
                    {
                        throw Error(_textPos, $"unit '{Excerpt(unit)}' is not a suffix of the family name '{FamilyDisplay(family)}': the name must end in '_{Excerpt(unit)}'");
                    }

                    if (family.Type is MetricType.Info or MetricType.StateSet)
                    {
                        throw Error(_textPos, $"{Article(family.Type)} {TypeName(family.Type)} family must not have a unit");
                    }
                }

                break;
        }
    }

    private void OnSample()
    {
        _kind = ExpositionEntryKind.Sample;
        _order ??= ArrayPool<int>.Shared.Rent(InitialLabelSlots);
        if (_order.Length < _labelCount + _exemplarLabelCount)
        {
            ArrayPool<int>.Shared.Return(_order);
            _order = ArrayPool<int>.Shared.Rent(_labelCount + _exemplarLabelCount);
        }

        SortAndCheckDuplicates(0, _labelCount);
        if (_hasExemplar)
        {
            SortAndCheckDuplicates(_labelCount, _exemplarLabelCount);
            var length = 0;
            for (var i = 0; i < _exemplarLabelCount; i++)
            {
                ref readonly var slot = ref _labels![_labelCount + i];
                length += CountCodePoints(Resolve(slot.Name)) + CountCodePoints(Resolve(slot.Value));
            }

            if (length > Exemplar.MaxLabelSetLength)
            {
                throw Error(_exemplarBracePos, $"exemplar label set is {length} characters long; OpenMetrics allows at most {Exemplar.MaxLabelSetLength}");
            }
        }

        var suffix = ResolveFamily(Resolve(_name));
        _family!.HasSamples = true;
        ValidateSample(suffix);
    }

    /// <summary>Finds the family of a sample, starting an untyped one when it fits no open family.</summary>
    private Suffix ResolveFamily(ReadOnlySpan<byte> name)
    {
        var family = _family;
        if (family is not null && name.StartsWith(family.Name))
        {
            var suffix = ParseSuffix(name[family.Name.Length..]);
            if (IsAllowed(family.Type, suffix))
            {
                return suffix;
            }
        }

        CheckNewFamilyName(name, isSample: true);
        EndFamily();
        StartFamily(name);
        return Suffix.None;
    }

    /// <summary>Rejects a new family whose name repeats an earlier family or names samples of one.</summary>
    private void CheckNewFamilyName(ReadOnlySpan<byte> name, bool isSample)
    {
        _families ??= new Dictionary<byte[], FamilyRecord>(Utf8KeyComparer.Instance);
        var lookup = _families.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (lookup.TryGetValue(name, out var existing))
        {
            if (isSample && existing == _family)
            {
                throw Error(_namePos, $"sample '{Excerpt(name)}' does not fit {TypeName(existing.Type)} family '{FamilyDisplay(existing)}': expected {ExpectedNames(existing)}");
            }

            throw Error(_namePos, $"metric family '{Excerpt(name)}' already appeared at line {existing.Line}: a family's lines must be contiguous and families must not repeat");
        }

        for (var s = Suffix.Total; s < Suffix.Invalid; s++)
        {
            var text = SuffixText(s);
            if (name.Length > text.Length && name.EndsWith(text) &&
                lookup.TryGetValue(name[..^text.Length], out var owner) && IsAllowed(owner.Type, s))
            {
                throw Error(_namePos, isSample
                    ? $"sample '{Excerpt(name)}' belongs to {TypeName(owner.Type)} family '{FamilyDisplay(owner)}' (line {owner.Line}), but other families came in between: families must not interleave"
                    : $"metric family '{Excerpt(name)}' clashes with the samples of {TypeName(owner.Type)} family '{FamilyDisplay(owner)}' (line {owner.Line})");
            }
        }
    }

    private FamilyRecord StartFamily(ReadOnlySpan<byte> name)
    {
        var record = new FamilyRecord(name.ToArray(), _lineNumber);
        _families!.Add(record.Name, record);
        _family = record;
        _familyIndex++;
        return record;
    }

    /// <summary>Completes the checks of the open family (its last histogram series). Idempotent.</summary>
    private void EndFamily()
    {
        if (_pointActive)
        {
            _pointActive = false;
            FinishPoint();
        }
    }

    private void ValidateSample(Suffix suffix)
    {
        var family = _family!;
        var type = family.Type;
        if (_hasExemplar &&
            !((type == MetricType.Counter && suffix == Suffix.Total) ||
              (type is MetricType.Histogram or MetricType.GaugeHistogram && suffix == Suffix.Bucket)))
        {
            throw Error(_exemplarPos, $"exemplars are only allowed on counter _total and histogram _bucket samples, not on '{Excerpt(Resolve(_name))}' of {TypeName(type)} family '{FamilyDisplay(family)}'");
        }

        switch (type)
        {
            case MetricType.Counter when _openMetrics && suffix == Suffix.Total:
                CheckCounterValue("counter");
                break;
            case MetricType.Histogram or MetricType.GaugeHistogram:
                TrackHistogram(suffix);
                break;
            case MetricType.Summary:
                TrackSummary(suffix);
                break;
            case MetricType.Info when _openMetrics && _value != 1:
                throw Error(_valuePos, "an info sample's value must be 1");
            case MetricType.StateSet when _openMetrics:
                if (_value is not (0 or 1))
                {
                    throw Error(_valuePos, "a stateset sample's value must be 0 or 1");
                }

                if (FindLabel(family.Name) < 0)
                {
                    throw Error(_namePos, $"a stateset sample needs a label named '{FamilyDisplay(family)}' holding the state");
                }

                break;
        }
    }

    private void TrackHistogram(Suffix suffix)
    {
        var le = FindLabel("le"u8);
        var bound = 0.0;
        if (suffix == Suffix.Bucket)
        {
            if (le < 0)
            {
                throw Error(_namePos, $"histogram bucket '{Excerpt(Resolve(_name))}' has no le label");
            }

            ref readonly var slot = ref _labels![le];
            if (ExpositionNumbers.TryParseFloat(Resolve(slot.Value), out bound) != NumberStatus.Ok)
            {
                throw Error(slot.ValuePos, $"invalid le value \"{Excerpt(Resolve(slot.Value))}\": expected a float such as 0.5 or +Inf");
            }

            if (double.IsNaN(bound))
            {
                throw Error(slot.ValuePos, "le must not be NaN");
            }
        }
        else if (le >= 0)
        {
            throw Error(_labels![le].NamePos, "the le label belongs on _bucket samples only");
        }

        var samePoint = SwitchPoint(suffix == Suffix.Bucket ? le : -1);
        switch (suffix)
        {
            case Suffix.Bucket:
                if (samePoint && _point.SawInf)
                {
                    RestartPoint(); // another MetricPoint of the same series (a later timestamp)
                }

                if (_openMetrics)
                {
                    CheckCounterValue("bucket");
                    CheckInteger("bucket");
                }

                if (_point.HasBuckets)
                {
                    if (!(bound > _point.LastLe))
                    {
                        throw Error(_labels![le].ValuePos, $"le=\"{Excerpt(Resolve(_labels[le].Value))}\" is not greater than the previous bucket's le: buckets must be sorted by increasing le, without duplicates");
                    }

                    if (_value < _point.LastBucketValue)
                    {
                        throw Error(_valuePos, $"bucket value {Excerpt(_line[_valuePos..TokenEnd(_valuePos)])} is less than the previous bucket's: histogram buckets are cumulative");
                    }
                }

                _point.HasBuckets = true;
                _point.LastLe = bound;
                _point.LastBucketValue = _value;
                _point.LastBucketLine = _lineNumber;
                if (double.IsPositiveInfinity(bound))
                {
                    _point.SawInf = true;
                    _point.InfValue = _value;
                    if (_point.HasCount)
                    {
                        CheckCountMatchesInf(_point.CountIsGauge);
                    }
                }

                break;
            case Suffix.Count or Suffix.GCount:
                if (samePoint && _point.HasCount)
                {
                    RestartPoint();
                }

                if (_openMetrics)
                {
                    CheckCounterValue("count");
                    CheckInteger("count");
                }

                _point.HasCount = true;
                _point.Count = _value;
                _point.CountIsGauge = suffix == Suffix.GCount;
                if (_point.SawInf)
                {
                    CheckCountMatchesInf(_point.CountIsGauge);
                }

                break;
            case Suffix.Sum or Suffix.GSum:
                // Any value, NaN included: observing NaN (or both infinities) makes a client's sum NaN, client
                // libraries write it, and Prometheus's parser takes it. Failing the scrape would lose every other series.
                break;
        }
    }

    private void TrackSummary(Suffix suffix)
    {
        var quantile = FindLabel("quantile"u8);
        if (suffix == Suffix.None)
        {
            if (quantile < 0)
            {
                throw Error(_namePos, $"summary sample '{Excerpt(Resolve(_name))}' has no quantile label");
            }

            ref readonly var slot = ref _labels![quantile];
            if (ExpositionNumbers.TryParseFloat(Resolve(slot.Value), out var q) != NumberStatus.Ok)
            {
                throw Error(slot.ValuePos, $"invalid quantile value \"{Excerpt(Resolve(slot.Value))}\": expected a float between 0 and 1");
            }

            if (!(q >= 0 && q <= 1))
            {
                throw Error(slot.ValuePos, $"quantile \"{Excerpt(Resolve(slot.Value))}\" is outside [0, 1]");
            }

            // Prometheus text requires increasing quantiles within a series; OpenMetrics allows any order.
            if (!_openMetrics)
            {
                var samePoint = SwitchPoint(quantile);
                if (samePoint && _point.HasQuantile && !(q > _point.LastQuantile))
                {
                    throw Error(slot.ValuePos, "quantiles must appear in increasing order without duplicates");
                }

                _point.HasQuantile = true;
                _point.LastQuantile = q;
            }

            return;
        }

        if (quantile >= 0)
        {
            throw Error(_labels![quantile].NamePos, "the quantile label belongs on quantile samples only");
        }

        if (!_openMetrics)
        {
            SwitchPoint(-1);
        }
        else if (suffix is Suffix.Count or Suffix.Sum)
        {
            // OpenMetrics calls a summary's _sum a counter, but a summary of negative observations has a negative
            // sum, and client_golang writes it while Prometheus's own parser accepts it: refusing it would fail whole
            // scrapes of correct instrumentation. Only _count is held to counter rules.
            if (suffix == Suffix.Count)
            {
                CheckCounterValue("count");
                CheckInteger("count");
            }
        }
    }

    private readonly void CheckCounterValue(string what)
    {
        if (double.IsNaN(_value))
        {
            throw Error(_valuePos, $"a {what} value must not be NaN");
        }

        if (_value < 0)
        {
            throw Error(_valuePos, $"a {what} value must not be negative");
        }
    }

    private readonly void CheckInteger(string what)
    {
        if (double.IsFinite(_value) && _value != Math.Floor(_value))
        {
            throw Error(_valuePos, $"a {what} value must be an integer");
        }
    }

    private readonly void CheckCountMatchesInf(bool gauge)
    {
        var count = _point.Count;
        var inf = _point.InfValue;
        if (!(count == inf || (double.IsNaN(count) && double.IsNaN(inf))))
        {
            throw Error(_valuePos, $"{(gauge ? "_gcount" : "_count")} ({count.ToString(System.Globalization.CultureInfo.InvariantCulture)}) differs from the le=\"+Inf\" bucket ({inf.ToString(System.Globalization.CultureInfo.InvariantCulture)}); they must be equal");
        }
    }

    /// <summary>
    /// Moves the point tracking to the current sample's series (labels without <paramref name="excluded"/>), finishing
    /// the previous series when it differs. Returns whether the sample continues the current series.
    /// </summary>
    private bool SwitchPoint(int excluded)
    {
        var needed = 0;
        for (var i = 0; i < _labelCount; i++)
        {
            needed += _labels![i].Name.Length + _labels[i].Value.Length + 10;
        }

        EnsureCapacity(ref _keyScratch, needed, 0);
        var key = _keyScratch.AsSpan();
        var w = 0;
        for (var i = 0; i < _labelCount; i++)
        {
            var index = _order![i];
            if (index == excluded)
            {
                continue;
            }

            w = WriteLengthPrefixed(key, w, Resolve(_labels![index].Name));
            w = WriteLengthPrefixed(key, w, Resolve(_labels[index].Value));
        }

        if (_pointActive && key[..w].SequenceEqual(_pointKey.AsSpan(0, _pointKeyLength)))
        {
            return true;
        }

        if (_pointActive)
        {
            FinishPoint();
        }

        (_pointKey, _keyScratch) = (_keyScratch, _pointKey);
        _pointKeyLength = w;
        _pointActive = true;
        _point = new PointState { FirstLine = _lineNumber };
        return false;
    }

    private void RestartPoint()
    {
        FinishPoint();
        _point = new PointState { FirstLine = _lineNumber };
    }

    private readonly void FinishPoint()
    {
        var family = _family!;
        if (family.Type is not (MetricType.Histogram or MetricType.GaugeHistogram))
        {
            return;
        }

        if (_point.HasBuckets && !_point.SawInf)
        {
            throw new ExpositionParseException(_point.LastBucketLine, 1, $"histogram series of '{FamilyDisplay(family)}' has no le=\"+Inf\" bucket");
        }

        if (_openMetrics && !_point.HasBuckets)
        {
            throw new ExpositionParseException(_point.FirstLine, 1, $"histogram series of '{FamilyDisplay(family)}' has no buckets: OpenMetrics requires at least the le=\"+Inf\" bucket");
        }
    }

    private static int WriteLengthPrefixed(Span<byte> destination, int w, ReadOnlySpan<byte> value)
    {
        var length = (uint)value.Length;
        while (length >= 0x80)
        {
            destination[w++] = (byte)(length | 0x80);
            length >>= 7;
        }

        destination[w++] = (byte)length;
        value.CopyTo(destination[w..]);
        return w + value.Length;
    }

    /// <summary>Insertion-sorts the label indices in [start, start+count) by name bytes and rejects duplicates.</summary>
    private readonly void SortAndCheckDuplicates(int start, int count)
    {
        var order = _order!;
        var labels = _labels!;
        for (var i = 0; i < count; i++)
        {
            order[start + i] = start + i;
        }

        for (var i = 1; i < count; i++)
        {
            var current = order[start + i];
            var name = Resolve(labels[current].Name);
            var j = i - 1;
            while (j >= 0)
            {
                var other = order[start + j];
                var cmp = Resolve(labels[other].Name).SequenceCompareTo(name);
                if (cmp == 0)
                {
                    var later = Math.Max(labels[current].NamePos, labels[other].NamePos);
                    throw Error(later, $"duplicate label name '{Excerpt(name)}'");
                }

                if (cmp < 0)
                {
                    break;
                }

                order[start + j + 1] = other;
                j--;
            }

            order[start + j + 1] = current;
        }
    }

    private readonly int FindLabel(ReadOnlySpan<byte> name)
    {
        for (var i = 0; i < _labelCount; i++)
        {
            if (Resolve(_labels![i].Name).SequenceEqual(name))
            {
                return i;
            }
        }

        return -1;
    }

    private static int CountCodePoints(ReadOnlySpan<byte> utf8)
    {
        var count = 0;
        foreach (var b in utf8)
        {
            if ((b & 0xC0) != 0x80)
            {
                count++;
            }
        }

        return count;
    }

    private static Suffix ParseSuffix(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty)
        {
            return Suffix.None;
        }

        for (var suffix = Suffix.Total; suffix < Suffix.Invalid; suffix++)
        {
            if (s.SequenceEqual(SuffixText(suffix)))
            {
                return suffix;
            }
        }

        return Suffix.Invalid;
    }

    private static ReadOnlySpan<byte> SuffixText(Suffix suffix) => suffix switch
    {
        Suffix.Total => "_total"u8,
        Suffix.Created => "_created"u8,
        Suffix.Bucket => "_bucket"u8,
        Suffix.Count => "_count"u8,
        Suffix.Sum => "_sum"u8,
        Suffix.GCount => "_gcount"u8,
        Suffix.GSum => "_gsum"u8,
        Suffix.Info => "_info"u8,
        _ => default,
    };

    /// <summary>Which sample-name suffixes a family type owns, per format.</summary>
    private readonly bool IsAllowed(MetricType type, Suffix suffix)
    {
        if (_openMetrics)
        {
            return type switch
            {
                MetricType.Counter => suffix is Suffix.Total or Suffix.Created,
                MetricType.Histogram => suffix is Suffix.Bucket or Suffix.Count or Suffix.Sum or Suffix.Created,
                MetricType.GaugeHistogram => suffix is Suffix.Bucket or Suffix.GCount or Suffix.GSum,
                MetricType.Summary => suffix is Suffix.None or Suffix.Count or Suffix.Sum or Suffix.Created,
                MetricType.Info => suffix is Suffix.Info,
                _ => suffix is Suffix.None,
            };
        }

        return type switch
        {
            MetricType.Histogram => suffix is Suffix.Bucket or Suffix.Count or Suffix.Sum,
            MetricType.Summary => suffix is Suffix.None or Suffix.Count or Suffix.Sum,
            _ => suffix is Suffix.None,
        };
    }

    private readonly string ExpectedNames(FamilyRecord family)
    {
        var name = FamilyDisplay(family);
        var names = new List<string>();
        for (var s = Suffix.None; s < Suffix.Invalid; s++)
        {
            if (IsAllowed(family.Type, s))
            {
                names.Add(name + Encoding.UTF8.GetString(SuffixText(s)));
            }
        }

        return string.Join(", ", names);
    }

    private readonly string TypeName(MetricType type) => type switch
    {
        MetricType.Counter => "counter",
        MetricType.Gauge => "gauge",
        MetricType.Histogram => "histogram",
        MetricType.Summary => "summary",
        MetricType.Info => "info",
        MetricType.StateSet => "stateset",
        MetricType.GaugeHistogram => "gaugehistogram",
        _ => _openMetrics ? "unknown" : "untyped",
    };

    private static string Article(MetricType type) => type is MetricType.Info or MetricType.Unknown ? "an" : "a";

    private static string FamilyDisplay(FamilyRecord family) => Excerpt(family.Name);

    /// <summary>What the reader knows about a family it has seen.</summary>
    private sealed class FamilyRecord(byte[] name, int line)
    {
        public byte[] Name { get; } = name;

        public int Line { get; } = line;

        public MetricType Type { get; set; }

        public bool HasType { get; set; }

        public bool HasHelp { get; set; }

        public bool HasUnit { get; set; }

        public bool HasSamples { get; set; }

        public int TypeLine { get; set; }

        public int HelpLine { get; set; }

        public int UnitLine { get; set; }

        public string? NameString { get; set; }
    }

    /// <summary>The state of one histogram or summary series (MetricPoint) while its samples are read.</summary>
    private struct PointState
    {
        public int FirstLine;
        public int LastBucketLine;
        public bool HasBuckets;
        public bool SawInf;
        public bool HasCount;
        public bool HasQuantile;
        public bool CountIsGauge;
        public double LastLe;
        public double LastBucketValue;
        public double InfValue;
        public double Count;
        public double LastQuantile;
    }
}
