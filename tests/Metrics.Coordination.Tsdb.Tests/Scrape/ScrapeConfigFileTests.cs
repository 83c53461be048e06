using System.Globalization;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb.Scrape;

namespace Metrics.Coordination.Tsdb.Tests.Scrape;

/// <summary>
/// The scrape-config loader against <c>promtool check config</c> (Prometheus 2.42): the same verdict on every file,
/// and for refused files Prometheus's reason, with our file:line in front. The line is ours: the offending node
/// (Prometheus names a line only for YAML structure errors; for the rest we point at the field or target).
/// </summary>
public class ScrapeConfigFileTests
{
    /// <summary>What promtool says about a case, and what we say.</summary>
    public enum Verdict
    {
        /// <summary>Both accept.</summary>
        Valid,

        /// <summary>Both refuse; our reason contains promtool's.</summary>
        Invalid,

        /// <summary>Both refuse, for the same cause in different words (Go's regexp messages, say).</summary>
        InvalidOtherWords,

        /// <summary>promtool accepts; we refuse because we cannot honour the setting (IsUnsupported).</summary>
        Unsupported,
    }

    private static readonly (string Name, Verdict Verdict, int Line, string Yaml)[] Cases =
    [
        ("full", Verdict.Valid, 0, """
            global:
              scrape_interval: 15s
              evaluation_interval: 30s
              external_labels: {dc: x}
            rule_files: []
            scrape_configs:
              - job_name: a
                scrape_interval: 5s
                scrape_timeout: 2s
                metrics_path: /m
                scheme: http
                honor_labels: true
                honor_timestamps: false
                sample_limit: 100
                label_limit: 30
                label_name_length_limit: 200
                label_value_length_limit: 0x400
                body_size_limit: 10MB
                params:
                  module: [x]
                static_configs:
                  - targets: ['127.0.0.1:9090', 'localhost:1']
                    labels: {env: prod, n: 1}
                relabel_configs:
                  - source_labels: [__address__]
                    target_label: x
                metric_relabel_configs:
                  - action: hashmod
                    source_labels: [__name__]
                    modulus: 4
                    target_label: shard
              - job_name: b
            """),
        ("empty", Verdict.Valid, 0, ""),
        ("empty-scrape-configs", Verdict.Valid, 0, "scrape_configs:\n"),
        ("null-targets", Verdict.Valid, 0, "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets:\n"),
        ("yaml11-bool", Verdict.Valid, 0, "scrape_configs:\n  - job_name: a\n    honor_labels: yes\n"),
        ("timeout-equals-interval", Verdict.Valid, 0, "scrape_configs:\n  - job_name: a\n    scrape_interval: 1s\n    scrape_timeout: 1s\n"),
        ("body-size-units", Verdict.Valid, 0, "scrape_configs:\n  - job_name: a\n    body_size_limit: 1GB512MB\n  - job_name: d\n    body_size_limit: 2MiB\n  - job_name: b\n    body_size_limit: 1.5KB\n  - job_name: c\n    body_size_limit: 0\n"),
        ("colon-target", Verdict.Valid, 0, "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [\"a:b:c\"]\n"),
        ("numeric-job-name", Verdict.Valid, 0, "scrape_configs:\n  - job_name: 123\n"),
        ("timeout-vs-global", Verdict.Invalid, 6, "global:\n  scrape_interval: 5s\nscrape_configs:\n  - job_name: a\n    scrape_interval: 0s\n    scrape_timeout: 6s\n"),
        ("timeout-gt-interval", Verdict.Invalid, 4, "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n"),
        ("global-timeout", Verdict.Invalid, 2, "global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n"),
        ("unknown-field", Verdict.Invalid, 3, "scrape_configs:\n  - job_name: a\n    foo: bar\n"),
        ("unknown-global-field", Verdict.Invalid, 3, "global:\n  scrape_interval: 5s\n  foo: 1\n"),
        ("unknown-top-field", Verdict.Invalid, 1, "foo: 1\n"),
        ("unknown-group-field", Verdict.Invalid, 5, "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [a]\n        foo: 1\n"),
        ("unknown-relabel-field", Verdict.Invalid, 4, "scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n      - foo: 1\n"),
        ("duplicate-field", Verdict.InvalidOtherWords, 3, "scrape_configs:\n  - job_name: a\n    job_name: b\n"),
        ("duplicate-job", Verdict.Invalid, 3, "scrape_configs:\n  - job_name: a\n  - job_name: a\n"),
        ("empty-job-name", Verdict.Invalid, 2, "scrape_configs:\n  - job_name: \"\"\n"),
        ("missing-job-name", Verdict.Invalid, 2, "scrape_configs:\n  - scrape_interval: 5s\n"),
        ("bad-duration", Verdict.Invalid, 3, "scrape_configs:\n  - job_name: a\n    scrape_interval: 5x\n"),
        ("fractional-duration", Verdict.Invalid, 3, "scrape_configs:\n  - job_name: a\n    scrape_interval: 1.5s\n"),
        ("unordered-duration", Verdict.Invalid, 3, "scrape_configs:\n  - job_name: a\n    scrape_interval: 1m1h\n"),
        ("empty-duration", Verdict.Invalid, 3, "scrape_configs:\n  - job_name: a\n    scrape_interval: \"\"\n"),
        ("url-target", Verdict.Invalid, 4, "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['http://127.0.0.1:9090']\n"),
        ("url-target-relabeled", Verdict.Invalid, 4, "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [a/b]\n    relabel_configs:\n      - target_label: x\n        replacement: y\n"),
        ("hashmod-no-modulus", Verdict.Invalid, 4, "scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n      - action: hashmod\n        source_labels: [__name__]\n        target_label: shard\n"),
        ("unknown-action", Verdict.Invalid, 4, "scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n      - action: bogus\n"),
        ("bad-relabel-regex", Verdict.InvalidOtherWords, 4, "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: keep\n        regex: \"a(\"\n"),
        ("labelmap-bad-replacement", Verdict.Invalid, 4, "scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n      - action: labelmap\n        regex: (.*)\n        replacement: \"1x\"\n"),
        ("mixed-units", Verdict.Invalid, 3, "scrape_configs:\n  - job_name: a\n    body_size_limit: 1GB512MiB\n"),
        ("bad-unit", Verdict.Invalid, 3, "scrape_configs:\n  - job_name: a\n    body_size_limit: 10QB\n"),
        ("no-unit", Verdict.Invalid, 3, "scrape_configs:\n  - job_name: a\n    body_size_limit: \"10\"\n"),
        ("negative-limit", Verdict.Invalid, 3, "scrape_configs:\n  - job_name: a\n    sample_limit: -1\n"),
        ("string-limit", Verdict.Invalid, 3, "scrape_configs:\n  - job_name: a\n    sample_limit: abc\n"),
        ("int-bool", Verdict.Invalid, 3, "scrape_configs:\n  - job_name: a\n    honor_labels: 3\n"),
        ("scalar-targets", Verdict.Invalid, 4, "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: foo\n"),
        ("bad-label-name", Verdict.Invalid, 5, "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [a]\n        labels: {1x: y}\n"),
        ("bad-yaml", Verdict.InvalidOtherWords, 2, "scrape_configs: [\n"),
        ("dns-sd", Verdict.Unsupported, 3, "scrape_configs:\n  - job_name: a\n    dns_sd_configs:\n      - names: [a.example]\n"),
        ("basic-auth", Verdict.Unsupported, 3, "scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: p}\n"),
        ("ftp-scheme", Verdict.Unsupported, 3, "scrape_configs:\n  - job_name: a\n    scheme: ftp\n"),
        ("relative-path", Verdict.Unsupported, 3, "scrape_configs:\n  - job_name: a\n    metrics_path: metrics\n"),
    ];

