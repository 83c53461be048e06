using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Metrics.Coordination.Benchmarks.ZooKeeper;

/// <summary>
/// A standalone Debian ZooKeeper 3.8 for the benchmarks (the benchmarks project does not reference the test fixtures):
/// temp dir, 127.0.0.1 on a free port, server defaults otherwise (fsync on), killed by PID on dispose. It also
/// samples the server's CPU time from /proc so a run can report the server's share of the 2 cores.
/// </summary>
internal sealed class BenchmarkZooKeeperServer : IDisposable
{
    private readonly string _directory;
    private readonly Process _process;
    private double _cpuMark;
    private long _wallMark;

    private BenchmarkZooKeeperServer(string directory, Process process, int port)
    {
        _directory = directory;
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string ConnectionString => "127.0.0.1:" + Port.ToString(CultureInfo.InvariantCulture);

    public static BenchmarkZooKeeperServer Start()
    {
        const string Jar = "/usr/share/java/zookeeper.jar";
        if (!File.Exists(Jar))
        {
            throw new InvalidOperationException($"{Jar} is missing: apt-get install -y --no-install-recommends zookeeper libslf4j-java");
        }

        var directory = Path.Combine(Path.GetTempPath(), "mc-zkbench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(directory, "data"));
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        File.WriteAllText(Path.Combine(directory, "zoo.cfg"), string.Join("\n",
            "tickTime=1000",
            "dataDir=" + Path.Combine(directory, "data"),
            "clientPort=" + port.ToString(CultureInfo.InvariantCulture),
            "clientPortAddress=127.0.0.1",
            "minSessionTimeout=1000",
            "maxSessionTimeout=60000",
            "admin.enableServer=false",
            "4lw.commands.whitelist=ruok,srvr,mntr",
            "maxClientCnxns=0") + "\n");
        var start = new ProcessStartInfo("java")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        foreach (var a in new[]
        {
            "-Xmx1g", "-Dzookeeper.admin.enableServer=false", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-cp", Jar + ":/usr/share/java/slf4j-simple.jar", "org.apache.zookeeper.server.quorum.QuorumPeerMain", Path.Combine(directory, "zoo.cfg"),
        })
        {
            start.ArgumentList.Add(a);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new BenchmarkZooKeeperServer(directory, process, port);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (server.FourLetterWord("srvr").Contains("Mode: standalone", StringComparison.Ordinal))
            {
                return server;
            }

            Task.Delay(50).Wait();
        }

        server.Dispose();
        throw new InvalidOperationException("ZooKeeper did not start within 60 s.");
    }

    /// <summary>Starts a CPU measurement window.</summary>
    public void MarkCpu()
    {
        _cpuMark = CpuSeconds();
        _wallMark = Stopwatch.GetTimestamp();
    }

    /// <summary>The server's CPU time since <see cref="MarkCpu"/> as a share of one core (2.0 = both cores busy).</summary>
    public double CpuCoresSinceMark() => (CpuSeconds() - _cpuMark) / Stopwatch.GetElapsedTime(_wallMark).TotalSeconds;

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10000);
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private double CpuSeconds()
    {
        // /proc/<pid>/stat fields 14 and 15: utime and stime in clock ticks (100 Hz on Linux).
        var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    private string FourLetterWord(string word)
    {
        try
        {
            // A server still starting can accept and then say nothing: never block a setup on it.
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 2000, SendTimeout = 2000 };
            socket.Connect(IPAddress.Loopback, Port);
            socket.Send(Encoding.ASCII.GetBytes(word));
            var buffer = new byte[8192];
            var text = new StringBuilder();
            int n;
            while ((n = socket.Receive(buffer)) > 0)
            {
                text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }

            return text.ToString();
        }
        catch (SocketException)
        {
            return string.Empty;
        }
    }
}
