namespace Metrics.Coordination.Rules.Tests.PromQL;

/// <summary>Prints pass counts per corpus file (run explicitly: dotnet test --filter CorpusSummary).</summary>
[Explicit("prints a summary; the per-eval cases are the real tests")]
public class CorpusSummary
{
    [Test]
    public void CorpusSummary_PrintsPassCountsPerFile()
    {
        var dir = ScriptFiles.CorpusDirectory();
        var total = 0;
        var passed = 0;
        foreach (var file in Directory.GetFiles(dir, "*.test").Order(StringComparer.Ordinal))
        {
            var outcomes = ScriptFiles.RunAll(file);
            var p = outcomes.Count(o => o.Status == Rules.PromQL.Testing.PromQLEvalStatus.Passed);
            total += outcomes.Count;
            passed += p;
            var byFeature = outcomes.Where(o => o.Status != Rules.PromQL.Testing.PromQLEvalStatus.Passed).GroupBy(o => o.Feature ?? "-").Select(g => $"{g.Key}:{g.Count()}");
            TestContext.Out.WriteLine($"{Path.GetFileName(file),-28} {p,4}/{outcomes.Count,-4} failing by feature: {string.Join(", ", byFeature)}");
            var verbose = Environment.GetEnvironmentVariable("PROMQL_SUMMARY_VERBOSE") == "1";
            foreach (var o in outcomes.Where(o => o.Status != Rules.PromQL.Testing.PromQLEvalStatus.Passed && (o.Feature is null || verbose)))
            {
                TestContext.Out.WriteLine($"    {Path.GetFileName(file)}:{o.Line}: [{o.Feature}] {o.Query}\n        {o.Message}");
            }
        }

        TestContext.Out.WriteLine($"total {passed}/{total}");
    }

    /// <summary>Writes conformance-expectations.received.txt beside the checked-in list: every failing corpus eval with the feature it needs.</summary>
    [Test]
    public void CorpusSummary_WritesExpectationsFile()
    {
        var dir = ScriptFiles.CorpusDirectory();
        var lines = new List<string>
        {
            "# Corpus evals (../shared/conformance/promql) that fail because they need a feature this engine does not implement.",
            "# One per line: <file>:<line> TAB <feature>. The list may only shrink: an eval listed here that passes fails its test.",
            "# Regenerate with: dotnet test --filter CorpusSummary_WritesExpectationsFile, then review and copy the .received file.",
        };
        foreach (var file in Directory.GetFiles(dir, "*.test").Order(StringComparer.Ordinal))
        {
            foreach (var o in ScriptFiles.RunAll(file).Where(o => o.Status != Rules.PromQL.Testing.PromQLEvalStatus.Passed))
            {
                lines.Add($"{Path.GetFileName(file)}:{o.Line}\t{o.Feature ?? "UNCLASSIFIED (a bug?)"}");
            }
        }

        var target = Path.Combine(Metrics.Coordination.Testing.PublicApiSnapshot.RepositoryRoot(), "tests", "Metrics.Coordination.Rules.Tests", "PromQL", "conformance-expectations.received.txt");
        File.WriteAllLines(target, lines);
        TestContext.Out.WriteLine($"wrote {lines.Count - 3} entries to {target}");
    }
}
