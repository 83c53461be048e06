#!/usr/bin/env bash
# Highly available alerting on loopback: a 3-member ZooKeeper ensemble, an Alertmanager and three replicas (a, b, c)
# of samples/HaAlerting. Waits until the alert fires in Alertmanager, SIGKILLs the replica that sent it (the leader),
# and shows the alert continuing from another replica with the same startsAt, then watches that it stays firing.
#
#   samples/HaAlerting/run.sh           the full demo: 3 leader kills (the killed replica is restarted after each),
#                                       each followed by a 10 s watch
#   samples/HaAlerting/run.sh --short   1 kill and a 3 s watch (what the test suite runs; or HA_ALERTING_SHORT=1)
#
# Needs Debian's zookeeper + libslf4j-java, a JRE, prometheus-alertmanager, python3 and the .NET 10 SDK; it says
# what to install when something is missing. Everything runs in a temp directory on free 127.0.0.1 ports and is stopped
# by PID when the script ends, however it ends (Ctrl+C too). Exit code 0 only when the alert kept firing throughout.
#
# Environment: HA_ALERTING_DLL=<built HaAlerting.dll> skips the build. MC_PEER_JAVA, MC_PEER_ZOOKEEPER_JAR,
# MC_PEER_SLF4J_SIMPLE_JAR and MC_PEER_PROMETHEUS_ALERTMANAGER point at the peers, as for the test fixtures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

rounds=3 watch_seconds=10
case "${1:-}" in
  --short) rounds=1 watch_seconds=3 ;;
  "") ;;
  *) echo "usage: $0 [--short]" >&2; exit 2 ;;
esac
if [ "${HA_ALERTING_SHORT:-}" = 1 ]; then rounds=1 watch_seconds=3; fi

