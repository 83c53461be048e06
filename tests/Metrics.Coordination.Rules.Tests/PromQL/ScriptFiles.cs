using Metrics.Coordination.Rules.PromQL.Testing;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Rules.Tests.PromQL;

/// <summary>
/// Locates script files and runs each file once (cached), so that every eval can be its own test case without
/// reloading the data it depends on.
/// </summary>
internal static class ScriptFiles
{
    /// <summary>Environment variable that points the conformance run at another corpus (a Prometheus checkout's testdata folder).</summary>
    public const string CorpusVariable = "METRICS_COORDINATION_PROMQL_CORPUS";

    private static readonly Dictionary<string, Lazy<Dictionary<int, PromQLEvalOutcome>>> Runs = [];

    /// <summary>The corpus folder: the environment variable, else ../shared/conformance/promql beside the repository.</summary>
    public static string CorpusDirectory()
    {
        var fromEnv = Environment.GetEnvironmentVariable(CorpusVariable);
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return Path.GetFullPath(fromEnv);
        }

        return Path.GetFullPath(Path.Combine(PublicApiSnapshot.RepositoryRoot(), "..", "shared", "conformance", "promql"));
    }

    public static string OwnScriptsDirectory() => Path.Combine(AppContext.BaseDirectory, "PromQL", "Scripts");

    public static PromQLEvalOutcome Outcome(string path, int line)
    {
        Lazy<Dictionary<int, PromQLEvalOutcome>> run;
        lock (Runs)
        {
            if (!Runs.TryGetValue(path, out run!))
            {
                run = new Lazy<Dictionary<int, PromQLEvalOutcome>>(() => RunFile(path), LazyThreadSafetyMode.ExecutionAndPublication);
                Runs.Add(path, run);
            }
        }

        return run.Value[line];
    }

    public static IReadOnlyList<PromQLEvalOutcome> RunAll(string path) => RunFile(path).Values.OrderBy(o => o.Line).ToList();

    private static Dictionary<int, PromQLEvalOutcome> RunFile(string path)
    {
        var script = PromQLTestScript.Parse(File.ReadAllText(path), Path.GetFileName(path));
        var outcomes = script.Run(new PromQLTestScriptOptions { StorageFactory = () => new InMemoryPromQLStorage() });
        return outcomes.ToDictionary(o => o.Line);
    }
}
