using System.Diagnostics;
using System.Globalization;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Testing;

namespace Metrics.Coordination.Tsdb.Tests.Wal;

/// <summary>
/// Runs the TSDB in a child process (Metrics.Coordination.Tsdb.CrashHelper) that appends and commits continuously,
/// kills it with SIGKILL at random moments, reopens the directory and checks that every batch whose commit returned
/// is present, sample for sample, and that nothing else is there but possibly the one batch in flight.
/// </summary>
[Category("Integration")]
public class CrashTests
{
    private const long Start = 1_699_999_200_000;
    private const int Series = 20;

    /// <summary>A one-minute block range: the head is cut into a block every 30 batches once it spans 90 s.</summary>
    private const long BlockMs = 60_000;

    [Test]
    public Task SigKill_RandomMoments_EveryAcknowledgedCommitSurvives([Values(WalFsyncPolicy.None, WalFsyncPolicy.PerCommit)] WalFsyncPolicy policy) =>
        KillLoopAsync(policy, rounds: 6, segmentSize: 64 * 1024, seed: (int)policy, blockMs: 0);

    [Test]
    public Task SigKill_WhileCuttingBlocksAndCheckpointing_EveryAcknowledgedCommitSurvives() =>
        KillLoopAsync(WalFsyncPolicy.Interval, rounds: 8, segmentSize: 64 * 1024, seed: 7, blockMs: BlockMs);

    [Test]
    public Task SigKill_DuringLeveledCompaction_EveryAcknowledgedCommitSurvivesNoBlockDoubled() =>
        KillLoopAsync(WalFsyncPolicy.Interval, rounds: 12, segmentSize: 64 * 1024, seed: 5, blockMs: BlockMs, targetLeveled: true);

    [Test]
    [Category("LongRunning")]
    public Task SigKill_ManyRoundsWithBlockCutting_EveryAcknowledgedCommitSurvives() =>
        KillLoopAsync(WalFsyncPolicy.Interval, rounds: 50, segmentSize: 64 * 1024, seed: 99, blockMs: BlockMs, budget: TimeSpan.FromMinutes(4));

    private static async Task KillLoopAsync(WalFsyncPolicy policy, int rounds, int segmentSize, int seed, long blockMs, TimeSpan? budget = null, bool targetLeveled = false)
    {
        using var dir = new TempDirectory("crash");
        var random = new Random(seed);
        var deadline = Stopwatch.StartNew();
        var kills = 0;
        var cuts = 0;
        var compactionKills = 0;
        var leveledKills = 0;
        var ackedEver = -1L;
        for (var round = 0; round < rounds && deadline.Elapsed < (budget ?? TimeSpan.MaxValue); round++)
        {
            var (resumedAt, lastAck, blocksCut, duringCompaction, duringLeveled) = await RunAndKillAsync(dir.Path, policy, segmentSize, blockMs, random, targetLeveled);
            kills++;
            leveledKills += duringLeveled ? 1 : 0;
            compactionKills += duringCompaction ? 1 : 0;
            cuts += blocksCut;
            ackedEver = Math.Max(ackedEver, lastAck);
            var logs = new CapturingLoggerFactory();
            using var db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = dir.Path, BlockDuration = TimeSpan.FromMilliseconds(blockMs > 0 ? blockMs : 7_200_000), LoggerFactory = logs });
            db.GetStatistics().BlocksCorrupt.Should().Be(0, $"round {round}: a block is renamed into place only when complete");
            Directory.EnumerateDirectories(dir.Path, "*.tmp-for-*").Should().BeEmpty("leftovers of a killed block write or delete are removed at open");
            var spans = db.Blocks.Select(b => (b.Meta.MinTime, b.Meta.MaxTime)).OrderBy(b => b.MinTime).ToList();
            spans.Zip(spans.Skip(1)).Where(p => p.First.MaxTime > p.Second.MinTime).Should().BeEmpty($"round {round}: a compacted block and its parents are never both kept");
            var data = Head.HeadTests.Read(db.Querier(long.MinValue, long.MaxValue));
            var reached = new HashSet<long>();
            foreach (var (labels, samples) in data)
            {
                var series = int.Parse(labels.Get("series"), CultureInfo.InvariantCulture);
                for (var b = 0; b < samples.Count; b++)
                {
                    samples[b].T.Should().Be(Start + (b * 1000L), $"round {round}: batches are contiguous from 0");
                    BitConverter.UInt64BitsToDouble(samples[b].V).Should().Be((b * 1000.0) + series);
                }

                reached.Add(samples.Count - 1);
            }

            if (ackedEver >= 0 || data.Count > 0)
            {
                data.Should().HaveCount(Series, $"round {round}: every series was committed");
                reached.Should().HaveCount(1, $"round {round}: a commit is atomic across its series");
                reached.Single().Should().BeOneOf([ackedEver, ackedEver + 1], $"round {round}: acknowledged up to {ackedEver} (this run resumed at {resumedAt}, acknowledged {lastAck})");
            }

