using System.Buffers;
using System.Text;

namespace Metrics.Coordination.Abstractions.Tests.Exposition;

/// <summary>Builds multi-segment <see cref="ReadOnlySequence{T}"/> inputs, so lines straddle segment boundaries.</summary>
internal static class TestSequences
{
    public static ReadOnlySequence<byte> Split(string text, int segmentSize) => Split(Encoding.UTF8.GetBytes(text), segmentSize);

    public static ReadOnlySequence<byte> Split(byte[] data, int segmentSize)
    {
        if (data.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        Segment? first = null;
        Segment? last = null;
        for (var offset = 0; offset < data.Length; offset += segmentSize)
        {
            // Copy each chunk into its own array so no segment can accidentally see its neighbour's bytes.
            var chunk = data.AsSpan(offset, Math.Min(segmentSize, data.Length - offset)).ToArray();
            var segment = new Segment(chunk);
            if (first is null)
            {
                first = segment;
            }
            else
            {
                last!.Append(segment);
            }

            last = segment;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public void Append(Segment next)
        {
            next.RunningIndex = RunningIndex + Memory.Length;
            Next = next;
        }
    }
}
