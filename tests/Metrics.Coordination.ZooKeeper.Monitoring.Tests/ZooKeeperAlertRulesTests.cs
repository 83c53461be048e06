using Metrics.Coordination.Rules;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.ZooKeeper.Monitoring.Tests;

public class ZooKeeperAlertRulesTests
{
    private static readonly string[] AlertNames =
        ["ZooKeeperDown", "ZooKeeperNoQuorum", "ZooKeeperLeaderChanged", "ZooKeeperHighLatency", "ZooKeeperOutstandingRequests"];

    [Test]
    public void Text_ParsedByOurRuleLoader_HasEveryAlertWithAnnotations()
    {
        var file = RuleFileParser.Parse(ZooKeeperAlertRules.Text, ZooKeeperAlertRules.FileName);
        var rules = file.Groups.SelectMany(g => g.Rules).ToList();
        rules.Select(r => r.Name).Should().Equal(AlertNames);
        rules.Should().OnlyContain(r => r.Kind == RuleKind.Alerting);
        rules.Should().OnlyContain(r => r.Annotations.Has("summary") && r.Annotations.Has("description"));
        rules.Single(r => r.Name == "ZooKeeperDown").For.Should().Be(TimeSpan.FromMinutes(1));
    }

    [Test]
    [Category("Integration")]
    public async Task Text_PromtoolCheckRules_Succeeds()
    {
        using var dir = new TempDirectory("zkrules");
        var path = dir.Combine(ZooKeeperAlertRules.FileName);
        await File.WriteAllTextAsync(path, ZooKeeperAlertRules.Text);
        var result = await Promtool.RunAsync(["check", "rules", path]);
        result.ExitCode.Should().Be(0, result.ToString());
        result.Stdout.Should().Contain("SUCCESS: 5 rules found", result.ToString());
    }
}
