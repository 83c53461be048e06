using System.Text;
using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.RemoteWrite.Protocol;

/// <summary>
/// A series as the sender sends it: the final label set (external labels merged, sorted) and its protobuf
/// <c>Label</c> fields encoded once, so each batch only copies bytes.
/// </summary>
internal sealed class SeriesEntry
{
    public SeriesEntry(Labels labels, int id)
    {
        Labels = labels;
        Id = id;
        var size = 0;
        foreach (var l in labels.AsSpan())
        {
            size += ProtoWriter.FieldSize(1, LabelSize(l));
        }

        var bytes = new byte[size];
        var w = new ProtoWriter(bytes);
        foreach (var l in labels.AsSpan())
        {
            w.Tag(1, ProtoWriter.LengthDelimited);
            w.Uvarint((ulong)LabelSize(l));
            w.String(1, l.Name);
            w.String(2, l.Value);
        }

        EncodedLabels = bytes;
    }

    public Labels Labels { get; }

    /// <summary>A small number unique among live entries (sort key for grouping a batch by series).</summary>
    public int Id { get; }

    /// <summary>The repeated <c>Label labels = 1</c> fields of a TimeSeries.</summary>
    public byte[] EncodedLabels { get; }

    /// <summary>Stable across processes (XXH3 of the labels), so shard assignment is reproducible after a restart.</summary>
    public ulong Hash => Labels.Hash;

    private static int LabelSize(Abstractions.Label l) =>
        ProtoWriter.FieldSize(1, Encoding.UTF8.GetByteCount(l.Name)) + ProtoWriter.FieldSize(2, Encoding.UTF8.GetByteCount(l.Value));
}
