using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Metrics.Coordination.Testing;

/// <summary>Settings of a test ZooKeeper server.</summary>
public sealed class ZooKeeperServerOptions
{
    /// <summary><c>tickTime</c> in ms: the session-expiry granularity. Default: 1000.</summary>
    public int TickTimeMs { get; init; } = 1000;

    /// <summary><c>minSessionTimeout</c> in ms (the default would be 2 × tickTime). Default: 1000.</summary>
    public int MinSessionTimeoutMs { get; init; } = 1000;

    /// <summary><c>maxSessionTimeout</c> in ms. Default: 60000.</summary>
    public int MaxSessionTimeoutMs { get; init; } = 60000;

    /// <summary><c>znode.container.checkIntervalMs</c>: how often containers and TTL nodes are reaped. Default: 1000.</summary>
    public int ContainerCheckIntervalMs { get; init; } = 1000;

    /// <summary><c>zookeeper.extendedTypesEnabled</c> (TTL nodes). Default: true.</summary>
    public bool ExtendedTypesEnabled { get; init; } = true;

    /// <summary>More <c>zoo.cfg</c> lines.</summary>
    public List<string> ExtraConfig { get; init; } = [];

    /// <summary>More JVM arguments (before the main class).</summary>
    public List<string> JvmArguments { get; init; } = [];

    /// <summary>
    /// Runs the server with <c>-Dreadonlymode.enabled=true</c>: a member cut off from its quorum serves reads to
    /// clients that accept read-only servers, and answers the <c>isro</c> four-letter word. Default: false.
    /// </summary>
    public bool ReadOnlyModeEnabled { get; init; }

    /// <summary>How long to wait for <c>ruok</c>/<c>srvr</c>. Default: 60 s.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// A real ZooKeeper 3.8 server (Debian's <c>zookeeper</c> package, run with <c>java -cp zookeeper.jar QuorumPeerMain</c>)
/// for tests: its own temp directory with a generated <c>zoo.cfg</c>, the client port on 127.0.0.1, no admin server,
/// four-letter words for readiness. Standalone (<see cref="StartAsync"/>) or one member of a
/// <see cref="ZooKeeperEnsemble"/>. Stopped by PID (SIGKILL of its process tree) on <see cref="KillAsync"/> and dispose;
/// <see cref="RestartAsync"/> starts it again on the same port and data. Fails the test with an install hint when the
/// jar or Java is missing; never skips.
/// </summary>
public sealed class ZooKeeperServer : IAsyncDisposable
{
    /// <summary>How to install the server (Debian bookworm: 3.8.0) and an slf4j binding.</summary>
    public const string InstallHint = "apt-get install -y --no-install-recommends zookeeper libslf4j-java";

    /// <summary>The four-letter words the server allows.</summary>
    public const string FourLetterWords = "ruok,stat,mntr,srvr,cons,wchs,wchp";

    private const int StartAttempts = 3;

    private readonly TempDirectory _directory;
    private readonly ZooKeeperServerOptions _options;
    private PeerProcess? _process;

    private ZooKeeperServer(TempDirectory directory, ZooKeeperServerOptions options, int clientPort, int? myId)
    {
        _directory = directory;
        _options = options;
        ClientPort = clientPort;
        MyId = myId;
    }

    /// <summary>The client port on 127.0.0.1.</summary>
    public int ClientPort { get; private set; }

    /// <summary><c>127.0.0.1:port</c>.</summary>
    public string ConnectionString => "127.0.0.1:" + ClientPort.ToString(CultureInfo.InvariantCulture);

    /// <summary>The member id in an ensemble, else null.</summary>
    public int? MyId { get; }

    /// <summary>The data directory.</summary>
    public string DataDirectory => _directory.Combine("data");

    /// <summary>The server process (null while killed).</summary>
    public PeerProcess? Process => _process;

    /// <summary>Whether the process runs.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The <c>zookeeper.jar</c> path (<c>MC_PEER_ZOOKEEPER_JAR</c> overrides); fails the test with the install hint when missing.</summary>
    public static string JarPath => FindJar("MC_PEER_ZOOKEEPER_JAR", "/usr/share/java/zookeeper.jar");

