namespace Metrics.Coordination.RemoteWrite.Wal;

/// <summary>A place in the WAL: a segment and a byte offset in it (a record boundary).</summary>
internal readonly record struct WalPosition(int Segment, long Offset) : IComparable<WalPosition>
{
    public int CompareTo(WalPosition other) => Segment != other.Segment ? Segment.CompareTo(other.Segment) : Offset.CompareTo(other.Offset);

    public static bool operator <(WalPosition a, WalPosition b) => a.CompareTo(b) < 0;

    public static bool operator >(WalPosition a, WalPosition b) => a.CompareTo(b) > 0;

    public static bool operator <=(WalPosition a, WalPosition b) => a.CompareTo(b) <= 0;

    public static bool operator >=(WalPosition a, WalPosition b) => a.CompareTo(b) >= 0;

    public override string ToString() => $"{Segment}:{Offset}";
}

/// <summary>One sample's identity in the WAL: the start of its record and its index in the record.</summary>
internal readonly record struct SampleId(WalPosition Record, int Index) : IComparable<SampleId>
{
    public int CompareTo(SampleId other)
    {
        var c = Record.CompareTo(other.Record);
        return c != 0 ? c : Index.CompareTo(other.Index);
    }
}
