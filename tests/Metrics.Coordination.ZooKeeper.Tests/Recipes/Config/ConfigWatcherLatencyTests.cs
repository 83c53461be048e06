using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Metrics.Coordination.ZooKeeper.Recipes;

namespace Metrics.Coordination.ZooKeeper.Tests.Recipes.Config;

/// <summary>
/// Change-visible latency: setData on one client until each watcher's <c>Changed</c> handler runs (notification, re-read,
/// parse, dispatch), next to the floor the server and the machine allow, measured in the same run. A measurement, not a
/// speed assertion: figures go to the test output and benchmarks/README.md. Run with
/// <c>--filter "FullyQualifiedName~ConfigWatcherLatencyTests" --logger "console;verbosity=detailed"</c>; 5-15 s.
/// </summary>
/// <remarks>
/// <para>
/// The floor is 3 bare sessions on blocking sockets read by the test's own thread (and a 4th as the setter): the
/// notification, a getData that re-arms the watch as the watcher's does, its reply — no pipes, thread pool or
/// dispatcher. It watches its own node, so its rounds never wake our watchers and ours never wake it. Rounds run in
/// blocks (ours, then the floor's) so that both see the machine's load of the same moment while our rounds still follow
/// each other back to back, as a burst of config changes would.
/// </para>
/// <para>
/// Warm-up, 2,000 changes through the watchers (1-3 s): both ends are JIT-compiled at run time. With the 100 warm-up
/// changes this test had at first, the measured 1,000 changes met a server (a JVM) still compiling its watch path (loaded
/// runs: the floor's own p90 1.6-3.4 ms then, 0.6-0.7 ms warm) and our own process still in tiered compilation (1.1-1.3 ms
/// of CPU per round instead of 0.4-0.6 ms), which made the p90 of ~3 ms. 40,000 pipelined get/set operations first
/// (what zk-latency does) warm the server's request path and part of ours, but not the watch path: knobs for such
/// experiments (environment): CONFIG_LATENCY_WARMUP_OPS (0), CONFIG_LATENCY_WARMUP_FLOOR (floor rounds before ours, 0),
/// CONFIG_LATENCY_WARMUP_CHANGES (2000), CONFIG_LATENCY_ROUNDS (1000), CONFIG_LATENCY_BLOCK (rounds per block, 50; 1
/// alternates round by round), CONFIG_LATENCY_GAP_MS (a pause after each of our rounds, 0).
/// </para>
/// </remarks>
[Category("LongRunning")]
public class ConfigWatcherLatencyTests : ServerFixture
{
    private const int WatcherCount = 3;

