using Metrics.Coordination.Abstractions;

namespace Metrics.Coordination.ZooKeeper.Monitoring;

/// <summary>The <c>mntr</c> keys exposed, with their stable metric names, types and help.</summary>
internal static class ZooKeeperMetricNames
{
    /// <summary>A <c>mntr</c> key and its metric; <paramref name="OldKey"/> is the same value's name in older servers.</summary>
    public sealed record Mapping(string Key, string Family, MetricType Type, string Help, string? OldKey = null);

    public static readonly Mapping[] Mntr =
    [
        new("zk_znode_count", "zookeeper_znode_count", MetricType.Gauge, "Number of znodes in the server's data tree."),
        new("zk_watch_count", "zookeeper_watch_count", MetricType.Gauge, "Number of watches set on the server."),
        new("zk_ephemerals_count", "zookeeper_ephemerals_count", MetricType.Gauge, "Number of ephemeral znodes."),
        new("zk_outstanding_requests", "zookeeper_outstanding_requests", MetricType.Gauge, "Requests queued on the server and not yet processed."),
        new("zk_avg_latency", "zookeeper_avg_latency", MetricType.Gauge, "Average request latency in milliseconds since the server started or its statistics were reset."),
        new("zk_max_latency", "zookeeper_max_latency", MetricType.Gauge, "Maximum request latency in milliseconds."),
        new("zk_min_latency", "zookeeper_min_latency", MetricType.Gauge, "Minimum request latency in milliseconds."),
        // 3.6+ say zk_learners (followers and observers); 3.4/3.5 said zk_followers.
        new("zk_learners", "zookeeper_followers", MetricType.Gauge, "Learners (followers and observers) connected to this server (leader only).", "zk_followers"),
        new("zk_synced_followers", "zookeeper_synced_followers", MetricType.Gauge, "Followers in sync with this server (leader only)."),
        new("zk_pending_syncs", "zookeeper_pending_syncs", MetricType.Gauge, "Pending syncs from followers (leader only)."),
        new("zk_approximate_data_size", "zookeeper_approximate_data_size", MetricType.Gauge, "Approximate size of the data tree in bytes."),
        new("zk_open_file_descriptor_count", "zookeeper_open_file_descriptor_count", MetricType.Gauge, "Open file descriptors of the server process."),
        new("zk_max_file_descriptor_count", "zookeeper_max_file_descriptor_count", MetricType.Gauge, "File descriptor limit of the server process."),
        new("zk_num_alive_connections", "zookeeper_num_alive_connections", MetricType.Gauge, "Client connections open to the server."),
        new("zk_packets_received", "zookeeper_packets_received", MetricType.Counter, "Packets received by the server since it started."),
        new("zk_packets_sent", "zookeeper_packets_sent", MetricType.Counter, "Packets sent by the server since it started."),
    ];

    /// <summary>The server states exposed as <c>zookeeper_server_state{state=...}</c>.</summary>
    public static readonly string[] States = ["leader", "follower", "observer", "standalone"];

    private static readonly HashSet<string> KnownKeys = new(Mntr.SelectMany(m => m.OldKey is null ? [m.Key] : new[] { m.Key, m.OldKey }), StringComparer.Ordinal);

    public static bool IsKnownMntrKey(string key) => KnownKeys.Contains(key);
}
