using System.Net;
using System.Net.Sockets;

namespace Metrics.Coordination.Testing;

/// <summary>
/// A loopback port that refuses connections for as long as this object lives: bound but never listening, so no other
/// test (or peer launched on "a free port") can take it meanwhile and receive connections meant to fail. Use it for
/// "the server is down" tests instead of <see cref="FreePort.Get"/>, whose port the kernel may hand out again at once.
/// </summary>
public sealed class ClosedPort : IDisposable
{
    private readonly Socket _socket;

    /// <summary>Reserves a port.</summary>
    public ClosedPort()
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
    }

    /// <summary>The reserved port; connecting to it is refused.</summary>
    public int Port { get; }

    /// <summary>Releases the port.</summary>
    public void Dispose() => _socket.Dispose();
}
