using System.Text;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Abstractions.Relabeling;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Abstractions.Tests.Relabeling;

/// <summary>
/// A real Prometheus 2.42 scrapes one fixed target with a job per rule set (metric_relabel_configs) and a job with
/// target relabel_configs; the series it stores (/api/v1/series) and the target labels it computes (/api/v1/targets)
/// must equal what our <see cref="Relabeler"/> makes of the same input.
/// </summary>
[Category("Integration")]
public class PrometheusRelabelAgreementTests
{
    private const string Exposition = """
        # TYPE app_requests_total counter
        app_requests_total{method="GET",code="200",meta_env="Prod",tmp_x="1"} 5
        app_requests_total{method="POST",code="500",meta_env="dev",tmp_x="2"} 1
        # TYPE app_temp gauge
        app_temp{room="A-1",meta_env="prod"} 21.5
        app_temp{room="b-2",a="same",b="same"} 19
        app_temp{room="c-3",a="one",b="two"} 18
        other_metric{x="y",meta_zone="Z9"} 1

        """;

    // Job name -> metric_relabel_configs. Together they use every action.
    private static readonly Dictionary<string, string> MetricRuleSets = new()
    {
        ["j_replace"] = """
            - source_labels: [method, code]
              regex: '(\w+);(\d)\d\d'
              target_label: mc
              replacement: '${1}_$2xx'
            - source_labels: [missing]
              target_label: tmp_x
            - source_labels: [room]
              regex: '(?P<letter>[a-zA-Z])-(\d)'
              target_label: 'room_$letter'
              replacement: '$2$$'
            - source_labels: [__name__]
              regex: 'app_(.*)'
              target_label: short
            """,
        ["j_keepdrop"] = """
            - source_labels: [__name__]
              regex: 'app_.*'
              action: keep
            - source_labels: [code]
              regex: '5..'
              action: drop
            """,
        ["j_keepequal"] = """
            - source_labels: [a]
              target_label: b
              action: keepequal
            """,
        ["j_dropequal"] = """
            - source_labels: [a]
              target_label: b
              action: dropequal
            """,
        ["j_hashmod"] = """
            - source_labels: [__name__, room, method]
              modulus: 5
              target_label: shard
              action: hashmod
            - source_labels: [instance]
              modulus: 1000003
              target_label: ihash
              action: hashmod
            """,
        ["j_labelmap"] = """
            - regex: 'meta_(.+)'
              replacement: 'm_$1'
              action: labelmap
            - regex: 'meta_.*|tmp_.*'
              action: labeldrop
            """,
        ["j_labelkeep"] = """
            - regex: '__name__|job|instance|room|method'
              action: labelkeep
            """,
        ["j_case"] = """
            - source_labels: [meta_env]
              target_label: env_lower
              action: lowercase
            - source_labels: [room, meta_zone]
              separator: '/'
              target_label: room
              action: uppercase
            """,
    };

    private const string TargetRules = """
        - source_labels: [__address__]
          regex: '(.*):(\d+)'
          target_label: port
          replacement: '$2'
        - source_labels: [__address__]
          modulus: 4
          target_label: __tmp_hash
          action: hashmod
        - source_labels: [__tmp_hash]
          target_label: shard
        - source_labels: [job]
          target_label: job_upper
          action: uppercase
        - regex: 'team'
          action: labeldrop
        - source_labels: [__scheme__, __metrics_path__]
          separator: '|'
          target_label: endpoint
        """;