    /// <summary>Starts a standalone server and waits until it answers <c>Mode: standalone</c>.</summary>
    public static async Task<ZooKeeperServer> StartAsync(ZooKeeperServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ZooKeeperServerOptions();
        Exception? last = null;
        for (var attempt = 0; attempt < StartAttempts; attempt++)
        {
            var server = new ZooKeeperServer(new TempDirectory("zookeeper"), options, FreePort.Get(), null);
            try
            {
                server.WriteConfig([]);
                server.Launch();
                await server.WaitModeAsync(m => m == "standalone", options.StartTimeout, cancellationToken);
                return server;
            }
            catch (AssertionException ex) when (attempt < StartAttempts - 1 && server.Process?.Output.Contains("Address already in use", StringComparison.Ordinal) == true)
            {
                last = ex;
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }

        throw last!;
    }

    /// <summary>Creates (without starting) ensemble member <paramref name="myId"/>.</summary>
    internal static ZooKeeperServer CreateMember(ZooKeeperServerOptions options, int myId, int clientPort, IReadOnlyList<string> serverLines)
    {
        var server = new ZooKeeperServer(new TempDirectory("zookeeper-" + myId.ToString(CultureInfo.InvariantCulture)), options, clientPort, myId);
        server.WriteConfig(serverLines);
        File.WriteAllText(Path.Combine(server.DataDirectory, "myid"), myId.ToString(CultureInfo.InvariantCulture) + "\n");
        return server;
    }

    /// <summary>Starts the JVM (after <see cref="KillAsync"/>: on the same port and data directory).</summary>
    public void Launch()
    {
        var java = PeerBinary.Find("java", "apt-get install -y --no-install-recommends default-jre-headless");
        var slf4j = FindJar("MC_PEER_SLF4J_SIMPLE_JAR", "/usr/share/java/slf4j-simple.jar");
        var arguments = new List<string>
        {
            "-Xms32m", "-Xmx512m", "-XX:+UseSerialGC",
            "-Dzookeeper.extendedTypesEnabled=" + (_options.ExtendedTypesEnabled ? "true" : "false"),
            "-Dznode.container.checkIntervalMs=" + _options.ContainerCheckIntervalMs.ToString(CultureInfo.InvariantCulture),
            "-Dzookeeper.admin.enableServer=false",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        };
        if (_options.ReadOnlyModeEnabled)
        {
            arguments.Add("-Dreadonlymode.enabled=true");
        }

        arguments.AddRange(_options.JvmArguments);
        arguments.AddRange(["-cp", JarPath + ":" + slf4j, "org.apache.zookeeper.server.quorum.QuorumPeerMain", _directory.Combine("zoo.cfg")]);
        _process = PeerProcess.Start(java, arguments, _directory.Path, name: MyId is { } id ? $"zookeeper-{id}" : "zookeeper");
    }

    /// <summary>SIGKILLs the server (process tree) and waits for it to exit; the data directory stays.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            await process.DisposeAsync();
        }
    }

    /// <summary>Kills (if running) and starts the server again on the same port and data, then waits until it serves.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await KillAsync();
        Launch();
        await WaitModeAsync(m => m is "standalone" or "leader" or "follower", _options.StartTimeout, cancellationToken);
    }

    /// <summary>The <c>Mode:</c> line of <c>srvr</c> (<c>standalone</c>, <c>leader</c>, <c>follower</c>), or null when not serving.</summary>
    public async Task<string?> GetModeAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var srvr = await FourLetterWordAsync("srvr", cancellationToken);
            var line = srvr.Split('\n').FirstOrDefault(l => l.StartsWith("Mode: ", StringComparison.Ordinal));
            return line?["Mode: ".Length..].Trim();
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>Sends a four-letter word (such as <c>srvr</c>, <c>cons</c>, <c>wchs</c>) and returns the answer.</summary>
    public async Task<string> FourLetterWordAsync(string word, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(5));
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync("127.0.0.1", ClientPort, deadline.Token);
            await socket.SendAsync(Encoding.ASCII.GetBytes(word), deadline.Token);
            var buffer = new byte[16 * 1024];
            var text = new StringBuilder();
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, deadline.Token);
                if (n == 0)
                {
                    return text.ToString();
                }

                text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"'{word}' on port {ClientPort} got no complete answer within 5 s.");
        }
    }

    /// <summary>Waits until <c>srvr</c> reports a mode accepted by <paramref name="accept"/>.</summary>
    public async Task WaitModeAsync(Func<string, bool> accept, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        string? mode = null;
        while (clock.Elapsed < timeout)
        {
            if (_process is null || _process.HasExited)
            {
                break;
            }

            mode = await GetModeAsync(cancellationToken);
            if (mode is not null && accept(mode))
            {
                return;
            }

            await Task.Delay(50, cancellationToken);
        }

        await Task.Delay(200, cancellationToken);
        throw new AssertionException(
            $"ZooKeeper on port {ClientPort} did not serve within {timeout.TotalSeconds:0.#} s (last mode: {mode ?? "none"}).\n" +
            $"zoo.cfg:\n{File.ReadAllText(_directory.Combine("zoo.cfg"))}\n{_process?.Describe() ?? "(no process)"}");
    }

    /// <summary>Kills the server and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        finally
        {
            _directory.Dispose();
        }
    }

    private static string FindJar(string variable, string defaultPath)
    {
        var overridden = Environment.GetEnvironmentVariable(variable);
        var path = string.IsNullOrEmpty(overridden) ? defaultPath : overridden;
        if (File.Exists(path))
        {
            return path;
        }

        throw new AssertionException(
            $"{path} is missing: ZooKeeper integration tests need Debian's ZooKeeper 3.8 (they fail rather than skip). " +
            $"Install it with: sudo {InstallHint} (as root without sudo; see shared/reference/peers.md), or set {variable}.");
    }

    private void WriteConfig(IReadOnlyList<string> serverLines)
    {
        Directory.CreateDirectory(DataDirectory);
        var lines = new List<string>
        {
            "tickTime=" + _options.TickTimeMs.ToString(CultureInfo.InvariantCulture),
            "initLimit=5",
            "syncLimit=2",
            "dataDir=" + DataDirectory,
            "clientPort=" + ClientPort.ToString(CultureInfo.InvariantCulture),
            "clientPortAddress=127.0.0.1",
            "minSessionTimeout=" + _options.MinSessionTimeoutMs.ToString(CultureInfo.InvariantCulture),
            "maxSessionTimeout=" + _options.MaxSessionTimeoutMs.ToString(CultureInfo.InvariantCulture),
            "admin.enableServer=false",
            "4lw.commands.whitelist=" + FourLetterWords,
            "maxClientCnxns=0",
        };
        lines.AddRange(serverLines);
        lines.AddRange(_options.ExtraConfig);
        File.WriteAllText(_directory.Combine("zoo.cfg"), string.Join("\n", lines) + "\n");
    }
}

