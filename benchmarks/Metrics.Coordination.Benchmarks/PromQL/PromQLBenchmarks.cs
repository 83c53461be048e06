using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Rules.PromQL;

namespace Metrics.Coordination.Benchmarks.PromQL;

/// <summary>
/// The workload: 10,000 counter series and 10,000 classic-histogram bucket series (1,000 histograms × 10
/// buckets), 2 h at a 15 s scrape interval (480 samples each), values generated like ../shared/workloads
/// (Poisson-ish increments, fixed seed). "Samples/s" counts the samples inside the range windows at every step
/// (Prometheus's totalQueryableSamples), divided by the mean time.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(SamplesConfig))]
public class PromQLBenchmarks
{
    private const int Series = 10_000;
    private const long Interval = 15_000;
    private const int SamplesPerSeries = 480; // 2 h at 15 s
    private const long End = (SamplesPerSeries - 1) * Interval;

    private static readonly Dictionary<string, long> SamplesTouched = [];

    private ArrayStorage _storage = null!;
    private PromQLEngine _engine = null!;
    private PromQLExpression _sumRate = null!;
    private PromQLExpression _quantile = null!;
    private PromQLExpression _topk = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        var series = new List<(Labels, long[], double[])>(2 * Series);
        for (var s = 0; s < Series; s++)
        {
            var labels = Labels.FromStrings("__name__", "x", "job", "job" + (s % 10), "instance", "i" + s);
            series.Add((labels, Times(), Counter(random, 1 + random.NextDouble() * 20)));
        }

        string[] bounds = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];
        for (var h = 0; h < Series / bounds.Length; h++)
        {
            // Cumulative buckets: each observation lands in one bucket and counts in every bucket above it.
            var counts = new double[bounds.Length][];
            for (var b = 0; b < bounds.Length; b++)
            {
                counts[b] = new double[SamplesPerSeries];
            }

            for (var i = 1; i < SamplesPerSeries; i++)
            {
                var observations = random.Next(0, 20);
                var perBucket = new int[bounds.Length];
                for (var o = 0; o < observations; o++)
                {
                    perBucket[Math.Min(bounds.Length - 1, (int)(-Math.Log(1 - random.NextDouble()) * 2))]++;
                }

                var cumulative = 0;
                for (var b = 0; b < bounds.Length; b++)
                {
                    cumulative += perBucket[b];
                    counts[b][i] = counts[b][i - 1] + cumulative;
                }
            }

            for (var b = 0; b < bounds.Length; b++)
            {
                var labels = Labels.FromStrings("__name__", "h_bucket", "job", "job" + (h % 10), "instance", "i" + h, "le", bounds[b]);
                series.Add((labels, Times(), counts[b]));
            }
        }

        _storage = new ArrayStorage(series);
        _engine = new PromQLEngine();
        _sumRate = _engine.Parse("sum by (job) (rate(x[5m]))");
        _quantile = _engine.Parse("histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))");
        _topk = _engine.Parse("topk(10, rate(x[5m]))");

        // 5 m windows hold 20 samples at a 15 s interval (left-open); 241 steps in the 1 h range query.
        SamplesTouched[nameof(SumRate_RangeQuery_1h_Step15s)] = 241L * 20 * Series;
        SamplesTouched[nameof(HistogramQuantile_RangeQuery_1h_Step15s)] = 241L * 20 * Series;
        SamplesTouched[nameof(TopK_Rate_InstantQuery)] = 20L * Series;
    }

    [Benchmark]
    public int SumRate_RangeQuery_1h_Step15s() =>
        _engine.Execute(_storage, PromQLQuery.Range(_sumRate, End - 3_600_000, End, Interval)).Matrix.Count;

    [Benchmark]
    public int HistogramQuantile_RangeQuery_1h_Step15s() =>
        _engine.Execute(_storage, PromQLQuery.Range(_quantile, End - 3_600_000, End, Interval)).Matrix.Count;

    [Benchmark]
    public int TopK_Rate_InstantQuery() =>
        _engine.Execute(_storage, PromQLQuery.Instant(_topk, End)).Vector.Count;

    private static long[] Times()
    {
        var t = new long[SamplesPerSeries];
        for (var i = 0; i < t.Length; i++)
        {
            t[i] = i * Interval;
        }

        return t;
    }

    private static double[] Counter(Random random, double lambda)
    {
        var v = new double[SamplesPerSeries];
        for (var i = 1; i < v.Length; i++)
        {
            // Roughly Poisson(lambda) increments, integers like real counters; a reset now and then.
            v[i] = random.Next(1000) == 0 ? 0 : v[i - 1] + Math.Round(lambda * -Math.Log(1 - random.NextDouble()));
        }

        return v;
    }

    private sealed class SamplesConfig : ManualConfig
    {
        public SamplesConfig() => AddColumn(new SamplesPerSecondColumn());
    }

    /// <summary>Samples in range windows per second of mean time.</summary>
    private sealed class SamplesPerSecondColumn : IColumn
    {
        public string Id => "SamplesPerSecond";

        public string ColumnName => "Samples/s";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => "Samples inside range windows, summed over steps, per second";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
        {
            var report = summary[benchmarkCase];
            if (report?.ResultStatistics is not { } stats || !SamplesTouched.TryGetValue(benchmarkCase.Descriptor.WorkloadMethod.Name, out var n))
            {
                // The column is computed in the host process; recompute the counts there.
                n = benchmarkCase.Descriptor.WorkloadMethod.Name == nameof(TopK_Rate_InstantQuery) ? 20L * Series : 241L * 20 * Series;
                if (report?.ResultStatistics is not { } s2)
                {
                    return "-";
                }

                stats = s2;
            }

            return $"{n / (stats.Mean / 1e9) / 1e6:N1} M";
        }

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    }
}
