using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Exposition;
using Metrics.Coordination.Registry.Pushgateway;
using Metrics.Coordination.Testing;
using Microsoft.Extensions.Logging;

namespace Metrics.Coordination.Registry.Tests;

/// <summary>
/// Pushes to a real Pushgateway 1.5.1: what its <c>/metrics</c> shows after push, push-add and delete, its 4xx
/// refusals, and retries through a fault-injecting front end (5xx answers, cut connections). Each test pushes under
/// its own job, so tests share one gateway.
/// </summary>
[TestFixture]
[Category("Integration")]
public class PushgatewayTests
{
    private PushgatewayServer _gateway = null!;
    private HttpClient _http = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _gateway = await PushgatewayServer.StartAsync();
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _http?.Dispose();
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }
    }

    private PushgatewayClient Client(Uri? address = null, ILoggerFactory? logs = null, int maxAttempts = 3) => new(new PushgatewayOptions
    {
        Address = address ?? _gateway.BaseUrl,
        HttpClient = _http,
        MaxAttempts = maxAttempts,
        InitialRetryDelay = TimeSpan.FromMilliseconds(20),
        MaxRetryDelay = TimeSpan.FromMilliseconds(100),
        RequestTimeout = TimeSpan.FromSeconds(5),
        LoggerFactory = logs ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance,
    });

    private static MetricRegistry Registry(params (string Name, double Value)[] counters)
    {
        var registry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false });
        foreach (var (name, value) in counters)
        {
            registry.CreateCounter(name, "Test counter " + name + ".").Inc(value);
        }

        return registry;
    }

    private async Task<Dictionary<string, double>> JobSamplesAsync(string job)
    {
        var families = await _gateway.GetFamiliesAsync();
        return families.SelectMany(f => f.Samples)
            .Where(s => s.Labels.Get("job") == job && !s.Name.StartsWith("push_", StringComparison.Ordinal))
            .ToDictionary(s => s.Name, s => s.Value);
    }

    [Test]
    public async Task PushAsync_GroupingLabelsWithSlashAndUtf8_GatewayShowsThemDecoded()
    {
        using var client = Client();
        var registry = Registry(("pg_items_total", 42));
        registry.CreateGauge("pg_last_run_seconds", "Duration of the last run.", "stage").WithLabels("load").Set(1.5);
        var grouping = Labels.FromStrings("instance", "host-1", "path", "/var/lib/batch", "region", "zürich €");

        await client.PushAsync(registry, "pg-grouping", grouping);

        var samples = (await _gateway.GetFamiliesAsync()).SelectMany(f => f.Samples).Where(s => s.Labels.Get("job") == "pg-grouping").ToList();
        var expectedGroup = Labels.FromStrings("job", "pg-grouping", "instance", "host-1", "path", "/var/lib/batch", "region", "zürich €");
        samples.Single(s => s.Name == "pg_items_total").Labels.Should().Equal(expectedGroup);
        samples.Single(s => s.Name == "pg_items_total").Value.Should().Be(42);
        samples.Single(s => s.Name == "pg_last_run_seconds").Labels.Should().Equal(expectedGroup.With("stage", "load"));
        samples.Single(s => s.Name == "pg_last_run_seconds").Value.Should().Be(1.5);
        samples.Single(s => s.Name == "push_time_seconds").Value.Should().BeGreaterThan(1e9);
        samples.Single(s => s.Name == "push_failure_time_seconds").Value.Should().Be(0);
    }

    [Test]
    public async Task PushAsync_EmptyGroupingValue_UsesBase64FormAndIsAccepted()
    {
        using var client = Client();

        await client.PushAsync(Registry(("pg_empty_total", 1)), "pg-empty", Labels.FromStrings("shard", string.Empty, "x", "1"));

        var sample = (await _gateway.GetSamplesAsync("pg_empty_total")).Single();
        sample.Labels.Get("job").Should().Be("pg-empty");
        sample.Labels.Get("x").Should().Be("1");
        sample.Labels.Get("shard").Should().BeEmpty();
    }

    [Test]
    public async Task PushAddAsync_ReplacesOnlySameNamedMetrics_PushAsync_ReplacesTheGroup()
    {
        using var client = Client();
        const string job = "pg-semantics";
        await client.PushAsync(Registry(("pg_a_total", 1), ("pg_b_total", 2)), job);
        (await JobSamplesAsync(job)).Should().Equal(new Dictionary<string, double> { ["pg_a_total"] = 1, ["pg_b_total"] = 2 });

        await client.PushAddAsync(Registry(("pg_a_total", 10), ("pg_c_total", 30)), job);
        (await JobSamplesAsync(job)).Should().Equal(
            new Dictionary<string, double> { ["pg_a_total"] = 10, ["pg_b_total"] = 2, ["pg_c_total"] = 30 },
            "POST replaces pg_a_total, adds pg_c_total and keeps pg_b_total");

        await client.PushAsync(Registry(("pg_a_total", 100)), job);
        (await JobSamplesAsync(job)).Should().Equal(
            new Dictionary<string, double> { ["pg_a_total"] = 100 },
            "PUT replaces every metric of the group");
    }

    [Test]
    public async Task DeleteAsync_RemovesTheGroupOnly()
    {
        using var client = Client();
        await client.PushAsync(Registry(("pg_del_total", 1)), "pg-delete", Labels.FromStrings("instance", "a"));
        await client.PushAsync(Registry(("pg_del_total", 2)), "pg-delete", Labels.FromStrings("instance", "b"));
        (await _gateway.GetSamplesAsync("pg_del_total")).Should().HaveCount(2);

        await client.DeleteAsync("pg-delete", Labels.FromStrings("instance", "a"));

        var left = await _gateway.GetSamplesAsync("pg_del_total");
        left.Should().ContainSingle().Which.Labels.Get("instance").Should().Be("b");
        (await _gateway.GetSamplesAsync("push_time_seconds")).Should().NotContain(s => s.Labels.Get("job") == "pg-delete" && s.Labels.Get("instance") == "a");
    }

    [Test]
    public async Task PushAsync_InconsistentType_Throws400WithTheGatewaysReason_NoRetry()
    {
        var logs = new CapturingLoggerFactory();
        using var client = Client(logs: logs);
        await client.PushAsync(Registry(("pg_conflict_total", 1)), "pg-conflict-a");
        var gaugeRegistry = new MetricRegistry(new MetricRegistryOptions { ExposeSelfMetrics = false });
        gaugeRegistry.CreateGauge("pg_conflict_total", "Same name, other type.").Set(1);

        var act = () => client.PushAsync(gaugeRegistry, "pg-conflict-b");

        var thrown = (await act.Should().ThrowAsync<PushgatewayException>()).Which;
        thrown.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        thrown.IsTransient.Should().BeFalse();
        thrown.Attempts.Should().Be(1);
        // The gateway names whichever of the two families it checks first: "is not a COUNTER" or "is not a GAUGE".
        thrown.ResponseBody.Should().Contain("inconsistent with existing metrics").And.Contain("\"pg_conflict_total\"").And.MatchRegex("is not a (COUNTER|GAUGE)");
        thrown.Message.Should().StartWith("The Pushgateway answered 400 Bad Request to PUT ").And.Contain("/metrics/job/pg-conflict-b: pushed metrics are invalid");
        logs.Entries.Should().BeEmpty("a 4xx answer is not retried");
    }

    [Test]
    public async Task PushAsync_UnknownPathPrefix_Throws404()
    {
        using var client = Client(new Uri(_gateway.BaseUrl, "no/such/prefix/"));

        var thrown = (await FluentActions.Awaiting(() => client.PushAsync(Registry(("pg_x_total", 1)), "pg-404")).Should().ThrowAsync<PushgatewayException>()).Which;

        thrown.StatusCode.Should().Be(HttpStatusCode.NotFound);
        thrown.IsTransient.Should().BeFalse();
    }

    [Test]
    public async Task PushAsync_Two503sThenTheGateway_RetriesAndSucceeds()
    {
        await using var front = new FaultyFrontEnd(_gateway.Port, Fault.Answer503, Fault.Answer503);
        var logs = new CapturingLoggerFactory();
        using var client = Client(new Uri($"http://127.0.0.1:{front.Port}/"), logs, maxAttempts: 3);

        await client.PushAsync(Registry(("pg_retry_total", 7)), "pg-retry-503");

        (await JobSamplesAsync("pg-retry-503")).Should().Equal(new Dictionary<string, double> { ["pg_retry_total"] = 7 });
        front.Faults.Should().Equal(Fault.Answer503, Fault.Answer503, Fault.None);
        logs.Entries.Select(e => e.EventId.Id).Should().Equal(1200, 1200);
        logs.Entries[0].Message.Should().Contain("answered 503").And.Contain("attempt 1 of 3");
    }

    [Test]
    public async Task PushAsync_CutConnectionThenTheGateway_RetriesAndSucceeds()
    {
        await using var front = new FaultyFrontEnd(_gateway.Port, Fault.Cut);
        using var client = Client(new Uri($"http://127.0.0.1:{front.Port}/"));

        await client.DeleteAsync("pg-retry-cut");

        front.Faults.Should().Equal(Fault.Cut, Fault.None);
    }

    [Test]
    public async Task PushAsync_AlwaysFailing_GivesUpAfterMaxAttemptsWithTransientException()
    {
        await using var front = new FaultyFrontEnd(_gateway.Port, Fault.Answer503, Fault.Answer503, Fault.Answer503);
        using var client = Client(new Uri($"http://127.0.0.1:{front.Port}/"), maxAttempts: 2);

        var thrown = (await FluentActions.Awaiting(() => client.PushAsync(Registry(("pg_x_total", 1)), "pg-503")).Should().ThrowAsync<PushgatewayException>()).Which;

        thrown.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        thrown.IsTransient.Should().BeTrue();
        thrown.Attempts.Should().Be(2);
        thrown.ResponseBody.Should().Be("injected failure");
        front.Faults.Should().Equal(Fault.Answer503, Fault.Answer503);
    }

    [Test]
    public async Task PushAsync_GatewayDown_ThrowsTransientAfterRetries()
    {
        var logs = new CapturingLoggerFactory();
        using var down = new ClosedPort();
        using var client = Client(new Uri($"http://127.0.0.1:{down.Port}/"), logs, maxAttempts: 3);

        var thrown = (await FluentActions.Awaiting(() => client.PushAsync(Registry(("pg_x_total", 1)), "pg-down")).Should().ThrowAsync<PushgatewayException>()).Which;

        thrown.IsTransient.Should().BeTrue();
        thrown.StatusCode.Should().BeNull();
        thrown.Attempts.Should().Be(3);
        thrown.InnerException.Should().BeOfType<HttpRequestException>();
        logs.Entries.Should().HaveCount(2).And.OnlyContain(e => e.EventId.Id == 1200 && e.Level == LogLevel.Warning);
    }

    [Test]
    public async Task PushAsync_Cancelled_ThrowsOperationCanceled()
    {
        using var down = new ClosedPort();
        using var client = Client(new Uri($"http://127.0.0.1:{down.Port}/"), maxAttempts: 100);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await FluentActions.Awaiting(() => client.PushAsync(Registry(("pg_x_total", 1)), "pg-cancel", cancellationToken: cts.Token))
            .Should().ThrowAsync<OperationCanceledException>();
    }

    [Test]
    public async Task PushAsync_OwnHttpClient_Works()
    {
        using var client = new PushgatewayClient(new PushgatewayOptions { Address = _gateway.BaseUrl });

        await client.PushAsync(Registry(("pg_own_total", 3)), "pg-own-client");

        (await JobSamplesAsync("pg-own-client")).Should().Equal(new Dictionary<string, double> { ["pg_own_total"] = 3 });
    }

    [Test]
    public async Task PeriodicPusher_PushesEveryInterval_AndOnceMoreOnDispose()
    {
        using var client = Client();
        var registry = Registry();
        var counter = registry.CreateCounter("pg_periodic_total", "Work done.");
        var pusher = new PeriodicPusher(client, registry, new PeriodicPushOptions
        {
            Job = "pg-periodic",
            GroupingLabels = Labels.FromStrings("instance", "worker/1"),
            Interval = TimeSpan.FromMilliseconds(100),
        });
        await pusher.StartAsync();

        counter.Inc(5);
        await WaitUntilAsync(async () => (await JobSamplesAsync("pg-periodic")).GetValueOrDefault("pg_periodic_total") == 5, "the periodic push of 5");
        counter.Inc(3);
        await pusher.DisposeAsync();

        var sample = (await _gateway.GetSamplesAsync("pg_periodic_total")).Single(s => s.Labels.Get("job") == "pg-periodic");
        sample.Value.Should().Be(8, "the final push on dispose carries the last increment");
        sample.Labels.Get("instance").Should().Be("worker/1");
        pusher.SuccessfulPushes.Should().BeGreaterThanOrEqualTo(2);
        pusher.FailedPushes.Should().Be(0);
    }

    [Test]
    public async Task PeriodicPusher_GatewayDown_LogsAndCountsFailures_NothingEscapes()
    {
        var logs = new CapturingLoggerFactory();
        using var down = new ClosedPort();
        using var client = Client(new Uri($"http://127.0.0.1:{down.Port}/"), logs, maxAttempts: 1);
        var pusher = new PeriodicPusher(client, Registry(("pg_down_total", 1)), new PeriodicPushOptions
        {
            Job = "pg-periodic-down",
            Interval = TimeSpan.FromMilliseconds(50),
        });

        await pusher.StartAsync();
        await WaitUntilAsync(() => Task.FromResult(pusher.FailedPushes >= 3), "three failed periodic pushes");
        await pusher.DisposeAsync();

        pusher.SuccessfulPushes.Should().Be(0);
        pusher.LastFailure.Should().BeOfType<PushgatewayException>().Which.IsTransient.Should().BeTrue();
        var periodic = logs.Entries.Where(e => e.EventId.Id == 1201).ToList();
        periodic.Should().HaveCountGreaterThanOrEqualTo(3).And.OnlyContain(e => e.Level == LogLevel.Error && e.Exception is PushgatewayException);
        periodic[0].Message.Should().Contain("pg-periodic-down").And.Contain("1 failed pushes so far");
        logs.Entries.Where(e => e.EventId.Id == 1202).Should().ContainSingle("the final push on dispose fails too, and is logged");
        pusher.FailedPushes.Should().Be(periodic.Count + 1);
        logs.Entries.Should().Contain(e => e.EventId.Id == 1204 && e.Message.Contains($"{pusher.FailedPushes} failed", StringComparison.Ordinal));
    }

    [Test]
    public async Task PeriodicPusher_GatewayRefuses_CountsFailureAndGoesOn()
    {
        var logs = new CapturingLoggerFactory();
        using var client = Client(new Uri(_gateway.BaseUrl, "no/such/prefix/"), logs);
        var pusher = new PeriodicPusher(client, Registry(("pg_refused_total", 1)), new PeriodicPushOptions
        {
            Job = "pg-periodic-404",
            Interval = TimeSpan.FromMilliseconds(50),
            PushOnStop = false,
        });

        await pusher.StartAsync();
        await WaitUntilAsync(() => Task.FromResult(pusher.FailedPushes >= 2), "two refused periodic pushes");
        await pusher.StopAsync();

        pusher.LastFailure.Should().BeOfType<PushgatewayException>().Which.StatusCode.Should().Be(HttpStatusCode.NotFound);
        logs.Entries.Should().NotContain(e => e.EventId.Id == 1202, "no final push was asked for");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                Assert.Fail($"Waited 20 s for {what}.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(25));
        }
    }

    private enum Fault
    {
        None,
        Answer503,
        Cut,
    }

    /// <summary>
    /// A loopback TCP front end for the real gateway: the first connections get the queued faults (a 503 answer after
    /// reading the request, or a close before any answer); later ones are piped through to the gateway byte for byte.
    /// </summary>
    private sealed class FaultyFrontEnd : IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly int _upstreamPort;
        private readonly ConcurrentQueue<Fault> _pending;
        private readonly ConcurrentQueue<Fault> _seen = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentBag<Task> _connections = [];
        private readonly Task _accept;

        public FaultyFrontEnd(int upstreamPort, params Fault[] faults)
        {
            _upstreamPort = upstreamPort;
            _pending = new ConcurrentQueue<Fault>(faults);
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(16);
            Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
            _accept = AcceptAsync();
        }

        public int Port { get; }

        /// <summary>What each connection got, in order.</summary>
        public IReadOnlyList<Fault> Faults => [.. _seen];

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Dispose();
            await _accept;
            await Task.WhenAll(_connections);
            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            await Task.Yield();
            while (true)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptAsync(_stop.Token);
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return;
                }

                var fault = _pending.TryDequeue(out var f) ? f : Fault.None;
                _seen.Enqueue(fault);
                _connections.Add(HandleAsync(socket, fault));
            }
        }

        private async Task HandleAsync(Socket client, Fault fault)
        {
            using (client)
            {
                try
                {
                    switch (fault)
                    {
                        case Fault.Cut:
                            client.LingerState = new LingerOption(true, 0);
                            return;
                        case Fault.Answer503:
                            await ReadRequestAsync(client);
                            const string body = "injected failure";
                            var response = $"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";
                            await client.SendAsync(Encoding.ASCII.GetBytes(response), SocketFlags.None, _stop.Token);
                            client.Shutdown(SocketShutdown.Send);
                            return;
                        default:
                            using (var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
                            {
                                await upstream.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _upstreamPort), _stop.Token);
                                using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                                var up = PumpAsync(client, upstream, done.Token);
                                var down = PumpAsync(upstream, client, done.Token);
                                await Task.WhenAny(up, down);
                                await done.CancelAsync();
                                await Task.WhenAll(up, down);
                            }

                            return;
                    }
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                }
                catch (SocketException)
                {
                }
            }
        }

        private async Task ReadRequestAsync(Socket client)
        {
            // Reads the head and a Content-Length body, so closing afterwards sends FIN, not RST with unread data.
            var buffer = new byte[64 * 1024];
            var length = 0;
            while (true)
            {
                var read = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                length += read;
                var text = Encoding.ASCII.GetString(buffer, 0, length);
                var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (end < 0)
                {
                    continue;
                }

                var contentLength = 0;
                foreach (var line in text[..end].Split("\r\n"))
                {
                    if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                    {
                        contentLength = int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                    }
                }

                if (length >= end + 4 + contentLength)
                {
                    return;
                }
            }
        }

        private static async Task PumpAsync(Socket from, Socket to, CancellationToken cancellationToken)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                while (true)
                {
                    var read = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                    if (read == 0)
                    {
                        return;
                    }

                    await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, cancellationToken);
                }
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
            }
            catch (SocketException)
            {
            }
        }
    }
}
