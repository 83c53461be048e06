using Metrics.Coordination.Rules.PromQL.Testing;

namespace Metrics.Coordination.Rules.Tests.PromQL;

/// <summary>
/// Every eval of Prometheus's PromQL test corpus (read from ../shared/conformance/promql at test time, never copied
/// here) and of our own scripts (PromQL/Scripts/*.test) is one test case, named file:line.
/// </summary>
public class ScriptTests
{
    public static IEnumerable<TestCaseData> CorpusEvals()
    {
        var dir = ScriptFiles.CorpusDirectory();
        if (!Directory.Exists(dir))
        {
            yield return new TestCaseData(null, 0).SetName("Corpus_DirectoryMissing");
            yield break;
        }

        foreach (var c in Cases(dir))
        {
            yield return c;
        }
    }

    public static IEnumerable<TestCaseData> OwnEvals() => Cases(ScriptFiles.OwnScriptsDirectory());

    private static IEnumerable<TestCaseData> Cases(string dir)
    {
        foreach (var file in Directory.GetFiles(dir, "*.test").Order(StringComparer.Ordinal))
        {
            var script = PromQLTestScript.Parse(File.ReadAllText(file), Path.GetFileName(file));
            foreach (var eval in script.Evals)
            {
                yield return new TestCaseData(file, eval.Line).SetName($"{Path.GetFileName(file)}:{eval.Line}");
            }
        }
    }

    [TestCaseSource(nameof(CorpusEvals))]
    public void Corpus(string? path, int line)
    {
        if (path is null)
        {
            // The issue runs the corpus "when the directory exists": a checkout without it runs our own scripts and
            // shows this one skipped case, with where it looked, in the run's summary.
            Assert.Ignore($"The PromQL conformance corpus was not found at {ScriptFiles.CorpusDirectory()} (../shared/conformance/promql beside the " +
                          $"folder holding Metrics.Coordination.sln). Check it out there or set {ScriptFiles.CorpusVariable} to a folder of *.test scripts.");
        }

        var outcome = ScriptFiles.Outcome(path!, line);
        var key = $"{Path.GetFileName(path)}:{line}";
        var gap = Expectations.Lookup(key);
        if (outcome.Status == PromQLEvalStatus.Passed)
        {
            if (gap is not null)
            {
                Assert.Fail($"{key} passes now: remove it from PromQL/conformance-expectations.txt (listed as needing {gap}).");
            }

            return;
        }

        if (gap is not null)
        {
            Assert.Ignore($"Not applicable: needs {gap}, which this engine does not implement. ({outcome.Message})");
        }

        Assert.Fail($"{key}: {outcome.Query}\n{outcome.Message}");
    }

    [TestCaseSource(nameof(OwnEvals))]
    public void Own(string path, int line)
    {
        var outcome = ScriptFiles.Outcome(path, line);
        if (outcome.Status != PromQLEvalStatus.Passed)
        {
            Assert.Fail($"{Path.GetFileName(path)}:{line}: {outcome.Query}\n{outcome.Message}");
        }
    }

    [Test]
    public void OwnScripts_HaveAtLeast300Evals()
    {
        OwnEvals().Count().Should().BeGreaterThanOrEqualTo(300);
    }
}

/// <summary>The checked-in list of corpus evals that need features this engine lacks: "file:line &lt;tab&gt; feature".</summary>
internal static class Expectations
{
    private static readonly Lazy<Dictionary<string, string>> Entries = new(Load);

    public static string Path => System.IO.Path.Combine(AppContext.BaseDirectory, "PromQL", "conformance-expectations.txt");

    public static string? Lookup(string key) => Entries.Value.GetValueOrDefault(key);

    private static Dictionary<string, string> Load()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(Path))
        {
            return result;
        }

        foreach (var raw in File.ReadAllLines(Path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            result[tab < 0 ? line : line[..tab]] = tab < 0 ? "an unsupported feature" : line[(tab + 1)..].Trim();
        }

        return result;
    }
}
