using System.Globalization;

namespace Metrics.Coordination.ZooKeeper;

/// <summary>One server of a connection string.</summary>
internal readonly record struct HostAndPort(string Host, int Port)
{
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal)
        ? $"[{Host}]:{Port.ToString(CultureInfo.InvariantCulture)}"
        : $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>Parses <c>host1:2181,host2:2181,[::1]:2181/chroot</c> (default port 2181; a lone "/" chroot means none).</summary>
internal static class ConnectionString
{
    public const int DefaultPort = 2181;

    public static (IReadOnlyList<HostAndPort> Hosts, string? Chroot) Parse(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var hostsPart = connectionString;
        string? chroot = null;
        var slash = connectionString.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            chroot = connectionString[slash..];
            hostsPart = connectionString[..slash];
            if (chroot == "/")
            {
                chroot = null;
            }
            else
            {
                var reason = PathValidation.Check(chroot);
                if (reason is not null)
                {
                    throw new ArgumentException($"Invalid chroot \"{chroot}\" in the connection string: {reason}.", nameof(connectionString));
                }
            }
        }

        var hosts = new List<HostAndPort>();
        foreach (var raw in hostsPart.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string host;
            var port = DefaultPort;
            if (raw.StartsWith('['))
            {
                var close = raw.IndexOf(']', StringComparison.Ordinal);
                if (close < 0)
                {
                    throw new ArgumentException($"Unterminated IPv6 address in \"{raw}\".", nameof(connectionString));
                }

                host = raw[1..close];
                var rest = raw[(close + 1)..];
                if (rest.Length > 0)
                {
                    port = rest[0] == ':' ? ParsePort(rest[1..], raw) : throw new ArgumentException($"Bad server \"{raw}\".", nameof(connectionString));
                }
            }
            else
            {
                var colon = raw.LastIndexOf(':');
                host = colon < 0 ? raw : raw[..colon];
                if (colon >= 0)
                {
                    port = ParsePort(raw[(colon + 1)..], raw);
                }
            }

            if (host.Length == 0)
            {
                throw new ArgumentException($"Empty host in \"{raw}\".", nameof(connectionString));
            }

            hosts.Add(new HostAndPort(host, port));
        }

        if (hosts.Count == 0)
        {
            throw new ArgumentException("The connection string names no server.", nameof(connectionString));
        }

        return (hosts, chroot);
    }

    private static int ParsePort(string text, string raw) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? port
            : throw new ArgumentException($"Bad port in \"{raw}\".", "connectionString");
}