/// <summary>
/// A 3-member (or larger) ZooKeeper ensemble on loopback ports, each member in its own temp directory. Members are
/// started highest id first, which forms the quorum fastest (1.8–2.9 s here).
/// </summary>
public sealed class ZooKeeperEnsemble : IAsyncDisposable
{
    private ZooKeeperEnsemble(IReadOnlyList<ZooKeeperServer> servers)
    {
        Servers = servers;
    }

    /// <summary>The members, by id (index 0 is member 1).</summary>
    public IReadOnlyList<ZooKeeperServer> Servers { get; }

    /// <summary><c>127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3</c>.</summary>
    public string ConnectionString => string.Join(",", Servers.Select(s => s.ConnectionString));

    /// <summary>
    /// Starts <paramref name="size"/> members and waits until every one is leader or follower. A member that could not
    /// bind one of its (free when chosen) ports because another process took it meanwhile makes the whole ensemble start
    /// again on new ports (up to 3 times).
    /// </summary>
    public static async Task<ZooKeeperEnsemble> StartAsync(int size = 3, ZooKeeperServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(size, options, cancellationToken);
            }
            catch (PortTakenException) when (attempt < 3)
            {
                // New ports next time.
            }
        }
    }

    private static async Task<ZooKeeperEnsemble> StartOnceAsync(int size, ZooKeeperServerOptions? options, CancellationToken cancellationToken)
    {
        options ??= new ZooKeeperServerOptions();
        var ports = Enumerable.Range(0, size * 3).Select(_ => FreePort.Get()).Distinct().ToList();
        if (ports.Count < size * 3)
        {
            throw new InvalidOperationException("Could not find distinct free ports.");
        }

        var lines = Enumerable.Range(1, size)
            .Select(id => $"server.{id}=127.0.0.1:{ports[(id - 1) * 3 + 1]}:{ports[(id - 1) * 3 + 2]}")
            .ToList();
        var servers = Enumerable.Range(1, size).Select(id => ZooKeeperServer.CreateMember(options, id, ports[(id - 1) * 3], lines)).ToList();
        var ensemble = new ZooKeeperEnsemble(servers);
        try
        {
            for (var i = servers.Count - 1; i >= 0; i--)
            {
                servers[i].Launch();
            }

            foreach (var server in servers)
            {
                await server.WaitModeAsync(m => m is "leader" or "follower", options.StartTimeout, cancellationToken);
            }

            return ensemble;
        }
        catch (AssertionException ex) when (servers.Any(s => s.Process?.Output.Contains("Address already in use", StringComparison.Ordinal) == true))
        {
            await ensemble.DisposeAsync();
            throw new PortTakenException(ex);
        }
        catch
        {
            await ensemble.DisposeAsync();
            throw;
        }
    }

    /// <summary>The member that is leader now, or null.</summary>
    public async Task<ZooKeeperServer?> GetLeaderAsync(CancellationToken cancellationToken = default)
    {
        foreach (var server in Servers.Where(s => s.IsRunning))
        {
            if (await server.GetModeAsync(cancellationToken) == "leader")
            {
                return server;
            }
        }

        return null;
    }

    /// <summary>The member whose client port is <paramref name="port"/>.</summary>
    public ZooKeeperServer ByPort(int port) => Servers.Single(s => s.ClientPort == port);

    /// <summary>Kills every member and deletes their directories.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var server in Servers)
        {
            await server.DisposeAsync();
        }
    }
}

/// <summary>An ensemble member lost one of its chosen ports to another process before binding it.</summary>
internal sealed class PortTakenException(Exception inner) : Exception("A ZooKeeper member's port was taken by another process.", inner);
