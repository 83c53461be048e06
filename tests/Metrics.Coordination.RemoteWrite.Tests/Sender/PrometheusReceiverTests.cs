using System.Globalization;
using System.Text.Json;
using Metrics.Coordination.Testing;
using Metrics.Coordination.Tsdb;

namespace Metrics.Coordination.RemoteWrite.Tests.Sender;

/// <summary>End to end against a real Prometheus 2.42 started with <c>--web.enable-remote-write-receiver</c>.</summary>
[Category("Integration")]
public class PrometheusReceiverTests
{
    private const int Series = 25;

    private static RemoteWriteOptions Options(PrometheusServer prometheus, Action<RemoteWriteOptions>? configure = null)
    {
        var o = new RemoteWriteOptions
        {
            Url = new Uri(prometheus.BaseUrl, "api/v1/write"),
            Name = "prom",
            ExternalLabels = new Dictionary<string, string> { ["cluster"] = "east", ["replica"] = "r1" },
            Queue = new RemoteWriteQueueOptions
            {
                MinShards = 2,
                MaxShards = 4,
                MaxSamplesPerSend = 200,
                BatchSendDeadline = TimeSpan.FromMilliseconds(200),
                MinBackoff = TimeSpan.FromMilliseconds(50),
                MaxBackoff = TimeSpan.FromSeconds(1),
            },
            WalPollInterval = TimeSpan.FromMilliseconds(20),
            ShardUpdateInterval = TimeSpan.FromSeconds(2),
        };
        configure?.Invoke(o);
        return o;
    }

    private static long BaseTime() => (TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() / 1000 * 1000) - (30 * 60 * 1000);

    [Test]
    public async Task Send_ToPrometheus_EverySeriesAndSampleQueryableWithExternalLabels()
    {
        using var dir = new TempDirectory("rw-prom");
        await using var prometheus = await PrometheusServer.StartAsync(new PrometheusOptions());
        using var db = Workload.OpenDatabase(dir);
        var baseT = BaseTime();
        Workload.Append(db, Series, 0, 100, baseT);
        await using var sender = RemoteWriteSender.Start(db, Options(prometheus));
        Workload.Append(db, Series, 100, 200, baseT);
        await WaitSentAsync(sender, Series * 200);
        await AssertPrometheusHasAsync(prometheus, baseT, 200);
    }

    [Test]
    public Task Outage_PrometheusDown10Seconds_EverythingDeliveredAfterRestart() => OutageAsync(TimeSpan.FromSeconds(10));

    [Test]
    [Category("LongRunning")]
    public Task Outage_PrometheusDown30Seconds_EverythingDeliveredAfterRestart() => OutageAsync(TimeSpan.FromSeconds(30));

    [Test]
    public async Task Restart_SenderMidStream_PrometheusHasEverySampleOnce()
    {
        using var dir = new TempDirectory("rw-prom");
        await using var prometheus = await PrometheusServer.StartAsync(new PrometheusOptions());
        using var db = Workload.OpenDatabase(dir, walSegmentSize: 64 * 1024);
        var baseT = BaseTime();
        Workload.Append(db, Series, 0, 1000, baseT);
        // Small batches keep the first sender busy for thousands of requests: with 50 samples per request a quiet
        // machine delivered all 25,000 samples between two polls, so the restart was no longer mid-stream.
        var options = Options(prometheus, o =>
        {
            o.Queue.MinShards = 3;
            o.Queue.MaxShards = 3;
            o.Queue.MaxSamplesPerSend = 5;
            o.FlushDeadline = TimeSpan.Zero;
        });
        var first = RemoteWriteSender.Start(db, options);
        await Workload.WaitUntilAsync(() => first.GetStatistics().SamplesSent >= 2000, TimeSpan.FromSeconds(60), () => first.GetStatistics().ToString());
        await first.DisposeAsync();
        await TestContext.Out.WriteLineAsync($"first sender stopped after {first.GetStatistics().SamplesSent} of {Series * 1000} samples");
        first.GetStatistics().SamplesSent.Should().BeLessThan(Series * 1000, "the sender stopped mid-stream");
        Workload.Append(db, Series, 1000, 1100, baseT);
        await using (var sender = RemoteWriteSender.Start(db, options))
        {
            var last = baseT + (1099 * 1000L);
            await Workload.WaitUntilAsync(
                () => sender.GetStatistics() is { HighestReadTimestampMs: var r, SamplesPending: 0 } s && r == last && s.SamplesSent + s.SamplesFailed == s.SamplesQueued,
                TimeSpan.FromSeconds(120),
                () => sender.GetStatistics().ToString());
            var stats = sender.GetStatistics();
            stats.SamplesSkippedAsSent.Should().BePositive("records after the committed position whose samples some shard had acknowledged are skipped");
            stats.SamplesFailed.Should().Be(0, "Prometheus refuses repeated (out-of-order) samples with 400; none may be sent again");
        }

        await AssertPrometheusHasAsync(prometheus, baseT, 1100);
    }

