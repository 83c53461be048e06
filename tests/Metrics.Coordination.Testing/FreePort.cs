using System.Net;
using System.Net.Sockets;

namespace Metrics.Coordination.Testing;

/// <summary>Free TCP ports on the loopback interface.</summary>
public static class FreePort
{
    /// <summary>
    /// Binds 127.0.0.1:0, reads the port the kernel chose and releases it. Another process can take the port before
    /// the caller binds it; launchers that use this retry a start that fails with "address already in use".
    /// Prefer binding port 0 directly when the server under test supports it.
    /// </summary>
    public static int Get()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
