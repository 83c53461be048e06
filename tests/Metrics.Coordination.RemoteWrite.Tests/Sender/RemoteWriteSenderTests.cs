using Metrics.Coordination.Testing;

namespace Metrics.Coordination.RemoteWrite.Tests.Sender;

public class RemoteWriteSenderTests
{
    private static RemoteWriteOptions Options(Uri url, Action<RemoteWriteOptions>? configure = null)
    {
        var o = new RemoteWriteOptions
        {
            Url = url,
            ExternalLabels = new Dictionary<string, string> { ["cluster"] = "c1", ["job"] = "ignored-because-series-has-job" },
            Queue = new RemoteWriteQueueOptions { MaxSamplesPerSend = 100, BatchSendDeadline = TimeSpan.FromMilliseconds(200), MinBackoff = TimeSpan.FromMilliseconds(20), MaxBackoff = TimeSpan.FromMilliseconds(200) },
            WalPollInterval = TimeSpan.FromMilliseconds(20),
        };
        configure?.Invoke(o);
        return o;
    }

    [Test]
    public async Task Send_Workload_ReceiverGetsEverySampleWithHeadersAndExternalLabels()
    {
        using var dir = new TempDirectory("rw");
        using var receiver = new FakeReceiver();
        using var db = Workload.OpenDatabase(dir);
        const long baseT = 1_700_000_000_000;
        Workload.Append(db, 20, 0, 30, baseT);
        await using (var sender = RemoteWriteSender.Start(db, Options(receiver.Url, o => o.BearerToken = "s3cret")))
        {
            Workload.Append(db, 20, 30, 60, baseT);
            await Workload.WaitUntilAsync(() => receiver.AcceptedSamples() >= 1200, TimeSpan.FromSeconds(30), () => sender.GetStatistics().ToString());
            var stats = sender.GetStatistics();
            stats.SamplesSent.Should().Be(1200);
            stats.HighestSentTimestampMs.Should().Be(baseT + 59_000);
        }

        var first = receiver.Requests.First();
        first.Headers["Content-Encoding"].Should().Be("snappy");
        first.Headers["Content-Type"].Should().Be("application/x-protobuf");
        first.Headers["X-Prometheus-Remote-Write-Version"].Should().Be("0.1.0");
        first.Headers["User-Agent"].Should().StartWith("Metrics.Coordination.RemoteWrite/");
        first.Headers["Authorization"].Should().Be("Bearer s3cret");

        var series = receiver.AcceptedSeries();
        series.Should().HaveCount(20);
        for (var s = 0; s < 20; s++)
        {
            var key = $"__name__=rw_test_total,cluster=c1,job=rw,series={s}";
            series.Should().ContainKey(key);
            series[key].Should().Equal(Enumerable.Range(0, 60).Select(step => (baseT + (step * 1000L), Workload.Value(s, step))));
        }

        foreach (var request in receiver.Requests)
        {
            foreach (var ts in request.Body.Timeseries)
            {
                ts.Labels.Select(l => l.Name).Should().BeInAscendingOrder(StringComparer.Ordinal);
            }
        }
    }

    [Test]
    public async Task Send_BadRequest_DropsBatchCountsAndContinues()
    {
        using var dir = new TempDirectory("rw");
        using var receiver = new FakeReceiver { Respond = n => n == 0 ? (400, null) : (200, null) };
        using var db = Workload.OpenDatabase(dir);
        Workload.Append(db, 1, 0, 10, 1_700_000_000_000);
        var logs = new CapturingLoggerFactory();
        await using var sender = RemoteWriteSender.Start(db, Options(receiver.Url, o =>
        {
            o.Queue.MaxSamplesPerSend = 5;
            o.LoggerFactory = logs;
        }));
        await Workload.WaitUntilAsync(() => sender.GetStatistics().SamplesSent == 5, TimeSpan.FromSeconds(30), () => sender.GetStatistics().ToString());
        var stats = sender.GetStatistics();
        stats.SamplesFailed.Should().Be(5);
        stats.BatchesFailed.Should().Be(1);
        stats.SamplesRetried.Should().Be(0);
        receiver.Requests.Should().HaveCount(2, "a 400 is not retried");
        logs.Entries.Should().Contain(e => e.EventId.Id == 6201 && e.Message.Contains("HTTP 400", StringComparison.Ordinal));
    }

