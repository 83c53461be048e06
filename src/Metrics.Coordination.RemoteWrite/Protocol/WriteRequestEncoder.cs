using Metrics.Coordination.RemoteWrite.Wal;

namespace Metrics.Coordination.RemoteWrite.Protocol;

/// <summary>A queued sample: its series, timestamp, value and where it came from in the WAL.</summary>
internal readonly record struct PendingSample(SeriesEntry Series, long T, double V, SampleId Id);

/// <summary>
/// Encodes a batch as a remote-write 1.0 <c>WriteRequest</c>: samples of the same series are grouped into one
/// <c>TimeSeries</c> (in their WAL order, which is timestamp order per series), labels copied from the series' cached
/// encoding. One encoder per shard; it reuses its buffers.
/// </summary>
internal sealed class WriteRequestEncoder
{
    private long[] _keys = new long[64];
    private byte[] _buffer = new byte[4096];

    /// <summary>Encodes <paramref name="count"/> samples; the result is valid until the next call.</summary>
    public ReadOnlySpan<byte> Encode(PendingSample[] samples, int count)
    {
        if (_keys.Length < count)
        {
            _keys = new long[Math.Max(count, _keys.Length * 2)];
        }

        // Sort by (series id, position in batch): groups a series' samples and keeps their order.
        var keys = _keys.AsSpan(0, count);
        for (var i = 0; i < count; i++)
        {
            keys[i] = ((long)samples[i].Series.Id << 32) | (uint)i;
        }

        keys.Sort();

        var size = 0;
        for (var i = 0; i < count;)
        {
            var series = samples[(int)keys[i]].Series;
            var body = series.EncodedLabels.Length;
            var j = i;
            for (; j < count && samples[(int)keys[j]].Series == series; j++)
            {
                body += SampleFieldSize(samples[(int)keys[j]].T);
            }

            size += ProtoWriter.FieldSize(1, body);
            i = j;
        }

        if (_buffer.Length < size)
        {
            _buffer = new byte[Math.Max(size, _buffer.Length * 2)];
        }

        var w = new ProtoWriter(_buffer);
        for (var i = 0; i < count;)
        {
            var series = samples[(int)keys[i]].Series;
            var body = series.EncodedLabels.Length;
            var j = i;
            for (; j < count && samples[(int)keys[j]].Series == series; j++)
            {
                body += SampleFieldSize(samples[(int)keys[j]].T);
            }

            w.Tag(1, ProtoWriter.LengthDelimited);
            w.Uvarint((ulong)body);
            w.Raw(series.EncodedLabels);
            for (var k = i; k < j; k++)
            {
                ref readonly var s = ref samples[(int)keys[k]];
                w.Tag(2, ProtoWriter.LengthDelimited);
                w.Uvarint((ulong)SampleSize(s.T));
                w.Tag(1, ProtoWriter.Fixed64);
                w.Double(s.V);
                w.Tag(2, ProtoWriter.Varint);
                w.Uvarint((ulong)s.T);
            }

            i = j;
        }

        return _buffer.AsSpan(0, w.Position);
    }

    // Sample { double value = 1 (tag + 8 bytes); int64 timestamp = 2 (tag + varint, 10 bytes when negative) }.
    private static int SampleSize(long t) => 9 + 1 + ProtoWriter.UvarintSize((ulong)t);

    private static int SampleFieldSize(long t) => 1 + 1 + SampleSize(t);
}
