// A Curator 5.4 LeaderLatch contender driven over stdin/stdout, for interop and failover tests of
// Metrics.Coordination.ZooKeeper's LeaderLatch. Compiled by the test fixture with javac against Debian's Curator jars.
//
// Arguments: <connectString> <latchPath> <participantId> <sessionTimeoutMs> [lock <sharedLogFile>]
// With "lock" the program drives a Curator InterProcessMutex on <latchPath> instead of a LeaderLatch (see lockMode).
// stdin commands (one per line): "close" (latch.close(), then exit), "exit" (exit without closing: the session
// stays until the server expires it or the process dies), "handover" (failover measurement: read the clock, call
// latch.close(), then report that time as CLOSING, so the stdout write is outside the measured interval; the process
// and its session stay until "quit", which closes the client and exits).
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
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
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
        if (args.length > 5 && args[4].equals("lock")) {
            lockMode(client, path, id, args[5]);
            return;
        }

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
            } else if (line.equals("handover")) {
                long before = System.nanoTime();
                latch.close();
                emit("CLOSING " + before);
                emit("CLOSED " + System.nanoTime());
            } else if (line.equals("quit")) {
                client.close();
                System.exit(0);
            } else if (line.equals("exit")) {
                System.exit(0);
            }
        }
        // stdin closed (the test host went away): leave like a crash would.
        System.exit(0);
    }

    // Lock mode: a Curator InterProcessMutex on <path>. stdin commands:
    //   "acquire"          acquire (blocks), append "ENTER <id>" to the shared log, print ACQUIRED <nanos>
    //   "release"          append "EXIT <id>", release, print RELEASED <nanos>
    //   "loop <n> <holdMs>" n times: acquire, ENTER, hold, EXIT, release; then print LOOPED <n>
    //   "exit"             exit (a held lock goes with the session)
    // The shared log is appended (O_APPEND, one write per line) by every holder, ours included, only while holding
    // the lock: under mutual exclusion its lines alternate ENTER x / EXIT x.
    private static void lockMode(CuratorFramework client, String path, String id, String log) throws Exception {
        InterProcessMutex mutex = new InterProcessMutex(client, path);
        emit("READY " + Long.toHexString(client.getZookeeperClient().getZooKeeper().getSessionId()));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] parts = line.trim().split(" ");
            if (parts[0].equals("acquire")) {
                mutex.acquire();
                append(log, "ENTER " + id);
                emit("ACQUIRED " + System.nanoTime());
            } else if (parts[0].equals("release")) {
                append(log, "EXIT " + id);
                mutex.release();
                emit("RELEASED " + System.nanoTime());
            } else if (parts[0].equals("loop")) {
                int rounds = Integer.parseInt(parts[1]);
                long holdMs = Long.parseLong(parts[2]);
                for (int i = 0; i < rounds; i++) {
                    mutex.acquire();
                    append(log, "ENTER " + id);
                    Thread.sleep(holdMs);
                    append(log, "EXIT " + id);
                    mutex.release();
                }
                emit("LOOPED " + rounds);
            } else if (parts[0].equals("exit")) {
                System.exit(0);
            }
        }
        System.exit(0);
    }

    private static void append(String log, String line) throws Exception {
        Files.write(Paths.get(log), (line + "\n").getBytes(StandardCharsets.UTF_8), StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
