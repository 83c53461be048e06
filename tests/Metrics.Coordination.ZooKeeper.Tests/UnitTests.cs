using System.Diagnostics.Metrics;

namespace Metrics.Coordination.ZooKeeper.Tests;

public class JuteTests
{
    [Test]
    public void ConnectRequest_MatchesTheObservedBytes()
    {
        // shared/reference/zookeeper-protocol.md §2, observed against 3.8.0: 45-byte body, 4000 ms, new session.
        var w = new JuteWriter();
        w.BeginFrame();
        w.WriteInt(0);
        w.WriteLong(0);
        w.WriteInt(4000);
        w.WriteLong(0);
        w.WriteBuffer(new byte[16]);
        w.WriteBool(false);
        w.EndFrame().Should().Be(45);
        Convert.ToHexString(w.Written).ToLowerInvariant().Should().Be("0000002d" + "00000000" + "0000000000000000" + "00000fa0" + "0000000000000000" + "00000010" + new string('0', 32) + "00");
    }

    [Test]
    public void Strings_NullEmptyAndUtf8_AndChrootPaths()
    {
        var w = new JuteWriter();
        w.WriteString(null);
        w.WriteString(string.Empty);
        w.WriteString("ü");
        w.WritePath("/app"u8, "/");
        w.WritePath("/app"u8, "/x");
        w.WritePath([], "/y");
        var r = new JuteReader(w.Written);
        r.ReadString().Should().BeNull();
        r.ReadString().Should().BeEmpty();
        r.ReadString().Should().Be("ü");
        r.ReadPath("/app"u8).Should().Be("/");
        r.ReadPath("/app"u8).Should().Be("/x");
        r.ReadPath("/app"u8).Should().Be("/y");
        r.Remaining.Should().Be(0);
    }

