using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

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