            db.GetStatistics().WalCorruptions.Should().BeLessThanOrEqualTo(1);
        }

        kills.Should().BeGreaterThan(0);
        if (blockMs > 0)
        {
            cuts.Should().BeGreaterThan(0, "the helper cut blocks between kills");
            if (targetLeveled)
            {
                leveledKills.Should().BeGreaterThan(0, "kills land while blocks are compacted level by level");
            }

            if (rounds >= 20)
            {
                // A third of the "S" lines trigger a kill; over many rounds some always do (short runs only report it).
                compactionKills.Should().BeGreaterThan(0, "some kills land while a block is being cut");
            }
            Directory.EnumerateDirectories(dir.Path).Count(d => Tsdb.Blocks.Ulid.IsValid(Path.GetFileName(d))).Should().BeGreaterThan(0);
        }

        TestContext.Out.WriteLine($"{kills} SIGKILLs survived ({policy}; {cuts} blocks cut; {compactionKills} kills while cutting a block, {leveledKills} during leveled compaction).");
    }

    private static async Task<(long ResumedAt, long LastAck, int BlocksCut, bool DuringCompaction, bool DuringLeveled)> RunAndKillAsync(string dir, WalFsyncPolicy policy, int segmentSize, long blockMs, Random random, bool targetLeveled)
    {
        var helper = Path.Combine(AppContext.BaseDirectory, "Metrics.Coordination.Tsdb.CrashHelper.dll");
        File.Exists(helper).Should().BeTrue("the crash helper is built next to the tests");
        var psi = new ProcessStartInfo("dotnet", ["exec", helper, dir, policy.ToString(), Series.ToString(CultureInfo.InvariantCulture), segmentSize.ToString(CultureInfo.InvariantCulture), blockMs.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var resumedAt = -1L;
        var lastAck = -1L;
        var blocks = 0;
        var duringCompaction = false;
        var duringLeveled = false;

        // Kill after a random number of acknowledged commits (sometimes right after start, mid-replay or mid-first-commit).
        // Aiming at leveled compaction: run until a compaction stage is reported (one comes every ~3 blocks of 30 batches).
        var target = targetLeveled ? 2000 : random.Next(4) == 0 ? random.Next(0, 3) : random.Next(5, blockMs > 0 ? 150 : 400);
        var acks = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            while (acks < target && await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (line.StartsWith("R ", StringComparison.Ordinal))
                {
                    resumedAt = long.Parse(line[2..], CultureInfo.InvariantCulture);
                    lastAck = resumedAt - 1;
                }
                else if (line.StartsWith("C ", StringComparison.Ordinal))
                {
                    lastAck = long.Parse(line[2..], CultureInfo.InvariantCulture);
                    acks++;
                }
                else if (line.StartsWith("B ", StringComparison.Ordinal))
                {
                    blocks++;
                }
                else if (line.StartsWith("L ", StringComparison.Ordinal) && random.Next(targetLeveled ? 2 : 3) == 0)
                {
                    // "L compact": the merged block is about to be written; "L compact-swapped": it is in place and
                    // its parents are about to be deleted. A kill in either window must leave parents or child, not both.
                    if (line == "L compact")
                    {
                        await Task.Delay(random.Next(0, 15), CancellationToken.None);
                    }

                    duringCompaction = true;
                    duringLeveled = true;
                    break;
                }
                else if (line.StartsWith("S ", StringComparison.Ordinal) && !targetLeveled && random.Next(3) == 0)
                {
                    // Kill while the block is being written, renamed, the head truncated or the WAL checkpointed.
                    await Task.Delay(random.Next(0, 15), CancellationToken.None);
                    duringCompaction = true;
                    break;
                }
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true); // SIGKILL on Unix
            await process.WaitForExitAsync(CancellationToken.None);
        }

        // Acknowledgements already in the pipe were acknowledged before the kill: count them too.
        while (await process.StandardOutput.ReadLineAsync(CancellationToken.None) is { } line)
        {
            if (line.StartsWith("C ", StringComparison.Ordinal))
            {
                lastAck = long.Parse(line[2..], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("R ", StringComparison.Ordinal))
            {
                resumedAt = long.Parse(line[2..], CultureInfo.InvariantCulture);
                lastAck = Math.Max(lastAck, resumedAt - 1);
            }
        }

        var errors = await stderr;
        errors.Should().BeEmpty("the helper must not fail before it is killed");
        if (resumedAt < 0)
        {
            // Killed before it even reported the resume point: nothing new was acknowledged.
            lastAck = -1;
        }

        return (resumedAt, lastAck, blocks, duringCompaction, duringLeveled);
    }
}
