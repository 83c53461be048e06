using System.Globalization;

namespace Metrics.Coordination.ZooKeeper;

/// <summary>
/// Which server version each newer operation needs (shared/reference/zookeeper-protocol.md §4: 3.4 knows opcodes 0–14
/// and 100–102; 3.5 adds create2, removeWatches, containers and, from 3.5.3, TTL nodes; 3.6 adds getEphemerals,
/// getAllChildrenNumber, setWatches2 and addWatch), and the check that fails such an operation on the client instead of
/// sending an opcode an older server answers by closing the connection.
/// </summary>
internal static class ServerFeatures
{
    public static readonly Version Containers = new(3, 5, 0);
    public static readonly Version RemoveWatches = new(3, 5, 0);
    public static readonly Version Ttl = new(3, 5, 3);
    public static readonly Version PersistentWatches = new(3, 6, 0);
    public static readonly Version GetEphemerals = new(3, 6, 0);
    public static readonly Version GetAllChildrenNumber = new(3, 6, 0);

    /// <summary>
    /// The version in a <c>srvr</c> answer (<c>Zookeeper version: 3.8.0-5a02a05e..., built on ...</c>), or null when
    /// the answer has no such line (four-letter word disabled, not a ZooKeeper server).
    /// </summary>
    public static Version? ParseSrvr(string answer)
    {
        const string Prefix = "Zookeeper version: ";
        foreach (var line in answer.Split('\n'))
        {
            if (!line.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var text = line.AsSpan(Prefix.Length);
            var end = 0;
            while (end < text.Length && (char.IsAsciiDigit(text[end]) || text[end] == '.'))
            {
                end++;
            }

            var parts = text[..end].ToString().Split('.', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2)
            {
                return null;
            }

            var numbers = new int[3];
            for (var i = 0; i < Math.Min(3, parts.Length); i++)
            {
                if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]))
                {
                    return null;
                }
            }

            return new Version(numbers[0], numbers[1], numbers[2]);
        }

        return null;
    }

    /// <summary>Throws <see cref="ServerVersionException"/> when <paramref name="server"/> is known and older than <paramref name="required"/>.</summary>
    public static void Check(string operation, Version required, Version? server, string serverName, string? path)
    {
        if (server is not null && server < required)
        {
            throw new ServerVersionException(operation, required, server, serverName, path);
        }
    }
}
