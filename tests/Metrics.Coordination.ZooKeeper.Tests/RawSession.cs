using System.Buffers.Binary;
using System.Net.Sockets;

namespace Metrics.Coordination.ZooKeeper.Tests;

/// <summary>
/// A hand-written protocol exchange, independent of the client under test: re-attach to a session with its id and
/// password (the server drops the session's other connection), then send closeSession (-11), which ends the session
/// on the server (its ephemerals are deleted) while the owning client does not know yet.
/// </summary>
internal static class RawSession
{
    public static async Task CloseAsync(int port, long sessionId, byte[] password)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", port, deadline.Token);

        // ConnectRequest { int protocolVersion; long lastZxidSeen; int timeOut; long sessionId; buffer passwd } + bool readOnly.
        var connect = new byte[4 + 4 + 8 + 4 + 8 + 4 + password.Length + 1];
        BinaryPrimitives.WriteInt32BigEndian(connect, connect.Length - 4);
        BinaryPrimitives.WriteInt32BigEndian(connect.AsSpan(4), 0);
        BinaryPrimitives.WriteInt64BigEndian(connect.AsSpan(8), 0);
        BinaryPrimitives.WriteInt32BigEndian(connect.AsSpan(16), 10000);
        BinaryPrimitives.WriteInt64BigEndian(connect.AsSpan(20), sessionId);
        BinaryPrimitives.WriteInt32BigEndian(connect.AsSpan(28), password.Length);
        password.CopyTo(connect.AsSpan(32));
        await socket.SendAsync(connect, deadline.Token);
        var response = await ReadFrameAsync(socket, deadline.Token);
        var timeout = BinaryPrimitives.ReadInt32BigEndian(response.AsSpan(4));
        var id = BinaryPrimitives.ReadInt64BigEndian(response.AsSpan(8));
        if (timeout <= 0 || id != sessionId)
        {
            throw new InvalidOperationException($"Re-attaching to session 0x{sessionId:x} was refused (timeOut {timeout}, session 0x{id:x}).");
        }

        // RequestHeader { int xid; int type = closeSession (-11) }, empty body; the reply header carries our xid.
        var close = new byte[12];
        BinaryPrimitives.WriteInt32BigEndian(close, 8);
        BinaryPrimitives.WriteInt32BigEndian(close.AsSpan(4), 1);
        BinaryPrimitives.WriteInt32BigEndian(close.AsSpan(8), -11);
        await socket.SendAsync(close, deadline.Token);
        var reply = await ReadFrameAsync(socket, deadline.Token);
        var xid = BinaryPrimitives.ReadInt32BigEndian(reply);
        var err = BinaryPrimitives.ReadInt32BigEndian(reply.AsSpan(12));
        if (xid != 1 || err != 0)
        {
            throw new InvalidOperationException($"closeSession answered xid {xid}, err {err}.");
        }
    }

    private static async Task<byte[]> ReadFrameAsync(Socket socket, CancellationToken cancellationToken)
    {
        var length = new byte[4];
        await ReadExactlyAsync(socket, length, cancellationToken);
        var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(length)];
        await ReadExactlyAsync(socket, frame, cancellationToken);
        return frame;
    }

    private static async Task ReadExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (buffer.Length > 0)
        {
            var n = await socket.ReceiveAsync(buffer, cancellationToken);
            if (n == 0)
            {
                throw new IOException("The server closed the connection.");
            }

            buffer = buffer[n..];
        }
    }
}
