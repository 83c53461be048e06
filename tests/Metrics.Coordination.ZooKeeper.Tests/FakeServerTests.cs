using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.ZooKeeper.Tests;

/// <summary>A scripted fake server that answers the handshake and then breaks the protocol in one chosen way.</summary>
public class FakeServerTests
{
    [TestCase("oversized-frame")]
    [TestCase("negative-frame")]
    [TestCase("xid-out-of-order")]
    [TestCase("truncated-stat")]
    [TestCase("reply-without-request")]
    public async Task ProtocolViolation_BreaksTheConnection_PendingFailWithConnectionLoss(string violation)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(8);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var connections = 0;
        var serverTask = Task.Run(async () =>
        {
            while (true)
            {
                Socket s;
                try
                {
                    s = await listener.AcceptAsync();
                }
                catch (Exception)
                {
                    return;
                }

                var n = Interlocked.Increment(ref connections);
                _ = Task.Run(() => ServeAsync(s, violation, n));
            }
        });

        await using var zk = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectionString = "127.0.0.1:" + port,
            SessionTimeout = TimeSpan.FromSeconds(3),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        });
        var requests = Enumerable.Range(0, 3).Select(_ => zk.GetDataAsync("/x").AsTask()).ToList();
        var outcome = await Task.WhenAll(requests).ContinueWith(t => t).WaitAsync(TimeSpan.FromSeconds(10));
        // The three get their (NoNode) replies first when the violation is an extra reply after them.
        var expected = violation == "reply-without-request" ? typeof(NoNodeException) : typeof(ConnectionLossException);
        requests.Should().OnlyContain(r => r.IsFaulted && r.Exception!.InnerException!.GetType() == expected);
        await Eventually(() => Volatile.Read(ref connections) >= 2, "the client reconnects (the session may still live)");
        listener.Close();
        _ = outcome;
    }

    [Test]
    public async Task ReadOnly_ProbesOtherServersWithIsro_MovesToTheFirstReadWriteOne_WithSessionIdZero()
    {
        // Two scripted servers: one read-only that never drops us, one that refuses handshakes and answers isro "ro"
        // until it turns read-write. The client must leave the read-only server by itself.
        using var readOnly = Listen();
        using var readWrite = Listen();
        var rwReady = false;
        var roConnections = 0;
        long rwSessionIdSent = -1;
        _ = AcceptAllAsync(readOnly, async stream =>
        {
            Interlocked.Increment(ref roConnections);
            await ReadFrameAsync(stream);
            await stream.WriteAsync(ConnectResponse(0x5151, readOnly: true));
            await AnswerEverythingAsync(stream);
        });
        _ = AcceptAllAsync(readWrite, async stream =>
        {
            var head = new byte[4];
            await stream.ReadExactlyAsync(head);
            if (head.AsSpan().SequenceEqual("isro"u8))
            {
                await stream.WriteAsync(Volatile.Read(ref rwReady) ? "rw"u8.ToArray() : "ro"u8.ToArray());
                return;
            }

            var body = new byte[BinaryPrimitives.ReadInt32BigEndian(head)];
            await stream.ReadExactlyAsync(body);
            if (!Volatile.Read(ref rwReady))
            {
                return;
            }

            Interlocked.Exchange(ref rwSessionIdSent, BinaryPrimitives.ReadInt64BigEndian(body.AsSpan(16)));
            await stream.WriteAsync(ConnectResponse(0x7777, readOnly: false));
            await AnswerEverythingAsync(stream);
        });

        var roEndpoint = "127.0.0.1:" + ((IPEndPoint)readOnly.LocalEndPoint!).Port;
        var rwEndpoint = "127.0.0.1:" + ((IPEndPoint)readWrite.LocalEndPoint!).Port;
        await using var zk = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectionString = roEndpoint + "," + rwEndpoint,
            SessionTimeout = TimeSpan.FromSeconds(30),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            CanBeReadOnly = true,
        });
        zk.State.Should().Be(ZooKeeperState.ConnectedReadOnly);
        zk.Server.Should().Be(roEndpoint);
        zk.SessionId.Should().Be(0x5151);

        Volatile.Write(ref rwReady, true);
        await Eventually(() => zk.State == ZooKeeperState.Connected, "the isro probe finds the read-write server");
        zk.Server.Should().Be(rwEndpoint);
        zk.SessionId.Should().Be(0x7777);
        Interlocked.Read(ref rwSessionIdSent).Should().Be(0, "a session that only saw a read-only server is not a real session");
        Volatile.Read(ref roConnections).Should().Be(1, "the read-only server never dropped the client; the client left");
    }

    [Test]
    public async Task Handshake_AnsweredByBareErrorHeader_AttemptFailsNamingTheError_ClientKeepsTrying()
    {
        // What a ZooKeeper 3.8 read-only server without localSessionsEnabled sends to a new session (observed on the
        // Debian 3.8.0 server): not a ConnectResponse but a 16-byte ReplyHeader {xid 0, zxid 0, err -119}.
        using var server = Listen();
        var handshakes = 0;
        _ = AcceptAllAsync(server, async stream =>
        {
            await ReadFrameAsync(stream);
            Interlocked.Increment(ref handshakes);
            await stream.WriteAsync(Frame([.. Int(0), .. Long(0), .. Int(-119)]));
            await ReadFrameAsync(stream);
        });

        using var logs = new CapturingLoggerFactory();
        var connect = () => ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectionString = "127.0.0.1:" + ((IPEndPoint)server.LocalEndPoint!).Port,
            ConnectTimeout = TimeSpan.FromSeconds(3),
            CanBeReadOnly = true,
            LoggerFactory = logs,
        });
        await connect.Should().ThrowAsync<ConnectionLossException>();

        var attempts = logs.Entries.Where(e => e.EventId.Id == 4004).ToList();
        attempts.Should().NotBeEmpty();
        var error = attempts[0].Exception.Should().BeOfType<ConnectionLossException>().Subject;
        error.Message.Should().Contain("NotReadOnly").And.Contain("localSessionsEnabled=true");
        error.InnerException.Should().BeOfType<NotReadOnlyException>();
        Volatile.Read(ref handshakes).Should().BeGreaterThan(1, "the attempt failed, not the client: it tried again");
    }

    /// <summary>Answers every request with an empty success reply (enough for ping and closeSession).</summary>
    private static async Task AnswerEverythingAsync(NetworkStream stream)
    {
        while (true)
        {
            var request = await ReadFrameAsync(stream);
            await stream.WriteAsync(Frame([.. request.AsSpan(0, 4).ToArray(), .. Long(1), .. Int(0)]));
        }
    }

    private static Socket Listen()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(8);
        return listener;
    }

    private static async Task AcceptAllAsync(Socket listener, Func<NetworkStream, Task> serve)
    {
        while (true)
        {
            Socket s;
            try
            {
                s = await listener.AcceptAsync();
            }
            catch (Exception)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var socket = s;
                using var stream = new NetworkStream(socket);
                try
                {
                    await serve(stream);
                }
                catch (Exception)
                {
                    // The client went away.
                }
            });
        }
    }

    private static byte[] ConnectResponse(long sessionId, bool readOnly) =>
        Frame([.. Int(0), .. Int(30000), .. Long(sessionId), .. Int(16), .. new byte[16], (byte)(readOnly ? 1 : 0)]);

    private static async Task Eventually(Func<bool> condition, string because)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        condition().Should().BeTrue(because);
    }

    private static async Task ServeAsync(Socket socket, string violation, int connection)
    {
        using var s = socket;
        using var stream = new NetworkStream(s);
        try
        {
            await ReadFrameAsync(stream);
            var response = new byte[4 + 37];
            BinaryPrimitives.WriteInt32BigEndian(response, 37);
            BinaryPrimitives.WriteInt32BigEndian(response.AsSpan(8), 3000); // timeout
            BinaryPrimitives.WriteInt64BigEndian(response.AsSpan(12), 0x1234);
            BinaryPrimitives.WriteInt32BigEndian(response.AsSpan(20), 16);
            await stream.WriteAsync(response);
            if (connection > 1)
            {
                // Later connections: stay quiet (the test only checks that the client came back).
                await Task.Delay(TimeSpan.FromSeconds(20));
                return;
            }

            var first = await ReadFrameAsync(stream);
            var xid = BinaryPrimitives.ReadInt32BigEndian(first);
            byte[] frame = violation switch
            {
                "oversized-frame" => Int(ZooKeeperClientOptions.DefaultMaxFrameSize + 1),
                "negative-frame" => Int(-5),
                "xid-out-of-order" => Frame([.. Int(xid + 7), .. Long(1), .. Int(0), .. Int(-1), .. new byte[68]]),
                "truncated-stat" => Frame([.. Int(xid), .. Long(1), .. Int(0), .. Int(-1), .. new byte[20]]),
                _ => Frame([.. Int(99), .. Long(1), .. Int(0)]),
            };
            if (violation == "reply-without-request")
            {
                // Answer all three properly, then one extra reply.
                for (var i = 0; i < 3; i++)
                {
                    await stream.WriteAsync(Frame([.. Int(xid + i), .. Long(1), .. Int(-101)]));
                    if (i < 2)
                    {
                        await ReadFrameAsync(stream);
                    }
                }
            }

            await stream.WriteAsync(frame);
            await Task.Delay(TimeSpan.FromSeconds(20));
        }
        catch (Exception)
        {
            // The client dropped us, as it should.
        }
    }

    private static byte[] Int(int v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, v);
        return b;
    }

    private static byte[] Long(long v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(b, v);
        return b;
    }

    private static byte[] Frame(byte[] body) => [.. Int(body.Length), .. body];

    private static async Task<byte[]> ReadFrameAsync(NetworkStream stream)
    {
        var length = new byte[4];
        await stream.ReadExactlyAsync(length);
        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(length)];
        await stream.ReadExactlyAsync(body);
        return body;
    }
}