    [Test]
    public async Task ChangeVisibleLatency_1000Changes3Watchers_MeasuredNextToFloor()
    {
        var warmupOps = Knob("CONFIG_LATENCY_WARMUP_OPS", 0);
        var warmupChanges = Knob("CONFIG_LATENCY_WARMUP_CHANGES", 2000);
        var rounds = Knob("CONFIG_LATENCY_ROUNDS", 1000);
        var block = Math.Max(1, Knob("CONFIG_LATENCY_BLOCK", 50));
        var gap = Knob("CONFIG_LATENCY_GAP_MS", 0);
        var floorWarmup = Knob("CONFIG_LATENCY_WARMUP_FLOOR", 0);
        var path = UniquePath("latency");
        var floorPath = UniquePath("floor");
        var writer = await ConnectAsync();
        await writer.CreateAsync(path, Bytes("0"));
        await writer.CreateAsync(floorPath, Bytes("0"));
        var warmupClock = Stopwatch.StartNew();
        await WarmUpServerAsync(writer, floorPath, warmupOps);
        var warmupSeconds = warmupClock.Elapsed.TotalSeconds;

        var watchers = new List<ZooKeeperConfigWatcher<string>>();
        var arrivals = new long[WatcherCount];
        TaskCompletionSource round = new(TaskCreationOptions.RunContinuationsAsynchronously);
        var expected = 0;
        var remaining = 0;
        for (var w = 0; w < WatcherCount; w++)
        {
            var index = w;
            var watcher = Own(new ZooKeeperConfigWatcher<string>(await RecoveringClientAsync(), new() { Path = path, Parser = ConfigParsers.Utf8 }));
            watcher.Changed += (_, c) =>
            {
                var now = Stopwatch.GetTimestamp();
                if (c.NewValue!.Stat.Version == Volatile.Read(ref expected))
                {
                    arrivals[index] = now;
                    if (Interlocked.Decrement(ref remaining) == 0)
                    {
                        round.TrySetResult();
                    }
                }
            };
            watchers.Add(watcher);
            await watcher.WaitForInitialLoadAsync(TimeSpan.FromSeconds(30));
        }

        using var floor = BlockingFloor.Connect(Server.ClientPort, floorPath);
        if (floorWarmup > 0)
        {
            await Task.Factory.StartNew(() => floor.Rounds(floorWarmup), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        var ours = new List<double>(rounds * WatcherCount);
        var afterFloor = new List<double>();
        var floors = new List<double>(rounds * WatcherCount);
        var version = 0;
        var clock = Stopwatch.StartNew();
        var cpu = TimeSpan.Zero;
        for (int done = -warmupChanges, count; done < rounds; done += count)
        {
            if (done == 0)
            {
                clock.Restart();
                cpu = Process.GetCurrentProcess().TotalProcessorTime;
            }

            count = done < 0 ? Math.Min(block, -done) : Math.Min(block, rounds - done);
            for (var i = 0; i < count; i++)
            {
                round = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Volatile.Write(ref remaining, WatcherCount);
                Volatile.Write(ref expected, ++version);
                var start = Stopwatch.GetTimestamp();
                await writer.SetDataAsync(path, Bytes(version.ToString(CultureInfo.InvariantCulture)));
                await round.Task.WaitAsync(TimeSpan.FromSeconds(30));
                if (done >= 0)
                {
                    var samples = arrivals.Select(a => Stopwatch.GetElapsedTime(start, a).TotalMilliseconds).ToArray();
                    ours.AddRange(samples);
                    if (i == 0 && done > 0)
                    {
                        // The first change after a floor block follows 25-50 ms in which our threads had nothing to do.
                        afterFloor.AddRange(samples);
                    }
                }

                if (gap > 0)
                {
                    await Task.Delay(gap);
                }
            }

            // The floor's rounds block the calling thread on its sockets (by design: one thread wake-up per frame).
            var floorSamples = await Task.Factory.StartNew(() => floor.Rounds(count), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (done >= 0)
            {
                floors.AddRange(floorSamples);
            }
        }

        var elapsed = clock.Elapsed;
        var cpuMs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds;
        var gcs = $"gen0 {GC.CollectionCount(0)} gen1 {GC.CollectionCount(1)} gen2 {GC.CollectionCount(2)}";
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        TestContext.Out.WriteLine($"config watcher change-visible latency, {rounds} changes x {WatcherCount} watchers (node mode), server warm-up {warmupOps} ops ({warmupSeconds:0.0} s) + {floorWarmup} floor rounds + {warmupChanges} changes, blocks of {block}, gap {gap} ms; loadavg {load}");
        TestContext.Out.WriteLine($"  ours  (setData call -> Changed):          {Summary(ours)}");
        if (afterFloor.Count > 0)
        {
            TestContext.Out.WriteLine($"  ours, first change of each block (after the floor's): {Summary(afterFloor)}");
        }

        TestContext.Out.WriteLine($"  floor (setData sent -> getData reply read): {Summary(floors)}");
        TestContext.Out.WriteLine($"  measured blocks (ours and the floor's): {elapsed.TotalSeconds:0.00} s, test process CPU {cpuMs:0} ms ({cpuMs / rounds:0.000} ms per round of each); .NET GCs since start {gcs}");
        ours.Should().HaveCount(rounds * WatcherCount);
        floors.Should().HaveCount(rounds * WatcherCount);
        watchers.Should().OnlyContain(w => w.Current!.Value == version.ToString(CultureInfo.InvariantCulture));
    }

    private static int Knob(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;

    private static string Summary(List<double> samples)
    {
        var sorted = samples.Order().ToArray();
        double P(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"n={sorted.Length} p50 {P(0.50):0.000} p90 {P(0.90):0.000} p99 {P(0.99):0.000} max {sorted[^1]:0.000} ms");
    }

    /// <summary>Pipelined setData/getData pairs, 500 in flight, so that the server's JIT has compiled its request path.</summary>
    private static async Task WarmUpServerAsync(ZooKeeperClient client, string path, int operations)
    {
        var batch = new List<Task>(500);
        for (var done = 0; done < operations; done += batch.Count)
        {
            batch.Clear();
            for (var i = 0; i < 250; i++)
            {
                batch.Add(client.SetDataAsync(path, BitConverter.GetBytes(i)).AsTask());
                batch.Add(client.GetDataAsync(path).AsTask());
            }

            await Task.WhenAll(batch);
        }
    }

    /// <summary>
    /// The floor: <see cref="WatcherCount"/> bare sessions watching one node plus a setter, all on blocking sockets
    /// read by the calling thread.
    /// </summary>
    private sealed class BlockingFloor : IDisposable
    {
        private readonly BlockingSession _setter;
        private readonly BlockingSession[] _watchers;
        private readonly string _path;
        private int _value;

        private BlockingFloor(BlockingSession setter, BlockingSession[] watchers, string path)
        {
            _setter = setter;
            _watchers = watchers;
            _path = path;
        }

        public static BlockingFloor Connect(int port, string path)
        {
            var setter = BlockingSession.Connect(port);
            var watchers = Enumerable.Range(0, WatcherCount).Select(_ => BlockingSession.Connect(port)).ToArray();
            foreach (var session in watchers)
            {
                session.GetData(path, watch: true);
                session.ExpectReply();
            }

            return new BlockingFloor(setter, watchers, path);
        }

        /// <summary>Runs <paramref name="count"/> rounds: setData, then per session notification, getData (re-arming), reply.</summary>
        public List<double> Rounds(int count)
        {
            var samples = new List<double>(count * _watchers.Length);
            for (var r = 0; r < count; r++)
            {
                var start = Stopwatch.GetTimestamp();
                _setter.SetData(_path, ++_value);
                foreach (var session in _watchers)
                {
                    session.ExpectNotification();
                    session.GetData(_path, watch: true);
                }

                foreach (var session in _watchers)
                {
                    session.ExpectReply();
                    samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }

                _setter.ExpectReply();
            }

            return samples;
        }

        public void Dispose()
        {
            _setter.Dispose();
            foreach (var session in _watchers)
            {
                session.Dispose();
            }
        }
    }

    /// <summary>A bare ZooKeeper session on a blocking socket: handshake, getData, setData, frames read by the caller.</summary>
    private sealed class BlockingSession : IDisposable
    {
        private readonly Socket _socket;
        private readonly byte[] _buffer = new byte[4096];
        private int _xid;

        private BlockingSession(Socket socket) => _socket = socket;

        public static BlockingSession Connect(int port)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = 30_000 };
            socket.Connect("127.0.0.1", port);
            var session = new BlockingSession(socket);

            // ConnectRequest { protocolVersion 0, lastZxidSeen 0, timeOut 30000, sessionId 0, passwd (16 zero bytes) } + readOnly false.
            var body = new byte[4 + 8 + 4 + 8 + 4 + 16 + 1];
            BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(12), 30000);
            BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(24), 16);
            session.Send(body);
            session.ReadFrame();
            return session;
        }

        public void GetData(string path, bool watch) => Send(Request(4, path, [watch ? (byte)1 : (byte)0]));

        public void SetData(string path, int value)
        {
            // SetDataRequest: data (a 4-byte buffer), then version -1.
            var tail = new byte[4 + 4 + 4];
            BinaryPrimitives.WriteInt32BigEndian(tail, 4);
            BinaryPrimitives.WriteInt32BigEndian(tail.AsSpan(4), value);
            BinaryPrimitives.WriteInt32BigEndian(tail.AsSpan(8), -1);
            Send(Request(5, path, tail));
        }

        public void ExpectNotification()
        {
            var xid = ReadFrame();
            if (xid != -1)
            {
                throw new InvalidOperationException($"expected a notification (xid -1), got xid {xid}");
            }
        }

        public void ExpectReply()
        {
            var xid = ReadFrame();
            var err = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(12));
            if (xid != _xid || err != 0)
            {
                throw new InvalidOperationException($"expected the reply to xid {_xid}, got xid {xid} err {err}");
            }
        }

