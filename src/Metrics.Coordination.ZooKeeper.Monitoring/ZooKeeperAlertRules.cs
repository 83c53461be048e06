namespace Metrics.Coordination.ZooKeeper.Monitoring;

/// <summary>
/// The Prometheus alerting rule file shipped with this package for the metrics of
/// <see cref="ZooKeeperEnsembleCollector"/>: <c>ZooKeeperDown</c> (<c>zookeeper_up == 0</c> for 1 m),
/// <c>ZooKeeperNoQuorum</c> (no server is leader or standalone for 1 m), <c>ZooKeeperLeaderChanged</c> (the leader changed
/// more than twice in 15 m), <c>ZooKeeperHighLatency</c> (average latency above 100 ms for 5 m) and
/// <c>ZooKeeperOutstandingRequests</c> (more than 10 for 5 m). The file is also in the package's
/// <c>contentFiles/any/any/zookeeper-alerts.yml</c>.
/// </summary>
public static class ZooKeeperAlertRules
{
    /// <summary>The file name the rules are shipped under.</summary>
    public const string FileName = "zookeeper-alerts.yml";

    private const string ResourceName = "Metrics.Coordination.ZooKeeper.Monitoring.zookeeper-alerts.yml";

    private static readonly Lazy<string> Content = new(Read);

    /// <summary>The rule file's YAML text (Prometheus rule file format, one group named <c>zookeeper</c>).</summary>
    public static string Text => Content.Value;

    private static string Read()
    {
        using var stream = typeof(ZooKeeperAlertRules).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource '{ResourceName}' is missing from {typeof(ZooKeeperAlertRules).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