    [Test]
    public void Stat_RoundTrips68Bytes()
    {
        var w = new JuteWriter();
        var values = new long[] { 1, 2, 3, 4 };
        foreach (var v in values)
        {
            w.WriteLong(v);
        }

        w.WriteInt(5);
        w.WriteInt(6);
        w.WriteInt(7);
        w.WriteLong(8);
        w.WriteInt(9);
        w.WriteInt(10);
        w.WriteLong(11);
        w.Length.Should().Be(68);
        new JuteReader(w.Written).ReadStat().Should().Be(new Stat(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
    }

    [Test]
    public void Truncated_OrBadLengths_AreProtocolViolations()
    {
        FluentActions.Invoking(() => new JuteReader(new byte[3]).ReadInt()).Should().Throw<ZooKeeperProtocolException>();
        FluentActions.Invoking(() => new JuteReader(new byte[] { 0, 0, 0, 9, 1 }).ReadBuffer()).Should().Throw<ZooKeeperProtocolException>();
        FluentActions.Invoking(() => new JuteReader(new byte[] { 0xff, 0xff, 0xff, 0xfe }).ReadBuffer()).Should().Throw<ZooKeeperProtocolException>();
        FluentActions.Invoking(() => new JuteReader(new byte[] { 0x7f, 0, 0, 0 }).ReadStringVector()).Should().Throw<ZooKeeperProtocolException>();
        new JuteReader(new byte[] { 0xff, 0xff, 0xff, 0xff }).ReadBuffer().Should().BeNull();
    }
}

public class PathAndConnectionStringTests
{
    [TestCase("/")]
    [TestCase("/a")]
    [TestCase("/a/b-c_d.e")]
    [TestCase("/ünïcödé")]
    [TestCase("/zookeeper")]
    public void ValidPaths(string path) => PathValidation.Check(path).Should().BeNull();

    [TestCase("")]
    [TestCase("a")]
    [TestCase("/a/")]
    [TestCase("//a")]
    [TestCase("/a//b")]
    [TestCase("/a/./b")]
    [TestCase("/a/..")]
    [TestCase("/a\0b")]
    [TestCase("/a\u0001")]
    [TestCase("/a\u009f")]
    [TestCase("/a\ud800")]
    [TestCase("/a\ufff5")]
    public void InvalidPaths(string path) => PathValidation.Check(path).Should().NotBeNull();

    [Test]
    public void SequentialPrefix_MayEndWithSlash()
    {
        PathValidation.Check("/queue/", sequential: true).Should().BeNull();
        PathValidation.Check("/queue/", sequential: false).Should().NotBeNull();
    }

    [Test]
    public void ConnectionString_HostsPortsIpv6AndChroot()
    {
        var (hosts, chroot) = ConnectionString.Parse("zk1:2182, zk2 ,[::1]:2183,10.0.0.1/app/root");
        hosts.Should().Equal(new HostAndPort("zk1", 2182), new HostAndPort("zk2", 2181), new HostAndPort("::1", 2183), new HostAndPort("10.0.0.1", 2181));
        chroot.Should().Be("/app/root");
        ConnectionString.Parse("h:1/").Chroot.Should().BeNull();
        FluentActions.Invoking(() => ConnectionString.Parse("h:1/app/")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => ConnectionString.Parse("h:0")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => ConnectionString.Parse("h:x")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => ConnectionString.Parse(",")).Should().Throw<ArgumentException>();
    }
}

public class WatchManagerTests
{
    private static readonly Action<WatchedEvent> A = _ => { };
    private static readonly Action<WatchedEvent> B = _ => { };

    [Test]
    public void Materialize_FollowsTheJavaClientsRules()
    {
        var m = new WatchManager();
        m.Add(WatchRegistration.Data, "/n", A);
        m.Add(WatchRegistration.Child, "/n", B);
        m.Materialize(EventType.NodeDataChanged, "/n").Should().Equal(A);
        m.Materialize(EventType.NodeDataChanged, "/n").Should().BeNull("one-shot");
        m.Materialize(EventType.NodeDeleted, "/n").Should().Equal(B);
        m.Add(WatchRegistration.Data, "/m", A, exists: false);
        m.Materialize(EventType.NodeCreated, "/m").Should().Equal(A);
        m.Count.Should().Be(0);
    }

    [Test]
    public void RecursiveWatches_MatchAncestors_ButNotChildrenChanged()
    {
        var m = new WatchManager();
        m.Add(WatchRegistration.PersistentRecursive, "/", A);
        m.Add(WatchRegistration.PersistentRecursive, "/a", B);
        m.Materialize(EventType.NodeCreated, "/a/b/c").Should().BeEquivalentTo([A, B]);
        m.Materialize(EventType.NodeCreated, "/ab").Should().Equal(A);
        m.Materialize(EventType.NodeChildrenChanged, "/a").Should().BeNull();
        m.Add(WatchRegistration.Persistent, "/a", A);
        m.Materialize(EventType.NodeChildrenChanged, "/a").Should().Equal(A);
        m.Count.Should().Be(3, "persistent watches stay");
    }

    [Test]
    public void Remove_TellsWhichServerTypeToSend()
    {
        var m = new WatchManager();
        m.Add(WatchRegistration.Data, "/n", A);
        m.Add(WatchRegistration.Data, "/n", B);
        m.Remove("/n", WatcherType.Data, A, out var serverType)!.Should().ContainSingle();
        serverType.Should().BeNull("B still needs the server's data watch");
        m.Add(WatchRegistration.Persistent, "/n", A);
        m.Remove("/n", WatcherType.Data, null, out serverType)!.Should().ContainSingle();
        serverType.Should().BeNull("the persistent watch shares the server registration");
        m.Remove("/n", WatcherType.Persistent, null, out serverType)!.Should().ContainSingle().Which.Event.Should().Be(EventType.PersistentWatchRemoved);
        serverType.Should().Be(3);
        m.Remove("/n", WatcherType.Any, null, out _).Should().BeNull();
    }
}

public class RetryAndExceptionTests
{
    [Test]
    public void ExceptionTypes_PerErrorFamily_WithTransience()
    {
        ZooKeeperException.Create(ErrorCode.NoNode, "/x").Should().BeOfType<NoNodeException>().Which.Path.Should().Be("/x");
        ZooKeeperException.Create(ErrorCode.ConnectionLoss).IsTransient.Should().BeTrue();
        ZooKeeperException.Create(ErrorCode.OperationTimeout).IsTransient.Should().BeTrue();
        ZooKeeperException.Create(ErrorCode.Throttled).IsTransient.Should().BeTrue();
        ZooKeeperException.Create(ErrorCode.SessionExpired).IsTransient.Should().BeFalse();
        ZooKeeperException.Create(ErrorCode.BadVersion).Should().BeOfType<BadVersionException>();
        ZooKeeperException.Create(ErrorCode.SystemError).Should().BeOfType<ZooKeeperException>().Which.Code.Should().Be(ErrorCode.SystemError);
    }

    [Test]
    public void IsSafeToRetry_OnlyWhatCannotDoubleApply()
    {
        ZooKeeperRetry.IsSafeToRetry(new ConnectionLossException(requestSent: false), idempotent: false).Should().BeTrue();
        ZooKeeperRetry.IsSafeToRetry(new ConnectionLossException(requestSent: true), idempotent: false).Should().BeFalse();
        ZooKeeperRetry.IsSafeToRetry(new ConnectionLossException(requestSent: true), idempotent: true).Should().BeTrue();
        ZooKeeperRetry.IsSafeToRetry(new OperationTimeoutException(), idempotent: false).Should().BeFalse();
        ZooKeeperRetry.IsSafeToRetry(new ThrottledException(), idempotent: false).Should().BeTrue();
        ZooKeeperRetry.IsSafeToRetry(new NodeExistsException(), idempotent: true).Should().BeFalse();
        ZooKeeperRetry.IsSafeToRetry(new SessionExpiredException(), idempotent: true).Should().BeFalse();
    }

    [Test]
    public async Task Options_AreValidated()
    {
        await FluentActions.Awaiting(() => ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions())).Should().ThrowAsync<ArgumentException>();
        await FluentActions.Awaiting(() => ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = "h:1", SessionTimeout = TimeSpan.Zero })).Should().ThrowAsync<ArgumentOutOfRangeException>();
        await FluentActions.Awaiting(() => ZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = "h:1", MaxFrameSize = 10 })).Should().ThrowAsync<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => Op.Create("/x", default, CreateMode.PersistentWithTtl, ttl: TimeSpan.Zero)).Should().Throw<ArgumentOutOfRangeException>();
    }
}

