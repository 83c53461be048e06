using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Metrics.Coordination.ZooKeeper.Tests;

/// <summary>Opcode gating by server version: parsing <c>srvr</c>, the version table, and a scripted 3.5.9 server.</summary>
public class ServerFeaturesTests
{
    [TestCase("Zookeeper version: 3.8.0-5a02a05eddb59aee6ac762f7ea82e92a68eb9c0f, built on 2022-02-25 08:49 UTC\nLatency min/avg/max: 0/0.0/0\n", 3, 8, 0)]
    [TestCase("Zookeeper version: 3.5.9-83df9301aa5c2a5d284a9940177808c01bc35cef, built on 01/06/2021 20:03 GMT\n", 3, 5, 9)]
    [TestCase("Zookeeper version: 3.4.14-4c25d480e66aadd371de8bd2fd8da255ac140bcf, built on 03/06/2019 16:18 GMT\r\n", 3, 4, 14)]
    [TestCase("Zookeeper version: 3.9\n", 3, 9, 0)]
    public void ParseSrvr_VersionLine_GivesTheVersion(string answer, int major, int minor, int patch)
    {
        ServerFeatures.ParseSrvr(answer).Should().Be(new Version(major, minor, patch));
    }

    [TestCase("")]
    [TestCase("srvr is not executed because it is not in the whitelist.\n")]
    [TestCase("Zookeeper version: unknown\n")]
    public void ParseSrvr_NoVersion_GivesNull(string answer)
    {
        ServerFeatures.ParseSrvr(answer).Should().BeNull();
    }

    [TestCase("addWatch", "3.5.9", true)]
    [TestCase("addWatch", "3.6.0", false)]
    [TestCase("getEphemerals", "3.5.9", true)]
    [TestCase("getAllChildrenNumber", "3.5.9", true)]
    [TestCase("createTTL", "3.5.2", true)]
    [TestCase("createTTL", "3.5.3", false)]
    [TestCase("createContainer", "3.4.14", true)]
    [TestCase("removeWatches", "3.4.14", true)]
    [TestCase("removeWatches", "3.5.0", false)]
    public void Check_FakeServerVersion_RefusesOlderServers(string operation, string server, bool refused)
    {
        var required = operation switch
        {
            "addWatch" => ServerFeatures.PersistentWatches,
            "getEphemerals" => ServerFeatures.GetEphemerals,
            "getAllChildrenNumber" => ServerFeatures.GetAllChildrenNumber,
            "createTTL" => ServerFeatures.Ttl,
            "createContainer" => ServerFeatures.Containers,
            _ => ServerFeatures.RemoveWatches,
        };
        var check = () => ServerFeatures.Check(operation, required, Version.Parse(server), "127.0.0.1:2181", "/a");
        if (!refused)
        {
            check.Should().NotThrow();
            return;
        }

        var e = check.Should().Throw<ServerVersionException>().Which;
        e.Code.Should().Be(ErrorCode.Unimplemented);
        e.IsTransient.Should().BeFalse();
        e.Operation.Should().Be(operation);
        e.RequiredVersion.Should().Be(required);
        e.ServerVersion.Should().Be(Version.Parse(server));
        e.Path.Should().Be("/a");
        e.Message.Should().Contain(operation).And.Contain(required.ToString()).And.Contain(server).And.Contain("127.0.0.1:2181");
    }

    [Test]
    public void Check_UnknownVersion_LetsTheOperationThrough()
    {
        FluentActions.Invoking(() => ServerFeatures.Check("addWatch", ServerFeatures.PersistentWatches, null, "s", null)).Should().NotThrow();
    }

    [Test]
    public async Task ScriptedServer_3_5_9_GatedOperationsFailOnTheClient_ConnectionStaysUp()
    {
        // A scripted server that says it runs 3.5.9 and would drop the connection on any opcode it does not know.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(8);
        var opcodes = new List<int>();
        var sessions = 0;
        _ = Task.Run(async () =>
        {
            while (true)
            {
                Socket accepted;
                try
                {
                    accepted = await listener.AcceptAsync();
                }
                catch (Exception)
                {
                    return;
                }

                _ = Task.Run(async () =>
                {
                    using var socket = accepted;
                    using var stream = new NetworkStream(socket);
                    try
                    {
                        var head = new byte[4];
                        await stream.ReadExactlyAsync(head);
                        if (head.AsSpan().SequenceEqual("srvr"u8))
                        {
                            await stream.WriteAsync(Encoding.ASCII.GetBytes("Zookeeper version: 3.5.9-83df9301aa5c2a5d284a9940177808c01bc35cef, built on 01/06/2021 20:03 GMT\nMode: standalone\n"));
                            return;
                        }

                        await stream.ReadExactlyAsync(new byte[BinaryPrimitives.ReadInt32BigEndian(head)]);
                        Interlocked.Increment(ref sessions);
                        await stream.WriteAsync(Frame([.. Int(0), .. Int(30000), .. Long(0x35), .. Int(16), .. new byte[16], 0]));
                        while (true)
                        {
                            await stream.ReadExactlyAsync(head);
                            var body = new byte[BinaryPrimitives.ReadInt32BigEndian(head)];
                            await stream.ReadExactlyAsync(body);
                            var xid = BinaryPrimitives.ReadInt32BigEndian(body);
                            var type = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(4));
                            lock (opcodes)
                            {
                                opcodes.Add(type);
                            }

                            if (type is 103 or 104 or 106 or 21)
                            {
                                return; // what an old server does with an opcode it does not know
                            }

                            await stream.WriteAsync(Frame([.. Int(xid), .. Long(1), .. Int(-101)]));
                        }
                    }
                    catch (Exception)
                    {
                        // The client went away.
                    }
                });
            }
        });

        await using var zk = await ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions
        {
            ConnectionString = "127.0.0.1:" + ((IPEndPoint)listener.LocalEndPoint!).Port,
            SessionTimeout = TimeSpan.FromSeconds(30),
        });

        var addWatch = await FluentActions.Awaiting(async () => await zk.AddWatchAsync("/a", _ => { })).Should().ThrowAsync<ServerVersionException>();
        addWatch.Which.Message.Should().Be("addWatch needs ZooKeeper 3.6.0 or later; the connected server " + zk.Server + " runs 3.5.9 (path /a).");
        (await FluentActions.Awaiting(async () => await zk.GetEphemeralsAsync()).Should().ThrowAsync<ServerVersionException>()).Which.Operation.Should().Be("getEphemerals");
        (await FluentActions.Awaiting(async () => await zk.GetAllChildrenNumberAsync("/")).Should().ThrowAsync<ServerVersionException>()).Which.Operation.Should().Be("getAllChildrenNumber");

        // Operations 3.5.9 knows are sent as usual (the script answers NoNode), on the same connection.
        await FluentActions.Awaiting(async () => await zk.GetDataAsync("/a")).Should().ThrowAsync<NoNodeException>();
        zk.State.Should().Be(ZooKeeperState.Connected);
        Volatile.Read(ref sessions).Should().Be(1, "the connection was never dropped");
        lock (opcodes)
        {
            opcodes.Should().Equal([4], "only getData reached the server");
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
}
