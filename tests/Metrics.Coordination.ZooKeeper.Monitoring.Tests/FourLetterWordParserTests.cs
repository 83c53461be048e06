namespace Metrics.Coordination.ZooKeeper.Monitoring.Tests;

public class FourLetterWordParserTests
{
    // Shaped like a 3.8 leader's mntr: tab-separated, integer and decimal values, text values, unknown keys.
    private const string LeaderMntr =
        "zk_version\t3.8.0-debian--1, built on 2023-01-10 00:00 UTC\n" +
        "zk_server_state\tleader\n" +
        "zk_avg_latency\t0.4286\n" +
        "zk_max_latency\t7\n" +
        "zk_min_latency\t0\n" +
        "zk_packets_received\t31\n" +
        "zk_packets_sent\t30\n" +
        "zk_num_alive_connections\t1\n" +
        "zk_outstanding_requests\t0\n" +
        "zk_znode_count\t5\n" +
        "zk_watch_count\t0\n" +
        "zk_ephemerals_count\t0\n" +
        "zk_approximate_data_size\t44\n" +
        "zk_open_file_descriptor_count\t61\n" +
        "zk_max_file_descriptor_count\t1048576\n" +
        "zk_followers\t2\n" +
        "zk_synced_followers\t2\n" +
        "zk_pending_syncs\t0\n" +
        "zk_some_future_metric\t12\n" +
        "zk_some_future_text\tabc\n";

    [Test]
    public void ParseMntr_LeaderAnswer_ReadsStateAndEveryValue()
    {
        var reading = new ServerReading();
        FourLetterWordParser.ParseMntr(LeaderMntr, reading).Should().BeTrue();
        reading.State.Should().Be("leader");
        reading.Version.Should().StartWith("3.8.0");
        reading.Values["zk_avg_latency"].Should().Be(0.4286);
        reading.Values["zk_followers"].Should().Be(2);
        reading.Values["zk_max_file_descriptor_count"].Should().Be(1048576);
        reading.Values["zk_some_future_metric"].Should().Be(12, "unknown numeric keys are kept");
        reading.Values.Should().NotContainKey("zk_some_future_text");
        reading.Problems.Should().BeEmpty();
    }

    [Test]
    public void ParseMntr_MalformedLines_ReportedVerbatimAndRestParsed()
    {
        var reading = new ServerReading();
        FourLetterWordParser.ParseMntr("zk_znode_count\tmany\r\ngarbage line\nzk_watch_count\t3\n", reading).Should().BeTrue();
        reading.Values.Should().ContainKey("zk_watch_count").WhoseValue.Should().Be(3);
        reading.Problems.Should().HaveCount(2);
        reading.Problems[0].Should().Contain("zk_znode_count").And.Contain("many");
        reading.Problems[1].Should().Contain("'garbage line'");
    }

    [Test]
    public void ParseMntr_NotServing_ReturnsFalse()
    {
        var reading = new ServerReading();
        FourLetterWordParser.ParseMntr(FourLetterWordParser.NotServing + "\n", reading).Should().BeFalse();
        reading.State.Should().BeNull();
    }

    [Test]
    public void ParseSrvr_Answer_ReadsZxidAndMode()
    {
        var reading = new ServerReading();
        FourLetterWordParser.ParseSrvr(
            "Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.4286/7\nReceived: 31\nSent: 30\nConnections: 1\nOutstanding: 0\n" +
            "Zxid: 0x300000002\nMode: follower\nNode count: 5\n", reading).Should().BeTrue();
        reading.Zxid.Should().Be(0x300000002);
        reading.State.Should().Be("follower");
        reading.Problems.Should().BeEmpty();
    }

    [Test]
    public void ParseSrvr_BadZxid_Reported()
    {
        var reading = new ServerReading();
        FourLetterWordParser.ParseSrvr("Zxid: 12\nMode: leader\n", reading);
        reading.Zxid.Should().BeNull();
        reading.Problems.Should().ContainSingle().Which.Should().Contain("Zxid: 12");
    }
}