    [Test]
    [Category("Integration")]
    public async Task Parse_EveryCase_SameVerdictAsPromtoolCheckConfig()
    {
        using var dir = new TempDirectory("scrapecfg");
        var files = Cases.Select(c => (Case: c, Path: dir.Combine(c.Name + ".yml"))).ToList();
        foreach (var (c, path) in files)
        {
            await File.WriteAllTextAsync(path, c.Yaml);
        }

        // promtool per file (4 at a time): exit 0 and SUCCESS on stdout, or "FAILED: [parsing YAML file <f>: ]<reason>" on stderr.
        using var gate = new SemaphoreSlim(4);
        var verdicts = await Task.WhenAll(files.Select(async f =>
        {
            await gate.WaitAsync();
            try
            {
                return await Promtool.RunAsync(["check", "config", f.Path], timeout: TimeSpan.FromMinutes(2));
            }
            finally
            {
                gate.Release();
            }
        }));

        var problems = new List<string>();
        foreach (var ((c, path), result) in files.Zip(verdicts))
        {
            var promtoolValid = result.ExitCode == 0 && result.Stdout.Contains($"SUCCESS: {path} is valid", StringComparison.Ordinal);
            var promtoolReason = PromtoolReason(result.Stderr, path);
            if (promtoolValid == (promtoolReason is not null))
            {
                problems.Add($"{c.Name}: could not read promtool's verdict\n{result}");
                continue;
            }

            var expectPromtoolValid = c.Verdict is Verdict.Valid or Verdict.Unsupported;
            if (promtoolValid != expectPromtoolValid)
            {
                problems.Add($"{c.Name}: promtool {(promtoolValid ? "accepts" : "refuses: " + promtoolReason)}, the case expects otherwise");
            }

            ScrapeConfigException? ours = null;
            try
            {
                ScrapeConfigFile.Load(path);
            }
            catch (ScrapeConfigException e)
            {
                ours = e;
            }

            switch (c.Verdict)
            {
                case Verdict.Valid when ours is not null:
                    problems.Add($"{c.Name}: promtool accepts, we refuse: {ours.Message}");
                    break;
                case Verdict.Invalid or Verdict.InvalidOtherWords or Verdict.Unsupported when ours is null:
                    problems.Add($"{c.Name}: we accept, expected a refusal (promtool: {promtoolReason ?? "accepts"})");
                    break;
                case Verdict.Invalid when !ours!.Reason.Contains(promtoolReason!, StringComparison.Ordinal):
                    problems.Add($"{c.Name}: promtool says \"{promtoolReason}\", we say \"{ours.Reason}\"");
                    break;
                case Verdict.Unsupported when !ours!.IsUnsupported:
                    problems.Add($"{c.Name}: refused but not flagged as unsupported: {ours.Message}");
                    break;
            }

            if (ours is not null)
            {
                if (ours.Line != c.Line)
                {
                    problems.Add($"{c.Name}: we name line {ours.Line}, expected {c.Line}: {ours.Message}");
                }

                if (!ours.Message.StartsWith($"{path}:{c.Line.ToString(CultureInfo.InvariantCulture)}: ", StringComparison.Ordinal))
                {
                    problems.Add($"{c.Name}: message does not start with file:line: {ours.Message}");
                }

                ours.IsUnsupported.Should().Be(c.Verdict == Verdict.Unsupported, c.Name);
            }
        }

        problems.Should().BeEmpty();
    }