    [Test]
    public async Task Send_TooManyRequestsWithRetryAfter_WaitsThenDelivers()
    {
        using var dir = new TempDirectory("rw");
        using var receiver = new FakeReceiver { Respond = n => n == 0 ? (429, "2") : (204, null) };
        using var db = Workload.OpenDatabase(dir);
        Workload.Append(db, 1, 0, 5, 1_700_000_000_000);
        await using var sender = RemoteWriteSender.Start(db, Options(receiver.Url));
        await Workload.WaitUntilAsync(() => sender.GetStatistics().SamplesSent == 5, TimeSpan.FromSeconds(30), () => sender.GetStatistics().ToString());
        var arrivals = receiver.Arrivals.ToArray();
        arrivals.Should().HaveCount(2);
        (arrivals[1] - arrivals[0]).Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1.9), "Retry-After: 2 overrides the 20 ms backoff");
        sender.GetStatistics().SamplesRetried.Should().Be(5);
        sender.GetStatistics().SamplesFailed.Should().Be(0);
    }

    [Test]
    public async Task Send_ServerErrors_RetriedWithBackoffUntilAccepted()
    {
        using var dir = new TempDirectory("rw");
        using var receiver = new FakeReceiver { Respond = n => n < 3 ? (503, null) : (200, null) };
        using var db = Workload.OpenDatabase(dir);
        Workload.Append(db, 2, 0, 5, 1_700_000_000_000);
        await using var sender = RemoteWriteSender.Start(db, Options(receiver.Url));
        await Workload.WaitUntilAsync(() => sender.GetStatistics().SamplesSent == 10, TimeSpan.FromSeconds(30), () => sender.GetStatistics().ToString());
        receiver.Requests.Should().HaveCount(4);
        receiver.AcceptedSamples().Should().Be(10);
    }

    [Test]
    public async Task Restart_MidStream_ResumesWithoutGapsOrRepeats()
    {
        using var dir = new TempDirectory("rw");
        using var receiver = new FakeReceiver();
        using var db = Workload.OpenDatabase(dir, walSegmentSize: 64 * 1024);
        const long baseT = 1_700_000_000_000;
        Workload.Append(db, 10, 0, 3000, baseT);
        var options = Options(receiver.Url, o =>
        {
            o.Queue.MinShards = 3;
            o.Queue.MaxShards = 3;
            o.Queue.MaxSamplesPerSend = 7;
            o.FlushDeadline = TimeSpan.Zero;
        });
        var first = RemoteWriteSender.Start(db, options);
        await Workload.WaitUntilAsync(() => first.GetStatistics().SamplesSent >= 600, TimeSpan.FromSeconds(30), () => first.GetStatistics().ToString());
        await first.DisposeAsync();
        receiver.AcceptedSamples().Should().BeLessThan(30_000, "the sender was stopped mid-stream");
        Workload.Append(db, 10, 3000, 3100, baseT);
        await using (var sender = RemoteWriteSender.Start(db, options))
        {
            await Workload.WaitUntilAsync(() => receiver.AcceptedSamples() >= 31_000, TimeSpan.FromSeconds(60), () => sender.GetStatistics().ToString());
            await Task.Delay(300);
        }

        // Stopping without a flush still lets requests in flight finish and be recorded, so nothing is sent twice.
        var series = receiver.AcceptedSeries();
        series.Should().HaveCount(10);
        foreach (var (key, samples) in series)
        {
            var s = int.Parse(key.Split("series=")[1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture);
            samples.Should().Equal(Enumerable.Range(0, 3100).Select(step => (baseT + (step * 1000L), Workload.Value(s, step))), $"series {s}: no gap, no repeat");
        }
    }

    [Test]
    public async Task Compact_DuringOutage_KeepsUnsentSegmentsUntilDelivered()
    {
        using var dir = new TempDirectory("rw");
        var accept = false;
        using var receiver = new FakeReceiver { Respond = _ => Volatile.Read(ref accept) ? (200, null) : (503, null) };
        using var db = Metrics.Coordination.Tsdb.TimeSeriesDatabase.Open(new Metrics.Coordination.Tsdb.TsdbOptions
        {
            Directory = dir.Combine("tsdb"),
            WalFsyncPolicy = Metrics.Coordination.Tsdb.WalFsyncPolicy.None,
            WalSegmentSize = 64 * 1024,
            BlockDuration = TimeSpan.FromMinutes(1),
            CompactionInterval = TimeSpan.Zero,
        });
        const long baseT = 1_700_000_000_000;
        await using var sender = RemoteWriteSender.Start(db, Options(receiver.Url));
        Workload.Append(db, 50, 0, 300, baseT);
        var wal = dir.Combine("tsdb", "wal");
        var segmentsBefore = Directory.GetFiles(wal).Select(Path.GetFileName).Order().ToList();
        segmentsBefore.Count.Should().BeGreaterThan(2);

        // Head compaction cuts blocks and checkpoints the WAL while nothing has been delivered.
        db.Compact().Should().BePositive();
        Directory.GetDirectories(wal, "checkpoint.*").Should().ContainSingle();
        Directory.GetFiles(wal).Select(Path.GetFileName).Should().Contain(segmentsBefore, "the sender has not sent them yet");

        Volatile.Write(ref accept, true);
        await Workload.WaitUntilAsync(() => sender.GetStatistics().SamplesSent == 15_000, TimeSpan.FromSeconds(60), () => sender.GetStatistics().ToString());
        var series = receiver.AcceptedSeries();
        series.Should().HaveCount(50);
        series.Values.Should().OnlyContain(samples => samples.Count == 300);

        // Once delivered (and the position persisted), the next checkpoint may delete them.
        await Workload.WaitUntilAsync(() => sender.GetStatistics().CommittedSegment > 0, TimeSpan.FromSeconds(30), () => sender.GetStatistics().ToString());
        Workload.Append(db, 50, 300, 400, baseT);
        db.Compact();
        Directory.GetFiles(wal).Select(Path.GetFileName).Should().NotContain(segmentsBefore[0]);
    }

    [Test]
    public async Task Send_WriteRelabelConfigs_AppliedAfterExternalLabels()
    {
        using var dir = new TempDirectory("rw");
        using var receiver = new FakeReceiver();
        using var db = Workload.OpenDatabase(dir);
        Workload.Append(db, 4, 0, 5, 1_700_000_000_000);
        var relabel = Metrics.Coordination.Abstractions.Relabeling.RelabelConfig.ParseYamlList("""
            - source_labels: [series]
              regex: "3"
              action: drop
            - source_labels: [cluster]
              target_label: origin
              replacement: "from-$1"
            - regex: job
              action: labeldrop
            """);
        await using var sender = RemoteWriteSender.Start(db, Options(receiver.Url, o => o.WriteRelabelConfigs = relabel));
        await Workload.WaitUntilAsync(() => sender.GetStatistics().SamplesSent == 15, TimeSpan.FromSeconds(30), () => sender.GetStatistics().ToString());
        sender.GetStatistics().SamplesDropped.Should().Be(5, "series 3 is dropped by write relabeling");
        receiver.AcceptedSeries().Keys.Should().BeEquivalentTo(
            Enumerable.Range(0, 3).Select(s => $"__name__=rw_test_total,cluster=c1,origin=from-c1,series={s}"));
    }

    [Test]
    public void Start_InvalidWriteRelabelConfig_ThrowsNamingTheRule()
    {
        using var dir = new TempDirectory("rw");
        using var db = Workload.OpenDatabase(dir);
        var bad = new[] { new Metrics.Coordination.Abstractions.Relabeling.RelabelConfig { Action = Metrics.Coordination.Abstractions.Relabeling.RelabelAction.Replace, Regex = "(" , TargetLabel = "x" } };
        var act = () => RemoteWriteSender.Start(db, Options(new Uri("http://127.0.0.1:1/api/v1/write"), o => o.WriteRelabelConfigs = bad));
        act.Should().Throw<Metrics.Coordination.Abstractions.Relabeling.RelabelConfigException>().WithMessage("*relabel rule 1*");
    }
}
