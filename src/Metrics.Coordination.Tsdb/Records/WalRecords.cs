using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.Tsdb.Records;

/// <summary>WAL record types (the first payload byte), as Prometheus numbers them.</summary>
internal enum WalRecordType : byte
{
    /// <summary>Not a valid record.</summary>
    Unknown = 0,

    /// <summary>Series definitions: ref and labels.</summary>
    Series = 1,

    /// <summary>Float samples: ref, timestamp, value bits.</summary>
    Samples = 2,

    /// <summary>Deleted intervals per series.</summary>
    Tombstones = 3,

    /// <summary>Exemplars (not used here).</summary>
    Exemplars = 4,

    /// <summary>Out-of-order m-map markers (Prometheus's WBL): series ref and head-chunk ref pairs.</summary>
    MmapMarkers = 5,
}

/// <summary>A series definition from a WAL record.</summary>
internal readonly record struct RefSeries(ulong Ref, Labels Labels);

/// <summary>A sample from a WAL record.</summary>
internal readonly record struct RefSample(ulong Ref, long T, ulong V);

/// <summary>A deleted interval [MinTime, MaxTime] (closed) of one series.</summary>
internal readonly record struct RefTombstone(ulong Ref, long MinTime, long MaxTime);

/// <summary>Encodes and decodes Prometheus's WAL records (see <c>docs/format/wal.md</c>).</summary>
internal static class WalRecords
{
    /// <summary>The record type of <paramref name="record"/>.</summary>
    public static WalRecordType TypeOf(ReadOnlySpan<byte> record) => record.IsEmpty ? WalRecordType.Unknown : (WalRecordType)record[0];

    public static void EncodeSeries<T>(ByteBuffer buffer, IReadOnlyList<T> series, Func<T, (ulong Ref, Labels Labels)> select)
    {
        buffer.Byte((byte)WalRecordType.Series);
        foreach (var item in series)
        {
            var (r, labels) = select(item);
            buffer.Be64(r);
            buffer.Uvarint((ulong)labels.Count);
            foreach (var l in labels.AsSpan())
            {
                buffer.Ustr(l.Name);
                buffer.Ustr(l.Value);
            }
        }
    }

    public static void EncodeSamples<T>(ByteBuffer buffer, IReadOnlyList<T> samples, Func<T, RefSample> select)
    {
        buffer.Byte((byte)WalRecordType.Samples);
        if (samples.Count == 0)
        {
            return;
        }

        var first = select(samples[0]);
        buffer.Be64(first.Ref);
        buffer.Be64((ulong)first.T);
        foreach (var item in samples)
        {
            var s = select(item);
            buffer.Varint((long)(s.Ref - first.Ref));
            buffer.Varint(s.T - first.T);
            buffer.Be64(s.V);
        }
    }

    public static void EncodeTombstones(ByteBuffer buffer, IReadOnlyList<RefTombstone> stones)
    {
        buffer.Byte((byte)WalRecordType.Tombstones);
        foreach (var s in stones)
        {
            buffer.Be64(s.Ref);
            buffer.Varint(s.MinTime);
            buffer.Varint(s.MaxTime);
        }
    }

    /// <summary>Decodes a Series record into <paramref name="into"/>.</summary>
    public static void DecodeSeries(ReadOnlySpan<byte> record, List<RefSeries> into)
    {
        var r = Start(record, WalRecordType.Series);
        var pairs = new List<Label>();
        while (!r.End)
        {
            var reference = r.Be64();
            var n = r.Uvarint();
            if (n > (ulong)r.Remaining)
            {
                throw new InvalidDataException($"series record claims {n} labels");
            }

            pairs.Clear();
            for (var i = 0UL; i < n; i++)
            {
                pairs.Add(new Label(r.Ustr(), r.Ustr()));
            }

            into.Add(new RefSeries(reference, Labels.From(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pairs))));
        }
    }

    /// <summary>Decodes a Samples record into <paramref name="into"/>.</summary>
    public static void DecodeSamples(ReadOnlySpan<byte> record, List<RefSample> into)
    {
        var r = Start(record, WalRecordType.Samples);
        if (r.End)
        {
            return;
        }

        var baseRef = r.Be64();
        var baseT = (long)r.Be64();
        while (!r.End)
        {
            var dRef = r.Varint();
            var dT = r.Varint();
            var v = r.Be64();
            into.Add(new RefSample((ulong)((long)baseRef + dRef), baseT + dT, v));
        }
    }

    /// <summary>Decodes a Tombstones record into <paramref name="into"/>.</summary>
    public static void DecodeTombstones(ReadOnlySpan<byte> record, List<RefTombstone> into)
    {
        var r = Start(record, WalRecordType.Tombstones);
        while (!r.End)
        {
            into.Add(new RefTombstone(r.Be64(), r.Varint(), r.Varint()));
        }
    }

    private static ByteReader Start(ReadOnlySpan<byte> record, WalRecordType expected)
    {
        if (TypeOf(record) != expected)
        {
            throw new InvalidDataException($"expected a {expected} record, got type {(record.IsEmpty ? -1 : record[0])}");
        }

        return new ByteReader(record[1..]);
    }
}
