using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using BenchmarkDotNet.Engines;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.Rules;
using Metrics.Coordination.Rules.PromQL;
using Metrics.Coordination.Tsdb;
using Microsoft.Extensions.Logging.Abstractions;

namespace Metrics.Coordination.Benchmarks.Rules;

/// <summary>
/// The target: one tick of a group of 1,000 recording rules over 10,000 series, on the real (in-memory) TSDB.
/// Series <c>x{group="g0".."g999", instance="i0".."i9"}</c>, 2 h of counter samples every 30 s. Rule <c>i</c> records
/// <c>rate(x{group="gi"}[2m])</c> (10 output series), so a tick reads 10,000 series and appends 10,000 samples. Each
/// invocation evaluates the next 30 s slot (appends must move forward in time), hence one invocation per iteration.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(TickConfig))]
public class RuleGroupBenchmarks
{
    private const int Groups = 1_000;
    private const int PerGroup = 10;
    private const long Step = 30_000;
    private const int Samples = 240; // 2 h at 30 s

    private TimeSeriesDatabase _db = null!;
    private RuleGroup _group = null!;
    private RuleEnvironment _env = null!;
    private long _ts;

    [GlobalSetup]
    public void Setup()
    {
        _db = TimeSeriesDatabase.Open(new TsdbOptions());
        var random = new Random(42);
        var labels = new Labels[Groups * PerGroup];
        var values = new double[labels.Length];
        for (var g = 0; g < Groups; g++)
        {
            for (var i = 0; i < PerGroup; i++)
            {
                labels[(g * PerGroup) + i] = Labels.FromStrings("__name__", "x", "group", "g" + g, "instance", "i" + i);
            }
        }

        var refs = new SeriesRef[labels.Length];
        for (var s = 0; s < Samples; s++)
        {
            var app = _db.Appender();
            for (var k = 0; k < labels.Length; k++)
            {
                values[k] += random.Next(0, 100);
                refs[k] = app.Append(new AppendRequest { Ref = refs[k], Labels = labels[k], TimestampMs = s * Step, Value = values[k] });
            }

            app.Commit();
        }

        var yaml = new System.Text.StringBuilder("groups:\n- name: bench\n  interval: 30s\n  rules:\n");
        for (var g = 0; g < Groups; g++)
        {
            yaml.Append("  - record: group:x:rate2m\n    expr: rate(x{group=\"g").Append(g).Append("\"}[2m])\n");
        }

        var definition = RuleFileParser.Parse(yaml.ToString(), "bench.yml").Groups[0];
        _group = new RuleGroup(definition, TimeSpan.FromSeconds(30), TimeSpan.Zero);
        _env = new RuleEnvironment { Engine = new PromQLEngine(), Queryable = _db, Appendable = _db, Logger = NullLogger.Instance };
        _ts = 10 * Step;
    }

    /// <summary>One invocation per iteration (time must move forward), in process (the loaded machine times out BenchmarkDotNet's separate build).</summary>
    public sealed class TickConfig : ManualConfig
    {
        public TickConfig()
        {
            AddJob(Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(20)
                .WithInvocationCount(1).WithUnrollFactor(1).WithToolchain(InProcessEmitToolchain.Instance));
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _db.Dispose();

    /// <summary>The same 1,000 queries through the engine alone (no label rewriting, no appends): the engine's and TSDB querier's share.</summary>
    [Benchmark(Description = "the 1,000 rule queries alone")]
    public int QueriesOnly()
    {
        _ts += Step;
        var n = 0;
        foreach (var rule in _group.Rules)
        {
            n += _env.Engine.Execute(_db, PromQLQuery.Instant(rule.Definition.Expression, _ts), CancellationToken.None).Vector.Count;
        }

        return n;
    }

    [Benchmark(Description = "1,000 recording rules × 10 series (10,000 series read, 10,000 written) per tick")]
    public int Tick()
    {
        _ts += Step;
        return _group.Evaluate(_env, _ts, CancellationToken.None);
    }
}
