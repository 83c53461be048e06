using System.Diagnostics;
using System.Net;
using BenchmarkDotNet.Attributes;
using Metrics.Coordination.Abstractions;
using Metrics.Coordination.Abstractions.Storage;
using Metrics.Coordination.RemoteWrite;
using Metrics.Coordination.RemoteWrite.Protocol;
using Metrics.Coordination.Tsdb;

namespace Metrics.Coordination.Benchmarks.RemoteWrite;

/// <summary>
/// End-to-end remote-write throughput (target ≥ 1 M samples/s): a WAL holding 1,000 series × 1,000 scrapes (1 M
/// samples) is read by a fresh sender and delivered to a loopback HTTP receiver that decompresses and parses every
/// request (Google.Protobuf). One operation = one sample; samples/s = 1 / mean. CPU seconds of the whole process
/// (sender and receiver) per million samples are printed after the run.
/// </summary>
[MemoryDiagnoser]
public class RemoteWriteThroughputBenchmarks
{
    private const int Series = 1000;
    private const int Scrapes = 1000;
    private const int Samples = Series * Scrapes;

    private string _dir = null!;
    private TimeSeriesDatabase _db = null!;
    private HttpListener _listener = null!;
    private Task _receiver = null!;
    private long _received;
    private int _run;
    private TimeSpan _cpu;
    private TimeSpan _wall;

    [Params(4, 8)]
    public int Shards { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "mc-bench-rw-" + Guid.NewGuid().ToString("N"));
        _db = TimeSeriesDatabase.Open(new TsdbOptions { Directory = _dir, WalFsyncPolicy = WalFsyncPolicy.None, CompactionInterval = TimeSpan.Zero });
        var labels = new Labels[Series];
        for (var i = 0; i < Series; i++)
        {
            labels[i] = Labels.FromStrings("__name__", "http_requests_total", "instance", $"10.0.{i / 250}.{i % 250}:8080", "job", "api-server", "method", i % 2 == 0 ? "GET" : "POST", "status", (200 + (i % 4)).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var refs = new SeriesRef[Series];
        var random = new Random(1);
        for (var s = 0; s < Scrapes; s++)
        {
            var app = _db.Appender();
            for (var i = 0; i < Series; i++)
            {
                refs[i] = app.Append(new AppendRequest { Ref = refs[i], Labels = labels[i], TimestampMs = 1_700_000_000_000 + (s * 15_000L), Value = Math.Round(random.NextDouble() * 1000) });
            }

            app.Commit();
        }

        var port = 20000 + Random.Shared.Next(20000);
        _listener = new HttpListener();
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{port}/api/v1/write");
        _receiver = Task.Run(ReceiveAsync);
    }

    public Uri Url { get; private set; } = null!;

    [Benchmark(OperationsPerInvoke = Samples)]
    public async Task WalToLoopbackReceiver()
    {
        Interlocked.Exchange(ref _received, 0);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var options = new RemoteWriteOptions
        {
            Url = Url,
            Name = "bench" + (_run++).ToString(System.Globalization.CultureInfo.InvariantCulture),
            Queue = new RemoteWriteQueueOptions { MinShards = Shards, MaxShards = Shards, MaxSamplesPerSend = 5000, Capacity = 20_000, BatchSendDeadline = TimeSpan.FromMilliseconds(100) },
            WalPollInterval = TimeSpan.FromMilliseconds(5),
        };
        await using (var sender = RemoteWriteSender.Start(_db, options))
        {
            while (Interlocked.Read(ref _received) < Samples)
            {
                await Task.Delay(1);
            }
        }

        _wall += wall.Elapsed;
        _cpu += Process.GetCurrentProcess().TotalProcessorTime - cpu;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine($"// shards {Shards}: CPU {_cpu.TotalSeconds / (_run == 0 ? 1 : _run):0.00} s per 1 M samples over {_wall.TotalSeconds / (_run == 0 ? 1 : _run):0.00} s wall ({_cpu.TotalSeconds / Math.Max(_wall.TotalSeconds, 1e-9):0.00} cores)");
        _listener.Stop();
        _db.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task ReceiveAsync()
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

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        using var body = new MemoryStream();
        await context.Request.InputStream.CopyToAsync(body);
        var request = WriteRequest.Parser.ParseFrom(SnappyCodec.Decompress(body.GetBuffer().AsSpan(0, (int)body.Length)));
        long n = 0;
        foreach (var ts in request.Timeseries)
        {
            n += ts.Samples.Count;
        }

        Interlocked.Add(ref _received, n);
        context.Response.StatusCode = 204;
        context.Response.Close();
    }
}