    [Test]
    public async Task MetricAndTargetRelabeling_SameInput_SameLabelsAsPrometheus()
    {
        await using var target = new StaticHttpTarget(_ => StaticResponse.Text(Exposition));
        var config = new StringBuilder("scrape_configs:\n");
        foreach (var (job, rules) in MetricRuleSets)
        {
            config.Append("  - job_name: ").Append(job).Append('\n')
                .Append("    static_configs: [{targets: ['").Append(target.Target).Append("']}]\n")
                .Append("    metric_relabel_configs:\n").Append(Indent(rules, 6));
        }

        config.Append("  - job_name: j_target\n")
            .Append("    static_configs: [{targets: ['").Append(target.Target).Append("'], labels: {team: x, zone: EU}}]\n")
            .Append("    relabel_configs:\n").Append(Indent(TargetRules, 6));

        await using var prometheus = await PrometheusServer.StartAsync(new PrometheusOptions { ExtraConfigYaml = config.ToString() });
        var jobCount = MetricRuleSets.Count + 1;
        await prometheus.WaitForAsync("up == 1", r => r.Count == jobCount, TimeSpan.FromSeconds(60));

        var samples = ExpositionParser.Parse(Exposition, ExpositionFormat.PrometheusText).SelectMany(f => f.Samples).ToList();
        foreach (var (job, rules) in MetricRuleSets)
        {
            var relabeler = new Relabeler(RelabelConfig.ParseYamlList(rules));
            var expected = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var sample in samples)
            {
                var input = sample.Labels.With(Labels.MetricName, sample.Name).With("job", job).With("instance", target.Target);
                if (relabeler.Process(input) is { } output)
                {
                    expected.Add(WithoutEmpty(output).ToString());
                }
            }

            var actual = await SeriesAsync(prometheus, job);
            actual.Should().BeEquivalentTo(expected, $"job {job} applies\n{rules}");
        }

        var targets = await TargetLabelsAsync(prometheus, "j_target");
        targets.Should().ContainSingle();
        var (discovered, final) = targets[0];
        var targetRelabeler = new Relabeler(RelabelConfig.ParseYamlList(TargetRules));
        var relabeled = targetRelabeler.Process(discovered)!;
        var ours = Labels.From([.. relabeled.Where(l => !l.Name.StartsWith("__", StringComparison.Ordinal))]);
        if (!ours.Has("instance"))
        {
            ours = ours.With("instance", relabeled.Get("__address__"));
        }

        ours.ToString().Should().Be(final.ToString());
        ours.Get("shard").Should().NotBeEmpty("hashmod of the address feeds the shard label");
    }

    private static string Indent(string text, int spaces)
    {
        var pad = new string(' ', spaces);
        return string.Join('\n', text.Split('\n').Select(l => pad + l)).TrimEnd() + "\n";
    }

    private static Labels WithoutEmpty(Labels labels) => Labels.From([.. labels.Where(l => l.Value.Length > 0)]);

    private static async Task<SortedSet<string>> SeriesAsync(PrometheusServer prometheus, string job)
    {
        using var doc = await prometheus.GetJsonAsync("api/v1/series?match[]=" + Uri.EscapeDataString($"{{job=\"{job}\"}}"));
        var set = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var series in doc.RootElement.GetProperty("data").EnumerateArray())
        {
            var labels = Labels.From([.. series.EnumerateObject().Select(p => new Label(p.Name, p.Value.GetString()!))]);
            if (labels.Name == "up" || labels.Name.StartsWith("scrape_", StringComparison.Ordinal))
            {
                continue;
            }

            set.Add(labels.ToString());
        }

        return set;
    }

    private static async Task<List<(Labels Discovered, Labels Final)>> TargetLabelsAsync(PrometheusServer prometheus, string job)
    {
        using var doc = await prometheus.GetJsonAsync("api/v1/targets?state=active");
        var list = new List<(Labels, Labels)>();
        foreach (var t in doc.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray())
        {
            if (t.GetProperty("scrapePool").GetString() != job)
            {
                continue;
            }

            list.Add((
                Labels.From([.. t.GetProperty("discoveredLabels").EnumerateObject().Select(p => new Label(p.Name, p.Value.GetString()!))]),
                Labels.From([.. t.GetProperty("labels").EnumerateObject().Select(p => new Label(p.Name, p.Value.GetString()!))])));
        }

        return list;
    }
}
