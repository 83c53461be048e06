using System.Globalization;
using System.Text;
using Metrics.Coordination.Tool.Tests.Support;

namespace Metrics.Coordination.Tool.Tests;

/// <summary>
/// <c>mctl tsdb import openmetrics</c> against <c>promtool tsdb create-blocks-from openmetrics</c> (2.42) on the same
/// file: the same blocks (ranges, sample and series counts) and identical <c>promtool tsdb dump</c> output.
/// </summary>
[TestFixture]
public sealed class TsdbImportCommandTests
{
    private string _dir = null!;

    [SetUp]
    public void CreateDir() => _dir = Directory.CreateTempSubdirectory("mctl-import-tests-").FullName;

    [TearDown]
    public void DeleteDir() => Directory.Delete(_dir, recursive: true);

    /// <summary>~7 h of four families (counter with _created, gauge with NaN, -0 and large values, histogram, info) starting off a 2 h boundary.</summary>
    private static string Workload()
    {
        var sb = new StringBuilder();
        const long start = 1_699_999_200_000 + 1_234_567; // not aligned: the first block starts at the boundary before
        const int steps = 7 * 60 * 4; // 7 h at 15 s
        string Ts(long ms) => (ms / 1000.0).ToString("0.000", CultureInfo.InvariantCulture);
        sb.Append("# TYPE http_requests counter\n");
        foreach (var code in new[] { "200", "500" })
        {
            for (var i = 0; i < steps; i++)
            {
                sb.Append(CultureInfo.InvariantCulture, $"http_requests_total{{code=\"{code}\",path=\"/a \\\"q\\\" \\\\ b\"}} {i * (code == "200" ? 7 : 1)} {Ts(start + (i * 15_000L))}\n");
            }

            sb.Append(CultureInfo.InvariantCulture, $"http_requests_created{{code=\"{code}\",path=\"/a \\\"q\\\" \\\\ b\"}} 1699999000.5 {Ts(start)}\n");
        }

        sb.Append("# TYPE temperature gauge\n");
        for (var i = 0; i < steps; i++)
        {
            var v = (i % 97) switch { 13 => "NaN", 14 => "-0", 15 => "1e+300", 16 => "-Inf", _ => (20 + (i % 11 * 0.1)).ToString("R", CultureInfo.InvariantCulture) };
            sb.Append(CultureInfo.InvariantCulture, $"temperature{{room=\"ü€\"}} {v} {Ts(start + (i * 15_000L) + 3)}\n");
        }

        sb.Append("# TYPE latency histogram\n");
        for (var i = 0; i < steps; i += 4)
        {
            var t = Ts(start + (i * 15_000L) + 7);
            sb.Append(CultureInfo.InvariantCulture, $"latency_bucket{{le=\"0.1\"}} {i} {t}\nlatency_bucket{{le=\"1.0\"}} {2 * i} {t}\nlatency_bucket{{le=\"+Inf\"}} {3 * i} {t}\nlatency_sum {i * 0.5} {t}\nlatency_count {3 * i} {t}\n");
        }

        sb.Append("# TYPE build info\nbuild_info{version=\"1.0\"} 1 ").Append(Ts(start)).Append('\n');
        sb.Append("# EOF\n");
        return sb.ToString();
    }

    [TestCase(null)]
    [TestCase("24h")]
    public async Task ImportOpenMetrics_SameFileAsPromtool_IdenticalDumpAndBlocks(string? maxBlockDuration)
    {
        var file = Path.Combine(_dir, "input.om");
        await File.WriteAllTextAsync(file, Workload());
        var ours = Path.Combine(_dir, "ours");
        var theirs = Path.Combine(_dir, "theirs");
        string[] extra = maxBlockDuration is null ? [] : ["--max-block-duration=" + maxBlockDuration];

        var promtool = await ToolProcess.RunAsync(Promtool.Path, ["tsdb", "create-blocks-from", "openmetrics", .. extra, file, theirs], null);
        promtool.ExitCode.Should().Be(0, promtool.ToString());
        var mctl = await ToolProcess.RunMctlAsync(null, ["tsdb", "import", "openmetrics", .. extra, file, ours]);
        mctl.ExitCode.Should().Be(0, mctl.ToString());

        // promtool 2.42's dump opens the directory as a database and needs a wal directory, which backfill does not create.
        Directory.CreateDirectory(Path.Combine(theirs, "wal"));
        Directory.CreateDirectory(Path.Combine(ours, "wal"));
        var dumpTheirs = await Promtool.TsdbAsync("dump", theirs);
        var dumpOurs = await Promtool.TsdbAsync("dump", ours);
        dumpTheirs.ExitCode.Should().Be(0);
        dumpOurs.ExitCode.Should().Be(0, dumpOurs.ToString());
        var expectedLines = dumpTheirs.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        expectedLines.Length.Should().BeGreaterThan(4000);
        dumpOurs.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().Equal(expectedLines);

        (await BlockSummaryAsync(ours)).Should().Equal(await BlockSummaryAsync(theirs), "same block ranges, samples, series and chunks");
    }

    [Test]
    public async Task ImportOpenMetrics_SampleWithoutTimestamp_FailsLikePromtool()
    {
        var file = Path.Combine(_dir, "input.om");
        await File.WriteAllTextAsync(file, "# TYPE a gauge\na 1\n# EOF\n");

        var mctl = await ToolProcess.RunMctlAsync(null, "tsdb", "import", "openmetrics", file, Path.Combine(_dir, "out"));

        mctl.ExitCode.Should().Be(1);
        mctl.StdErr.Should().Contain("expected timestamp for series");
    }

    /// <summary>Each block of <c>promtool tsdb list</c> without its ULID and size.</summary>
    private static async Task<List<string>> BlockSummaryAsync(string dir)
    {
        var list = await Promtool.TsdbAsync("list", dir);
        list.ExitCode.Should().Be(0, list.ToString());
        return [.. list.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(f => string.Join(' ', f[1..^1]))];
    }
}
