using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

// Shared by the ZooKeeper tests (this project) and the benchmarks, which compile this one file into their own assembly
// (benchmarks/Metrics.Coordination.Benchmarks.csproj links it) rather than reference the test-support project: the
// benchmark process then loads no test framework and no fixture code, and the floor stays one implementation.
namespace Metrics.Coordination.Testing;

/// <summary>
/// A bare ZooKeeper session on a blocking socket, written from the protocol alone and independent of the client under
/// test: handshake, getData, setData, frames read by the caller's own thread (one thread wake-up per frame, no pipes,
/// thread pool or dispatcher). The "floor" that latency measurements put next to the client's figures.
/// </summary>
public sealed class BlockingZooKeeperSession : IDisposable
{
    // A getData reply of the small nodes the measurements use, or a notification, fits many times over.
    private readonly byte[] _buffer = new byte[4096];
    private readonly Socket _socket;
    private int _xid;

    private BlockingZooKeeperSession(Socket socket) => _socket = socket;

    /// <summary>Opens a session (timeout 30 s) with the server at 127.0.0.1:<paramref name="port"/>; reads block for at most 30 s.</summary>
    public static BlockingZooKeeperSession Connect(int port)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 30_000 };
        socket.Connect("127.0.0.1", port);
        var session = new BlockingZooKeeperSession(socket);

        // ConnectRequest { protocolVersion 0, lastZxidSeen 0, timeOut 30000, sessionId 0, passwd (16 zero bytes) } + readOnly false.
        var body = new byte[4 + 8 + 4 + 8 + 4 + 16 + 1];
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(12), 30000);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(24), 16);
        session.Send(body);
        session.ReadFrame();
        return session;
    }

    /// <summary>Sends getData (opcode 4) for <paramref name="path"/>, with or without a watch; the reply is read separately.</summary>
    public void GetData(string path, bool watch) => Send(Request(4, path, [watch ? (byte)1 : (byte)0]));

    /// <summary>Sends setData (opcode 5): <paramref name="value"/> as a 4-byte big-endian buffer, any version.</summary>
    public void SetData(string path, int value)
    {
        // SetDataRequest: data (a 4-byte buffer), then version -1.
        var tail = new byte[4 + 4 + 4];
        BinaryPrimitives.WriteInt32BigEndian(tail, 4);
        BinaryPrimitives.WriteInt32BigEndian(tail.AsSpan(4), value);
        BinaryPrimitives.WriteInt32BigEndian(tail.AsSpan(8), -1);
        Send(Request(5, path, tail));
    }

    /// <summary>Reads one frame and returns its xid (-1: a notification).</summary>
    /// <exception cref="InvalidOperationException">The frame's length is out of range.</exception>
    /// <exception cref="EndOfStreamException">The server closed the connection.</exception>
    public int ReadFrame()
    {
        ReadExactly(_buffer.AsSpan(0, 4));
        var length = BinaryPrimitives.ReadInt32BigEndian(_buffer);
        if (length < 4 || length > _buffer.Length)
        {
            throw new InvalidOperationException($"unexpected frame length {length}");
        }

        ReadExactly(_buffer.AsSpan(0, length));
        return BinaryPrimitives.ReadInt32BigEndian(_buffer);
    }

    /// <summary>Reads a frame that must be a notification (xid -1).</summary>
    /// <exception cref="InvalidOperationException">It was something else.</exception>
    public void ExpectNotification()
    {
        var xid = ReadFrame();
        if (xid != -1)
        {
            throw new InvalidOperationException($"expected a notification (xid -1), got xid {xid}");
        }
    }

    /// <summary>Reads a frame that must be the successful reply to the last request sent.</summary>
    /// <exception cref="InvalidOperationException">It was something else, or an error reply.</exception>
    public void ExpectReply()
    {
        var xid = ReadFrame();
        var err = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(12));
        if (xid != _xid || err != 0)
        {
            throw new InvalidOperationException($"expected the reply to xid {_xid}, got xid {xid} err {err}");
        }
    }

    /// <summary>Closes the socket (the server ends the session when it times out).</summary>
    public void Dispose() => _socket.Dispose();

    private byte[] Request(int opCode, string path, byte[] tail)
    {
        var pathBytes = Encoding.UTF8.GetBytes(path);
        var body = new byte[4 + 4 + 4 + pathBytes.Length + tail.Length];
        BinaryPrimitives.WriteInt32BigEndian(body, ++_xid);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(4), opCode);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(8), pathBytes.Length);
        pathBytes.CopyTo(body, 12);
        tail.CopyTo(body, 12 + pathBytes.Length);
        return body;
    }

    private void Send(byte[] body)
    {
        var frame = new byte[4 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
        body.CopyTo(frame, 4);
        _socket.Send(frame);
    }

    private void ReadExactly(Span<byte> span)
    {
        while (span.Length > 0)
        {
            var n = _socket.Receive(span);
            if (n == 0)
            {
                throw new EndOfStreamException("The server closed the floor's session.");
            }

            span = span[n..];
        }
    }
}

/// <summary>
/// The config-watcher floor: a setter and <c>watchers</c> bare sessions (<see cref="BlockingZooKeeperSession"/>) that
/// watch one node, all read by the calling thread. A round is what a config watcher must do to see a new value:
/// setData, then per session the notification, a getData that re-arms the watch, its reply.
/// </summary>
public sealed class BlockingConfigFloor : IDisposable
{
    private readonly BlockingZooKeeperSession _setter;
    private readonly BlockingZooKeeperSession[] _watchers;
    private readonly string _path;
    private int _value;

    private BlockingConfigFloor(BlockingZooKeeperSession setter, BlockingZooKeeperSession[] watchers, string path)
    {
        _setter = setter;
        _watchers = watchers;
        _path = path;
    }

    /// <summary>Connects the setter and <paramref name="watchers"/> sessions and arms their watches on <paramref name="path"/> (which must exist).</summary>
    public static BlockingConfigFloor Connect(int port, string path, int watchers)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(watchers);
        var setter = BlockingZooKeeperSession.Connect(port);
        var sessions = Enumerable.Range(0, watchers).Select(_ => BlockingZooKeeperSession.Connect(port)).ToArray();
        foreach (var session in sessions)
        {
            session.GetData(path, watch: true);
            session.ExpectReply();
        }

        return new BlockingConfigFloor(setter, sessions, path);
    }

    /// <summary>
    /// Runs <paramref name="count"/> rounds (setData, then per session notification, getData re-arming, reply) and returns
    /// one sample per session and round: ms from sending setData to reading that session's reply. Blocks the calling thread.
    /// </summary>
    public List<double> Rounds(int count)
    {
        var samples = new List<double>(count * _watchers.Length);
        for (var r = 0; r < count; r++)
        {
            var start = Stopwatch.GetTimestamp();
            _setter.SetData(_path, ++_value);
            foreach (var session in _watchers)
            {
                session.ExpectNotification();
                session.GetData(_path, watch: true);
            }

            foreach (var session in _watchers)
            {
                session.ExpectReply();
                samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            _setter.ExpectReply();
        }

        return samples;
    }

    /// <summary>Closes every session.</summary>
    public void Dispose()
    {
        _setter.Dispose();
        foreach (var session in _watchers)
        {
            session.Dispose();
        }
    }
}
