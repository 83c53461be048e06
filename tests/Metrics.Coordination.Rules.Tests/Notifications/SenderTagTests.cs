using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules.Notifications;
using Metrics.Coordination.Testing;
using static Metrics.Coordination.Rules.Tests.Notifications.NotifierTestKit;

namespace Metrics.Coordination.Rules.Tests.Notifications;

/// <summary><see cref="AlertmanagerNotifierOptions.SenderId"/>: the sender and term go into <c>generatorURL</c>, never into labels.</summary>
public class SenderTagTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static readonly DateTimeOffset T0 = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    [TestCase("http://rules:9090/graph?g0.expr=up&g0.tab=1", "http://rules:9090/graph?g0.expr=up&g0.tab=1&sender=replica%20b&term=4294967297")]
    [TestCase("http://rules:9090/graph", "http://rules:9090/graph?sender=replica%20b&term=4294967297")]
    [TestCase("http://rules:9090/graph?x=1#frag", "http://rules:9090/graph?x=1&sender=replica%20b&term=4294967297#frag")]
    [TestCase("", "?sender=replica%20b&term=4294967297")]
    public async Task Send_SenderId_AddsSenderAndTermToGeneratorUrlOnly(string generatorUrl, string expected)
    {
        await using var server = new LoopbackHttpServer();
        var options = FastOptions(server.BaseUrl);
        options.SenderId = "replica b";
        options.LeadershipGate = new TestGate(true, 0x1_0000_0001);
        await using var notifier = new AlertmanagerNotifier(options);

        notifier.Send([new NotificationAlert { Labels = Labels.FromStrings("alertname", "A", "job", "api"), StartsAt = T0, GeneratorUrl = generatorUrl }]);

        var alert = PostedAlerts(await server.WaitForAsync(r => r.Count >= 1, Wait, "one POST")).Single();
        alert.GetProperty("generatorURL").GetString().Should().Be(expected);
        Map(alert.GetProperty("labels")).Should().Equal(new Dictionary<string, string> { ["alertname"] = "A", ["job"] = "api" }, "the alert's identity is unchanged");
    }

    [Test]
    public void Constructor_EmptySenderId_Throws()
    {
        var options = FastOptions(new Uri("http://127.0.0.1:9093"));
        options.SenderId = "";
        FluentActions.Invoking(() => new AlertmanagerNotifier(options)).Should().Throw<ArgumentException>().WithMessage("*SenderId*");
    }
}