        public void Dispose() => _socket.Dispose();

        /// <summary>Reads one frame into the buffer and returns its xid.</summary>
        private int ReadFrame()
        {
            ReadExactly(_buffer.AsSpan(0, 4));
            var length = BinaryPrimitives.ReadInt32BigEndian(_buffer);
            if (length < 4 || length > _buffer.Length)
            {
                throw new InvalidOperationException($"unexpected frame length {length}");
            }

            ReadExactly(_buffer.AsSpan(0, length));
            return BinaryPrimitives.ReadInt32BigEndian(_buffer);
        }

        private byte[] Request(int opCode, string path, byte[] tail)
        {
            var pathBytes = Encoding.UTF8.GetBytes(path);
            var body = new byte[4 + 4 + 4 + pathBytes.Length + tail.Length];
            BinaryPrimitives.WriteInt32BigEndian(body, ++_xid);
            BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(4), opCode);
            BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(8), pathBytes.Length);
            pathBytes.CopyTo(body, 12);
            tail.CopyTo(body, 12 + pathBytes.Length);
            return body;
        }

        private void Send(byte[] body)
        {
            var frame = new byte[4 + body.Length];
            BinaryPrimitives.WriteInt32BigEndian(frame, body.Length);
            body.CopyTo(frame, 4);
            _socket.Send(frame);
        }

        private void ReadExactly(Span<byte> span)
        {
            while (span.Length > 0)
            {
                var n = _socket.Receive(span);
                if (n == 0)
                {
                    throw new EndOfStreamException("The server closed the floor's session.");
                }

                span = span[n..];
            }
        }
    }
}
