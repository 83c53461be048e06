using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.Hosting.Tests;

/// <summary><see cref="ZooKeeperAlertStateStore"/> against a real ZooKeeper 3.8.</summary>
[Category("Integration")]
public class ZooKeeperAlertStateStoreTests
{
    private ZooKeeperServer _server = null!;
    private RecoveringZooKeeperClient _client = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        _server = await ZooKeeperServer.StartAsync();
        _client = await RecoveringZooKeeperClient.ConnectAsync(new ZooKeeperClientOptions { ConnectionString = _server.ConnectionString, SessionTimeout = TimeSpan.FromSeconds(10) });
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Test]
    public async Task PublishThenLoad_RoundTripsEveryField_OneZnodePerGroup()
    {
        var store = new ZooKeeperAlertStateStore(_client, Root());
        var state = State("/etc/rules/a.yml;ha", 0x1_0000_0007, "replica-a");

        (await store.PublishAsync(state)).Should().Be(AlertStatePublishResult.Published);
        var loaded = await store.LoadAsync(state.GroupKey);

        loaded.Should().NotBeNull();
        loaded!.GroupKey.Should().Be(state.GroupKey);
        loaded.FencingToken.Should().Be(state.FencingToken);
        loaded.Publisher.Should().Be("replica-a");
        loaded.PublishedAt.Should().Be(state.PublishedAt);
        loaded.Alerts.Should().ContainSingle().Which.Should().BeEquivalentTo(state.Alerts[0]);
        (await store.LoadAsync("/etc/rules/a.yml;other")).Should().BeNull();
        var children = await (await _client.GetClientAsync()).GetChildrenAsync(store.RootPath);
        children.Children.Should().Equal("%2Fetc%2Frules%2Fa.yml%3Bha");
    }

    [Test]
    public async Task Publish_LowerTokenThanStored_IsFencedAndLeavesTheNewerState()
    {
        var store = new ZooKeeperAlertStateStore(_client, Root());
        (await store.PublishAsync(State("f;g", 20, "new-leader"))).Should().Be(AlertStatePublishResult.Published);

        (await store.PublishAsync(State("f;g", 19, "deposed"))).Should().Be(AlertStatePublishResult.Fenced);
        (await store.PublishAsync(State("f;g", 20, "new-leader"))).Should().Be(AlertStatePublishResult.Published, "the same term may publish again");

        (await store.LoadAsync("f;g"))!.Publisher.Should().Be("new-leader");
    }

    [Test]
    public async Task Publish_ConcurrentTerms_TheHighestTokenWins()
    {
        var store = new ZooKeeperAlertStateStore(_client, Root());
        var other = new ZooKeeperAlertStateStore(_client, store.RootPath);
        var tasks = Enumerable.Range(1, 8).Select(i => (i % 2 == 0 ? store : other).PublishAsync(State("f;g", i, "p" + i)).AsTask()).ToList();
        await Task.WhenAll(tasks);

        (await store.LoadAsync("f;g"))!.FencingToken.Should().Be(8);
    }

    [Test]
    public async Task Load_ForeignData_ThrowsInvalidDataNamingThePath()
    {
        var store = new ZooKeeperAlertStateStore(_client, Root());
        (await store.PublishAsync(State("f;g", 1, "a"))).Should().Be(AlertStatePublishResult.Published);
        await (await _client.GetClientAsync()).SetDataAsync(store.PathOf("f;g"), Encoding.UTF8.GetBytes("not json"));

        var act = async () => await store.LoadAsync("f;g");
        (await act.Should().ThrowAsync<InvalidDataException>()).WithMessage($"*{store.PathOf("f;g")}*");
    }

    private static string Root() => "/alert-state-" + Guid.NewGuid().ToString("N")[..8];

    private static AlertGroupState State(string key, long token, string publisher) => new()
    {
        GroupKey = key,
        FencingToken = token,
        Publisher = publisher,
        PublishedAt = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_123),
        Alerts =
        [
            new PublishedAlert
            {
                Rule = "AlwaysOn",
                Fingerprint = Labels.FromStrings("alertname", "AlwaysOn", "severity", "page").Hash,
                Labels = Labels.FromStrings("alertname", "AlwaysOn", "severity", "page", "team", "ü"),
                State = AlertState.Firing,
                ActiveAt = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000),
                FiredAt = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_002_000),
                LastSentAt = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_003_000),
                ValidUntil = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_015_000),
                LastSentTerm = token,
            },
        ],
    };
}
