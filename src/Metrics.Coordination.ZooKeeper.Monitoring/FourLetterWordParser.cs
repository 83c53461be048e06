using System.Globalization;

namespace Metrics.Coordination.ZooKeeper.Monitoring;

/// <summary>What one poll of a server read: the numeric <c>mntr</c> values by key, its state, and <c>srvr</c>'s zxid.</summary>
internal sealed class ServerReading
{
    /// <summary>Numeric <c>mntr</c> values by key (with the <c>zk_</c> prefix), known and unknown.</summary>
    public Dictionary<string, double> Values { get; } = new(StringComparer.Ordinal);

    /// <summary><c>zk_server_state</c> (or srvr's <c>Mode:</c>): leader, follower, standalone, observer; null if neither said.</summary>
    public string? State { get; set; }

    /// <summary><c>zk_version</c>.</summary>
    public string? Version { get; set; }

    /// <summary>srvr's <c>Zxid:</c>, if present.</summary>
    public long? Zxid { get; set; }

    /// <summary>Lines that did not parse, verbatim, with what was wrong.</summary>
    public List<string> Problems { get; } = [];
}

/// <summary>
/// Parses the answers of the <c>mntr</c> and <c>srvr</c> four-letter words (ZooKeeper 3.4–3.9). <c>mntr</c> is one
/// <c>key&lt;TAB&gt;value</c> pair per line; <c>srvr</c> is <c>Name: value</c> lines. Non-numeric values of unknown
/// keys are ignored; a line without a separator, or a known numeric key with a non-numeric value, is a problem
/// (kept verbatim so the caller can log and count it) and never stops the rest of the answer from parsing.
/// </summary>
internal static class FourLetterWordParser
{
    /// <summary>The answer of a server that is up but has no quorum (any four-letter word but a few).</summary>
    public const string NotServing = "This ZooKeeper instance is not currently serving requests";

    private static readonly HashSet<string> TextKeys = new(StringComparer.Ordinal) { "zk_version", "zk_server_state" };

    /// <summary>Parses a <c>mntr</c> answer into <paramref name="reading"/>; returns false when the server said it is not serving.</summary>
    public static bool ParseMntr(string text, ServerReading reading)
    {
        if (text.StartsWith(NotServing, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            if (tab <= 0)
            {
                reading.Problems.Add($"mntr line without key<TAB>value: '{line}'");
                continue;
            }

            var key = line[..tab];
            var value = line[(tab + 1)..].Trim();
            switch (key)
            {
                case "zk_version":
                    reading.Version = value;
                    continue;
                case "zk_server_state":
                    reading.State = value;
                    continue;
            }

            if (TryParseNumber(value, out var number))
            {
                reading.Values[key] = number;
            }
            else if (ZooKeeperMetricNames.IsKnownMntrKey(key) && !TextKeys.Contains(key))
            {
                reading.Problems.Add($"mntr key '{key}' has a non-numeric value: '{line}'");
            }
        }

        return true;
    }

    /// <summary>Parses a <c>srvr</c> answer: <c>Mode:</c> (when mntr gave no state) and <c>Zxid:</c>.</summary>
    public static bool ParseSrvr(string text, ServerReading reading)
    {
        if (text.StartsWith(NotServing, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith("Mode: ", StringComparison.Ordinal))
            {
                reading.State ??= line["Mode: ".Length..].Trim();
            }
            else if (line.StartsWith("Zxid: ", StringComparison.Ordinal))
            {
                var value = line["Zxid: ".Length..].Trim();
                if (value.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                    && long.TryParse(value.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var zxid))
                {
                    reading.Zxid = zxid;
                }
                else
                {
                    reading.Problems.Add($"srvr Zxid is not 0x-prefixed hex: '{line}'");
                }
            }
        }

        return true;
    }

    private static bool TryParseNumber(string value, out double number) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out number);
}
