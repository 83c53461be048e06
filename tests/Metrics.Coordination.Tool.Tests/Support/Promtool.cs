namespace Metrics.Coordination.Tool.Tests.Support;

/// <summary>The real promtool (Prometheus 2.42, Debian package <c>prometheus</c>), the reference our verdicts must match.</summary>
internal static class Promtool
{
    public const string DefaultPath = "/usr/bin/promtool";

    /// <summary>The promtool binary; fails the test (never skips) when it is not installed.</summary>
    public static string Path
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("PROMTOOL") is { Length: > 0 } p ? p : DefaultPath;
            if (!File.Exists(path))
            {
                Assert.Fail($"promtool not found at {path}: the agreement tests compare mctl against it. Install it with `apt-get install prometheus` (or set PROMTOOL to its path).");
            }

            return path;
        }
    }

    /// <summary><c>promtool check metrics [--extended]</c> with <paramref name="input"/> on stdin (it reads nothing else).</summary>
    public static Task<ProcessResult> CheckMetricsAsync(string input, bool extended = false) =>
        ToolProcess.RunAsync(Path, extended ? ["check", "metrics", "--extended"] : ["check", "metrics"], input);

    /// <summary><c>promtool tsdb ARGS...</c>.</summary>
    public static Task<ProcessResult> TsdbAsync(params string[] args) => ToolProcess.RunAsync(Path, ["tsdb", .. args], null);
}
