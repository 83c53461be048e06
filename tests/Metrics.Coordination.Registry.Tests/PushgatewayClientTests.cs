using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Registry.Pushgateway;

namespace Metrics.Coordination.Registry.Tests;

/// <summary>The Pushgateway client's URL building and option checks (no server needed).</summary>
public class PushgatewayClientTests
{
    private static PushgatewayClient Client(string address = "http://127.0.0.1:9091/") =>
        new(new PushgatewayOptions { Address = new Uri(address) });

    [TestCase("batch", "http://127.0.0.1:9091/metrics/job/batch")]
    [TestCase("a/b", "http://127.0.0.1:9091/metrics/job@base64/YS9i")]
    [TestCase("with space", "http://127.0.0.1:9091/metrics/job/with%20space")]
    [TestCase("zürich", "http://127.0.0.1:9091/metrics/job/z%C3%BCrich")]
    [TestCase("..", "http://127.0.0.1:9091/metrics/job@base64/Li4")]
    [TestCase("50%?#", "http://127.0.0.1:9091/metrics/job/50%25%3F%23")]
    public void GetGroupUri_Job_IsEncoded(string job, string expected)
    {
        using var client = Client();

        client.GetGroupUri(job).AbsoluteUri.Should().Be(expected);
    }

    [Test]
    public void GetGroupUri_GroupingLabels_PlainBase64AndEmpty()
    {
        using var client = Client("http://gw.example:9091/prefix");

        var uri = client.GetGroupUri("batch", Labels.FromStrings("instance", "host-1", "path", "/var/tmp", "shard", string.Empty, "city", "zürich €"));

        // Labels are sorted by name; "/var/tmp" is L3Zhci90bXA in unpadded url-safe base64.
        uri.AbsoluteUri.Should().Be(
            "http://gw.example:9091/prefix/metrics/job/batch/city/z%C3%BCrich%20%E2%82%AC/instance/host-1/path@base64/L3Zhci90bXA/shard@base64/=");
    }

    [Test]
    public void GetGroupUri_Base64IsUrlSafeAndUnpadded()
    {
        using var client = Client();

        // "??>/" is Pz8-Lw in url-safe base64 (standard: Pz8+Lw==).
        client.GetGroupUri("j", Labels.FromStrings("v", "??>/")).AbsoluteUri.Should().EndWith("/v@base64/Pz8-Lw");
    }

    [TestCase("")]
    [TestCase("x{surrogate}")]
    public void GetGroupUri_BadJob_Throws(string job)
    {
        // An unpaired surrogate cannot live in attribute metadata (stored as UTF-8), so it is put in here.
        job = job.Replace("{surrogate}", "\ud800", StringComparison.Ordinal);
        using var client = Client();

        var act = () => client.GetGroupUri(job);

        act.Should().Throw<ArgumentException>().WithParameterName("job");
    }

    [TestCase("job", "*cannot also be a grouping label*")]
    [TestCase("bad-name", "*'bad-name' is not a valid label name*")]
    [TestCase("ünicode", "*not a valid label name*")]
    public void GetGroupUri_BadGroupingLabel_Throws(string name, string message)
    {
        using var client = Client();

        var act = () => client.GetGroupUri("batch", Labels.FromStrings(name, "v"));

        act.Should().Throw<ArgumentException>().WithParameterName("groupingLabels").WithMessage(message);
    }

    [TestCase("ftp://host/")]
    [TestCase("http://host/?a=b")]
    public void Constructor_BadAddress_Throws(string address)
    {
        var act = () => new PushgatewayClient(new PushgatewayOptions { Address = new Uri(address) });

        act.Should().Throw<ArgumentException>().WithMessage("*address*");
    }

    [Test]
    public void Constructor_NoAddress_Throws()
    {
        var act = () => new PushgatewayClient(new PushgatewayOptions());

        act.Should().Throw<ArgumentException>().WithMessage("*absolute http or https URL*");
    }

    [Test]
    public void Constructor_ZeroAttempts_Throws()
    {
        var act = () => new PushgatewayClient(new PushgatewayOptions { Address = new Uri("http://h/"), MaxAttempts = 0 });

        act.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("MaxAttempts");
    }

    [Test]
    public void PeriodicPusher_BadOptions_ThrowAtConstruction()
    {
        using var client = Client();
        var registry = new MetricRegistry();

        FluentActions.Invoking(() => new PeriodicPusher(client, registry, new PeriodicPushOptions())).Should().Throw<ArgumentException>().WithParameterName("job");
        FluentActions.Invoking(() => new PeriodicPusher(client, registry, new PeriodicPushOptions { Job = "j", Interval = TimeSpan.Zero }))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("Interval");
        FluentActions.Invoking(() => new PeriodicPusher(client, registry, new PeriodicPushOptions { Job = "j", GroupingLabels = Labels.FromStrings("job", "x") }))
            .Should().Throw<ArgumentException>().WithParameterName("groupingLabels");
    }

    [Test]
    public async Task PeriodicPusher_StartTwice_Throws_StopTwice_IsFine()
    {
        using var client = Client();
        var pusher = new PeriodicPusher(client, new MetricRegistry(), new PeriodicPushOptions { Job = "j", Interval = TimeSpan.FromHours(1), PushOnStop = false });

        await pusher.StartAsync();
        await FluentActions.Awaiting(() => pusher.StartAsync()).Should().ThrowAsync<InvalidOperationException>();
        await pusher.StopAsync();
        await pusher.StopAsync();
        await pusher.DisposeAsync();
        await FluentActions.Awaiting(() => pusher.StartAsync()).Should().ThrowAsync<InvalidOperationException>().WithMessage("*stopped*");
        pusher.SuccessfulPushes.Should().Be(0);
        pusher.FailedPushes.Should().Be(0);
    }
}