# --- Prerequisites: found where the test fixtures look (MC_PEER_<NAME>, then PATH and the usual bin directories). ---
missing=0
need() { echo "run.sh: $1 not found. Install it with: sudo $2 (as root without sudo)${3:+, or set $3 to its path}" >&2; missing=1; }
find_bin() { # find_bin <name>: prints the executable's path, or nothing
  local variable dir
  variable="MC_PEER_$(echo "$1" | tr 'a-z-' 'A-Z_')"
  if [ -n "${!variable:-}" ]; then
    if [ -f "${!variable}" ]; then echo "${!variable}"; fi
    return 0
  fi
  for dir in ${PATH//:/ } /usr/bin /usr/sbin /usr/local/bin /bin; do
    if [ -x "$dir/$1" ]; then echo "$dir/$1"; return 0; fi
  done
}
java=$(find_bin java)
[ -n "$java" ] || need java "apt-get install -y --no-install-recommends default-jre-headless" MC_PEER_JAVA
zk_jar=${MC_PEER_ZOOKEEPER_JAR:-/usr/share/java/zookeeper.jar}
[ -f "$zk_jar" ] || need "$zk_jar" "apt-get install -y --no-install-recommends zookeeper libslf4j-java" MC_PEER_ZOOKEEPER_JAR
slf4j_jar=${MC_PEER_SLF4J_SIMPLE_JAR:-/usr/share/java/slf4j-simple.jar}
[ -f "$slf4j_jar" ] || need "$slf4j_jar" "apt-get install -y --no-install-recommends libslf4j-java" MC_PEER_SLF4J_SIMPLE_JAR
alertmanager=$(find_bin prometheus-alertmanager)
[ -n "$alertmanager" ] || need prometheus-alertmanager "apt-get install -y --no-install-recommends prometheus-alertmanager" MC_PEER_PROMETHEUS_ALERTMANAGER
[ -n "$(find_bin python3)" ] || need python3 "apt-get install -y --no-install-recommends python3"
dotnet=$(find_bin dotnet)
[ -n "$dotnet" ] || dotnet=${DOTNET_HOST_PATH:-}
if [ -z "$dotnet" ]; then echo "run.sh: dotnet not found. Install the .NET 10 SDK (https://dot.net)" >&2; missing=1; fi
[ "$missing" = 0 ] || exit 1

# --- A temp directory and a list of PIDs, both cleaned up on exit. ---
work=$(mktemp -d "${TMPDIR:-/tmp}/ha-alerting.XXXXXX")
pids=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$status" -ne 0 ] && [ "$status" -ne 130 ]; then
    for log in "$work"/*.log; do [ -f "$log" ] && { echo "--- $log (last lines)"; tail -n 15 "$log"; } >&2; done
  fi
  rm -rf "$work"
  echo "cleanup: killed PIDs ${pids[*]:-none}; removed $work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
started() { pids+=("$1"); echo "  $2: pid $1"; }

# wait_until <seconds> <what> <command...>: runs the command every 0.25 s until it succeeds.
wait_until() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then echo "timed out after $deadline s waiting for $what" >&2; return 1; fi
    sleep 0.25
  done
}

# --- Free loopback ports, asked of the kernel (bound together so they differ, released just before use). ---
read -r -a ports <<< "$(python3 -c '
import socket
socks = [socket.socket() for _ in range(10)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))')"

# --- ZooKeeper: 3 members, client ports ports[0..2], quorum ports[3..5], election ports[6..8]. ---
echo "starting a 3-member ZooKeeper ensemble"
for i in 1 2 3; do
  dir="$work/zk$i"
  mkdir -p "$dir/data"
  echo "$i" > "$dir/data/myid"
  cat > "$dir/zoo.cfg" <<CFG
tickTime=500
initLimit=20
syncLimit=10
dataDir=$dir/data
clientPort=${ports[$((i - 1))]}
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=srvr
server.1=127.0.0.1:${ports[3]}:${ports[6]}
server.2=127.0.0.1:${ports[4]}:${ports[7]}
server.3=127.0.0.1:${ports[5]}:${ports[8]}
CFG
  "$java" -Xms32m -Xmx256m -XX:+UseSerialGC -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -cp "$zk_jar:$slf4j_jar" org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" > "$work/zookeeper-$i.log" 2>&1 &
  started $! "zookeeper-$i on 127.0.0.1:${ports[$((i - 1))]}"
done
zk="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"

# A member serves once its 'srvr' answer says leader or follower (a four-letter word over bash's /dev/tcp).
zk_serving() {
  local answer
  answer=$(timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$1"' && printf srvr >&3 && cat <&3' 2>/dev/null) || return 1
  [[ $answer == *"Mode: leader"* || $answer == *"Mode: follower"* ]]
}
for i in 0 1 2; do wait_until 60 "ZooKeeper on port ${ports[$i]}" zk_serving "${ports[$i]}"; done
echo "ZooKeeper ensemble serving: $zk"

# HTTP GET with python3 (no proxy: everything is on loopback): http_ok <url> succeeds on a 2xx answer.
http_ok() {
  python3 -c 'import sys, urllib.request as u; u.build_opener(u.ProxyHandler({})).open(sys.argv[1], timeout=2)' "$1" 2>/dev/null
}

# --- Alertmanager (no clustering, else it gossips on 0.0.0.0:9094). ---
am="http://127.0.0.1:${ports[9]}"
cat > "$work/alertmanager.yml" <<CFG
route: {receiver: none, group_wait: 1s}
receivers: [{name: none}]
CFG
"$alertmanager" --config.file="$work/alertmanager.yml" --storage.path="$work/alertmanager" \
  --web.listen-address="127.0.0.1:${ports[9]}" --cluster.listen-address= > "$work/alertmanager.log" 2>&1 &
started $! "alertmanager on $am"
wait_until 30 "Alertmanager at $am" http_ok "$am/-/ready"
echo "Alertmanager ready: $am"

# --- Three replicas of the sample. ---
dll=${HA_ALERTING_DLL:-}
if [ -z "$dll" ]; then
  echo "building samples/HaAlerting"
  "$dotnet" build "$here/HaAlerting.csproj" -c Release -v q -nologo > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
  dll="$here/bin/Release/net10.0/HaAlerting.dll"
fi
declare -A replica
start_replica() {
  "$dotnet" "$dll" "$1" "$zk" "$am" > "$work/replica-$1.log" 2>&1 &
  replica[$1]=$!
  started $! "replica $1"
}
echo "starting replicas a, b, c (logs in $work)"
for id in a b c; do start_replica "$id"; done

# The alert as Alertmanager has it, as "startsAt sender term state" (sender and term from its generatorURL).
alert() {
  python3 - "$am/api/v2/alerts?filter=alertname%3DDemoAlwaysFiring" 2>/dev/null <<'PY' || true
import json, sys, urllib.parse, urllib.request as u
for a in json.load(u.build_opener(u.ProxyHandler({})).open(sys.argv[1], timeout=2)):
    q = urllib.parse.parse_qs(urllib.parse.urlparse(a["generatorURL"]).query)
    print(a["startsAt"], q.get("sender", ["?"])[0], q.get("term", ["?"])[0], a["status"]["state"])
PY
}

# wait_alert <seconds> <python condition on s (startsAt), snd (sender), t (term), st (state)>: prints the alert line.
wait_alert() {
  local deadline=$((SECONDS + $1)) line
  while [ "$SECONDS" -lt "$deadline" ]; do
    line=$(alert)
    if [ -n "$line" ] && python3 -c "import sys; s, snd, t, st = sys.argv[1].split(); sys.exit(0 if $2 else 1)" "$line"; then
      echo "$line"
      return 0
    fi
    sleep 0.25
  done
  echo "timed out after $1 s; Alertmanager shows: $(alert)" >&2
  return 1
}

first=$(wait_alert 90 'st == "active"')
read -r starts sender term _ <<< "$first"
echo "alert DemoAlwaysFiring firing in Alertmanager: startsAt $starts, sent by replica $sender (term $term)"

for round in $(seq 1 "$rounds"); do
  echo "round $round/$rounds: SIGKILL the leader, replica $sender (pid ${replica[$sender]})"
  killed_ms=$(date +%s%3N)
  { kill -9 "${replica[$sender]}"; wait "${replica[$sender]}"; } 2>/dev/null || true
  next=$(wait_alert 60 "snd not in (\"$sender\", \"?\")")
  read -r starts2 sender2 term2 state2 <<< "$next"
  elapsed=$(( $(date +%s%3N) - killed_ms ))
  echo "new leader: replica $sender2 (term $term2); its first notification reached Alertmanager $((elapsed / 1000)).$(printf '%03d' $((elapsed % 1000))) s after the kill"
  if [ "$starts2" != "$starts" ] || [ "$state2" != "active" ]; then
    echo "UNEXPECTED: the alert is $state2 with startsAt $starts2 (was active with startsAt $starts)" >&2
    exit 1
  fi
  echo "alert still firing: startsAt $starts2 (unchanged), sent by replica $sender2"

  # Watch it: it must stay active with the same startsAt (no flap to resolved, no new alert).
  watch_end=$((SECONDS + watch_seconds))
  while [ "$SECONDS" -lt "$watch_end" ]; do
    read -r s _ _ st <<< "$(alert)" || true
    if [ "${s:-}" != "$starts" ] || [ "${st:-}" != "active" ]; then
      echo "UNEXPECTED: during the watch the alert was '${st:-missing}' with startsAt '${s:-none}'" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "alert stayed firing with startsAt $starts for $watch_seconds s"

  if [ "$round" -lt "$rounds" ]; then
    start_replica "$sender"
    echo "replica $sender restarted (it contends again as a follower)"
  fi
  sender=$sender2
done

echo "OK: the alert kept firing from another replica with the same startsAt through $rounds leader kill(s)"