public class MetricsTests : ServerFixture
{
    [Test]
    public async Task Meter_PublishesLatencyByOperation_AndGauges()
    {
        var measurements = new List<(string Name, double Value, string? Op)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Metrics.Coordination.ZooKeeper")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void OnMeasurement<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
        {
            string? op = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "zookeeper.operation")
                {
                    op = (string?)tag.Value;
                }
            }

            lock (measurements)
            {
                measurements.Add((instrument.Name, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture), op));
            }
        }

        listener.SetMeasurementEventCallback<double>(OnMeasurement);
        listener.SetMeasurementEventCallback<int>(OnMeasurement);
        listener.SetMeasurementEventCallback<long>(OnMeasurement);
        listener.Start();

        var zk = await ConnectAsync(configure: o => o.Name = "metrics-test");
        var path = UniquePath();
        await zk.CreateAsync(path, Bytes("x"));
        await zk.GetDataAsync(path, _ => { });
        listener.RecordObservableInstruments();
        lock (measurements)
        {
            measurements.Should().Contain(m => m.Name == "zookeeper.client.request.duration" && m.Op == "get_data" && m.Value > 0);
            measurements.Should().Contain(m => m.Name == "zookeeper.client.request.duration" && m.Op == "create");
            measurements.Should().Contain(m => m.Name == "zookeeper.client.connected" && m.Value == 1);
            measurements.Should().Contain(m => m.Name == "zookeeper.client.watches" && m.Value >= 1);
            measurements.Should().Contain(m => m.Name == "zookeeper.client.requests.outstanding");
        }
    }
}
