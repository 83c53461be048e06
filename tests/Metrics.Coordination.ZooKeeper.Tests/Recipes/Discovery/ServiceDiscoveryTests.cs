using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes.Discovery;

public class ServiceDiscoveryTests : ServerFixture
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    [Test]
    public async Task Serverset_Register_WritesFinagleMemberAndDiscoveryListsIt()
    {
        var path = UniquePath("serverset") + "/deep/service";
        var source = await RecoveringClientAsync(Server.ConnectionString);
        var reader = Own(new ZooKeeperServiceDiscovery(await RecoveringClientAsync(Server.ConnectionString), new() { Path = path }));
        (await reader.WaitForInitialLoadAsync(Wait)).Should().BeEmpty("the path does not exist yet");
        var changes = new ConcurrentQueue<ServiceMemberChange>();
        reader.Changed += (_, c) => changes.Enqueue(c);

        var options = new ServiceRegistrationOptions { Path = path, Endpoint = new("127.0.0.1", 8080), Shard = 3 };
        options.AdditionalEndpoints["admin"] = new("127.0.0.1", 9090);
        var registration = Own(await ZooKeeperServiceRegistration.RegisterAsync(source, options));
        registration.NodePath.Should().MatchRegex("/member_[0-9]{10}$");

        // The exact Finagle serverset JSON, read back raw.
        var client = await ConnectAsync();
        var raw = await client.GetDataAsync(registration.NodePath!);
        raw.Stat.EphemeralOwner.Should().Be(source.Current.SessionId);
        using (var json = JsonDocument.Parse(raw.Data))
        {
            var root = json.RootElement;
            root.EnumerateObject().Select(p => p.Name).Should().Equal("serviceEndpoint", "additionalEndpoints", "status", "shard");
            root.GetProperty("serviceEndpoint").GetProperty("host").GetString().Should().Be("127.0.0.1");
            root.GetProperty("serviceEndpoint").GetProperty("port").GetInt32().Should().Be(8080);
            root.GetProperty("additionalEndpoints").GetProperty("admin").GetProperty("port").GetInt32().Should().Be(9090);
            root.GetProperty("status").GetString().Should().Be("ALIVE");
            root.GetProperty("shard").GetInt32().Should().Be(3);
        }

        await Eventually(() => Task.FromResult(reader.Members.Count == 1), Wait, "the reader sees the member");
        var member = reader.Members.Single();
        member.Path.Should().Be(registration.NodePath);
        member.Id.Should().MatchRegex("^member_[0-9]{10}$");
        member.Endpoint.Should().Be(new ServiceEndpoint("127.0.0.1", 8080));
        member.AdditionalEndpoints["admin"].Should().Be(new ServiceEndpoint("127.0.0.1", 9090));
        member.Status.Should().Be(ServersetStatus.Alive);
        member.Shard.Should().Be(3);

        // A child not named member_ is ignored, as Finagle ignores it.
        await client.CreateAsync(path + "/other", Bytes("""{"serviceEndpoint":{"host":"10.0.0.1","port":1}}"""));

        await registration.DeregisterAsync();
        (await client.ExistsAsync(member.Path)).Should().BeNull("deregistering deletes the node");
        await Eventually(() => Task.FromResult(reader.Members.Count == 0), Wait, "the reader sees the member leave");
        await Eventually(() => Task.FromResult(changes.Count == 2), Wait, "the leave event follows the listing");
        changes.Select(c => c.Kind).Should().Equal(ConfigChangeKind.Created, ConfigChangeKind.Deleted);
        changes.Last().OldMember!.Endpoint.Port.Should().Be(8080);
    }

    [Test]
    public async Task Curator_Register_WritesServiceInstanceJsonInCuratorsFieldOrder()
    {
        var basePath = UniquePath("curator");
        var source = await RecoveringClientAsync(Server.ConnectionString);
        var registration = Own(await ZooKeeperServiceRegistration.RegisterAsync(source, new ServiceRegistrationOptions
        {
            Path = basePath,
            Format = ServiceFormat.Curator,
            ServiceName = "metrics-api",
            InstanceId = "3f1c2a8e-0000-4000-8000-000000000001",
            Endpoint = new("127.0.0.1", 8080),
            SslPort = 8443,
            PayloadJson = """{"@class":"java.util.HashMap","zone":"a"}""",
            UriSpec = "{scheme}://{address}:{port}/v1",
        }));
        registration.NodePath.Should().Be(basePath + "/metrics-api/3f1c2a8e-0000-4000-8000-000000000001");

        var client = await ConnectAsync();
        var raw = await client.GetDataAsync(registration.NodePath!);
        var text = System.Text.Encoding.UTF8.GetString(raw.Data);
        var time = Regex.Match(text, "\"registrationTimeUTC\":([0-9]+)").Groups[1].Value;
        time.Should().NotBeEmpty();

        // Curator 5.4.0's JsonInstanceSerializer output for the same values (zookeeper-recipes.md §6), time aside.
        text.Should().Be("""{"name":"metrics-api","id":"3f1c2a8e-0000-4000-8000-000000000001","address":"127.0.0.1","port":8080,"sslPort":8443,"payload":{"@class":"java.util.HashMap","zone":"a"},"registrationTimeUTC":""" + time + ""","serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"scheme","variable":true},{"value":"://","variable":false},{"value":"address","variable":true},{"value":":","variable":false},{"value":"port","variable":true},{"value":"/v1","variable":false}]}}""");
        raw.Stat.EphemeralOwner.Should().Be(source.Current.SessionId);

        var reader = Own(new ZooKeeperServiceDiscovery(await RecoveringClientAsync(Server.ConnectionString), new() { Path = basePath, Format = ServiceFormat.Curator, ServiceName = "metrics-api" }));
        var members = await reader.WaitForInitialLoadAsync(Wait);
        var member = members.Should().ContainSingle().Subject;
        member.Id.Should().Be("3f1c2a8e-0000-4000-8000-000000000001");
        member.ServiceName.Should().Be("metrics-api");
        member.Endpoint.Should().Be(new ServiceEndpoint("127.0.0.1", 8080));
        member.SslPort.Should().Be(8443);
        member.UriSpec.Should().Be("{scheme}://{address}:{port}/v1");
        member.ServiceType.Should().Be("DYNAMIC");
        member.PayloadJson.Should().Contain("\"zone\":\"a\"");
        member.RegistrationTime!.Value.ToUnixTimeMilliseconds().Should().Be(long.Parse(time, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Test]
    public async Task Curator_ReadsCuratorWrittenInstance_AndReportsBrokenOne()
    {
        var basePath = UniquePath("curatorread");
        var client = await ConnectAsync();
        await client.CreateAsync(basePath, Array.Empty<byte>());
        await client.CreateAsync(basePath + "/svc", Array.Empty<byte>());

        // Curator 5.4.0's observed output (zookeeper-recipes.md §6), created as Curator would.
        await client.CreateAsync(basePath + "/svc/3f1c2a8e-0000-4000-8000-000000000001", Bytes("""{"name":"metrics-api","id":"3f1c2a8e-0000-4000-8000-000000000001","address":"127.0.0.1","port":8080,"sslPort":8443,"payload":{"@class":"java.util.HashMap","zone":"a"},"registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"scheme","variable":true},{"value":"://","variable":false},{"value":"address","variable":true},{"value":":","variable":false},{"value":"port","variable":true},{"value":"/v1","variable":false}]}}"""), CreateMode.Ephemeral);
        await client.CreateAsync(basePath + "/svc/broken", Bytes("""{"name":"x","address":"127.0.0.1"}"""), CreateMode.Ephemeral);
        var reader = Own(new ZooKeeperServiceDiscovery(await RecoveringClientAsync(Server.ConnectionString), new() { Path = basePath, Format = ServiceFormat.Curator, ServiceName = "svc" }));
        var failures = new ConcurrentQueue<ConfigParseError>();
        reader.ParseFailed += (_, e) => failures.Enqueue(e);
        var member = (await reader.WaitForInitialLoadAsync(Wait)).Should().ContainSingle().Subject;
        member.RegistrationTime.Should().Be(DateTimeOffset.FromUnixTimeMilliseconds(1700000000000));
        member.UriSpec.Should().Be("{scheme}://{address}:{port}/v1");
        await Eventually(() => Task.FromResult(!failures.IsEmpty), Wait, "the broken instance is reported");
        failures.Single().Path.Should().EndWith("/svc/broken");
        failures.Single().Exception.Message.Should().Contain("port");
    }

    [Test]
    public async Task SessionExpiry_ReRegistersWithTheNewSession()
    {
        await using var proxy = new TcpProxy(Server.ClientPort);
        var path = UniquePath("expire");
        var client = await ConnectAsync();
        await client.CreateAsync(path, Array.Empty<byte>());
        var source = Own(await RecoveringZooKeeperClient.ConnectAsync(Options(proxy.Endpoint, TimeSpan.FromSeconds(2))));
        var registration = await ZooKeeperServiceRegistration.RegisterAsync(source, new() { Path = path, Endpoint = new("127.0.0.1", 7000) });
        Own(registration);
        var lost = new ConcurrentQueue<string>();
        registration.RegistrationLost += (_, p) => lost.Enqueue(p);
        var first = registration.NodePath!;
        var firstSession = source.Current.SessionId;

        proxy.BlackHole = true;
        await Eventually(async () => await client.ExistsAsync(first) is null, Wait, "the server expires the session and deletes its member");
        proxy.BlackHole = false;
        proxy.CutAll();

        await Eventually(() => Task.FromResult(registration.RegistrationCount == 2 && registration.NodePath is not null), Wait, "registered again with a new session");
        var second = registration.NodePath!;
        second.Should().NotBe(first);
        var stat = await client.ExistsAsync(second);
        stat!.Value.EphemeralOwner.Should().Be(source.Current.SessionId).And.NotBe(firstSession);
        (await client.GetChildrenAsync(path)).Children.Should().ContainSingle("no member of the old session is left");
        await Eventually(() => Task.FromResult(lost.Contains(first)), Wait, "the loss is reported");
    }

    [Test]
    public async Task MemberDeletedBySomeoneElse_IsRecreated()
    {
        var path = UniquePath("deleted");
        var registration = Own(await ZooKeeperServiceRegistration.RegisterAsync(await RecoveringClientAsync(Server.ConnectionString), new() { Path = path, Endpoint = new("127.0.0.1", 7001) }));
        var first = registration.NodePath!;
        var client = await ConnectAsync();
        await client.DeleteAsync(first);
        await Eventually(() => Task.FromResult(registration.RegistrationCount == 2 && registration.NodePath is not null), Wait, "re-created");
        (await client.GetChildrenAsync(path)).Children.Should().ContainSingle();
    }

    [Test]
    public async Task ConnectionLossDuringCreate_AdoptsItsNode_NoDuplicateMember()
    {
        await using var proxy = new TcpProxy(Server.ClientPort);
        var path = UniquePath("ambiguous");
        var observer = await ConnectAsync();
        await observer.CreateAsync(path, Array.Empty<byte>());
        var logs = new CapturingLoggerFactory();
        var source = Own(await RecoveringZooKeeperClient.ConnectAsync(Options(proxy.Endpoint)));

        // The create reaches the server, but its reply is held by the proxy and the connection is cut before it
        // arrives: the client cannot know whether (or under what name) the member was created.
        proxy.Delay = TimeSpan.FromMilliseconds(400);
        var cut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await observer.GetChildrenAsync(path, _ =>
        {
            proxy.CutAll();
            proxy.Delay = TimeSpan.Zero;
            cut.TrySetResult();
        });
        var registering = ZooKeeperServiceRegistration.RegisterAsync(source, new() { Path = path, Endpoint = new("127.0.0.1", 7002), LoggerFactory = logs });
        await cut.Task.WaitAsync(Wait);
        var registration = Own(await registering.WaitAsync(Wait));

        var children = (await observer.GetChildrenAsync(path)).Children;
        children.Should().ContainSingle("the node created by the lost request was adopted, not duplicated");
        registration.NodePath.Should().Be(path + "/" + children[0]);
        registration.RegistrationCount.Should().Be(1);
        logs.Entries.Should().Contain(e => e.EventId.Id == 4636, "the adoption is logged");
    }

}
