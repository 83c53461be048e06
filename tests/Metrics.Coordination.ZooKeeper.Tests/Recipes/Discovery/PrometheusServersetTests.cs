using System.Net;
using Metrics.Coordination.Testing;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes.Discovery;

/// <summary>
/// The proof of the serverset format: a real Prometheus 2.42 with <c>serverset_sd_configs</c> on our ZooKeeper and
/// registration path discovers and scrapes the registered loopback host, and drops it when it deregisters or its
/// session expires.
/// </summary>
public class PrometheusServersetTests : ServerFixture
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);

    [Test]
    public async Task Prometheus_ScrapesRegisteredHost_DropsItAfterDeregistration()
    {
        var path = UniquePath("prom-dereg");
        await using var host = MetricsHost.Start();
        await using var prometheus = await StartPrometheusAsync(path);
        await using var source = await RecoveringZooKeeperClient.ConnectAsync(Options(Server.ConnectionString));
        var registration = await ZooKeeperServiceRegistration.RegisterAsync(source, new() { Path = path, Endpoint = new("127.0.0.1", host.Port), Shard = 1 });
        try
        {
            await prometheus.WaitForAsync("up{job=\"serverset\"} == 1", r => r.Count == 1, Wait);
            var target = (await prometheus.TargetsAsync()).Single(t => t.Job == "serverset");
            target.ScrapeUrl.Should().Be($"http://127.0.0.1:{host.Port}/metrics");
            target.Health.Should().Be("up");
            host.Scrapes.Should().BePositive();

            // The serverset meta labels as Prometheus derived them from our JSON.
            using var discovered = await prometheus.GetJsonAsync("api/v1/targets?state=active");
            var labels = discovered.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray()
                .Single(t => t.GetProperty("scrapePool").GetString() == "serverset").GetProperty("discoveredLabels");
            labels.GetProperty("__meta_serverset_path").GetString().Should().Be(registration.NodePath);
            labels.GetProperty("__meta_serverset_endpoint_port").GetString().Should().Be(host.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            labels.GetProperty("__meta_serverset_status").GetString().Should().Be("ALIVE");
            labels.GetProperty("__meta_serverset_shard").GetString().Should().Be("1");
        }
        finally
        {
            await registration.DeregisterAsync();
        }

        await Eventually(async () => !(await prometheus.TargetsAsync()).Any(t => t.Job == "serverset"), Wait, "Prometheus drops the deregistered target");
    }

    [Test]
    public async Task Prometheus_DropsTargetWhenSessionExpires_FindsItAgainAfterReRegistration()
    {
        var path = UniquePath("prom-expire");
        var admin = await ConnectAsync();
        await admin.CreateAsync(path, Array.Empty<byte>());
        await using var host = MetricsHost.Start();
        await using var proxy = new TcpProxy(Server.ClientPort);
        await using var prometheus = await StartPrometheusAsync(path);
        await using var source = await RecoveringZooKeeperClient.ConnectAsync(Options(proxy.Endpoint, TimeSpan.FromSeconds(2)));
        await using var registration = await ZooKeeperServiceRegistration.RegisterAsync(source, new() { Path = path, Endpoint = new("127.0.0.1", host.Port) });
        await prometheus.WaitForAsync("up{job=\"serverset\"} == 1", r => r.Count == 1, Wait);

        // Cut the registering process off: the server expires its session and deletes the member.
        proxy.BlackHole = true;
        await Eventually(async () => !(await prometheus.TargetsAsync()).Any(t => t.Job == "serverset"), Wait, "Prometheus drops the target of the expired session");

        proxy.BlackHole = false;
        proxy.CutAll();
        await Eventually(() => Task.FromResult(registration.RegistrationCount == 2), Wait, "re-registered with a new session");
        await prometheus.WaitForAsync("up{job=\"serverset\"} == 1", r => r.Count == 1, Wait);
    }

    private async Task<PrometheusServer> StartPrometheusAsync(string path) => await PrometheusServer.StartAsync(new PrometheusOptions
    {
        ExtraConfigYaml = $"""
            scrape_configs:
              - job_name: "serverset"
                scrape_interval: 1s
                scrape_timeout: 1s
                serverset_sd_configs:
                  - servers: ["{Server.ConnectionString}"]
                    paths: ["{path}"]
                    timeout: 10s
            """,
    });

    /// <summary>A loopback HTTP host serving a tiny /metrics page (the scrape target).</summary>
    private sealed class MetricsHost : IAsyncDisposable
    {
        private readonly HttpListener _listener;
        private readonly Task _loop;
        private int _scrapes;

        private MetricsHost(HttpListener listener, int port)
        {
            _listener = listener;
            Port = port;
            _loop = ServeAsync();
        }

        public int Port { get; }

        public int Scrapes => Volatile.Read(ref _scrapes);

        public static MetricsHost Start()
        {
            for (var attempt = 0; ; attempt++)
            {
                var port = FreePort.Get();
                var listener = new HttpListener();
                listener.Prefixes.Add($"http://127.0.0.1:{port}/");
                try
                {
                    listener.Start();
                    return new MetricsHost(listener, port);
                }
                catch (HttpListenerException) when (attempt < 5)
                {
                    listener.Close();
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            _listener.Close();
            try
            {
                await _loop;
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                // Stopped.
            }
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                Interlocked.Increment(ref _scrapes);
                var body = "# TYPE serverset_test_up gauge\nserverset_test_up 1\n"u8.ToArray();
                context.Response.StatusCode = context.Request.Url?.AbsolutePath == "/metrics" ? 200 : 404;
                context.Response.ContentType = "text/plain; version=0.0.4";
                context.Response.ContentLength64 = body.Length;
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        }
    }
}
