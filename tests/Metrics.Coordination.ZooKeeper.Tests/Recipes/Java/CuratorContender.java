// A Curator 5.4 LeaderLatch contender driven over stdin/stdout, for interop and failover tests of
// Metrics.Coordination.ZooKeeper's LeaderLatch. Compiled by the test fixture with javac against Debian's Curator jars.
//
// Arguments: <connectString> <latchPath> <participantId> <sessionTimeoutMs>
// stdin commands (one per line): "close" (latch.close(), then exit), "exit" (exit without closing: the session
// stays until the server expires it or the process dies).
// stdout events (one per line; times are System.nanoTime(), CLOCK_MONOTONIC on Linux, comparable with .NET's
// Stopwatch.GetTimestamp() in other processes):
//   READY <sessionId-hex>           connected and latch started
//   LEADER <nanos> <czxid-hex>      isLeader() callback (czxid of our node, the fencing token)
//   NOTLEADER <nanos>               notLeader() callback
//   CLOSING <nanos>                 right before latch.close()
//   CLOSED <nanos>                  after latch.close()
//   STATE <name> <nanos>            connection state changes
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.data.Stat;

public final class CuratorContender {
    private static synchronized void emit(String line) {
        System.out.println(line);
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        String connect = args[0];
        String path = args[1];
        String id = args[2];
        int sessionMs = Integer.parseInt(args[3]);
        CuratorFramework client = CuratorFrameworkFactory.builder()
            .connectString(connect)
            .sessionTimeoutMs(sessionMs)
            .connectionTimeoutMs(15000)
            .retryPolicy(new ExponentialBackoffRetry(50, 10, 1000))
            .build();
        client.getConnectionStateListenable().addListener((c, state) -> emit("STATE " + state.name() + " " + System.nanoTime()));
        client.start();
        client.blockUntilConnected();
        final LeaderLatch latch = new LeaderLatch(client, path, id, LeaderLatch.CloseMode.NOTIFY_LEADER);
        latch.addListener(new LeaderLatchListener() {
            @Override
            public void isLeader() {
                long now = System.nanoTime();
                String czxid = "0";
                try {
                    Stat stat = client.checkExists().forPath(latch.getOurPath());
                    if (stat != null) {
                        czxid = Long.toHexString(stat.getCzxid());
                    }
                } catch (Exception e) {
                    czxid = "0";
                }
                emit("LEADER " + now + " " + czxid);
            }

            @Override
            public void notLeader() {
                emit("NOTLEADER " + System.nanoTime());
            }
        });
        latch.start();
        emit("READY " + Long.toHexString(client.getZookeeperClient().getZooKeeper().getSessionId()));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            line = line.trim();
            if (line.equals("close")) {
                emit("CLOSING " + System.nanoTime());
                latch.close();
                emit("CLOSED " + System.nanoTime());
                client.close();
                System.exit(0);
            } else if (line.equals("exit")) {
                System.exit(0);
            }
        }
        // stdin closed (the test host went away): leave like a crash would.
        System.exit(0);
    }
}