    [Test]
    public void Parse_FullFile_MapsEveryFieldWithPrometheusDefaults()
    {
        var yaml = Cases.Single(c => c.Name == "full").Yaml;
        var jobs = ScrapeConfigFile.Parse(yaml, "prometheus.yml");

        jobs.Should().HaveCount(2);
        var a = jobs[0];
        a.JobName.Should().Be("a");
        a.ScrapeInterval.Should().Be(TimeSpan.FromSeconds(5));
        a.ScrapeTimeout.Should().Be(TimeSpan.FromSeconds(2));
        a.MetricsPath.Should().Be("/m");
        a.Scheme.Should().Be("http");
        a.HonorLabels.Should().BeTrue();
        a.HonorTimestamps.Should().BeFalse();
        a.SampleLimit.Should().Be(100);
        a.LabelLimit.Should().Be(30);
        a.LabelNameLengthLimit.Should().Be(200);
        a.LabelValueLengthLimit.Should().Be(1024);
        a.BodySizeLimit.Should().Be(10 * 1024 * 1024, "Prometheus's MB is base 2");
        a.Params.Should().BeEquivalentTo(new Dictionary<string, string> { ["module"] = "x" });
        a.StaticTargets.Should().ContainSingle();
        a.StaticTargets[0].Targets.Should().Equal("127.0.0.1:9090", "localhost:1");
        a.StaticTargets[0].Labels.Should().BeEquivalentTo(new Dictionary<string, string> { ["env"] = "prod", ["n"] = "1" });
        a.RelabelConfigs.Should().ContainSingle().Which.TargetLabel.Should().Be("x");
        a.MetricRelabelConfigs.Should().ContainSingle().Which.Modulus.Should().Be(4);

        var b = jobs[1];
        b.ScrapeInterval.Should().Be(TimeSpan.FromSeconds(15), "the global interval");
        b.ScrapeTimeout.Should().Be(TimeSpan.FromSeconds(10), "the global default timeout");
        b.MetricsPath.Should().Be("/metrics");
        b.HonorTimestamps.Should().BeTrue();
        b.HonorLabels.Should().BeFalse();
        b.SampleLimit.Should().Be(0);
    }

    [Test]
    public void Parse_ShortGlobalInterval_TimeoutDefaultsToInterval()
    {
        var jobs = ScrapeConfigFile.Parse("global:\n  scrape_interval: 4s\nscrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_interval: 2s\n", "p.yml");

        jobs[0].ScrapeTimeout.Should().Be(TimeSpan.FromSeconds(4));
        jobs[1].ScrapeTimeout.Should().Be(TimeSpan.FromSeconds(2));
    }

    [Test]
    public void Load_MissingFile_NamesTheFile()
    {
        var act = () => ScrapeConfigFile.Load("/nonexistent/dir/prometheus.yml");

        act.Should().Throw<ScrapeConfigException>().Which.Path.Should().Be("/nonexistent/dir/prometheus.yml");
    }

    /// <summary>promtool's reason without "FAILED: parsing YAML file f: ", or null when it printed none.</summary>
    private static string? PromtoolReason(string stderr, string path)
    {
        var at = stderr.IndexOf("FAILED: ", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var text = stderr[(at + "FAILED: ".Length)..].TrimEnd();
        var prefix = $"parsing YAML file {path}: ";
        return text.StartsWith(prefix, StringComparison.Ordinal) ? text[prefix.Length..] : text;
    }
}