    private static async Task OutageAsync(TimeSpan outage)
    {
        using var dir = new TempDirectory("rw-prom");
        await using var prometheus = await PrometheusServer.StartAsync(new PrometheusOptions());
        using var db = Workload.OpenDatabase(dir, walSegmentSize: 64 * 1024);
        var baseT = BaseTime();
        await using var sender = RemoteWriteSender.Start(db, Options(prometheus));
        Workload.Append(db, Series, 0, 100, baseT);
        await WaitSentAsync(sender, Series * 100);

        await prometheus.StopAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var step = 100;
        while (clock.Elapsed < outage)
        {
            // Keep writing while the receiver is away: the WAL is the buffer.
            Workload.Append(db, Series, step, step + 10, baseT);
            step += 10;
            await Task.Delay(500);
        }

        sender.GetStatistics().SamplesSent.Should().Be(Series * 100, "nothing can be delivered while Prometheus is down");
        sender.GetStatistics().SamplesRetried.Should().BePositive();
        await prometheus.RestartAsync();
        Workload.Append(db, Series, step, step + 20, baseT);
        step += 20;
        await WaitSentAsync(sender, (long)Series * step);
        sender.GetStatistics().SamplesFailed.Should().Be(0);
        await AssertPrometheusHasAsync(prometheus, baseT, step);
    }

    private static Task WaitSentAsync(RemoteWriteSender sender, long samples) =>
        Workload.WaitUntilAsync(() => sender.GetStatistics().SamplesSent >= samples, TimeSpan.FromSeconds(120), () => $"waiting for {samples} sent: {sender.GetStatistics()}");

    /// <summary>Reads every raw sample of rw_test_total back from Prometheus and compares sample by sample.</summary>
    private static async Task AssertPrometheusHasAsync(PrometheusServer prometheus, long baseT, int steps)
    {
        var at = (TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0) + 60;
        var query = "api/v1/query?query=" + Uri.EscapeDataString("rw_test_total[2h]") + "&time=" + at.ToString("0.###", CultureInfo.InvariantCulture);
        using var document = await prometheus.GetJsonAsync(query);
        var result = document.RootElement.GetProperty("data").GetProperty("result");
        result.GetArrayLength().Should().Be(Series);
        foreach (var series in result.EnumerateArray())
        {
            var labels = series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            labels["cluster"].Should().Be("east");
            labels["replica"].Should().Be("r1");
            labels["job"].Should().Be("rw");
            var s = int.Parse(labels["series"], CultureInfo.InvariantCulture);
            var values = series.GetProperty("values").EnumerateArray()
                .Select(v => ((long)Math.Round(v[0].GetDouble() * 1000), double.Parse(v[1].GetString()!, CultureInfo.InvariantCulture)))
                .ToList();
            values.Should().Equal(Enumerable.Range(0, steps).Select(step => (baseT + (step * 1000L), Workload.Value(s, step))), $"series {s} must hold every sample once");
        }
    }
}
