using System.Buffers.Binary;
using Metrics.Coordination.Tsdb.Chunks;
using Microsoft.Win32.SafeHandles;

namespace Metrics.Coordination.RemoteWrite.Wal;

/// <summary>
/// What the sender has had acknowledged: every sample in records before <see cref="Committed"/>, and per shard every
/// sample up to its mark (shards acknowledge their own samples in WAL order, so a mark is a prefix of that shard's
/// stream). A restart re-reads from <see cref="Committed"/> with <see cref="ShardCount"/> shards and skips samples at or
/// before their shard's mark, so nothing acknowledged is sent again.
/// </summary>
internal sealed record PositionState(WalPosition Committed, int ShardCount, SampleId?[] Marks);

/// <summary>
/// The position file: two slots written alternately (a torn write leaves the other intact), each with a generation
/// and a CRC-32C; the valid slot with the higher generation wins. Written after every acknowledged batch (reaches the
/// OS: survives a process kill), fsynced by <see cref="Sync"/> (survives power loss).
/// </summary>
internal sealed class PositionStore : IDisposable
{
    /// <summary>Most shards a slot holds: 17 bytes each must fit the 64 KiB slot.</summary>
    public const int MaxShards = 3000;

    // Each slot starts at a multiple of this; 64 KiB holds the header and 3000 marks.
    private const int SlotStride = 64 * 1024;
    private const uint Magic = 0x52575031; // "RWP1"
    private const int HeaderSize = 4 + 8 + 4 + 8 + 4;
    private const int MarkSize = 1 + 4 + 8 + 4;

    private readonly SafeFileHandle _file;
    private readonly byte[] _buffer = new byte[SlotStride];
    private readonly Lock _lock = new();
    private ulong _generation;
    private bool _dirty;

    public PositionStore(string path)
    {
        Path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var existed = File.Exists(path);
        _file = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        if (!existed)
        {
            Tsdb.Wal.FileSystem.SyncDirectory(System.IO.Path.GetDirectoryName(path)!);
        }
    }

    public string Path { get; }

    /// <summary>The newest valid state, or null for a new (or wholly unreadable) file.</summary>
    public PositionState? Load()
    {
        lock (_lock)
        {
            PositionState? best = null;
            ulong bestGeneration = 0;
            for (var slot = 0; slot < 2; slot++)
            {
                if (ReadSlot(slot) is ({ } state, var generation) && (best is null || generation > bestGeneration))
                {
                    best = state;
                    bestGeneration = generation;
                }
            }

            _generation = bestGeneration;
            return best;
        }
    }

    /// <summary>Writes <paramref name="state"/> to the older slot (no fsync).</summary>
    public void Save(PositionState state)
    {
        lock (_lock)
        {
            _generation++;
            var span = _buffer.AsSpan();
            BinaryPrimitives.WriteUInt32BigEndian(span, Magic);
            BinaryPrimitives.WriteUInt64BigEndian(span[4..], _generation);
            BinaryPrimitives.WriteInt32BigEndian(span[12..], state.Committed.Segment);
            BinaryPrimitives.WriteInt64BigEndian(span[16..], state.Committed.Offset);
            BinaryPrimitives.WriteInt32BigEndian(span[24..], state.ShardCount);
            var at = HeaderSize;
            for (var i = 0; i < state.ShardCount; i++)
            {
                var mark = i < state.Marks.Length ? state.Marks[i] : null;
                span[at] = mark is null ? (byte)0 : (byte)1;
                BinaryPrimitives.WriteInt32BigEndian(span[(at + 1)..], mark?.Record.Segment ?? 0);
                BinaryPrimitives.WriteInt64BigEndian(span[(at + 5)..], mark?.Record.Offset ?? 0);
                BinaryPrimitives.WriteInt32BigEndian(span[(at + 13)..], mark?.Index ?? 0);
                at += MarkSize;
            }

            BinaryPrimitives.WriteUInt32BigEndian(span[at..], Crc32C.Compute(span[..at]));
            at += 4;
            RandomAccess.Write(_file, span[..at], (long)(_generation % 2) * SlotStride);
            _dirty = true;
        }
    }

    /// <summary>fsyncs if anything was written since the last sync.</summary>
    public void Sync()
    {
        lock (_lock)
        {
            if (_dirty)
            {
                RandomAccess.FlushToDisk(_file);
                _dirty = false;
            }
        }
    }

    public void Dispose()
    {
        Sync();
        _file.Dispose();
    }

    private (PositionState?, ulong) ReadSlot(int slot)
    {
        var span = _buffer.AsSpan();
        var n = RandomAccess.Read(_file, span, (long)slot * SlotStride);
        if (n < HeaderSize + 4 || BinaryPrimitives.ReadUInt32BigEndian(span) != Magic)
        {
            return (null, 0);
        }

        var shards = BinaryPrimitives.ReadInt32BigEndian(span[24..]);
        if (shards < 1 || shards > MaxShards || n < HeaderSize + (shards * MarkSize) + 4)
        {
            return (null, 0);
        }

        var end = HeaderSize + (shards * MarkSize);
        if (Crc32C.Compute(span[..end]) != BinaryPrimitives.ReadUInt32BigEndian(span[end..]))
        {
            return (null, 0);
        }

        var marks = new SampleId?[shards];
        for (var i = 0; i < shards; i++)
        {
            var at = HeaderSize + (i * MarkSize);
            if (span[at] == 1)
            {
                marks[i] = new SampleId(
                    new WalPosition(BinaryPrimitives.ReadInt32BigEndian(span[(at + 1)..]), BinaryPrimitives.ReadInt64BigEndian(span[(at + 5)..])),
                    BinaryPrimitives.ReadInt32BigEndian(span[(at + 13)..]));
            }
        }

        var committed = new WalPosition(BinaryPrimitives.ReadInt32BigEndian(span[12..]), BinaryPrimitives.ReadInt64BigEndian(span[16..]));
        return (new PositionState(committed, shards, marks), BinaryPrimitives.ReadUInt64BigEndian(span[4..]));
    }
}
